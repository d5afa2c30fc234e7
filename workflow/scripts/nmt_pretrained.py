import os

# the hub cache lives under resources/ (set before transformers or huggingface_hub are imported)
os.environ["HF_HOME"] = os.path.abspath(snakemake.params.hf_home)

from optical.workflow import setup_logging

setup_logging(snakemake.log[0])

import logging

from optical.data.download import hub_snapshot
from optical.train.nmt import adopt_pretrained

p, w = snakemake.params, snakemake.wildcards
spec = p.spec
path, origin = hub_snapshot(spec.get("hub_id"), spec.get("revision", "main"), spec.get("local_path"), None,
                            f"NMT model {w.direction} for {w.lang}", f"languages.{w.lang}.nmt_models.{w.direction}.local_path")
record = adopt_pretrained(path, snakemake.output[0], snakemake.input.bitext, p.cfg, w.direction, p.heldout_pairs,
                          origin, p.device)
logging.info("pretrained NMT %s ready: %s", w.direction, {k: v for k, v in record.items() if k != "heldout_curve"})
