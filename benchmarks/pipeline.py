"""Speed targets of the default pipeline, measured (not asserted; the numbers are in docs/costs.md).

    python benchmarks/pipeline.py [--workdir DIR] [--configfile NAME] [--skip-steps] [--skip-cold] [--stages-only]
                                  [--device cuda] [--e5-shapes]

1. cold ``snakemake --cores 2`` of config/config.yaml (or ``--configfile bible.yaml``, any file under
   config/) in a fresh copy of the workflow;
2. reruns with nothing changed (target <= 3 s, no job): the median of 5;
3. which jobs a changed distillation key reruns (dry run);
4. one training step of each bitext method (teacher fwd + student fwd/bwd + loss + AdamW), batch 32, length 64,
   and the OT solve alone (POT ``solve_batch``) on the same shapes;
5. per stage: jobs and wall seconds from Snakemake's ``benchmark:`` files (every rule has one), CPU
   seconds and peak RSS from the cost line that ends each job's log (exact; the benchmark files' CPU
   time is sampled), and the start-up share: each job's Python start-up (interpreter + the imports of its script,
   measured once per script in a fresh process) times the jobs, over the stage's wall time;
6. Snakemake's own CPU in the cold run: all the run's CPU (getrusage of the finished children) less the jobs'.
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


def run_config(work: Path, config: dict, cores: int = 2) -> float:
    """Cold (or resumed) ``snakemake`` of ``config`` in ``work``, a copy of the workflow; its wall seconds."""
    if not (work / "Snakefile").exists():
        copy_workflow(work)
    (work / "trial.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "snakemake", "--cores", str(cores), "--configfile", "trial.yaml"],
                   cwd=work, check=True)
    return time.perf_counter() - t


def stage_table(workdir: Path) -> list[tuple[str, int, float, float, float]]:
    """(rule, jobs, summed wall s, summed CPU s, max peak RSS MiB): wall from Snakemake's
    ``results/benchmarks/<rule>/**.tsv``; CPU and RSS from the cost line each job's log ends with
    (``optical.workflow.log_job_cost``: exact, where the benchmark's CPU time is sampled and misses up
    to 30 s of every longer job) where every job of the rule has one, else from the benchmark files."""
    from optical.workflow import read_job_costs

    acc: dict[str, list] = defaultdict(lambda: [0, 0.0, 0.0, 0.0])
    for f in sorted((workdir / "results" / "benchmarks").rglob("*.tsv")):
        rule = f.relative_to(workdir / "results" / "benchmarks").parts[0].removesuffix(".tsv")
        with open(f) as fh:
            row = next(csv.DictReader(fh, delimiter="\t"))
        a = acc[rule]
        a[0] += 1
        a[1] += float(row["s"])
        a[2] += _number(row.get("cpu_time"))
        a[3] = max(a[3], _number(row.get("max_rss")))
    exact: dict[str, list] = defaultdict(lambda: [0, 0.0, 0.0])
    # a track's jobs (results/tracks/<name>) log their module rule names, <name>_<rule>
    track = f"{workdir.name}_" if workdir.parent.name == "tracks" else ""
    for rule, cpu, rss in read_job_costs(workdir / "logs"):
        e = exact[rule.removeprefix(track)]
        e[0], e[1], e[2] = e[0] + 1, e[1] + cpu, max(e[2], rss)
    for rule, (jobs, cpu, rss) in exact.items():
        if rule in acc and acc[rule][0] == jobs:
            acc[rule][2:] = [cpu, rss]
    return [(r, *v) for r, v in sorted(acc.items())]


def _number(value) -> float:
    return float(value) if value not in (None, "", "NA", "-") else 0.0


def startup_seconds(script: Path) -> float:
    """Wall seconds of a fresh interpreter importing everything ``script`` imports (median of 3)."""
    from optical.workflow import import_closure
    stmt = "; ".join(f"import {m}" for m in import_closure(script)) or "pass"
    times = []
    for _ in range(3):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", stmt], check=True)
        times.append(time.perf_counter() - t)
    return sorted(times)[1]


def rule_scripts() -> dict[str, Path]:
    """rule name -> its script, from the rule files (``rule <name>:`` ... ``script: "../scripts/x.py"``)."""
    out = {}
    for f in (ROOT / "workflow" / "rules").glob("*.smk"):
        for block in re.split(r"(?m)^\s*rule ", f.read_text())[1:]:
            name = re.match(r"(\w+):", block)
            script = re.search(r'"\.\./scripts/(\w+)\.py"', block)
            if name and script:
                out[name.group(1)] = ROOT / "workflow" / "scripts" / f"{script.group(1)}.py"
    from optical import registry  # the distillation rules are made in a loop: distill_<method>
    out.update({f"distill_{m}": ROOT / "workflow" / "scripts" / "distill.py" for m in registry.names(registry.BITEXT)})
    return out


# multilingual-e5-small's shapes (config/bible-e5.yaml's encoder after convert_e5)
E5_SHAPES = {"vocab_size": 250037, "hidden_size": 384, "num_layers": 12, "num_heads": 12, "intermediate_size": 1536,
             "max_position_embeddings": 514}


def _timed(step, steps: int, device) -> float:
    """Median wall ms of ``step()`` after 3 warm-up calls, the GPU's queue drained before each reading."""
    import torch

    times = []
    for i in range(steps + 3):
        t = time.perf_counter()
        step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        if i >= 3:
            times.append(time.perf_counter() - t)
    return 1000 * sorted(times)[len(times) // 2]


def step_ms(method: str = "optical", steps: int = 20, device: str = "cpu", encoder: dict | None = None,
            batch: int = 32, length: int = 64) -> float:
    """Median wall time of one bitext training step of ``method`` (teacher fwd + student fwd/bwd +
    loss + AdamW) on random token ids; the default's tiny encoder unless ``encoder`` gives shapes."""
    import torch

    from transformers import BertConfig, BertModel

    from optical import models
    from optical.train.distill import objective_of
    from optical.train.objectives import PairBatch

    cfg = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    torch.set_num_threads(2)
    enc, dev = encoder or cfg["encoder"], torch.device(device)
    bert_cfg = BertConfig(vocab_size=enc["vocab_size"], hidden_size=enc["hidden_size"],
                          num_hidden_layers=enc["num_layers"], num_attention_heads=enc["num_heads"],
                          intermediate_size=enc["intermediate_size"],
                          max_position_embeddings=enc["max_position_embeddings"])
    teacher = models.ColBERT(BertModel(bert_cfg, add_pooling_layer=False), cfg["teacher"]["dim"], 32, length).to(dev)
    student = copy.deepcopy(teacher)
    teacher.requires_grad_(False)
    opt = torch.optim.AdamW(student.parameters(), lr=1e-4)
    ids = torch.randint(5, enc["vocab_size"], (batch, length), device=dev)
    att = torch.ones_like(ids)
    mask = torch.ones(batch, length, dtype=torch.bool, device=dev)
    mask[:, 0] = mask[:, -1] = False
    eye = torch.eye(length, dtype=torch.bool, device=dev)
    links = eye.expand(batch, length, length) & mask[:, :, None] & mask[:, None, :]  # token_kd_gold

    def step():
        with torch.no_grad():
            tv = teacher(ids, att)
        loss, _ = objective_of(method)(PairBatch(student(ids.flip(1), att), mask, tv, mask, links), cfg["distill"])
        opt.zero_grad()
        loss.backward()
        opt.step()
    return _timed(step, steps, dev)


def ot_loss_ms(steps: int = 20, device: str = "cpu") -> float:
    """Median wall time of OPTICAL's loss alone (POT batched log-Sinkhorn plan + <P, C> + backward to
    the vectors) at the step's shapes: 32 pairs x 64 tokens x the teacher's dimension."""
    import torch

    from optical.transport import ot_distill_loss

    cfg = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    torch.set_num_threads(2)
    ot, dim, dev = cfg["distill"]["ot"], cfg["teacher"]["dim"], torch.device(device)
    teacher = torch.nn.functional.normalize(torch.randn(32, 64, dim, device=dev), dim=-1)
    mask = torch.ones(32, 64, dtype=torch.bool, device=dev)

    def step():
        student = torch.randn(32, 64, dim, requires_grad=True, device=dev)
        loss, _ = ot_distill_loss(student, mask, teacher, mask, ot["reg"], ot["max_iter"], ot["tol"])
        loss.backward()
    return _timed(step, steps, dev)


def print_step_times(device: str = "cpu", e5_shapes: bool = False) -> None:
    from optical import registry
    where = f"{device}, 2 threads" if device == "cpu" else device
    steps = {method: step_ms(method, device=device) for method in registry.names(registry.BITEXT)}
    for method, ms in steps.items():
        print(f"{method} step, batch 32, length 64, {where}: {ms:.1f} ms (median)")
    ot = ot_loss_ms(device=device)
    print(f"OPTICAL's loss alone (POT plan + <P, C> + backward), same shapes: {ot:.1f} ms, "
          f"{ot / steps['optical']:.0%} of its step")
    if e5_shapes:  # the e5 track's distillation step (config/bible-e5.yaml: batch 16, length 64)
        ms = step_ms("optical", steps=10, device=device, encoder=E5_SHAPES, batch=16, length=64)
        print(f"optical step with multilingual-e5-small's shapes, batch 16, length 64, {where}: {ms:.1f} ms (median)")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--workdir", type=Path, help="reuse this directory (default: a fresh temp dir)")
    ap.add_argument("--skip-cold", action="store_true", help="only time the training steps")
    ap.add_argument("--stages-only", action="store_true", help="only print the stage table of --workdir")
    ap.add_argument("--configfile", default="config.yaml", help="a config under config/ (default: config.yaml)")
    ap.add_argument("--skip-steps", action="store_true", help="skip the training-step timings")
    ap.add_argument("--device", default="cpu", help="where the step timings run: cpu or cuda")
    ap.add_argument("--e5-shapes", action="store_true", help="also time a step with multilingual-e5-small's shapes")
    args = ap.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="optical-bench-"))
    if args.stages_only:
        print_stages(work)
        return
    if not args.skip_steps:
        print_step_times(args.device, args.e5_shapes)
    if args.skip_cold:
        return
    if not (work / "Snakefile").exists():
        copy_workflow(work)
    sm = [sys.executable, "-m", "snakemake", "--cores", "2", "--configfile", f"config/{args.configfile}"]
    before = children_cpu_seconds()
    cold, out = run(sm, work)
    if out.returncode:
        sys.exit(out.stderr[-3000:])
    print(f"cold run: {cold:.1f} s ({cold / 60:.2f} min)")
    print_snakemake_cpu(children_cpu_seconds() - before, work)
    noops = []
    for _ in range(5):
        noop, out = run(sm, work)
        noops.append(noop)
    jobs = re.findall(r"^total\s+(\d+)$", out.stdout + out.stderr, flags=re.M)
    print(f"no-op rerun: {sorted(noops)[2]:.2f} s (median of 5), jobs run: {jobs[0] if jobs else 0}")
    cfg = yaml.safe_load((work / "config" / args.configfile).read_text())
    changed = copy.deepcopy(cfg)
    changed["distill"]["lr"] *= 2
    (work / "changed.yaml").write_text(yaml.safe_dump(changed))
    _, out = run(sm + ["-n", "--configfile", "changed.yaml"], work)
    stats = dict(re.findall(r"^(\w+)\s+(\d+)$", out.stdout, flags=re.M))
    print("changing distill.lr reruns:", {k: v for k, v in stats.items() if k != "total"})
    print_stages(work)
    print(f"\nworkdir: {work}")


def children_cpu_seconds() -> float:
    """CPU seconds of this process's finished children and everything they waited for: Snakemake,
    its jobs and the solver processes of its ILP scheduler."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def jobs_cpu_seconds(work: Path, rules: tuple[str, ...] | None = None) -> tuple[int, float]:
    """(jobs, CPU seconds) of the jobs under ``work/logs`` (of ``rules`` only, if given), from the cost
    line each job's log ends with."""
    from optical.workflow import read_job_costs

    cpus = [cpu for rule, cpu, _ in read_job_costs(work / "logs") if rules is None or rule in rules]
    return len(cpus), sum(cpus)


def print_snakemake_cpu(run_cpu: float, work: Path) -> None:
    """Snakemake's own share of a run's CPU: the run's (``run_cpu``, from :func:`children_cpu_seconds`)
    less its jobs' exact cost lines. It is the scheduler, the ``benchmark:`` directive's sampling of
    every job's processes, the ILP solver and the DAG, on the same cores as the jobs."""
    _, jobs = jobs_cpu_seconds(work)
    print(f"CPU of the run: {run_cpu:.0f} s, of its jobs {jobs:.0f} s, Snakemake's own {run_cpu - jobs:.0f} s")


def print_stages(work: Path) -> None:
    scripts, startup = rule_scripts(), {}
    print("\n| stage | jobs | wall s (sum) | wall s (mean) | CPU s (sum) | peak RSS MiB (max) | start-up share |"
          "\n|---|---|---|---|---|---|---|")
    total = [0, 0.0, 0.0, 0.0]
    for rule, n, wall, cpu, rss in stage_table(work):
        script = scripts.get(rule)
        if script is not None and script not in startup:
            startup[script] = startup_seconds(script)
        share = f"{min(1.0, n * startup[script] / wall):.0%}" if script is not None and wall else "–"
        print(f"| {rule} | {n} | {wall:.1f} | {wall / n:.1f} | {cpu:.1f} | {rss:.0f} | {share} |")
        total = [total[0] + n, total[1] + wall, total[2] + cpu, total[3] + (n * startup.get(script, 0.0))]
    print(f"| all | {total[0]} | {total[1]:.1f} | | {total[2]:.1f} | | {total[3] / max(total[1], 1e-9):.0%} |")


if __name__ == "__main__":
    main()
