"""OPTICAL distillation: align the student's foreign token vectors to the frozen teacher's
English token vectors by entropic optimal transport, on bitext only.

The student starts as a copy of the teacher (BERT + ColBERT projection). Only the student, i.e.
the document encoder, is trained; queries stay with the frozen English teacher at test time.
"""

from __future__ import annotations

import copy
import logging

import numpy as np
import torch

from optical import io, models
from optical.bitext import validate_bitext
from optical.transport import ot_distill_loss

log = logging.getLogger(__name__)


def distill_optical(teacher_dir: str, bitext_path: str, out_dir: str, cfg: dict, seed: int,
                    threads: int = 1, device: str = "auto") -> dict:
    dev = models.setup_torch(threads, seed, device)
    teacher, tok = models.ColBERT.load(teacher_dir, dev)
    teacher.eval()
    for p in teacher.parameters():
        p.requires_grad_(False)
    student = copy.deepcopy(teacher)
    for p in student.parameters():
        p.requires_grad_(True)
    student.train()

    table = io.read_parquet(bitext_path, ["src", "tgt"])
    en, xx = table.column("src").to_pylist(), table.column("tgt").to_pylist()
    validate_bitext(bitext_path, en, xx)
    rng = np.random.default_rng(seed)
    perm = rng.permutation(len(en))
    n_held = min(cfg["heldout_pairs"], len(en) // 5)
    held, train = perm[:n_held], perm[n_held:]
    ot_cfg = cfg["ot"]
    L = cfg["max_length"]

    def batch_loss(idx, model):
        t = models.encode_batch(tok, [en[i] for i in idx], L, dev)
        s = models.encode_batch(tok, [xx[i] for i in idx], L, dev)
        with torch.no_grad():
            tv = teacher(t["input_ids"], t["attention_mask"])
        sv = model(s["input_ids"], s["attention_mask"])
        return ot_distill_loss(sv, s["content"], tv, t["content"], ot_cfg["reg"], ot_cfg["max_iter"], ot_cfg["tol"])

    def heldout_loss():
        if n_held == 0:
            return float("nan")
        student.eval()
        tot, cnt = 0.0, 0
        with torch.no_grad():
            for i in range(0, n_held, cfg["batch_size"]):
                loss, n = batch_loss(held[i:i + cfg["batch_size"]], student)
                if loss is not None:
                    tot, cnt = tot + loss.item() * n, cnt + n
        student.train()
        return tot / max(cnt, 1)

    opt = torch.optim.AdamW(student.parameters(), lr=cfg["lr"], weight_decay=0.01)
    bs = cfg["batch_size"]
    order, cursor = rng.permutation(train), 0
    skipped, losses, curve = 0, [], []
    curve.append((0, heldout_loss()))
    log.info("step 0 heldout_ot_loss %.4f (%d held-out pairs, %d training pairs)", curve[0][1], n_held, len(train))
    for step in range(1, cfg["steps"] + 1):
        if cursor + bs > len(order):
            order, cursor = rng.permutation(train), 0
        idx = order[cursor:cursor + bs]
        cursor += bs
        loss, n = batch_loss(idx, student)
        if loss is None or not torch.isfinite(loss):
            skipped += 1  # all-padding batch or non-finite plan: never train on NaN
            if skipped > max(10, cfg["steps"] // 10):
                raise FloatingPointError(f"{skipped} of {step} distillation batches had no valid OT loss; "
                                         f"check the bitext in {bitext_path} or raise distill.ot.reg")
            continue
        models.train_step(loss, student, opt, "distill", step)
        losses.append(loss.item())
        if step % cfg["eval_every"] == 0 or step == cfg["steps"]:
            curve.append((step, heldout_loss()))
            log.info("step %d train_ot_loss %.4f heldout_ot_loss %.4f skipped %d",
                     step, np.mean(losses[-cfg["eval_every"]:]), curve[-1][1], skipped)
    student.cpu()
    with io.atomic_dir(out_dir) as tmp:
        student.save(tmp, tok)
        io.write_json(tmp / "training.json", {"heldout_curve": curve, "skipped_batches": skipped,
                                              "train_pairs": int(len(train)), "heldout_pairs": int(n_held)})
    return {"heldout_curve": curve, "skipped_batches": skipped}
