from optical.workflow import setup_logging

setup_logging(snakemake.log[0])

import logging

from optical.msmarco import export_irds_triples

p = snakemake.params
n = export_irds_triples(p.home, p.docpairs, p.queries, p.docs, snakemake.output[0], p.max_triples, p.seed)
logging.info("%d triples written (%s)", n, p.docpairs)
