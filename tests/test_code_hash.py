"""Reruns follow the imports: each rule's ``code`` param hashes its script's import closure, found by
reading the source, and changes exactly when a module in that closure changes."""

import shutil
import subprocess
import sys
from modulefinder import ModuleFinder
from pathlib import Path

import pytest

from conftest import ROOT, workflow_rules
from optical.workflow import PACKAGE_DIR, code_hash, import_closure

SCRIPTS = sorted((ROOT / "workflow" / "scripts").glob("*.py"))


def package_modules(package_dir: Path) -> dict[str, Path]:
    """Every module of the package: dotted name -> file."""
    out = {}
    for f in sorted(package_dir.rglob("*.py")):
        parts = f.relative_to(package_dir.parent).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = f
    return out


@pytest.mark.parametrize("script", SCRIPTS, ids=[s.stem for s in SCRIPTS])
def test_closure_equals_what_modulefinder_finds(script):
    """An independent static analysis (the standard library's bytecode scanner, which also looks
    inside functions) finds the same package modules."""
    finder = ModuleFinder(path=[str(PACKAGE_DIR.parent)])
    finder.run_script(str(script))
    found = sorted(m for m in finder.modules if m == "optical" or m.startswith("optical."))
    assert import_closure(script) == found


def test_closures_follow_imports_through_other_modules():
    distill = import_closure(ROOT / "workflow" / "scripts" / "distill.py")
    # distill.py imports optical.train.distill, which imports the bitext validation and the transport
    # losses through the objectives: all are in the closure, the report and NER code are not
    assert {"optical.train.distill", "optical.data.bitext", "optical.train.objectives", "optical.transport",
            "optical.registry", "optical.train.trainer", "optical.io", "optical.models"} <= set(distill)
    assert not any(m.startswith(("optical.report", "optical.ner", "optical.evaluate")) for m in distill)


@pytest.fixture(scope="module")
def package_copy(tmp_path_factory):
    root = tmp_path_factory.mktemp("pkg")
    shutil.copytree(PACKAGE_DIR, root / "optical", ignore=shutil.ignore_patterns("__pycache__"))
    return root / "optical"


@pytest.mark.parametrize("script", SCRIPTS, ids=[s.stem for s in SCRIPTS])
def test_editing_a_module_changes_exactly_the_hashes_of_the_scripts_that_import_it(script, package_copy):
    closure = set(import_closure(script, package_copy))
    before = code_hash(script, package_copy)
    for name, f in package_modules(package_copy).items():
        original = f.read_bytes()
        f.write_bytes(original + b"\n# edited\n")
        code_hash.cache_clear()
        try:
            changed = code_hash(script, package_copy) != before
        finally:
            f.write_bytes(original)
            code_hash.cache_clear()
        assert changed == (name in closure), (script.name, name)




@pytest.mark.parametrize("configfile", ["config.yaml", "paper.yaml", "bible.yaml", "bible-e5.yaml"])
def test_every_rule_passes_the_hash_of_its_own_script(configfile, tmp_path):
    rules = workflow_rules(configfile, tmp_path)
    with_script = {name: r for name, r in rules.items() if r["script"]}
    assert len(with_script) >= 15
    for name, r in with_script.items():
        assert r["code"] == code_hash(Path(r["script"]).resolve()), name


# --- the job's own CPU and memory, logged at exit -------------------------------------------

JOB = """
import sys, types
sys.modules["__main__"].snakemake = types.SimpleNamespace(rule={rule!r})
from optical.workflow import setup_logging
setup_logging({log!r})
total = sum(i * i for i in range(3_000_000))  # some CPU work
{tail}
"""


def run_job(tmp_path, rule, name="job.log", tail="", returncode=0):
    log = tmp_path / name
    out = subprocess.run([sys.executable, "-c", JOB.format(rule=rule, log=str(log), tail=tail)], capture_output=True,
                         text=True)
    assert out.returncode == returncode, out.stderr
    return log


def test_a_job_log_ends_with_its_cpu_seconds_and_peak_memory(tmp_path):
    from optical.workflow import read_job_costs
    log = run_job(tmp_path, "distill_optical")
    last = log.read_text().strip().splitlines()[-1]
    assert "job cost: rule=distill_optical" in last
    [(rule, cpu, rss)] = read_job_costs(tmp_path)
    assert rule == "distill_optical"
    assert 0.05 < cpu < 60          # the loop's CPU time, not zero and not wall-clock nonsense
    assert 10 < rss < 4096          # a Python process's peak RSS in MiB


def test_a_failed_jobs_log_keeps_its_whole_traceback_before_the_cost_line(tmp_path):
    tail = "import logging; logging.info('working'); raise RuntimeError('boom')"
    lines = run_job(tmp_path, "teacher", tail=tail, returncode=1).read_text().strip().splitlines()
    assert any("INFO working" in line for line in lines)
    assert "Traceback (most recent call last):" in lines
    assert lines[-2] == "RuntimeError: boom" and "job cost: rule=teacher" in lines[-1]


def test_job_costs_skip_logs_without_a_cost_line_and_take_the_last(tmp_path):
    from optical.workflow import read_job_costs
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "old.log").write_text("INFO nothing here\n")
    (tmp_path / "a" / "twice.log").write_text("x job cost: rule=teacher cpu_s=1.00 max_rss_mib=10\n"
                                              "x job cost: rule=teacher cpu_s=2.50 max_rss_mib=20\n")
    assert read_job_costs(tmp_path) == [("teacher", 2.5, 20.0)]


def test_no_cost_line_outside_snakemake(tmp_path):
    log = tmp_path / "plain.log"
    code = f"from optical.workflow import setup_logging; setup_logging({str(log)!r})"
    subprocess.run([sys.executable, "-c", code], check=True)
    assert "job cost" not in log.read_text()
