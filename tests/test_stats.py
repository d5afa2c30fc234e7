import numpy as np
import pytest
from scipy import stats

from optical.evaluate.stats import (bootstrap_pvalue, hierarchical_bootstrap, pair_seeds, paired_f1_test, paired_test,
                                    seed_f1, swap_statistic)

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


# --- the hierarchical bootstrap ---------------------------------------------------------------

RNG = np.random.default_rng(1)
QUERIES = RNG.random(40)


def test_a_system_against_itself_has_a_ci_around_0_and_p_1():
    x = np.stack([QUERIES, QUERIES + 0.1, QUERIES - 0.05])
    h = hierarchical_bootstrap(x, x, n_resamples=500)
    assert h.delta == 0 and h.ci_low <= 0 <= h.ci_high and h.pvalue == 1.0
    assert (h.n, h.seeds) == (40, 3)


def test_a_clear_winner_has_a_small_but_positive_p_and_a_ci_away_from_0():
    a = np.stack([QUERIES + 0.3 + RNG.normal(0, 0.05, 40) for _ in range(3)])
    b = np.stack([QUERIES + RNG.normal(0, 0.05, 40) for _ in range(3)])
    h = hierarchical_bootstrap(a, b, n_resamples=999)
    assert h.delta == pytest.approx((a - b).mean())
    assert h.ci_low > 0 and h.pvalue == pytest.approx(2 / 1000)  # no resample on the other side: (0 + 1) / (R + 1)
    flipped = hierarchical_bootstrap(b, a, n_resamples=999)
    assert flipped.ci_high < 0 and flipped.pvalue == h.pvalue


def test_the_p_value_counts_the_other_side_with_the_plus_one_correction():
    deltas = np.array([-0.1, 0.0, 0.2, 0.3, 0.4])
    assert bootstrap_pvalue(0.25, deltas) == pytest.approx(2 * (2 + 1) / 6)   # -0.1 and 0.0 are not above 0
    assert bootstrap_pvalue(-0.25, deltas) == 1.0                               # capped
    assert bootstrap_pvalue(0.0, deltas) == 1.0


def test_with_one_seed_it_is_the_paired_query_bootstrap():
    a, b = QUERIES + RNG.normal(0.05, 0.1, 40), QUERIES
    h = hierarchical_bootstrap(a[None], b[None], n_resamples=1000, seed=3)
    # the same draws by hand: queries come from the second child of SeedSequence(seed)
    rng = np.random.default_rng(np.random.SeedSequence(3).spawn(2)[1])
    draws = rng.integers(0, 40, (1000, 40))
    deltas = (a - b)[draws].mean(axis=1)
    assert (h.ci_low, h.ci_high) == pytest.approx(tuple(np.percentile(deltas, [2.5, 97.5])))
    assert h.pvalue == pytest.approx(bootstrap_pvalue(h.delta, deltas))
    scipy_ci = stats.bootstrap((a - b,), np.mean, n_resamples=5000, method="percentile",
                               rng=np.random.default_rng(0)).confidence_interval
    assert (h.ci_low, h.ci_high) == pytest.approx((scipy_ci.low, scipy_ci.high), abs=0.01)


def test_resampling_seeds_widens_the_ci_when_seeds_disagree():
    b = np.stack([QUERIES] * 4)
    noise = RNG.normal(0, 0.1, 40)
    agree = b + 0.1 + noise                                             # every seed gains 0.1 on each query
    disagree = b + noise + np.array([-0.1, 0.1, 0.2, 0.2])[:, None]     # the same mean gain, seeds disagree
    one = hierarchical_bootstrap(agree[:1], b[:1], n_resamples=1000)
    same = hierarchical_bootstrap(agree, b, n_resamples=1000)
    wide = hierarchical_bootstrap(disagree, b, n_resamples=1000)
    assert same.delta == pytest.approx(wide.delta)
    assert (same.ci_low, same.ci_high) == pytest.approx((one.ci_low, one.ci_high))  # seeds that agree add nothing
    assert wide.ci_high - wide.ci_low > 2 * (same.ci_high - same.ci_low)
    # a query bootstrap on seed-averaged values does not see the seeds' disagreement
    seed_averaged = stats.bootstrap(((disagree - b).mean(axis=0),), np.mean, method="percentile",
                                    rng=np.random.default_rng(0)).confidence_interval
    assert seed_averaged.high - seed_averaged.low < 0.5 * (wide.ci_high - wide.ci_low)


def test_seeds_are_paired_and_a_one_run_system_pairs_with_every_seed():
    a = {1: np.ones(3), 2: 2 * np.ones(3), 3: 3 * np.ones(3)}
    A, B, seeds = pair_seeds(a, {0: np.zeros(3)})
    assert seeds == [1, 2, 3] and (B == 0).all() and A[:, 0].tolist() == [1, 2, 3]
    A, B, seeds = pair_seeds(a, {2: np.zeros(3), 3: np.zeros(3), 4: np.zeros(3)})
    assert seeds == [2, 3] and A[:, 0].tolist() == [2, 3]
    with pytest.raises(ValueError, match="no common seed"):
        pair_seeds({1: np.ones(3)}, {2: np.ones(3)})
    with pytest.raises(ValueError, match="same seeds and queries"):
        hierarchical_bootstrap(np.ones((2, 5)), np.ones((3, 5)))


# --- NER: permutation test over paired sentences -------------------------------------------------

def _corpus_f1(counts: np.ndarray) -> float:
    tp, npred, ngold = counts.sum(axis=0)
    return 2 * tp / (npred + ngold) if npred + ngold else 0.0


def _exact_swap_p(A: np.ndarray, B: np.ndarray) -> tuple[float, float]:
    """(observed, p) by hand: every subset of sentences swapped in every seed at once."""
    S, N, _ = A.shape
    null = []
    for mask in range(2 ** N):
        swap = np.array([(mask >> i) & 1 for i in range(N)], dtype=bool)[None, :, None]
        a, b = np.where(swap, B, A), np.where(swap, A, B)
        null.append(np.mean([_corpus_f1(a[s]) - _corpus_f1(b[s]) for s in range(S)]))
    null = np.array(null)
    observed = null[0]
    p = min(1.0, 2 * min(np.mean(null >= observed - 1e-12), np.mean(null <= observed + 1e-12)))
    return observed, p


def test_ner_permutation_test_matches_a_hand_computation():
    # (correct, predicted, gold) on 4 sentences, one seed: a gets 5 of 6 entities right, b 1
    A = np.array([[[2, 2, 2], [1, 1, 1], [2, 2, 2], [0, 1, 1]]], dtype=float)
    B = np.array([[[0, 2, 2], [0, 1, 1], [1, 2, 2], [0, 0, 1]]], dtype=float)
    t = paired_f1_test(A, B, n_resamples=1000)
    observed, p = _exact_swap_p(A, B)
    assert t.f1_a == pytest.approx(_corpus_f1(A[0])) and t.f1_b == pytest.approx(_corpus_f1(B[0]))
    assert t.delta == pytest.approx(observed) and t.pvalue == pytest.approx(p)
    # F1 a = 10/12, b = 2/11; of the 16 swaps only "none" and "sentence 4 alone" (a: 10/11, b: 2/12) reach the
    # observed difference: p = 2 × 2/16
    assert t.pvalue == pytest.approx(2 * 2 / 16)
    # two seeds: the statistic is the mean over seeds of per-seed corpus F1, a swap moves both seeds
    A2 = np.concatenate([A, A[:, [1, 0, 3, 2]]])
    B2 = np.concatenate([B, np.array([[[1, 1, 1], [0, 1, 1], [1, 2, 2], [1, 1, 1]]], dtype=float)])
    t2 = paired_f1_test(A2, B2, n_resamples=1000)
    observed2, p2 = _exact_swap_p(A2, B2)
    assert t2.seeds == 2 and t2.delta == pytest.approx(observed2) and t2.pvalue == pytest.approx(p2)


def _gathering_statistic(A: np.ndarray, B: np.ndarray):
    """The same statistic written the plain way: look up each index's counts and sum them."""
    both = np.concatenate([A, B], axis=1)  # (S, 2N, 3): a's sentences, then b's

    def statistic(x, y, axis=-1):
        sums_a = both[:, np.asarray(x)].sum(axis=-2)    # (S, ..., 3)
        sums_b = both[:, np.asarray(y)].sum(axis=-2)
        return (seed_f1(sums_a, 0) - seed_f1(sums_b, 0)).mean(axis=0)

    return statistic


@pytest.mark.parametrize("n, resamples", [(11, 4096), (60, 999)])  # exact (2^11 ≤ 4096), then randomised
def test_ner_permutation_test_matches_scipy_called_directly(n, resamples):
    gold = RNG.integers(0, 3, (2, n))
    A = np.stack([np.minimum(gold, RNG.integers(0, 3, (2, n))), RNG.integers(0, 3, (2, n)), gold], axis=-1)
    B = np.stack([np.minimum(gold, RNG.integers(0, 2, (2, n))), RNG.integers(0, 3, (2, n)), gold], axis=-1)
    A[..., 0], B[..., 0] = np.minimum(A[..., 0], A[..., 1]), np.minimum(B[..., 0], B[..., 1])
    t = paired_f1_test(A, B, n_resamples=resamples, seed=5)
    direct = stats.permutation_test((np.arange(n), np.arange(n) + n), _gathering_statistic(A.astype(float),
                                    B.astype(float)), permutation_type="samples", vectorized=True,
                                    n_resamples=resamples, batch=500, rng=np.random.default_rng(5))
    assert t.delta == pytest.approx(direct.statistic)
    assert t.pvalue == pytest.approx(direct.pvalue) and t.pvalue > 0
    x = np.array([[0, n + 1] + list(range(2, n))])
    assert swap_statistic(A.astype(float), B.astype(float))(x, x)[0] == pytest.approx(
        _gathering_statistic(A.astype(float), B.astype(float))(x, np.where(x >= n, x - n, x + n))[0])


def test_ner_test_of_a_system_against_itself_and_a_clear_winner():
    gold = RNG.integers(1, 3, 200)
    good = np.stack([gold, gold, gold], axis=1)
    bad = np.stack([RNG.integers(0, 2, 200) * (gold > 0), gold, gold], axis=1)
    same = paired_f1_test([good, good], [good, good], n_resamples=200)
    assert same.delta == 0 and same.pvalue == 1.0 and same.ci_low <= 0 <= same.ci_high
    t = paired_f1_test([good, good], [bad, bad], n_resamples=500)
    assert t.f1_a == 1.0 and t.delta > 0.2 and 0 < t.pvalue < 0.01 and t.ci_low > 0
