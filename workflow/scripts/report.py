from optical.workflow import setup_logging

setup_logging(snakemake.log[0])

from optical.report.build import build_report
from optical.report.context import Settings
from optical.report.tracks import TrackReport

inp, out, p = snakemake.input, snakemake.output, snakemake.params
settings = Settings(systems=p.systems, languages=p.languages, measures=p.measures, headline=p.headline,
                    threshold=p.threshold, alpha=p.alpha, pairs=p.pairs, first_stage=p.first_stage,
                    other_lists=p.other_lists, ner_systems=p.ner_systems, ner_languages=p.ner_languages,
                    ner_resamples=p.ner_resamples)
tracks = [TrackReport(name, file, *paths) for (name, file), *paths in
          zip(p.tracks.items(), inp.track_blocks, inp.track_figures, inp.track_metrics, inp.track_tests)]
build_report(settings=settings, metric_files=list(inp.metrics), training_runs=p.training_runs,
             training_dirs=list(inp.training), benchmark_files=list(inp.benchmarks), ner_runs=p.ner_runs,
             ner_files=list(inp.ner), nmt_runs=p.nmt_runs, nmt_dirs=list(inp.nmt),
             nmt_benchmark_files=list(inp.nmt_benchmarks), out_html=out.html, out_md=out.md,
             out_metrics=out.metrics, out_figures=out.figures, out_ner_metrics=out.ner_metrics, out_tests=out.tests,
             encoder=p.encoder, out_blocks=out.blocks, tracks=tracks, probe_files=list(inp.probe))
