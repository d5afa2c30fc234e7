"""Re-ranking at the paper setting's model shapes: measured, to replace the estimate in
docs/costs.md#scale-rehearsal-configscaleyaml ("about a minute per system and seed").

    PYTHONPATH=src python benchmarks/rerank_shapes.py --device cuda [--docs 8000 --queries 800 --depth 100]

Builds a ColBERT scorer with mBERT-base's encoder shapes (12 layers, hidden 768, 12 heads, FFN
3,072; projection to config/paper.yaml's dim 128, query 32 and document 180 tokens), randomly
initialised, and runs the pipeline's own ``optical.evaluate.rerank.rerank`` on synthetic text:
``--docs`` documents of 300 words (so every one fills its 180 tokens, as WikiCLIR articles do),
``--queries`` queries with ``--depth`` candidates each. The vocabulary is the synthetic text's
(a few thousand pieces, not mBERT's 119,547): the embedding table's size changes no FLOP, only
a lookup. Times one ``rerank`` call by its phases (loading, encoding the documents, the queries
with MaxSim), with the candidates split over two document chunks as at WikiCLIR sw's size, and
extrapolates to WikiCLIR sw (37,080 documents, 22,860 queries at depth 100). Until commit b91ce09 it
timed the encoding in a separate pass and took the per-query time as the difference (one chunk).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from optical import io, models
from optical.evaluate import rerank as rr

MBERT = {"hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12, "intermediate_size": 3072,
         "max_position_embeddings": 512}
WIKICLIR_SW = {"docs": 37080, "queries": 22860}


def synthetic_texts(n: int, words: int, vocab: list[str], rng) -> list[str]:
    return [" ".join(rng.choice(vocab, size=words)) for _ in range(n)]


def build_scorer(texts: list[str], out: Path, shapes: dict) -> None:
    from transformers import BertConfig, BertModel
    tok = models.train_tokenizer(texts[:2000], vocab_size=4000)
    bert = BertModel(BertConfig(vocab_size=len(tok), **shapes), add_pooling_layer=False)
    models.ColBERT(bert, 128, query_max_length=32, doc_max_length=180).save(out, tok)


def extrapolate(encode_s: float, docs: int, scoring_s: float, queries: int, target: dict = WIKICLIR_SW) -> float:
    """Seconds for ``target``: its documents at the measured seconds per document encoded, its
    queries at the measured seconds per query of encoding the queries and MaxSim (loading, a fixed
    cost, is added by the caller)."""
    return target["docs"] * encode_s / docs + target["queries"] * scoring_s / queries


def synchronize(dev) -> None:
    if dev.type == "cuda":
        torch.cuda.synchronize()


def timed_rerank(tmp: Path, doc_texts: dict[str, str], args, dev) -> dict[str, float]:
    """One call of the pipeline's ``rerank``, its phases timed inside it: loading the scorer
    (``ColBERT.load``), encoding the documents (``PaddedDocuments``, the device drained after each
    chunk) and the rest (queries and MaxSim of every pair), in seconds."""
    seconds = {"load": 0.0, "encode": 0.0}
    load, padded = models.ColBERT.load, rr.PaddedDocuments

    def timed_load(path, device="cpu"):
        start = time.perf_counter()
        out = load(path, device)
        seconds["load"] += time.perf_counter() - start
        return out

    class TimedDocuments(padded):
        def __init__(self, *a, **kw):
            start = time.perf_counter()
            super().__init__(*a, **kw)
            synchronize(self.dev)
            seconds["encode"] += time.perf_counter() - start

    models.ColBERT.load, rr.PaddedDocuments = timed_load, TimedDocuments
    try:
        start = time.perf_counter()
        rr.rerank(str(tmp / "scorer"), str(tmp / "scorer"), str(tmp / "queries.parquet"), doc_texts,
                  str(tmp / "cands.trec"), str(tmp / "run.trec"), "bench", batch_size=args.batch_size,
                  threads=torch.get_num_threads(), device=args.device, chunk_docs=args.chunk_docs)
        seconds["total"] = time.perf_counter() - start
    finally:
        models.ColBERT.load, rr.PaddedDocuments = load, padded
    seconds["queries"] = seconds["total"] - seconds["load"] - seconds["encode"]
    return seconds


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--docs", type=int, default=8000)
    ap.add_argument("--queries", type=int, default=800)
    ap.add_argument("--depth", type=int, default=100)
    ap.add_argument("--batch-size", type=int, default=64, help="config/paper.yaml's evaluation.rerank_batch_size")
    ap.add_argument("--chunk-docs", type=int, help="default: --docs / 2, so that each query's candidates span "
                    "two chunks, as WikiCLIR sw's 37,080 documents do at the pipeline's chunk_docs 20,000")
    ap.add_argument("--layers", type=int, default=MBERT["num_hidden_layers"], help="fewer only to try the script")
    args = ap.parse_args(argv)
    args.chunk_docs = args.chunk_docs or max(1, args.docs // 2)
    rng = np.random.default_rng(0)
    vocab = [f"w{i}x{chr(97 + i % 26)}" for i in range(20000)]
    docs = synthetic_texts(args.docs, 300, vocab, rng)
    queries = synthetic_texts(args.queries, 12, vocab, rng)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        build_scorer(docs, tmp / "scorer", dict(MBERT, num_hidden_layers=args.layers))
        doc_ids = [f"d{i}" for i in range(args.docs)]
        run = {f"q{i}": {doc_ids[j]: 0.0 for j in rng.choice(args.docs, size=args.depth, replace=False)}
               for i in range(args.queries)}
        io.write_trec_run(tmp / "cands.trec", run, "cands")
        io.write_parquet(tmp / "queries.parquet", {"query_id": list(run), "text": queries})
        dev = models.pick_device(args.device)
        model, tok = models.ColBERT.load(tmp / "scorer", dev)
        rr.PaddedDocuments(model.eval(), tok, docs[:256], 180, args.batch_size, dev)  # warm-up: kernels, allocator
        del model
        s = timed_rerank(tmp, dict(zip(doc_ids, docs)), args, dev)
    name = torch.cuda.get_device_name() if dev.type == "cuda" else f"cpu, {torch.get_num_threads()} threads"
    print(f"device: {name}; torch {torch.__version__}; {args.layers} layers x 768")
    print(f"rerank() of {args.queries} queries x depth {args.depth} over {args.docs} documents in chunks of "
          f"{args.chunk_docs}: {s['total']:.1f} s; loading {s['load']:.1f} s, encoding {s['encode']:.1f} s "
          f"({args.docs / s['encode']:.0f} documents/s), queries and MaxSim {s['queries']:.1f} s "
          f"({s['queries'] / args.queries * 1000:.1f} ms per query)")
    est = s["load"] + extrapolate(s["encode"], args.docs, s["queries"], args.queries)
    print(f"extrapolated to WikiCLIR sw ({WIKICLIR_SW['docs']} documents, {WIKICLIR_SW['queries']} queries, "
          f"depth {args.depth}): {est / 60:.1f} min per system and seed")


if __name__ == "__main__":
    main()
