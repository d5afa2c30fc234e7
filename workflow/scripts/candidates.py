from optical.workflow import setup_logging

setup_logging(snakemake.log[0])

import logging

from optical.data.candidates import make_candidates
from optical.evaluate.bm25 import read_translated_queries

inp, out, p = snakemake.input, snakemake.output, snakemake.params
translated = {}
if "bm25_translated" in p.lists:
    translated["bm25_translated"] = read_translated_queries(inp.translated_queries, p.query_field)
if "bm25_nmt" in p.lists:  # NMT output holds the configured query text in its text field
    translated["bm25_nmt"] = read_translated_queries(inp.nmt_queries, "first_sent")
paths = dict(zip(p.lists, out.lists), union=out.run, qrels=out.qrels)
stats = make_candidates(inp.docs, inp.queries, inp.qrels, paths, p.queries, p.depth, p.seed, p.lists,
                        translated=translated, bm25=p.bm25)
logging.info("candidates: %s", stats)
