"""Bitext artifacts: Parquet with ``src`` (English, the teacher's side) and ``tgt`` (the
low-resource language, the student's side), validated and sampled to the configured size, and the
one held-out / training split every bitext-trained system uses (distillation methods, NMT)."""

from __future__ import annotations

import numpy as np

from optical import io
from optical.errors import InputError

SPLIT_SEED = 0  # the held-out split is the same for every seed, method and subset


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


def split_bitext(n_pairs: int, heldout_pairs: int) -> tuple[np.ndarray, np.ndarray]:
    """Fixed held-out / training split. Training subsets are prefixes of the training order, so a
    smaller subset is always contained in a larger one (nested data-efficiency curve)."""
    perm = np.random.default_rng(SPLIT_SEED).permutation(n_pairs)
    n_held = min(heldout_pairs, n_pairs // 5)
    return perm[:n_held], perm[n_held:]


def read_split(bitext_path: str, heldout_pairs: int, train_pairs: int | None):
    """(English sides, foreign sides, held-out indices, training indices) of a bitext file;
    ``train_pairs`` keeps a prefix of the training split (data efficiency)."""
    table = io.read_parquet(bitext_path, ["src", "tgt"])
    en, xx = table.column("src").to_pylist(), table.column("tgt").to_pylist()
    validate_bitext(bitext_path, en, xx)
    held, train = split_bitext(len(en), heldout_pairs)
    if train_pairs is not None:
        if train_pairs > len(train):
            raise InputError(bitext_path, f"{len(train)} training pairs after holding out {len(held)}, but a "
                             f"subset of {train_pairs} was asked for",
                             "lower data_efficiency.bitext_pairs or raise languages.<lang>.bitext_pairs")
        train = train[:train_pairs]
    if len(train) == 0:
        raise InputError(bitext_path, "no training pairs left after the held-out split", "supply more bitext")
    return en, xx, held, train
