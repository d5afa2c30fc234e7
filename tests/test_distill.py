"""Each student-training method changes what it should, and an interrupted run resumes exactly."""

import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch
from safetensors.torch import load_file

from optical import models
from optical.train import distill as distill_mod
from optical.train import teacher as teacher_mod
from optical import registry
from optical.train import objectives
from optical.data.bitext import split_bitext
from optical.train.distill import distill, translation_p_at_1

ENC = {"hidden_size": 32, "num_layers": 1, "num_heads": 2, "intermediate_size": 64, "max_position_embeddings": 48}
EN = "the dog runs home fast . a cat sleeps on the warm mat . big red house near old tree".split(" . ")
XX = "ka dobo runa homu fasti . a kati slipa on ta warmu mati . biga reda hausa nira olda tri".split(" . ")


@pytest.fixture(scope="module")
def teacher_dir(tmp_path_factory):
    from transformers import BertModel
    d = tmp_path_factory.mktemp("teacher") / "seed1"
    tok = models.train_tokenizer((EN + XX) * 30, 120)
    torch.manual_seed(0)
    bert = BertModel(models.build_mlm(len(tok), ENC).config, add_pooling_layer=False)
    models.ColBERT(bert, 16, 16, 32).save(d, tok)
    return d


@pytest.fixture(scope="module")
def bitext(tmp_path_factory):
    rng = np.random.default_rng(0)
    src, tgt, src_origin, tgt_origin = [], [], [], []
    for _ in range(120):  # sentences built from aligned phrase pairs, word for word
        k = rng.choice(len(EN), 2)
        src.append(" ".join(EN[i] for i in k))
        tgt.append(" ".join(XX[i] for i in k))
        n = len(src[-1].split())
        src_origin.append(list(range(n)))
        tgt_origin.append(list(range(n)))
    path = tmp_path_factory.mktemp("bitext") / "bitext.parquet"
    pq.write_table(pa.table({"src": src, "tgt": tgt, "src_origin": src_origin, "tgt_origin": tgt_origin}), path)
    return path


def _cfg(**kw):
    cfg = {"steps": 30, "batch_size": 8, "max_length": 24, "lr": 1e-3, "weight_decay": 0.01, "grad_clip": 1.0,
           "heldout_pairs": 20, "eval_every": 10, "checkpoint_every": 10, "fixed_alignment": "position", "sentence_weight": 1.0,
           "ot": {"reg": 0.05, "max_iter": 50, "tol": 1e-4}}
    cfg.update(kw)
    return cfg


def _weights(d):
    return load_file(str(d / "model.safetensors"))


@pytest.mark.parametrize("method", registry.names(registry.BITEXT))
def test_each_method_lowers_its_own_heldout_objective(teacher_dir, bitext, tmp_path, method):
    out = distill(method, str(teacher_dir), str(bitext), str(tmp_path / "s"), _cfg(), seed=1)
    curve = out["heldout_curve"]
    assert [p["step"] for p in curve] == [0, 10, 20, 30]
    assert curve[-1]["objective"] < 0.9 * curve[0]["objective"], curve
    assert all(0 <= p["translation_p1"] <= 1 for p in curve)
    info = json.loads((tmp_path / "s" / "training.json").read_text())
    assert info["method"] == method and info["heldout_pairs"] == 20 and info["train_pairs"] == 100
    assert info["steps"] == 30 and info["examples_seen"] == 30 * 8


def test_every_bitext_method_of_the_registry_has_its_objective():
    for method in registry.names(registry.BITEXT):
        assert callable(getattr(objectives, method)), method
    with pytest.raises(ValueError, match="unknown distillation method 'direct'"):
        distill_mod.objective_of("direct")


def test_alignment_links_join_the_sub_words_of_aligned_words(teacher_dir):
    tok = models.load_tokenizer(teacher_dir)
    en, xx = "the dog runs home", "homu dobo ka runa"   # xx word k expresses en word origin[k]
    pairs = distill_mod.Pairs([en], [xx], ([[0, 1, 2, 3]], [[3, 1, 0, -1]]))  # runa: a function word here
    s = models.encode_batch(tok, pairs.xx, 16, "cpu", word_ids=True)
    t = models.encode_batch(tok, pairs.en, 16, "cpu", word_ids=True)
    links = distill_mod.alignment_links(s["word_ids"], t["word_ids"], *pairs.origins)[0]
    for i, w in enumerate(s["word_ids"][0]):
        linked_words = {t["word_ids"][0][j] for j in links[i].nonzero().flatten().tolist()}
        expected = {None: set(), 0: {3}, 1: {1}, 2: {0}, 3: set()}[w]
        assert linked_words == expected, (i, w)


def test_gold_plan_puts_mass_only_on_true_alignments():
    from optical.transport import gold_plan
    links = torch.tensor([[[1, 0, 0], [0, 1, 1], [0, 0, 0]]], dtype=torch.bool)
    a = torch.tensor([[0.5, 0.3, 0.2]], dtype=torch.float64)
    plan = gold_plan(links, a)
    assert torch.equal(plan > 0, links)
    torch.testing.assert_close(plan[0].sum(-1), torch.tensor([0.5, 0.3, 0.0], dtype=torch.float64))
    torch.testing.assert_close(plan[0, 1], torch.tensor([0.0, 0.15, 0.15], dtype=torch.float64))


def test_translation_p_at_1_counts_queries_whose_best_document_is_their_translation():
    v = torch.nn.functional.normalize(torch.randn(6, 3, 4, generator=torch.Generator().manual_seed(0)), dim=-1)
    same = [x for x in v]
    assert translation_p_at_1(same, same, chunk=4) == 1.0
    swapped = [same[1], same[0]] + same[2:]  # queries 0 and 1 find each other's document
    assert translation_p_at_1(same, swapped, chunk=4) == 4 / 6


def test_only_the_student_changes(teacher_dir, bitext, tmp_path):
    before = _weights(teacher_dir)
    distill("sentence_kd", str(teacher_dir), str(bitext), str(tmp_path / "s"), _cfg(steps=5), seed=1)
    after_teacher, student = _weights(teacher_dir), _weights(tmp_path / "s")
    assert all(torch.equal(before[k], after_teacher[k]) for k in before)
    assert any(not torch.equal(before[k], student[k]) for k in before)


def test_fixed_and_ot_methods_differ_only_in_the_plan(teacher_dir, bitext, tmp_path, monkeypatch):
    """With the plan function swapped for the OT one, token_kd_fixed trains exactly like optical."""
    import optical.transport as tr
    distill("optical", str(teacher_dir), str(bitext), str(tmp_path / "ot"), _cfg(steps=6), seed=3)
    monkeypatch.setattr(objectives, "fixed_distill_loss",
                        lambda s, sm, t, tm, alignment: tr.ot_distill_loss(s, sm, t, tm, 0.05, 50, 1e-4))
    distill("token_kd_fixed", str(teacher_dir), str(bitext), str(tmp_path / "fx"), _cfg(steps=6), seed=3)
    a, b = _weights(tmp_path / "ot"), _weights(tmp_path / "fx")
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_subsets_are_nested_and_heldout_is_fixed():
    held, train = split_bitext(1000, 100)
    assert len(held) == 100 and not set(held) & set(train)
    assert set(train[:200]) <= set(train[:800])
    held2, _ = split_bitext(1000, 100)
    assert np.array_equal(held, held2)


def test_subset_larger_than_training_split_is_an_error(teacher_dir, bitext, tmp_path):
    from optical.errors import InputError
    with pytest.raises(InputError, match="subset of 500"):
        distill("optical", str(teacher_dir), str(bitext), str(tmp_path / "s"), _cfg(), seed=1, train_pairs=500)


def test_translate_train_lowers_ranking_loss_and_keeps_query_encoder(teacher_dir, tmp_path):
    rng = np.random.default_rng(1)
    words = " ".join(EN).split()
    lexicon = dict(zip(words, " ".join(XX).split()))
    q, pos, neg = [], [], []
    for _ in range(200):
        s, o = rng.choice(words, 4), rng.choice(words, 4)
        q.append(" ".join(s))
        pos.append(" ".join(lexicon[w] for w in s))
        neg.append(" ".join(lexicon[w] for w in o))
    path = tmp_path / "tt.parquet"
    pq.write_table(pa.table({"query": q, "pos": pos, "neg": neg}), path)
    before = _weights(teacher_dir)
    cfg = {"steps": 60, "batch_size": 8, "lr": 1e-3, "weight_decay": 0.01, "grad_clip": 1.0, "temperature": 0.25,
           "checkpoint_every": 0}
    stats = teacher_mod.train_translate_train(str(teacher_dir), str(path), str(tmp_path / "tt"), cfg, seed=1)
    assert stats["final_loss"] < 0.8 * stats["first_loss"], stats
    assert json.loads((tmp_path / "tt" / "training.json").read_text())["final_loss"] == stats["final_loss"]
    after = _weights(teacher_dir)
    assert all(torch.equal(before[k], after[k]) for k in before)  # queries stay with the frozen teacher
