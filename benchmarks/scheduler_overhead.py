"""Snakemake's own CPU on the cores its jobs need, under other scheduler settings (docs/costs.md):

    python benchmarks/scheduler_overhead.py RUN_DIR [VARIANT ...]

RUN_DIR is a finished default run (benchmarks/pipeline.py leaves one). Each variant force-reruns
the run's 168 evaluation jobs (``evaluate``, ``ner_evaluate``) and the report, which Snakemake
holds ready all at once, as it holds the students, re-rankings and evaluations of a cold run, and
prints the wall time, the run's CPU (getrusage of the finished children: Snakemake, its jobs, the
ILP solver), the jobs' CPU (their cost lines) and the difference, Snakemake's own. The outputs are
rewritten with the same bytes (the jobs are deterministic); their logs and benchmark files are new.

Variants: ``profile`` (RUN_DIR's own copy of the workflow profile; from commit 9b8ce41 on it sets
``max-jobs-per-timespan: 1000/10s``, a run copied before has Snakemake's default),
``timespan1s`` (``--max-jobs-per-timespan 100/1s``, Snakemake's default: it re-examines every ready
job once per timespan), ``greedy`` (``--scheduler greedy``: no ILP solver process per selection),
``nobench`` (the two evaluation rules without their ``benchmark:`` directive, whose sampler reads
each job's processes every 0.5 s for its first 15 s).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pipeline import children_cpu_seconds, jobs_cpu_seconds  # noqa: E402

RULES = ("evaluate", "ner_evaluate")
FLAGS = {"profile": [], "timespan1s": ["--max-jobs-per-timespan", "100/1s"],
         "greedy": ["--scheduler", "greedy"], "nobench": []}
BENCHMARK_LINES = {
    "workflow/rules/evaluate.smk":
        '    benchmark:\n        "results/benchmarks/evaluate/{lang}/{system}/{variant}/seed{seed}.tsv"\n',
    "workflow/rules/ner.smk":
        '    benchmark:\n        "results/benchmarks/ner_evaluate/{nlang}/{nsystem}/seed{seed}.tsv"\n',
}


def run_variant(work: Path, variant: str) -> dict:
    """Force-rerun the evaluations under ``variant`` (``a+b`` combines two); the rule files are restored."""
    parts = variant.split("+")
    flags = [flag for part in parts for flag in FLAGS[part]]
    originals = {name: (work / name).read_text() for name in BENCHMARK_LINES}
    try:
        if "nobench" in parts:
            for name, lines in BENCHMARK_LINES.items():
                if lines not in originals[name]:
                    raise SystemExit(f"{work / name}: its benchmark: lines changed; update BENCHMARK_LINES")
                (work / name).write_text(originals[name].replace(lines, ""))
        before, start = children_cpu_seconds(), time.perf_counter()
        out = subprocess.run([sys.executable, "-m", "snakemake", "--cores", "2", "--configfile",
                              "config/config.yaml", "--forcerun", *RULES, *flags],
                             cwd=work, capture_output=True, text=True)
        wall, run_cpu = time.perf_counter() - start, children_cpu_seconds() - before
    finally:
        for name, text in originals.items():
            (work / name).write_text(text)
    if out.returncode:
        raise SystemExit(out.stderr[-3000:])
    jobs, jobs_cpu = jobs_cpu_seconds(work, (*RULES, "report"))
    return {"variant": variant, "wall_s": round(wall, 1), "run_cpu_s": round(run_cpu, 1), "jobs": jobs,
            "jobs_cpu_s": round(jobs_cpu, 1), "snakemake_cpu_s": round(run_cpu - jobs_cpu, 1)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("run_dir", type=Path)
    ap.add_argument("variants", nargs="*", default=["timespan1s", "profile", "nobench"],
                    help=f"any of {sorted(FLAGS)}, or several joined by +")
    args = ap.parse_args()
    for variant in args.variants:
        print(json.dumps(run_variant(args.run_dir, variant)), flush=True)


if __name__ == "__main__":
    main()
