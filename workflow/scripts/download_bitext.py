from optical.workflow import setup_logging

setup_logging(snakemake.log[0])

import logging
from pathlib import Path

from optical.data.download import fetch_bitext

p = snakemake.params
out = snakemake.output[0]
stats = fetch_bitext(out, snakemake.wildcards.lang, p.spec, cache_dir=p.cache, work_dir=Path(out).parent)
logging.info("bitext ready: %s", stats)
