"""Does longer pretraining align the synthetic languages' own words with English? (issue 13)

    python benchmarks/alignment_steps.py --steps 1500 3000 6000 [--trial rare-words-fixed] [--seed 1]
        [--set KEY=VALUE ...] [--tag NAME]

On the development world (config/calibration.yaml with a recorded trial's settings from
benchmarks/calibration.tsv, by default the frozen one), pretrains one seed's encoder for each number
of steps, each in its own copy of the workflow (/tmp/optical-alignment/steps-N[-TAG]; Snakemake builds the
world and the encoder only, one thread each, the runs side by side), then prints
benchmarks/lexicon_alignment.py's table for every encoder. Reads no retrieval or NER result.
"""

from __future__ import annotations

import argparse
import csv
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pipeline import ROOT, copy_workflow  # noqa: E402

from optical.calibration import apply_settings  # noqa: E402


def settings_of(trial: str) -> list[str]:
    """The trial's KEY=VALUE list (values such as [1,3] hold no spaces; seeds=[1, 2, 3] does)."""
    with open(ROOT / "benchmarks" / "calibration.tsv") as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            if row["trial"] == trial:
                text = row["settings"].split(" seeds=")[0]
                return text.split()
    raise SystemExit(f"no trial {trial!r} in benchmarks/calibration.tsv")


def pretrain_encoder(work: Path, config: dict, seed: int) -> None:
    if not (work / "Snakefile").exists():
        copy_workflow(work)
    (work / "trial.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    target = f"results/models/encoder/seed{seed}"
    with open(work / "alignment.log", "w") as log:
        subprocess.run([sys.executable, "-m", "snakemake", target, "--cores", "1", "--configfile", "trial.yaml"],
                       cwd=work, check=True, stdout=log, stderr=subprocess.STDOUT)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", nargs="+", type=int, required=True)
    ap.add_argument("--trial", default="rare-words-fixed", help="whose settings (benchmarks/calibration.tsv)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="more settings for every run")
    ap.add_argument("--tag", default="", help="a suffix for the run directories (steps-N-TAG)")
    ap.add_argument("--jobs", type=int, default=2, help="pretraining runs side by side")
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/optical-alignment"))
    args = ap.parse_args()
    base = yaml.safe_load((ROOT / "config" / "calibration.yaml").read_text())
    runs = {}
    for steps in args.steps:
        extra = [f"seeds=[{args.seed}]", f"pretrain.steps={steps}"] + list(args.set)
        config = apply_settings(base, settings_of(args.trial) + extra)
        runs[steps] = (args.workdir / "-".join(filter(None, [f"steps-{steps}", args.tag])), config)
    with ThreadPoolExecutor(args.jobs) as pool:
        list(pool.map(lambda item: pretrain_encoder(item[0], item[1], args.seed), runs.values()))
    for steps, (work, _) in runs.items():
        print(f"\n## pretrain.steps = {steps}", flush=True)
        subprocess.run([sys.executable, str(ROOT / "benchmarks" / "lexicon_alignment.py"), str(work),
                        "--config", str(work / "trial.yaml"), "--model", "encoder"], check=True)


if __name__ == "__main__":
    main()
