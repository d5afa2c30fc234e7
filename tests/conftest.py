import copy
import os
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
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
