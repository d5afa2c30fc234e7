from optical.workflow import setup_logging

setup_logging(snakemake.log[0])

import logging

from optical import io
from optical.evaluate.metrics import evaluate_run

w, p = snakemake.wildcards, snakemake.params
rows = evaluate_run(snakemake.input.qrels, snakemake.input.run, p.measures, p.threshold)
io.write_parquet(snakemake.output[0], {
    "language": [w.lang] * len(rows), "system": [w.system] * len(rows),
    "variant": [w.variant] * len(rows), "seed": [int(w.seed)] * len(rows),
    "query_id": [r["query_id"] for r in rows], "measure": [r["measure"] for r in rows],
    "value": [r["value"] for r in rows]})
logging.info("%d per-query values", len(rows))
