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

SHORT = {"hurts": "hurts", "helps": "helps", "no measured effect": "·", "not comparable": "n/a",
         "replicate": "rep."}


def grid(table: pd.DataFrame, base: str, replicate: str) -> pd.DataFrame:
    """Systems × languages (the base, the replicate, then the others): the base's value, elsewhere the
    difference from it and its verdict."""
    cells = table.assign(cell=[f"{r.value:.3f}" if r.verdict == "base" else "n/a" if pd.isna(r.delta)
                               else f"{r.delta:+.3f} {SHORT[r.verdict]}" for r in table.itertuples()])
    out = cells.pivot(index="system", columns="language", values="cell")
    return out[[base, replicate] + sorted(set(out.columns) - {base, replicate})]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("workdir", type=Path)
    ap.add_argument("--config", type=Path, help="default: WORKDIR/config/typology.yaml")
    ap.add_argument("--base", default="sw")
    ap.add_argument("--replicate", default="ca")
    ap.add_argument("--resamples", type=int, default=2000, help="bootstrap resamples per interval")
    args = ap.parse_args()
    config = yaml.safe_load((args.config or args.workdir / "config" / "typology.yaml").read_text())
    report = args.workdir / "results" / "report"
    measure, candidates = config["evaluation"]["headline_measure"], config["candidates"]["first_stage"]
    tables = [retrieval_effects(pd.read_parquet(report / "metrics.parquet"), args.base, args.replicate, measure,
                                candidates, args.resamples)]
    if config["ner"]["languages"]:
        tables.append(ner_effects(pd.read_parquet(report / "ner_metrics.parquet"), args.base, args.replicate,
                                  args.resamples))
    table = pd.concat(tables, ignore_index=True)
    table.to_parquet(args.workdir / "typology.parquet", index=False)
    parts = [f"# Typology one factor at a time ({measure}, {candidates} candidates; NER entity F1)\n"]
    for (task, quantity), t in table.groupby(["task", "quantity"], sort=False):
        parts += [f"## {task}: {quantity} (difference from {args.base}; '·' no measured effect)\n",
                  grid(t, args.base, args.replicate).to_markdown(), ""]
    parts += ["## every cell\n", table.to_markdown(index=False, floatfmt=".3f")]
    (args.workdir / "typology.md").write_text("\n".join(parts) + "\n")
    regime = run_regime(config, report)
    (args.workdir / "typology_regime.md").write_text(regime.to_markdown(index=False, floatfmt=".3f") + "\n")
    print("\n".join(parts[:-2]))
    print(regime.to_markdown(index=False, floatfmt=".3f"))


if __name__ == "__main__":
    main()
