# Students: one rule per bitext method of the registry (same budget, same held-out split), and
# translate-train. Each student is a copy of its seed's teacher whose document encoder learns the
# foreign side.


for _method in BITEXT_METHODS:

    rule:
        name:
            f"distill_{_method}"
        input:
            teacher="results/models/teacher/seed{seed}",
            bitext="results/data/{lang}/bitext.parquet",
        output:
            directory(f"results/models/{_method}/{{lang}}/{{variant}}/seed{{seed}}"),
        params:
            method=_method,
            distill=get_distill_params(_method),
            state=get_state_dir(_method),
            device=config["device"],
            code=code("distill"),
        threads: 1
        priority: 5
        resources:
            gpu=GPU,
        log:
            f"logs/distill_{_method}/{{lang}}/{{variant}}/seed{{seed}}.log",
        benchmark:
            f"results/benchmarks/distill_{_method}/{{lang}}/{{variant}}/seed{{seed}}.tsv"
        conda:
            "../../envs/optical.yaml"
        script:
            "../scripts/distill.py"


rule translate_train:
    input:
        teacher="results/models/teacher/seed{seed}",
        triples="results/data/{lang}/translate_train.parquet",
    output:
        directory("results/models/translate_train/{lang}/{variant}/seed{seed}"),
    params:
        train={**config["translate_train"], "temperature": config["teacher"]["temperature"]},
        state=get_state_dir("translate_train"),
        device=config["device"],
        code=code("translate_train"),
    threads: 1
    priority: 5
    resources:
        gpu=GPU,
    log:
        "logs/translate_train/{lang}/{variant}/seed{seed}.log",
    benchmark:
        "results/benchmarks/translate_train/{lang}/{variant}/seed{seed}.tsv"
    conda:
        "../../envs/optical.yaml"
    script:
        "../scripts/translate_train.py"
