from optical.workflow import setup_logging

setup_logging(snakemake.log[0])

from optical.report import build_report

p = snakemake.params
build_report(metric_files=list(snakemake.input.metrics), training_dirs=list(snakemake.input.training),
             out_html=snakemake.output.html, out_md=snakemake.output.md, out_metrics=snakemake.output.metrics,
             systems=p.systems, languages=p.languages, measures=p.measures, threshold=p.threshold,
             alpha=p.alpha, baseline=p.baseline, pairs=p.pairs,
             first_stage=p.first_stage,
             ner={"files": list(snakemake.input.ner), "systems": p.ner_systems, "languages": p.ner_languages,
                  "resamples": p.ner_resamples, "out_metrics": snakemake.output.ner_metrics})
