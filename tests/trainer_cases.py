"""Every trainer of the package on tiny inputs, callable by name from the tests and from a child
process (which the kill-and-resume test SIGKILLs after it saved its state)."""

from __future__ import annotations

import copy
import os
import signal
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from conftest import TEST_DEVICE  # noqa: E402

TRAINING = {"steps": 12, "batch_size": 8, "lr": 1e-3, "weight_decay": 0.01, "grad_clip": 1.0, "checkpoint_every": 4}
KILL_AT = 4  # the child process dies right after saving its state at this step


def build_fixtures(root: Path) -> Path:
    """A small world, its triples, bitext and NER data, a tiny encoder, a teacher and an NER teacher."""
    from conftest import shrink_world
    from paper_fixtures import write_tiny_encoder

    from optical.data.msmarco import export_triples
    from optical.data.synthetic import WorldSpec, write_world
    from optical.ner import data as ner_data
    from optical.ner.world import NerSpec, write_ner_world

    default = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    world = shrink_world(default["world"])
    write_world(WorldSpec.from_config(world), root / "world")
    ms = root / "world" / "msmarco"
    export_triples(ms / "collection.tsv", ms / "queries.train.tsv", ms / "qidpidtriples.train.tsv",
                   root / "triples.parquet", 0, 0)
    export_triples(root / "world" / "mmarco" / "sw_collection.tsv", ms / "queries.train.tsv",
                   ms / "qidpidtriples.train.tsv", root / "tt.parquet", 0, 0)
    ner_world = dict(copy.deepcopy(default["ner"]["world"]), entities_per_type=20,
                     sentences={"train": 60, "dev": 5, "test": 5}, english_train=60)
    write_ner_world(WorldSpec.from_config(world), NerSpec.from_config(ner_world), root / "panx", ["sw"])
    for lang in ("en", "sw"):
        ner_data.write_sentences(root / f"ner_{lang}.parquet", ner_data.read_panx(root / "panx" / lang / "train"))
    write_tiny_encoder(root / "encoder", [root / "world" / "mono" / f"{l}.txt" for l in ("en", "sw")])
    run_case("teacher", root, root / "teacher", None, steps=3)
    run_case("ner_teacher", root, root / "ner_teacher", None, steps=3)
    return root


def run_case(name: str, fx: Path, out: Path, state: Path | None, **overrides) -> dict:
    """Train ``name`` on the fixtures in ``fx`` into ``out`` with resumable state under ``state``."""
    from optical import registry
    from optical.ner import train as ner_train
    from optical.train import distill, nmt, pretrain, teacher

    cfg = dict(TRAINING, **overrides)
    common = dict(seed=3, threads=1, device=TEST_DEVICE, state_dir=str(state) if state else None)
    ot = {"reg": 0.05, "max_iter": 30, "tol": 1e-4}
    if name == "pretrain":
        encoder = {"vocab_size": 600, "hidden_size": 32, "num_layers": 1, "num_heads": 2, "intermediate_size": 64,
                   "max_position_embeddings": 48}
        cfg.update(warmup_steps=2, max_length=24, mask_prob=0.15, language_alpha=0.7, tokenizer_sentences=400)
        mono = {lang: str(fx / "world" / "mono" / f"{lang}.txt") for lang in ("en", "sw")}
        return pretrain.pretrain(mono, str(out), cfg, encoder, **common)
    if name == "teacher":
        cfg.update(dim=16, query_max_length=16, doc_max_length=32, temperature=0.25)
        return teacher.train_teacher(str(fx / "encoder"), str(fx / "triples.parquet"), str(out), cfg, **common)
    if name == "translate_train":
        cfg.update(temperature=0.25)
        return teacher.train_translate_train(str(fx / "teacher"), str(fx / "tt.parquet"), str(out), cfg, **common)
    if name in registry.names(registry.BITEXT):
        cfg.update(max_length=24, heldout_pairs=10, eval_every=4, fixed_alignment="position", sentence_weight=1.0,
                   ot=ot)
        return distill.distill(name, str(fx / "teacher"), str(fx / "world" / "bitext" / "en-sw.parquet"), str(out),
                               cfg, **common)
    if name == "nmt":
        cfg.update(warmup_steps=2, eval_every=4, max_length=24, vocab_size=300, d_model=16, layers=1, heads=2,
                   ffn_dim=32, num_beams=1, translate_batch_size=16)
        return nmt.train_nmt(str(fx / "world" / "bitext" / "en-sw.parquet"), str(out), cfg, "xx-en", 10, **common)
    cfg.update(max_length=24)
    if name == "ner_teacher":
        return ner_train.train_teacher(str(fx / "encoder"), str(fx / "ner_en.parquet"), str(out), cfg, **common)
    if name == "ner_teacher_student":
        cfg.update(loss="mse", temperature=1.0)
        return ner_train.train_student(str(fx / "ner_teacher"), str(fx / "encoder"), str(fx / "ner_sw.parquet"),
                                       str(out), cfg, **common)
    if name == "ner_ot_aligned":
        return ner_train.train_ot_aligned(str(fx / "ner_teacher"), str(fx / "world" / "bitext" / "en-sw.parquet"),
                                          str(out), cfg, ot, "labels", **common)
    raise ValueError(f"no trainer case {name!r}")


def run_killed(name: str, fx: Path, out: Path, state: Path) -> None:
    """``run_case`` in this process, SIGKILLed right after it saved its state at step KILL_AT."""
    from optical.train import trainer

    save = trainer.TrainState.maybe_save

    def save_then_die(self, model, opt, sched, sampler, loop):
        save(self, model, opt, sched, sampler, loop)
        if loop["step"] == KILL_AT:
            os.kill(os.getpid(), signal.SIGKILL)

    trainer.TrainState.maybe_save = save_then_die
    run_case(name, fx, out, state)


if __name__ == "__main__":
    run_killed(sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4]))
