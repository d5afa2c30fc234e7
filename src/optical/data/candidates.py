"""One shared candidate list per language pair, so every system re-ranks the same documents.

WikiCLIR has no first-stage runs and English BM25 cannot match foreign text, so two protocols
(``candidates.first_stage``):

- ``sampled`` (default): sample ``queries`` test queries that have at least one relevant document,
  take every judged document with grade >= 1 (at most ``depth``), fill to ``depth`` with documents
  drawn uniformly from the rest of the collection, and shuffle. The list's own order is random; it
  is evaluated as the ``random`` reference system.
- ``bm25_translated``: the same query sample, but the candidates are BM25's top ``depth`` over the
  whole collection for the query translated into the document language (bm25s). Relevant
  documents BM25 misses stay missing (recall is the first stage's); the list's order is BM25's.
"""

from __future__ import annotations

import numpy as np

from optical import io
from optical.errors import InputError


def make_candidates(docs_path: str, queries_path: str, qrels_path: str, run_out: str, qrels_out: str,
                    n_queries: int, depth: int, seed: int, first_stage: str = "sampled",
                    translated_queries: dict[str, str] | None = None, bm25: dict | None = None) -> dict:
    docs = io.read_parquet(docs_path, ["doc_id"]).column("doc_id").to_pylist()
    queries = io.read_parquet(queries_path, ["query_id", "text"])
    qtext = dict(zip(queries.column("query_id").to_pylist(), queries.column("text").to_pylist()))
    qr = io.read_parquet(qrels_path, ["query_id", "doc_id", "relevance"])
    qrels: dict[str, dict[str, int]] = {}
    for q, d, g in zip(*(qr.column(c).to_pylist() for c in ("query_id", "doc_id", "relevance"))):
        qrels.setdefault(q, {})[d] = g
    if first_stage not in ("sampled", "bm25_translated"):
        raise ValueError(f"unknown first stage {first_stage!r}")
    if first_stage == "bm25_translated" and translated_queries is None:
        raise ValueError("bm25_translated needs translated queries")
    eligible = sorted(q for q, rel in qrels.items()
                      if any(g >= 1 for g in rel.values()) and qtext.get(q, "").strip()
                      and (translated_queries is None or translated_queries.get(q, "").strip()))
    if not eligible:
        raise InputError(qrels_path, "no query has a relevant document and non-empty text", "check the collection")
    if depth > len(docs):
        raise InputError(docs_path, f"collection has {len(docs)} documents, fewer than candidates.depth={depth}",
                         "lower candidates.depth")
    rng = np.random.default_rng(seed)
    chosen = sorted(rng.choice(eligible, min(n_queries, len(eligible)), replace=False).tolist())
    if first_stage == "bm25_translated":
        run = _bm25_first_stage(docs_path, {q: translated_queries[q] for q in chosen}, depth, **bm25)
        io.write_trec_run(run_out, run, "bm25_first_stage")
        io.write_trec_qrels(qrels_out, {q: qrels[q] for q in chosen})
        found = sum(any(qrels[q].get(d, 0) >= 1 for d in run[q]) for q in chosen)
        return {"queries": len(chosen), "depth": depth, "eligible_queries": len(eligible),
                "first_stage": first_stage, "queries_with_a_relevant_candidate": found}
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


def _bm25_first_stage(docs_path: str, queries: dict[str, str], depth: int, k1: float, b: float) -> dict:
    """BM25 (bm25s, Lucene variant) top ``depth`` over the whole collection per translated query."""
    from optical.evaluate.bm25 import build_index, read_doc_texts, tokenize

    texts = read_doc_texts(docs_path)
    doc_ids = list(texts)
    index = build_index(list(texts.values()), k1, b)
    run = {}
    for q, tokens in zip(queries, tokenize(list(queries.values()))):
        scores = index.get_scores(tokens)
        top = np.argsort(-scores, kind="stable")[:depth]
        run[q] = {doc_ids[i]: float(scores[i]) for i in top}
    return run
