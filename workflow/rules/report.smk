# Report: tables, corrected paired tests, gap-closed, data-efficiency and bias views.


rule report:
    input:
        metrics=all_metric_files(),
        training=training_dirs(),
        ner=ner_metric_files(),
    output:
        html="results/report/report.html",
        md="results/report/report.md",
        metrics="results/report/metrics.parquet",
        ner_metrics="results/report/ner_metrics.parquet",
    params:
        systems=SYSTEMS,
        languages=LANGS,
        pairs=[list(p) for p in PAIRS],
        first_stage=config["candidates"]["first_stage"],
        ner_systems=NER_SYSTEMS,
        ner_languages=NER_LANGS,
        ner_resamples=config["ner"]["bootstrap_resamples"] if NER_LANGS else 0,
        measures=config["evaluation"]["measures"],
        threshold=config["evaluation"]["relevance_threshold"],
        alpha=config["evaluation"]["alpha"],
        baseline="direct",
        code=code_hash("report", "ner_report", "ner", "stats", "io"),
    localrule: True
    log:
        "logs/report.log",
    conda:
        "../../envs/optical.yaml"
    script:
        "../scripts/report.py"
