"""What early stopping on the held-out objective could save, read off a finished run (issue 16 item 2):

    python benchmarks/early_stopping.py RUN_DIR [--patience 1 2]

Every trained model's ``training.json`` under RUN_DIR/results/models records its held-out curve
(the objective, or the loss for NMT, at each evaluation). For each kind of model this prints how many
runs there are, how many still improve at their last evaluation, and the share of their training
steps a patience rule would have skipped: stop at the first evaluation after ``patience``
evaluations without a new best (lower is better). That is an upper bound on the saving at the
evaluation interval the run used, and it needs no rerun; whether stopped models give the same
results is a separate question that only a run with the rule answers.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

OBJECTIVE_KEYS = ("objective", "loss")  # lower is better


def curve_values(curve: list[dict]) -> list[tuple[int, float]]:
    """(step, value) of a held-out curve, on its first objective key; empty if it has none."""
    key = next((k for k in OBJECTIVE_KEYS if curve and k in curve[0]), None)
    return [(int(point["step"]), float(point[key])) for point in curve] if key else []


def stop_step(points: list[tuple[int, float]], patience: int) -> int:
    """The step a patience rule stops at: the evaluation at which ``patience`` evaluations in a row
    have brought no new best; the last step if that never happens."""
    best, waited = float("inf"), 0
    for step, value in points:
        if value < best:
            best, waited = value, 0
        else:
            waited += 1
            if waited >= patience:
                return step
    return points[-1][0]


def kind_of(path: Path, models: Path) -> str:
    """The model's kind from its path: the method directory, with NMT's direction."""
    parts = path.relative_to(models).parts
    return "/".join(parts[:2]) if parts[0] == "nmt" else parts[0]


def summarise(models: Path, patiences: list[int]) -> dict[str, dict]:
    out: dict[str, dict] = defaultdict(lambda: {"runs": 0, "improving_at_end": 0, "steps": 0,
                                                **{f"saved_p{p}": 0 for p in patiences}})
    for path in sorted(models.rglob("training.json")):
        points = curve_values(json.loads(path.read_text()).get("heldout_curve") or [])
        if len(points) < 2:
            continue
        row = out[kind_of(path, models)]
        last = points[-1][0]
        row["runs"] += 1
        row["steps"] += last
        row["improving_at_end"] += points[-1][1] <= min(v for _, v in points)
        for p in patiences:
            row[f"saved_p{p}"] += last - stop_step(points, p)
    return dict(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run_dir", type=Path)
    ap.add_argument("--patience", nargs="*", type=int, default=[1, 2])
    args = ap.parse_args()
    models = args.run_dir / "results" / "models"
    if not models.is_dir():
        raise SystemExit(f"{models} does not exist: give the directory of a finished run")
    rows = summarise(models, args.patience)
    head = " | ".join(f"steps saved, patience {p}" for p in args.patience)
    print(f"| model | runs | best at the last evaluation | {head} |\n|---|---|---|" + "---|" * len(args.patience))
    for kind, r in sorted(rows.items()):
        saved = " | ".join(f"{100 * r[f'saved_p{p}'] / r['steps']:.0f}%" for p in args.patience)
        print(f"| {kind} | {r['runs']} | {r['improving_at_end']} | {saved} |")


if __name__ == "__main__":
    main()
