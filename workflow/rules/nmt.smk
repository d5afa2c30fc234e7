# The NMT baseline: Marian models trained from scratch on exactly the bitext the students get (the
# same training split), per language, direction and seed. xx-en translates the documents into
# English (nmt_translate_test); en-xx translates the queries into the language (bm25_nmt, and with
# seed 0 the bm25_nmt candidate list). In the paper setting a language and direction may name a
# pretrained Marian model instead (languages.<code>.nmt_models: opus-mt from the hub, or a local copy).


wildcard_constraints:
    direction="xx-en|en-xx",


# keys only the translation jobs read: editing them reruns no training
NMT_TRANSLATION_ONLY = {"keep_titles"}


rule nmt_train:
    input:
        bitext="results/data/{lang}/bitext.parquet",
    output:
        directory("results/models/nmt/{direction}/{lang}/seed{seed}"),
    params:
        cfg={k: v for k, v in config["nmt"].items() if k not in NMT_TRANSLATION_ONLY},
        heldout_pairs=config["distill"]["heldout_pairs"],  # the students' held-out split
        state=get_state_dir("nmt"),
        device=config["device"],
        code=code("nmt_train"),
    threads: 1
    priority: 5
    resources:
        gpu=GPU,
    log:
        "logs/nmt_train/{direction}/{lang}/seed{seed}.log",
    benchmark:
        "results/benchmarks/nmt_train/{direction}/{lang}/seed{seed}.tsv"
    conda:
        "../../envs/optical.yaml"
    script:
        "../scripts/nmt_train.py"


if not LOCAL_WORLD:

    rule nmt_pretrained:
        input:
            bitext="results/data/{lang}/bitext.parquet",  # its held-out pairs score the model
            local=lambda w: local_copies(pretrained_nmt(w.lang, w.direction).get("local_path")),
        output:
            directory(f"{RESOURCES}/models/nmt/{{direction}}/{{lang}}"),
        params:
            spec=lambda w: pretrained_nmt(w.lang, w.direction),
            cfg={k: v for k, v in config["nmt"].items() if k not in NMT_TRANSLATION_ONLY},
            heldout_pairs=config["distill"]["heldout_pairs"],
            hf_home=f"{RESOURCES}/huggingface",
            device=config["device"],
            code=code("nmt_pretrained"),
        localrule: True  # downloads run on the submitting host
        log:
            "logs/nmt_pretrained/{direction}/{lang}.log",
        benchmark:
            "results/benchmarks/nmt_pretrained/{direction}/{lang}.tsv"
        conda:
            "../../envs/optical.yaml"
        script:
            "../scripts/nmt_pretrained.py"


rule nmt_translate_documents:
    input:
        model=lambda w: nmt_model_dir(w.lang, "xx-en", w.seed),
        texts="results/data/{lang}/docs.parquet",
    output:
        nmt_translations("{lang}", "{seed}", "documents"),
    params:
        kind="documents",
        cfg=config["nmt"],
        device=config["device"],
        code=code("nmt_translate"),
    threads: 1
    resources:
        gpu=GPU,
    log:
        "logs/nmt_translate/{lang}/seed{seed}.documents.log",
    benchmark:
        "results/benchmarks/nmt_translate_documents/{lang}/seed{seed}.tsv"
    conda:
        "../../envs/optical.yaml"
    script:
        "../scripts/nmt_translate.py"


rule nmt_translate_queries:
    input:
        model=lambda w: nmt_model_dir(w.lang, "en-xx", w.seed),
        texts="results/data/{lang}/queries.parquet",
    output:
        nmt_translations("{lang}", "{seed}", "queries"),
    params:
        kind="queries",
        cfg=config["nmt"],
        device=config["device"],
        code=code("nmt_translate"),
    threads: 1
    resources:
        gpu=GPU,
    log:
        "logs/nmt_translate/{lang}/seed{seed}.queries.log",
    benchmark:
        "results/benchmarks/nmt_translate_queries/{lang}/seed{seed}.tsv"
    conda:
        "../../envs/optical.yaml"
    script:
        "../scripts/nmt_translate.py"
