# Report: tables, paired tests and plots from every per-query metric.


rule report:
    input:
        metrics=all_metric_files(),
        training=expand(
            "results/models/optical/{lang}/seed{seed}", lang=LANGS, seed=SEEDS
        )
        if "optical" in SYSTEMS
        else [],
    output:
        html="results/report/report.html",
        md="results/report/report.md",
        metrics="results/report/metrics.parquet",
    params:
        systems=SYSTEMS,
        languages=LANGS,
        measures=config["evaluation"]["measures"],
        threshold=config["evaluation"]["relevance_threshold"],
        baseline="direct",
        code=code_hash("report", "stats", "io"),
    localrule: True
    log:
        "logs/report.log",
    conda:
        "../../envs/optical.yaml"
    script:
        "../scripts/report.py"
