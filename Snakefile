# OPTICAL reproduction: data -> teacher -> distillation per language -> evaluation -> report.
from snakemake.utils import min_version

min_version("9.0")


# A --configfile given on the command line replaces the default instead of being merged into it,
# so every config file is complete (a merge could never remove a default language).
if not workflow.config_settings.configfiles:

    configfile: "config/config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/download.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/teacher.smk"
include: "workflow/rules/distill.smk"
include: "workflow/rules/nmt.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/ner.smk"
include: "workflow/rules/report.smk"
include: "workflow/rules/tracks.smk"


rule all:
    default_target: True
    input:
        rules.report.output,
