from optical.workflow import setup_logging

setup_logging(snakemake.log[0])

import logging

from optical.candidates import make_candidates

stats = make_candidates(snakemake.input.docs, snakemake.input.queries, snakemake.input.qrels,
                        snakemake.output.run, snakemake.output.qrels, snakemake.params.queries,
                        snakemake.params.depth, snakemake.params.seed)
logging.info("candidates: %s", stats)
