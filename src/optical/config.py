"""Checks across config keys that a JSON schema cannot express. Run before any job starts."""

from __future__ import annotations

from optical.errors import ConfigError


def canonical(obj):
    """The same config with every mapping's keys in sorted order (lists keep their order)."""
    if isinstance(obj, dict):
        return {k: canonical(obj[k]) for k in sorted(obj)}
    if isinstance(obj, list):
        return [canonical(v) for v in obj]
    return obj


def check_config(config: dict) -> None:
    langs = config["languages"]
    if config["data"]["source"] == "synthetic":
        if "world" not in config:
            raise ConfigError("world", "is required when data.source is 'synthetic'")
        world_langs = config["world"]["languages"]
        for code, spec in langs.items():
            if code not in world_langs:
                raise ConfigError(f"languages.{code}", "is not a language of the synthetic world",
                                  f"one of {sorted(world_langs)}, or add world.languages.{code}")
            have = world_langs[code]["bitext_pairs"]
            if spec["bitext_pairs"] > have:
                raise ConfigError(f"languages.{code}.bitext_pairs",
                                  f"{spec['bitext_pairs']} exceeds the {have} pairs the world generates",
                                  f"at most world.languages.{code}.bitext_pairs = {have}")
        w = config["world"]
        if w["topic_size"] > w["n_concepts"] // 2:
            raise ConfigError("world.topic_size", f"{w['topic_size']} is more than half of world.n_concepts")
        if w["signature_size"] > w["topic_size"]:
            raise ConfigError("world.signature_size", "must not exceed world.topic_size")
        for key in ("sentence_length", "article_sentences"):
            lo, hi = w[key]
            if lo > hi:
                raise ConfigError(f"world.{key}", f"[{lo}, {hi}] has min > max")
    if config["data"]["source"] == "synthetic":
        _check_tiny_encoder(config)
    else:
        _check_paper(config)
    _check_ner(config)
    systems, seeds = config["systems"], config["seeds"]
    compared = [s for s in systems if s not in ("random", "direct")]
    if compared and "direct" not in systems:
        raise ConfigError("systems", f"{compared} are compared against 'direct'; list 'direct' too")
    de = config["data_efficiency"]
    _subset(de["systems"], systems, "data_efficiency.systems", "systems")
    _subset(de["seeds"], seeds, "data_efficiency.seeds", "seeds")
    dist = config["distill"]
    for code, spec in langs.items():
        n_train = spec["bitext_pairs"] - min(dist["heldout_pairs"], spec["bitext_pairs"] // 5)
        for n in de["bitext_pairs"] if de["systems"] else []:
            if n >= n_train:
                raise ConfigError("data_efficiency.bitext_pairs",
                                  f"{n} is not smaller than the {n_train} training pairs of {code} "
                                  f"(languages.{code}.bitext_pairs minus the held-out pairs)",
                                  f"sizes below {n_train}; the full bitext is the main run")
    ab = config["ablation"]
    _subset(ab["systems"], systems, "ablation.systems", "systems")
    _subset(ab["languages"], list(langs), "ablation.languages", "languages")
    _subset(ab["seeds"], seeds, "ablation.seeds", "seeds")
    if ab["systems"] and dist["ot"]["reg"] in ab["ot_reg"]:
        raise ConfigError("ablation.ot_reg", f"{dist['ot']['reg']} is distill.ot.reg, i.e. the main run")
    if ab["systems"] and dist["ot"]["max_iter"] in ab["ot_max_iter"]:
        raise ConfigError("ablation.ot_max_iter", f"{dist['ot']['max_iter']} is distill.ot.max_iter, i.e. the main run")


TINY_ENCODER_KEYS = ["vocab_size", "hidden_size", "num_layers", "num_heads", "intermediate_size",
                     "max_position_embeddings"]
PAPER_ONLY = {"encoder": ["hub_id", "revision", "local_path"],
              "languages.<code>": ["bitext", "translate_train", "query_translations", "doc_translations"]}


def _check_tiny_encoder(config: dict) -> None:
    enc = config["encoder"]
    for key in TINY_ENCODER_KEYS:
        if key not in enc:
            raise ConfigError(f"encoder.{key}", "is required when data.source is 'synthetic' (a tiny BERT is built)")
    for key in PAPER_ONLY["encoder"]:
        if key in enc:
            raise ConfigError(f"encoder.{key}", "is a paper-setting key; the synthetic world builds its own encoder")
    if "pretrain" not in config:
        raise ConfigError("pretrain", "is required when data.source is 'synthetic'")
    for code, spec in config["languages"].items():
        for key in PAPER_ONLY["languages.<code>"]:
            if key in spec:
                raise ConfigError(f"languages.{code}.{key}", "is a paper-setting key; the synthetic world "
                                  "supplies its own bitext, translations and translate-train data")
    if enc["hidden_size"] % enc["num_heads"]:
        raise ConfigError("encoder.num_heads", f"{enc['num_heads']} does not divide encoder.hidden_size={enc['hidden_size']}")
    for key in ("teacher.query_max_length", "teacher.doc_max_length", "distill.max_length", "pretrain.max_length"):
        section, name = key.split(".")
        if config[section][name] > enc["max_position_embeddings"]:
            raise ConfigError(key, f"{config[section][name]} exceeds encoder.max_position_embeddings="
                              f"{enc['max_position_embeddings']}")


def _check_paper(config: dict) -> None:
    """data.source wikiclir: every source must be downloadable or given locally."""
    data, enc = config["data"], config["encoder"]
    for key in ("ir_datasets_home", "teacher_triples", "max_triples"):
        if key not in data:
            raise ConfigError(f"data.{key}", "is required when data.source is 'wikiclir'")
    if not enc.get("hub_id") and not enc.get("local_path"):
        raise ConfigError("encoder.hub_id", "a hub id (or encoder.local_path) is required when data.source is "
                          "'wikiclir'", "e.g. bert-base-multilingual-cased, xlm-roberta-base")
    extra = [k for k in TINY_ENCODER_KEYS if k in enc]
    if extra:
        raise ConfigError(f"encoder.{extra[0]}", "builds the synthetic tiny BERT; a pretrained encoder brings "
                          "its own architecture", "encoder.hub_id, encoder.revision, encoder.local_path")
    if "pretrain" in config:
        raise ConfigError("pretrain", "is only used when data.source is 'synthetic' (the paper setting starts "
                          "from a pretrained encoder); remove it")
    systems = config["systems"]
    first_stage = config["candidates"]["first_stage"]
    for code, spec in config["languages"].items():
        bt = spec.get("bitext")
        if not bt:
            raise ConfigError(f"languages.{code}.bitext", "is required when data.source is 'wikiclir'",
                              "mtdata ids + mtdata_langs, or local_src + local_tgt")
        local = [bool(bt.get("local_src")), bool(bt.get("local_tgt"))]
        if any(local) and not all(local):
            raise ConfigError(f"languages.{code}.bitext", "set both local_src and local_tgt, or neither")
        if not any(local) and not (bt.get("mtdata") and bt.get("mtdata_langs")):
            raise ConfigError(f"languages.{code}.bitext", "needs mtdata (ids) and mtdata_langs, or local_src "
                              "and local_tgt")
        if first_stage == "bm25_translated" and not spec.get("query_translations"):
            raise ConfigError(f"languages.{code}.query_translations", "is required by candidates.first_stage "
                              "bm25_translated (BM25 cannot match English queries to foreign text)",
                              "a translated query file, or candidates.first_stage: sampled")
    for system, key in (("translate_train", "translate_train"), ("bm25", "query_translations"),
                        ("translate_test_oracle", "doc_translations")):
        if system in systems and not any(s.get(key) for s in config["languages"].values()):
            raise ConfigError("systems", f"'{system}' needs languages.<code>.{key} for at least one language",
                              f"supply it, or remove '{system}'")


def _check_ner(config: dict) -> None:
    ner = config.get("ner")
    if not ner or not ner["languages"]:
        return
    langs, systems = ner["languages"], ner["systems"]
    if "en" in langs:
        raise ConfigError("ner.languages", "'en' is the teacher's language (always evaluated as the ceiling), "
                          "not a target", "target languages only")
    if not systems:
        raise ConfigError("ner.systems", "is empty while ner.languages is not", "direct, teacher_student, ot_aligned")
    if "direct" not in systems:
        raise ConfigError("ner.systems", f"{systems} are compared against 'direct'; list 'direct' too")
    needed = ["teacher"] + (["student"] if "teacher_student" in systems else []) \
        + (["ot"] if "ot_aligned" in systems else [])
    for key in needed:
        if key not in ner:
            raise ConfigError(f"ner.{key}", f"is required by ner.systems {systems}")
    if config["data"]["source"] == "synthetic":
        if "world" not in ner:
            raise ConfigError("ner.world", "is required when data.source is 'synthetic' (the world's entities)")
        world_langs = config["world"]["languages"]
        for code in langs:
            if code not in world_langs:
                raise ConfigError("ner.languages", f"'{code}' is not a language of the synthetic world",
                                  f"a subset of {sorted(world_langs)}")
        w = ner["world"]
        names = config["world"]["n_subjects"] + config["world"]["msmarco"]["subjects"]
        shared = round(w["entities_per_type"] * (1 - w["local_share"]))
        if 6 * shared > names:
            raise ConfigError("ner.world.entities_per_type", f"{shared} shared entities per type need {6 * shared} "
                              f"names but the world has {names} (world.n_subjects + world.msmarco.subjects)",
                              f"ner.world.entities_per_type at most {int(names // 6 / (1 - w['local_share']))}")
        for key in ("mentions", "sentence_length"):
            lo, hi = w[key]
            if lo > hi:
                raise ConfigError(f"ner.world.{key}", f"[{lo}, {hi}] has min > max")
        limit = config["encoder"]["max_position_embeddings"]
        for key in needed:
            if ner[key]["max_length"] > limit:
                raise ConfigError(f"ner.{key}.max_length", f"{ner[key]['max_length']} exceeds "
                                  f"encoder.max_position_embeddings={limit}")
    else:
        if not ner.get("panx_dir") and not ner.get("hub_dataset"):
            raise ConfigError("ner.panx_dir", "the paper setting needs PAN-X: a local directory or ner.hub_dataset",
                              "ner.panx_dir: <dir>/<lang>/{train,dev,test}, or ner.hub_dataset: google/xtreme")
    if "ot_aligned" in systems and not set(langs) & set(config["languages"]):
        raise ConfigError("ner.systems", "'ot_aligned' needs bitext, i.e. an NER language that is also in "
                          "languages (retrieval); none is", "add one, or remove 'ot_aligned'")


def available(config: dict, system: str, lang: str) -> bool:
    """Whether ``system`` can run on ``lang``: in the paper setting translate-train and the
    translation-based systems need per-language data that not every language has."""
    if config["data"]["source"] == "synthetic":
        return True
    key = {"translate_train": "translate_train", "bm25": "query_translations",
           "translate_test_oracle": "doc_translations"}.get(system)
    return key is None or bool(config["languages"][lang].get(key))


def _subset(values: list, allowed: list, key: str, of: str) -> None:
    extra = [v for v in values if v not in allowed]
    if extra:
        raise ConfigError(key, f"{extra} are not in {of}", f"a subset of {of} = {allowed}")
