"""Calibrating the synthetic world against a target regime stated in advance (issue 13,
docs/calibration.md): the knob settings of a trial, and what a trial's run says about the regime.

Only the reference systems enter: random, direct transfer, the translate-test ceiling and the NER
teacher. A trial never reads a student's result, so no knob can be chosen on how methods compare.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from optical import registry
from optical.data.synthetic import PIVOT
from optical.evaluate.stats import _f1 as micro_f1  # the NER tests' vectorised F1 of summed counts
from optical.evaluate.stats import gap_closed
from optical.report.tables import COUNTS, ner_table

RANDOM = "random"


def apply_settings(config: dict, settings: list[str]) -> dict:
    """A copy of ``config`` with each ``dotted.key=VALUE`` set (VALUE is YAML); a ``*`` segment
    sets the key under every child, e.g. ``world.languages.*.cognate_share=0.2``."""
    out = copy.deepcopy(config)
    for item in settings:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise ValueError(f"setting {item!r}: write it as dotted.key=VALUE, e.g. world.cased=true")
        _set(out, key.split("."), yaml.safe_load(raw), key)
    return out


def _set(node: dict, path: list[str], value, key: str) -> None:
    head, rest = path[0], path[1:]
    if not isinstance(node, dict):
        raise ValueError(f"setting {key!r}: {head!r} is below a value that is not a mapping")
    targets = list(node) if head == "*" else [head]
    if head == "*" and not targets:
        raise ValueError(f"setting {key!r}: '*' matches nothing")
    for t in targets:
        if not rest:
            node[t] = value
        else:
            if t not in node:
                raise ValueError(f"setting {key!r}: no key {t!r} in the config (check the spelling)")
            _set(node[t], rest, value, key)


@dataclass(frozen=True)
class Target:
    """The regime stated before any calibration run (docs/calibration.md)."""
    share: tuple[float, float] = (0.2, 0.6)        # (direct − random) / (ceiling − random)
    ner_share: tuple[float, float] = (0.3, 0.85)   # direct F1 / English F1
    english_f1: float = 0.70                       # the English NER teacher (issue 13's done-when)


def _shares(means: pd.Series, lang: str) -> list[float]:
    """Per seed of the ceiling: (direct − random) / (ceiling − random), random's one run (seed 0,
    it is untrained) or its run of that seed."""
    out = []
    for (l, system, seed), ceiling in means.items():
        if l != lang or system != registry.ORACLE:
            continue
        floor = means.get((lang, RANDOM, seed), means.get((lang, RANDOM, 0)))
        direct = means.get((lang, registry.BASELINE, seed))
        if floor is not None and direct is not None:
            out.append(gap_closed(direct, floor, ceiling))
    return out


def regime(metrics: pd.DataFrame, ner: pd.DataFrame, resource: dict[str, int], measure: str) -> pd.DataFrame:
    """Per language (in order of ``resource``, its monolingual sentences): random, direct and ceiling
    ``measure`` (mean over seeds of the mean over queries), direct's share of the distance from
    random to the ceiling (mean over seeds of the per-seed share), and NER direct F1 beside the
    English teacher's, as means over seeds."""
    m = metrics[(metrics.variant == "main") & (metrics.measure == measure)]
    per_seed = m.groupby(["language", "system", "seed"])["value"].mean()
    means = per_seed.groupby(["language", "system"]).mean()
    f1 = ner_table(ner).set_index(["language", "system"])["f1"] if len(ner) else pd.Series(dtype=float)
    english = f1.get((PIVOT, registry.BASELINE), float("nan"))
    rows = []
    for lang in sorted(resource, key=resource.get):
        direct_f1 = f1.get((lang, registry.BASELINE), float("nan"))
        shares = _shares(per_seed, lang)
        rows.append({"language": lang, "mono_sentences": resource[lang],
                     "random": means.get((lang, RANDOM)), "direct": means.get((lang, registry.BASELINE)),
                     "ceiling": means.get((lang, registry.ORACLE)),
                     "share": sum(shares) / len(shares) if shares else float("nan"),
                     "english_f1": english, "direct_f1": direct_f1, "ner_share": direct_f1 / english})
    return pd.DataFrame(rows)


def _per_seed_queries(m: pd.DataFrame, system: str, lang: str) -> dict[int, pd.Series]:
    """seed -> per-query values (indexed and sorted by query id) of one system on one language."""
    g = m[(m.language == lang) & (m.system == system)]
    out = {int(s): v.set_index("query_id")["value"].sort_index() for s, v in g.groupby("seed")}
    if any(not v.index.is_unique for v in out.values()):
        raise ValueError(f"{lang} {system}: a query appears twice in a seed's rows; pass the rows of one "
                         "candidate list and one measure")
    return out


def _share_arrays(m: pd.DataFrame, lang: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(random, direct, ceiling) as (seeds, queries) arrays on the ceiling's seeds; random's one
    untrained run (seed 0) serves every seed, as in :func:`_shares`."""
    runs = {s: _per_seed_queries(m, s, lang) for s in (RANDOM, registry.BASELINE, registry.ORACLE)}
    seeds = sorted(set(runs[registry.ORACLE]) & set(runs[registry.BASELINE]))
    if not seeds or not runs[RANDOM]:
        raise ValueError(f"{lang}: random, direct transfer and the ceiling need runs (found seeds {seeds})")
    floor = runs[RANDOM]
    missing = [s for s in seeds if s not in floor and 0 not in floor]
    if missing:
        raise ValueError(f"{lang}: random has no run for seeds {missing} (nor an untrained seed-0 run)")
    picked = [[floor.get(s, floor.get(0)), runs[registry.BASELINE][s], runs[registry.ORACLE][s]] for s in seeds]
    queries = picked[0][2].index
    if any(not x.index.equals(queries) for row in picked for x in row):
        raise ValueError(f"{lang}: random, direct and the ceiling are not on the same queries in every seed; "
                         "rerun their evaluation on one candidate list")
    return tuple(np.stack([row[k].to_numpy(float) for row in picked]) for k in range(3))


def _blocks(n_resamples: int, block: int) -> list[int]:
    return [min(block, n_resamples - i) for i in range(0, n_resamples, block)]


def _draw_weights(rng, size: int, n: int) -> np.ndarray:
    """(size, n): how often each of n items is drawn in each of ``size`` resamples with replacement."""
    return np.stack([np.bincount(row, minlength=n) for row in rng.integers(0, n, (size, n))]).astype(float)


def _interval(point: float, resampled: list[np.ndarray]) -> tuple[float, float, float]:
    """``point`` and the 2.5 and 97.5 percentiles of the resampled values; NaN if any resample is."""
    values = np.concatenate(resampled)
    if np.isnan(values).any():
        return point, float("nan"), float("nan")
    low, high = np.percentile(values, [2.5, 97.5])
    return point, float(low), float(high)


def share_interval(metrics: pd.DataFrame, lang: str, measure: str, n_resamples: int = 10000, seed: int = 0,
                   block: int = 1000) -> tuple[float, float, float]:
    """Direct transfer's share for ``lang`` (as :func:`regime`: the mean over seeds of each seed's
    (direct − random) / (ceiling − random)) and its 95% percentile interval by the report's
    hierarchical bootstrap (``optical.evaluate.stats.hierarchical_bootstrap``): seeds, then queries,
    with replacement, one query draw for the three systems and every drawn seed. ``metrics``: the
    report's per-query rows of one candidate list. The interval is NaN when in some resample the
    ceiling is not above random (the share is undefined there, as in ``gap_closed``)."""
    m = metrics[(metrics.variant == "main") & (metrics.measure == measure)]
    R, D, C = _share_arrays(m, lang)
    S, N = C.shape
    point = float(np.mean([gap_closed(d, r, c) for r, d, c in zip(R.mean(1), D.mean(1), C.mean(1))]))
    rng_seeds, rng_queries = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2))
    shares = []
    for size in _blocks(n_resamples, block):
        weights = _draw_weights(rng_queries, size, N) / N                               # (size, N)
        r, d, c = (weights @ X.T for X in (R, D, C))                                    # (size, S) means
        with np.errstate(invalid="ignore", divide="ignore"):
            per_seed = np.where(c - r > 1e-12, (d - r) / (c - r), np.nan)
        shares.append(np.take_along_axis(per_seed, rng_seeds.integers(0, S, (size, S)), axis=1).mean(1))
    return _interval(point, shares)


def _seed_counts(ner: pd.DataFrame, lang: str) -> dict[int, np.ndarray]:
    """seed -> (sentences, 3) entity counts (correct, predicted, gold) of direct transfer on ``lang``."""
    g = ner[(ner.language == lang) & (ner.system == registry.BASELINE)]
    return {int(s): v.sort_values("sentence")[COUNTS].to_numpy(float) for s, v in g.groupby("seed")}


def ner_share_interval(ner: pd.DataFrame, lang: str, n_resamples: int = 10000, seed: int = 0,
                       block: int = 1000) -> tuple[float, float, float]:
    """NER direct transfer's F1 over the English teacher's for ``lang`` (as :func:`regime`: the mean
    over seeds of corpus F1 on ``lang`` over the same on English) and its 95% percentile interval:
    seeds drawn with replacement (a seed's English and ``lang`` F1 come from one teacher), then each
    language's test sentences drawn with replacement on their own (they are different sentences).
    ``ner``: the report's per-sentence counts."""
    runs = {code: _seed_counts(ner, code) for code in (PIVOT, lang)}
    seeds = sorted(set(runs[PIVOT]) & set(runs[lang]))
    if not seeds:
        raise ValueError(f"{lang}: direct transfer needs NER runs on {PIVOT} and {lang} with a common seed")
    E, L = (np.stack([runs[code][s] for s in seeds]) for code in (PIVOT, lang))   # (S, sentences, 3)
    point = float(micro_f1(L.sum(1)).mean() / micro_f1(E.sum(1)).mean())
    rng_seeds, rng_en, rng_lang = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(3))
    shares = []
    for size in _blocks(n_resamples, block):
        f1 = {name: micro_f1(np.einsum("rn,snk->rsk", _draw_weights(rng, size, X.shape[1]), X))  # (size, S)
              for name, X, rng in (("en", E, rng_en), ("lang", L, rng_lang))}
        drawn = rng_seeds.integers(0, len(seeds), (size, len(seeds)))
        mean_f1 = {k: np.take_along_axis(v, drawn, axis=1).mean(1) for k, v in f1.items()}
        with np.errstate(invalid="ignore", divide="ignore"):
            shares.append(np.where(mean_f1["en"] > 0, mean_f1["lang"] / mean_f1["en"], np.nan))
    return _interval(point, shares)


def run_regime(config: dict, report_dir) -> pd.DataFrame:
    """:func:`regime` of a finished synthetic-world run of ``config`` from its report's Parquet files,
    on the headline candidate list (``candidates.first_stage``), languages in resource order."""
    report_dir = Path(report_dir)
    resource = {c: config["world"]["languages"][c]["mono_sentences"] for c in config["languages"]}
    metrics = pd.read_parquet(report_dir / "metrics.parquet")
    if "candidates" in metrics:
        metrics = metrics[metrics.candidates == config["candidates"]["first_stage"]]
    return regime(metrics, pd.read_parquet(report_dir / "ner_metrics.parquet"), resource,
                  config["evaluation"]["headline_measure"])


def verdict(table: pd.DataFrame, target: Target = Target()) -> dict[str, bool]:
    """Which parts of the target a trial's :func:`regime` table meets (languages in resource order)."""
    def within(v, lo_hi):
        return bool(v.between(*lo_hi).all())
    return {"share in range": within(table.share, target.share),
            "share increases with resource": bool(table.share.is_monotonic_increasing),
            "NER share in range": within(table.ner_share, target.ner_share),
            "NER share increases with resource": bool(table.ner_share.is_monotonic_increasing),
            "English F1": bool((table.english_f1 >= target.english_f1).all())}
