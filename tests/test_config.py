"""Bad configs fail before any job starts, with a message naming the key."""

import copy
import subprocess
import sys

import pytest
import yaml

from conftest import ROOT
from optical.config import check_config
from optical.errors import ConfigError


def _set(cfg, dotted, value):
    *path, last = dotted.split(".")
    d = cfg
    for k in path:
        d = d[k]
    if value is _DELETE:
        del d[last]
    else:
        d[last] = value


_DELETE = object()

# (case, key to change, new value, text the error must contain)
SCHEMA_CASES = [
    ("unknown top-level key", "teacher_steps", 5, "teacher_steps"),
    ("unknown nested key (typo)", "distill.ot.regularisation", 0.1, "regularisation"),
    ("wrong type", "distill.steps", "many", "'many' is not of type 'integer'"),
    ("unknown language", "languages.xx", {"bitext_pairs": 10}, "'xx' is not one of"),
    ("zero bitext", "languages.sw.bitext_pairs", 0, "0 is less than the minimum of 1"),
    ("negative learning rate", "teacher.lr", -0.1, "teacher"),
    ("unknown system", "systems", ["direct", "magic"], "'magic' is not one of"),
    ("missing required section", "distill", _DELETE, "'distill' is a required property"),
    ("threshold out of range", "evaluation.relevance_threshold", 3, "relevance_threshold"),
    ("bad measure name", "evaluation.measures", ["MAP@x"], "MAP@x"),
    ("empty seeds", "seeds", [], "seeds"),
    ("bad device", "device", "tpu", "'tpu' is not one of"),
    ("bad query field", "data.query_field", "body", "'body' is not one of"),
    ("OT probability out of range", "world.languages.sw.coverage", 1.5, "coverage"),
    ("no languages", "languages", {}, "languages"),
    ("unknown fixed alignment", "distill.fixed_alignment", "diagonal", "'diagonal' is not one of"),
    ("negative sentence weight", "distill.sentence_weight", -1, "sentence_weight"),
    ("bm25 b above 1", "bm25.b", 1.5, "1.5 is greater than the maximum of 1"),
    ("alpha of 1", "evaluation.alpha", 1.0, "alpha"),
    ("negative checkpoint interval", "distill.checkpoint_every", -5, "checkpoint_every"),
    ("unknown data-efficiency system", "data_efficiency.systems", ["direct"], "'direct' is not one of"),
    ("zero ablation regulariser", "ablation.ot_reg", [0.0], "ot_reg"),
    ("missing translate_train section", "translate_train", _DELETE, "'translate_train' is a required property"),
]


def _dry_run(tmp_path, cfg):
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return subprocess.run([sys.executable, "-m", "snakemake", "-n", "--configfile", str(path),
                           "--directory", str(tmp_path), "-s", str(ROOT / "Snakefile")],
                          capture_output=True, text=True, cwd=ROOT)


@pytest.mark.parametrize("case,key,value,message", SCHEMA_CASES, ids=[c[0] for c in SCHEMA_CASES])
def test_schema_rejects_bad_config(tmp_path, default_config, case, key, value, message):
    cfg = copy.deepcopy(default_config)
    _set(cfg, key, value)
    out = _dry_run(tmp_path, cfg)
    assert out.returncode != 0, case
    text = out.stdout + out.stderr
    assert message in text, text[-2000:]
    assert "Job stats" not in text  # nothing was planned, let alone run


SEMANTIC_CASES = [
    ("language not in the world", "languages.tl", {"bitext_pairs": 10}, "world.languages",
     "languages.tl", {"drop_world": "tl"}),
    ("more bitext than exists", "languages.sw.bitext_pairs", 10**6, "languages.sw.bitext_pairs", "exceeds", {}),
    ("heads do not divide hidden", "encoder.num_heads", 3, "encoder.num_heads", "does not divide", {}),
    ("sequence longer than positions", "teacher.doc_max_length", 4096, "teacher.doc_max_length",
     "max_position_embeddings", {}),
    ("optical without its baseline", "systems", ["optical"], "systems", "'direct'", {}),
    ("curve system not run", "data_efficiency.systems", ["optical_sentence"], "data_efficiency.systems",
     "are not in systems", {"systems": ["direct", "optical"]}),
    ("curve seed not run", "data_efficiency.seeds", [9], "data_efficiency.seeds", "are not in seeds", {}),
    ("subset as large as the bitext", "data_efficiency.bitext_pairs", [2800], "data_efficiency.bitext_pairs",
     "is not smaller than the 2800 training pairs", {}),
    ("ablation language not evaluated", "ablation.languages", ["vi"], "ablation.languages", "are not in languages", {}),
    ("ablation value equal to the main run", "ablation.ot_reg", [0.05], "ablation.ot_reg", "the main run", {}),
]


@pytest.mark.parametrize("case,key,value,named,message,extra", SEMANTIC_CASES, ids=[c[0] for c in SEMANTIC_CASES])
def test_cross_key_checks(default_config, case, key, value, named, message, extra):
    cfg = copy.deepcopy(default_config)
    _set(cfg, key, value)
    if "systems" in extra:
        cfg["systems"] = extra["systems"]
    if "drop_world" in extra:
        del cfg["world"]["languages"][extra["drop_world"]]
        named, message = "languages.tl", "is not a language of the synthetic world"
    with pytest.raises(ConfigError) as err:
        check_config(cfg)
    assert f"'{named}'" in str(err.value) and message in str(err.value)


def test_semantic_error_stops_snakemake_before_any_job(tmp_path, default_config):
    cfg = copy.deepcopy(default_config)
    cfg["languages"]["sw"]["bitext_pairs"] = 10**6
    out = _dry_run(tmp_path, cfg)
    assert out.returncode != 0
    assert "config key 'languages.sw.bitext_pairs'" in out.stdout + out.stderr


def test_default_config_is_valid(default_config):
    check_config(default_config)


# --- the paper setting ------------------------------------------------------------------

@pytest.fixture(scope="module")
def paper_config():
    return yaml.safe_load((ROOT / "config" / "paper.yaml").read_text())


def test_paper_config_is_valid(paper_config):
    check_config(paper_config)


PAPER_CASES = [
    ("no bitext source", "languages.sw.bitext", _DELETE, "languages.sw.bitext", "is required"),
    ("mtdata ids without their language pair", "languages.tl.bitext", {"mtdata": ["OPUS-x-v1-eng-tgl"]},
     "languages.tl.bitext", "mtdata_langs"),
    ("one local side only", "languages.sw.bitext", {"local_src": "a.en", "local_tgt": None},
     "languages.sw.bitext", "both local_src and local_tgt"),
    ("no encoder", "encoder", {"revision": "main"}, "encoder.hub_id", "local_path"),
    ("tiny-encoder key on a hub encoder", "encoder.hidden_size", 64, "encoder.hidden_size", "own architecture"),
    ("pretraining a pretrained encoder", "pretrain", {"steps": 1}, "pretrain", "only used when"),
    ("BM25 first stage without translated queries", "candidates.first_stage", "bm25_translated",
     "languages.sw.query_translations", "bm25_translated"),
    ("translate-test without any translated documents", "systems", ["direct", "translate_test_oracle"],
     "systems", "doc_translations"),
    ("no ir_datasets home", "data.ir_datasets_home", _DELETE, "data.ir_datasets_home", "is required"),
]


def test_paper_keys_in_the_synthetic_world_are_errors(default_config):
    cfg = copy.deepcopy(default_config)
    cfg["languages"]["sw"]["translate_train"] = "mmarco/v2/vi/train"
    with pytest.raises(ConfigError, match="languages.sw.translate_train.*paper-setting key"):
        check_config(cfg)


def test_paper_schema_rejects_an_unknown_bitext_key(tmp_path, paper_config):
    cfg = copy.deepcopy(paper_config)
    cfg["languages"]["sw"]["bitext"]["opus"] = "CCAligned"
    out = _dry_run(tmp_path, cfg)
    assert out.returncode != 0 and "opus" in out.stdout + out.stderr


NER_CASES = [
    ("English as a target", "ner.languages", ["en", "sw"], "ner.languages", "teacher's language"),
    ("NER language the world lacks", "ner.languages", ["vi"], "ner.languages", "not a language of the synthetic world"),
    ("NER without its baseline", "ner.systems", ["teacher_student"], "ner.systems", "'direct'"),
    ("student section missing", "ner.student", _DELETE, "ner.student", "is required by ner.systems"),
    ("NER sequence longer than positions", "ner.teacher.max_length", 4096, "ner.teacher.max_length",
     "max_position_embeddings"),
    ("mentions min > max", "ner.world.mentions", [3, 1], "ner.world.mentions", "min > max"),
]


# (which config the case edits, case...): the paper config's cases, then NER's on the default
MORE_CASES = [("paper_config", *c) for c in PAPER_CASES] + [("default_config", *c) for c in NER_CASES]


@pytest.mark.parametrize("base,case,key,value,named,message", MORE_CASES, ids=[c[1] for c in MORE_CASES])
def test_paper_and_ner_cross_key_checks(request, base, case, key, value, named, message):
    cfg = copy.deepcopy(request.getfixturevalue(base))
    _set(cfg, key, value)
    with pytest.raises(ConfigError) as err:
        check_config(cfg)
    assert f"'{named}'" in str(err.value) and message in str(err.value)


def test_ner_off_needs_nothing_else(default_config):
    cfg = copy.deepcopy(default_config)
    cfg["ner"] = {"languages": [], "systems": [], "bootstrap_resamples": 100}
    check_config(cfg)


def test_paper_ner_needs_panx_and_ot_needs_a_bitext_language(paper_config):
    cfg = copy.deepcopy(paper_config)
    cfg["ner"]["hub_dataset"] = ""
    with pytest.raises(ConfigError, match="ner.panx_dir"):
        check_config(cfg)
    cfg = copy.deepcopy(paper_config)
    cfg["ner"]["languages"] = ["yo", "mr"]
    with pytest.raises(ConfigError, match="'ot_aligned' needs bitext"):
        check_config(cfg)
