"""The report's numbers, from per-query (retrieval) and per-sentence (NER) rows.

Every table cell is computed here from the rows that are also saved next to the report, so a reader
can recompute it; the tests themselves live in :mod:`optical.evaluate.stats`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from optical import registry
from optical.evaluate.stats import gap_closed, holm, paired_bootstrap_f1, paired_test
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


def _holm_per_measure(comp: pd.DataFrame) -> pd.DataFrame:
    for col in ("t_pvalue", "perm_pvalue"):
        comp[col.replace("pvalue", "holm")] = np.nan
        for _, idx in comp.groupby("measure").groups.items():
            comp.loc[idx, col.replace("pvalue", "holm")] = holm(comp.loc[idx, col].to_numpy())
    return comp


def comparisons(df: pd.DataFrame, systems: list[str], measures: list[str],
                baseline: str = registry.BASELINE) -> pd.DataFrame:
    """Each system against ``baseline`` per language and measure, paired per query on seed-averaged
    values; p-values Holm-corrected per measure over the family of systems x languages."""
    main = df[df.variant == "main"]
    per_query = main.groupby(["language", "system", "measure", "query_id"])["value"].mean()
    ran = set(per_query.index.droplevel("query_id"))
    rows = []
    for lang in sorted(main["language"].unique()) if baseline in systems else []:
        for system in systems:
            if system == baseline or (lang, system, measures[0]) not in ran:
                continue  # the baseline itself, or a system that did not run here (paper setting)
            for m in measures:
                a, b = per_query.loc[(lang, system, m)], per_query.loc[(lang, baseline, m)]
                if set(a.index) != set(b.index):
                    raise ValueError(f"{lang}/{system} and {lang}/{baseline} were evaluated on different queries")
                t = paired_test(a.to_numpy(), b.loc[a.index].to_numpy())
                rows.append({"language": lang, "system": system, "baseline": baseline, "measure": m,
                             "n_queries": t.n, "mean": t.mean_a, "baseline_mean": t.mean_b, "delta": t.delta,
                             "ci_low": t.ci_low, "ci_high": t.ci_high, "t_pvalue": t.t_pvalue,
                             "perm_pvalue": t.perm_pvalue})
    comp = pd.DataFrame(rows)
    return _holm_per_measure(comp) if len(comp) else comp


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


def _counts_per_seed(df: pd.DataFrame) -> list[np.ndarray]:
    return [g.sort_values("sentence")[COUNTS].to_numpy() for _, g in sorted(df.groupby("seed"))]


def ner_comparisons(df: pd.DataFrame, systems: list[str], baseline: str = registry.BASELINE,
                    n_resamples: int = 1000, seed: int = 0) -> pd.DataFrame:
    """Each system against ``baseline`` per target language: paired bootstrap over test sentences on
    seed-averaged F1; p-values Holm-corrected over the family of systems × languages."""
    rows = []
    for lang in sorted(set(df.language) - {"en"}):
        base = df[(df.language == lang) & (df.system == baseline)]
        for system in systems if not base.empty else []:
            cur = df[(df.language == lang) & (df.system == system)]
            if system == baseline or cur.empty:
                continue
            t = paired_bootstrap_f1(_counts_per_seed(cur), _counts_per_seed(base), n_resamples=n_resamples,
                                    seed=seed)
            rows.append({"language": lang, "system": system, "n_sentences": t.n, "f1": t.f1_a,
                         "baseline_f1": t.f1_b, "delta": t.delta, "ci_low": t.ci_low, "ci_high": t.ci_high,
                         "pvalue": t.pvalue})
    comp = pd.DataFrame(rows)
    if len(comp):
        comp["holm"] = holm(comp["pvalue"].to_numpy())
    return comp
