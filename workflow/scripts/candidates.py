from optical.workflow import setup_logging

setup_logging(snakemake.log[0])

import logging

from optical.evaluate.bm25 import read_translated_queries
from optical.data.candidates import make_candidates

inp, p = snakemake.input, snakemake.params
translated = read_translated_queries(inp.translated_queries, p.query_field) if p.first_stage == "bm25_translated" else None
stats = make_candidates(inp.docs, inp.queries, inp.qrels, snakemake.output.run, snakemake.output.qrels, p.queries,
                        p.depth, p.seed, first_stage=p.first_stage, translated_queries=translated, bm25=p.bm25)
logging.info("candidates: %s", stats)
