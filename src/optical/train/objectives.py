"""The objective of each bitext distillation method, one function per method, named as the method
in :mod:`optical.registry`. Every objective has the same signature:

    objective(batch: PairBatch, cfg) -> (loss or None, valid pairs)

``batch`` holds the (B, L, D) token vectors of the foreign sentences (the student) and of their
English sides (the frozen teacher), their content-token masks, and, where the method needs it, the
true word alignment; ``cfg`` is the method's ``distill`` block (the shared keys plus the method's
``own_keys``). ``None`` means the batch has no valid loss (all padding, a non-finite plan) and is
skipped by the trainer.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from optical.transport import (attention_distill_loss, fixed_distill_loss, gold_distill_loss, ot_distill_loss,
                               sentence_distill_loss)


@dataclass
class PairBatch:
    student: torch.Tensor                 # (B, Ls, D) student vectors of the foreign sides
    student_mask: torch.Tensor            # (B, Ls) content tokens
    teacher: torch.Tensor                 # (B, Lt, D) frozen teacher vectors of the English sides
    teacher_mask: torch.Tensor            # (B, Lt)
    links: torch.Tensor | None = None     # (B, Ls, Lt) true word alignment (synthetic world only)

    @property
    def vectors(self):
        return self.student, self.student_mask, self.teacher, self.teacher_mask


def optical(batch: PairBatch, cfg: dict):
    """OPTICAL: <P, C> with P the entropic OT plan between uniform token marginals."""
    ot = cfg["ot"]
    return ot_distill_loss(*batch.vectors, ot["reg"], ot["max_iter"], ot["tol"])


def token_kd_fixed(batch: PairBatch, cfg: dict):
    """The same <P, C> with a fixed hard alignment (``distill.fixed_alignment``) instead of the plan."""
    return fixed_distill_loss(*batch.vectors, cfg["fixed_alignment"])


def sentence_kd(batch: PairBatch, cfg: dict):
    """Squared L2 between mean-pooled sentence vectors (Reimers & Gurevych 2020)."""
    return sentence_distill_loss(*batch.vectors)


def optical_sentence(batch: PairBatch, cfg: dict):
    """OPTICAL's loss + ``distill.sentence_weight`` x the sentence loss."""
    token, n = optical(batch, cfg)
    sentence, _ = sentence_kd(batch, cfg)
    if token is None or sentence is None:
        return None, 0
    return token + cfg["sentence_weight"] * sentence, n


def token_kd_attention(batch: PairBatch, cfg: dict):
    """<P, C> with P each student token's softmax over teacher tokens at OT's regulariser: what the
    transport constraint adds to OPTICAL's soft alignment."""
    return attention_distill_loss(*batch.vectors, cfg["ot"]["reg"])


def token_kd_gold(batch: PairBatch, cfg: dict):
    """<P, C> with P the generator's true word alignment mapped to sub-words: an upper bound on
    alignment quality (synthetic world only)."""
    return gold_distill_loss(*batch.vectors, batch.links)
