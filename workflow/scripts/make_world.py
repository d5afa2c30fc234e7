from optical.workflow import setup_logging

setup_logging(snakemake.log[0])

import logging

from optical.synthetic import WorldSpec, write_world

manifest = write_world(WorldSpec.from_config(snakemake.params.world), "results/world")
logging.info("world written: %s", manifest)
