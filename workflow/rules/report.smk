# Report: tables, corrected paired tests, gap-closed, data-efficiency and bias views, and NER.
# Run keys reach the report through params, aligned with the inputs (never parsed from paths).
# Outputs marked report() make up `snakemake --report results/report/snakemake_report.html` (or .zip).
import mimetypes

# Snakemake's report offers a file by its guessed type; Python does not know Parquet's
mimetypes.add_type("application/vnd.apache.parquet", ".parquet")


rule report:
    input:
        metrics=metric_files(),
        training=[k.model_dir for k in student_runs()],
        ner=[ner_metric_file(r) for r in ner_runs()],
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
    params:
        training_runs=[k.as_dict() for k in student_runs()],
        ner_runs=ner_runs(),
        systems=SYSTEMS,
        languages=LANGS,
        pairs=[list(p) for p in PAIRS],
        first_stage=config["candidates"]["first_stage"],
        ner_systems=NER_SYSTEMS,
        ner_languages=NER_LANGS,
        ner_resamples=config["ner"]["bootstrap_resamples"] if NER_LANGS else 0,
        measures=config["evaluation"]["measures"],
        headline=config["evaluation"]["headline_measure"],
        threshold=config["evaluation"]["relevance_threshold"],
        alpha=config["evaluation"]["alpha"],
        code=code("report"),
    localrule: True
    log:
        "logs/report.log",
    conda:
        "../../envs/optical.yaml"
    script:
        "../scripts/report.py"
