from optical.workflow import setup_logging

setup_logging(snakemake.log[0])

import logging

from optical import io
from optical.evaluate.metrics import evaluate_lists

inp, w, p = snakemake.input, snakemake.wildcards, snakemake.params
rows = evaluate_lists(inp.get("run"), dict(zip(p.lists, inp.lists)), inp.qrels, p.measures, p.threshold)
key = {"language": w.lang, "system": w.system, "variant": w.variant, "seed": int(w.seed)}
io.write_parquet(snakemake.output[0], {
    **{k: [v] * len(rows) for k, v in key.items()},
    **{c: [r[c] for r in rows] for c in ("candidates", "query_id", "measure", "value")}})
logging.info("%d per-query values on %s", len(rows), p.lists)
