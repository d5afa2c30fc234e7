# Paper setting (data.source: wikiclir): one download job per source, each a cached artifact under
# resources/, or a local copy where the config names one (offline clusters). Downloads run on the
# submitting host (localrule): compute nodes often have no internet.

if not LOCAL_WORLD:

    rule download_wikiclir:
        input:
            local_copies(config["data"]["wikiclir"].get("archive"), config["data"]["wikiclir"].get("source_dir")),
        output:
            f"{MANIFESTS}/wikiclir.json",
        params:
            home=IRDS_HOME,
            wikiclir=config["data"]["wikiclir"],
            code=code("download_wikiclir"),
        localrule: True
        log:
            "logs/download/wikiclir.log",
        benchmark:
            "results/benchmarks/download_wikiclir.tsv"
        conda:
            "../../envs/optical.yaml"
        script:
            "../scripts/download_wikiclir.py"

    rule download_msmarco:
        output:
            f"{MANIFESTS}/msmarco.json",
        params:
            home=IRDS_HOME,
            ids=[config["data"]["teacher_triples"]],
            source="MS MARCO passage",
            code=code("download_irds"),
        localrule: True
        log:
            "logs/download/msmarco.log",
        benchmark:
            "results/benchmarks/download_msmarco.tsv"
        conda:
            "../../envs/optical.yaml"
        script:
            "../scripts/download_irds.py"

    rule download_mmarco:
        output:
            f"{MANIFESTS}/mmarco/{{lang}}.json",
        params:
            home=IRDS_HOME,
            ids=lambda w: [config["languages"][w.lang]["translate_train"]],
            source="mMARCO",
            code=code("download_irds"),
        localrule: True
        log:
            "logs/download/mmarco/{lang}.log",
        benchmark:
            "results/benchmarks/download_mmarco/{lang}.tsv"
        conda:
            "../../envs/optical.yaml"
        script:
            "../scripts/download_irds.py"

    rule download_bitext:
        input:
            lambda w: local_copies(
                config["languages"][w.lang]["bitext"].get("local_src"),
                config["languages"][w.lang]["bitext"].get("local_tgt"),
            ),
        output:
            f"{RESOURCES}/bitext/en-{{lang}}.parquet",
        params:
            spec=lambda w: config["languages"][w.lang]["bitext"],
            cache=f"{RESOURCES}/mtdata",
            code=code("download_bitext"),
        localrule: True
        log:
            "logs/download/bitext/{lang}.log",
        benchmark:
            "results/benchmarks/download_bitext/{lang}.tsv"
        conda:
            "../../envs/optical.yaml"
        script:
            "../scripts/download_bitext.py"


if not PRETRAIN:  # a hub encoder, or a local model directory (encoder.local_path)

    rule download_encoder:
        input:
            local_copies(config["encoder"].get("local_path")),
        output:
            directory(ENCODER),
        params:
            hub_id=config["encoder"].get("hub_id"),
            revision=config["encoder"].get("revision", "main"),
            local_path=lambda w, input: input[0] if input else None,  # the input: a local model directory
            hf_home=f"{RESOURCES}/huggingface",
            code=code("download_encoder"),
        localrule: True
        log:
            "logs/download/encoder.log",
        benchmark:
            "results/benchmarks/download_encoder.tsv"
        conda:
            "../../envs/optical.yaml"
        script:
            "../scripts/download_encoder.py"
