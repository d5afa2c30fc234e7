from optical.workflow import setup_logging

setup_logging(snakemake.log[0])

import logging

from optical.ner import data as ner_data

lang, p = snakemake.wildcards.nlang, snakemake.params
for split, out in zip(["train", "dev", "test"], snakemake.output):
    if p.hub_dataset:
        sents = ner_data.load_hub_split(p.hub_dataset, f"PAN-X.{lang}", {"dev": "validation"}.get(split, split))
    else:
        sents = ner_data.read_panx(next(f for f in snakemake.input if f.endswith(f"/{split}")))
    ner_data.write_sentences(out, sents)
    logging.info("%s/%s: %d sentences", lang, split, len(sents))
