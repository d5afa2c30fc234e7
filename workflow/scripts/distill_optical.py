from optical.workflow import setup_logging

setup_logging(snakemake.log[0])

import logging

from optical.distill import distill_optical

p = snakemake.params
stats = distill_optical(snakemake.input.teacher, snakemake.input.bitext, snakemake.output[0], p.distill,
                        seed=int(snakemake.wildcards.seed), threads=snakemake.threads, device=p.device)
logging.info("distillation done: %s", stats)
