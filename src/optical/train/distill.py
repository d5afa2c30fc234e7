"""Teacher-student distillation on bitext only: the student encodes the foreign sentence, the
frozen teacher its English side, and the method's objective pulls the student into the teacher's
vector space. The methods are the registry's ``bitext`` systems; each one's objective is the
function of the same name in :mod:`optical.train.objectives`, and all of them share this trainer,
one budget (``distill.steps`` x ``distill.batch_size``) and one fixed held-out split.

The student starts as a copy of the teacher (BERT + ColBERT projection). Only the student, i.e.
the document encoder, is trained; queries stay with the frozen English teacher at test time.
"""

from __future__ import annotations

import functools
import logging

import torch

from optical import models, registry
from optical.data.bitext import read_split
from optical.train import objectives
from optical.train.trainer import EpochSampler, TrainState, fingerprint, fit, finish

log = logging.getLogger(__name__)

def objective_of(method: str):
    """The objective function of a registered bitext method."""
    if method not in registry.names(registry.BITEXT):
        raise ValueError(f"unknown distillation method {method!r}; choose from {registry.names(registry.BITEXT)}")
    return getattr(objectives, method)


def pair_vectors(student, teacher, tok, en: list[str], xx: list[str], max_length: int, dev):
    """Token vectors of a batch of pairs: (student on the foreign side, its mask, frozen teacher on
    the English side, its mask)."""
    t = models.encode_batch(tok, en, max_length, dev)
    s = models.encode_batch(tok, xx, max_length, dev)
    with torch.no_grad():
        tv = teacher(t["input_ids"], t["attention_mask"])
    sv = student(s["input_ids"], s["attention_mask"])
    return sv, s["content"], tv, t["content"]


def estimate_heldout(method: str, student, teacher, tok, en: list[str], xx: list[str], cfg: dict, dev) -> dict:
    """Held-out values of a student: its method's own objective (mean over pairs) and a
    method-neutral one, translation retrieval P@1: the share of English sentences (teacher, as a
    query) whose best-scoring foreign held-out sentence (student, as a document) is their translation."""
    if not en:
        return {"objective": float("nan"), "translation_p1": float("nan")}
    objective, total, count = objective_of(method), 0.0, 0
    queries, docs = [], []
    for i in range(0, len(en), cfg["batch_size"]):
        sv, s_mask, tv, t_mask = pair_vectors(student, teacher, tok, en[i:i + cfg["batch_size"]],
                                              xx[i:i + cfg["batch_size"]], cfg["max_length"], dev)
        loss, n = objective(sv, s_mask, tv, t_mask, cfg)
        if loss is not None:
            total, count = total + loss.item() * n, count + n
        queries += [v[m] for v, m in zip(tv, t_mask)]
        docs += [v[m] for v, m in zip(sv, s_mask)]
    return {"objective": total / count if count else float("nan"),
            "translation_p1": translation_p_at_1(queries, docs)}


def translation_p_at_1(queries: list[torch.Tensor], docs: list[torch.Tensor], chunk: int = 16) -> float:
    """P@1 of MaxSim retrieval where query i's only relevant document is document i."""
    d, d_mask = models.pad_vectors(docs)
    hits = 0
    for i in range(0, len(queries), chunk):
        q, q_mask = models.pad_vectors(queries[i:i + chunk])
        best = models.maxsim(q, q_mask, d, d_mask).argmax(dim=1)
        hits += int((best == torch.arange(i, i + len(q))).sum())
    return hits / len(queries)


def distill(method: str, teacher_dir: str, bitext_path: str, out_dir: str, cfg: dict, seed: int,
            threads: int = 1, device: str = "auto", train_pairs: int | None = None,
            state_dir: str | None = None) -> dict:
    """Train a student with ``method``; ``train_pairs`` limits training to a prefix subset."""
    objective = objective_of(method)
    dev = models.setup_torch(threads, seed, device)
    teacher, student, tok = models.teacher_and_student(teacher_dir, dev)
    en, xx, held, train = read_split(bitext_path, cfg["heldout_pairs"], train_pairs)
    log.info("%s: %d held-out pairs, %d training pairs", method, len(held), len(train))
    L = cfg["max_length"]

    def step_loss(idx):
        loss, _ = objective(*pair_vectors(student, teacher, tok, [en[i] for i in idx], [xx[i] for i in idx], L, dev),
                            cfg)
        return loss

    estimate = functools.partial(estimate_heldout, method, student, teacher, tok, [en[i] for i in held],
                                 [xx[i] for i in held], cfg, dev)
    state = TrainState(state_dir, fingerprint(method, cfg, seed, train_pairs, files=[teacher_dir, bitext_path]),
                       cfg["checkpoint_every"])
    record = fit(student, step_loss, EpochSampler(train, seed), cfg, stage=f"distill_{method}", state=state,
                 estimate=estimate)
    record.update(method=method, train_pairs=int(len(train)), heldout_pairs=int(len(held)))
    return finish(student, tok, out_dir, record, state)
