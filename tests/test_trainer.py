"""The one trainer: every training stage of the package goes through it, and every one of them,
SIGKILLed right after saving its state, resumes to bitwise the same weights and training record."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from optical import models, registry
from optical.train import trainer
from trainer_cases import ROOT, TRAINING, build_fixtures, run_case

TRAINERS = ["pretrain", "teacher", "translate_train", *registry.names(registry.BITEXT), "ner_teacher",
            "ner_teacher_student", "ner_ot_aligned", "nmt"]


@pytest.fixture(scope="module")
def fixtures(tmp_path_factory):
    return build_fixtures(tmp_path_factory.mktemp("trainers"))


def tensors(model_dir: Path) -> dict:
    out = {f"{k}": v for k, v in load_file(str(model_dir / "model.safetensors")).items()}
    if (model_dir / "colbert_linear.pt").exists():
        out.update({f"proj.{k}": v for k, v in torch.load(model_dir / "colbert_linear.pt").items()})
    return out


@pytest.mark.slow
@pytest.mark.parametrize("name", TRAINERS)
def test_sigkilled_trainer_resumes_bitwise(fixtures, tmp_path, name):
    state = tmp_path / "state"
    child = subprocess.run([sys.executable, str(ROOT / "tests" / "trainer_cases.py"), name, str(fixtures),
                            str(tmp_path / "resumed"), str(state)], capture_output=True, text=True, timeout=600)
    assert child.returncode == -9, child.stderr[-3000:]  # SIGKILL, not an error
    assert not (tmp_path / "resumed").exists()         # nothing that looks finished
    assert (state / trainer.STATE_FILE).exists()       # but the work so far is kept
    reference_state = None
    if name in ("pretrain", "nmt"):  # tokenizer trainers are not deterministic across processes: reuse the vocabulary
        reference_state = tmp_path / "reference_state"
        reference_state.mkdir()
        (state / "tokenizer").rename(reference_state / "tokenizer")
        (state / "tokenizer").mkdir()
        for f in (reference_state / "tokenizer").iterdir():
            (state / "tokenizer" / f.name).write_bytes(f.read_bytes())
    resumed = run_case(name, fixtures, tmp_path / "resumed", state)
    clean = run_case(name, fixtures, tmp_path / "clean", reference_state)
    a, b = tensors(tmp_path / "clean"), tensors(tmp_path / "resumed")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert resumed == clean and resumed["steps"] == TRAINING["steps"]
    assert (tmp_path / "clean" / "training.json").read_text() == (tmp_path / "resumed" / "training.json").read_text()
    assert not state.exists()  # cleared once the model directory is in place


@pytest.mark.parametrize("name", TRAINERS)
def test_every_trainer_records_its_run(fixtures, tmp_path, name):
    record = run_case(name, fixtures, tmp_path / "m", None, steps=5, checkpoint_every=0)
    assert record["steps"] == 5 and record["examples_seen"] == 5 * TRAINING["batch_size"]
    assert record["skipped_batches"] == 0 and np.isfinite(record["final_loss"])
    assert json.loads((tmp_path / "m" / "training.json").read_text()) == json.loads(json.dumps(record))


def test_a_state_from_another_config_is_not_resumed(fixtures, tmp_path):
    state = tmp_path / "state"
    child = subprocess.run([sys.executable, str(ROOT / "tests" / "trainer_cases.py"), "optical", str(fixtures),
                            str(tmp_path / "x"), str(state)], capture_output=True, text=True, timeout=600)
    assert child.returncode == -9 and (state / trainer.STATE_FILE).exists()
    other = run_case("optical", fixtures, tmp_path / "x", state, lr=5e-4)
    fresh = run_case("optical", fixtures, tmp_path / "ref", None, lr=5e-4)
    assert other == fresh
    a, b = tensors(tmp_path / "x"), tensors(tmp_path / "ref")
    assert all(torch.equal(a[k], b[k]) for k in a)


def _toy(steps=6, **cfg):
    model = torch.nn.Linear(2, 1)
    x = torch.randn(20, 2, generator=torch.Generator().manual_seed(0))
    return model, x, dict(TRAINING, steps=steps, checkpoint_every=0, **cfg)


def test_batches_without_a_valid_loss_are_skipped_and_counted():
    model, x, cfg = _toy(steps=20)
    record = trainer.fit(model, lambda idx: None if idx[0] % 2 else model(x[idx]).pow(2).mean(),
                         trainer.EpochSampler(20, 0), cfg, stage="toy", state=trainer.TrainState(None, "", 0))
    assert 0 < record["skipped_batches"] < 20 and record["steps"] == 20


def test_too_many_skipped_batches_stop_training():
    model, x, cfg = _toy(steps=40)
    with pytest.raises(FloatingPointError, match="batches had no valid loss"):
        trainer.fit(model, lambda idx: None, trainer.EpochSampler(20, 0), cfg, stage="toy",
                    state=trainer.TrainState(None, "", 0))


def test_a_non_finite_loss_stops_training_naming_the_stage():
    model, x, cfg = _toy()
    with pytest.raises(FloatingPointError, match="lower toy.lr"):
        trainer.fit(model, lambda idx: model(x[idx]).sum() * float("nan"), trainer.EpochSampler(20, 0), cfg,
                    stage="toy", state=trainer.TrainState(None, "", 0))


def test_held_out_estimate_runs_at_step_zero_every_eval_every_and_at_the_end():
    model, x, cfg = _toy(steps=7, eval_every=3)
    calls = []

    def estimate():
        calls.append(model.training)
        return {"value": 1.0}

    record = trainer.fit(model, lambda idx: model(x[idx]).pow(2).mean(), trainer.EpochSampler(20, 0), cfg,
                         stage="toy", state=trainer.TrainState(None, "", 0), estimate=estimate)
    assert [p["step"] for p in record["heldout_curve"]] == [0, 3, 6, 7]
    assert calls == [False] * 4 and model.training  # evaluated in eval mode, back to training after


def test_grad_clip_comes_from_the_config(monkeypatch):
    model, x, cfg = _toy(steps=2, grad_clip=0.37)
    seen = []
    clip = torch.nn.utils.clip_grad_norm_
    monkeypatch.setattr(torch.nn.utils, "clip_grad_norm_", lambda params, max_norm: seen.append(max_norm) or
                        clip(params, max_norm))
    trainer.fit(model, lambda idx: model(x[idx]).pow(2).mean(), trainer.EpochSampler(20, 0), cfg, stage="toy",
                state=trainer.TrainState(None, "", 0))
    assert seen == [0.37, 0.37]


def test_weight_decay_comes_from_the_config():
    model, x, cfg = _toy(steps=1, weight_decay=0.5, lr=0.1)
    before = [p.detach().clone() for p in model.parameters()]
    # a zero loss: Adam's update is 0, so only AdamW's decoupled decay moves the weights
    trainer.fit(model, lambda idx: 0.0 * model(x[idx]).sum(), trainer.EpochSampler(20, 0), cfg, stage="toy",
                state=trainer.TrainState(None, "", 0))
    assert all(torch.allclose(p, b * (1 - 0.5 * 0.1)) for p, b in zip(model.parameters(), before))


def test_epoch_sampler_covers_every_item_once_per_epoch_and_restores():
    s = trainer.EpochSampler(np.arange(10, 20), 1)
    seen = np.concatenate([s.next_batch(3) for _ in range(3)])
    assert len(set(seen.tolist())) == 9 and set(seen.tolist()) <= set(range(10, 20))
    saved = s.state_dict()
    after = [s.next_batch(3).tolist() for _ in range(4)]
    s2 = trainer.EpochSampler(np.arange(10, 20), 99)
    s2.load_state_dict(saved)
    assert [s2.next_batch(3).tolist() for _ in range(4)] == after


def test_frozen_word_embeddings_stay_fixed_while_the_rest_trains():
    from transformers import BertConfig, BertModel
    bert = BertModel(BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                                intermediate_size=32, max_position_embeddings=16), add_pooling_layer=False)
    model = models.ColBERT(bert, 8, 8, 8)
    ids = torch.randint(5, 50, (20, 6), generator=torch.Generator().manual_seed(0))
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    cfg = dict(TRAINING, steps=3, checkpoint_every=0, weight_decay=0.1, freeze_word_embeddings=True)
    trainer.fit(model, lambda idx: model(ids[idx], torch.ones_like(ids[idx])).sum(), trainer.EpochSampler(20, 0),
                cfg, stage="toy", state=trainer.TrainState(None, "", 0))
    moved = {n for n, p in model.named_parameters() if not torch.equal(p, before[n])}
    assert "bert.embeddings.word_embeddings.weight" not in moved  # neither gradient nor weight decay
    assert "proj.weight" in moved and "bert.embeddings.position_embeddings.weight" in moved
    with pytest.raises(ValueError, match="no word embeddings"):
        trainer.fit(torch.nn.Linear(2, 1), lambda idx: None, trainer.EpochSampler(20, 0), cfg, stage="toy",
                    state=trainer.TrainState(None, "", 0))
