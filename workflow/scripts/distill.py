from optical.workflow import setup_logging

setup_logging(snakemake.log[0])

import logging

from optical.train.distill import distill

p, w = snakemake.params, snakemake.wildcards
stats = distill(p.method, snakemake.input.teacher, snakemake.input.bitext, snakemake.output[0], p.distill["cfg"],
                seed=int(w.seed), threads=snakemake.threads, device=p.device,
                train_pairs=p.distill["train_pairs"], state_dir=p.state)
logging.info("distillation done: %s", {k: v for k, v in stats.items() if k != "heldout_curve"})
