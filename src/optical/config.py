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
    if "optical" in config["systems"] and "direct" not in config["systems"]:
        raise ConfigError("systems", "'optical' is compared against 'direct'; list both")
