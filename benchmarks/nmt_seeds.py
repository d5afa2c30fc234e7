"""Is tiny NMT training on CUDA different from CPU, or is the test recipe fragile on any device?

    PYTHONPATH=src:tests python benchmarks/nmt_seeds.py --devices cpu [cuda] --seeds 1 2 3 [--compare cuda] [--out F.tsv]

Trains the NMT tests' tiny Marian recipe (tests/test_nmt.py's TINY, on the tests' shrunk default
world) per device, seed and dropout (the recipe's 0.1, and 0 where the two devices should follow
the same trajectory from the same initial weights). Per run: the first training losses, the
held-out curve, BLEU on 40 training pairs (the test wants 20 more than the untrained model's) and,
for en-xx, the share of foreign words in the translations of the same 40 (the test: of 10, > 1/2). Prints one TSV row per run.
``--compare cuda`` first runs one step from the same initial weights on the CPU and the GPU and
prints both losses and the largest gradient difference.
docs/tests.md#the-gpu-check reads it.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import torch

from optical.data.bitext import read_split
from optical.data.synthetic import WorldSpec, write_world
from optical.train import nmt, trainer

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from conftest import shrink_world  # noqa: E402  the tests' world, so the numbers are the tests'
from test_nmt import HELDOUT, TINY  # noqa: E402


def first_losses(record_losses: list, n: int = 5) -> str:
    return " ".join(f"{x:.4f}" for x in record_losses[:n])


def one_run(bitext: str, out: Path, direction: str, seed: int, device: str, dropout: float, steps: int) -> dict:
    losses = []
    fit = trainer.fit

    def recording_fit(model, step_loss, *args, **kwargs):  # records every step's training loss
        def loss(idx):
            value = step_loss(idx)
            losses.append(float(value.detach()))
            return value
        return fit(model, loss, *args, **kwargs)

    saved = nmt.DROPOUT, nmt.fit
    nmt.DROPOUT, nmt.fit = dropout, recording_fit
    try:
        start = time.perf_counter()
        record = nmt.train_nmt(bitext, str(out), dict(TINY, steps=steps), direction, HELDOUT, seed=seed,
                               device=device)
        seconds = time.perf_counter() - start
    finally:
        nmt.DROPOUT, nmt.fit = saved
    en, xx, _, train_idx = read_split(bitext, HELDOUT, None)
    sources, targets = nmt.sources_and_targets(en, xx, direction, bitext)
    idx = train_idx[:40]
    hyp = nmt.translate(out, [sources[i] for i in idx], device=device)
    scores = nmt.corpus_scores(hyp, [targets[i] for i in idx])
    foreign = set(" ".join(xx).split()) - set(" ".join(en).split())
    words = " ".join(hyp).split()
    curve = [p["loss"] for p in record["heldout_curve"]]
    return {"device": device, "direction": direction, "seed": seed, "dropout": dropout, "steps": steps,
            "seconds": round(seconds, 1),
            "first_losses": first_losses(losses), "heldout_first": round(curve[0], 3),
            "heldout_min": round(min(curve[1:]), 3), "heldout_last": round(curve[-1], 3),
            "train_bleu": round(scores["bleu"], 1), "heldout_bleu": round(record["heldout_bleu"], 1),
            "foreign_share": round(sum(w in foreign for w in words) / max(1, len(words)), 3)}


def one_step(tok, bitext_rows, device: str, seed: int) -> tuple[float, dict, str]:
    """(loss, gradients on the CPU, attention kernel) of one training step's forward and backward
    from the initial weights of ``seed`` (dropout 0) on 16 training pairs, on ``device``."""
    en, xx, idx = bitext_rows
    torch.manual_seed(seed)
    model = nmt.build_model(tok, TINY).to(device).train()
    batch = nmt.encode_pairs(tok, [xx[i] for i in idx], [en[i] for i in idx], TINY["max_length"],
                             torch.device(device))
    loss = nmt.token_loss(model, batch)
    loss.backward()
    grads = {n: p.grad.detach().cpu() for n, p in model.named_parameters() if p.grad is not None}
    return float(loss.detach()), grads, f"{model.config._attn_implementation}, dropout {model.config.dropout}"


def compare_devices(bitext: str, device: str, seed: int = 2) -> dict:
    """One step from the same initial weights on the CPU and on ``device``: both losses, the
    gradient with the largest absolute difference and that difference relative to its largest
    entry, and the attention kernels."""
    en, xx, _, train_idx = read_split(bitext, HELDOUT, None)
    tok = nmt.train_tokenizer([t for i in train_idx for t in (en[i], xx[i])], TINY["vocab_size"])
    saved, nmt.DROPOUT = nmt.DROPOUT, 0.0
    try:
        (cpu_loss, cpu_grads, cpu_attn), (dev_loss, dev_grads, dev_attn) = [
            one_step(tok, (en, xx, train_idx[:16]), dev, seed) for dev in ("cpu", device)]
    finally:
        nmt.DROPOUT = saved
    if sorted(cpu_grads) != sorted(dev_grads):
        raise AssertionError(f"different parameters got gradients on cpu and {device}")
    diff = {n: float((cpu_grads[n] - dev_grads[n]).abs().max()) for n in cpu_grads}
    worst = max(diff, key=diff.get)
    relative = diff[worst] / max(float(cpu_grads[worst].abs().max()), 1e-30)
    return {"cpu_loss": cpu_loss, "device_loss": dev_loss, "worst_grad": worst, "worst_grad_rel_diff": relative,
            "attention": f"{cpu_attn} / {dev_attn}"}  # the kernel and the dropout in force on each


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--devices", nargs="+", default=["cpu"])
    ap.add_argument("--seeds", nargs="+", type=int, default=[2])
    ap.add_argument("--dropouts", nargs="+", type=float, default=[0.1, 0.0])
    ap.add_argument("--directions", nargs="+", default=["xx-en", "en-xx"])
    ap.add_argument("--steps", type=int, default=TINY["steps"], help="training steps (the tests' recipe: 400)")
    ap.add_argument("--out")
    ap.add_argument("--compare", help="first compare one step's loss and gradients on the CPU and this device")
    args = ap.parse_args(argv)
    import yaml
    world = shrink_world(yaml.safe_load((ROOT / "config" / "config.yaml").read_text())["world"])
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        write_world(WorldSpec.from_config(world), Path(tmp) / "world")
        bitext = str(Path(tmp) / "world" / "bitext" / "en-sw.parquet")
        if args.compare:
            print("compare:", compare_devices(bitext, args.compare), flush=True)
        for device in args.devices:
            for direction in args.directions:
                for dropout in args.dropouts:
                    for seed in args.seeds:
                        out = Path(tmp) / f"{device}-{direction}-{dropout}-{seed}"
                        rows.append(one_run(bitext, out, direction, seed, device, dropout, args.steps))
                        print("\t".join(str(v) for v in rows[-1].values()), flush=True)
    table = pd.DataFrame(rows)
    if args.out:
        table.to_csv(args.out, sep="\t", index=False)
    print(table.to_string(index=False))


if __name__ == "__main__":
    torch.set_num_threads(1)
    main()
