from optical.workflow import setup_logging

setup_logging(snakemake.log[0])

import logging

import pyarrow as pa

from optical import io, models
from optical.probe import probe_run

inp, w, p = snakemake.input, snakemake.wildcards, snakemake.params
models.setup_torch(snakemake.threads, 0, "cpu")  # small: the CPU, on the threads Snakemake counts
rows = probe_run(p.world, w.lang, int(w.seed), inp.teacher, inp.world_bitext, inp.sample, inp.get("student"))
io.write_parquet(snakemake.output[0], pa.Table.from_pandas(rows, preserve_index=False))
logging.info("alignment probe, %s seed %s:\n%s", w.lang, w.seed, rows.to_string(index=False))
