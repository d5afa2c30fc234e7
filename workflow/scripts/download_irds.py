from optical.workflow import setup_logging

setup_logging(snakemake.log[0])

import logging

from optical.data.download import fetch_irds

p = snakemake.params
m = fetch_irds(p.home, p.ids, snakemake.output[0], p.source)
logging.info("%s ready: %s", p.source, m["datasets"])
