"""Glue between Snakemake jobs and the package: logging into the rule's log file, and code hashes.

Snakemake reruns a job when its script changes, but it cannot see the package modules the script
imports. Each rule therefore passes ``code=code_hash(<its script>)`` as a param: a hash of the
script and of every ``optical`` module it imports, directly or through other modules, found by
reading the source (``ast``), so no list of modules is written by hand. Editing any module in that
closure changes the param, and Snakemake reruns the job and everything downstream of it.
"""

from __future__ import annotations

import ast
import atexit
import hashlib
import logging
import os
import platform
import re
import sys
import warnings
from functools import lru_cache
from pathlib import Path

PACKAGE = "optical"
PACKAGE_DIR = Path(__file__).resolve().parent
JOB_COST = "job cost:"  # the line each job's log ends with (read_job_costs)


def setup_logging(log_path: str | None) -> None:
    """Send logging, warnings and stderr of a job to its ``log:`` file."""
    if log_path:  # emptied once, then appended to by both the handler and stderr: neither overwrites the other
        open(log_path, "w").close()
    handlers = [logging.FileHandler(log_path, mode="a")] if log_path else [logging.StreamHandler()]
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s",
                        handlers=handlers, force=True)
    logging.captureWarnings(True)
    if log_path:
        sys.stderr = open(log_path, "a", buffering=1)
    warnings.filterwarnings("ignore", message=".*TypedStorage is deprecated.*")
    if "SLURM_JOB_ID" in os.environ:  # which scheduler job wrote this log
        logging.info("SLURM_JOB_ID=%s host=%s partition=%s", os.environ["SLURM_JOB_ID"], platform.node(),
                     os.environ.get("SLURM_JOB_PARTITION", "?"))
    rule = getattr(getattr(sys.modules.get("__main__"), "snakemake", None), "rule", None)
    if rule:
        atexit.register(log_job_cost, rule)


def log_job_cost(rule: str) -> None:
    """Log the job's exact CPU seconds (user + system, its own and its children's) and peak RSS.
    Snakemake's ``benchmark:`` samples CPU time every 0.5 s for 15 s, then every 30 s, and keeps
    the last sample, so it misses up to 30 s of every longer job; ``benchmarks/pipeline.py`` reads
    these lines instead (:func:`read_job_costs`)."""
    import resource

    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime
    per_mib = 1024 ** 2 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes on macOS, KiB on Linux
    logging.getLogger(__name__).info("%s rule=%s cpu_s=%.2f max_rss_mib=%.0f", JOB_COST, rule, cpu,
                                     max(own.ru_maxrss, children.ru_maxrss) / per_mib)


def read_job_costs(log_root: str | Path) -> list[tuple[str, float, float]]:
    """(rule, CPU seconds, peak RSS MiB) of every job whose log under ``log_root`` ends with a
    :func:`log_job_cost` line (the last one, if a log holds several)."""
    line = re.compile(rf"{JOB_COST} rule=(\S+) cpu_s=([0-9.]+) max_rss_mib=([0-9.]+)")
    out = []
    for f in sorted(Path(log_root).rglob("*.log")):
        found = line.findall(f.read_text(errors="replace"))
        if found:
            rule, cpu, rss = found[-1]
            out.append((rule, float(cpu), float(rss)))
    return out


def module_file(name: str, package_dir: Path = PACKAGE_DIR) -> Path | None:
    """The source file of package module ``name`` (``optical.a.b``), or None if it is not one."""
    parts = name.split(".")
    if parts[0] != PACKAGE:
        return None
    base = package_dir.joinpath(*parts[1:])
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _imported_names(path: Path, package: str | None) -> set[str]:
    """Every module name an ``import`` anywhere in ``path`` may load (inside functions too), with
    ``from a import b`` giving both ``a`` and ``a.b``; relative imports are resolved."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = (package or "").split(".")
                anchor = anchor[:len(anchor) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def _with_parents(name: str) -> list[str]:
    """Importing ``a.b.c`` runs ``a/__init__`` and ``a/b/__init__`` too."""
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts) + 1)]


def import_closure(script: str | os.PathLike, package_dir: Path = PACKAGE_DIR) -> list[str]:
    """Sorted names of the package modules that ``script`` imports, directly or transitively."""
    seen: set[str] = set()
    todo = [(Path(script), None)]
    while todo:
        path, package = todo.pop()
        for name in _imported_names(path, package):
            for mod in _with_parents(name):
                file = module_file(mod, package_dir)
                if file is None or mod in seen:
                    continue
                seen.add(mod)
                todo.append((file, mod if file.name == "__init__.py" else mod.rpartition(".")[0]))
    return sorted(seen)


@lru_cache(maxsize=None)
def code_hash(script: str | os.PathLike, package_dir: Path = PACKAGE_DIR) -> str:
    """Hash of ``script`` and of every package module in its import closure (cached per process:
    Snakemake evaluates params once per rule while it builds the DAG)."""
    h = hashlib.sha256(Path(script).read_bytes())
    for mod in import_closure(script, package_dir):
        h.update(mod.encode())
        h.update(module_file(mod, package_dir).read_bytes())
    return h.hexdigest()[:16]
