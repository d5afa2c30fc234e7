from optical.workflow import setup_logging

setup_logging(snakemake.log[0])

import logging

from optical.train.teacher import train_teacher

p = snakemake.params
stats = train_teacher(snakemake.input.encoder, snakemake.input.triples, snakemake.output[0], p.teacher,
                      seed=int(snakemake.wildcards.seed), threads=snakemake.threads, device=p.device,
                      state_dir=p.state)
logging.info("teacher done: %s", stats)
