from optical.workflow import setup_logging

setup_logging(snakemake.log[0])

import logging

from optical.train.pretrain import pretrain

p = snakemake.params
stats = pretrain(dict(zip(p.langs, snakemake.input.mono)), snakemake.output[0], p.pretrain, p.encoder,
                 seed=p.pretrain["seed"], threads=snakemake.threads, device=p.device, state_dir=p.state)
logging.info("pretraining done: %s", stats)
