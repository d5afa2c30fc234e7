"""One shared candidate list per language pair, so every system re-ranks the same documents.

Default protocol (WikiCLIR has no first-stage runs and English BM25 cannot match foreign text):
sample ``queries`` test queries that have at least one relevant document, take every judged
document with grade >= 1 (at most ``depth``), fill to ``depth`` with documents drawn uniformly
from the rest of the collection, and shuffle. The list's own order is therefore random; it is
evaluated as the ``random`` reference system.
"""

from __future__ import annotations

import numpy as np

from optical import io
from optical.errors import InputError


def make_candidates(docs_path: str, queries_path: str, qrels_path: str, run_out: str, qrels_out: str,
                    n_queries: int, depth: int, seed: int) -> dict:
    docs = io.read_parquet(docs_path, ["doc_id"]).column("doc_id").to_pylist()
    queries = io.read_parquet(queries_path, ["query_id", "text"])
    qtext = dict(zip(queries.column("query_id").to_pylist(), queries.column("text").to_pylist()))
    qr = io.read_parquet(qrels_path, ["query_id", "doc_id", "relevance"])
    qrels: dict[str, dict[str, int]] = {}
    for q, d, g in zip(*(qr.column(c).to_pylist() for c in ("query_id", "doc_id", "relevance"))):
        qrels.setdefault(q, {})[d] = g
    eligible = sorted(q for q, rel in qrels.items()
                      if any(g >= 1 for g in rel.values()) and qtext.get(q, "").strip())
    if not eligible:
        raise InputError(qrels_path, "no query has a relevant document and non-empty text", "check the collection")
    if depth > len(docs):
        raise InputError(docs_path, f"collection has {len(docs)} documents, fewer than candidates.depth={depth}",
                         "lower candidates.depth")
    rng = np.random.default_rng(seed)
    chosen = sorted(rng.choice(eligible, min(n_queries, len(eligible)), replace=False).tolist())
    doc_index = np.array(docs)
    run, sub_qrels = {}, {}
    for q in chosen:
        rel = qrels[q]
        positives = sorted((d for d, g in rel.items() if g >= 1), key=lambda d: (-rel[d], d))[:depth]
        judged = set(rel)
        pool = [d for d in doc_index[rng.permutation(len(doc_index))] if d not in judged]
        cand = positives + pool[:depth - len(positives)]
        order = rng.permutation(len(cand))
        run[q] = {cand[i]: float(depth - r) for r, i in enumerate(order)}
        sub_qrels[q] = rel
    io.write_trec_run(run_out, run, "candidates")
    io.write_trec_qrels(qrels_out, sub_qrels)
    return {"queries": len(chosen), "depth": depth, "eligible_queries": len(eligible)}
