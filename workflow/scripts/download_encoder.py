import os

# the hub cache lives under resources/ (set before transformers or huggingface_hub are imported)
os.environ["HF_HOME"] = os.path.abspath(snakemake.params.hf_home)

from optical.workflow import setup_logging

setup_logging(snakemake.log[0])

import logging

from optical.data.download import fetch_encoder

p = snakemake.params
stats = fetch_encoder(snakemake.output[0], p.hub_id, p.revision, p.local_path)
logging.info("encoder ready: %s", stats)
