"""Translated-query BM25 (bm25s): the lexical reference system.

English queries cannot match foreign text lexically, so BM25 is only meaningful with queries
translated into the document language: gold translations in the synthetic world, a user-supplied
(e.g. NMT) translation file in the paper setting. The index covers the whole collection, so IDF
is the collection's; scores are then read off for the shared candidate list, like every system.
"""

from __future__ import annotations

import logging
from pathlib import Path

from optical import io
from optical.errors import InputError
from optical.data.wikiclir import QUERY_FIELDS

log = logging.getLogger(__name__)

TOKEN_PATTERN = r"(?u)\b\w+\b"  # keep one-character tokens (bm25s' default drops them)


def read_translated_queries(path: str | Path, field: str) -> dict[str, str]:
    """WikiCLIR query layout ``query_id<TAB>title<TAB>first_sent``, translated."""
    if field not in QUERY_FIELDS:
        raise ValueError(f"query field {field!r} unknown; allowed: {QUERY_FIELDS}")
    path = Path(path)
    if not path.exists():
        raise InputError(path, "translated query file does not exist",
                         "supply queries translated into the document language (query_id, title, text)")
    out: dict[str, str] = {}
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, start=1):
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 3:
                raise InputError(path, f"line {lineno}: expected 'query_id<TAB>title<TAB>text'", "fix the file")
            qid, title, first = parts
            if qid in out:
                raise InputError(path, f"line {lineno}: duplicate query id {qid!r}", "make query ids unique")
            out[qid] = {"title": title, "first_sent": first}.get(field, f"{title} {first}")
    return out


def tokenize(texts: list[str]) -> list[list[str]]:
    import bm25s
    return bm25s.tokenize(texts, lower=True, stopwords=None, return_ids=False, show_progress=False,
                          token_pattern=TOKEN_PATTERN)


def read_doc_texts(docs_path: str | Path) -> dict[str, str]:
    """doc_id -> "title text" of a collection's ``docs.parquet``, in file order."""
    t = io.read_parquet(docs_path, ["doc_id", "title", "text"])
    return {d: f"{ti} {tx}" for d, ti, tx in zip(*(t.column(c).to_pylist() for c in ("doc_id", "title", "text")))}


def build_index(texts: list[str], k1: float, b: float):
    """A bm25s index (Lucene variant) over ``texts``; rows follow their order."""
    import bm25s
    index = bm25s.BM25(k1=k1, b=b, method="lucene")
    index.index(tokenize(texts), show_progress=False)
    return index


def query_scores(index, tokens: list[str], n_docs: int):
    """BM25 scores of every indexed document for one tokenized query; all zero for a query without
    tokens (bm25s cannot score an empty query; an NMT output can be empty)."""
    import numpy as np
    return index.get_scores(tokens) if tokens else np.zeros(n_docs)


def bm25_rerank(doc_texts: dict[str, str], queries: dict[str, str], candidates_path: str, run_out: str,
                k1: float, b: float, tag: str = "bm25") -> dict:
    candidates = io.read_trec_run(candidates_path)
    io.check_candidates(candidates_path, candidates, queries, doc_texts, "the translated queries")
    doc_ids = sorted(doc_texts)
    row = {d: i for i, d in enumerate(doc_ids)}
    index = build_index([doc_texts[d] for d in doc_ids], k1, b)
    run: dict[str, dict[str, float]] = {}
    q_ids = sorted(candidates)
    for q, tokens in zip(q_ids, tokenize([queries[q] for q in q_ids])):
        scores = query_scores(index, tokens, len(doc_ids))
        run[q] = {d: float(scores[row[d]]) for d in candidates[q]}
    io.write_trec_run(run_out, run, tag)
    return {"queries": len(run), "documents_indexed": len(doc_ids)}
