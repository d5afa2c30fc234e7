# Evaluation: every system re-ranks the same candidates; ir-measures scores each run per query.


rule bm25:
    input:
        docs="results/data/{lang}/docs.parquet",
        queries=lambda w: query_translations(w.lang),
        candidates="results/candidates/{lang}.run",
    output:
        "results/runs/{lang}/bm25/main/seed0.run",
    params:
        bm25=config["bm25"],
        query_field=config["data"]["query_field"],
        code=code("bm25"),
    log:
        "logs/bm25/{lang}.log",
    conda:
        "../../envs/optical.yaml"
    script:
        "../scripts/bm25.py"


rule rerank:
    input:
        unpack(get_rerank_inputs),
    output:
        "results/runs/{lang}/{system}/{variant}/seed{seed}.run",
    params:
        batch_size=config["evaluation"]["rerank_batch_size"],
        device=config["device"],
        code=code("rerank"),
    threads: 1
    resources:
        gpu=GPU,
    wildcard_constraints:
        system="|".join(RERANKED) or "none",
    log:
        "logs/rerank/{lang}/{system}/{variant}/seed{seed}.log",
    benchmark:
        "results/benchmarks/rerank/{lang}/{system}/{variant}/seed{seed}.tsv"
    conda:
        "../../envs/optical.yaml"
    script:
        "../scripts/rerank.py"


rule evaluate:
    input:
        run=get_run_file,
        qrels="results/candidates/{lang}.qrels",
    output:
        "results/metrics/{lang}/{system}/{variant}/seed{seed}.parquet",
    params:
        measures=config["evaluation"]["measures"],
        threshold=config["evaluation"]["relevance_threshold"],
        code=code("evaluate"),
    log:
        "logs/evaluate/{lang}/{system}/{variant}/seed{seed}.log",
    conda:
        "../../envs/optical.yaml"
    script:
        "../scripts/evaluate.py"
