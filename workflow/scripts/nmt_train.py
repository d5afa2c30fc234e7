from optical.workflow import setup_logging

setup_logging(snakemake.log[0])

import logging

from optical.train.nmt import train_nmt

p, w = snakemake.params, snakemake.wildcards
record = train_nmt(snakemake.input.bitext, snakemake.output[0], p.cfg, w.direction, p.heldout_pairs,
                   seed=int(w.seed), threads=snakemake.threads, device=p.device, state_dir=p.state)
logging.info("nmt %s done: %s", w.direction, {k: v for k, v in record.items() if k != "heldout_curve"})
