"""Paired comparisons of two systems on the same queries."""

from __future__ import annotations

from dataclasses import dataclass

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
        perm = stats.permutation_test((d,), np.mean, permutation_type="samples", n_resamples=n_resamples,
                                      alternative="two-sided", rng=np.random.default_rng(seed))
        perm_p = float(perm.pvalue)
        boot = stats.bootstrap((d,), np.mean, n_resamples=n_resamples, confidence_level=0.95,
                               method="percentile", rng=np.random.default_rng(seed))
        lo, hi = float(boot.confidence_interval.low), float(boot.confidence_interval.high)
    return PairedTest(n=len(a), mean_a=float(a.mean()), mean_b=float(b.mean()), delta=float(d.mean()),
                      t_pvalue=t_p, perm_pvalue=perm_p, ci_low=lo, ci_high=hi)


def holm(pvalues) -> np.ndarray:
    """Holm-Bonferroni adjusted p-values (statsmodels), controlling the family-wise error rate."""
    from statsmodels.stats.multitest import multipletests
    p = np.asarray(pvalues, dtype=float)
    if p.size == 0:
        return p
    return multipletests(p, method="holm")[1]


def gap_closed(system: float, direct: float, oracle: float) -> float:
    """Fraction of the direct-transfer gap to the translate-test ceiling that ``system`` closes:
    (system - direct) / (oracle - direct); NaN when the ceiling does not beat direct."""
    gap = oracle - direct
    return float((system - direct) / gap) if gap > 1e-12 else float("nan")


@dataclass(frozen=True)
class BootstrapF1:
    n: int                # test sentences
    f1_a: float           # corpus F1, mean over seeds
    f1_b: float
    delta: float          # f1_a - f1_b
    ci_low: float         # 95% percentile interval of the bootstrap deltas
    ci_high: float
    pvalue: float         # two-sided paired bootstrap p-value


def _f1(counts: np.ndarray) -> np.ndarray:
    """Micro F1 from summed (correct, predicted, gold) along the last axis (0 where undefined)."""
    tp, npred, ngold = counts[..., 0], counts[..., 1], counts[..., 2]
    with np.errstate(invalid="ignore", divide="ignore"):
        f = 2 * tp / (npred + ngold)
    return np.where(npred + ngold > 0, f, 0.0)


def paired_bootstrap_f1(a: list, b: list, n_resamples: int = 1000, seed: int = 0) -> BootstrapF1:
    """Paired bootstrap over test sentences (Koehn 2004; Berg-Kirkpatrick et al. 2012) for
    entity F1. ``a`` and ``b``: per seed, an (N, 3) array of per-sentence (correct, predicted, gold)
    counts on the same N sentences. Each resample draws N sentences with replacement, the same for
    both systems and every seed; F1 is recomputed per seed from the summed counts and averaged over
    seeds. p = 2 × the share of resampled deltas on the other side of zero from the observed one
    (capped at 1)."""
    A = np.stack([np.asarray(x, dtype=float) for x in a])
    B = np.stack([np.asarray(x, dtype=float) for x in b])
    if A.shape[1:] != B.shape[1:] or A.ndim != 3 or A.shape[2] != 3:
        raise ValueError(f"counts must be (seeds, N, 3) on the same sentences, got {A.shape} and {B.shape}")
    n = A.shape[1]
    if n < 2:
        raise ValueError("a bootstrap needs at least 2 sentences")
    f_a, f_b = _f1(A.sum(axis=1)).mean(), _f1(B.sum(axis=1)).mean()
    delta = float(f_a - f_b)
    rng = np.random.default_rng(seed)
    deltas = np.empty(n_resamples)
    for r in range(n_resamples):
        idx = rng.integers(0, n, n)
        deltas[r] = _f1(A[:, idx].sum(axis=1)).mean() - _f1(B[:, idx].sum(axis=1)).mean()
    if delta == 0 and np.allclose(deltas, 0):
        p = 1.0
    else:
        other_side = (deltas <= 0).mean() if delta > 0 else (deltas >= 0).mean()
        p = float(min(1.0, 2 * other_side))
    lo, hi = np.percentile(deltas, [2.5, 97.5])
    return BootstrapF1(n=n, f1_a=float(f_a), f1_b=float(f_b), delta=delta, ci_low=float(lo), ci_high=float(hi),
                       pvalue=p)
