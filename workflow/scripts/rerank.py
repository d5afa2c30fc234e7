from optical.workflow import setup_logging

setup_logging(snakemake.log[0])

import logging

from optical import io
from optical.evaluate.rerank import rerank
from optical.data.wikiclir import read_translations

inp, p, w = snakemake.input, snakemake.params, snakemake.wildcards
if inp.docs.endswith(".parquet"):
    t = io.read_parquet(inp.docs, ["doc_id", "title", "text"])
    texts = {d: f"{ti} {tx}" for d, ti, tx in zip(*(t.column(c).to_pylist() for c in ("doc_id", "title", "text")))}
else:
    texts = read_translations(inp.docs)
stats = rerank(inp.query_model, inp.doc_model, inp.queries, texts, inp.candidates, snakemake.output[0],
               tag=f"{w.system}-{w.variant}-seed{w.seed}", batch_size=p.batch_size, threads=snakemake.threads, device=p.device)
logging.info("re-ranked: %s", stats)
