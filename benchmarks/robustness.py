"""The main comparison on several synthetic worlds (issue 13, item 5; docs/results.md#robustness).

    python benchmarks/robustness.py [--worlds 13 14 15] [--workdir DIR] [--cores 2] [--no-run]

Runs config/robustness.yaml once per world seed (``robustness.world_seeds`` there, or --worlds),
each cold in its own copy of the workflow, then compares every paired test of the reports across
the worlds (optical.robustness): which conclusions hold on every world and which flip. Writes
robustness.parquet and robustness.md into the workdir, and regime.md: each world's calibration
regime (optical.calibration.regime: direct transfer's share of the distance from random to the
ceiling, NER direct F1 against English), and probe.md: each world's alignment probe (optical.probe;
what direct transfer runs on), means over seeds per language and model. --no-run only summarises
finished runs in the workdir.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pipeline import ROOT, run_config  # noqa: E402

from optical.calibration import apply_settings, run_regime  # noqa: E402
from optical.report.context import read_probe  # noqa: E402
from optical.robustness import table  # noqa: E402

FAMILIES = ["headline", "vs_direct", "optical_vs_each", "ner_vs_direct"]
# the probe's columns in probe.md: cognates found, shared tokens found, native words against chance
PROBE_NUMBERS = ["p1_cognates", "context_shared", "context_cognates_shared", "context_cognates_other",
                 "context_native", "context_native_chance", "context_native_off_place"]


def probe_summary(work: Path) -> pd.DataFrame:
    """One run's probe rows (results/probe/<lang>/seed<N>.parquet), means over seeds per language and
    model; empty when the run has none (a run from before the probe)."""
    rows = read_probe(sorted(map(str, (work / "results" / "probe").glob("*/seed*.parquet"))))
    if rows.empty:
        return pd.DataFrame(columns=["language", "model", *PROBE_NUMBERS])
    return rows.groupby(["language", "model"], sort=False)[PROBE_NUMBERS].mean().reset_index()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", default=str(ROOT / "config" / "robustness.yaml"))
    ap.add_argument("--worlds", nargs="*", type=int, help="world seeds (default: robustness.world_seeds)")
    ap.add_argument("--workdir", default="/tmp/optical-robustness")
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--no-run", action="store_true", help="only summarise the finished runs in the workdir")
    args = ap.parse_args()
    base = yaml.safe_load(Path(args.config).read_text())
    worlds = args.worlds or base["robustness"]["world_seeds"]
    tests, regimes, probes = {}, [], []
    for w in worlds:
        work = Path(args.workdir) / f"world{w}"
        if not args.no_run:
            wall = run_config(work, apply_settings(base, [f"world.seed={w}"]), args.cores)
            print(f"world {w}: {wall / 60:.1f} min", flush=True)
        report = work / "results" / "report"
        tests[w] = pd.read_parquet(report / "tests.parquet")
        regimes.append(run_regime(base, report).assign(world=w))
        probes.append(probe_summary(work).assign(world=w))
    measure, alpha = base["evaluation"]["headline_measure"], base["evaluation"]["alpha"]
    t = table(tests, alpha)
    t = t[t.family.isin(FAMILIES) & ((t.task == "ner") | (t.measure == measure))]
    t = t[((t.candidates == base["candidates"]["first_stage"]) | (t.task == "ner")) & (t.method != "paired t-test")]
    out = Path(args.workdir)
    t.to_parquet(out / "robustness.parquet", index=False)
    (out / "robustness.md").write_text(t.to_markdown(index=False, floatfmt=".3f"))
    (out / "regime.md").write_text(pd.concat(regimes).to_markdown(index=False, floatfmt=".3f"))
    (out / "probe.md").write_text(pd.concat(probes).to_markdown(index=False, floatfmt=".3f"))
    print(t.verdict.value_counts().to_string())
    print(f"written: {out / 'robustness.md'}, {out / 'regime.md'}, {out / 'probe.md'}")


if __name__ == "__main__":
    main()
