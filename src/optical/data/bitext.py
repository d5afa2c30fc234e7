"""Bitext artifacts: Parquet with ``src`` (English, the teacher's side) and ``tgt`` (the
low-resource language, the student's side), validated and sampled to the configured size."""

from __future__ import annotations

import numpy as np

from optical import io
from optical.errors import InputError


def validate_bitext(path, src: list, tgt: list) -> None:
    if len(src) != len(tgt):
        raise InputError(path, f"src has {len(src)} rows but tgt has {len(tgt)}", "align the two sides")
    if not src:
        raise InputError(path, "bitext is empty", "supply parallel sentences for this language")
    for row, (s, t) in enumerate(zip(src, tgt)):
        if s is None or not str(s).strip():
            raise InputError(path, f"row {row}: src (English) side is empty", "drop one-sided pairs")
        if t is None or not str(t).strip():
            raise InputError(path, f"row {row}: tgt side is empty", "drop one-sided pairs")


def prepare_bitext(in_path: str, out_path: str, pairs: int, seed: int) -> int:
    """Validate ``in_path`` and write a seeded sample of ``pairs`` rows (all rows if fewer)."""
    table = io.read_parquet(in_path, ["src", "tgt"])
    src, tgt = table.column("src").to_pylist(), table.column("tgt").to_pylist()
    validate_bitext(in_path, src, tgt)
    if pairs > len(src):
        raise InputError(in_path, f"has {len(src)} pairs but {pairs} were asked for",
                         "lower languages.<lang>.bitext_pairs or supply more bitext")
    keep = np.sort(np.random.default_rng(seed).choice(len(src), pairs, replace=False))
    io.write_parquet(out_path, {"src": [src[i] for i in keep], "tgt": [tgt[i] for i in keep]})
    return pairs
