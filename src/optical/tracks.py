"""Encoder tracks: the same study with another encoder, in the same run and the same report.

A config's ``tracks`` maps a name to another config file (``config/bible.yaml``: ``e5:
config/bible-e5.yaml``). The workflow runs that file's whole study as a Snakemake module under
``results/tracks/<name>/`` (workflow/rules/tracks.smk), and the main report adds its report as a part.
What does not depend on the encoder is shared, not recomputed: the NMT models and their translations
come from the main run (NMT is the largest single cost of the Bible track). Sharing is only right when
everything those models are trained and scored on is the same in both configs, so
:func:`check_shared` requires it and names the first key that differs.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from optical.errors import ConfigError, InputError

# what NMT training and translation read: the data (world or Bible, language keys, query field), the
# NMT block, the held-out split it is scored on, and the device
SHARED_KEYS = ("data", "world", "bible", "languages", "nmt", "device", "distill.heldout_pairs")
NAME = re.compile(r"^[a-z][a-z0-9_]*$")
ROOT = "results/tracks"


def track_prefix(name: str) -> str:
    """Where track ``name``'s whole tree lives (its results/, logs/ and resources/)."""
    return f"{ROOT}/{name}"


def _get(config: dict, dotted: str):
    node = config
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def load_track(name: str, path: str | Path, workflow_dir: str | Path | None = None) -> dict:
    """Track ``name``'s config, read from ``path``: relative to the working directory, as
    ``--configfile`` is, or else to ``workflow_dir`` (where the shipped configs are, for a run in
    another directory). The module's own schema validation and checks run when the workflow loads
    it; here only what would otherwise fail obscurely: a bad name, a missing or unreadable file, a
    nested track."""
    if not NAME.match(name):
        raise ConfigError(f"tracks.{name}", "a track name is a lower-case identifier (it names rules and a "
                                            "directory)", "letters, digits and _, starting with a letter")
    path = Path(path)
    if not path.is_file() and workflow_dir is not None and (Path(workflow_dir) / path).is_file():
        path = Path(workflow_dir) / path
    if not path.is_file():
        where = f" (looked in the working directory and in {workflow_dir})" if workflow_dir else ""
        raise InputError(path, f"the config file of track {name!r} does not exist{where}",
                         f"give tracks.{name} the path of a config file (e.g. config/bible-e5.yaml)")
    try:
        config = yaml.safe_load(path.read_text())
    except yaml.YAMLError as e:
        raise InputError(path, f"not valid YAML ({e})", "fix the file's syntax") from e
    if not isinstance(config, dict):
        raise InputError(path, "a config file must be a YAML mapping", "start from config/bible-e5.yaml")
    if config.get("tracks"):
        raise InputError(path, f"track {name!r} has tracks of its own", "remove its tracks key: tracks do not nest")
    return config


def check_shared(main: dict, track: dict, name: str, path: str | Path) -> None:
    """Raise unless ``track`` reads the same data, NMT settings and held-out split as ``main``, so that
    the main run's NMT models and translations are the ones the track would train itself."""
    for key in SHARED_KEYS:
        if _get(main, key) != _get(track, key):
            raise ConfigError(f"tracks.{name}", f"{path} sets {key} to {_get(track, key)!r}, the main config "
                                                f"to {_get(main, key)!r}; a track shares the main run's data "
                                                f"and NMT models, so these must agree",
                              f"the same {key} in both files")
