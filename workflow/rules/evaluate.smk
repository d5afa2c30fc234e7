# Evaluation: every system re-ranks the same candidates; ir-measures scores each run per query.


rule rerank:
    input:
        unpack(rerank_inputs),
    output:
        "results/runs/{lang}/{system}/seed{seed}.run",
    params:
        batch_size=config["evaluation"]["rerank_batch_size"],
        device=config["device"],
        code=code_hash("rerank", "models", "wikiclir", "io"),
    threads: 1
    resources:
        gpu=1,
    log:
        "logs/rerank/{lang}/{system}/seed{seed}.log",
    benchmark:
        "results/benchmarks/rerank/{lang}/{system}/seed{seed}.tsv"
    conda:
        "../../envs/optical.yaml"
    script:
        "../scripts/rerank.py"


rule evaluate:
    input:
        run=run_file,
        qrels="results/candidates/{lang}.qrels",
    output:
        "results/metrics/{lang}/{system}/seed{seed}.parquet",
    params:
        measures=config["evaluation"]["measures"],
        threshold=config["evaluation"]["relevance_threshold"],
        code=code_hash("evaluate", "io"),
    log:
        "logs/evaluate/{lang}/{system}/seed{seed}.log",
    conda:
        "../../envs/optical.yaml"
    script:
        "../scripts/evaluate.py"
