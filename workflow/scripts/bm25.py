from optical.workflow import setup_logging

setup_logging(snakemake.log[0])

import logging

from optical.evaluate.bm25 import bm25_rerank, read_doc_texts, read_translated_queries

inp, p = snakemake.input, snakemake.params
texts = read_doc_texts(inp.docs)
queries = read_translated_queries(inp.queries, p.query_field)
stats = bm25_rerank(texts, queries, inp.candidates, snakemake.output[0], k1=p.bm25["k1"], b=p.bm25["b"])
logging.info("bm25: %s", stats)
