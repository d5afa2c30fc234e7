"""Typology one factor at a time (issue 13, item 2; docs/results.md#typology-one-factor-at-a-time).

The languages of ``config/typology.yaml`` share one resource level and differ from a base language
in one factor each; a replicate language repeats the base's settings with its own draw. Each
language's collection (sentences) is its own, so a language is compared with the base through an
unpaired bootstrap: queries (sentences) of the two languages resampled independently. A factor
*hurts* or *helps* a system only when the interval excludes 0 and the difference exceeds the
replicate's difference from the base for the same system and quantity (the reading rule, fixed
before the run).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
from scipy import stats

from optical import registry
from optical.calibration import RANDOM
from optical.evaluate.stats import _f1 as micro_f1  # the NER tests' vectorised F1 of summed counts
from optical.report.tables import COUNTS

COLUMNS = ["task", "quantity", "language", "system", "value", "delta", "ci_low", "ci_high", "replicate_delta",
           "verdict"]
SCORE, GAIN = "score", "gain over direct"
Statistic = Callable[[np.ndarray], np.ndarray]  # index arrays (..., n) -> one value per resample
Items = dict[tuple[str, str, str], tuple[Statistic, int]]  # (language, system, quantity) -> (statistic, n)


def unpaired_ci(stat_a: Statistic, n_a: int, stat_b: Statistic, n_b: int, n_resamples: int = 2000,
                seed: int = 0) -> tuple[float, float, float]:
    """stat_a − stat_b and its 95% percentile bootstrap interval, the items behind each statistic
    (0..n_a−1, 0..n_b−1) resampled independently (scipy's unpaired bootstrap on the indices)."""
    delta = float(stat_a(np.arange(n_a)) - stat_b(np.arange(n_b)))
    res = stats.bootstrap((np.arange(n_a), np.arange(n_b)), lambda ia, ib, axis: stat_a(ia) - stat_b(ib),
                          paired=False, vectorized=True, n_resamples=n_resamples, method="percentile",
                          confidence_level=0.95, rng=np.random.default_rng(seed))
    return delta, float(res.confidence_interval.low), float(res.confidence_interval.high)


def verdict(delta: float, low: float, high: float, replicate_delta: float) -> str:
    """'hurts' / 'helps' when the interval excludes 0 and |delta| exceeds the replicate's |delta|
    (in magnitude: two draws of one typology differ by that much in either direction); 'not
    comparable' when either difference is missing; else 'no measured effect'."""
    if np.isnan(delta) or np.isnan(replicate_delta):
        return "not comparable"
    if not (low > 0 or high < 0) or abs(delta) <= abs(replicate_delta):
        return "no measured effect"
    return "helps" if delta > 0 else "hurts"


def retrieval_items(metrics: pd.DataFrame, measure: str, candidates: str) -> Items:
    """Per language and system, the mean over a resample of queries of ``measure`` (main runs of
    ``candidates``, each query averaged over seeds: random has its one untrained run) and, but for
    random (the floor) and direct itself, the mean per-query gain over direct transfer."""
    m = metrics[(metrics.variant == "main") & (metrics.measure == measure) & (metrics.candidates == candidates)]
    if m.value.isna().any():
        raise ValueError(f"{measure} on {candidates}: missing values; rerun the evaluation of those runs")
    per_query = m.groupby(["language", "system", "query_id"])["value"].mean()
    out: Items = {}
    for (lang, system), g in per_query.groupby(level=["language", "system"]):
        values = g.droplevel([0, 1])
        out[(lang, system, SCORE)] = (_mean_of(values.to_numpy()), len(values))
        if system in (registry.BASELINE, RANDOM):
            continue
        direct = _aligned(per_query, lang, system, "queries")
        out[(lang, system, GAIN)] = (_mean_of((values - direct).to_numpy()), len(values))
    return out


def ner_items(ner: pd.DataFrame) -> Items:
    """Per language and system, entity F1 (points, 0–100) over a resample of the test sentences,
    each sentence's counts summed over seeds; and for every system but direct its F1 gain over
    direct on the same resampled sentences."""
    counts = ner.groupby(["language", "system", "sentence"])[COUNTS].sum()
    out: Items = {}
    for (lang, system), g in counts.groupby(level=["language", "system"]):
        c = g.droplevel([0, 1])
        f1 = _f1_of(c.to_numpy(float))
        out[(lang, system, SCORE)] = (f1, len(c))
        if system == registry.BASELINE:
            continue
        f1_direct = _f1_of(_aligned(counts, lang, system, "test sentences").to_numpy(float))
        out[(lang, system, GAIN)] = (lambda idx, a=f1, b=f1_direct: a(idx) - b(idx), len(c))
    return out


def _aligned(table: pd.DataFrame | pd.Series, lang: str, system: str, what: str):
    """Direct transfer's rows of ``lang`` in the order of ``system``'s; an error unless both have
    the same items (a gain over direct is paired)."""
    mine = table.loc[(lang, system)]
    try:
        direct = table.loc[(lang, registry.BASELINE)]
    except KeyError:
        direct = None
    if direct is None or len(direct) != len(mine) or set(direct.index) != set(mine.index):
        raise ValueError(f"{lang}: {system} and {registry.BASELINE} are not scored on the same {what}; "
                         "evaluate both on one candidate list (rerun their evaluation)")
    return direct.loc[mine.index]


def retrieval_effects(metrics: pd.DataFrame, base: str, replicate: str, measure: str, candidates: str,
                      n_resamples: int = 2000, seed: int = 0) -> pd.DataFrame:
    """Per language, system and quantity (score, gain over direct): the mean ``measure``, its
    difference from ``base`` with the unpaired interval, the replicate's difference, the verdict."""
    return _effects("retrieval", retrieval_items(metrics, measure, candidates), base, replicate, n_resamples, seed)


def ner_effects(ner: pd.DataFrame, base: str, replicate: str, n_resamples: int = 2000,
                seed: int = 0) -> pd.DataFrame:
    """As :func:`retrieval_effects` for NER entity F1 (in points, 0–100), English excluded."""
    items = ner_items(ner[ner.language != "en"])
    scaled = {key: (lambda idx, f=f: 100 * f(idx), n) for key, (f, n) in items.items()}
    return _effects("ner", scaled, base, replicate, n_resamples, seed)


def _effects(task: str, items: Items, base: str, replicate: str, n_resamples: int, seed: int) -> pd.DataFrame:
    langs = sorted({lang for lang, _, _ in items})
    if base not in langs or replicate not in langs:
        raise ValueError(f"{task}: the base '{base}' and the replicate '{replicate}' must both be evaluated "
                         f"languages (have {langs}); set them as in config/typology.yaml")
    order = {base: 0, replicate: 1}
    rows = []
    for lang, system, quantity in sorted(items, key=lambda k: (k[2] != SCORE, k[1], order.get(k[0], 2), k[0])):
        stat, n = items[(lang, system, quantity)]
        row = {"task": task, "quantity": quantity, "language": lang, "system": system,
               "value": float(stat(np.arange(n)))}
        if lang != base and (base, system, quantity) in items:
            row["delta"], row["ci_low"], row["ci_high"] = unpaired_ci(stat, n, *items[(base, system, quantity)],
                                                                      n_resamples, seed)
        rows.append(row)
    out = pd.DataFrame(rows).reindex(columns=COLUMNS)
    rep = out[out.language == replicate].set_index(["system", "quantity"])["delta"]
    out["replicate_delta"] = [rep.get((r.system, r.quantity), np.nan) for r in out.itertuples()]
    out["verdict"] = ["base" if r.language == base else "replicate" if r.language == replicate
                      else verdict(r.delta, r.ci_low, r.ci_high, r.replicate_delta) for r in out.itertuples()]
    return out


def _mean_of(values: np.ndarray) -> Statistic:
    return lambda idx: values[idx].mean(axis=-1)


def _f1_of(counts: np.ndarray) -> Statistic:
    """Corpus F1 of the summed (correct, predicted, gold) counts of the indexed sentences."""
    return lambda idx: micro_f1(counts[idx].sum(axis=-2))


def across_worlds(tables: dict[int, pd.DataFrame]) -> pd.DataFrame:
    """One row per task, quantity, language and system: each world's difference from the base and
    verdict, and the conclusion: 'hurts' / 'helps' where every world gives that verdict, else
    'not on every world' (or 'no measured effect' where no world measures one)."""
    keys = ["task", "quantity", "language", "system"]
    wide = None
    for world, t in tables.items():
        part = t[keys + ["delta", "verdict"]].rename(columns={"delta": f"delta_{world}",
                                                             "verdict": f"verdict_{world}"})
        wide = part if wide is None else wide.merge(part, on=keys, how="outer")
    verdicts = wide[[f"verdict_{w}" for w in tables]]

    def conclusion(row: pd.Series) -> str:
        found = set(row.fillna("not comparable"))
        if len(found) == 1:
            return found.pop()
        return "not on every world" if found & {"hurts", "helps"} else "no measured effect"
    return wide.assign(conclusion=verdicts.apply(conclusion, axis=1))
