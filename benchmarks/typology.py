"""Typology one factor at a time: the table behind docs/results.md#typology-one-factor-at-a-time.

    snakemake --configfile config/typology.yaml --cores 2        # in DIR, a copy of the workflow
    python benchmarks/typology.py DIR [DIR ...] [--base sw] [--replicate ca]

Per DIR (one world), reads DIR/results/report/{metrics,ner_metrics}.parquet and
DIR/config/typology.yaml, and writes
DIR/typology.parquet (every language, system and quantity: value, difference from the base with
its unpaired 95% bootstrap interval, the replicate's difference, the verdict; optical.typology),
DIR/typology.md (the same, and one verdict grid per task and quantity) and DIR/typology_regime.md
(each language's random, direct, ceiling and direct's share; optical.calibration.regime).
With several DIRs, also typology_worlds.{parquet,md} in the first (or --out): each cell's
difference and verdict per world and the conclusion, a verdict only where every world gives it;
--tsv PATH: every world's cells in one TSV (the docs' record: benchmarks/typology.tsv).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd
import yaml

from optical.calibration import run_regime
from optical.typology import across_worlds, ner_effects, retrieval_effects

SHORT = {"hurts": "hurts", "helps": "helps", "no measured effect": "·", "not comparable": "n/a",
         "replicate": "rep."}


def grid(table: pd.DataFrame, base: str, replicate: str) -> pd.DataFrame:
    """Systems × languages (the base, the replicate, then the others): the base's value, elsewhere the
    difference from it and its verdict."""
    cells = table.assign(cell=[f"{r.value:.3f}" if r.verdict == "base" else "n/a" if pd.isna(r.delta)
                               else f"{r.delta:+.3f} {SHORT[r.verdict]}" for r in table.itertuples()])
    out = cells.pivot(index="system", columns="language", values="cell")
    return out[[base, replicate] + sorted(set(out.columns) - {base, replicate})]


def world_table(workdir: Path, base: str, replicate: str, resamples: int) -> tuple[int, pd.DataFrame]:
    """A finished typology run's world seed and its table (optical.typology), with typology.parquet,
    typology.md and typology_regime.md written beside it."""
    config = yaml.safe_load((workdir / "config" / "typology.yaml").read_text())
    report = workdir / "results" / "report"
    measure, candidates = config["evaluation"]["headline_measure"], config["candidates"]["first_stage"]
    tables = [retrieval_effects(pd.read_parquet(report / "metrics.parquet"), base, replicate, measure,
                                candidates, resamples)]
    if config["ner"]["languages"]:
        tables.append(ner_effects(pd.read_parquet(report / "ner_metrics.parquet"), base, replicate, resamples))
    table = pd.concat(tables, ignore_index=True)
    table.to_parquet(workdir / "typology.parquet", index=False)
    world = config["world"]["seed"]
    parts = [f"# Typology one factor at a time, world {world} ({measure}, {candidates} candidates; NER entity F1)\n"]
    for (task, quantity), t in table.groupby(["task", "quantity"], sort=False):
        parts += [f"## {task}: {quantity} (difference from {base}; '·' no measured effect)\n",
                  grid(t, base, replicate).to_markdown(), ""]
    parts += ["## every cell\n", table.to_markdown(index=False, floatfmt=".3f")]
    (workdir / "typology.md").write_text("\n".join(parts) + "\n")
    regime = run_regime(config, report).to_markdown(index=False, floatfmt=".3f") + "\n"
    (workdir / "typology_regime.md").write_text(regime)
    print("\n".join(parts[:-2]) + "\n" + regime)
    return world, table


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("workdirs", type=Path, nargs="+", help="finished runs of config/typology.yaml, one per world")
    ap.add_argument("--base", default="sw")
    ap.add_argument("--replicate", default="ca")
    ap.add_argument("--resamples", type=int, default=2000, help="bootstrap resamples per interval")
    ap.add_argument("--out", type=Path, help="where the across-worlds table goes (default: the first workdir)")
    ap.add_argument("--tsv", type=Path, help="also every world's cells in one TSV (benchmarks/typology.tsv)")
    args = ap.parse_args()
    tables = dict(world_table(w, args.base, args.replicate, args.resamples) for w in args.workdirs)
    if args.tsv:
        rows = pd.concat([t.assign(world=w) for w, t in tables.items()], ignore_index=True)
        rows.to_csv(args.tsv, sep="\t", index=False, float_format="%.4f")
    if len(tables) > 1:
        out = args.out or args.workdirs[0]
        both = across_worlds(tables)
        both.to_parquet(out / "typology_worlds.parquet", index=False)
        effects = both[both.conclusion.isin(["hurts", "helps", "not on every world"])]
        (out / "typology_worlds.md").write_text(effects.to_markdown(index=False, floatfmt="+.3f") + "\n")
        print(effects.to_markdown(index=False, floatfmt="+.3f"))


if __name__ == "__main__":
    main()
