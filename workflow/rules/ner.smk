# The second task: cross-lingual NER (PAN-X), English teacher -> direct transfer, teacher-student
# learning (Wu et al. 2020) and an OT-aligned encoder, evaluated with seqeval. Off when
# ner.languages is empty. NER rules use their own wildcards: NER languages need not be retrieval
# languages (PAN-X has languages WikiCLIR lacks) and "en" is evaluated too (the teacher's ceiling).


wildcard_constraints:
    nlang="|".join(["en"] + NER_LANGS) or "none",
    nsystem="|".join(NER_SYSTEMS) or "none",
    split="train|dev|test",


if NER_LANGS and SYNTHETIC:

    rule ner_world:
        output:
            expand(f"{WORLD}/ner/{{l}}/{{split}}", l=[PIVOT] + WORLD_LANGS, split=NER_SPLITS),
        params:
            world=config["world"],
            ner=config["ner"]["world"],
            langs=WORLD_LANGS,
            code=code("ner_world"),
        log:
            "logs/ner/world.log",
        benchmark:
            "results/benchmarks/ner_world.tsv"
        conda:
            "../../envs/optical.yaml"
        script:
            "../scripts/ner_world.py"


rule ner_data:
    input:
        get_ner_source_files,
    output:
        expand("results/data/ner/{{nlang}}/{split}.parquet", split=NER_SPLITS),
    params:
        hub_dataset=lambda w: None if SYNTHETIC or config["ner"].get("panx_dir") else config["ner"]["hub_dataset"],
        code=code("ner_data"),
    log:
        "logs/ner/data/{nlang}.log",
    benchmark:
        "results/benchmarks/ner_data/{nlang}.tsv"
    conda:
        "../../envs/optical.yaml"
    script:
        "../scripts/ner_data.py"


rule ner_teacher:
    input:
        encoder=get_encoder,
        train="results/data/ner/en/train.parquet",
    output:
        directory("results/models/ner/teacher/seed{seed}"),
    params:
        cfg=config["ner"].get("teacher"),
        state=get_state_dir("ner/teacher"),
        device=config["device"],
        code=code("ner_train"),
    threads: 1  # as the teacher rule
    priority: 11  # before the one-thread jobs of priority 5 (every NER student waits for it)
    resources:
        gpu=GPU,
    log:
        "logs/ner/teacher/seed{seed}.log",
    benchmark:
        "results/benchmarks/ner_teacher/seed{seed}.tsv"
    conda:
        "../../envs/optical.yaml"
    script:
        "../scripts/ner_train.py"


rule ner_teacher_student:
    input:
        teacher="results/models/ner/teacher/seed{seed}",
        init=lambda w: encoder_dir(w.seed) if config["ner"]["student"]["init"] == "encoder" else f"results/models/ner/teacher/seed{w.seed}",
        train="results/data/ner/{nlang}/train.parquet",
    output:
        directory("results/models/ner/teacher_student/{nlang}/seed{seed}"),
    params:
        cfg=config["ner"].get("student"),
        state=get_state_dir("ner/teacher_student"),
        device=config["device"],
        code=code("ner_train"),
    threads: 1
    resources:
        gpu=GPU,
    log:
        "logs/ner/teacher_student/{nlang}/seed{seed}.log",
    benchmark:
        "results/benchmarks/ner_teacher_student/{nlang}/seed{seed}.tsv"
    conda:
        "../../envs/optical.yaml"
    script:
        "../scripts/ner_train.py"


rule ner_ot_aligned:
    input:
        teacher="results/models/ner/teacher/seed{seed}",
        bitext="results/data/{nlang}/bitext.parquet",
    output:
        directory("results/models/ner/{nsystem}/{nlang}/seed{seed}"),
    params:
        cfg=config["ner"].get("ot"),
        ot=config["distill"]["ot"],
        objective=lambda w: registry.NER[w.nsystem].objective,
        state=get_state_dir("ner"),
        device=config["device"],
        code=code("ner_train"),
    wildcard_constraints:
        nsystem="|".join(NER_OT_SYSTEMS) or "none",
    threads: 1
    resources:
        gpu=GPU,
    log:
        "logs/ner/{nsystem}/{nlang}/seed{seed}.log",
    benchmark:
        "results/benchmarks/ner_ot_aligned/{nsystem}/{nlang}/seed{seed}.tsv"
    conda:
        "../../envs/optical.yaml"
    script:
        "../scripts/ner_train.py"


rule ner_evaluate:
    input:
        model=get_ner_model,
        test="results/data/ner/{nlang}/test.parquet",
    output:
        "results/ner/{nlang}/{nsystem}/seed{seed}.parquet",
    params:
        max_length=config["ner"].get("teacher", {}).get("max_length"),
        batch_size=config["evaluation"]["rerank_batch_size"],
        device=config["device"],
        code=code("ner_evaluate"),
    threads: 1
    resources:
        gpu=GPU,
    log:
        "logs/ner/evaluate/{nlang}/{nsystem}/seed{seed}.log",
    benchmark:
        "results/benchmarks/ner_evaluate/{nlang}/{nsystem}/seed{seed}.tsv"
    conda:
        "../../envs/optical.yaml"
    script:
        "../scripts/ner_evaluate.py"
