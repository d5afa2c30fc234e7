# Evaluation: every system re-ranks the same candidates; ir-measures scores each run per query.


rule bm25:
    input:
        docs="results/data/{lang}/docs.parquet",
        queries=get_bm25_queries,
        candidates="results/candidates/{lang}.run",
    output:
        "results/runs/{lang}/{system}/main/seed{seed}.run",
    params:
        bm25=config["bm25"],
        # NMT translations hold the configured query text already; gold files have every field
        query_field=lambda w: "first_sent" if SYSTEM[w.system].queries == "nmt" else config["data"]["query_field"],
        code=code("bm25"),
    wildcard_constraints:
        system="|".join(BM25_SYSTEMS) or "none",
    log:
        "logs/bm25/{lang}/{system}/seed{seed}.log",
    benchmark:
        "results/benchmarks/bm25/{lang}/{system}/seed{seed}.tsv"
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
        unpack(get_evaluate_inputs),
    output:
        "results/metrics/{lang}/{system}/{variant}/seed{seed}.parquet",
    params:
        lists=CANDIDATE_LISTS,
        measures=config["evaluation"]["measures"],
        threshold=config["evaluation"]["relevance_threshold"],
        code=code("evaluate"),
    log:
        "logs/evaluate/{lang}/{system}/{variant}/seed{seed}.log",
    benchmark:
        "results/benchmarks/evaluate/{lang}/{system}/{variant}/seed{seed}.tsv"
    conda:
        "../../envs/optical.yaml"
    script:
        "../scripts/evaluate.py"


# What direct transfer runs on (synthetic world): does the teacher align the language's words with
# English, cognates and native words apart, and does OPTICAL's student (a control)? optical.probe
if SYNTHETIC:

    rule probe_alignment:
        input:
            unpack(get_probe_inputs),
        output:
            "results/probe/{lang}/seed{seed}.parquet",
        params:
            world=config["world"],
            code=code("probe_alignment"),
        threads: 1
        log:
            "logs/probe_alignment/{lang}/seed{seed}.log",
        benchmark:
            "results/benchmarks/probe_alignment/{lang}/seed{seed}.tsv"
        conda:
            "../../envs/optical.yaml"
        script:
            "../scripts/probe_alignment.py"
