"""Bad configs fail before any job starts, with a message naming the key.

The workflow checks a config in two steps (workflow/rules/common.smk): the JSON schema
(workflow/schemas/config.schema.yaml), then optical.config.check_config. Most tests here run those
two steps directly, as the workflow does; two run ``snakemake -n`` to show that a bad config stops
the workflow before any job is planned.
"""

import copy
import re
import subprocess
import sys

import pytest
import yaml
from jsonschema import Draft202012Validator
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from conftest import ROOT
from optical.config import check_config
from optical.errors import ConfigError

SCHEMA = ROOT / "workflow" / "schemas" / "config.schema.yaml"
SHIPPED = sorted((ROOT / "config").glob("*.yaml"))
# every training section refers to the schema's one training block ($defs/training)
TRAINING_SECTIONS = ["pretrain", "teacher", "distill", "translate_train", "nmt", "ner.teacher", "ner.student",
                     "ner.ot"]
SYNTHETIC_PRETRAIN = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())["pretrain"]

_DELETE = object()


def _get(cfg, dotted):
    for k in dotted.split("."):
        cfg = cfg[k]
    return cfg


def _edit(cfg, edits: dict) -> dict:
    """A copy of ``cfg`` with each dotted key set to its value (or deleted)."""
    cfg = copy.deepcopy(cfg)
    for dotted, value in edits.items():
        *path, last = dotted.split(".")
        parent = _get(cfg, ".".join(path)) if path else cfg
        if value is _DELETE:
            del parent[last]
        else:
            parent[last] = value
    return cfg


def _accept(cfg) -> None:
    """Both checks of common.smk; validation must fill nothing in (shipped configs are complete)."""
    checked = copy.deepcopy(cfg)
    validate(checked, str(SCHEMA))
    assert checked == cfg, "the schema filled in a default"
    check_config(checked)


def _rejection(cfg) -> tuple[str, str]:
    """(key, message) of the error the workflow stops with. The key is what a ConfigError names, or
    where in the config the schema failed ('' for the top level); a missing or unknown key is then
    named in the message."""
    try:
        _accept(cfg)
    except ConfigError as err:
        return err.key, str(err)
    except WorkflowError as err:
        text = str(err)
        where = re.search(r"^On instance((?:\[[^\]]+\])*):", text, re.M)
        assert where, text
        path = [p.strip("'") for p in re.findall(r"\[([^\]]+)\]", where.group(1))]
        return ".".join(path), text.splitlines()[1]
    pytest.fail("the config was accepted")


# --- what the pipeline ships ------------------------------------------------------------------

def test_schema_is_a_valid_draft_2020_12_schema():
    Draft202012Validator.check_schema(yaml.safe_load(SCHEMA.read_text()))


@pytest.mark.parametrize("path", SHIPPED, ids=[p.name for p in SHIPPED])
def test_shipped_config_is_valid(path):
    _accept(yaml.safe_load(path.read_text()))


# --- the complete copies of the default stay in step with it ---------------------------------
# A --configfile replaces config.yaml (Snakefile), so robustness.yaml and typology.yaml repeat
# every key; a key changed in the default (a calibration amendment) must change there too.

def _flat(node, prefix=()) -> dict:
    if isinstance(node, dict):
        return {k: v for key, child in node.items() for k, v in _flat(child, prefix + (str(key),)).items()}
    return {".".join(prefix): node}


def _differences(a: dict, b: dict) -> set[str]:
    fa, fb = _flat(a), _flat(b)
    return {k for k in fa.keys() | fb.keys() if fa.get(k, _DELETE) != fb.get(k, _DELETE)}


# what a copy may set otherwise: which systems and seeds run, and its own section
SMALLER_RUN = ("systems", "seeds", "ablation.systems", "data_efficiency.systems", "candidates.other_lists",
               "ner.systems", "robustness.")
TYPOLOGY_FACTORS = {"reordering": {"reorder_prob", "reorder_window"}, "morphology": {"morph_prob"},
                    "function words": {"function_word_prob"}, "letters": {"consonants", "vowels"}}


def _load(name: str) -> dict:
    return yaml.safe_load((ROOT / "config" / f"{name}.yaml").read_text())


def test_robustness_config_is_the_default_but_for_what_runs():
    extra = {k for k in _differences(_load("config"), _load("robustness")) if not k.startswith(SMALLER_RUN)}
    assert not extra, f"config/robustness.yaml differs from config/config.yaml in {sorted(extra)}"


def test_typology_languages_differ_from_the_default_typology_in_one_factor_each():
    default, typology = _load("config"), _load("typology")
    outside = {k for k in _differences(default, typology)
               if not k.startswith(SMALLER_RUN + ("languages.", "world.languages.", "ner.languages"))}
    assert not outside, f"config/typology.yaml differs from config/config.yaml in {sorted(outside)}"
    base = default["world"]["languages"]["tl"]  # the middle resource level, the default typology
    factors = {}
    for code, spec in typology["world"]["languages"].items():
        changed = _differences(base, spec)
        factors[code] = [f for f, keys in TYPOLOGY_FACTORS.items() if changed & keys]
        assert changed <= set().union(*TYPOLOGY_FACTORS.values()), f"{code}: {sorted(changed)}"
    assert sorted(len(f) for f in factors.values()) == [0, 0, 1, 1, 1, 1], factors
    assert sorted(f[0] for f in factors.values() if f) == sorted(TYPOLOGY_FACTORS)  # each factor once
    assert set(typology["languages"]) == set(typology["ner"]["languages"]) == set(factors)


# --- bad configs -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def paper_config():
    return yaml.safe_load((ROOT / "config" / "paper.yaml").read_text())


# (case, base config, {dotted key: new value}, the key the error names, text of its message)
DEFAULT_CASES = [
    ("unknown top-level key", {"teacher_steps": 5}, "", "'teacher_steps' was unexpected"),
    ("unknown nested key (typo)", {"distill.ot.regularisation": 0.1}, "distill.ot", "'regularisation' was unexpected"),
    ("wrong type", {"distill.steps": "many"}, "distill.steps", "'many' is not of type 'integer'"),
    ("malformed language code", {"languages.Swahili": {"bitext_pairs": 10}}, "languages",
     "'Swahili' does not match"),
    ("language the world lacks", {"languages.xx": {"bitext_pairs": 10}}, "languages.xx",
     "is not a language of the synthetic world"),
    ("own collection in the synthetic world", {"languages.sw.collection": {"queries": "q", "documents": "d",
                                                                          "qrels": "r"}},
     "languages.sw", "'collection' should not be valid"),
    ("zero bitext", {"languages.sw.bitext_pairs": 0}, "languages.sw.bitext_pairs", "0 is less than the minimum of 1"),
    ("negative learning rate", {"teacher.lr": -0.1}, "teacher.lr", "less than or equal to the minimum of 0"),
    ("unknown system", {"systems": ["direct", "magic"]}, "systems", "unknown system(s) ['magic']"),
    ("missing required section", {"distill": _DELETE}, "", "'distill' is a required property"),
    ("threshold out of range", {"evaluation.relevance_threshold": 3}, "evaluation.relevance_threshold",
     "3 is greater than the maximum of 2"),
    ("bad measure name", {"evaluation.measures": ["MAP@x"]}, "evaluation.measures.0", "'MAP@x' does not match"),
    ("empty seeds", {"seeds": []}, "seeds", "[] should be non-empty"),
    ("bad device", {"device": "tpu"}, "device", "'tpu' is not one of"),
    ("bad query field", {"data.query_field": "body"}, "data.query_field", "'body' is not one of"),
    ("probability out of range", {"world.languages.sw.coverage": 1.5}, "world.languages.sw.coverage",
     "1.5 is greater than the maximum of 1"),
    ("typo in a world language", {"world.languages.sw.corverage": 0.5}, "world.languages.sw",
     "'corverage' was unexpected"),
    ("one vowel: a sound shift could not change it", {"world.languages.sw.vowels": "a"},
     "world.languages.sw.vowels", "does not match"),
    ("no languages", {"languages": {}}, "languages", "{} should be non-empty"),
    ("unknown fixed alignment", {"distill.fixed_alignment": "diagonal"}, "distill.fixed_alignment",
     "'diagonal' is not one of"),
    ("negative sentence weight", {"distill.sentence_weight": -1}, "distill.sentence_weight",
     "-1 is less than the minimum of 0"),
    ("bm25 b above 1", {"bm25.b": 1.5}, "bm25.b", "1.5 is greater than the maximum of 1"),
    ("alpha of 1", {"evaluation.alpha": 1.0}, "evaluation.alpha", "1.0 is greater than or equal to the maximum of 1"),
    ("negative checkpoint interval", {"distill.checkpoint_every": -5}, "distill.checkpoint_every",
     "-5 is less than the minimum of 0"),
    ("data-efficiency system that is no bitext method", {"data_efficiency.systems": ["direct"]},
     "data_efficiency.systems", "['direct'] are not bitext methods"),
    ("ablation system that reads no OT setting", {"ablation.systems": ["sentence_kd"]}, "ablation.systems",
     "['sentence_kd'] are not methods that read distill.ot"),
    ("zero ablation regulariser", {"ablation.ot_reg": [0.0]}, "ablation.ot_reg.0",
     "0.0 is less than or equal to the minimum of 0"),
    ("missing translate_train section", {"translate_train": _DELETE}, "", "'translate_train' is a required property"),
    # the training block ($defs/training), extended by each section
    ("typo inside a training block", {"teacher.weight_decy": 0.01}, "teacher", "'weight_decy' was unexpected"),
    ("negative weight decay", {"distill.weight_decay": -0.01}, "distill.weight_decay",
     "-0.01 is less than the minimum of 0"),
    ("zero gradient clip", {"ner.ot.grad_clip": 0}, "ner.ot.grad_clip", "0 is less than or equal to the minimum of 0"),
    ("warm-up where no trainer reads it", {"teacher.warmup_steps": 10}, "teacher", "'warmup_steps' was unexpected"),
    ("teacher batch without an in-batch negative", {"teacher.batch_size": 1}, "teacher.batch_size",
     "1 is less than the minimum of 2"),
    # NMT and candidate lists
    ("NMT heads not dividing its width", {"nmt.heads": 3}, "nmt.heads", "does not divide nmt.d_model"),
    ("NMT without a vocabulary size", {"nmt.vocab_size": _DELETE}, "nmt", "'vocab_size' is a required property"),
    ("unknown candidate list", {"candidates.other_lists": ["bm42"]}, "candidates.other_lists.0",
     "'bm42' is not one of"),
    ("the headline list again as another list", {"candidates.other_lists": ["sampled"]}, "candidates.other_lists",
     "is candidates.first_stage already"),
    # the headline measure
    ("no headline measure", {"evaluation.headline_measure": _DELETE}, "evaluation",
     "'headline_measure' is a required property"),
    ("headline measure not measured", {"evaluation.headline_measure": "P@5"}, "evaluation.headline_measure",
     "'P@5' is not in evaluation.measures"),
    # data.source synthetic: what the schema's if/then requires and forbids
    ("synthetic without its world", {"world": _DELETE}, "", "'world' is a required property"),
    ("synthetic without pretraining", {"pretrain": _DELETE}, "", "'pretrain' is a required property"),
    ("synthetic without a tiny-encoder key", {"encoder.num_heads": _DELETE}, "encoder",
     "'num_heads' is a required property"),
    ("hub encoder in the synthetic world", {"encoder.hub_id": "bert-base-multilingual-cased"}, "encoder",
     "'hub_id' should not be valid"),
    ("paper key in the synthetic world", {"languages.sw.translate_train": "mmarco/v2/vi/train"}, "languages.sw",
     "'translate_train' should not be valid"),
    ("synthetic NER without its entities", {"ner.world": _DELETE}, "ner", "'world' is a required property"),
    # cross-key checks (optical.config)
    ("language not in the world", {"languages.tl": {"bitext_pairs": 10}, "world.languages.tl": _DELETE},
     "languages.tl", "is not a language of the synthetic world"),
    ("more bitext than exists", {"languages.sw.bitext_pairs": 10**6}, "languages.sw.bitext_pairs", "exceeds"),
    ("heads do not divide hidden", {"encoder.num_heads": 3}, "encoder.num_heads", "does not divide"),
    ("sequence longer than positions", {"teacher.doc_max_length": 4096}, "teacher.doc_max_length",
     "max_position_embeddings"),
    ("optical without its baseline", {"systems": ["optical"]}, "systems", "'direct'"),
    ("curve system not run", {"systems": ["direct", "optical"], "data_efficiency.systems": ["optical_sentence"]},
     "data_efficiency.systems", "are not in systems"),
    ("curve seed not run", {"data_efficiency.seeds": [9]}, "data_efficiency.seeds", "are not in seeds"),
    ("subset as large as the bitext", {"data_efficiency.bitext_pairs": [2800]}, "data_efficiency.bitext_pairs",
     "is not smaller than the 2800 training pairs"),
    ("ablation language not evaluated", {"ablation.languages": ["vi"]}, "ablation.languages", "are not in languages"),
    ("ablation value equal to the main run", {"ablation.ot_reg": [0.05]}, "ablation.ot_reg", "the main run"),
    ("world range min > max", {"world.sentence_length": [9, 4]}, "world.sentence_length", "min > max"),
    # NER
    ("unknown NER system", {"ner.systems": ["direct", "magic"]}, "ner.systems", "unknown system(s) ['magic']"),
    ("English as a target", {"ner.languages": ["en", "sw"]}, "ner.languages", "teacher's language"),
    ("NER language the world lacks", {"ner.languages": ["vi"]}, "ner.languages",
     "not a language of the synthetic world"),
    ("NER without its baseline", {"ner.systems": ["teacher_student"]}, "ner.systems", "'direct'"),
    ("student section missing", {"ner.student": _DELETE}, "ner.student", "is required by ner.systems"),
    ("NER sequence longer than positions", {"ner.teacher.max_length": 4096}, "ner.teacher.max_length",
     "max_position_embeddings"),
    ("mentions min > max", {"ner.world.mentions": [3, 1]}, "ner.world.mentions", "min > max"),
    ("typo in NER split sizes", {"ner.world.sentences.tset": 5}, "ner.world.sentences", "'tset' is not one of"),
]

PAPER_CASES = [
    # data.source wikiclir: what the schema's if/then requires and forbids
    ("no ir_datasets home", {"data.ir_datasets_home": _DELETE}, "data", "'ir_datasets_home' is a required property"),
    ("no teacher triples", {"data.teacher_triples": _DELETE}, "data", "'teacher_triples' is a required property"),
    ("no bitext source", {"languages.sw.bitext": _DELETE}, "languages.sw", "'bitext' is a required property"),
    ("mtdata ids without their language pair", {"languages.tl.bitext": {"mtdata": ["OPUS-x-v1-eng-tgl"]}},
     "languages.tl.bitext", "'mtdata_langs' is a required property"),
    ("one local side only", {"languages.sw.bitext": {"local_src": "a.en", "local_tgt": None}},
     "languages.sw.bitext.local_tgt", "None is not of type 'string'"),
    ("unknown bitext key", {"languages.sw.bitext.opus": "CCAligned"}, "languages.sw.bitext", "'opus' was unexpected"),
    ("no encoder", {"encoder": {"revision": "main"}}, "encoder", "'hub_id' is a required property"),
    ("tiny-encoder key on a hub encoder", {"encoder.hidden_size": 64}, "encoder", "'hidden_size' should not be valid"),
    ("pretraining a pretrained encoder", {"pretrain": SYNTHETIC_PRETRAIN}, "", "'pretrain' should not be valid"),
    ("PAN-X neither local nor from the hub", {"ner.hub_dataset": ""}, "ner.hub_dataset", "should be non-empty"),
    # cross-key checks (optical.config)
    ("BM25 first stage without translated queries", {"candidates.first_stage": "bm25_translated"},
     "languages.sw.query_translations", "bm25_translated"),
    ("a gold-translated candidate list without translated queries", {"candidates.other_lists": ["bm25_translated"]},
     "languages.sw.query_translations", "bm25_translated"),
    ("a language WikiCLIR lacks, without its own collection", {"languages.ny": {
        "bitext_pairs": 10, "bitext": {"local_src": "a.en", "local_tgt": "a.ny"}}}, "languages.ny",
     "'ny' is not a WikiCLIR language"),
    ("own collection without qrels", {"languages.sw.collection": {"queries": "q.tsv", "documents": "d.tsv"}},
     "languages.sw.collection", "'qrels' is a required property"),
    ("the gold word alignment outside the synthetic world", {"systems": ["direct", "token_kd_gold"]}, "systems",
     "only the synthetic world has"),
    ("translate-test without any translated documents", {"systems": ["direct", "translate_test_oracle"]},
     "systems", "doc_translations"),
    ("OT-aligned NER without a bitext language", {"ner.languages": ["yo", "mr"]}, "ner.systems",
     "need bitext"),
]

CASES = [("default_config", *c) for c in DEFAULT_CASES] + [("paper_config", *c) for c in PAPER_CASES]


@pytest.mark.parametrize("base,case,edits,named,message", CASES, ids=[c[1] for c in CASES])
def test_bad_config_is_rejected_naming_the_key(request, base, case, edits, named, message):
    key, text = _rejection(_edit(request.getfixturevalue(base), edits))
    assert key == named and message in text, (key, text)


# the paper setting starts from a pretrained encoder: it has no pretrain section
TRAINING_CASES = [("default_config", s) for s in TRAINING_SECTIONS] \
    + [("paper_config", s) for s in TRAINING_SECTIONS if s != "pretrain"]


@pytest.mark.parametrize("base,section", TRAINING_CASES, ids=[f"{b}-{s}" for b, s in TRAINING_CASES])
def test_every_training_block_is_the_shared_block(request, base, section):
    """Each section requires weight_decay and grad_clip and rejects a typo (unevaluatedProperties)."""
    cfg = request.getfixturevalue(base)
    for key in ("weight_decay", "grad_clip"):
        assert _rejection(_edit(cfg, {f"{section}.{key}": _DELETE})) == (
            section, f"ValidationError: '{key}' is a required property")
    named, text = _rejection(_edit(cfg, {f"{section}.grad_clipp": 1.0}))
    assert named == section and "'grad_clipp' was unexpected" in text


def test_ner_off_needs_nothing_else(default_config, paper_config):
    for cfg in (default_config, paper_config):
        _accept(_edit(cfg, {"ner": {"languages": [], "systems": [], "bootstrap_resamples": 100}}))


def test_a_language_wikiclir_lacks_runs_on_its_own_collection(paper_config):
    cfg = copy.deepcopy(paper_config)
    cfg["languages"]["ny"] = {"bitext_pairs": 30000, "bitext": {"local_src": "bible.en", "local_tgt": "bible.ny"},
                              "collection": {"queries": "q.tsv", "documents": "d.jsonl", "qrels": "q.qrels"}}
    validate(cfg, str(SCHEMA))
    check_config(cfg)


def test_paper_setting_accepts_local_copies(paper_config):
    """A local encoder instead of a hub id, local bitext files instead of mtdata, local PAN-X."""
    _accept(_edit(paper_config, {"encoder": {"local_path": "/models/mbert"},
                                 "languages.sw.bitext": {"local_src": "a.en", "local_tgt": "a.sw"},
                                 "ner.panx_dir": "/data/panx", "ner.hub_dataset": _DELETE}))


# --- through snakemake ----------------------------------------------------------------------

def _dry_run(tmp_path, cfg):
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return subprocess.run([sys.executable, "-m", "snakemake", "-n", "--configfile", str(path),
                           "--directory", str(tmp_path), "-s", str(ROOT / "Snakefile")],
                          capture_output=True, text=True, cwd=ROOT)


@pytest.mark.parametrize("edits,message", [
    ({"teacher.weight_decy": 0.01}, "'weight_decy' was unexpected"),            # the schema
    ({"languages.sw.bitext_pairs": 10**6}, "config key 'languages.sw.bitext_pairs'"),  # check_config
], ids=["schema", "cross-key"])
def test_bad_config_stops_snakemake_before_any_job(tmp_path, default_config, edits, message):
    out = _dry_run(tmp_path, _edit(default_config, edits))
    text = out.stdout + out.stderr
    assert out.returncode != 0 and message in text, text[-2000:]
    assert "Job stats" not in text  # nothing was planned, let alone run
