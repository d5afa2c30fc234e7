"""Bitext artifacts: Parquet with ``src`` (English, the teacher's side) and ``tgt`` (the
low-resource language, the student's side), validated and sampled to the configured size, and the
one held-out / training split every bitext-trained system uses (distillation methods, NMT).

The synthetic world's bitext also carries its true word alignment: ``src_origin`` / ``tgt_origin``
give, per whitespace word, the position of the concept it expresses (-1: a function word); words of
the two sides with the same origin are translations. Real bitext has no such columns."""

from __future__ import annotations

import numpy as np

from optical import io
from optical.errors import InputError

SPLIT_SEED = 0  # the held-out split is the same for every seed, method and subset
ALIGNMENT = ("src_origin", "tgt_origin")


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


def validate_alignment(path, columns: dict[str, list]) -> None:
    """Each side's origins have one entry per whitespace word of that side's text."""
    for side in ("src", "tgt"):
        for row, (text, o) in enumerate(zip(columns[side], columns[f"{side}_origin"])):
            if o is None or len(o) != len(str(text).split()):
                raise InputError(path, f"row {row}: {side}_origin has {0 if o is None else len(o)} entries for "
                                 f"{len(str(text).split())} words", "regenerate the bitext (make_world)")


def prepare_bitext(in_path: str, out_path: str, pairs: int, seed: int) -> int:
    """Validate ``in_path`` and write a seeded sample of ``pairs`` rows, with the word alignment
    columns where the source has them."""
    table = io.read_parquet(in_path, ["src", "tgt"])
    columns = ["src", "tgt"] + [c for c in ALIGNMENT if c in table.column_names]
    data = {c: table.column(c).to_pylist() for c in columns}
    validate_bitext(in_path, data["src"], data["tgt"])
    if len(columns) == 4:
        validate_alignment(in_path, data)
    if pairs > len(data["src"]):
        raise InputError(in_path, f"has {len(data['src'])} pairs but {pairs} were asked for",
                         "lower languages.<lang>.bitext_pairs or supply more bitext")
    keep = np.sort(np.random.default_rng(seed).choice(len(data["src"]), pairs, replace=False))
    io.write_parquet(out_path, {c: [data[c][i] for i in keep] for c in columns})
    return pairs


def read_alignment(bitext_path) -> tuple[list, list]:
    """The word alignment columns (src_origin, tgt_origin) of a bitext file: the synthetic world's
    only, so a missing column is an error that says so."""
    table = io.read_parquet(bitext_path, ["src", "tgt"])
    if not all(c in table.column_names for c in ALIGNMENT):
        raise InputError(bitext_path, "has no word alignment (src_origin, tgt_origin)",
                         "token_kd_gold needs the synthetic world's bitext; remove it from systems")
    return table.column("src_origin").to_pylist(), table.column("tgt_origin").to_pylist()


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
