from optical.workflow import setup_logging

setup_logging(snakemake.log[0])

import logging

from optical import ner

lang, p = snakemake.wildcards.nlang, snakemake.params
for split, out in zip(["train", "dev", "test"], snakemake.output):
    if p.hub_dataset:
        sents = ner.load_hub_split(p.hub_dataset, f"PAN-X.{lang}", {"dev": "validation"}.get(split, split))
    else:
        sents = ner.read_panx(next(f for f in snakemake.input if f.endswith(f"/{split}")))
    ner.write_sentences(out, sents)
    logging.info("%s/%s: %d sentences", lang, split, len(sents))
