"""Shared candidate lists per language pair, so every system re-ranks the same documents.

WikiCLIR has no first-stage runs and English BM25 cannot match foreign text, so the candidate
lists come from one of these first stages (``candidates.first_stage`` is the headline list,
``candidates.other_lists`` are re-ranked and reported too):

- ``sampled``: every judged document with grade >= 1 (at most ``depth``), filled to ``depth`` with
  documents drawn uniformly from the rest of the collection, shuffled. Oracle recall: it measures
  re-ranking alone. The list's own order is random; it is evaluated as the ``random`` reference.
- ``bm25_translated``: BM25's top ``depth`` over the whole collection for the query translated into
  the document language (gold or supplied translations; bm25s). Relevant documents BM25 misses stay
  missed; the list's order is BM25's.
- ``bm25_nmt``: the same with queries translated by the NMT model trained on the language's bitext
  (a realistic first stage: nothing in it sees a gold translation).

All lists share one sample of ``queries`` test queries that have a relevant document and text (and,
for ``bm25_translated``, a non-empty translation). Systems re-rank the union of the lists, and
evaluation restricts each system's scores to each list in turn (optical.evaluate.metrics).
"""

from __future__ import annotations

import numpy as np

from optical import io
from optical.errors import InputError

FIRST_STAGES = ("sampled", "bm25_translated", "bm25_nmt")


def read_collection(docs_path: str, queries_path: str, qrels_path: str):
    """(document ids, query texts, qrels) of an exported collection."""
    docs = io.read_parquet(docs_path, ["doc_id"]).column("doc_id").to_pylist()
    queries = io.read_parquet(queries_path, ["query_id", "text"])
    qtext = dict(zip(queries.column("query_id").to_pylist(), queries.column("text").to_pylist()))
    qr = io.read_parquet(qrels_path, ["query_id", "doc_id", "relevance"])
    qrels: dict[str, dict[str, int]] = {}
    for q, d, g in zip(*(qr.column(c).to_pylist() for c in ("query_id", "doc_id", "relevance"))):
        qrels.setdefault(q, {})[d] = g
    return docs, qtext, qrels


def sample_queries(qtext: dict, qrels: dict, n_queries: int, rng, required: dict | None = None,
                   where: str = "qrels") -> list[str]:
    """Up to ``n_queries`` test queries with a relevant document, text and a non-empty entry in
    ``required`` (the gold-translated queries of a bm25_translated list)."""
    eligible = sorted(q for q, rel in qrels.items()
                      if any(g >= 1 for g in rel.values()) and qtext.get(q, "").strip()
                      and (required is None or required.get(q, "").strip()))
    if not eligible:
        raise InputError(where, "no query has a relevant document and non-empty text", "check the collection")
    return sorted(rng.choice(eligible, min(n_queries, len(eligible)), replace=False).tolist())


def sampled_list(docs: list[str], qrels: dict, chosen: list[str], depth: int, rng) -> dict:
    """Judged relevant documents plus uniformly drawn unjudged ones, in shuffled order."""
    run = {}
    for q in chosen:
        rel = qrels[q]
        positives = sorted((d for d, g in rel.items() if g >= 1), key=lambda d: (-rel[d], d))[:depth]
        cand = positives + _unjudged(docs, rng.permutation(len(docs)), set(rel), depth - len(positives))
        order = rng.permutation(len(cand))
        run[q] = {cand[i]: float(depth - r) for r, i in enumerate(order)}
    return run


def _unjudged(docs: list[str], perm: np.ndarray, judged: set, n: int) -> list[str]:
    """The first ``n`` unjudged documents in the order ``perm``, read only as far as needed (the
    whole permutation is still drawn, so the generator's stream is unchanged)."""
    out = []
    for i in perm:
        if len(out) == n:
            break
        if docs[i] not in judged:
            out.append(docs[i])
    return out


def bm25_list(docs_path: str, queries: dict[str, str], depth: int, k1: float, b: float) -> dict:
    """BM25 (bm25s, Lucene variant) top ``depth`` over the whole collection per translated query."""
    from optical.evaluate.bm25 import build_index, query_scores, read_doc_texts, tokenize

    texts = read_doc_texts(docs_path)
    doc_ids = list(texts)
    index = build_index(list(texts.values()), k1, b)
    run = {}
    for q, tokens in zip(queries, tokenize(list(queries.values()))):
        scores = query_scores(index, tokens, len(doc_ids))
        top = np.argsort(-scores, kind="stable")[:depth]
        run[q] = {doc_ids[i]: float(scores[i]) for i in top}
    return run


def make_candidates(docs_path: str, queries_path: str, qrels_path: str, out: dict[str, str], n_queries: int,
                    depth: int, seed: int, lists: list[str], translated: dict[str, dict[str, str]] | None = None,
                    bm25: dict | None = None) -> dict:
    """Write every list in ``lists`` (``out[name]``), their union (``out["union"]``, what systems
    re-rank) and the sampled queries' qrels (``out["qrels"]``). ``translated[name]``: the translated
    queries of a BM25 list; ``bm25``: its k1 and b."""
    unknown = [name for name in lists if name not in FIRST_STAGES]
    if unknown or not lists:
        raise ValueError(f"unknown first stage(s) {unknown}; choose from {FIRST_STAGES}")
    docs, qtext, qrels = read_collection(docs_path, queries_path, qrels_path)
    if depth > len(docs):
        raise InputError(docs_path, f"collection has {len(docs)} documents, fewer than candidates.depth={depth}",
                         "lower candidates.depth")
    rng = np.random.default_rng(seed)
    chosen = sample_queries(qtext, qrels, n_queries, rng, (translated or {}).get("bm25_translated"), qrels_path)
    runs = {}
    for name in lists:  # the sampled list draws from the generator after the query sample
        if name == "sampled":
            runs[name] = sampled_list(docs, qrels, chosen, depth, rng)
        else:
            runs[name] = bm25_list(docs_path, {q: translated[name].get(q, "") for q in chosen}, depth, **bm25)
    for name, run in runs.items():
        io.write_trec_run(out[name], run, f"candidates_{name}")
    io.write_trec_run(out["union"], {q: {d: 0.0 for r in runs.values() for d in r[q]} for q in chosen}, "union")
    io.write_trec_qrels(out["qrels"], {q: qrels[q] for q in chosen})
    found = {name: sum(any(qrels[q].get(d, 0) >= 1 for d in run[q]) for q in chosen) for name, run in runs.items()}
    return {"queries": len(chosen), "depth": depth, "queries_with_a_relevant_candidate": found}
