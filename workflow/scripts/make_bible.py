from optical.workflow import setup_logging

setup_logging(snakemake.log[0])

import logging
from pathlib import Path

from optical.data.bible import write_bible

manifest = write_bible(snakemake.params.bible, Path(snakemake.output.manifest).parent)
logging.info("Bible track written: %s", manifest)
