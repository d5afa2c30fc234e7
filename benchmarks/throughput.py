"""How near each training stage of the default run comes to this CPU's matmul throughput (issue 16:
whether the training budgets, the bulk of the run, could run faster or only shorter).

    python benchmarks/throughput.py --workdir DIR [--steps 20]
    python benchmarks/throughput.py --workdir DIR --variants eager foreach fused compile [--repeats 3]

DIR is a finished run of ``config/config.yaml`` (``benchmarks/pipeline.py`` leaves one): its inputs
(encoders, teachers, bitext, triples) feed the real trainers, and its stage table
(``pipeline.stage_table``: the jobs' own CPU seconds) gives each stage's measured CPU time. For each stage the real trainer is called with the one training
loop, ``optical.train.trainer.fit``, replaced by a probe: a few warm-up steps, then ``--steps``
optimiser steps (the trainer's own ``_train_step``: loss, backward, clipping, AdamW) timed, then
as many counted by torch's ``FlopCounterMode`` (matrix products and attention; element-wise work
is not counted), as many under torch's profiler (the matrix products' share of the operators' own
CPU time), then the trainer is stopped. The reference is ``torch.mm`` at the stage's thread
count, once at a large shape (the CPU's peak) and once at a shape of the tiny models (2,048 tokens
x 128 -> 512).

With ``--variants``, each stage's step is timed instead under ways of running the same step that
change no hyper-parameter: AdamW's default single-tensor loop (``eager``, what the trainer runs), its
multi-tensor (``foreach``) and fused kernels, and ``compile`` (fused AdamW plus ``torch.compile`` of
the model, dynamic shapes). Rounds alternate the variants (``--repeats``; the median ms per step is
printed), so drift of the machine's state hits each alike; the warm-up column is the first
steps' wall time (``WARMUP`` of them; for ``compile``, its compilation, paid once per job), and the loss column the
largest difference from the first variant's (``eager`` first, as a rule) mean loss over the timed steps (the same seed, batches and
initial weights, so it shows whether the variant changes the numbers).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from pipeline import stage_table  # noqa: E402

WARMUP = 3
# AdamW's keyword arguments per variant (``compile`` also compiles the model)
VARIANTS = {"eager": {"foreach": False}, "foreach": {"foreach": True}, "fused": {"fused": True},
            "compile": {"fused": True}}
# every training rule asks for one thread; these, on the critical path, are also timed on two
ON_TWO_THREADS_TOO = {"pretrain", "teacher"}
# the profiler's names of the matrix products (dense layers, attention, their backward passes)
MATMUL_OPS = {"aten::mm", "aten::addmm", "aten::bmm", "aten::baddbmm", "aten::addmv", "aten::mv",
              "aten::_scaled_dot_product_flash_attention_for_cpu",
              "aten::_scaled_dot_product_flash_attention_for_cpu_backward"}


class Probed(Exception):
    """Raised by the probe to stop a trainer after measuring it."""

    def __init__(self, result: dict):
        super().__init__("probed")
        self.result = result


def probe_fit(steps: int, variant: str | None = None):
    """A stand-in for ``fit`` that measures ``steps`` real optimiser steps and stops the trainer.
    Without ``variant``: time, FLOPs and the matrix products' share; with one: time only (VARIANTS)."""
    import torch

    from optical.train import trainer as T

    def fit(model, step_loss, sampler, cfg, *, stage, state, params=None, estimate=None):
        params = list(model.parameters() if params is None else params)
        if cfg.get("freeze_word_embeddings"):
            params = T.without_word_embeddings(model, params)
        opt = torch.optim.AdamW(params, lr=cfg["lr"], weight_decay=cfg["weight_decay"],
                                **VARIANTS[variant or "eager"])
        if variant == "compile":
            model.compile(dynamic=True)
        model.train()
        loop = {"step": 0, "history": {"loss": []}, "curve": [], "skipped": 0, "examples": 0}

        def one():
            T._train_step(model, params, opt, step_loss(sampler.next_batch(cfg["batch_size"])), cfg, stage, loop)
        warm = time.perf_counter()
        for _ in range(WARMUP):
            one()
        warm = time.perf_counter() - warm
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(steps):
            one()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        timed = {"ms": 1000 * wall / steps, "cpu_ms": 1000 * cpu / steps, "warm_s": warm,
                 "loss": sum(loop["history"]["loss"][-steps:]) / steps}
        raise Probed(timed if variant else {**timed, **counted(one, steps)})
    return fit


def counted(one, steps: int) -> dict:
    """FLOPs per step (torch's counter) and the matrix products' share of operator time (its profiler)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        for _ in range(steps):
            one()
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
        for _ in range(steps):
            one()
    ops = prof.key_averages()
    matmul = sum(e.self_cpu_time_total for e in ops if e.key in MATMUL_OPS)
    return {"gflop": counter.get_total_flops() / steps / 1e9,
            "matmul_share": matmul / max(sum(e.self_cpu_time_total for e in ops), 1)}


def stages(run: Path, cfg: dict) -> dict:
    """stage -> (steps per job, a call of the real trainer on the run's own inputs with a thread count)."""
    from optical.train.distill import distill
    from optical.train.nmt import train_nmt
    from optical.train.pretrain import pretrain
    from optical.train.teacher import train_teacher, train_translate_train

    r = run / "results"
    out = tempfile.mkdtemp(prefix="optical-throughput-")
    lang, langs = "sw", ["en", *sorted(cfg["world"]["languages"])]  # the pretrain rule's [PIVOT] + WORLD_LANGS
    pre = {**cfg["pretrain"], "seed": cfg["pretrain"]["seed"] + 1}
    nmt = {k: v for k, v in cfg["nmt"].items() if k != "keep_titles"}
    teacher = str(r / "models/teacher/seed1")
    calls = {
        "pretrain": (pre["steps"], lambda t: pretrain({l: str(r / f"world/mono/{l}.txt") for l in langs}, out,
                                                         pre, cfg["encoder"], seed=pre["seed"], threads=t, device="cpu")),
        "teacher": (cfg["teacher"]["steps"], lambda t: train_teacher(
            str(r / "models/encoder/seed1"), str(r / "data/msmarco/triples.parquet"), out, cfg["teacher"], seed=1,
            threads=t, device="cpu")),
        "nmt_train": (nmt["steps"], lambda t: train_nmt(str(r / f"data/{lang}/bitext.parquet"), out, nmt, "xx-en",
                                                         cfg["distill"]["heldout_pairs"], seed=1, threads=t,
                                                           device="cpu")),
        "translate_train": (cfg["translate_train"]["steps"], lambda t: train_translate_train(
            teacher, str(r / f"data/{lang}/translate_train.parquet"), out,
            {**cfg["translate_train"], "temperature": cfg["teacher"]["temperature"]}, seed=1, threads=t, device="cpu")),
    }
    for method in ("sentence_kd", "optical"):
        calls[f"distill_{method}"] = (cfg["distill"]["steps"], lambda t, m=method: distill(
            m, teacher, str(r / f"data/{lang}/bitext.parquet"), out, cfg["distill"], seed=1, threads=t, device="cpu"))
    return calls


def matmul_gflops(threads: int, m: int, k: int, n: int, repeats: int = 20) -> float:
    """Median GFLOP/s of ``torch.mm`` of an (m, k) by a (k, n) float32 matrix."""
    import torch

    torch.set_num_threads(threads)
    a, b = torch.randn(m, k), torch.randn(k, n)
    times = []
    for _ in range(repeats + 3):
        t = time.perf_counter()
        torch.mm(a, b)
        times.append(time.perf_counter() - t)
    return 2 * m * k * n / sorted(times[3:])[repeats // 2] / 1e9


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workdir", type=Path, required=True, help="a finished run of config/config.yaml")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--variants", nargs="+", choices=sorted(VARIANTS), help="time the step under these instead")
    ap.add_argument("--repeats", type=int, default=3, help="rounds of the variants (with --variants)")
    args = ap.parse_args()
    cfg = yaml.safe_load((args.workdir / "config" / "config.yaml").read_text())
    run = {rule: (jobs, cpu) for rule, jobs, _, cpu, _ in stage_table(args.workdir)}  # the jobs' own CPU seconds
    if args.variants:
        return variant_table(args.workdir, cfg, run, args.variants, args.steps, args.repeats)
    patch_fit(probe_fit(args.steps))
    peak = {t: matmul_gflops(t, 2048, 2048, 2048, 5) for t in (1, 2)}
    small = {t: matmul_gflops(t, 2048, 128, 512) for t in (1, 2)}
    print(f"torch.mm float32: 2048^3 {peak[1]:.0f} GFLOP/s on 1 thread, {peak[2]:.0f} on 2; "
          f"2048x128x512 {small[1]:.0f} / {small[2]:.0f}\n")
    print("| stage | threads | jobs x steps | GFLOP per step | ms per step | GFLOP/s | share of the 2048^3 mm | "
          "share of the small mm | matrix products' share of op time | job CPU s (run) | steps' share of job CPU | "
          "CPU s at the 2048^3 mm's rate |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for stage, (steps, call) in stages(args.workdir, cfg).items():
        jobs, cpu = run.get(stage, (0, 0.0))
        for threads in (1, 2) if stage in ON_TWO_THREADS_TOO else (1,):
            print_row(stage, threads, jobs, steps, cpu if threads == 1 else 0.0, probe(call, threads, stage),
                      peak[threads], small[threads], peak[1])


def patch_fit(fit) -> None:
    """Every trainer module calls ``fit`` by its own name: replace it there."""
    import optical.train.distill, optical.train.nmt, optical.train.pretrain, optical.train.teacher  # noqa: E401
    for module in (optical.train.distill, optical.train.nmt, optical.train.pretrain, optical.train.teacher):
        module.fit = fit


def variant_table(workdir: Path, cfg: dict, run: dict, variants: list[str], steps: int, repeats: int) -> None:
    """Per stage (one thread, as the rules run): the median ms per step of each variant over
    ``repeats`` alternating rounds, its warm-up, its loss against eager's, and the run's CPU
    seconds for the stage's steps at each variant's speed."""
    import torch

    print(f"ms per step, median of {repeats} rounds of {steps} steps (warm-up: the first {WARMUP} steps' s; "
          f"loss: the largest |difference| from {variants[0]}'s mean loss)\n")
    print("| stage | jobs x steps | " + " | ".join(f"{v} ms (warm-up s, loss)" for v in variants)
          + f" | steps' CPU s at {variants[0]}'s rate | " + " | ".join(f"at {v}'s" for v in variants[1:]) + " |")
    print("|---" * (2 + 2 * len(variants)) + "|")
    for stage, (steps_per_job, call) in stages(workdir, cfg).items():
        res = {v: [] for v in variants}
        for _ in range(repeats):
            for v in variants:
                patch_fit(probe_fit(steps, v))
                torch.manual_seed(0)
                res[v].append(probe(call, 1, stage))
                torch._dynamo.reset()  # no compiled code carried into the next variant
        med = {v: sorted(r["ms"] for r in rs)[len(rs) // 2] for v, rs in res.items()}
        base = [r["loss"] for r in res[variants[0]]]
        cells = [f"{med[v]:.0f} ({max(r['warm_s'] for r in rs):.1f}, "
                 f"{max(abs(r['loss'] - b) for r, b in zip(rs, base)):.1e})" for v, rs in res.items()]
        jobs = run.get(stage, (0, 0.0))[0]
        cpu = {v: jobs * steps_per_job * med[v] / 1000 for v in variants}
        print(f"| `{stage}` | {jobs} x {steps_per_job} | " + " | ".join(cells) + f" | {cpu[variants[0]]:.0f} | "
              + " | ".join(f"{cpu[v]:.0f}" for v in variants[1:]) + " |", flush=True)


def probe(call, threads: int, stage: str) -> dict:
    try:
        call(threads)
    except Probed as p:
        return p.result
    raise SystemExit(f"{stage}: the trainer never reached fit()")


def print_row(stage: str, threads: int, jobs: int, steps: int, cpu: float, res: dict, peak: float, small: float,
              peak1: float) -> None:
    """One stage's row (``cpu``: its jobs' summed CPU seconds in the run, 0 where the run used another
    thread count)."""
    rate = res["gflop"] / (res["ms"] / 1000)
    total_gflop = jobs * steps * res["gflop"]
    steps_cpu = jobs * steps * res["cpu_ms"] / 1000
    print(f"| `{stage}` | {threads} | {jobs} x {steps} | {res['gflop']:.2f} | {res['ms']:.0f} | {rate:.0f} | "
          f"{rate / peak:.0%} | {rate / small:.0%} | {res['matmul_share']:.0%} | {f'{cpu:.0f}' if cpu else '–'} | "
          f"{f'{steps_cpu / cpu:.0%}' if cpu else '–'} | {total_gflop / peak1:.0f} |")


if __name__ == "__main__":
    main()
