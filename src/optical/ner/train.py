"""Cross-lingual NER: an English teacher, direct transfer, teacher-student learning, OT alignment.

- Data: PAN-X (WikiANN as in XTREME) files ``<lang>:<token><TAB><tag>`` with blank lines between
  sentences, or the same data through the Hugging Face ``datasets`` library; stored as Parquet
  ``tokens`` / ``tags`` (lists of strings) per language and split.
- Teacher: the multilingual encoder + a linear token classifier, fine-tuned on English ``train``;
  the first sub-word of each word carries the word's label (the others are ignored).
- ``direct``: the teacher applied to the target language.
- ``teacher_student`` (Wu et al., ACL 2020, arXiv 2004.12440): a student initialised from the
  multilingual encoder learns the teacher's label distributions on unlabelled target sentences;
  loss MSE on probabilities (theirs) or KL(teacher || student), ``ner.student.loss``.
- ``ot_aligned`` (new, not in either paper): a copy of the teacher whose encoder is aligned on
  bitext as in OPTICAL (entropic OT between its foreign-sentence token states and the frozen
  teacher's English token states), with the teacher's classifier kept frozen on top.

All three train through :func:`optical.train.trainer.fit` (``ner.<teacher|student|ot>`` blocks).
"""

from __future__ import annotations

import copy
from pathlib import Path

import torch

from optical import io, models
from optical.ner.data import LABELS, read_sentences
from optical.ner.model import encode_words, load_classifier, new_classifier
from optical.train.trainer import EpochSampler, TrainState, fingerprint, fit, finish
from optical.transport import ot_distill_loss, ot_plan_between


def soft_label_loss(student_logits: torch.Tensor, teacher_probs: torch.Tensor, mask: torch.Tensor,
                    kind: str = "mse") -> torch.Tensor:
    """Teacher-student loss over the tokens in ``mask`` (first sub-words): ``mse`` = squared error
    between probability vectors summed over labels (Wu et al. 2020), ``kl`` = KL(teacher || student);
    mean over tokens."""
    if kind not in ("mse", "kl"):
        raise ValueError(f"unknown soft-label loss {kind!r}; choose mse or kl")
    s = student_logits[mask]
    t = teacher_probs[mask]
    if s.numel() == 0:
        return student_logits.sum() * 0.0
    if kind == "mse":
        return ((torch.softmax(s, dim=-1) - t) ** 2).sum(dim=-1).mean()
    return torch.nn.functional.kl_div(torch.log_softmax(s, dim=-1), t, reduction="batchmean")


def teacher_targets(teacher, t_tok, s_tok, sents: list[list[str]], cfg: dict, dev):
    """The teacher's label distribution at each word's first sub-word (its tokenizer), placed at the
    student's first sub-word of the same word (the student's tokenizer): (targets, mask, student batch)."""
    tb = encode_words(t_tok, sents, cfg["max_length"], dev)
    sb = encode_words(s_tok, sents, cfg["max_length"], dev)
    with torch.no_grad():
        t_logits = teacher(input_ids=tb["input_ids"], attention_mask=tb["attention_mask"]).logits
    t_probs = torch.softmax(t_logits / cfg["temperature"], dim=-1)
    target = torch.zeros(*sb["input_ids"].shape, len(LABELS), device=dev)
    mask = torch.zeros_like(sb["first"])
    for b in range(len(sents)):
        t_pos = {int(w): p for p, w in zip(torch.nonzero(tb["first"][b]).flatten().tolist(),
                                            tb["word_index"][b][tb["first"][b].cpu()].tolist())}
        for p, w in zip(torch.nonzero(sb["first"][b]).flatten().tolist(),
                        sb["word_index"][b][sb["first"][b].cpu()].tolist()):
            if int(w) in t_pos:
                target[b, p] = t_probs[b, t_pos[int(w)]]
                mask[b, p] = True
    return target, mask, sb


def train_teacher(encoder_dir: str, train_path: str, out_dir: str, cfg: dict, seed: int, threads: int = 1,
                  device: str = "auto", state_dir: str | None = None) -> dict:
    """Fine-tune the encoder + head on English PAN-X ``train`` (cross-entropy on first sub-words)."""
    dev = models.setup_torch(threads, seed, device)
    words, tags = read_sentences(train_path)
    model, tok = new_classifier(encoder_dir)
    model.to(dev)
    state = TrainState(state_dir, fingerprint("ner_teacher", cfg, seed, files=[encoder_dir, train_path]),
                       cfg["checkpoint_every"])

    def step_loss(idx):
        b = encode_words(tok, [words[i] for i in idx], cfg["max_length"], dev, [tags[i] for i in idx])
        return model(input_ids=b["input_ids"], attention_mask=b["attention_mask"], labels=b["labels"]).loss

    record = fit(model, step_loss, EpochSampler(len(words), seed), cfg, stage="ner_teacher", state=state)
    return finish(model, tok, out_dir, {"system": "teacher", **record}, state)


def train_student(teacher_dir: str, init_dir: str, unlabeled_path: str, out_dir: str, cfg: dict, seed: int,
                  threads: int = 1, device: str = "auto", state_dir: str | None = None) -> dict:
    """Wu et al.'s teacher-student learning: the student (from ``init_dir``: the multilingual encoder,
    or the teacher itself) fits the frozen teacher's label distributions on unlabelled target text."""
    dev = models.setup_torch(threads, seed, device)
    words, _ = read_sentences(unlabeled_path)  # the target tags are never read
    teacher, t_tok = load_classifier(teacher_dir)
    teacher.to(dev).eval().requires_grad_(False)
    if Path(init_dir).resolve() == Path(teacher_dir).resolve():
        student, s_tok = load_classifier(init_dir)
    else:
        student, s_tok = new_classifier(init_dir)
    student.to(dev)
    state = TrainState(state_dir, fingerprint("ner_student", cfg, seed, files=[teacher_dir, init_dir, unlabeled_path]),
                       cfg["checkpoint_every"])

    def step_loss(idx):
        target, mask, sb = teacher_targets(teacher, t_tok, s_tok, [words[i] for i in idx], cfg, dev)
        s_logits = student(input_ids=sb["input_ids"], attention_mask=sb["attention_mask"]).logits
        return soft_label_loss(s_logits, target, mask, cfg["loss"])

    record = fit(student, step_loss, EpochSampler(len(words), seed), cfg, stage="ner_student", state=state)
    return finish(student, s_tok, out_dir, {"system": "teacher_student", "loss": cfg["loss"], **record},
                          state)


def token_states(model, tok, texts: list[str], max_length: int, dev):
    """Last hidden states of a classifier's encoder and the content-token mask."""
    b = models.encode_batch(tok, texts, max_length, dev)
    h = model.base_model(input_ids=b["input_ids"], attention_mask=b["attention_mask"]).last_hidden_state
    return h, b["content"]


OT_OBJECTIVES = ("labels", "states", "cosine")


def ot_alignment_loss(objective: str, sv, s_mask, tv, t_mask, classifier, ot: dict):
    """The OT-aligned encoder's loss on one batch of bitext, under the entropic OT plan P between
    the student's foreign token states and the frozen teacher's English ones (cosine cost):

    - ``cosine``: <P, 1 - cos> (OPTICAL's loss on hidden states). It leaves each state's norm and
      offset free, which the frozen affine classifier on top reads: the first version, kept as a variant;
    - ``states``: <P, squared Euclidean distance>: the states themselves, norm and offset included;
    - ``labels``: the frozen classifier's label distribution at each student token against the
      teacher's distributions transported through P (row-normalised), cross-entropy: what the
      classifier reads, as teacher-student learning (Wu et al.) does, aligned by OT.
    None when the batch has no valid pair or the plan is not finite."""
    if objective == "cosine":
        return ot_distill_loss(sv, s_mask, tv, t_mask, ot["reg"], ot["max_iter"], ot["tol"])[0]
    if objective not in OT_OBJECTIVES:
        raise ValueError(f"unknown OT alignment objective {objective!r}; choose from {OT_OBJECTIVES}")
    plan, valid, a = ot_plan_between(sv, s_mask, tv, t_mask, ot["reg"], ot["max_iter"], ot["tol"])
    if plan is None:
        return None
    s, t, n = sv[valid], tv[valid], int(valid.sum())
    plan = plan.to(s.dtype)
    if objective == "states":
        return (plan * torch.cdist(s, t).pow(2)).sum() / n
    weights = plan / a.to(s.dtype).clamp_min(1e-12)[:, :, None]          # each student token's row sums to 1
    target = weights @ torch.softmax(classifier(t), dim=-1)             # (n, Ls, labels)
    log_p = torch.log_softmax(classifier(s), dim=-1)
    mask = s_mask[valid]
    return -(target * log_p).sum(-1)[mask].mean()


def train_ot_aligned(teacher_dir: str, bitext_path: str, out_dir: str, cfg: dict, ot: dict, objective: str, seed: int,
                     threads: int = 1, device: str = "auto", state_dir: str | None = None) -> dict:
    """A copy of the NER teacher whose encoder learns, on bitext, to put the foreign sentence's
    token states where the frozen teacher puts the English side's, by :func:`ot_alignment_loss`
    with ``objective``; the classifier head stays the teacher's."""
    dev = models.setup_torch(threads, seed, device)
    table = io.read_parquet(bitext_path, ["src", "tgt"])
    en, xx = table.column("src").to_pylist(), table.column("tgt").to_pylist()
    teacher, tok = load_classifier(teacher_dir)
    teacher.to(dev).eval().requires_grad_(False)
    student = copy.deepcopy(teacher).requires_grad_(True)
    student.classifier.requires_grad_(False)
    state = TrainState(state_dir, fingerprint("ner_ot", cfg, ot, objective, seed, files=[teacher_dir, bitext_path]),
                       cfg["checkpoint_every"])

    def step_loss(idx):
        with torch.no_grad():
            tv, t_mask = token_states(teacher, tok, [en[i] for i in idx], cfg["max_length"], dev)
        sv, s_mask = token_states(student, tok, [xx[i] for i in idx], cfg["max_length"], dev)
        return ot_alignment_loss(objective, sv, s_mask, tv, t_mask, student.classifier, ot)

    record = fit(student, step_loss, EpochSampler(len(en), seed), cfg, stage="ner_ot", state=state,
                 params=list(student.base_model.parameters()))
    return finish(student, tok, out_dir, {"system": "ot_aligned", "objective": objective, **record}, state)
