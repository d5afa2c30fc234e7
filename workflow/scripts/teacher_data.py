from optical.workflow import setup_logging

setup_logging(snakemake.log[0])

import logging

from optical.msmarco import export_triples

n = export_triples(snakemake.input.collection, snakemake.input.queries, snakemake.input.triples,
                   snakemake.output[0], snakemake.params.max_triples, snakemake.params.seed)
logging.info("%d triples written", n)
