"""The report's descriptive numbers, from per-query (retrieval) and per-sentence (NER) rows and the
training records: seed aggregation, gap closed, data efficiency, ablation, held-out curves, NER F1,
training budgets and NMT quality.

Every table cell is computed here from rows that are also saved next to the report (or read from
the runs' ``training.json``), so a reader can recompute it; the paired tests are in
:mod:`optical.report.inference`, the statistics themselves in :mod:`optical.evaluate.stats`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from optical import registry
from optical.evaluate.stats import gap_closed
from optical.ner.scores import prf

COUNTS = ["correct", "predicted", "gold_entities"]


def _std(v) -> float:
    return float(np.std(v, ddof=1)) if len(v) > 1 else 0.0


def per_seed_means(df: pd.DataFrame) -> pd.DataFrame:
    return df.groupby(["language", "system", "variant", "measure", "seed"])["value"].mean().reset_index()


def system_table(df: pd.DataFrame) -> pd.DataFrame:
    """Main runs, per (language, system, measure): mean over queries per seed, then mean/std over seeds."""
    ps = per_seed_means(df[df.variant == "main"])
    return ps.groupby(["language", "system", "measure"])["value"].agg(
        mean="mean", std=_std, seeds="count", per_seed=lambda v: ", ".join(f"{x:.4f}" for x in v)).reset_index()


def gap_table(df: pd.DataFrame, systems: list[str], measure: str, baseline: str = registry.BASELINE,
              oracle: str = registry.ORACLE) -> pd.DataFrame:
    """Per language, system and seed: (system − baseline) / (oracle − baseline), with the baseline
    and the oracle of the same seed (they share the seed's teacher)."""
    ps = per_seed_means(df[(df.variant == "main") & (df.measure == measure)])
    v = ps.set_index(["language", "system", "seed"])["value"]
    rows = []
    for lang in sorted(ps.language.unique()):
        for seed in sorted(ps[(ps.language == lang) & (ps.system == baseline)].seed.unique()):
            d, o = v.get((lang, baseline, seed)), v.get((lang, oracle, seed))
            if d is None or o is None:
                continue
            for s in systems:
                if s in (baseline, oracle):
                    continue
                x = v.get((lang, s, seed), v.get((lang, s, 0)))  # untrained systems have one run
                if x is not None:
                    rows.append({"language": lang, "system": s, "seed": seed, "gap_closed": gap_closed(x, d, o)})
    return pd.DataFrame(rows, columns=["language", "system", "seed", "gap_closed"])


def efficiency_curve(df: pd.DataFrame, measure: str) -> pd.DataFrame:
    """Per language, system and bitext size: mean ± std over seeds of the per-seed mean over
    queries, for the systems with data-efficiency runs (their main run is the largest size)."""
    sub = df[df.train_pairs.notna() & (df.measure == measure)]
    systems = sub[sub.variant.str.startswith("bitext")].system.unique()
    sub = sub[sub.system.isin(systems) & (sub.variant.str.startswith("bitext") | (sub.variant == "main"))]
    ps = sub.groupby(["language", "system", "variant", "seed", "train_pairs"])["value"].mean().reset_index()
    return ps.groupby(["language", "system", "train_pairs"])["value"].agg(
        mean="mean", std=_std, seeds="count").reset_index()


def ablation_table(df: pd.DataFrame, measure: str) -> pd.DataFrame:
    """Per language, system and OT setting (reg<x> / iter<n>): mean over the ablation seeds of the
    per-seed means, and its difference to the main run of the same seeds (setting "main")."""
    ab = df[(df.measure == measure) & df.variant.str.match(r"^(reg|iter)")]
    rows = []
    for (lang, system), g in ab.groupby(["language", "system"]):
        main = df[(df.language == lang) & (df.system == system) & (df.variant == "main") & (df.measure == measure)
                  & df.seed.isin(g.seed.unique())]
        base = per_seed_means(main)["value"].mean()
        rows.append({"language": lang, "system": system, "setting": "main", "value": base, "delta": np.nan})
        for variant, gv in sorted(g.groupby("variant")):
            value = gv.groupby("seed")["value"].mean().mean()
            rows.append({"language": lang, "system": system, "setting": variant, "value": value,
                         "delta": value - base})
    return pd.DataFrame(rows, columns=["language", "system", "setting", "value", "delta"])


def heldout_table(curves: dict) -> pd.DataFrame:
    """Held-out curves of the main bitext runs, mean over seeds per (language, system, step):
    ``relative_objective`` (the method's own objective / its value at step 0: the methods'
    objectives have different scales) and ``translation_p1`` (method-neutral). A curve without
    a key (older runs) contributes NaN to that column; one without either is left out."""
    rows = []
    for (lang, system, seed), curve in sorted(curves.items()):
        start = next((p.get("objective") for p in curve if p.get("step") == 0), None)
        scale = start if start is not None and np.isfinite(start) and start != 0 else None
        for point in curve:
            objective, p1 = point.get("objective"), point.get("translation_p1")
            if objective is None and p1 is None:
                continue
            rows.append({"language": lang, "system": system, "seed": seed, "step": point["step"],
                         "relative_objective": objective / scale if objective is not None and scale else np.nan,
                         "translation_p1": np.nan if p1 is None else p1})
    frame = pd.DataFrame(rows, columns=["language", "system", "seed", "step", "relative_objective",
                                        "translation_p1"])
    return frame.groupby(["language", "system", "step"], as_index=False)[
        ["relative_objective", "translation_p1"]].mean()


# --- NER --------------------------------------------------------------------------------------

def ner_table(df: pd.DataFrame) -> pd.DataFrame:
    """Per language and system: P, R, F1 per seed (corpus-level), then mean and std over seeds."""
    rows = []
    for (lang, system), g in df.groupby(["language", "system"]):
        a = np.array([prf(s[COUNTS].to_numpy()) for _, s in sorted(g.groupby("seed"))])
        rows.append({"language": lang, "system": system, "seeds": len(a),
                     "precision": a[:, 0].mean(), "recall": a[:, 1].mean(), "f1": a[:, 2].mean(),
                     "f1_std": a[:, 2].std(ddof=1) if len(a) > 1 else 0.0,
                     "f1_per_seed": " / ".join(f"{100 * x:.1f}" for x in a[:, 2])})
    return pd.DataFrame(rows, columns=["language", "system", "seeds", "precision", "recall", "f1", "f1_std",
                                       "f1_per_seed"])


# --- training budgets and NMT quality ---------------------------------------------------------

BUDGET_COLUMNS = ["language", "system", "variant", "seed", "steps", "examples_seen", "wall_s"]
NMT_COLUMNS = ["language", "direction", "seed", "bleu", "chrf", "train_pairs", "steps", "examples_seen", "wall_s"]


def budget_table(budgets: pd.DataFrame, systems: list[str]) -> pd.DataFrame:
    """Per trained system (in ``systems`` order, then any other) and language, over its main runs:
    optimiser steps, examples per step (examples seen / steps) and examples seen, each as (min, max)
    over the runs, the mean wall time over the runs with a benchmark, and the counts of runs and of
    timed runs. ``budgets``: one row per run (:data:`BUDGET_COLUMNS`, NaN where unrecorded)."""
    main = budgets[budgets.variant == "main"].astype({"steps": float, "examples_seen": float, "wall_s": float})
    main = main.assign(per_step=main.examples_seen / main.steps.where(main.steps > 0))
    order = {s: i for i, s in enumerate(list(systems) + sorted(set(main.system) - set(systems)))}
    rows = []
    for (system, lang), g in sorted(main.groupby(["system", "language"]), key=lambda kv: (order[kv[0][0]], kv[0][1])):
        row = {"system": system, "language": lang, "runs": len(g), "timed_runs": int(g.wall_s.notna().sum()),
               "wall_s": g.wall_s.mean()}
        for col in ("steps", "per_step", "examples_seen"):
            row[f"{col}_min"], row[f"{col}_max"] = g[col].min(), g[col].max()
        rows.append(row)
    columns = ["system", "language", "runs", "timed_runs", "wall_s"] + [
        f"{c}_{e}" for c in ("steps", "per_step", "examples_seen") for e in ("min", "max")]
    return pd.DataFrame(rows, columns=columns)


def shared_budget(table: pd.DataFrame, systems: list[str]) -> bool | None:
    """Whether ``systems`` (those with rows in a :func:`budget_table`) show one budget per language:
    the same steps and examples per step in every run. None: no recorded budget to compare."""
    rows = table[table.system.isin(systems)]
    if rows.empty or rows[["steps_min", "per_step_min"]].isna().any().any():
        return None
    for _, g in rows.groupby("language"):
        for col in ("steps", "per_step"):
            if g[f"{col}_min"].nunique() > 1 or (g[f"{col}_min"] != g[f"{col}_max"]).any():
                return False
    return True


def nmt_budgets(nmt: pd.DataFrame) -> pd.DataFrame:
    """The NMT models' training runs as budget rows (:data:`BUDGET_COLUMNS`), system "NMT model <direction>"."""
    return pd.DataFrame({"language": nmt.language, "system": "NMT model " + nmt.direction.astype(str),
                         "variant": "main", "seed": nmt.seed, "steps": nmt.steps, "examples_seen": nmt.examples_seen,
                         "wall_s": nmt.wall_s}, columns=BUDGET_COLUMNS)


def nmt_table(nmt: pd.DataFrame) -> pd.DataFrame:
    """Per language and direction: held-out BLEU and chrF, mean and std over seeds, and the seeds,
    training pairs and steps (``nmt``: one row per model, :data:`NMT_COLUMNS`)."""
    frame = nmt.astype({c: float for c in NMT_COLUMNS[3:]})
    return frame.groupby(["language", "direction"]).agg(
        bleu=("bleu", "mean"), bleu_std=("bleu", _std), chrf=("chrf", "mean"), chrf_std=("chrf", _std),
        seeds=("seed", "count"), train_pairs=("train_pairs", "max"), steps=("steps", "max")).reset_index()
