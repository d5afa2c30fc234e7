"""Do the tokenizers the pipeline trains come out the same in every fresh process? (docs/failure-modes.md#determinism)

    python benchmarks/tokenizer_determinism.py --workdir DIR [--runs 6] [--language sw]

DIR is a finished run of ``config/config.yaml``. Each run is a fresh Python process (the trainers of
``tokenizers`` iterate Rust hash maps, whose order is random per process) that trains, on the run's
own inputs, the encoder's WordPiece (``optical.models.train_tokenizer`` on seed 1's pretraining
sample, as ``pretrain`` draws it) and the NMT model's BPE (``optical.train.nmt.train_tokenizer`` on
``--language``'s training pairs, as ``nmt_train`` reads them), and prints a digest of each
tokenizer's token set and of its whole token-to-id map. The table counts the distinct digests
over the runs: one means that part is the same in every process.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import yaml


def digests(tok) -> dict:
    vocab = tok.get_vocab()
    digest = lambda x: hashlib.md5(json.dumps(x).encode()).hexdigest()[:12]  # noqa: E731
    return {"tokens": digest(sorted(vocab)), "ids": digest(sorted(vocab.items())), "size": len(vocab)}


def train_once(workdir: Path, language: str) -> dict:
    """Both tokenizers, trained as the pipeline trains them (run in a fresh process)."""
    from optical import models
    from optical.train import nmt
    from optical.train.pretrain import MixtureSampler, language_probs, read_mono

    cfg = yaml.safe_load((workdir / "config" / "config.yaml").read_text())
    r = workdir / "results"
    langs = ["en", *sorted(cfg["world"]["languages"])]
    texts = {lang: read_mono(r / f"world/mono/{lang}.txt") for lang in sorted(langs)}
    probs = language_probs({k: len(v) for k, v in texts.items()}, cfg["pretrain"]["language_alpha"])
    seed = cfg["pretrain"]["seed"] + 1  # seed 1's encoder (the pretrain rule adds the run's seed)
    sentences = MixtureSampler(texts, probs, seed).next_batch(cfg["pretrain"]["tokenizer_sentences"])
    wordpiece = models.train_tokenizer(sentences, cfg["encoder"]["vocab_size"], cfg["encoder"].get("cased", False))
    en, xx, _, train = nmt.read_split(str(r / f"data/{language}/bitext.parquet"), cfg["distill"]["heldout_pairs"], None)
    bpe = nmt.train_tokenizer([t for i in train for t in (en[i], xx[i])], cfg["nmt"]["vocab_size"])
    return {"wordpiece": digests(wordpiece), "bpe": digests(bpe)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workdir", type=Path, required=True, help="a finished run of config/config.yaml")
    ap.add_argument("--runs", type=int, default=6)
    ap.add_argument("--language", default="sw", help="the NMT tokenizer's bitext language")
    ap.add_argument("--once", action="store_true", help=argparse.SUPPRESS)  # one run, in this process
    args = ap.parse_args()
    if args.once:
        print(json.dumps(train_once(args.workdir, args.language)))
        return
    runs = []
    for _ in range(args.runs):
        out = subprocess.run([sys.executable, __file__, "--workdir", str(args.workdir), "--language", args.language,
                              "--once"], capture_output=True, text=True, check=True)
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    print(f"{args.runs} fresh processes, {args.workdir}\n")
    print("| tokenizer | size | distinct token sets | distinct token-to-id maps |\n|---|---|---|---|")
    for name in ("wordpiece", "bpe"):
        sets, ids = Counter(r[name]["tokens"] for r in runs), Counter(r[name]["ids"] for r in runs)
        print(f"| {name} | {runs[0][name]['size']:,} | {len(sets)} | {len(ids)} |")


if __name__ == "__main__":
    main()
