# Data: WikiCLIR via ir_datasets, teacher and translate-train triples, bitext, candidates. The synthetic
# world writes its sources here; the paper setting's downloads are in download.smk.


if SYNTHETIC:

    rule make_world:
        output:
            queries=f"{WIKICLIR_SRC}/english/wiki_en.queries",
            documents=[wikiclir_files(l)["documents"] for l in WORLD_LANGS],
            qrels=[wikiclir_files(l)["qrels"] for l in WORLD_LANGS],
            translations=expand(f"{WORLD}/translations/wiki_{{l}}.en.documents", l=WORLD_LANGS),
            query_translations=expand(
                f"{WORLD}/translations/wiki_en.{{l}}.queries", l=WORLD_LANGS
            ),
            mmarco=expand(f"{WORLD}/mmarco/{{l}}_collection.tsv", l=WORLD_LANGS),
            bitext=expand(f"{WORLD}/bitext/en-{{l}}.parquet", l=WORLD_LANGS),
            mono=expand(f"{WORLD}/mono/{{l}}.txt", l=[PIVOT] + WORLD_LANGS),
            msmarco=multiext(
                f"{WORLD}/msmarco/",
                "collection.tsv",
                "queries.train.tsv",
                "qrels.train.tsv",
                "qidpidtriples.train.tsv",
            ),
            manifest=f"{WORLD}/manifest.json",
        params:
            world=config["world"],
            code=code_hash("synthetic", "io"),
        log:
            "logs/make_world.log",
        benchmark:
            "results/benchmarks/make_world.tsv"
        conda:
            "../../envs/optical.yaml"
        script:
            "../scripts/make_world.py"


    rule teacher_data:
        input:
            collection=f"{WORLD}/msmarco/collection.tsv",
            queries=f"{WORLD}/msmarco/queries.train.tsv",
            triples=f"{WORLD}/msmarco/qidpidtriples.train.tsv",
        output:
            "results/data/msmarco/triples.parquet",
        params:
            max_triples=0,
            seed=0,
            code=code_hash("msmarco", "io"),
        log:
            "logs/teacher_data.log",
        conda:
            "../../envs/optical.yaml"
        script:
            "../scripts/teacher_data.py"


    rule translate_train_data:
        input:
            collection=f"{WORLD}/mmarco/{{lang}}_collection.tsv",
            queries=f"{WORLD}/msmarco/queries.train.tsv",
            triples=f"{WORLD}/msmarco/qidpidtriples.train.tsv",
        output:
            "results/data/{lang}/translate_train.parquet",
        params:
            max_triples=0,
            seed=0,
            code=code_hash("msmarco", "io"),
        log:
            "logs/translate_train_data/{lang}.log",
        conda:
            "../../envs/optical.yaml"
        script:
            "../scripts/teacher_data.py"


rule collection:
    input:
        unpack(lambda w: collection_inputs(w.lang)),
    output:
        docs="results/data/{lang}/docs.parquet",
        queries="results/data/{lang}/queries.parquet",
        qrels="results/data/{lang}/qrels.parquet",
    params:
        home=IRDS_HOME,
        query_field=config["data"]["query_field"],
        code=code_hash("wikiclir", "io"),
    log:
        "logs/collection/{lang}.log",
    conda:
        "../../envs/optical.yaml"
    script:
        "../scripts/collection.py"


rule bitext:
    input:
        f"{WORLD}/bitext/en-{{lang}}.parquet" if SYNTHETIC else f"{RESOURCES}/bitext/en-{{lang}}.parquet",
    output:
        "results/data/{lang}/bitext.parquet",
    params:
        pairs=lambda w: config["languages"][w.lang]["bitext_pairs"],
        seed=0,
        code=code_hash("bitext", "io"),
    log:
        "logs/bitext/{lang}.log",
    conda:
        "../../envs/optical.yaml"
    script:
        "../scripts/bitext.py"


rule candidates:
    input:
        unpack(candidate_inputs),
    output:
        run="results/candidates/{lang}.run",
        qrels="results/candidates/{lang}.qrels",
    params:
        queries=config["candidates"]["queries"],
        depth=config["candidates"]["depth"],
        first_stage=config["candidates"]["first_stage"],
        bm25=lambda w: config["bm25"] if config["candidates"]["first_stage"] == "bm25_translated" else None,
        query_field=lambda w: (
            config["data"]["query_field"] if config["candidates"]["first_stage"] == "bm25_translated" else None
        ),
        seed=0,
        code=code_hash("candidates", "bm25", "io"),
    log:
        "logs/candidates/{lang}.log",
    conda:
        "../../envs/optical.yaml"
    script:
        "../scripts/candidates.py"
