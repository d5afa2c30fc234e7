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
            code=code("make_world"),
        log:
            "logs/make_world.log",
        benchmark:
            "results/benchmarks/make_world.tsv"
        conda:
            "../../envs/optical.yaml"
        script:
            "../scripts/make_world.py"


if BIBLE:

    # the English-Chichewa track: the packaged Bibles, aligned by verse and split by book, written in
    # the layouts the synthetic world uses (the test collection in the local collection format)
    rule make_bible:
        output:
            collection=[local_collection(l)[k] for l in LANGS for k in BIBLE_COLLECTION],
            translations=expand(f"{WORLD}/translations/wiki_{{l}}.en.documents", l=LANGS),
            query_translations=expand(f"{WORLD}/translations/wiki_en.{{l}}.queries", l=LANGS),
            mmarco=expand(f"{WORLD}/mmarco/{{l}}_collection.tsv", l=LANGS),
            bitext=expand(f"{WORLD}/bitext/en-{{l}}.parquet", l=LANGS),
            mono=expand(f"{WORLD}/mono/{{l}}.txt", l=[PIVOT] + LANGS),
            msmarco=multiext(
                f"{WORLD}/msmarco/",
                "collection.tsv",
                "queries.train.tsv",
                "qrels.train.tsv",
                "qidpidtriples.train.tsv",
            ),
            manifest=f"{WORLD}/manifest.json",
        params:
            bible=config["bible"],
            packages=bible_package_versions(),
            code=code("make_bible"),
        log:
            "logs/make_bible.log",
        benchmark:
            "results/benchmarks/make_bible.tsv"
        conda:
            "../../envs/optical.yaml"
        script:
            "../scripts/make_bible.py"


# English triples for the teacher (synthetic: the world's MS MARCO files; paper: ir_datasets)
rule teacher_data:
    input:
        unpack(get_triples_inputs),
    output:
        "results/data/msmarco/triples.parquet",
    params:
        irds=get_triples_params,
        seed=0,
        code=code("teacher_data"),
    log:
        "logs/teacher_data.log",
    benchmark:
        "results/benchmarks/teacher_data.tsv"
    conda:
        "../../envs/optical.yaml"
    script:
        "../scripts/teacher_data.py"


# the same triples with passages translated into {lang} (the world's mMARCO; paper: mMARCO)
rule translate_train_data:
    input:
        unpack(get_triples_inputs),
    output:
        "results/data/{lang}/translate_train.parquet",
    params:
        irds=get_triples_params,
        seed=0,
        code=code("teacher_data"),
    log:
        "logs/translate_train_data/{lang}.log",
    benchmark:
        "results/benchmarks/translate_train_data/{lang}.tsv"
    conda:
        "../../envs/optical.yaml"
    script:
        "../scripts/teacher_data.py"


rule collection:
    input:
        unpack(get_collection_inputs),
    output:
        docs="results/data/{lang}/docs.parquet",
        queries="results/data/{lang}/queries.parquet",
        qrels="results/data/{lang}/qrels.parquet",
    params:
        home=IRDS_HOME,
        query_field=config["data"]["query_field"],
        local=lambda w: local_collection(w.lang),
        code=code("collection"),
    log:
        "logs/collection/{lang}.log",
    benchmark:
        "results/benchmarks/collection/{lang}.tsv"
    conda:
        "../../envs/optical.yaml"
    script:
        "../scripts/collection.py"


rule bitext:
    input:
        f"{WORLD}/bitext/en-{{lang}}.parquet" if LOCAL_WORLD else f"{RESOURCES}/bitext/en-{{lang}}.parquet",
    output:
        "results/data/{lang}/bitext.parquet",
    params:
        pairs=lambda w: config["languages"][w.lang]["bitext_pairs"],
        seed=0,
        code=code("bitext"),
    log:
        "logs/bitext/{lang}.log",
    benchmark:
        "results/benchmarks/bitext/{lang}.tsv"
    conda:
        "../../envs/optical.yaml"
    script:
        "../scripts/bitext.py"


rule candidates:
    input:
        unpack(get_candidate_inputs),
    output:
        run="results/candidates/{lang}.run",  # the union of the lists: what systems re-rank
        qrels="results/candidates/{lang}.qrels",
        lists=expand("results/candidates/{{lang}}/{name}.run", name=CANDIDATE_LISTS),
    params:
        lists=CANDIDATE_LISTS,
        queries=config["candidates"]["queries"],
        depth=config["candidates"]["depth"],
        # BM25 settings only where BM25 makes candidates, so editing them reruns nothing else
        bm25=config["bm25"] if set(CANDIDATE_LISTS) - {"sampled"} else None,
        query_field=config["data"]["query_field"] if "bm25_translated" in CANDIDATE_LISTS else None,
        seed=0,
        code=code("candidates"),
    log:
        "logs/candidates/{lang}.log",
    benchmark:
        "results/benchmarks/candidates/{lang}.tsv"
    conda:
        "../../envs/optical.yaml"
    script:
        "../scripts/candidates.py"
