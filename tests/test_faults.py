"""Same seed, same numbers; a training job killed mid-run resumes to the same result.

A clean run of a tiny config through real Snakemake, then two copies of it: in one, every training
step from the teacher on is forced to run again and must give byte-identical metrics
(determinism); in the other, the OPTICAL job is forced to rerun and SIGKILLed after it saved its
first resumable state (it and what follows it deleted first), the rerun resumes from that state, and everything matches the clean run
bitwise. (The WordPiece trainer of `tokenizers` is not deterministic across processes, so the
encoder's vocabulary is shared through the copy; docs/failure-modes.md.)
"""

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from safetensors.torch import load_file

from conftest import clone_run, snakemake_run as _snakemake

pytestmark = pytest.mark.slow
MODEL = Path("results/models/optical/sw/main/seed1")
STATE = Path("results/.state/optical/sw/main/seed1/state.pt")


def _job_pids(pattern: str) -> list[int]:
    pids = []
    for p in Path("/proc").iterdir():
        if p.name.isdigit() and int(p.name) != os.getpid():
            try:
                if pattern in (p / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"):
                    pids.append(int(p.name))
            except OSError:
                pass
    return pids


def test_same_config_and_seed_give_identical_metrics(tiny_clean_run, tmp_path):
    again = clone_run(tiny_clean_run, tmp_path / "again")
    out = _snakemake(again, "--forcerun", "teacher")
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert "distill_optical" in out.stdout + out.stderr  # the teacher and everything after it ran again
    a = tiny_clean_run / "results" / "report" / "metrics.parquet"
    b = again / "results" / "report" / "metrics.parquet"
    assert pq.read_table(a).equals(pq.read_table(b))
    assert a.read_bytes() == b.read_bytes()


def test_killed_training_job_resumes_to_the_same_result(tiny_clean_run, tmp_path):
    work = clone_run(tiny_clean_run, tmp_path / "killed")
    # as if the run had got as far as the OPTICAL job: it and everything after it are missing
    for path in (MODEL, "results/runs/sw/optical", "results/metrics/sw/optical", "results/report"):
        shutil.rmtree(work / path)
    proc = subprocess.Popen([sys.executable, "-m", "snakemake", "--cores", "2"], cwd=work,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 600
    killed = []
    while time.monotonic() < deadline and proc.poll() is None:
        if (work / STATE).exists():
            # the job, not Snakemake: as when a scheduler kills a job that ran out of time
            killed = [p for p in _job_pids("distill.py") if str(work) in os.readlink(f"/proc/{p}/cwd")]
            for pid in killed:
                os.kill(pid, signal.SIGKILL)
            break
        time.sleep(0.2)
    log, _ = proc.communicate(timeout=600)
    assert killed, "the distillation job finished before it could be killed:\n" + log[-3000:]
    assert proc.returncode != 0
    assert not (work / MODEL).exists()  # nothing that looks finished
    assert (work / STATE).exists()      # but the work so far is kept

    out = _snakemake(work)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    resumed_log = (work / "logs" / "distill_optical" / "sw" / "main" / "seed1.log").read_text()
    assert "resuming from step" in resumed_log
    assert not (work / STATE).exists()
    a, b = load_file(str(tiny_clean_run / MODEL / "model.safetensors")), load_file(str(work / MODEL / "model.safetensors"))
    assert all((a[k] == b[k]).all() for k in a)
    assert (tiny_clean_run / MODEL / "training.json").read_text() == (work / MODEL / "training.json").read_text()
    assert pq.read_table(tiny_clean_run / "results" / "report" / "metrics.parquet").equals(
        pq.read_table(work / "results" / "report" / "metrics.parquet"))
