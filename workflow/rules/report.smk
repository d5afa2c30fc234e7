# Report: tables, corrected paired tests, the research question's answer (hierarchical bootstrap),
# OPTICAL against each system, other candidate lists, gap-closed, data-efficiency and bias views,
# training budgets, NMT quality, and NER.
# Run keys reach the report through params, aligned with the inputs (never parsed from paths):
# params.training_runs[i] is the run of input.training[i] and of input.benchmarks[i] (its Snakemake
# benchmark: a rule's benchmark file is one of its products, so it can be an input);
# params.ner_runs[i] that of input.ner[i]; params.nmt_runs[i] ({language, direction, seed}) that of
# input.nmt[i] (an NMT model directory) and of input.nmt_benchmarks[i].
# Outputs marked report() make up `snakemake --report results/report/snakemake_report.html` (or .zip).
import mimetypes

# Snakemake's report offers a file by its guessed type; Python does not know Parquet's
mimetypes.add_type("application/vnd.apache.parquet", ".parquet")


rule report:
    input:
        metrics=metric_files(),
        training=[k.model_dir for k in student_runs()],
        benchmarks=[benchmark_file(k) for k in student_runs()],
        ner=[ner_metric_file(r) for r in ner_runs()],
        nmt=[nmt_dir(r) for r in nmt_runs()],
        nmt_benchmarks=[nmt_benchmark_file(r) for r in nmt_runs()],
        probe=probe_files(),  # what direct transfer runs on (synthetic world)
        # encoder tracks (tracks.smk): each track's report becomes a part of this one
        track_blocks=[track_report(t, "blocks.json") for t in TRACKS],
        track_figures=[track_report(t, "figures") for t in TRACKS],
        track_metrics=[track_report(t, "metrics.parquet") for t in TRACKS],
        track_tests=[track_report(t, "tests.parquet") for t in TRACKS],
    output:
        html=report(
            "results/report/report.html",
            caption="../report/report.rst",
            category="Report",
            labels={"file": "report.html"},
        ),
        md=report(
            "results/report/report.md",
            caption="../report/report.rst",
            category="Report",
            labels={"file": "report.md"},
        ),
        figures=report(
            directory("results/report/figures"),
            patterns=["{name}.png"],
            caption="../report/figures.rst",
            category="Figures",
            labels={"figure": "{name}"},
        ),
        metrics=report(
            "results/report/metrics.parquet",
            caption="../report/metrics.rst",
            category="Per-query data",
            labels={"file": "metrics.parquet"},
        ),
        ner_metrics=report(
            "results/report/ner_metrics.parquet",
            caption="../report/ner_metrics.rst",
            category="Per-query data",
            labels={"file": "ner_metrics.parquet"},
        ),
        tests=report(
            "results/report/tests.parquet",
            caption="../report/tests.rst",
            category="Tests",
            labels={"file": "tests.parquet"},
        ),
        blocks="results/report/blocks.json",  # the report's content, for a report that embeds it as a track
    params:
        training_runs=[k.as_dict() for k in student_runs()],
        ner_runs=ner_runs(),
        nmt_runs=nmt_runs(),
        systems=SYSTEMS,
        languages=LANGS,
        pairs=[list(p) for p in PAIRS],
        first_stage=config["candidates"]["first_stage"],
        other_lists=list(config["candidates"]["other_lists"]),
        ner_systems=NER_SYSTEMS,
        ner_languages=NER_LANGS,
        ner_resamples=config["ner"]["bootstrap_resamples"] if NER_LANGS else 0,
        measures=config["evaluation"]["measures"],
        headline=config["evaluation"]["headline_measure"],
        threshold=config["evaluation"]["relevance_threshold"],
        alpha=config["evaluation"]["alpha"],
        encoder=encoder_label(),
        tracks={t: str(f) for t, f in TRACKS.items()},
        code=code("report"),
    localrule: True
    log:
        "logs/report.log",
    benchmark:
        "results/benchmarks/report.tsv"
    conda:
        "../../envs/optical.yaml"
    script:
        "../scripts/report.py"
