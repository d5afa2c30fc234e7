"""How well a run's English teacher (or its pretrained encoder) aligns each synthetic language's words
with English, cognates and native words apart (issue 13: what direct transfer runs on).

    python benchmarks/lexicon_alignment.py RUN_DIR [--config CONFIG] [--model teacher|encoder]
        [--student "optical/{language}/main"]

The probes are optical.probe's (the pipeline's `probe_alignment` rule runs them on every synthetic
run, teacher and OPTICAL's student, into results/probe/<language>/seed<N>.parquet): out of context, each concept's foreign form
retrieves its English translation among all English forms (P@1, chance 1 / n_concepts); in context,
in 400 bitext pairs the run's students did not train on, each foreign word's nearest English word of
the same sentence is compared with its translation (chance about 0.11 for native words), beside a
guess by place.
This script also probes the pretrained encoder (``--model encoder``) and runs without the rule, e.g.
on benchmarks/alignment_steps.py's encoders. ``--config`` defaults to RUN_DIR/trial.yaml when there
is one, else config/config.yaml. Reads the world's lexicons from the config (the generator is
deterministic); trains nothing and changes no result.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from optical.data.synthetic import PIVOT  # noqa: E402
from optical.probe import probe_run  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run_dir", type=Path)
    ap.add_argument("--config", type=Path)
    ap.add_argument("--model", choices=["teacher", "encoder"], default="teacher",
                    help="the teacher (what direct transfer uses) or the pretrained encoder it starts from")
    ap.add_argument("--student", metavar="SYSTEM_DIR",
                    help="also encode the foreign side with this bitext student, e.g. optical/{language}/main")
    args = ap.parse_args()
    trial = args.run_dir / "trial.yaml"
    config = yaml.safe_load((args.config or (trial if trial.exists() else ROOT / "config" / "config.yaml")).read_text())
    results = args.run_dir / "results"
    frames = []
    for code in config["languages"]:
        for seed in config["seeds"]:
            student = results / "models" / args.student.format(language=code) / f"seed{seed}" if args.student else None
            frames.append(probe_run(config["world"], code, seed, results / "models" / args.model / f"seed{seed}",
                                    results / "world" / "bitext" / f"{PIVOT}-{code}.parquet",
                                    results / "data" / code / "bitext.parquet", student, model_name=args.model))
    table = pd.concat(frames, ignore_index=True)
    print(table.to_string(index=False, float_format=lambda x: f"{x:.3f}"))
    print("\nmean over seeds:")
    print(table.drop(columns="seed").groupby(["language", "model"], sort=False).mean()
          .to_string(float_format=lambda x: f"{x:.3f}"))


if __name__ == "__main__":
    main()
