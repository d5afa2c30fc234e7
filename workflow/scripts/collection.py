from optical.workflow import setup_logging

setup_logging(snakemake.log[0])

import logging
from pathlib import Path

from optical.data.wikiclir import export_collection

stats = export_collection(snakemake.params.home, snakemake.wildcards.lang, snakemake.params.query_field,
                          Path(snakemake.output.docs).parent)
logging.info("wikiclir/%s exported: %s", snakemake.wildcards.lang, stats)
