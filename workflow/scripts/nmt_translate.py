from optical.workflow import setup_logging

setup_logging(snakemake.log[0])

import logging

from optical import io, models
from optical.train.nmt import translate_documents, write_translations

inp, p = snakemake.input, snakemake.params
if p.kind == "documents":  # doc_id, title, text -> English
    t = io.read_parquet(inp.texts, ["doc_id", "title", "text"])
    rows = {d: (ti, tx) for d, ti, tx in zip(*(t.column(c).to_pylist() for c in ("doc_id", "title", "text")))}
else:  # query_id, text (the configured query field) -> the language; no title
    t = io.read_parquet(inp.texts, ["query_id", "text"])
    rows = {q: ("", tx) for q, tx in zip(t.column("query_id").to_pylist(), t.column("text").to_pylist())}
cfg = p.cfg
models.setup_torch(snakemake.threads, 0, p.device)
translated = translate_documents(inp.model, rows, cfg["translate_batch_size"], cfg["max_length"], cfg["num_beams"],
                                 p.device, keep_titles=cfg["keep_titles"] and p.kind == "documents")
write_translations(snakemake.output[0], translated)
logging.info("%d %s translated", len(translated), p.kind)
