"""Glue between Snakemake jobs and the package: logging into the rule's log file, code hashes."""

from __future__ import annotations

import hashlib
import logging
import os
import platform
import sys
import warnings
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent


def setup_logging(log_path: str | None) -> None:
    """Send logging, warnings and stderr of a job to its ``log:`` file."""
    handlers = [logging.FileHandler(log_path, mode="w")] if log_path else [logging.StreamHandler()]
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s",
                        handlers=handlers, force=True)
    logging.captureWarnings(True)
    if log_path:
        sys.stderr = open(log_path, "a", buffering=1)
    warnings.filterwarnings("ignore", message=".*TypedStorage is deprecated.*")
    if "SLURM_JOB_ID" in os.environ:  # which scheduler job wrote this log
        logging.info("SLURM_JOB_ID=%s host=%s partition=%s", os.environ["SLURM_JOB_ID"], platform.node(),
                     os.environ.get("SLURM_JOB_PARTITION", "?"))


def code_hash(*modules: str) -> str:
    """Hash of package modules a stage runs. Snakemake sees edits to a rule's script but not to the
    modules it imports, so rules pass this as a param: editing the module reruns the stage."""
    h = hashlib.sha256()
    for m in sorted(set(modules)):
        h.update(m.encode())
        h.update((PACKAGE_DIR / f"{m}.py").read_bytes())
    return h.hexdigest()[:16]
