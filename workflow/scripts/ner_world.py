from optical.workflow import setup_logging

setup_logging(snakemake.log[0])

import logging
from pathlib import Path

from optical.ner.world import NerSpec, write_ner_world
from optical.data.synthetic import WorldSpec

p = snakemake.params
out = Path(snakemake.output[0]).parent.parent
counts = write_ner_world(WorldSpec.from_config(p.world), NerSpec.from_config(p.ner), out, p.langs)
logging.info("NER world written: %s", counts)
