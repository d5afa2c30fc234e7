"""The one training loop: pretraining, the teacher, every distillation method, translate-train and
the NER trainers all run through :func:`fit`.

A trainer module supplies three things: the trainable model, a ``step_loss(batch)`` function that
returns the batch's loss (or ``None`` when the batch has no valid loss, which is then skipped), and
a batch sampler. Optionally it supplies a held-out evaluation, a top-level function bound with
``functools.partial`` (as ``estimate_loss`` in nanoGPT's ``train.py``). :func:`fit` owns the rest:

- one step numbering: step ``s`` is the number of optimiser steps done; held-out evaluation at step
  0, every ``eval_every`` steps and at the end; logging every ``log_every`` steps;
- the optimiser (AdamW with ``weight_decay``), gradient clipping (``grad_clip``) and the learning-rate
  schedule (constant, or linear warm-up and decay with ``warmup_steps``);
- data order and every random generator (the sampler's, torch's, numpy's and Python's);
- resumable state, kept outside a rule's declared outputs. Snakemake deletes the outputs of a
  failed or killed job, and a model directory is renamed into place only when training finishes
  (:func:`save_model_dir`), so an interrupted job never leaves anything that looks complete. To
  keep the work done so far, :func:`fit` saves its whole state every ``checkpoint_every`` steps; a
  retried job with the same fingerprint resumes from it and ends bitwise identical to an
  uninterrupted run on CPU. A fingerprint mismatch (other config, other inputs) starts afresh.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import random
import shutil
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
import torch

from optical import io, models

log = logging.getLogger(__name__)

STATE_FILE = "state.pt"
TRAINING_FILE = "training.json"
LOG_EVERY = 100
SKIP_LIMIT_SHARE = 0.1  # more skipped batches than this share of the steps (and at least 10) is an error


def fingerprint(*parts, files=()) -> str:
    """Hash of JSON-able ``parts`` plus the name, size and mtime of every file in ``files`` (model
    directories are walked): a retried job sees the same inputs, a rebuilt input looks new."""
    h = hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode())
    for f in files:
        f = Path(f)
        paths = sorted(p for p in f.rglob("*") if p.is_file()) if f.is_dir() else [f]
        for p in paths:
            st = p.stat()
            h.update(f"{p.name}:{st.st_size}:{st.st_mtime_ns}".encode())
    return h.hexdigest()[:16]


# --- data order ----------------------------------------------------------------------------

class EpochSampler:
    """Batches of ``items`` (indices) in shuffled epochs; a new permutation once fewer than a
    batch are left. The generator is seeded by the run's seed and saved with the state."""

    def __init__(self, items: Iterable[int] | int, seed: int):
        self.items = np.arange(items) if isinstance(items, int) else np.asarray(items)
        self.rng = np.random.default_rng(seed)
        self.order = self.rng.permutation(self.items)
        self.cursor = 0

    def next_batch(self, size: int) -> np.ndarray:
        if self.cursor + size > len(self.order):
            self.order, self.cursor = self.rng.permutation(self.items), 0
        batch = self.order[self.cursor:self.cursor + size]
        self.cursor += size
        return batch

    def state_dict(self) -> dict:
        return {"order": self.order, "cursor": self.cursor, "rng": self.rng.bit_generator.state}

    def load_state_dict(self, state: dict) -> None:
        self.order, self.cursor = state["order"], state["cursor"]
        self.rng.bit_generator.state = state["rng"]


# --- resumable state ------------------------------------------------------------------------

class TrainState:
    """Save and restore a run's state under ``state_dir`` (``None`` disables it)."""

    def __init__(self, state_dir: str | os.PathLike | None, fingerprint: str, every: int):
        self.dir = Path(state_dir) if state_dir else None
        self.fingerprint = fingerprint
        self.every = every

    def load(self, model, opt, sched, sampler) -> dict | None:
        """Restore model, optimiser, schedule, sampler and random generators; return the loop's state."""
        if self.dir is None or not (self.dir / STATE_FILE).exists():
            return None
        try:
            state = torch.load(self.dir / STATE_FILE, map_location="cpu", weights_only=False)
        except Exception as e:  # a truncated state file is not worth failing the job for
            log.warning("ignoring unreadable training state %s (%s); starting afresh", self.dir, e)
            return None
        if state.get("fingerprint") != self.fingerprint:
            log.info("training state in %s belongs to another config or input; starting afresh", self.dir)
            return None
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["scheduler"])
        sampler.load_state_dict(state["sampler"])
        torch.set_rng_state(state["torch_rng"])
        if state.get("cuda_rng") is not None and torch.cuda.is_available():  # dropout on the GPU draws from these
            torch.cuda.set_rng_state_all(state["cuda_rng"])
        np.random.set_state(state["numpy_rng"])
        random.setstate(state["python_rng"])
        log.info("resuming from step %d (state in %s)", state["loop"]["step"], self.dir)
        return state["loop"]

    def maybe_save(self, model, opt, sched, sampler, loop: dict) -> None:
        if self.dir is None or self.every <= 0 or loop["step"] % self.every != 0:
            return
        state = {"fingerprint": self.fingerprint, "model": model.state_dict(), "optimizer": opt.state_dict(),
                 "scheduler": sched.state_dict(), "sampler": sampler.state_dict(),
                 "torch_rng": torch.get_rng_state(), "numpy_rng": np.random.get_state(),
                 "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else None,
                 "python_rng": random.getstate(), "loop": loop}
        with io.atomic_path(self.dir / STATE_FILE) as tmp:
            torch.save(state, tmp)

    def clear(self) -> None:
        if self.dir is not None and self.dir.exists():
            shutil.rmtree(self.dir, ignore_errors=True)


def tokenizer_beside_state(state: TrainState, train_tokenizer: Callable[[], object]):
    """The tokenizer ``train_tokenizer()`` makes, kept beside the resumable state: the trainers of
    ``tokenizers`` may break ties in random order, so a resumed run must reuse the vocabulary its
    saved weights were trained with rather than learn a new one."""
    saved = state.dir / "tokenizer" if state.dir is not None else None
    marker = saved / "FINGERPRINT" if saved is not None else None
    if marker is not None and marker.exists() and marker.read_text() == state.fingerprint:
        log.info("reusing the tokenizer of the interrupted run (%s)", saved)
        return models.load_tokenizer(saved)
    tok = train_tokenizer()
    if saved is not None:
        with io.atomic_dir(saved) as tmp:
            tok.save_pretrained(tmp)
            (tmp / "FINGERPRINT").write_text(state.fingerprint)
    return tok


# --- the loop ------------------------------------------------------------------------------

def lr_schedule(opt, cfg: dict):
    """Constant learning rate, or linear warm-up over ``warmup_steps`` then linear decay to 0."""
    total, warmup = cfg["steps"], cfg.get("warmup_steps")
    if warmup is None:
        return torch.optim.lr_scheduler.LambdaLR(opt, lambda step: 1.0)

    def factor(step):
        if step < warmup:
            return (step + 1) / max(1, warmup)
        return max(0.0, (total - step) / max(1, total - warmup))
    return torch.optim.lr_scheduler.LambdaLR(opt, factor)


def without_word_embeddings(model: torch.nn.Module, params: list) -> list:
    """``params`` less the word-embedding matrix of ``model``'s encoder, which stays fixed (no
    gradient is computed for it): the key ``freeze_word_embeddings`` of a training block."""
    encoder = getattr(model, "bert", model)
    if not hasattr(encoder, "get_input_embeddings"):
        raise ValueError(f"{type(model).__name__} has no word embeddings to freeze; drop freeze_word_embeddings")
    weight = encoder.get_input_embeddings().weight
    weight.requires_grad_(False)
    return [p for p in params if p is not weight]


def fit(model: torch.nn.Module, step_loss: Callable, sampler, cfg: dict, *, stage: str, state: TrainState,
        params=None, estimate: Callable[[], dict] | None = None) -> dict:
    """Train ``model`` for ``cfg["steps"]`` optimiser steps and return its training record.

    ``step_loss(batch)`` gets ``sampler.next_batch(cfg["batch_size"])`` and returns a loss tensor,
    ``(loss, {name: float})`` to log more per-step values, or ``None`` to skip the batch.
    ``params``: the trainable parameters (default: all of ``model``'s). ``estimate()``: held-out
    values, recorded in the curve at step 0, every ``cfg["eval_every"]`` steps and at the end.
    """
    params = list(model.parameters() if params is None else params)
    if cfg.get("freeze_word_embeddings"):
        params = without_word_embeddings(model, params)
    opt = torch.optim.AdamW(params, lr=cfg["lr"], weight_decay=cfg["weight_decay"])
    sched = lr_schedule(opt, cfg)
    model.train()
    loop = state.load(model, opt, sched, sampler)
    if loop is None:
        loop = {"step": 0, "history": {"loss": []}, "curve": [], "skipped": 0, "examples": 0}
        _evaluate(estimate, model, loop, stage)
    while loop["step"] < cfg["steps"]:
        batch = sampler.next_batch(cfg["batch_size"])
        _train_step(model, params, opt, step_loss(batch), cfg, stage, loop)
        sched.step()
        loop["step"] += 1
        loop["examples"] += len(batch)
        step, eval_every = loop["step"], cfg.get("eval_every", 0)
        if step == cfg["steps"] or (eval_every and step % eval_every == 0):
            _evaluate(estimate, model, loop, stage)
        if step == 1 or step % LOG_EVERY == 0 or step == cfg["steps"]:
            recent = {k: round(float(np.mean(v[-LOG_EVERY:])), 4) for k, v in loop["history"].items() if v}
            log.info("%s step %d %s skipped %d", stage, step, recent, loop["skipped"])
        state.maybe_save(model, opt, sched, sampler, loop)
    return summary(loop)


def _train_step(model, params, opt, out, cfg: dict, stage: str, loop: dict) -> None:
    """One optimiser step on ``out`` (what ``step_loss`` returned), or a counted skip."""
    loss, extra = out if isinstance(out, tuple) else (out, {})
    step = loop["step"] + 1
    if loss is None:  # e.g. an all-padding batch: never train on it
        loop["skipped"] += 1
        log.warning("%s step %d: batch skipped (no valid loss); %d skipped so far", stage, step, loop["skipped"])
        if loop["skipped"] > max(10, int(SKIP_LIMIT_SHARE * cfg["steps"])):
            raise FloatingPointError(f"{stage}: {loop['skipped']} of {step} batches had no valid loss; "
                                     "check the training data")
        return
    if not torch.isfinite(loss):
        raise FloatingPointError(f"{stage} loss is {loss.item()} at step {step}; lower {stage}.lr")
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(params, cfg["grad_clip"])
    opt.step()
    for name, value in {"loss": loss.item(), **extra}.items():
        loop["history"].setdefault(name, []).append(float(value))


def _evaluate(estimate, model, loop: dict, stage: str) -> None:
    if estimate is None:
        return
    model.eval()
    with torch.no_grad():
        values = estimate()
    model.train()
    loop["curve"].append({"step": loop["step"], **values})
    log.info("%s step %d held-out %s", stage, loop["step"], values)


def summary(loop: dict) -> dict:
    """What ``training.json`` records of a run: steps, examples, skips, first and final values."""
    out = {"steps": loop["step"], "examples_seen": loop["examples"], "skipped_batches": loop["skipped"],
           "heldout_curve": loop["curve"]}
    for name, values in loop["history"].items():
        if values:
            out[f"first_{name}"] = float(np.mean(values[:10]))
            out[f"final_{name}"] = float(np.mean(values[-LOG_EVERY:]))
    return out


def finish(model, tokenizer, out_dir: str | os.PathLike, record: dict, state: TrainState) -> dict:
    """Write the trained model directory with its ``training.json`` (models.save_model_dir), then
    drop the resumable state; returns the record."""
    models.save_model_dir(model, tokenizer, out_dir, {TRAINING_FILE: record})
    state.clear()
    return record
