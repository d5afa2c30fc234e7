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
- Evaluation: entity-level precision / recall / F1 with seqeval; counts are kept per sentence so
  a paired bootstrap over test sentences can compare systems.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch

from optical import io, models
from optical.train.trainer import TrainState, fingerprint
from optical.ner.data import LABELS, read_sentences
from optical.ner.model import encode_words, load_classifier, new_classifier
from optical.errors import InputError

log = logging.getLogger(__name__)


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


def _loop(model, trainable_params, n_items: int, cfg: dict, seed: int, state: TrainState, stage: str, step_loss):
    """A resumable training loop over shuffled batches of ``n_items``; ``step_loss(idx)`` -> loss."""
    opt = torch.optim.AdamW(trainable_params, lr=cfg["lr"], weight_decay=0.01)
    rng = np.random.default_rng(seed)
    loop = state.load(model, opt)
    if loop is None:
        loop = {"step": 0, "order": rng.permutation(n_items), "cursor": 0, "losses": []}
    else:
        rng.bit_generator.state = loop["rng"]
    order, cursor, losses = loop["order"], loop["cursor"], loop["losses"]
    bs = cfg["batch_size"]
    model.train()
    for step in range(loop["step"], cfg["steps"]):
        if cursor + bs > len(order):
            order, cursor = rng.permutation(n_items), 0
        idx = order[cursor:cursor + bs]
        cursor += bs
        loss = step_loss(idx)
        models.train_step(loss, model, opt, stage, step)
        losses.append(loss.item())
        if step % 100 == 0 or step == cfg["steps"] - 1:
            log.info("%s step %d loss %.4f", stage, step, float(np.mean(losses[-100:])))
        state.maybe_save(step + 1, model, opt, {"order": order, "cursor": cursor, "losses": losses,
                                                "rng": rng.bit_generator.state})
    return {"first_loss": float(np.mean(losses[:10])), "final_loss": float(np.mean(losses[-50:]))}


def _save(model, tok, out_dir, state: TrainState, stats: dict) -> dict:
    model.cpu()
    with io.atomic_dir(out_dir) as tmp:
        model.save_pretrained(tmp)
        tok.save_pretrained(tmp)
        io.write_json(tmp / "training.json", stats)
    state.clear()
    return stats


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

    stats = _loop(model, model.parameters(), len(words), cfg, seed, state, "ner_teacher", step_loss)
    return _save(model, tok, out_dir, state, {"system": "teacher", **stats})


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
        batch = [words[i] for i in idx]
        tb = encode_words(t_tok, batch, cfg["max_length"], dev)
        sb = encode_words(s_tok, batch, cfg["max_length"], dev)
        with torch.no_grad():
            t_logits = teacher(input_ids=tb["input_ids"], attention_mask=tb["attention_mask"]).logits
        t_probs = torch.softmax(t_logits / cfg["temperature"], dim=-1)
        # per word: the teacher's distribution at its first sub-word, placed at the student's first sub-word
        target = torch.zeros(*sb["input_ids"].shape, len(LABELS), device=dev)
        mask = torch.zeros_like(sb["first"])
        for b in range(len(batch)):
            t_pos = {int(w): p for p, w in zip(torch.nonzero(tb["first"][b]).flatten().tolist(),
                                                tb["word_index"][b][tb["first"][b].cpu()].tolist())}
            for p, w in zip(torch.nonzero(sb["first"][b]).flatten().tolist(),
                            sb["word_index"][b][sb["first"][b].cpu()].tolist()):
                if int(w) in t_pos:
                    target[b, p] = t_probs[b, t_pos[int(w)]]
                    mask[b, p] = True
        s_logits = student(input_ids=sb["input_ids"], attention_mask=sb["attention_mask"]).logits
        return soft_label_loss(s_logits, target, mask, cfg["loss"])

    stats = _loop(student, student.parameters(), len(words), cfg, seed, state, "ner_student", step_loss)
    return _save(student, s_tok, out_dir, state, {"system": "teacher_student", "loss": cfg["loss"], **stats})


def train_ot_aligned(teacher_dir: str, bitext_path: str, out_dir: str, cfg: dict, ot: dict, seed: int,
                     threads: int = 1, device: str = "auto", state_dir: str | None = None) -> dict:
    """A copy of the NER teacher whose encoder learns, on bitext, to put the foreign sentence's
    token states where the frozen teacher puts the English side's (entropic OT, as OPTICAL does
    with ColBERT vectors); the classifier head stays the teacher's."""
    import copy

    from optical.transport import ot_distill_loss

    dev = models.setup_torch(threads, seed, device)
    table = io.read_parquet(bitext_path, ["src", "tgt"])
    en, xx = table.column("src").to_pylist(), table.column("tgt").to_pylist()
    teacher, tok = load_classifier(teacher_dir)
    teacher.to(dev).eval().requires_grad_(False)
    student = copy.deepcopy(teacher).requires_grad_(True)
    student.classifier.requires_grad_(False)
    encoder = student.base_model
    state = TrainState(state_dir, fingerprint("ner_ot", cfg, ot, seed, files=[teacher_dir, bitext_path]),
                       cfg["checkpoint_every"])

    def states(model, texts):
        b = models.encode_batch(tok, texts, cfg["max_length"], dev)
        h = model.base_model(input_ids=b["input_ids"], attention_mask=b["attention_mask"]).last_hidden_state
        return h, b["content"]

    def step_loss(idx):
        with torch.no_grad():
            tv, t_mask = states(teacher, [en[i] for i in idx])
        sv, s_mask = states(student, [xx[i] for i in idx])
        loss, _ = ot_distill_loss(sv, s_mask, tv, t_mask, ot["reg"], ot["max_iter"], ot["tol"])
        if loss is None:
            raise FloatingPointError(f"no valid OT loss for a batch of {bitext_path}; check the bitext")
        return loss

    stats = _loop(student, [p for p in encoder.parameters()], len(en), cfg, seed, state, "ner_ot", step_loss)
    return _save(student, tok, out_dir, state, {"system": "ot_aligned", **stats})
