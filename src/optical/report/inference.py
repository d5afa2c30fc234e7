"""The report's paired tests, from per-query (retrieval) and per-sentence (NER) rows, and one long
frame of every test (``tests.parquet``).

Families (each Holm-corrected on its own):

- ``vs_direct``: every system against direct transfer, per candidate list and measure, over
  systems × languages;
- ``optical_vs_each``: OPTICAL against every other system that ran, per measure, over the other
  systems × languages;
- ``headline``: the research question, teacher-student learning against direct transfer per task
  and language, with seeds inside the inference (the hierarchical bootstrap), over its rows;
- ``ner_vs_direct``: every NER system against direct transfer, over systems × languages.

The statistics themselves are in :mod:`optical.evaluate.stats`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from optical import registry
from optical.evaluate.stats import (hierarchical_bootstrap, holm, pair_seeds, paired_f1_test, paired_test, seed_f1,
                                    seed_mean)
from optical.report.tables import COUNTS

OPTICAL = "optical"                                  # retrieval's teacher-student system, tested against each
HEADLINE_NER = ("teacher_student", "ot_aligned")     # NER's teacher-student systems in the headline
TEST_COLUMNS = ["task", "family", "language", "system", "other", "measure", "candidates", "n", "seeds", "value",
                "other_value", "delta", "ci_low", "ci_high", "ci_method", "p", "p_holm", "method"]
HEADLINE_COLUMNS = ["task", "language", "system", "other", "measure", "n", "seeds", "value", "other_value", "delta",
                    "ci_low", "ci_high", "p", "p_holm"]


# --- retrieval: paired per query on seed-averaged values --------------------------------------

def _holm_per_measure(comp: pd.DataFrame) -> pd.DataFrame:
    for col in ("t_pvalue", "perm_pvalue"):
        comp[col.replace("pvalue", "holm")] = np.nan
        for _, idx in comp.groupby("measure").groups.items():
            comp.loc[idx, col.replace("pvalue", "holm")] = holm(comp.loc[idx, col].to_numpy())
    return comp


def _paired(df: pd.DataFrame, triples: list[tuple[str, str, str]], measures: list[str],
            n_resamples: int) -> pd.DataFrame:
    """``paired_test`` of system against other per (language, system, other) in ``triples`` and
    measure, on per-query values averaged over seeds; Holm per measure over all the triples."""
    per_query = df[df.variant == "main"].groupby(["language", "system", "measure", "query_id"])["value"].mean()
    rows = []
    for lang, system, other in triples:
        for m in measures:
            a, b = per_query.loc[(lang, system, m)], per_query.loc[(lang, other, m)]
            if set(a.index) != set(b.index):
                raise ValueError(f"{lang}/{system} and {lang}/{other} were evaluated on different queries")
            t = paired_test(a.to_numpy(), b.loc[a.index].to_numpy(), n_resamples=n_resamples)
            rows.append({"language": lang, "system": system, "baseline": other, "measure": m, "n_queries": t.n,
                         "mean": t.mean_a, "baseline_mean": t.mean_b, "delta": t.delta, "ci_low": t.ci_low,
                         "ci_high": t.ci_high, "t_pvalue": t.t_pvalue, "perm_pvalue": t.perm_pvalue})
    comp = pd.DataFrame(rows)
    return _holm_per_measure(comp) if len(comp) else comp


def _ran(df: pd.DataFrame) -> set[tuple[str, str]]:
    return set(map(tuple, df.loc[df.variant == "main", ["language", "system"]].drop_duplicates().to_numpy()))


def comparisons(df: pd.DataFrame, systems: list[str], measures: list[str], baseline: str = registry.BASELINE,
                n_resamples: int = 10000) -> pd.DataFrame:
    """Each system against ``baseline`` per language and measure, paired per query on seed-averaged
    values; p-values Holm-corrected per measure over the family of systems x languages."""
    ran = _ran(df) if baseline in systems else set()
    triples = [(lang, s, baseline) for lang in sorted({l for l, _ in ran}) if (lang, baseline) in ran
               for s in systems if s != baseline and (lang, s) in ran]
    return _paired(df, triples, measures, n_resamples)


def versus_each(df: pd.DataFrame, systems: list[str], measures: list[str], system: str = OPTICAL,
                n_resamples: int = 10000) -> pd.DataFrame:
    """``system`` against every other system of ``systems`` that ran, per language and measure
    (same test as :func:`comparisons`, ``baseline`` = the other system); Holm per measure over the
    family of other systems × languages. Empty when ``system`` did not run."""
    ran = _ran(df) if system in systems else set()
    triples = [(lang, system, other) for lang in sorted({l for l, _ in ran}) if (lang, system) in ran
               for other in systems if other != system and (lang, other) in ran]
    return _paired(df, triples, measures, n_resamples)


# --- the headline: seeds inside the inference -------------------------------------------------

def _query_values(df: pd.DataFrame, lang: str, system: str, measure: str) -> dict[int, pd.Series]:
    sub = df[(df.variant == "main") & (df.language == lang) & (df.system == system) & (df.measure == measure)]
    return {int(s): g.groupby("query_id")["value"].mean().sort_index() for s, g in sub.groupby("seed")}


def _sentence_counts(df: pd.DataFrame, lang: str, system: str) -> dict[int, pd.DataFrame]:
    sub = df[(df.language == lang) & (df.system == system)]
    return {int(s): g.set_index("sentence")[COUNTS].sort_index() for s, g in sub.groupby("seed")}


def _aligned(a: dict, b: dict, what: str) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """Per-seed arrays of two systems on the same items (queries or sentences), paired by seed."""
    index = next(iter(a.values())).index
    if any(not v.index.equals(index) for v in list(a.values()) + list(b.values())):
        raise ValueError(f"{what}: the two systems (or their seeds) were evaluated on different items")
    return pair_seeds({s: v.to_numpy() for s, v in a.items()}, {s: v.to_numpy() for s, v in b.items()})


def _headline_row(task, lang, system, measure, A, B, per_seed, n_resamples) -> dict:
    h = hierarchical_bootstrap(A, B, per_seed, n_resamples=n_resamples)
    return {"task": task, "language": lang, "system": system, "other": registry.BASELINE, "measure": measure,
            "n": h.n, "seeds": h.seeds, "value": h.value_a, "other_value": h.value_b, "delta": h.delta,
            "ci_low": h.ci_low, "ci_high": h.ci_high, "p": h.pvalue}


def headline_tests(metrics: pd.DataFrame, languages: list[str], measure: str, ner_counts: pd.DataFrame | None,
                   ner_languages: list[str], n_resamples: int = 10000, ner_resamples: int = 1000) -> pd.DataFrame:
    """Teacher-student learning against direct transfer: OPTICAL vs direct on ``measure`` per
    retrieval language (``n_resamples``), and each of :data:`HEADLINE_NER` vs direct on entity F1
    per NER language (``ner_resamples``: the same draws, hence the same CI, as
    :func:`ner_comparisons`), wherever both ran;
    :func:`~optical.evaluate.stats.hierarchical_bootstrap` (seeds, then queries or sentences),
    p-values Holm-corrected over the rows."""
    base, rows = registry.BASELINE, []
    for lang in languages:
        a, b = _query_values(metrics, lang, OPTICAL, measure), _query_values(metrics, lang, base, measure)
        if a and b:
            A, B, _ = _aligned(a, b, f"{lang}/{OPTICAL} vs {base}")
            rows.append(_headline_row("retrieval", lang, OPTICAL, measure, A, B, seed_mean, n_resamples))
    for system in HEADLINE_NER if ner_counts is not None else ():
        for lang in ner_languages:
            a, b = _sentence_counts(ner_counts, lang, system), _sentence_counts(ner_counts, lang, base)
            if a and b:
                A, B, _ = _aligned(a, b, f"NER {lang}/{system} vs {base}")
                rows.append(_headline_row("ner", lang, system, "entity F1", A, B, seed_f1, ner_resamples))
    frame = pd.DataFrame(rows, columns=HEADLINE_COLUMNS[:-1])
    frame["p_holm"] = holm(frame["p"].to_numpy())
    return frame


# --- NER: entity F1 against direct transfer ---------------------------------------------------

def ner_comparisons(df: pd.DataFrame, systems: list[str], baseline: str = registry.BASELINE,
                    n_resamples: int = 1000, seed: int = 0) -> pd.DataFrame:
    """Each system against ``baseline`` per target language on entity F1 (mean over seeds of per-seed
    corpus F1): permutation test over paired test sentences and hierarchical-bootstrap CI
    (:func:`~optical.evaluate.stats.paired_f1_test`); p-values Holm-corrected over the family of
    systems × languages."""
    rows = []
    for lang in sorted(set(df.language) - {"en"}):
        base = _sentence_counts(df, lang, baseline)
        for system in systems if base else []:
            cur = _sentence_counts(df, lang, system)
            if system == baseline or not cur:
                continue
            A, B, _ = _aligned(cur, base, f"NER {lang}/{system} vs {baseline}")
            t = paired_f1_test(A, B, n_resamples=n_resamples, seed=seed)
            rows.append({"language": lang, "system": system, "n_sentences": t.n, "seeds": t.seeds, "f1": t.f1_a,
                         "baseline_f1": t.f1_b, "delta": t.delta, "ci_low": t.ci_low, "ci_high": t.ci_high,
                         "pvalue": t.pvalue})
    comp = pd.DataFrame(rows)
    if len(comp):
        comp["holm"] = holm(comp["pvalue"].to_numpy())
    return comp


# --- every test, one frame --------------------------------------------------------------------

def _frame(columns: dict, n: int) -> pd.DataFrame:
    return pd.DataFrame({c: list(columns[c]) if c in columns else [None] * n for c in TEST_COLUMNS})


def paired_rows(comp: pd.DataFrame, family: str, candidates: str) -> pd.DataFrame:
    """A :func:`comparisons` / :func:`versus_each` frame as test rows: one per permutation test and
    one per t-test, both with the query-bootstrap CI."""
    if comp is None or comp.empty:
        return _frame({}, 0)
    common = {"task": ["retrieval"] * len(comp), "family": [family] * len(comp), "language": comp.language,
              "system": comp.system, "other": comp.baseline, "measure": comp.measure,
              "candidates": [candidates] * len(comp), "n": comp.n_queries, "value": comp["mean"],
              "other_value": comp.baseline_mean, "delta": comp.delta, "ci_low": comp.ci_low,
              "ci_high": comp.ci_high, "ci_method": ["query bootstrap (seed-averaged values)"] * len(comp)}
    return pd.concat([_frame({**common, "p": comp.perm_pvalue, "p_holm": comp.perm_holm,
                              "method": ["sign-flip permutation"] * len(comp)}, len(comp)),
                      _frame({**common, "p": comp.t_pvalue, "p_holm": comp.t_holm,
                              "method": ["paired t-test"] * len(comp)}, len(comp))], ignore_index=True)


def headline_rows(headline: pd.DataFrame, first_stage: str) -> pd.DataFrame:
    n = len(headline)
    columns = {c: headline[c] for c in HEADLINE_COLUMNS}
    candidates = [first_stage if t == "retrieval" else None for t in headline.task]
    return _frame({**columns, "family": ["headline"] * n, "candidates": candidates,
                   "ci_method": ["hierarchical bootstrap"] * n, "method": ["hierarchical bootstrap"] * n}, n)


def ner_rows(comp: pd.DataFrame | None) -> pd.DataFrame:
    if comp is None or comp.empty:
        return _frame({}, 0)
    n = len(comp)
    return _frame({"task": ["ner"] * n, "family": ["ner_vs_direct"] * n, "language": comp.language,
                   "system": comp.system, "other": [registry.BASELINE] * n, "measure": ["entity F1"] * n,
                   "n": comp.n_sentences, "seeds": comp.seeds, "value": comp.f1, "other_value": comp.baseline_f1,
                   "delta": comp.delta, "ci_low": comp.ci_low, "ci_high": comp.ci_high,
                   "ci_method": ["hierarchical bootstrap"] * n, "p": comp.pvalue, "p_holm": comp.holm,
                   "method": ["sentence permutation"] * n}, n)


def tests_frame(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """Test rows (:data:`TEST_COLUMNS`) concatenated with stable dtypes."""
    frame = pd.concat([p for p in parts if len(p)] or [_frame({}, 0)], ignore_index=True)[TEST_COLUMNS]
    floats = ["value", "other_value", "delta", "ci_low", "ci_high", "p", "p_holm"]
    text = ["task", "family", "language", "system", "other", "measure", "candidates", "ci_method", "method"]
    return frame.astype({**{c: float for c in floats}, "n": "Int64", "seeds": "Int64",
                         **{c: "string" for c in text}})
