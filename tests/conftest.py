import copy
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
# where the tests that take a device train and predict; cuda: the GPU check (docs/tests.md)
TEST_DEVICE = os.environ.get("OPTICAL_TEST_DEVICE", "cpu")
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # nothing in the tests may reach a model hub
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")


@pytest.fixture(scope="session")
def default_config() -> dict:
    return yaml.safe_load((ROOT / "config" / "config.yaml").read_text())


def shrink_world(world: dict) -> dict:
    """The default world at a size a unit test can generate in about a second."""
    w = copy.deepcopy(world)
    w.update(n_subjects=120, n_concepts=400, n_topics=8, topic_size=40)
    w["english"]["mono_sentences"] = 300
    w["msmarco"].update(subjects=40, queries=100)
    for spec in w["languages"].values():
        spec.update(mono_sentences=60, bitext_pairs=80)
    return w


@pytest.fixture()
def small_world(default_config) -> dict:
    return shrink_world(default_config["world"])


WORLD_KNOBS = ("cased", "name_syllables")
LANGUAGE_KNOBS = ("cognate_share", "cognate_shift", "code_switch_prob")


def without_knobs(world: dict) -> dict:
    """The world with issue 13's knobs left out (each at its neutral default): the uncalibrated world
    that each knob's test changes one knob of."""
    w = copy.deepcopy(world)
    for k in WORLD_KNOBS:
        w.pop(k, None)
    w["english"].pop("morph_prob", None)
    for spec in w["languages"].values():
        for k in LANGUAGE_KNOBS:
            spec.pop(k, None)
    return w


@pytest.fixture()
def plain_world(small_world) -> dict:
    return without_knobs(small_world)


# --- a tiny config through real Snakemake (fault, determinism and SLURM tests) ---------------

def tiny_config(default: dict) -> dict:
    """One language, one seed, four systems, minutes of CPU: the smallest real pipeline."""
    cfg = copy.deepcopy(default)
    cfg["world"] = shrink_world(default["world"])
    cfg["world"]["languages"] = {"sw": cfg["world"]["languages"]["sw"]}
    cfg["world"]["languages"]["sw"].update(bitext_pairs=300)
    cfg["world"]["english"]["mono_sentences"] = 1500
    cfg["languages"] = {"sw": {"bitext_pairs": 300}}
    cfg["seeds"] = [1]
    cfg["systems"] = ["random", "direct", "optical", "translate_test_oracle"]
    cfg["data_efficiency"].update(systems=[], seeds=[])
    cfg["ablation"].update(systems=[], languages=[], seeds=[])
    cfg["encoder"]["vocab_size"] = 800
    cfg["pretrain"].update(steps=80, tokenizer_sentences=1500)
    cfg["teacher"].update(steps=60)
    cfg["distill"].update(steps=120, eval_every=40, heldout_pairs=40, checkpoint_every=10)
    cfg["candidates"].update(queries=20, depth=30, other_lists=[])  # one list: no NMT first stage to train
    cfg["ner"]["languages"] = []  # retrieval only: these runs test determinism, faults and SLURM
    return cfg


def workdir_with(base: Path, cfg: dict) -> Path:
    base.mkdir(parents=True)
    for item in ("Snakefile", "workflow", "profiles", "envs"):
        src = ROOT / item
        (shutil.copytree if src.is_dir() else shutil.copy)(src, base / item)
    (base / "config").mkdir()
    (base / "config" / "config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    return base


def snakemake_run(work: Path, *args, timeout=900):
    return subprocess.run([sys.executable, "-m", "snakemake", "--cores", "2", *args], cwd=work, capture_output=True,
                          text=True, timeout=timeout)


@pytest.fixture(scope="session")
def tiny_clean_run(tmp_path_factory, default_config):
    """A clean local run of the tiny config; other tests compare their numbers with it."""
    work = workdir_with(tmp_path_factory.mktemp("tiny") / "clean", tiny_config(default_config))
    out = snakemake_run(work)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    return work


def clone_run(src: Path, dest: Path) -> Path:
    """A copy of a finished run (outputs, logs, Snakemake's metadata, mtimes kept)."""
    shutil.copytree(src, dest, symlinks=True, ignore=shutil.ignore_patterns("locks", "incomplete"))
    return dest


# --- the rules Snakemake builds from a shipped config (no job runs) ---------------------------

RULES_SCRIPT = """
import json, sys
from pathlib import Path
from snakemake.api import SnakemakeApi
from snakemake.settings.types import ConfigSettings, OutputSettings, ResourceSettings
out = {}
with SnakemakeApi(OutputSettings(quiet={"all"})) as api:
    wf = api.workflow(resource_settings=ResourceSettings(cores=1), snakefile=Path(sys.argv[1]),
                      config_settings=ConfigSettings(configfiles=[Path(sys.argv[2])]), workdir=Path(sys.argv[3]))
    for rule in wf._workflow.rules:
        script = str(Path(rule.basedir.get_path_or_uri(secret_free=True)) / rule.script) if rule.script else None
        code = dict(rule.params.items()).get("code") if hasattr(rule.params, "items") else None
        out[rule.name] = {"script": script, "code": code, "gpu": getattr(rule.resources.get("gpu"), "value", None)}
print(json.dumps(out))
"""


def workflow_rules(configfile: str, workdir: Path) -> dict:
    """Every rule of the workflow under ``config/<configfile>``: its script, ``code`` param and GPU
    request, read through Snakemake's API in a fresh interpreter."""
    import json
    out = subprocess.run([sys.executable, "-c", RULES_SCRIPT, str(ROOT / "Snakefile"),
                          str(ROOT / "config" / configfile), str(workdir)],
                         capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])
