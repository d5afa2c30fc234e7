from optical.workflow import setup_logging

setup_logging(snakemake.log[0])

import logging

from optical.ner import evaluate as ner_eval

p = snakemake.params
stats = ner_eval.evaluate(snakemake.input.model, snakemake.input.test, snakemake.output[0], p.max_length,
                     p.batch_size, p.device)
logging.info("NER %s/%s: %s", snakemake.wildcards.nlang, snakemake.wildcards.nsystem, stats)
