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
from dataclasses import dataclass

import torch

from optical import models, registry
from optical.data.bitext import read_alignment, read_split
from optical.train import objectives
from optical.train.objectives import PairBatch
from optical.train.trainer import EpochSampler, TrainState, fingerprint, fit, finish

log = logging.getLogger(__name__)


def objective_of(method: str):
    """The objective function of a registered bitext method."""
    if method not in registry.names(registry.BITEXT):
        raise ValueError(f"unknown distillation method {method!r}; choose from {registry.names(registry.BITEXT)}")
    return getattr(objectives, method)


@dataclass
class Pairs:
    """Bitext pairs: English sides, foreign sides and, for methods that need it, the word alignment."""
    en: list[str]
    xx: list[str]
    origins: tuple[list, list] | None = None

    def take(self, idx) -> Pairs:
        origins = None if self.origins is None else tuple([side[i] for i in idx] for side in self.origins)
        return Pairs([self.en[i] for i in idx], [self.xx[i] for i in idx], origins)


def pair_vectors(student, teacher, tok, pairs: Pairs, max_length: int, dev) -> PairBatch:
    """Token vectors of a batch of pairs: the student on the foreign sides, the frozen teacher on the
    English sides; with the pairs' word alignment, also its links."""
    aligned = pairs.origins is not None
    t = models.encode_batch(tok, pairs.en, max_length, dev, word_ids=aligned)
    s = models.encode_batch(tok, pairs.xx, max_length, dev, word_ids=aligned)
    with torch.no_grad():
        tv = teacher(t["input_ids"], t["attention_mask"])
    sv = student(s["input_ids"], s["attention_mask"])
    links = alignment_links(s["word_ids"], t["word_ids"], *pairs.origins).to(dev) if aligned else None
    return PairBatch(sv, s["content"], tv, t["content"], links)


def alignment_links(s_word_ids: list, t_word_ids: list, src_origin: list, tgt_origin: list) -> torch.Tensor:
    """(B, Ls, Lt) bool: student sub-word i is linked to teacher sub-word j when their words express
    the same item (the bitext's ``tgt_origin`` / ``src_origin``); function words link to nothing."""
    B, Ls, Lt = len(s_word_ids), len(s_word_ids[0]), len(t_word_ids[0])
    links = torch.zeros(B, Ls, Lt, dtype=torch.bool)
    for b in range(B):
        by_origin: dict[int, list[int]] = {}
        for j, w in enumerate(t_word_ids[b]):
            if w is not None and w < len(src_origin[b]) and src_origin[b][w] >= 0:
                by_origin.setdefault(src_origin[b][w], []).append(j)
        for i, w in enumerate(s_word_ids[b]):
            if w is not None and w < len(tgt_origin[b]):
                links[b, i, by_origin.get(tgt_origin[b][w], [])] = True
    return links


def estimate_heldout(method: str, student, teacher, tok, held: Pairs, cfg: dict, dev) -> dict:
    """Held-out values of a student: its method's own objective (mean over pairs) and a
    method-neutral one, translation retrieval P@1: the share of English sentences (teacher, as a
    query) whose best-scoring foreign held-out sentence (student, as a document) is their translation."""
    if not held.en:
        return {"objective": float("nan"), "translation_p1": float("nan")}
    objective, total, count = objective_of(method), 0.0, 0
    queries, docs = [], []
    for i in range(0, len(held.en), cfg["batch_size"]):
        batch = pair_vectors(student, teacher, tok, held.take(range(i, min(i + cfg["batch_size"], len(held.en)))),
                             cfg["max_length"], dev)
        loss, n = objective(batch, cfg)
        if loss is not None:
            total, count = total + loss.item() * n, count + n
        queries += [v[m] for v, m in zip(batch.teacher, batch.teacher_mask)]
        docs += [v[m] for v, m in zip(batch.student, batch.student_mask)]
    return {"objective": total / count if count else float("nan"),
            "translation_p1": translation_p_at_1(queries, docs)}


def translation_p_at_1(queries: list[torch.Tensor], docs: list[torch.Tensor], chunk: int = 16) -> float:
    """P@1 of MaxSim retrieval where query i's only relevant document is document i."""
    d, d_mask = models.pad_vectors(docs)
    hits = 0
    for i in range(0, len(queries), chunk):
        q, q_mask = models.pad_vectors(queries[i:i + chunk])
        best = models.maxsim(q, q_mask, d, d_mask).argmax(dim=1)
        hits += int((best == torch.arange(i, i + len(q), device=best.device)).sum())
    return hits / len(queries)


def distill(method: str, teacher_dir: str, bitext_path: str, out_dir: str, cfg: dict, seed: int,
            threads: int = 1, device: str = "auto", train_pairs: int | None = None,
            state_dir: str | None = None) -> dict:
    """Train a student with ``method``; ``train_pairs`` limits training to a prefix subset."""
    objective = objective_of(method)
    dev = models.setup_torch(threads, seed, device)
    teacher, student, tok = models.teacher_and_student(teacher_dir, dev)
    en, xx, held, train = read_split(bitext_path, cfg["heldout_pairs"], train_pairs)
    # the true word alignment is read only by the methods that need it (the synthetic world has it)
    aligned = "gold_alignment" in registry.RETRIEVAL[method].needs
    pairs = Pairs(en, xx, read_alignment(bitext_path) if aligned else None)
    log.info("%s: %d held-out pairs, %d training pairs", method, len(held), len(train))

    def step_loss(idx):
        return objective(pair_vectors(student, teacher, tok, pairs.take(idx), cfg["max_length"], dev), cfg)[0]

    estimate = functools.partial(estimate_heldout, method, student, teacher, tok, pairs.take(held), cfg, dev)
    state = TrainState(state_dir, fingerprint(method, cfg, seed, train_pairs, files=[teacher_dir, bitext_path]),
                       cfg["checkpoint_every"])
    record = fit(student, step_loss, EpochSampler(train, seed), cfg, stage=f"distill_{method}", state=state,
                 estimate=estimate)
    record.update(method=method, train_pairs=int(len(train)), heldout_pairs=int(len(held)))
    return finish(student, tok, out_dir, record, state)
