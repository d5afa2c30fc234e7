# OPTICAL: one student per language and seed, distilled from the teacher on bitext only.


rule distill_optical:
    input:
        teacher="results/models/teacher/seed{seed}",
        bitext="results/data/{lang}/bitext.parquet",
    output:
        directory("results/models/optical/{lang}/seed{seed}"),
    params:
        distill=config["distill"],
        device=config["device"],
        code=code_hash("distill", "transport", "models", "io"),
    threads: 1
    priority: 5
    resources:
        gpu=1,
    log:
        "logs/distill_optical/{lang}/seed{seed}.log",
    benchmark:
        "results/benchmarks/distill_optical/{lang}/seed{seed}.tsv"
    conda:
        "../../envs/optical.yaml"
    script:
        "../scripts/distill_optical.py"
