"""Entropic optimal transport between token sets, batched with POT (``ot.batch``).

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


def ot_distill_loss(student: torch.Tensor, student_mask: torch.Tensor, teacher: torch.Tensor,
                    teacher_mask: torch.Tensor, reg: float, max_iter: int, tol: float):
    """Mean over valid pairs of <P, C>_F. Returns (loss or None, number of valid pairs).

    A pair is valid when both sides have at least one content token; a batch with none
    returns (None, 0) so the caller can skip it instead of training on NaN.
    """
    valid = student_mask.any(dim=1) & teacher_mask.any(dim=1)
    n = int(valid.sum())
    if n == 0:
        return None, 0
    s, t = student[valid], teacher[valid].detach()
    cost = token_cost(s, t)
    plan = sinkhorn_plan(cost, uniform_marginals(student_mask[valid]), uniform_marginals(teacher_mask[valid]),
                         reg, max_iter, tol).to(cost.dtype)
    if not torch.isfinite(plan).all():
        return None, 0
    return (plan * cost).sum() / n, n
