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
