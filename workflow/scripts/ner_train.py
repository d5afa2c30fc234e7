from optical.workflow import setup_logging

setup_logging(snakemake.log[0])

import logging

from optical.ner import train

inp, p, w = snakemake.input, snakemake.params, snakemake.wildcards
common = dict(seed=int(w.seed), threads=snakemake.threads, device=p.device, state_dir=p.state)
if snakemake.rule == "ner_teacher":
    record = train.train_teacher(inp.encoder, inp.train, snakemake.output[0], p.cfg, **common)
elif snakemake.rule == "ner_teacher_student":
    record = train.train_student(inp.teacher, inp.init, inp.train, snakemake.output[0], p.cfg, **common)
else:
    record = train.train_ot_aligned(inp.teacher, inp.bitext, snakemake.output[0], p.cfg, p.ot, p.objective, **common)
logging.info("%s done: %s", snakemake.rule, {k: v for k, v in record.items() if k != "heldout_curve"})
