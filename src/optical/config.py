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
    enc = config["encoder"]
    if enc["hidden_size"] % enc["num_heads"]:
        raise ConfigError("encoder.num_heads", f"{enc['num_heads']} does not divide encoder.hidden_size={enc['hidden_size']}")
    for key in ("teacher.query_max_length", "teacher.doc_max_length", "distill.max_length", "pretrain.max_length"):
        section, name = key.split(".")
        if config[section][name] > enc["max_position_embeddings"]:
            raise ConfigError(key, f"{config[section][name]} exceeds encoder.max_position_embeddings="
                              f"{enc['max_position_embeddings']}")
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


def _subset(values: list, allowed: list, key: str, of: str) -> None:
    extra = [v for v in values if v not in allowed]
    if extra:
        raise ConfigError(key, f"{extra} are not in {of}", f"a subset of {of} = {allowed}")
