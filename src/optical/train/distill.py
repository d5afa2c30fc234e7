"""Teacher-student distillation on bitext only: the student encodes the foreign sentence, the
frozen teacher its English side, and a loss pulls the student into the teacher's vector space.

Methods (one Snakemake rule each, same budget: ``distill.steps`` x ``distill.batch_size``):

- ``optical``: token vectors aligned by entropic optimal transport, loss <P, C> (OPTICAL);
- ``token_kd_fixed``: the same <P, C> with a fixed hard alignment instead of the OT plan;
- ``sentence_kd``: squared L2 between pooled sentence vectors (Reimers & Gurevych 2020);
- ``optical_sentence``: OPTICAL's loss + ``sentence_weight`` x the sentence loss.

The student starts as a copy of the teacher (BERT + ColBERT projection). Only the student, i.e.
the document encoder, is trained; queries stay with the frozen English teacher at test time.
"""

from __future__ import annotations

import logging

import numpy as np
import torch

from optical import io, models
from optical.bitext import validate_bitext
from optical.checkpoint import TrainState, fingerprint
from optical.errors import InputError
from optical.transport import fixed_distill_loss, ot_distill_loss, sentence_distill_loss

log = logging.getLogger(__name__)

METHODS = ("optical", "token_kd_fixed", "sentence_kd", "optical_sentence")
SPLIT_SEED = 0  # the held-out split is the same for every seed, method and subset


def split_bitext(n_pairs: int, heldout_pairs: int) -> tuple[np.ndarray, np.ndarray]:
    """Fixed held-out / training split. Training subsets are prefixes of the training order, so a
    smaller subset is always contained in a larger one (nested data-efficiency curve)."""
    perm = np.random.default_rng(SPLIT_SEED).permutation(n_pairs)
    n_held = min(heldout_pairs, n_pairs // 5)
    return perm[:n_held], perm[n_held:]


def method_loss(method: str, cfg: dict, sv, s_mask, tv, t_mask):
    """(loss or None, valid pairs) of ``method`` on one batch of student/teacher token vectors."""
    ot = cfg["ot"]
    if method == "optical":
        return ot_distill_loss(sv, s_mask, tv, t_mask, ot["reg"], ot["max_iter"], ot["tol"])
    if method == "token_kd_fixed":
        return fixed_distill_loss(sv, s_mask, tv, t_mask, cfg["fixed_alignment"])
    if method == "sentence_kd":
        return sentence_distill_loss(sv, s_mask, tv, t_mask)
    if method == "optical_sentence":
        tok, n = ot_distill_loss(sv, s_mask, tv, t_mask, ot["reg"], ot["max_iter"], ot["tol"])
        sent, _ = sentence_distill_loss(sv, s_mask, tv, t_mask)
        if tok is None or sent is None:
            return None, 0
        return tok + cfg["sentence_weight"] * sent, n
    raise ValueError(f"unknown distillation method {method!r}; choose from {METHODS}")


def distill(method: str, teacher_dir: str, bitext_path: str, out_dir: str, cfg: dict, seed: int,
            threads: int = 1, device: str = "auto", train_pairs: int | None = None,
            state_dir: str | None = None) -> dict:
    """Train a student with ``method``; ``train_pairs`` limits training to a prefix subset."""
    if method not in METHODS:
        raise ValueError(f"unknown distillation method {method!r}; choose from {METHODS}")
    dev = models.setup_torch(threads, seed, device)
    teacher, student, tok = models.teacher_and_student(teacher_dir, dev)

    table = io.read_parquet(bitext_path, ["src", "tgt"])
    en, xx = table.column("src").to_pylist(), table.column("tgt").to_pylist()
    validate_bitext(bitext_path, en, xx)
    held, train = split_bitext(len(en), cfg["heldout_pairs"])
    if train_pairs is not None:
        if train_pairs > len(train):
            raise InputError(bitext_path, f"{len(train)} training pairs after holding out {len(held)}, but a "
                             f"subset of {train_pairs} was asked for",
                             "lower data_efficiency.bitext_pairs or raise languages.<lang>.bitext_pairs")
        train = train[:train_pairs]
    if len(train) == 0:
        raise InputError(bitext_path, "no training pairs left after the held-out split", "supply more bitext")
    rng = np.random.default_rng(seed)
    L, bs = cfg["max_length"], cfg["batch_size"]

    def vectors(idx, model):
        t = models.encode_batch(tok, [en[i] for i in idx], L, dev)
        s = models.encode_batch(tok, [xx[i] for i in idx], L, dev)
        with torch.no_grad():
            tv = teacher(t["input_ids"], t["attention_mask"])
        sv = model(s["input_ids"], s["attention_mask"])
        return sv, s["content"], tv, t["content"]

    def heldout() -> dict:
        """Held-out OT loss, sentence loss and the method's own objective (means over pairs)."""
        if len(held) == 0:
            return {"ot": float("nan"), "sentence": float("nan"), "objective": float("nan")}
        student.eval()
        sums, cnt = {"ot": 0.0, "sentence": 0.0, "objective": 0.0}, 0
        with torch.no_grad():
            for i in range(0, len(held), bs):
                batch = vectors(held[i:i + bs], student)
                parts = {"ot": method_loss("optical", cfg, *batch), "sentence": method_loss("sentence_kd", cfg, *batch)}
                # the objective of the OT and sentence methods is built from these two; solve no plan twice
                if method == "optical":
                    parts["objective"] = parts["ot"]
                elif method == "sentence_kd":
                    parts["objective"] = parts["sentence"]
                elif method == "optical_sentence" and parts["ot"][0] is not None and parts["sentence"][0] is not None:
                    parts["objective"] = (parts["ot"][0] + cfg["sentence_weight"] * parts["sentence"][0], parts["ot"][1])
                else:
                    parts["objective"] = method_loss(method, cfg, *batch)
                if any(v[0] is None for v in parts.values()):
                    continue
                n = parts["ot"][1]
                cnt += n
                for k, (v, _) in parts.items():
                    sums[k] += v.item() * n
        student.train()
        return {k: v / max(cnt, 1) for k, v in sums.items()}

    opt = torch.optim.AdamW(student.parameters(), lr=cfg["lr"], weight_decay=0.01)
    state = TrainState(state_dir, fingerprint(method, cfg, seed, train_pairs, files=[teacher_dir, bitext_path]),
                       cfg["checkpoint_every"])
    loop = state.load(student, opt)
    if loop is None:
        loop = {"step": 0, "order": rng.permutation(train), "cursor": 0, "skipped": 0, "losses": [],
                "curve": [dict(step=0, **heldout())]}
        log.info("%s: step 0 heldout %s (%d held-out pairs, %d training pairs)", method, loop["curve"][0],
                 len(held), len(train))
    else:
        rng.bit_generator.state = loop["rng"]
    order, cursor, skipped, losses, curve = (loop[k] for k in ("order", "cursor", "skipped", "losses", "curve"))
    for step in range(loop["step"] + 1, cfg["steps"] + 1):
        if cursor + bs > len(order):
            order, cursor = rng.permutation(train), 0
        idx = order[cursor:min(cursor + bs, len(order))]
        cursor += bs
        loss, _ = method_loss(method, cfg, *vectors(idx, student))
        if loss is None or not torch.isfinite(loss):
            skipped += 1  # all-padding batch or non-finite plan: never train on NaN
            log.warning("step %d: batch skipped (no valid loss); %d skipped so far", step, skipped)
            if skipped > max(10, cfg["steps"] // 10):
                raise FloatingPointError(f"{skipped} of {step} distillation batches had no valid loss; "
                                         f"check the bitext in {bitext_path} or raise distill.ot.reg")
        else:
            models.train_step(loss, student, opt, "distill", step)
            losses.append(loss.item())
        if step % cfg["eval_every"] == 0 or step == cfg["steps"]:
            curve.append(dict(step=step, **heldout()))
            log.info("%s: step %d train_loss %.4f heldout %s skipped %d", method, step,
                     np.mean(losses[-cfg["eval_every"]:]) if losses else float("nan"), curve[-1], skipped)
        state.maybe_save(step, student, opt, {"order": order, "cursor": cursor, "skipped": skipped,
                                              "losses": losses, "curve": curve, "rng": rng.bit_generator.state})
    student.cpu()
    summary = {"method": method, "heldout_curve": curve, "skipped_batches": skipped,
               "train_pairs": int(len(train)), "heldout_pairs": int(len(held))}
    with io.atomic_dir(out_dir) as tmp:
        student.save(tmp, tok)
        io.write_json(tmp / "training.json", summary)
    state.clear()
    return summary
