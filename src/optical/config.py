"""Checks across config keys that a JSON schema cannot express. Run before any job starts.

``workflow/schemas/config.schema.yaml`` runs first and owns every rule about one key: types,
ranges, unknown keys, and which keys ``data.source`` requires or forbids (its ``if``/``then``
rules). The checks here assume a config that passed it; they compare values across keys (subsets,
orders, sums, sizes) and check system names against the registry (:mod:`optical.registry`), which
the schema does not list so that adding a system takes no schema edit.
"""

from __future__ import annotations

from optical import registry
from optical.data.wikiclir import WIKICLIR_DIRS
from optical.errors import ConfigError


def canonical(obj):
    """The same config with every mapping's keys in sorted order (lists keep their order)."""
    if isinstance(obj, dict):
        return {k: canonical(obj[k]) for k in sorted(obj)}
    if isinstance(obj, list):
        return [canonical(v) for v in obj]
    return obj


def check_config(config: dict) -> None:
    """Raise a :class:`ConfigError` naming the key at fault, or return for a consistent config.
    System names are checked first: later checks look systems up in the registry."""
    _check_systems(config)
    source = config["data"]["source"]
    if source == "synthetic":
        _check_world(config)
    else:
        _check_no_gold_alignment(config)
    if source == "wikiclir":
        _check_paper(config)
    elif not config["encoder"].get("local_path"):
        _check_tiny_encoder(config)
    _check_ner(config)
    _check_data_efficiency(config)
    _check_ablation(config)
    _check_headline_measure(config)
    _check_candidates_and_nmt(config)


def candidate_lists(config: dict) -> list[str]:
    """Every candidate list, the headline one first."""
    return [config["candidates"]["first_stage"]] + list(config["candidates"]["other_lists"])


def available(config: dict, system: str, lang: str) -> bool:
    """Whether ``system`` can run on ``lang``: in the paper setting a system that needs per-language
    data (the registry's ``needs``: translate-train triples, translations) runs only where it is given.
    A local world (synthetic, bible) supplies all of it."""
    if config["data"]["source"] != "wikiclir":
        return True
    return all(need == "bitext" or config["languages"][lang].get(need) for need in registry.RETRIEVAL[system].needs)


# --- retrieval ------------------------------------------------------------------------------

def _check_systems(config: dict) -> None:
    """Registered names, each tested against the baseline, so the baseline must run too."""
    systems = config["systems"]
    registry.check_names(systems, "systems")
    compared = [s for s in systems if s not in ("random", registry.BASELINE)]
    if compared and registry.BASELINE not in systems:
        raise ConfigError("systems", f"{compared} are compared against '{registry.BASELINE}'; "
                          f"list '{registry.BASELINE}' too")


def _check_world(config: dict) -> None:
    """data.source synthetic: the evaluated languages exist in the world, with enough bitext."""
    world = config["world"]
    world_langs = world["languages"]
    for code, spec in config["languages"].items():
        if code not in world_langs:
            raise ConfigError(f"languages.{code}", "is not a language of the synthetic world",
                              f"one of {sorted(world_langs)}, or add world.languages.{code}")
        have = world_langs[code]["bitext_pairs"]
        if spec["bitext_pairs"] > have:
            raise ConfigError(f"languages.{code}.bitext_pairs",
                              f"{spec['bitext_pairs']} exceeds the {have} pairs the world generates",
                              f"at most world.languages.{code}.bitext_pairs = {have}")
    if world["topic_size"] > world["n_concepts"] // 2:
        raise ConfigError("world.topic_size", f"{world['topic_size']} is more than half of world.n_concepts")
    if world["signature_size"] > world["topic_size"]:
        raise ConfigError("world.signature_size", "must not exceed world.topic_size")
    for key in ("sentence_length", "article_sentences"):
        _check_range(world[key], f"world.{key}")


def _check_tiny_encoder(config: dict) -> None:
    """data.source synthetic or bible: the tiny BERT's shape, and every input fits its positions."""
    enc = config["encoder"]
    if enc["hidden_size"] % enc["num_heads"]:
        raise ConfigError("encoder.num_heads", f"{enc['num_heads']} does not divide encoder.hidden_size={enc['hidden_size']}")
    for key in ("teacher.query_max_length", "teacher.doc_max_length", "distill.max_length", "pretrain.max_length"):
        section, name = key.split(".")
        if config[section][name] > enc["max_position_embeddings"]:
            raise ConfigError(key, f"{config[section][name]} exceeds encoder.max_position_embeddings="
                              f"{enc['max_position_embeddings']}")


def _check_paper(config: dict) -> None:
    """data.source wikiclir: the per-language data that the first stage and the systems read."""
    for code, spec in config["languages"].items():
        if "collection" not in spec and code not in WIKICLIR_DIRS:
            raise ConfigError(f"languages.{code}", f"'{code}' is not a WikiCLIR language",
                              f"one of {sorted(WIKICLIR_DIRS)}, or give it its own collection "
                              f"(languages.{code}.collection)")
    languages = config["languages"]
    if "bm25_translated" in candidate_lists(config):
        for code, spec in languages.items():
            if not spec.get("query_translations"):
                raise ConfigError(f"languages.{code}.query_translations", "is required by the candidate list "
                                  "bm25_translated (BM25 cannot match English queries to foreign text)",
                                  "a translated query file, or the sampled / bm25_nmt lists")
    for system in config["systems"]:
        for key in registry.RETRIEVAL[system].needs:
            if key != "bitext" and not any(spec.get(key) for spec in languages.values()):
                raise ConfigError("systems", f"'{system}' needs languages.<code>.{key} for at least one language",
                                  f"supply it, or remove '{system}'")


def _check_no_gold_alignment(config: dict) -> None:
    """Real bitext (bible, wikiclir) has no true word alignment."""
    for system in config["systems"]:
        if "gold_alignment" in registry.RETRIEVAL[system].needs:
            raise ConfigError("systems", f"'{system}' needs the true word alignment, which only the synthetic "
                              "world has", f"remove '{system}' with data.source {config['data']['source']}")


def _check_data_efficiency(config: dict) -> None:
    """Curve runs are bitext methods and seeds of the main run, on subsets smaller than its bitext."""
    de = config["data_efficiency"]
    _subset(de["systems"], config["systems"], "data_efficiency.systems", "systems")
    _of_kind(de["systems"], "data_efficiency.systems", "bitext methods", lambda s: s.kind == registry.BITEXT)
    _subset(de["seeds"], config["seeds"], "data_efficiency.seeds", "seeds")
    if not de["systems"]:
        return
    heldout = config["distill"]["heldout_pairs"]
    for code, spec in config["languages"].items():
        # as optical.train.distill splits: the held-out pairs are capped at a fifth of the bitext
        n_train = spec["bitext_pairs"] - min(heldout, spec["bitext_pairs"] // 5)
        for n in de["bitext_pairs"]:
            if n >= n_train:
                raise ConfigError("data_efficiency.bitext_pairs",
                                  f"{n} is not smaller than the {n_train} training pairs of {code} "
                                  f"(languages.{code}.bitext_pairs minus the held-out pairs)",
                                  f"sizes below {n_train}; the full bitext is the main run")


def _check_ablation(config: dict) -> None:
    """Ablation runs are OT methods, languages and seeds of the main run, with OT settings other than its own."""
    ab, ot = config["ablation"], config["distill"]["ot"]
    _subset(ab["systems"], config["systems"], "ablation.systems", "systems")
    _of_kind(ab["systems"], "ablation.systems", "methods that read distill.ot", lambda s: s.uses_ot)
    _subset(ab["languages"], list(config["languages"]), "ablation.languages", "languages")
    _subset(ab["seeds"], config["seeds"], "ablation.seeds", "seeds")
    if ab["systems"] and ot["reg"] in ab["ot_reg"]:
        raise ConfigError("ablation.ot_reg", f"{ot['reg']} is distill.ot.reg, i.e. the main run")
    if ab["systems"] and ot["max_iter"] in ab["ot_max_iter"]:
        raise ConfigError("ablation.ot_max_iter", f"{ot['max_iter']} is distill.ot.max_iter, i.e. the main run")


def _check_headline_measure(config: dict) -> None:
    evaluation = config["evaluation"]
    if evaluation["headline_measure"] not in evaluation["measures"]:
        raise ConfigError("evaluation.headline_measure",
                          f"'{evaluation['headline_measure']}' is not in evaluation.measures",
                          ", ".join(evaluation["measures"]))


# --- NER -----------------------------------------------------------------------------------

def _ner_sections(systems: list[str]) -> list[str]:
    """The ner.* training sections that ``systems`` train."""
    return ["teacher"] + (["student"] if "teacher_student" in systems else []) \
        + (["ot"] if any(registry.NER[s].objective for s in systems) else [])


def _check_ner(config: dict) -> None:
    """Registered systems against their baseline, the sections they train, and bitext for ot_aligned."""
    ner = config.get("ner")
    if not ner or not ner["languages"]:
        return
    langs, systems = ner["languages"], ner["systems"]
    registry.check_names(systems, "ner.systems", registry.NER)
    if "en" in langs:
        raise ConfigError("ner.languages", "'en' is the teacher's language (always evaluated as the ceiling), "
                          "not a target", "target languages only")
    if not systems:
        raise ConfigError("ner.systems", "is empty while ner.languages is not", ", ".join(registry.NER))
    if "direct" not in systems:
        raise ConfigError("ner.systems", f"{systems} are compared against 'direct'; list 'direct' too")
    for key in _ner_sections(systems):
        if key not in ner:
            raise ConfigError(f"ner.{key}", f"is required by ner.systems {systems}")
    if config["data"]["source"] == "synthetic":
        _check_ner_world(config)
    aligned = [s for s in systems if "bitext" in registry.NER[s].needs]
    if aligned and not set(langs) & set(config["languages"]):
        raise ConfigError("ner.systems", f"{aligned} need bitext, i.e. an NER language that is also in "
                          "languages (retrieval); none is", f"add one, or remove {aligned}")


def _check_ner_world(config: dict) -> None:
    """data.source synthetic: NER languages exist in the world, which has names enough for its entities."""
    ner, world = config["ner"], config["world"]
    for code in ner["languages"]:
        if code not in world["languages"]:
            raise ConfigError("ner.languages", f"'{code}' is not a language of the synthetic world",
                              f"a subset of {sorted(world['languages'])}")
    spec = ner["world"]
    names = world["n_subjects"] + world["msmarco"]["subjects"]
    shared = round(spec["entities_per_type"] * (1 - spec["local_share"]))
    if 6 * shared > names:
        raise ConfigError("ner.world.entities_per_type", f"{shared} shared entities per type need {6 * shared} "
                          f"names but the world has {names} (world.n_subjects + world.msmarco.subjects)",
                          f"ner.world.entities_per_type at most {int(names // 6 / (1 - spec['local_share']))}")
    for key in ("mentions", "sentence_length"):
        _check_range(spec[key], f"ner.world.{key}")
    limit = config["encoder"]["max_position_embeddings"]
    for key in _ner_sections(ner["systems"]):
        if ner[key]["max_length"] > limit:
            raise ConfigError(f"ner.{key}.max_length", f"{ner[key]['max_length']} exceeds "
                              f"encoder.max_position_embeddings={limit}")


# --- helpers -------------------------------------------------------------------------------

def _check_range(bounds: list[int], key: str) -> None:
    lo, hi = bounds
    if lo > hi:
        raise ConfigError(key, f"[{lo}, {hi}] has min > max")


def _subset(values: list, allowed: list, key: str, of: str) -> None:
    extra = [v for v in values if v not in allowed]
    if extra:
        raise ConfigError(key, f"{extra} are not in {of}", f"a subset of {of} = {allowed}")


def _of_kind(values: list, key: str, what: str, ok) -> None:
    wrong = [v for v in values if v in registry.RETRIEVAL and not ok(registry.RETRIEVAL[v])]
    if wrong:
        allowed = [n for n, s in registry.RETRIEVAL.items() if ok(s)]
        raise ConfigError(key, f"{wrong} are not {what}", ", ".join(allowed))


def _check_candidates_and_nmt(config: dict) -> None:
    c, nmt = config["candidates"], config["nmt"]
    if c["first_stage"] in c["other_lists"]:
        raise ConfigError("candidates.other_lists", f"'{c['first_stage']}' is candidates.first_stage already",
                          "the other lists only")
    if nmt["d_model"] % nmt["heads"]:
        raise ConfigError("nmt.heads", f"{nmt['heads']} does not divide nmt.d_model={nmt['d_model']}")
