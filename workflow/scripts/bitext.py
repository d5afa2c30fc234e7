from optical.workflow import setup_logging

setup_logging(snakemake.log[0])

import logging

from optical.data.bitext import prepare_bitext

n = prepare_bitext(snakemake.input[0], snakemake.output[0], snakemake.params.pairs, snakemake.params.seed)
logging.info("%d bitext pairs written", n)
