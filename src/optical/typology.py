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

COUNTS = ["correct", "predicted", "gold_entities"]
COLUMNS = ["task", "quantity", "language", "system", "value", "delta", "ci_low", "ci_high", "replicate_delta",
           "verdict"]
Statistic = Callable[[np.ndarray], np.ndarray]  # index arrays (..., n) -> one value per resample


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
    """'hurts' / 'helps' when the interval excludes 0 and |delta| exceeds the replicate's |delta|;
    else 'no measured effect' (the base and its replicate themselves: 'base', 'replicate')."""
    if np.isnan(replicate_delta) or not (low > 0 or high < 0) or abs(delta) <= abs(replicate_delta):
        return "no measured effect"
    return "helps" if delta > 0 else "hurts"


def retrieval_items(metrics: pd.DataFrame, measure: str, candidates: str) -> dict[tuple[str, str], pd.Series]:
    """(language, system) -> per-query ``measure`` on the main runs of ``candidates``, averaged over
    seeds; plus (language, '<system> − direct'): the per-query gain over direct transfer (not for
    random, the floor)."""
    m = metrics[(metrics.variant == "main") & (metrics.measure == measure) & (metrics.candidates == candidates)]
    per_query = m.groupby(["language", "system", "query_id"])["value"].mean()
    out = {key: g.droplevel([0, 1]) for key, g in per_query.groupby(level=["language", "system"])}
    for (lang, system), values in list(out.items()):
        direct = out.get((lang, registry.BASELINE))
        if system not in (registry.BASELINE, "random") and direct is not None:
            out[(lang, f"{system} − direct")] = (values - direct).dropna()
    return out


def retrieval_effects(metrics: pd.DataFrame, base: str, replicate: str, measure: str, candidates: str,
                      n_resamples: int = 2000, seed: int = 0) -> pd.DataFrame:
    """Per language and system (and gain over direct): mean ``measure``, its difference from
    ``base`` with the unpaired interval, the replicate's difference, the verdict."""
    items = retrieval_items(metrics, measure, candidates)
    stat = {key: _mean_of(v.to_numpy()) for key, v in items.items()}
    sizes = {key: len(v) for key, v in items.items()}
    return _effects("retrieval", stat, sizes, base, replicate, n_resamples, seed)


def ner_items(ner: pd.DataFrame) -> dict[tuple[str, str], tuple[Statistic, int]]:
    """(language, system) -> (F1 over a resample of the test sentences, counts summed over seeds
    per sentence; the number of sentences); plus (language, '<system> − direct'): the F1 gain over
    direct transfer on the same resampled sentences."""
    counts = {key: g.groupby("sentence")[COUNTS].sum().sort_index()
              for key, g in ner.groupby(["language", "system"])}
    out = {key: (_f1_of(c.to_numpy(float)), len(c)) for key, c in counts.items()}
    for (lang, system), c in list(counts.items()):
        direct = counts.get((lang, registry.BASELINE))
        if system != registry.BASELINE and direct is not None and direct.index.equals(c.index):
            f_sys, f_dir = _f1_of(c.to_numpy(float)), _f1_of(direct.to_numpy(float))
            out[(lang, f"{system} − direct")] = (lambda idx, a=f_sys, b=f_dir: a(idx) - b(idx), len(c))
    return out


def ner_effects(ner: pd.DataFrame, base: str, replicate: str, n_resamples: int = 2000,
                seed: int = 0) -> pd.DataFrame:
    """As :func:`retrieval_effects` for NER entity F1 (in points, 0–100), English excluded."""
    items = ner_items(ner[ner.language != "en"])
    stat = {key: (lambda idx, f=f: 100 * f(idx)) for key, (f, _) in items.items()}
    sizes = {key: n for key, (_, n) in items.items()}
    return _effects("ner", stat, sizes, base, replicate, n_resamples, seed)


def _effects(task: str, stat: dict, sizes: dict, base: str, replicate: str, n_resamples: int,
             seed: int) -> pd.DataFrame:
    langs = sorted({lang for lang, _ in stat})
    if base not in langs or replicate not in langs:
        raise ValueError(f"{task}: the base '{base}' and the replicate '{replicate}' must both be evaluated "
                         f"languages (have {langs}); set them as in config/typology.yaml")
    rows = []
    for (lang, system) in sorted(stat, key=lambda k: (k[1], k[0] != base, k[0] != replicate, k[0])):
        value = float(stat[(lang, system)](np.arange(sizes[(lang, system)])))
        row = {"task": task, "quantity": "gain over direct" if " − " in system else "score", "language": lang,
               "system": system, "value": value}
        if (base, system) in stat and lang != base:
            row["delta"], row["ci_low"], row["ci_high"] = unpaired_ci(
                stat[(lang, system)], sizes[(lang, system)], stat[(base, system)], sizes[(base, system)],
                n_resamples, seed)
        rows.append(row)
    out = pd.DataFrame(rows).reindex(columns=COLUMNS)
    rep = out[out.language == replicate].set_index("system")["delta"]
    out["replicate_delta"] = out.system.map(rep)
    out["verdict"] = [
        "base" if r.language == base else "replicate" if r.language == replicate
        else verdict(r.delta, r.ci_low, r.ci_high, r.replicate_delta) if not np.isnan(r.delta)
        else "no measured effect" for r in out.itertuples()]
    return out


def _mean_of(values: np.ndarray) -> Statistic:
    return lambda idx: values[idx].mean(axis=-1)


def _f1_of(counts: np.ndarray) -> Statistic:
    """Corpus F1 (2·correct / (predicted + gold)) of the summed counts of the indexed sentences."""
    def f1(idx: np.ndarray) -> np.ndarray:
        c, p, g = np.moveaxis(counts[idx].sum(axis=-2), -1, 0)
        denom = p + g
        return np.divide(2 * c, denom, out=np.zeros_like(c, dtype=float), where=denom > 0)
    return f1
