"""Typology one factor at a time: the table behind docs/results.md#typology-one-factor-at-a-time.

    snakemake --configfile config/typology.yaml --cores 2        # in DIR, a copy of the workflow
    python benchmarks/typology.py DIR [--base sw] [--replicate ca]

Reads DIR/results/report/{metrics,ner_metrics}.parquet and DIR/config/typology.yaml. Writes
DIR/typology.parquet (every language, system and quantity: value, difference from the base with
its unpaired 95% bootstrap interval, the replicate's difference, the verdict; optical.typology),
DIR/typology.md (the same, and one verdict grid per task and quantity) and DIR/typology_regime.md
(each language's random, direct, ceiling and direct's share; optical.calibration.regime).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd
import yaml

from optical.calibration import run_regime
from optical.typology import ner_effects, retrieval_effects

SHORT = {"hurts": "hurts", "helps": "helps", "no measured effect": "·", "base": "base", "replicate": "rep."}


def grid(table: pd.DataFrame) -> pd.DataFrame:
    """Systems × languages: the difference from the base (with its verdict) per cell."""
    cells = table.assign(cell=[f"{r.value:.3f}" if r.verdict in ("base", "replicate") and pd.isna(r.delta)
                               else f"{r.delta:+.3f} {SHORT[r.verdict]}" for r in table.itertuples()])
    return cells.pivot(index="system", columns="language", values="cell")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("workdir", type=Path)
    ap.add_argument("--config", type=Path, help="default: WORKDIR/config/typology.yaml")
    ap.add_argument("--base", default="sw")
    ap.add_argument("--replicate", default="ca")
    ap.add_argument("--resamples", type=int, default=2000)
    args = ap.parse_args()
    config = yaml.safe_load((args.config or args.workdir / "config" / "typology.yaml").read_text())
    report = args.workdir / "results" / "report"
    measure, candidates = config["evaluation"]["headline_measure"], config["candidates"]["first_stage"]
    metrics = pd.read_parquet(report / "metrics.parquet")
    ner = pd.read_parquet(report / "ner_metrics.parquet")
    table = pd.concat([
        retrieval_effects(metrics, args.base, args.replicate, measure, candidates, args.resamples),
        ner_effects(ner, args.base, args.replicate, args.resamples)], ignore_index=True)
    table.to_parquet(args.workdir / "typology.parquet", index=False)
    parts = [f"# Typology one factor at a time ({measure}, {candidates} candidates; NER entity F1)\n"]
    for (task, quantity), t in table.groupby(["task", "quantity"], sort=False):
        parts += [f"## {task}: {quantity} (difference from {args.base}; '·' no measured effect)\n",
                  grid(t).to_markdown(), ""]
    parts += ["## every cell\n", table.to_markdown(index=False, floatfmt=".3f")]
    (args.workdir / "typology.md").write_text("\n".join(parts) + "\n")
    regime = run_regime(config, report)
    (args.workdir / "typology_regime.md").write_text(regime.to_markdown(index=False, floatfmt=".3f") + "\n")
    print("\n".join(parts[:-2]))
    print(regime.to_markdown(index=False, floatfmt=".3f"))


if __name__ == "__main__":
    main()
