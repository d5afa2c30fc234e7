"""Re-rank the shared candidate list with a late-interaction scorer.

Queries are always encoded by the query encoder (the English teacher); documents by the
document encoder: the teacher itself (direct transfer, translate-test) or a student (OPTICAL).
"""

from __future__ import annotations

import logging

import torch

from optical import io, models

log = logging.getLogger(__name__)


def _encode_docs(model, tok, texts: list[str], batch_size: int, dev) -> list[torch.Tensor]:
    """Content-token vectors of each document (variable length), encoded in length-sorted batches."""
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    out: list[torch.Tensor | None] = [None] * len(texts)
    with torch.inference_mode():
        for i in range(0, len(order), batch_size):
            idx = order[i:i + batch_size]
            b = models.encode_batch(tok, [texts[j] for j in idx], model.doc_max_length, dev)
            v = model(b["input_ids"], b["attention_mask"])
            for k, j in enumerate(idx):
                out[j] = v[k][b["content"][k]].cpu()
    return out


def rerank(query_model_dir: str, doc_model_dir: str, queries_path: str, doc_texts: dict[str, str],
           candidates_path: str, run_out: str, tag: str, batch_size: int = 64, threads: int = 1,
           device: str = "auto", chunk_docs: int = 20000) -> dict:
    dev = models.setup_torch(threads, 0, device)
    qmodel, qtok = models.ColBERT.load(query_model_dir, dev)
    dmodel, dtok = (qmodel, qtok) if doc_model_dir == query_model_dir else models.ColBERT.load(doc_model_dir, dev)
    qmodel.eval(), dmodel.eval()
    candidates = io.read_trec_run(candidates_path)
    qt = io.read_parquet(queries_path, ["query_id", "text"])
    qtext = dict(zip(qt.column("query_id").to_pylist(), qt.column("text").to_pylist()))
    io.check_candidates(candidates_path, candidates, qtext, doc_texts, queries_path)
    run: dict[str, dict[str, float]] = {}
    qids = sorted(candidates)
    # chunk queries so that the documents held in memory stay bounded on real collections
    start = 0
    while start < len(qids):
        chunk, docs = [], set()
        while start < len(qids) and (not chunk or len(docs) + len(candidates[qids[start]]) <= chunk_docs):
            chunk.append(qids[start])
            docs.update(candidates[qids[start]])
            start += 1
        doc_ids = sorted(docs)
        vecs = dict(zip(doc_ids, _encode_docs(dmodel, dtok, [doc_texts[d] for d in doc_ids], batch_size, dev)))
        with torch.inference_mode():
            for q in chunk:
                qb = models.encode_batch(qtok, [qtext[q]], qmodel.query_max_length, dev)
                qv = qmodel(qb["input_ids"], qb["attention_mask"])
                cands = sorted(candidates[q])
                d = torch.nn.utils.rnn.pad_sequence([vecs[c] for c in cands], batch_first=True).to(dev)
                dmask = torch.nn.utils.rnn.pad_sequence(
                    [torch.ones(len(vecs[c]), dtype=torch.bool) for c in cands], batch_first=True).to(dev)
                scores = models.maxsim(qv, qb["content"], d, dmask)[0].cpu().tolist()
                run[q] = dict(zip(cands, scores))
    io.write_trec_run(run_out, run, tag)
    return {"queries": len(run)}
