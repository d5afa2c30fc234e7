"""Token- and sentence-level distillation losses; entropic OT batched with POT (``ot.batch``).

OPTICAL's loss: the Frobenius inner product <P, C> of the transport plan P and the cost
C = 1 - cos(student token, teacher token). P is computed without gradient (log-domain Sinkhorn,
capped iterations); by Danskin's theorem the gradient of the entropic OT value w.r.t. C is P,
so gradients flow to the student only through C.
"""

from __future__ import annotations

import torch

PAD_COST = 1e6  # solver cost on padding: exp(-1e6 / reg) underflows to exactly 0


def token_cost(student: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
    """(B,Ls,D) x (B,Lt,D) -> (B,Ls,Lt) cost 1 - cosine similarity."""
    s = torch.nn.functional.normalize(student, dim=-1)
    t = torch.nn.functional.normalize(teacher, dim=-1)
    return 1.0 - torch.einsum("bid,bjd->bij", s, t)


def uniform_marginals(mask: torch.Tensor) -> torch.Tensor:
    """Uniform mass on the True positions of each row, zero on padding/special tokens."""
    m = mask.to(torch.float64)
    return m / m.sum(dim=-1, keepdim=True).clamp_min(1.0)


def sinkhorn_plan(cost: torch.Tensor, a: torch.Tensor, b: torch.Tensor, reg: float, max_iter: int,
                  tol: float) -> torch.Tensor:
    """Batched log-domain Sinkhorn plan (no gradient). Zero-mass rows/columns get zero plan.

    POT starts the column potentials at 0, so zero-mass (padding) columns would still weigh in
    the first row update and the capped iterations would depend on the padding. A huge solver
    cost on padded entries gives them kernel weight exp(-PAD_COST/reg) = 0 from the start, which
    makes the plan exactly invariant to padding.
    """
    from ot.batch import solve_batch
    with torch.no_grad():
        padded = (a <= 0)[:, :, None] | (b <= 0)[:, None, :]
        c = cost.detach().to(torch.float64).masked_fill(padded, PAD_COST)
        res = solve_batch(c, reg=reg, a=a, b=b, max_iter=max_iter, tol=tol, method="log_sinkhorn", grad="detach")
    return res.plan


def fixed_plan(cost: torch.Tensor, a: torch.Tensor, b: torch.Tensor, alignment: str) -> torch.Tensor:
    """A hard alignment that is *not* solved by transport: each student token sends all its mass
    ``a_i`` to one teacher token. Row marginals equal ``a``; column marginals are not enforced.

    - ``greedy``: the most similar teacher token (argmax cosine, as in SimAlign's argmax);
    - ``position``: the teacher token at the same relative position among content tokens.
    """
    with torch.no_grad():
        valid_t = b > 0
        if alignment == "greedy":
            j = cost.detach().masked_fill(~valid_t[:, None, :], float("inf")).argmin(dim=-1)   # (B, Ls)
        elif alignment == "position":
            rank_s = torch.cumsum((a > 0).long(), dim=-1) - 1                                      # rank among content
            n_s = (a > 0).sum(-1, keepdim=True).clamp_min(1)
            n_t = valid_t.sum(-1, keepdim=True).clamp_min(1)
            target_rank = ((rank_s.clamp_min(0) * 2 + 1) * n_t) // (2 * n_s)                      # centre of the bin
            t_pos = torch.argsort((~valid_t).long(), dim=-1, stable=True)                          # content positions first
            j = torch.gather(t_pos, 1, target_rank.clamp(max=cost.shape[-1] - 1))
        else:
            raise ValueError(f"unknown alignment {alignment!r}; use greedy or position")
        plan = torch.zeros_like(cost, dtype=a.dtype)
        plan.scatter_(2, j[:, :, None], a[:, :, None])
    return plan


def valid_pairs(student_mask: torch.Tensor, teacher_mask: torch.Tensor) -> torch.Tensor:
    """(B,) pairs with at least one content token on both sides: the pairs every loss averages over."""
    return student_mask.any(dim=1) & teacher_mask.any(dim=1)


def token_distill_loss(student: torch.Tensor, student_mask: torch.Tensor, teacher: torch.Tensor,
                       teacher_mask: torch.Tensor, plan_fn):
    """Mean over valid pairs of <P, C>_F with P = ``plan_fn(cost, a, b)`` (computed without gradient).
    Returns (loss or None, number of valid pairs).

    OPTICAL and the fixed-alignment baseline both go through here, so they differ only in P. A
    pair is valid when both sides have at least one content token; a batch with none (or a
    non-finite plan) returns (None, 0) so the caller skips it instead of training on NaN.
    """
    valid = valid_pairs(student_mask, teacher_mask)
    n = int(valid.sum())
    if n == 0:
        return None, 0
    s, t = student[valid], teacher[valid].detach()
    cost = token_cost(s, t)
    plan = plan_fn(cost, uniform_marginals(student_mask[valid]), uniform_marginals(teacher_mask[valid]))
    plan = plan.to(cost.dtype)
    if not torch.isfinite(plan).all() or not torch.isfinite(cost).all():
        return None, 0
    return (plan * cost).sum() / n, n


def ot_distill_loss(student, student_mask, teacher, teacher_mask, reg: float, max_iter: int, tol: float):
    """OPTICAL's loss: <P, C> with P the entropic OT plan between uniform token marginals."""
    return token_distill_loss(student, student_mask, teacher, teacher_mask,
                              lambda c, a, b: sinkhorn_plan(c, a, b, reg, max_iter, tol))


def ot_plan_between(student, student_mask, teacher, teacher_mask, reg: float, max_iter: int, tol: float):
    """The entropic OT plan between the valid pairs' token vectors (cosine cost, uniform marginals), for
    losses that move something else than the cosine cost under it: (plan (n, Ls, Lt), valid (B,), a)."""
    valid = valid_pairs(student_mask, teacher_mask)
    if not valid.any():
        return None, valid, None
    cost = token_cost(student[valid], teacher[valid])
    a = uniform_marginals(student_mask[valid])
    plan = sinkhorn_plan(cost, a, uniform_marginals(teacher_mask[valid]), reg, max_iter, tol)
    return (plan if torch.isfinite(plan).all() else None), valid, a


def fixed_distill_loss(student, student_mask, teacher, teacher_mask, alignment: str):
    """The fixed-alignment baseline's loss: <P, C> with P from :func:`fixed_plan`."""
    return token_distill_loss(student, student_mask, teacher, teacher_mask,
                              lambda c, a, b: fixed_plan(c, a, b, alignment))


def attention_plan(cost: torch.Tensor, a: torch.Tensor, b: torch.Tensor, reg: float) -> torch.Tensor:
    """A soft alignment without the transport constraint: each student token sends its mass ``a_i``
    to the teacher tokens in proportion to softmax_j(-C_ij / reg) over the valid ones. Row sums
    equal ``a``; column sums are free (a teacher token may be used many times or never)."""
    with torch.no_grad():
        logits = (-cost.detach().to(torch.float64) / reg).masked_fill((b <= 0)[:, None, :], float("-inf"))
        rows = torch.nan_to_num(torch.softmax(logits, dim=-1))  # a row with no valid teacher token: 0
    return rows * a[:, :, None]


def attention_distill_loss(student, student_mask, teacher, teacher_mask, reg: float):
    """<P, C> with P from :func:`attention_plan`: what OPTICAL's loss is without the OT constraint."""
    return token_distill_loss(student, student_mask, teacher, teacher_mask,
                              lambda c, a, b: attention_plan(c, a, b, reg))


def gold_plan(links: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    """The true word alignment as a plan: each student token sends its mass ``a_i`` evenly to the
    teacher tokens it is linked to (``links``: (B, Ls, Lt) bool); an unlinked token (a function word
    with no counterpart) sends nothing."""
    links = links.to(a.dtype)
    return links / links.sum(-1, keepdim=True).clamp_min(1.0) * a[:, :, None]


def gold_distill_loss(student, student_mask, teacher, teacher_mask, links: torch.Tensor):
    """<P, C> with P from :func:`gold_plan`: an upper bound on what a better alignment could give."""
    valid = valid_pairs(student_mask, teacher_mask)
    return token_distill_loss(student, student_mask, teacher, teacher_mask, lambda c, a, b: gold_plan(links[valid], a))


def pooled(vectors: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of the content-token vectors: (B, L, D) -> (B, D); zero for a row without content."""
    m = mask.to(vectors.dtype)[:, :, None]
    return (vectors * m).sum(1) / m.sum(1).clamp_min(1.0)


def sentence_distill_loss(student, student_mask, teacher, teacher_mask):
    """Sentence-level KD (Reimers & Gurevych 2020): squared L2 distance between the student's
    pooled vector of the foreign sentence and the teacher's pooled vector of its English side,
    averaged over valid pairs. Returns (loss or None, number of valid pairs)."""
    valid = valid_pairs(student_mask, teacher_mask)
    n = int(valid.sum())
    if n == 0:
        return None, 0
    d = pooled(student[valid], student_mask[valid]) - pooled(teacher[valid].detach(), teacher_mask[valid])
    return (d ** 2).sum(-1).mean(), n
