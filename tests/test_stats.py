import numpy as np
import pytest
from scipy import stats

from optical.evaluate.stats import paired_test

A = np.array([0.61, 0.42, 0.88, 0.35, 0.57, 0.73, 0.49, 0.66, 0.52, 0.70])
B = np.array([0.55, 0.40, 0.80, 0.37, 0.50, 0.69, 0.41, 0.60, 0.53, 0.61])


def test_t_test_matches_scipy():
    t = paired_test(A, B)
    assert t.t_pvalue == pytest.approx(stats.ttest_rel(A, B).pvalue)
    assert t.delta == pytest.approx(np.mean(A - B))
    assert (t.mean_a, t.mean_b) == (pytest.approx(A.mean()), pytest.approx(B.mean()))


def test_permutation_and_bootstrap_agree_with_an_exact_computation():
    t = paired_test(A, B, n_resamples=20000)
    # exact sign-flip test over all 2^10 sign patterns
    d = A - B
    signs = np.array(np.meshgrid(*[[-1, 1]] * len(d))).reshape(len(d), -1).T
    null = (signs * d).mean(axis=1)
    exact = np.mean(np.abs(null) >= abs(d.mean()) - 1e-12)
    assert t.perm_pvalue == pytest.approx(exact, abs=0.01)
    assert t.ci_low < t.delta < t.ci_high
    assert t.ci_low > 0  # every resampled mean of these mostly-positive differences stays positive


def test_identical_systems_are_not_different():
    t = paired_test(A, A)
    assert t.delta == 0 and t.t_pvalue == 1.0 and t.perm_pvalue == 1.0


def test_misaligned_samples_are_rejected():
    with pytest.raises(ValueError, match="equally long"):
        paired_test(A, B[:-1])


def test_holm_matches_a_hand_computation():
    from optical.evaluate.stats import holm
    p = np.array([0.01, 0.04, 0.03, 0.005])
    # sorted: 0.005*4=0.02, 0.01*3=0.03, 0.03*2=0.06, 0.04*1=0.04 -> monotone: 0.02, 0.03, 0.06, 0.06
    np.testing.assert_allclose(holm(p), [0.03, 0.06, 0.06, 0.02])
    assert holm([]).size == 0


def test_gap_closed():
    from optical.evaluate.stats import gap_closed
    assert gap_closed(0.5, 0.1, 0.9) == pytest.approx(0.5)
    assert gap_closed(0.1, 0.1, 0.9) == 0.0
    assert np.isnan(gap_closed(0.5, 0.4, 0.4))  # no gap to close
