# Evaluation: every system re-ranks the same candidates; ir-measures scores each run per query.


def rerank_inputs(w):
    """Which encoders and document texts a system uses (queries: always the English teacher)."""
    teacher = f"results/models/teacher/seed{w.seed}"
    inputs = {
        "query_model": teacher,
        "queries": f"results/data/{w.lang}/queries.parquet",
        "candidates": f"results/candidates/{w.lang}.run",
    }
    if w.system == "optical":
        inputs["doc_model"] = f"results/models/optical/{w.lang}/seed{w.seed}"
    else:
        inputs["doc_model"] = teacher
    if w.system == "translate_test_oracle":
        inputs["docs"] = f"{WORLD}/translations/wiki_{w.lang}.en.documents"
    else:
        inputs["docs"] = f"results/data/{w.lang}/docs.parquet"
    return inputs


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


def run_file(w):
    if w.system == "random":
        return f"results/candidates/{w.lang}.run"
    return f"results/runs/{w.lang}/{w.system}/seed{w.seed}.run"


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
