"""Resumable training state, kept outside a rule's declared outputs.

Snakemake deletes the outputs of a failed or killed job, and an output directory is only renamed
into place when training finishes (``io.atomic_dir``), so an interrupted job never leaves
anything that looks complete. To not lose the work done so far, training loops save their
whole state (model, optimiser, data order, every random generator, logged curves) here every few
steps; a retried job with the same fingerprint resumes from it and ends bitwise identical to an
uninterrupted run on CPU. A fingerprint mismatch (other config, other inputs) starts afresh.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import random
import shutil
from pathlib import Path

import numpy as np
import torch

from optical import io

log = logging.getLogger(__name__)

STATE_FILE = "state.pt"


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


class TrainState:
    """Save/restore a training loop's state under ``state_dir`` (``None`` disables it)."""

    def __init__(self, state_dir: str | os.PathLike | None, fingerprint: str, every: int):
        self.dir = Path(state_dir) if state_dir else None
        self.fingerprint = fingerprint
        self.every = every

    def load(self, model: torch.nn.Module, opt: torch.optim.Optimizer) -> dict | None:
        """Restore model, optimiser and random generators; return the loop's extra state."""
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
        torch.set_rng_state(state["torch_rng"])
        np.random.set_state(state["numpy_rng"])
        random.setstate(state["python_rng"])
        log.info("resuming from step %d (state in %s)", state["loop"]["step"], self.dir)
        return state["loop"]

    def maybe_save(self, step: int, model: torch.nn.Module, opt: torch.optim.Optimizer, loop: dict) -> None:
        if self.dir is None or self.every <= 0 or step % self.every != 0:
            return
        state = {"fingerprint": self.fingerprint, "model": model.state_dict(), "optimizer": opt.state_dict(),
                 "torch_rng": torch.get_rng_state(), "numpy_rng": np.random.get_state(),
                 "python_rng": random.getstate(), "loop": dict(loop, step=step)}
        with io.atomic_path(self.dir / STATE_FILE) as tmp:
            torch.save(state, tmp)

    def clear(self) -> None:
        if self.dir is not None and self.dir.exists():
            shutil.rmtree(self.dir, ignore_errors=True)
