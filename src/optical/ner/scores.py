"""Entity-level scores: per-sentence (correct, predicted, gold) counts with seqeval, and micro P/R/F1."""

from __future__ import annotations

import numpy as np


def sentence_counts(gold: list[list[str]], pred: list[list[str]]) -> np.ndarray:
    """(N, 3) per sentence: correct entities, predicted entities, gold entities, with seqeval's
    entity extraction (its default, conlleval-compatible mode); summing rows gives micro P/R/F1."""
    from seqeval.metrics.sequence_labeling import get_entities
    if len(gold) != len(pred):
        raise ValueError(f"{len(gold)} gold sentences but {len(pred)} predictions")
    out = np.zeros((len(gold), 3), dtype=np.int64)
    for i, (g, p) in enumerate(zip(gold, pred)):
        if len(g) != len(p):
            raise ValueError(f"sentence {i}: {len(g)} gold tags but {len(p)} predicted")
        ge, pe = set(get_entities(g)), set(get_entities(p))
        out[i] = (len(ge & pe), len(pe), len(ge))
    return out


def prf(counts: np.ndarray) -> tuple[float, float, float]:
    """Micro precision, recall, F1 from summed (correct, predicted, gold) counts (0 where undefined,
    as seqeval)."""
    tp, npred, ngold = (float(x) for x in np.asarray(counts).reshape(-1, 3).sum(axis=0))
    p = tp / npred if npred else 0.0
    r = tp / ngold if ngold else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)
