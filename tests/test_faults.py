"""Same seed, same numbers; a training job killed mid-run resumes to the same result.

Three runs of a tiny config through real Snakemake: two clean runs in separate directories must
give identical metrics (determinism); in a third, the OPTICAL job is SIGKILLed after it saved
its first resumable state, the rerun resumes from that state, and everything matches the clean
run bitwise.
"""

import copy
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml
from safetensors.torch import load_file

from conftest import ROOT, shrink_world

pytestmark = pytest.mark.slow
MODEL = Path("results/models/optical/sw/main/seed1")
STATE = Path("results/.state/optical/sw/main/seed1/state.pt")


def tiny_config(default: dict) -> dict:
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
    cfg["candidates"].update(queries=20, depth=30)
    return cfg


def _workdir(base: Path, cfg: dict) -> Path:
    base.mkdir(parents=True)
    for item in ("Snakefile", "workflow", "profiles", "envs"):
        src = ROOT / item
        (shutil.copytree if src.is_dir() else shutil.copy)(src, base / item)
    (base / "config").mkdir()
    (base / "config" / "config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    return base


def _snakemake(work: Path, timeout=900):
    return subprocess.run([sys.executable, "-m", "snakemake", "--cores", "2"], cwd=work, capture_output=True,
                          text=True, timeout=timeout)


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


@pytest.fixture(scope="module")
def clean_run(tmp_path_factory, default_config):
    work = _workdir(tmp_path_factory.mktemp("faults") / "clean", tiny_config(default_config))
    out = _snakemake(work)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    return work


def test_same_config_and_seed_give_identical_metrics(clean_run, tmp_path, default_config):
    again = _workdir(tmp_path / "again", tiny_config(default_config))
    out = _snakemake(again)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    a = clean_run / "results" / "report" / "metrics.parquet"
    b = again / "results" / "report" / "metrics.parquet"
    assert pq.read_table(a).equals(pq.read_table(b))
    assert a.read_bytes() == b.read_bytes()


def test_killed_training_job_resumes_to_the_same_result(clean_run, tmp_path, default_config):
    work = _workdir(tmp_path / "killed", tiny_config(default_config))
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
    a, b = load_file(str(clean_run / MODEL / "model.safetensors")), load_file(str(work / MODEL / "model.safetensors"))
    assert all((a[k] == b[k]).all() for k in a)
    assert (clean_run / MODEL / "training.json").read_text() == (work / MODEL / "training.json").read_text()
    assert pq.read_table(clean_run / "results" / "report" / "metrics.parquet").equals(
        pq.read_table(work / "results" / "report" / "metrics.parquet"))
