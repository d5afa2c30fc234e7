"""Re-rank the shared candidate list with a late-interaction scorer.

Queries are always encoded by the query encoder (the English teacher); documents by the
document encoder: the teacher itself (direct transfer, translate-test) or a student (OPTICAL).
"""

from __future__ import annotations

import logging

import torch

from optical import io, models

log = logging.getLogger(__name__)


def encoded_batches(model, tok, texts: list[str], max_length: int, batch_size: int, dev):
    """(indices into ``texts``, token vectors, content mask) per length-sorted batch of ``texts``;
    call under ``torch.inference_mode()``."""
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    for i in range(0, len(order), batch_size):
        idx = order[i:i + batch_size]
        b = models.encode_batch(tok, [texts[j] for j in idx], max_length, dev)
        yield idx, model(b["input_ids"], b["attention_mask"]), b["content"]


def encode_texts(model, tok, texts: list[str], max_length: int, batch_size: int, dev) -> list[torch.Tensor]:
    """Content-token vectors of each text (variable length), encoded in length-sorted batches."""
    out: list[torch.Tensor | None] = [None] * len(texts)
    with torch.inference_mode():
        for idx, v, content in encoded_batches(model, tok, texts, max_length, batch_size, dev):
            for k, j in enumerate(idx):
                out[j] = v[k][content[k]].cpu()
    return out


def candidates_by_chunk(candidates: dict[str, dict], chunk_docs: int) -> tuple[list[list[str]], list[dict]]:
    """The unique candidate documents in sorted chunks of at most ``chunk_docs``, and per chunk each
    query's candidates in it: every document is encoded once, and the vectors held in memory stay
    bounded on real collections."""
    doc_ids = sorted({d for cands in candidates.values() for d in cands})
    chunks = [doc_ids[i:i + chunk_docs] for i in range(0, len(doc_ids), chunk_docs)]
    chunk_of = {d: i // chunk_docs for i, d in enumerate(doc_ids)}
    wanted: list[dict[str, list[str]]] = [{} for _ in chunks]
    for q in sorted(candidates):
        for d in sorted(candidates[q]):
            wanted[chunk_of[d]].setdefault(q, []).append(d)
    return chunks, wanted


class PaddedDocuments:
    """One chunk's document vectors, encoded straight into one zero-padded (N, L, dim) tensor on
    the scoring device, so that each query gathers its candidates there: no per-query padding on
    the CPU and no per-query copy to a GPU (on an H200 the per-query part, MaxSim included, went
    from 4.9 to 1.6 ms, docs/costs.md). Row i holds text i's content-token vectors, left-aligned;
    the chunk holds len(texts) x max_length x dim values on that device whatever the texts' lengths."""

    def __init__(self, model, tok, texts: list[str], max_length: int, batch_size: int, dev):
        self.dev = dev
        with torch.inference_mode():
            self.vectors = torch.zeros(len(texts), max_length, model.proj.out_features, device=dev,
                                       dtype=model.proj.weight.dtype)
            self.mask = torch.zeros(len(texts), max_length, dtype=torch.bool, device=dev)
            for idx, v, content in encoded_batches(model, tok, texts, max_length, batch_size, dev):
                rows, cols = content.nonzero(as_tuple=True)
                slots = content.cumsum(1)[rows, cols] - 1  # each content token's place in its text
                texts_at = torch.tensor(idx, device=dev)[rows]
                self.vectors[texts_at, slots] = v[rows, cols]
                self.mask[texts_at, slots] = True
        self.lengths = self.mask.sum(1).tolist()

    def maxsim(self, query: torch.Tensor, rows: list[int]) -> list[float]:
        """MaxSim of one query's vectors against the documents in ``rows``, padded to the longest of
        them (the shapes, and so the scores, of padding those documents alone). Documents without
        content tokens score as padding (−1e4 per query token), also when no candidate has any."""
        longest = max(1, max(self.lengths[r] for r in rows))
        index = torch.tensor(rows, device=self.dev)
        d, d_mask = (t[:, :longest].index_select(0, index) for t in (self.vectors, self.mask))
        q_mask = torch.ones(1, len(query), dtype=torch.bool, device=self.dev)
        return models.maxsim(query[None].to(self.dev), q_mask, d, d_mask)[0].cpu().tolist()


def rerank(query_model_dir: str, doc_model_dir: str, queries_path: str, doc_texts: dict[str, str],
           candidates_path: str, run_out: str, tag: str, batch_size: int = 64, threads: int = 1,
           device: str = "auto", chunk_docs: int = 20000) -> dict:
    """MaxSim of the query encoder's query vectors against the document encoder's vectors of every
    candidate; queries and documents are encoded in batches, every query and document once."""
    dev = models.setup_torch(threads, 0, device)
    qmodel, qtok = models.ColBERT.load(query_model_dir, dev)
    dmodel, dtok = (qmodel, qtok) if doc_model_dir == query_model_dir else models.ColBERT.load(doc_model_dir, dev)
    qmodel.eval(), dmodel.eval()
    candidates = io.read_trec_run(candidates_path)
    qt = io.read_parquet(queries_path, ["query_id", "text"])
    qtext = dict(zip(qt.column("query_id").to_pylist(), qt.column("text").to_pylist()))
    io.check_candidates(candidates_path, candidates, qtext, doc_texts, queries_path)
    qids = sorted(candidates)
    queries = dict(zip(qids, encode_texts(qmodel, qtok, [qtext[q] for q in qids], qmodel.query_max_length,
                                          batch_size, dev)))
    run: dict[str, dict[str, float]] = {q: {} for q in qids}
    chunks, wanted = candidates_by_chunk(candidates, chunk_docs)
    for doc_ids, per_query in zip(chunks, wanted):
        docs = PaddedDocuments(dmodel, dtok, [doc_texts[d] for d in doc_ids], dmodel.doc_max_length, batch_size, dev)
        row = {d: i for i, d in enumerate(doc_ids)}
        with torch.inference_mode():
            for q, cands in per_query.items():
                run[q].update(zip(cands, docs.maxsim(queries[q], [row[c] for c in cands])))
        del docs  # before the next chunk is allocated
    io.write_trec_run(run_out, run, tag)
    return {"queries": len(run), "documents_encoded": sum(map(len, chunks))}
