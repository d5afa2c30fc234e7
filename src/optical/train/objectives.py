"""The objective of each bitext distillation method, one function per method, named as the method
in :mod:`optical.registry`. Every objective has the same signature:

    objective(student, student_mask, teacher, teacher_mask, cfg) -> (loss or None, valid pairs)

``student`` / ``teacher``: (B, L, D) token vectors of the foreign sentences (the student) and of
their English sides (the frozen teacher); the masks mark content tokens; ``cfg``: the method's
``distill`` block (the shared keys plus the method's ``own_keys``). ``None`` means the batch has no
valid loss (all padding, a non-finite plan) and is skipped by the trainer.
"""

from __future__ import annotations

from optical.transport import attention_distill_loss, fixed_distill_loss, ot_distill_loss, sentence_distill_loss


def optical(student, student_mask, teacher, teacher_mask, cfg: dict):
    """OPTICAL: <P, C> with P the entropic OT plan between uniform token marginals."""
    ot = cfg["ot"]
    return ot_distill_loss(student, student_mask, teacher, teacher_mask, ot["reg"], ot["max_iter"], ot["tol"])


def token_kd_fixed(student, student_mask, teacher, teacher_mask, cfg: dict):
    """The same <P, C> with a fixed hard alignment (``distill.fixed_alignment``) instead of the plan."""
    return fixed_distill_loss(student, student_mask, teacher, teacher_mask, cfg["fixed_alignment"])


def sentence_kd(student, student_mask, teacher, teacher_mask, cfg: dict):
    """Squared L2 between mean-pooled sentence vectors (Reimers & Gurevych 2020)."""
    return sentence_distill_loss(student, student_mask, teacher, teacher_mask)


def optical_sentence(student, student_mask, teacher, teacher_mask, cfg: dict):
    """OPTICAL's loss + ``distill.sentence_weight`` x the sentence loss."""
    token, n = optical(student, student_mask, teacher, teacher_mask, cfg)
    sentence, _ = sentence_kd(student, student_mask, teacher, teacher_mask, cfg)
    if token is None or sentence is None:
        return None, 0
    return token + cfg["sentence_weight"] * sentence, n


def token_kd_attention(student, student_mask, teacher, teacher_mask, cfg: dict):
    """<P, C> with P each student token's softmax over teacher tokens at OT's regulariser: what the
    transport constraint adds to OPTICAL's soft alignment."""
    return attention_distill_loss(student, student_mask, teacher, teacher_mask, cfg["ot"]["reg"])
