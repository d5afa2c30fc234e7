"""Speed targets of the default pipeline, measured (not asserted; the numbers are in docs/costs.md).

    python benchmarks/pipeline.py [--workdir DIR] [--skip-cold] [--stages-only]

1. cold ``snakemake --cores 2`` of config/config.yaml in a fresh copy of the workflow;
2. a second run with nothing changed (target <= 3 s, no job);
3. which jobs a changed distillation key reruns (dry run);
4. one training step of each bitext method (teacher fwd + student fwd/bwd + loss + AdamW), batch 32, length 64;
5. wall time and peak memory per stage from Snakemake's ``benchmark:`` files.
"""

from __future__ import annotations

import argparse
import copy
import csv
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def run(cmd, cwd) -> tuple[float, subprocess.CompletedProcess]:
    t = time.perf_counter()
    out = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    return time.perf_counter() - t, out


def copy_workflow(dest: Path) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    for item in ("Snakefile", "workflow", "profiles", "envs", "config"):
        src = ROOT / item
        (shutil.copytree if src.is_dir() else shutil.copy)(src, dest / item)


def stage_table(workdir: Path) -> list[tuple[str, int, float, float]]:
    """(rule, jobs, summed wall s, max peak RSS MiB) from results/benchmarks/**.tsv."""
    acc: dict[str, list] = defaultdict(lambda: [0, 0.0, 0.0])
    for f in sorted((workdir / "results" / "benchmarks").rglob("*.tsv")):
        rel = f.relative_to(workdir / "results" / "benchmarks")
        rule = rel.parts[0].removesuffix(".tsv")
        with open(f) as fh:
            row = next(csv.DictReader(fh, delimiter="\t"))
        a = acc[rule]
        a[0] += 1
        a[1] += float(row["s"])
        a[2] = max(a[2], float(row["max_rss"]) if row["max_rss"] not in ("NA", "-") else 0.0)
    return [(r, *v) for r, v in sorted(acc.items())]


def step_ms(method: str = "optical", steps: int = 20) -> float:
    """Median wall time of one bitext training step of ``method`` (teacher fwd + student fwd/bwd +
    loss + AdamW) at batch 32, length 64, on random token ids."""
    import torch

    from transformers import BertConfig, BertModel

    from optical import models
    from optical.train.distill import objective_of
    from optical.train.objectives import PairBatch

    cfg = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    torch.set_num_threads(2)
    enc = cfg["encoder"]
    bert_cfg = BertConfig(vocab_size=enc["vocab_size"], hidden_size=enc["hidden_size"],
                          num_hidden_layers=enc["num_layers"], num_attention_heads=enc["num_heads"],
                          intermediate_size=enc["intermediate_size"],
                          max_position_embeddings=enc["max_position_embeddings"])
    teacher = models.ColBERT(BertModel(bert_cfg, add_pooling_layer=False), cfg["teacher"]["dim"], 32, 64)
    student = copy.deepcopy(teacher)
    teacher.requires_grad_(False)
    opt = torch.optim.AdamW(student.parameters(), lr=1e-4)
    ids = torch.randint(5, enc["vocab_size"], (32, 64))
    att = torch.ones_like(ids)
    mask = torch.ones(32, 64, dtype=torch.bool)
    mask[:, 0] = mask[:, -1] = False
    links = torch.eye(64, dtype=torch.bool).expand(32, 64, 64) & mask[:, :, None] & mask[:, None, :]  # token_kd_gold
    times = []
    for i in range(steps + 3):
        t = time.perf_counter()
        with torch.no_grad():
            tv = teacher(ids, att)
        loss, _ = objective_of(method)(PairBatch(student(ids.flip(1), att), mask, tv, mask, links), cfg["distill"])
        opt.zero_grad()
        loss.backward()
        opt.step()
        if i >= 3:
            times.append(time.perf_counter() - t)
    times.sort()
    return 1000 * times[len(times) // 2]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--workdir", type=Path, help="reuse this directory (default: a fresh temp dir)")
    ap.add_argument("--skip-cold", action="store_true", help="only time the training steps")
    ap.add_argument("--stages-only", action="store_true", help="only print the stage table of --workdir")
    args = ap.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="optical-bench-"))
    if args.stages_only:
        print_stages(work)
        return
    from optical import registry
    for method in registry.names(registry.BITEXT):
        print(f"{method} step, batch 32, length 64, 2 threads: {step_ms(method):.1f} ms (median)")
    if args.skip_cold:
        return
    if not (work / "Snakefile").exists():
        copy_workflow(work)
    sm = [sys.executable, "-m", "snakemake", "--cores", "2"]
    cold, out = run(sm, work)
    if out.returncode:
        sys.exit(out.stderr[-3000:])
    print(f"cold run: {cold:.1f} s ({cold / 60:.2f} min)")
    noop, out = run(sm, work)
    jobs = re.findall(r"^total\s+(\d+)$", out.stdout + out.stderr, flags=re.M)
    print(f"no-op rerun: {noop:.2f} s, jobs run: {jobs[0] if jobs else 0}")
    cfg = yaml.safe_load((work / "config" / "config.yaml").read_text())
    changed = copy.deepcopy(cfg)
    changed["distill"]["lr"] *= 2
    (work / "changed.yaml").write_text(yaml.safe_dump(changed))
    _, out = run(sm + ["-n", "--configfile", "changed.yaml"], work)
    stats = dict(re.findall(r"^(\w+)\s+(\d+)$", out.stdout, flags=re.M))
    print("changing distill.lr reruns:", {k: v for k, v in stats.items() if k != "total"})
    print_stages(work)
    print(f"\nworkdir: {work}")


def print_stages(work: Path) -> None:
    print("\n| stage | jobs | wall s (sum) | wall s (mean) | peak RSS MiB (max) |\n|---|---|---|---|---|")
    for rule, n, s, rss in stage_table(work):
        print(f"| {rule} | {n} | {s:.1f} | {s / n:.1f} | {rss:.0f} |")


if __name__ == "__main__":
    main()
