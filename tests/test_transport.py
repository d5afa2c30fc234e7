import numpy as np
import ot
import pytest
import torch
from hypothesis import given, settings, strategies as st

from optical.transport import (attention_distill_loss, attention_plan, fixed_distill_loss, fixed_plan,
                               ot_distill_loss, sentence_distill_loss, sinkhorn_plan, token_cost, uniform_marginals)


def _vectors(b, n, d, seed):
    g = torch.Generator().manual_seed(seed)
    return torch.nn.functional.normalize(torch.randn(b, n, d, generator=g, dtype=torch.float64), dim=-1)


def test_plan_matches_pot_sinkhorn_per_pair():
    s, t = _vectors(3, 5, 8, 0), _vectors(3, 7, 8, 1)
    cost = token_cost(s, t)
    a = uniform_marginals(torch.ones(3, 5, dtype=torch.bool))
    b = uniform_marginals(torch.ones(3, 7, dtype=torch.bool))
    plan = sinkhorn_plan(cost, a, b, reg=0.1, max_iter=2000, tol=1e-10)
    for i in range(3):
        ref = ot.sinkhorn(a[i].numpy(), b[i].numpy(), cost[i].numpy(), reg=0.1, numItermax=20000, stopThr=1e-12)
        np.testing.assert_allclose(plan[i].numpy(), ref, atol=1e-7)


def test_small_reg_loss_approaches_exact_emd():
    s, t = _vectors(2, 4, 6, 2), _vectors(2, 4, 6, 3)
    mask = torch.ones(2, 4, dtype=torch.bool)
    loss, n = ot_distill_loss(s, mask, t, mask, reg=0.005, max_iter=5000, tol=1e-9)
    cost = token_cost(s, t)
    emd = np.mean([ot.emd2(np.full(4, 0.25), np.full(4, 0.25), cost[i].numpy()) for i in range(2)])
    assert n == 2
    assert loss.item() == pytest.approx(emd, abs=0.02)
    assert loss.item() >= emd - 1e-9  # the entropic plan can only cost more than the optimal one


def test_padding_gets_no_mass_and_does_not_change_the_loss():
    s, t = _vectors(1, 4, 8, 4), _vectors(1, 3, 8, 5)
    m_s, m_t = torch.ones(1, 4, dtype=torch.bool), torch.ones(1, 3, dtype=torch.bool)
    base, _ = ot_distill_loss(s, m_s, t, m_t, 0.05, 500, 1e-9)
    # pad both sides with junk vectors that are masked out
    s_pad = torch.cat([s, _vectors(1, 3, 8, 6)], dim=1)
    t_pad = torch.cat([t, _vectors(1, 5, 8, 7)], dim=1)
    ms = torch.cat([m_s, torch.zeros(1, 3, dtype=torch.bool)], dim=1)
    mt = torch.cat([m_t, torch.zeros(1, 5, dtype=torch.bool)], dim=1)
    padded, _ = ot_distill_loss(s_pad, ms, t_pad, mt, 0.05, 500, 1e-9)
    assert padded.item() == pytest.approx(base.item(), abs=1e-12)
    plan = sinkhorn_plan(token_cost(s_pad, t_pad), uniform_marginals(ms), uniform_marginals(mt), 0.05, 500, 1e-9)
    assert torch.all(plan[0, 4:, :] == 0) and torch.all(plan[0, :, 3:] == 0)
    assert plan.sum().item() == pytest.approx(1.0)


def test_gradient_reaches_student_not_teacher():
    student = torch.nn.Linear(8, 8, dtype=torch.float64)
    teacher = torch.nn.Linear(8, 8, dtype=torch.float64).requires_grad_(False)
    x_s, x_t = _vectors(2, 5, 8, 8), _vectors(2, 6, 8, 9)
    mask_s, mask_t = torch.ones(2, 5, dtype=torch.bool), torch.ones(2, 6, dtype=torch.bool)
    mask_s[1, 3:] = False
    loss, n = ot_distill_loss(student(x_s), mask_s, teacher(x_t), mask_t, 0.05, 100, 1e-6)
    loss.backward()
    assert n == 2
    assert student.weight.grad is not None and student.weight.grad.abs().sum() > 0
    assert teacher.weight.grad is None


def test_all_padding_rows_are_dropped_and_an_empty_batch_gives_none():
    s, t = _vectors(2, 3, 4, 10), _vectors(2, 3, 4, 11)
    ms = torch.tensor([[True, True, False], [False, False, False]])
    mt = torch.ones(2, 3, dtype=torch.bool)
    loss, n = ot_distill_loss(s, ms, t, mt, 0.05, 100, 1e-6)
    assert n == 1 and torch.isfinite(loss)
    loss, n = ot_distill_loss(s, torch.zeros_like(ms), t, mt, 0.05, 100, 1e-6)
    assert loss is None and n == 0


@settings(max_examples=30, deadline=None)
@given(ls=st.integers(1, 6), lt=st.integers(1, 6), pad_s=st.integers(0, 4), pad_t=st.integers(0, 4),
       seed=st.integers(0, 10_000))
def test_ot_loss_properties(ls, lt, pad_s, pad_t, seed):
    s, t = _vectors(1, ls, 6, seed), _vectors(1, lt, 6, seed + 1)
    ones_s, ones_t = torch.ones(1, ls, dtype=torch.bool), torch.ones(1, lt, dtype=torch.bool)
    loss, _ = ot_distill_loss(s, ones_s, t, ones_t, 0.05, 200, 1e-9)
    assert loss.item() >= -1e-9  # cost 1 - cos >= 0 and the plan is non-negative
    same, _ = ot_distill_loss(t, ones_t, t, ones_t, 0.01, 2000, 1e-12)
    assert same.item() == pytest.approx(0.0, abs=0.02)  # student == teacher on identical tokens
    s_pad = torch.cat([s, _vectors(1, pad_s, 6, seed + 2)], dim=1)
    t_pad = torch.cat([t, _vectors(1, pad_t, 6, seed + 3)], dim=1)
    ms = torch.cat([ones_s, torch.zeros(1, pad_s, dtype=torch.bool)], dim=1)
    mt = torch.cat([ones_t, torch.zeros(1, pad_t, dtype=torch.bool)], dim=1)
    padded, _ = ot_distill_loss(s_pad, ms, t_pad, mt, 0.05, 200, 1e-9)
    assert padded.item() == pytest.approx(loss.item(), abs=1e-12)  # same iterations, same plan


def test_fixed_plans_put_each_student_tokens_mass_on_one_content_token():
    s, t = _vectors(2, 5, 6, 20), _vectors(2, 7, 6, 21)
    ms = torch.tensor([[0, 1, 1, 1, 0], [0, 1, 1, 0, 0]]).bool()
    mt = torch.tensor([[0, 1, 1, 1, 1, 1, 0], [0, 1, 1, 1, 0, 0, 0]]).bool()
    a, b = uniform_marginals(ms), uniform_marginals(mt)
    cost = token_cost(s, t)
    for alignment in ("greedy", "position"):
        plan = fixed_plan(cost, a, b, alignment)
        torch.testing.assert_close(plan.sum(-1), a)                    # row marginals kept
        assert torch.all(plan[~mt[:, None, :].expand_as(plan)] == 0)   # never onto padding
        assert torch.all((plan > 0).sum(-1) == ms.long())              # one target per content token
    # position: student content ranks spread evenly over the teacher's content tokens
    plan = fixed_plan(cost, a, b, "position")
    assert plan[0].nonzero()[:, 1].tolist() == [1, 3, 5] and plan[1].nonzero()[:, 1].tolist() == [1, 3]
    greedy = fixed_plan(cost, a, b, "greedy")
    masked = cost.masked_fill(~mt[:, None, :], float("inf"))
    assert torch.equal(greedy[0, 1:4].argmax(-1), masked[0, 1:4].argmin(-1))


def test_attention_plan_rows_sum_to_the_row_mass_and_columns_are_free():
    s, t = _vectors(2, 5, 6, 40), _vectors(2, 7, 6, 41)
    ms = torch.tensor([[0, 1, 1, 1, 0], [0, 1, 1, 0, 0]]).bool()
    mt = torch.tensor([[0, 1, 1, 1, 1, 1, 0], [0, 1, 1, 1, 0, 0, 0]]).bool()
    a, b = uniform_marginals(ms), uniform_marginals(mt)
    cost = token_cost(s, t)
    plan = attention_plan(cost, a, b, 0.1)
    torch.testing.assert_close(plan.sum(-1), a)                    # rows: the student token's mass
    assert torch.all(plan[~mt[:, None, :].expand_as(plan)] == 0)   # never onto padding
    assert not torch.allclose(plan.sum(-2)[mt], b[mt])             # columns: not the teacher's marginal
    # a row is the softmax of -C / reg over the valid teacher tokens, scaled by its mass
    expected = torch.softmax(-cost[0, 2, 1:6] / 0.1, dim=-1) * a[0, 2]
    torch.testing.assert_close(plan[0, 2, 1:6], expected)
    # a tiny regulariser becomes the greedy (argmax) alignment
    torch.testing.assert_close(attention_plan(cost, a, b, 1e-6), fixed_plan(cost, a, b, "greedy"))


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 6), pad_s=st.integers(0, 3), pad_t=st.integers(0, 3), seed=st.integers(0, 10_000))
def test_attention_loss_is_non_negative_and_padding_invariant(n, pad_s, pad_t, seed):
    s, t = _vectors(1, n, 6, seed), _vectors(1, n, 6, seed + 1)
    ones = torch.ones(1, n, dtype=torch.bool)
    loss, _ = attention_distill_loss(s, ones, t, ones, 0.05)
    assert loss.item() >= -1e-12
    s_pad = torch.cat([s, _vectors(1, pad_s, 6, seed + 2)], dim=1)
    t_pad = torch.cat([t, _vectors(1, pad_t, 6, seed + 3)], dim=1)
    ms = torch.cat([ones, torch.zeros(1, pad_s, dtype=torch.bool)], dim=1)
    mt = torch.cat([ones, torch.zeros(1, pad_t, dtype=torch.bool)], dim=1)
    padded, _ = attention_distill_loss(s_pad, ms, t_pad, mt, 0.05)
    assert padded.item() == pytest.approx(loss.item(), abs=1e-12)


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 6), pad_s=st.integers(0, 3), pad_t=st.integers(0, 3), seed=st.integers(0, 10_000),
       alignment=st.sampled_from(["greedy", "position"]))
def test_fixed_and_sentence_losses_properties(n, pad_s, pad_t, seed, alignment):
    s, t = _vectors(1, n, 6, seed), _vectors(1, n, 6, seed + 1)
    ones = torch.ones(1, n, dtype=torch.bool)
    for loss_fn in (lambda *x: fixed_distill_loss(*x, alignment), sentence_distill_loss):
        loss, _ = loss_fn(s, ones, t, ones)
        assert loss.item() >= -1e-12
        same, _ = loss_fn(t, ones, t, ones)
        assert same.item() == pytest.approx(0.0, abs=1e-9)  # student == teacher on identical tokens
        s_pad = torch.cat([s, _vectors(1, pad_s, 6, seed + 2)], dim=1)
        t_pad = torch.cat([t, _vectors(1, pad_t, 6, seed + 3)], dim=1)
        ms = torch.cat([ones, torch.zeros(1, pad_s, dtype=torch.bool)], dim=1)
        mt = torch.cat([ones, torch.zeros(1, pad_t, dtype=torch.bool)], dim=1)
        padded, _ = loss_fn(s_pad, ms, t_pad, mt)
        assert padded.item() == pytest.approx(loss.item(), abs=1e-12)


def test_zero_norm_vectors_and_empty_batches_never_give_nan():
    s, t = torch.zeros(2, 4, 6, dtype=torch.float64), _vectors(2, 4, 6, 30)  # a dead student: all-zero vectors
    ones = torch.ones(2, 4, dtype=torch.bool)
    for loss_fn in (lambda *x: ot_distill_loss(*x, 0.05, 50, 1e-4), lambda *x: fixed_distill_loss(*x, "greedy"),
                    sentence_distill_loss):
        loss, n = loss_fn(s, ones, t, ones)
        assert n == 2 and torch.isfinite(loss)
        loss, n = loss_fn(s, torch.zeros_like(ones), t, ones)
        assert loss is None and n == 0


def test_tiny_regulariser_does_not_give_nan():
    s, t = _vectors(2, 6, 8, 40), _vectors(2, 6, 8, 41)
    ones = torch.ones(2, 6, dtype=torch.bool)
    loss, n = ot_distill_loss(s, ones, t, ones, 1e-4, 50, 1e-9)  # kernel exp(-C/reg) underflows outside log domain
    assert n == 2 and torch.isfinite(loss) and loss.item() >= 0
