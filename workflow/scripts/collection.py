from optical.workflow import setup_logging

setup_logging(snakemake.log[0])

import logging
from pathlib import Path

from optical.data.local import export_local_collection
from optical.data.wikiclir import export_collection

p, lang = snakemake.params, snakemake.wildcards.lang
out = Path(snakemake.output.docs).parent
if p.local:  # the language's own collection (languages.<code>.collection)
    stats = export_local_collection(p.local["queries"], p.local["documents"], p.local["qrels"], out)
else:
    stats = export_collection(p.home, lang, p.query_field, out)
logging.info("collection %s exported: %s", lang, stats)
