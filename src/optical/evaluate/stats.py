"""Paired comparisons of two systems on the same queries (retrieval) or test sentences (NER).

- :func:`paired_test`: per-query values averaged over seeds; paired t-test, sign-flip permutation
  test and percentile-bootstrap CI of the mean difference (scipy).
- :func:`hierarchical_bootstrap`: the two-stage (seeds, then queries) paired bootstrap that puts
  seed variance inside the inference; percentile CI and a two-sided bootstrap p-value.
- :func:`paired_f1_test`: entity F1 of two NER systems, a permutation test over paired test
  sentences (scipy) with a hierarchical-bootstrap CI.
- :func:`holm`, :func:`gap_closed`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping

import numpy as np
from scipy import stats


@dataclass(frozen=True)
class PairedTest:
    n: int
    mean_a: float
    mean_b: float
    delta: float          # mean(a - b)
    t_pvalue: float       # two-sided paired t-test
    perm_pvalue: float    # two-sided paired randomisation (sign-flip) test
    ci_low: float         # bootstrap 95% CI of the mean delta
    ci_high: float


def paired_test(a, b, n_resamples: int = 10000, seed: int = 0) -> PairedTest:
    """Compare per-query values ``a`` (system) and ``b`` (baseline), aligned by query."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(f"paired samples must be 1-d and equally long, got {a.shape} and {b.shape}")
    if len(a) < 2:
        raise ValueError("a paired test needs at least 2 queries")
    d = a - b
    if np.allclose(d, 0):
        t_p = perm_p = 1.0
        lo = hi = 0.0
    else:
        t_p = float(stats.ttest_rel(a, b).pvalue)
        if not np.isfinite(t_p):  # constant non-zero differences: the t statistic is infinite
            t_p = 0.0
        # batch: resamples in blocks, so memory does not grow with queries x resamples (same result)
        perm = stats.permutation_test((d,), np.mean, permutation_type="samples", n_resamples=n_resamples,
                                      alternative="two-sided", batch=1000, rng=np.random.default_rng(seed))
        perm_p = float(perm.pvalue)
        boot = stats.bootstrap((d,), np.mean, n_resamples=n_resamples, confidence_level=0.95,
                               method="percentile", batch=1000, rng=np.random.default_rng(seed))
        lo, hi = float(boot.confidence_interval.low), float(boot.confidence_interval.high)
    return PairedTest(n=len(a), mean_a=float(a.mean()), mean_b=float(b.mean()), delta=float(d.mean()),
                      t_pvalue=t_p, perm_pvalue=perm_p, ci_low=lo, ci_high=hi)


def holm(pvalues) -> np.ndarray:
    """Holm-Bonferroni adjusted p-values (statsmodels), controlling the family-wise error rate."""
    from statsmodels.stats.multitest import multipletests  # slow to import; only the report needs it
    p = np.asarray(pvalues, dtype=float)
    if p.size == 0:
        return p
    return multipletests(p, method="holm")[1]


def gap_closed(system: float, direct: float, oracle: float) -> float:
    """Fraction of the direct-transfer gap to the translate-test ceiling that ``system`` closes:
    (system - direct) / (oracle - direct); NaN when the ceiling does not beat direct."""
    gap = oracle - direct
    return float((system - direct) / gap) if gap > 1e-12 else float("nan")


# --- seeds inside the inference: the hierarchical bootstrap ----------------------------------

PerSeed = Callable[[np.ndarray, int], np.ndarray]


def seed_mean(sums: np.ndarray, n: int) -> np.ndarray:
    """Per-seed statistic of per-query values: the mean over the ``n`` (resampled) queries."""
    return sums[..., 0] / n


def _f1(counts: np.ndarray) -> np.ndarray:
    """Micro F1 from summed (correct, predicted, gold) along the last axis (0 where undefined)."""
    tp, npred, ngold = counts[..., 0], counts[..., 1], counts[..., 2]
    with np.errstate(invalid="ignore", divide="ignore"):
        f = 2 * tp / (npred + ngold)
    return np.where(npred + ngold > 0, f, 0.0)


def seed_f1(sums: np.ndarray, n: int) -> np.ndarray:
    """Per-seed statistic of per-sentence entity counts: corpus F1 from the summed counts."""
    return _f1(sums)


def pair_seeds(a: Mapping[int, np.ndarray], b: Mapping[int, np.ndarray]) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """Stack two systems' per-seed arrays (seed -> values on the same queries) on the seeds they share:
    a seed's runs share that seed's teacher. A system with one run (seed 0: untrained, no teacher of
    its own) pairs with every seed of the other."""
    a, b = dict(a), dict(b)
    if set(a) == {0} and set(b) != {0}:
        a = {s: a[0] for s in b}
    elif set(b) == {0} and set(a) != {0}:
        b = {s: b[0] for s in a}
    seeds = sorted(set(a) & set(b))
    if not seeds:
        raise ValueError(f"no common seed: {sorted(a)} and {sorted(b)}")
    return np.stack([np.asarray(a[s], float) for s in seeds]), np.stack([np.asarray(b[s], float) for s in seeds]), seeds


def _stack(x, what: str) -> np.ndarray:
    """(seeds, N, K) floats from per-seed arrays of N values (K = 1) or of N rows of K counts."""
    x = np.asarray(np.stack([np.asarray(s, dtype=float) for s in x]) if isinstance(x, (list, tuple)) else x,
                   dtype=float)
    x = x[..., None] if x.ndim == 2 else x
    if x.ndim != 3:
        raise ValueError(f"{what} must be (seeds, N) or (seeds, N, K), got shape {x.shape}")
    return x


def _pair(a, b) -> tuple[np.ndarray, np.ndarray]:
    A, B = _stack(a, "a"), _stack(b, "b")
    if A.shape != B.shape:
        raise ValueError(f"paired samples need the same seeds and queries, got {A.shape} and {B.shape}")
    if A.shape[1] < 2:
        raise ValueError("a paired comparison needs at least 2 queries (sentences)")
    return A, B


def bootstrap_pvalue(delta: float, deltas: np.ndarray) -> float:
    """Two-sided bootstrap p-value: 2 × the share of resampled differences on the other side of 0
    from the observed one (0 counts as the other side), with the +1 correction, (k + 1) / (R + 1),
    so that it is never exactly 0; 1 when the observed difference is 0."""
    if delta == 0:
        return 1.0
    other_side = int(np.sum(deltas <= 0)) if delta > 0 else int(np.sum(deltas >= 0))
    return float(min(1.0, 2 * (other_side + 1) / (len(deltas) + 1)))


def _resample_block(A, B, per_seed: PerSeed, m: int, rng_seeds, rng_queries) -> np.ndarray:
    """``m`` resampled differences: S seeds, then N queries, with replacement; one query draw per
    resample, used for every drawn seed and both systems."""
    S, N = A.shape[:2]
    seeds = rng_seeds.integers(0, S, (m, S))
    queries = rng_queries.integers(0, N, (m, N))
    weights = np.bincount((queries + N * np.arange(m)[:, None]).ravel(), minlength=m * N).reshape(m, N)
    weights = weights.astype(float)
    per_a = per_seed(np.einsum("rn,snk->rsk", weights, A), N)     # (m, S): each seed on the drawn queries
    per_b = per_seed(np.einsum("rn,snk->rsk", weights, B), N)
    return np.take_along_axis(per_a - per_b, seeds, axis=1).mean(axis=1)


@dataclass(frozen=True)
class HierarchicalBootstrap:
    n: int                # queries (sentences)
    seeds: int            # paired seeds
    value_a: float        # the statistic of each system: mean over seeds of the per-seed statistic
    value_b: float
    delta: float          # value_a - value_b
    ci_low: float         # 95% percentile interval of the resampled deltas
    ci_high: float
    pvalue: float         # two-sided, see bootstrap_pvalue
    n_resamples: int


def hierarchical_bootstrap(a, b, per_seed: PerSeed = seed_mean, n_resamples: int = 10000, seed: int = 0,
                           block: int = 1000) -> HierarchicalBootstrap:
    """Two-stage paired bootstrap with seeds inside the inference.

    ``a`` and ``b``: per seed, the N per-query values (shape (S, N)) or per-sentence counts
    (S, N, K) of two systems, row s of both from the same seed (their runs share that seed's
    teacher; :func:`pair_seeds` builds the rows, pairing a one-run system with every seed). A
    system's statistic is the mean over seeds of ``per_seed`` (the mean over queries,
    :func:`seed_mean`, or corpus F1 from the summed counts, :func:`seed_f1`); ``delta`` is a's
    minus b's.

    Each of ``n_resamples`` resamples (1) draws S seeds with replacement, then (2) N queries
    (sentences) with replacement. Queries are crossed with seeds (every seed is evaluated on the
    same queries), so one query draw serves every drawn seed; both draws are the same for both
    systems (paired). The resampled delta is the mean over the drawn seeds of the per-seed
    statistic of a minus that of b, each on the drawn queries. The CI is the 2.5 and 97.5
    percentiles of the resampled deltas; the p-value is :func:`bootstrap_pvalue`. With one seed
    this is the paired query bootstrap; when seeds disagree, resampling them widens the interval.
    Seeds are drawn from the first, queries from the second child of ``SeedSequence(seed)``."""
    A, B = _pair(a, b)
    S, N = A.shape[:2]
    value_a, value_b = float(per_seed(A.sum(axis=1), N).mean()), float(per_seed(B.sum(axis=1), N).mean())
    rng_seeds, rng_queries = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2))
    sizes = [min(block, n_resamples - i) for i in range(0, n_resamples, block)]
    deltas = np.concatenate([_resample_block(A, B, per_seed, m, rng_seeds, rng_queries) for m in sizes])
    delta = value_a - value_b
    lo, hi = np.percentile(deltas, [2.5, 97.5])
    return HierarchicalBootstrap(n=N, seeds=S, value_a=value_a, value_b=value_b, delta=delta, ci_low=float(lo),
                                 ci_high=float(hi), pvalue=bootstrap_pvalue(delta, deltas), n_resamples=n_resamples)


# --- NER: entity F1 of two systems on the same test sentences --------------------------------

@dataclass(frozen=True)
class F1Test:
    n: int                # test sentences
    seeds: int            # paired seeds
    f1_a: float           # corpus F1 per seed, mean over seeds
    f1_b: float
    delta: float          # f1_a - f1_b
    ci_low: float         # 95% hierarchical-bootstrap interval (seeds, then sentences)
    ci_high: float
    pvalue: float         # two-sided paired permutation test over sentences (scipy)
    n_resamples: int


def swap_statistic(A: np.ndarray, B: np.ndarray) -> Callable:
    """The statistic of :func:`paired_f1_test` for ``scipy.stats.permutation_test`` over sentence
    indices: sample x holds, per position i, i (a's output on sentence i) or i + N (b's output, when
    the permutation swapped the pair). Returns mean over seeds of corpus F1 of what x points at
    minus the same for y, F1 recomputed from the summed (correct, predicted, gold) counts."""
    n = A.shape[1]
    total_a, total_b, diff = A.sum(axis=1), B.sum(axis=1), B - A

    def statistic(x, y, axis=-1):
        swapped = (np.moveaxis(np.asarray(x), axis, -1) >= n).astype(float)
        moved = np.einsum("...n,snk->...sk", swapped, diff)     # counts that change sides
        return _f1(total_a + moved).mean(axis=-1) - _f1(total_b - moved).mean(axis=-1)

    return statistic


def paired_f1_test(a, b, n_resamples: int = 1000, seed: int = 0) -> F1Test:
    """Entity F1 of NER system ``a`` against ``b``. ``a`` and ``b``: per seed (row s of both from
    the same seed, :func:`pair_seeds`), an (N, 3) array of per-sentence (correct, predicted, gold)
    counts on the same N test sentences.

    Statistic: the difference in corpus F1, F1 recomputed per seed from the summed counts and then
    averaged over seeds (the mean over seeds of per-seed F1, as the report's cells). p-value:
    ``scipy.stats.permutation_test`` with ``permutation_type="samples"`` over the paired sentences;
    a permutation swaps the two systems' outputs on a sentence, in every seed at once (the sentence
    is the exchangeable unit). Exact when 2^N ≤ ``n_resamples``, else randomised with scipy's +1
    correction, so never 0. CI: :func:`hierarchical_bootstrap` with :func:`seed_f1` (seeds, then
    sentences)."""
    A, B = _pair(a, b)
    if A.shape[2] != 3:
        raise ValueError(f"counts must be (seeds, N, 3), got {A.shape}")
    S, N = A.shape[:2]
    boot = hierarchical_bootstrap(A, B, seed_f1, n_resamples=n_resamples, seed=seed)
    if np.array_equal(A, B):
        p = 1.0
    else:
        perm = stats.permutation_test((np.arange(N), np.arange(N) + N), swap_statistic(A, B),
                                      permutation_type="samples", vectorized=True, n_resamples=n_resamples,
                                      alternative="two-sided", batch=500, rng=np.random.default_rng(seed))
        p = float(perm.pvalue)
    return F1Test(n=N, seeds=S, f1_a=boot.value_a, f1_b=boot.value_b, delta=boot.delta, ci_low=boot.ci_low,
                  ci_high=boot.ci_high, pvalue=p, n_resamples=n_resamples)


def paired_bootstrap_f1(a, b, n_resamples: int = 1000, seed: int = 0) -> F1Test:
    """The former name of :func:`paired_f1_test` (kept for its callers): the p-value is now the
    permutation test's, the CI the hierarchical bootstrap's."""
    return paired_f1_test(a, b, n_resamples=n_resamples, seed=seed)
