from optical.workflow import setup_logging

setup_logging(snakemake.log[0])

import logging
from pathlib import Path

from optical.data.synthetic import WorldSpec, write_world

manifest = write_world(WorldSpec.from_config(snakemake.params.world), Path(snakemake.output.manifest).parent)
logging.info("world written: %s", manifest)
