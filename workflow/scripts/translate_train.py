from optical.workflow import setup_logging

setup_logging(snakemake.log[0])

import logging

from optical.train.teacher import train_translate_train

p = snakemake.params
stats = train_translate_train(snakemake.input.teacher, snakemake.input.triples, snakemake.output[0], p.train,
                              seed=int(snakemake.wildcards.seed), threads=snakemake.threads, device=p.device,
                              state_dir=p.state)
logging.info("translate-train done: %s", stats)
