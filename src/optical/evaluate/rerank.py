"""Re-rank the shared candidate list with a late-interaction scorer.

Queries are always encoded by the query encoder (the English teacher); documents by the
document encoder: the teacher itself (direct transfer, translate-test) or a student (OPTICAL).
"""

from __future__ import annotations

import logging

import torch

from optical import io, models

log = logging.getLogger(__name__)


def encode_texts(model, tok, texts: list[str], max_length: int, batch_size: int, dev) -> list[torch.Tensor]:
    """Content-token vectors of each text (variable length), encoded in length-sorted batches."""
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    out: list[torch.Tensor | None] = [None] * len(texts)
    with torch.inference_mode():
        for i in range(0, len(order), batch_size):
            idx = order[i:i + batch_size]
            b = models.encode_batch(tok, [texts[j] for j in idx], max_length, dev)
            v = model(b["input_ids"], b["attention_mask"])
            for k, j in enumerate(idx):
                out[j] = v[k][b["content"][k]].cpu()
    return out


def query_chunks(candidates: dict[str, dict], chunk_docs: int):
    """Queries in chunks whose candidate documents number at most ``chunk_docs`` (one query at least),
    so that the document vectors held in memory stay bounded on real collections."""
    chunk, docs = [], set()
    for q in sorted(candidates):
        if chunk and len(docs | set(candidates[q])) > chunk_docs:
            yield chunk, sorted(docs)
            chunk, docs = [], set()
        chunk.append(q)
        docs.update(candidates[q])
    if chunk:
        yield chunk, sorted(docs)


def rerank(query_model_dir: str, doc_model_dir: str, queries_path: str, doc_texts: dict[str, str],
           candidates_path: str, run_out: str, tag: str, batch_size: int = 64, threads: int = 1,
           device: str = "auto", chunk_docs: int = 20000) -> dict:
    """MaxSim of the query encoder's query vectors against the document encoder's vectors of every
    candidate; queries and documents are encoded in batches, each document once per chunk."""
    dev = models.setup_torch(threads, 0, device)
    qmodel, qtok = models.ColBERT.load(query_model_dir, dev)
    dmodel, dtok = (qmodel, qtok) if doc_model_dir == query_model_dir else models.ColBERT.load(doc_model_dir, dev)
    qmodel.eval(), dmodel.eval()
    candidates = io.read_trec_run(candidates_path)
    qt = io.read_parquet(queries_path, ["query_id", "text"])
    qtext = dict(zip(qt.column("query_id").to_pylist(), qt.column("text").to_pylist()))
    io.check_candidates(candidates_path, candidates, qtext, doc_texts, queries_path)
    run: dict[str, dict[str, float]] = {}
    for qids, doc_ids in query_chunks(candidates, chunk_docs):
        docs = dict(zip(doc_ids, encode_texts(dmodel, dtok, [doc_texts[d] for d in doc_ids], dmodel.doc_max_length,
                                              batch_size, dev)))
        queries = encode_texts(qmodel, qtok, [qtext[q] for q in qids], qmodel.query_max_length, batch_size, dev)
        with torch.inference_mode():
            for q, qv in zip(qids, queries):
                cands = sorted(candidates[q])
                d, d_mask = models.pad_vectors([docs[c] for c in cands])
                q_mask = torch.ones(1, len(qv), dtype=torch.bool, device=dev)
                scores = models.maxsim(qv[None].to(dev), q_mask, d.to(dev), d_mask.to(dev))[0].cpu().tolist()
                run[q] = dict(zip(cands, scores))
    io.write_trec_run(run_out, run, tag)
    return {"queries": len(run)}
