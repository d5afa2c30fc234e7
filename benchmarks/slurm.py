"""Time the tiny pipeline (tests/conftest.py: tiny_config) locally with ``--cores 2`` and through
the local SLURM cluster with ``--profile profiles/slurm``, plus each no-op rerun.

    sudo bash scripts/slurm-local.sh up && python benchmarks/slurm.py; bash scripts/slurm-local.sh down

Numbers go to docs/slurm.md; nothing is asserted here.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from conftest import tiny_config, workdir_with  # noqa: E402  (the same config the tests run)

SLURM = ["--profile", "profiles/slurm", "--slurm-init-seconds-before-status-checks", "1",
         "--seconds-between-status-checks", "1", "--set-resources",
         *[f"{r}:mem_mb=1500" for r in ("pretrain", "teacher", "distill_optical", "rerank")]]


def timed(work: Path, args: list[str]) -> float:
    t = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "snakemake", *args], cwd=work, capture_output=True, text=True)
    if out.returncode:
        sys.exit(out.stdout[-3000:] + out.stderr[-3000:])
    return time.perf_counter() - t


def main() -> None:
    cfg = tiny_config(yaml.safe_load((ROOT / "config" / "config.yaml").read_text()))
    base = Path(tempfile.mkdtemp(prefix="optical-slurm-bench-"))
    local = workdir_with(base / "local", cfg)
    print(f"local --cores 2: {timed(local, ['--cores', '2']):.1f} s; no-op {timed(local, ['--cores', '2']):.1f} s")
    slurm = workdir_with(base / "slurm", dict(cfg, device="cpu"))
    print(f"SLURM profile:   {timed(slurm, SLURM):.1f} s; no-op {timed(slurm, SLURM):.1f} s")
    print(f"workdirs under {base}")


if __name__ == "__main__":
    main()
