"""The NMT baseline (optical.train.nmt): a tiny Marian model trained from scratch on the training
split of the bitext, its translations, the translation file layouts and its errors."""

import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sacrebleu
import torch

from optical.data.bitext import read_split
from optical.data.synthetic import WorldSpec, write_world
from optical.data.wikiclir import read_translations
from optical.errors import InputError
from optical.evaluate.bm25 import read_translated_queries
from optical.train import nmt
from conftest import TEST_DEVICE


HELDOUT = 10
TINY = {"steps": 400, "batch_size": 16, "lr": 5e-3, "weight_decay": 0.0, "grad_clip": 1.0, "warmup_steps": 20,
        "checkpoint_every": 0, "eval_every": 100, "max_length": 32, "vocab_size": 500, "d_model": 64, "layers": 1,
        "heads": 2, "ffn_dim": 128, "num_beams": 1, "translate_batch_size": 32}


@pytest.fixture(scope="module")
def bitext(tmp_path_factory, default_config):
    from conftest import shrink_world
    root = tmp_path_factory.mktemp("nmt_world")
    write_world(WorldSpec.from_config(shrink_world(default_config["world"])), root)
    return str(root / "bitext" / "en-sw.parquet")


def train(bitext, out, direction="xx-en", **overrides) -> dict:
    return nmt.train_nmt(bitext, str(out), dict(TINY, **overrides), direction, HELDOUT, seed=2, device=TEST_DEVICE)


@pytest.fixture(scope="module")
def trained(bitext, tmp_path_factory):
    """(model dir, record) of the tiny xx-en model, and of the same model before any training."""
    root = tmp_path_factory.mktemp("nmt_models")
    return root / "trained", train(bitext, root / "trained"), root / "untrained", train(bitext, root / "untrained",
                                                                                        steps=0)


def test_training_raises_bleu_on_its_training_pairs(bitext, trained):
    trained_dir, record, untrained_dir, _ = trained
    en, xx, _, train_idx = read_split(bitext, HELDOUT, None)
    sources, references = [xx[i] for i in train_idx[:40]], [en[i] for i in train_idx[:40]]
    before = nmt.corpus_scores(nmt.translate(untrained_dir, sources, device=TEST_DEVICE), references)
    after = nmt.corpus_scores(nmt.translate(trained_dir, sources, device=TEST_DEVICE), references)
    assert before["bleu"] < 5 and after["bleu"] > before["bleu"] + 20, (before, after)
    assert after["chrf"] > before["chrf"] + 20
    curve = [p["loss"] for p in record["heldout_curve"]]
    # 70 training pairs for 91 epochs overfit: the held-out loss falls, then may rise again
    assert [p["step"] for p in record["heldout_curve"]] == [0, 100, 200, 300, 400] and min(curve[1:]) < curve[0] - 0.5
    assert record["final_loss"] < record["first_loss"]


def test_the_record_holds_the_saved_models_heldout_scores_and_split(bitext, trained):
    trained_dir, record, _, _ = trained
    en, xx, held, train_idx = read_split(bitext, HELDOUT, None)
    assert record["direction"] == "xx-en" and record["heldout_pairs"] == len(held) == HELDOUT
    assert record["train_pairs"] == len(train_idx) and record["steps"] == TINY["steps"]
    # recorded from the in-memory model; the saved one translates identically
    hypotheses = nmt.translate(trained_dir, [xx[i] for i in held], TINY["translate_batch_size"], TINY["max_length"],
                               TINY["num_beams"], device=TEST_DEVICE)
    again = nmt.corpus_scores(hypotheses, [en[i] for i in held])
    assert again == {"bleu": record["heldout_bleu"], "chrf": record["heldout_chrf"]}
    assert json.loads((trained_dir / "training.json").read_text()) == json.loads(json.dumps(record))


def test_the_model_round_trips_through_save_and_from_pretrained(bitext, trained, tmp_path):
    trained_dir = trained[0]
    en, xx, held, _ = read_split(bitext, HELDOUT, None)
    model, tok, dev = nmt.load_marian(trained_dir, "cpu")
    cfg = model.config
    assert cfg.model_type == "marian" and cfg.decoder_start_token_id == cfg.pad_token_id == tok.pad_token_id
    assert cfg.eos_token_id == tok.eos_token_id and cfg.share_encoder_decoder_embeddings
    assert model.get_input_embeddings().weight.data_ptr() == model.get_output_embeddings().weight.data_ptr()
    model.save_pretrained(tmp_path / "copy")
    tok.save_pretrained(tmp_path / "copy")
    texts = [xx[i] for i in held]
    first = nmt.generate(model, tok, texts, 4, 32, 1, dev)
    assert nmt.translate(tmp_path / "copy", texts, batch_size=4, max_length=32, device=TEST_DEVICE) == first
    assert nmt.translate(trained_dir, texts, batch_size=4, max_length=32, device=TEST_DEVICE) == first


def test_the_training_loss_is_marians_own_teacher_forced_loss(bitext, trained):
    en, xx, held, _ = read_split(bitext, HELDOUT, None)
    model, tok, dev = nmt.load_marian(trained[0], "cpu")
    batch = nmt.encode_pairs(tok, [xx[i] for i in held], [en[i] for i in held], 32, dev)
    assert (batch["labels"] == -100).any() and (batch["labels"][:, -1] != tok.eos_token_id).any()  # padded
    assert torch.allclose(nmt.token_loss(model, batch), model(**batch).loss)
    assert nmt.estimate_heldout(model, tok, [xx[i] for i in held], [en[i] for i in held], dict(TINY, batch_size=3),
                                dev)["loss"] == pytest.approx(nmt.token_loss(model, batch).item(), rel=1e-5)


def test_translations_keep_order_and_empty_texts_stay_empty(bitext, trained):
    en, xx, held, _ = read_split(bitext, HELDOUT, None)
    model, tok, dev = nmt.load_marian(trained[0], "cpu")
    texts = [xx[held[0]], "", xx[held[1]][:20], "   ", xx[held[2]]]
    alone = [nmt.generate(model, tok, [t], 1, 32, 1, dev)[0] for t in texts]
    assert nmt.generate(model, tok, texts, 1, 32, 1, dev) == alone
    assert alone[1] == alone[3] == "" and all(alone[i] for i in (0, 2, 4))
    assert nmt.generate(model, tok, texts, 2, 32, 2, dev)[1] == ""  # beams too


def test_tokenizer_keeps_case_and_decodes_back_to_text():
    tok = nmt.train_tokenizer(["Mivativa gala bodohu .", "the Year 1987 tone viv ."] * 20, 80)
    ids = tok("Mivativa gala 1987 .")["input_ids"]
    assert ids[-1] == tok.eos_token_id
    assert tok.decode(ids, skip_special_tokens=True) == "Mivativa gala 1987 ."


def test_heldout_pairs_are_never_trained_on(bitext, tmp_path, monkeypatch):
    seen, tokenizer_texts = [], []

    class Recording(nmt.EpochSampler):
        def __init__(self, items, seed):
            super().__init__(items, seed)
            seen.append(np.asarray(items).copy())

        def next_batch(self, size):
            batch = super().next_batch(size)
            seen.append(batch)
            return batch

    train_tokenizer = nmt.train_tokenizer
    monkeypatch.setattr(nmt, "EpochSampler", Recording)
    monkeypatch.setattr(nmt, "train_tokenizer", lambda texts, n: tokenizer_texts.extend(texts) or
                        train_tokenizer(texts, n))
    train(bitext, tmp_path / "m", steps=6, eval_every=0)
    en, xx, held, train_idx = read_split(bitext, HELDOUT, None)
    assert sorted(seen[0].tolist()) == sorted(train_idx.tolist())  # the sampler's items
    assert len(seen) == 7 and set(np.concatenate(seen[1:]).tolist()) <= set(train_idx.tolist())
    assert not set(np.concatenate(seen).tolist()) & set(held.tolist())
    assert sorted(tokenizer_texts) == sorted([en[i] for i in train_idx] + [xx[i] for i in train_idx])


def test_en_xx_trains_english_to_foreign(bitext, tmp_path):
    record = train(bitext, tmp_path / "m", direction="en-xx", eval_every=0)  # 400 steps: 150 was too few to be stable
    assert record["direction"] == "en-xx" and record["final_loss"] < record["first_loss"]
    en, xx, held, train_idx = read_split(bitext, HELDOUT, None)
    foreign = set(" ".join(xx).split()) - set(" ".join(en).split())
    out = nmt.translate(tmp_path / "m", [en[i] for i in train_idx[:10]], device=TEST_DEVICE)
    words = " ".join(out).split()
    assert sum(w in foreign for w in words) > len(words) / 2  # it writes the foreign language


def fake_translate(calls):
    def translate(model_dir, texts, batch_size=64, max_length=64, num_beams=1, device="auto"):
        calls.append(list(texts))
        return [t.upper() for t in texts]
    return translate


def test_translate_documents_translates_every_unique_sentence_once(monkeypatch, tmp_path):
    calls = []
    monkeypatch.setattr(nmt, "translate", fake_translate(calls))
    rows = {"7": ("Bodohu", "ga la . bo du . ga la ."), "3": ("Nos", "Is it? Yes! No.  Twice.\nEnd"), "9": ("", "")}
    out = nmt.translate_documents("unused", rows)
    assert len(calls) == 1 and len(calls[0]) == len(set(calls[0]))
    assert list(out) == ["7", "3", "9"]
    assert out["7"] == ("BODOHU", "GA LA . BO DU . GA LA .")
    assert out["3"] == ("NOS", "IS IT? YES! NO. TWICE. END")
    assert out["9"] == ("", "")
    for key, (title, text) in rows.items():
        assert len(nmt.split_sentences(out[key][1])) == len(nmt.split_sentences(text))
    kept = nmt.translate_documents("unused", rows, keep_titles=True)
    assert kept["7"] == ("Bodohu", "GA LA . BO DU . GA LA .") and "Bodohu" not in calls[1]


def test_translation_files_read_back(tmp_path):
    rows = {"101": ("Gala", "the mivativa . a\tb ."), "102": ("Tone", "viv pa .\nnext .")}
    nmt.write_translated_documents(tmp_path / "docs.tsv", rows)
    assert read_translations(tmp_path / "docs.tsv") == {"101": "Gala the mivativa . a b .",
                                                        "102": "Tone viv pa . next ."}
    nmt.write_translated_queries(tmp_path / "queries.tsv", rows)
    assert read_translated_queries(tmp_path / "queries.tsv", "first_sent") == {"101": "the mivativa . a b .",
                                                                            "102": "viv pa . next ."}
    assert read_translated_queries(tmp_path / "queries.tsv", "title")["102"] == "Tone"


def test_translate_documents_with_a_trained_model(bitext, trained, tmp_path):
    en, xx, held, _ = read_split(bitext, HELDOUT, None)
    rows = {f"d{i}": (xx[i].split()[0], " ".join(xx[j] for j in held[i % 3:i % 3 + 3])) for i in range(4)}
    out = nmt.translate_documents(trained[0], rows, batch_size=8, max_length=32, device=TEST_DEVICE)
    assert list(out) == list(rows) and all(title for title, _ in out.values())
    nmt.write_translated_documents(tmp_path / "docs.tsv", out)
    assert read_translations(tmp_path / "docs.tsv") == {k: f"{t} {x}" for k, (t, x) in out.items()}


def test_corpus_scores_are_sacrebleus():
    hyp = ["the cat sat on the mat .", "a dog barks", ""]
    ref = ["the cat sat on a mat .", "the dog barks loudly", "nothing"]
    assert nmt.corpus_scores(hyp, ref) == {"bleu": sacrebleu.corpus_bleu(hyp, [ref]).score,
                                           "chrf": sacrebleu.corpus_chrf(hyp, [ref]).score}
    with pytest.raises(ValueError, match="2 hypotheses but 3 references"):
        nmt.corpus_scores(hyp[:2], ref)


def test_an_empty_bitext_is_an_input_error(tmp_path):
    path = tmp_path / "empty.parquet"
    pq.write_table(pa.table({"src": pa.array([], pa.string()), "tgt": pa.array([], pa.string())}), path)
    with pytest.raises(InputError, match="empty.parquet"):
        nmt.train_nmt(str(path), str(tmp_path / "m"), TINY, "xx-en", HELDOUT, seed=1, device=TEST_DEVICE)
    assert not (tmp_path / "m").exists()


def test_an_unknown_direction_is_an_input_error(bitext, tmp_path):
    with pytest.raises(InputError, match=r"unknown translation direction 'sw-en'.*xx-en, en-xx"):
        nmt.train_nmt(bitext, str(tmp_path / "m"), TINY, "sw-en", HELDOUT, seed=1, device=TEST_DEVICE)


def test_a_directory_that_is_not_a_marian_model_is_an_input_error(trained, tmp_path):
    with pytest.raises(InputError, match="no config.json"):
        nmt.translate(tmp_path, ["x"], device=TEST_DEVICE)
    bert = tmp_path / "bert"
    bert.mkdir()
    (bert / "config.json").write_text(json.dumps({"model_type": "bert"}))
    with pytest.raises(InputError, match=r"not a Marian translation model \(model_type 'bert'\)"):
        nmt.translate(bert, ["x"], device=TEST_DEVICE)
    hollow = tmp_path / "hollow"
    hollow.mkdir()
    (hollow / "config.json").write_text((trained[0] / "config.json").read_text())
    with pytest.raises(InputError, match="no weights"):
        nmt.translate(hollow, ["x"], device=TEST_DEVICE)
    (hollow / "model.safetensors").write_bytes((trained[0] / "model.safetensors").read_bytes())
    with pytest.raises(InputError, match="cannot load the tokenizer"):
        nmt.translate(hollow, ["x"], device=TEST_DEVICE)


def test_a_pretrained_model_is_adopted_with_the_same_heldout_scores(bitext, trained, tmp_path):
    """The paper setting may name a pretrained Marian model (opus-mt) instead of training one: it is
    saved as the language's NMT model with a record whose held-out scores are measured on the same
    held-out pairs as a trained model's."""
    from optical.data.download import hub_snapshot
    trained_dir, record = trained[0], trained[1]
    path, origin = hub_snapshot(None, "main", str(trained_dir), None, "NMT model", "languages.sw.nmt_models")
    adopted = nmt.adopt_pretrained(path, str(tmp_path / "adopted"), bitext, TINY, "xx-en", HELDOUT, origin,
                                   device=TEST_DEVICE)
    assert adopted["origin"] == f"local {trained_dir}" and adopted["steps"] == 0
    assert adopted["heldout_bleu"] == pytest.approx(record["heldout_bleu"])
    assert adopted["heldout_chrf"] == pytest.approx(record["heldout_chrf"])
    assert json.loads((tmp_path / "adopted" / "training.json").read_text())["direction"] == "xx-en"


def test_a_pretrained_model_that_is_not_a_model_directory_is_an_error(tmp_path):
    from optical.data.download import hub_snapshot
    with pytest.raises(InputError, match="no config.json"):
        hub_snapshot(None, "main", str(tmp_path), None, "NMT model", "languages.sw.nmt_models.xx-en.local_path")
