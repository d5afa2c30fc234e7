"""One calibration trial of the synthetic world (issue 13; the record is docs/calibration.md).

    python benchmarks/calibrate.py --trial NAME [--set KEY=VALUE ...] [--seeds 1 2 3] [--workdir DIR]

Runs config/calibration.yaml (the development world: seed 101, languages fi/it/pl at three
resource levels, only random, direct transfer, the translate-test ceiling and the NER teacher)
with the settings applied, cold, in a fresh copy of the workflow; prints the regime table and the
verdict against the stated target, and appends the table to benchmarks/calibration.tsv (the
development trials), or to --record: the frozen setting's regime on another world, with --base
config/config.yaml and --set world.seed=N, goes to a table of its own.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pipeline import ROOT, run_config  # noqa: E402

from optical.calibration import apply_settings, run_regime, verdict  # noqa: E402

RECORD = ROOT / "benchmarks" / "calibration.tsv"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--trial", required=True, help="a name for the record")
    ap.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="dotted config keys; * for every child")
    ap.add_argument("--seeds", nargs="*", type=int, help="seeds (default: the base config's)")
    ap.add_argument("--base", default=str(ROOT / "config" / "calibration.yaml"))
    ap.add_argument("--workdir", help="default: /tmp/optical-calibration/<trial>")
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--no-run", action="store_true", help="only summarise the finished run in the workdir")
    ap.add_argument("--record", default=str(RECORD),
                    help="the table to append to (default: benchmarks/calibration.tsv, the development trials)")
    args = ap.parse_args()
    settings = list(args.set) + ([f"seeds={args.seeds}"] if args.seeds else [])
    config = apply_settings(yaml.safe_load(Path(args.base).read_text()), settings)
    work = Path(args.workdir or f"/tmp/optical-calibration/{args.trial}")
    wall = "" if args.no_run else round(run_config(work, config, args.cores))
    table = run_regime(config, work / "results" / "report")
    print(table.to_string(index=False, float_format=lambda x: f"{x:.3f}"))
    for what, ok in verdict(table).items():
        print(f"{'met' if ok else 'NOT met':8} {what}")
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    table.insert(0, "settings", " ".join(settings))
    table.insert(0, "trial", args.trial)
    record = Path(args.record)
    table.assign(seeds=" ".join(map(str, config["seeds"])), commit=commit, wall_s=wall).to_csv(
        record, sep="\t", mode="a", header=not record.exists(), index=False, float_format="%.4f")


if __name__ == "__main__":
    main()
