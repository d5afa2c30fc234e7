"""The workflow itself: lint-clean, and the default DAG has the jobs the design promises."""

import re
import subprocess
import sys

from conftest import ROOT


def _snakemake(*args, cwd):
    return subprocess.run([sys.executable, "-m", "snakemake", *args], cwd=cwd, capture_output=True, text=True)


def test_lint_is_clean():
    out = _snakemake("--lint", cwd=ROOT)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "Congratulations" in out.stdout + out.stderr


def test_default_dag_job_counts(tmp_path, default_config):
    out = _snakemake("-n", "-s", str(ROOT / "Snakefile"), "--configfile", str(ROOT / "config" / "config.yaml"),
                     "--directory", str(tmp_path), cwd=ROOT)
    assert out.returncode == 0, out.stderr[-3000:]
    counts = {k: int(v) for k, v in re.findall(r"^(\w+)\s+(\d+)$", out.stdout, flags=re.M)}
    n_lang, n_seed = len(default_config["languages"]), len(default_config["seeds"])
    trained = [s for s in default_config["systems"] if s != "random"]
    assert counts["make_world"] == counts["pretrain"] == counts["report"] == 1
    assert counts["teacher"] == n_seed
    assert counts["collection"] == counts["bitext"] == counts["candidates"] == n_lang
    assert counts["distill_optical"] == n_lang * n_seed
    assert counts["rerank"] == n_lang * n_seed * len(trained)
    assert counts["evaluate"] == n_lang * (n_seed * len(trained) + 1)
