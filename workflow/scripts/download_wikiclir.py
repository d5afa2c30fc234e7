from optical.workflow import setup_logging

setup_logging(snakemake.log[0])

import logging

from optical.data.download import fetch_wikiclir

w = snakemake.params.wikiclir
m = fetch_wikiclir(snakemake.params.home, snakemake.output[0], archive=w.get("archive"),
                   source_dir=w.get("source_dir"), md5=w.get("md5"))
logging.info("WikiCLIR ready (%s): %d languages", m["origin"], len(m["languages"]))
