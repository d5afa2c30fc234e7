import torch

from optical import models
from optical.train.pretrain import language_probs, masked_lm_loss

ENC = {"hidden_size": 16, "num_layers": 1, "num_heads": 2, "intermediate_size": 32, "max_position_embeddings": 32}


def test_masked_only_head_gives_the_standard_mlm_loss():
    torch.manual_seed(0)
    model = models.build_mlm(50, ENC).eval()
    ids = torch.randint(5, 50, (3, 10))
    labels = torch.full_like(ids, -100)
    labels[0, 2], labels[1, 5], labels[2, 7] = 7, 11, 13
    ref = model(input_ids=ids, labels=labels, attention_mask=torch.ones_like(ids)).loss
    assert torch.allclose(masked_lm_loss(model, ids, labels, pad_id=0), ref, atol=1e-6)


def test_language_sampling_is_smoothed_towards_uniform():
    p = language_probs({"en": 10000, "sw": 100}, 0.7)
    raw = 100 / 10100
    assert raw < p["sw"] < 0.5 and abs(sum(p.values()) - 1) < 1e-12


def test_maxsim_ignores_masked_tokens():
    q = torch.nn.functional.normalize(torch.randn(1, 3, 4), dim=-1)
    d = torch.nn.functional.normalize(torch.randn(2, 5, 4), dim=-1)
    qm = torch.tensor([[True, True, False]])
    dm = torch.tensor([[True, True, True, False, False], [True] * 5])
    got = models.maxsim(q, qm, d, dm)
    for j in range(2):
        sim = q[0, :2] @ d[j, dm[j]].T
        assert torch.allclose(got[0, j], sim.max(dim=1).values.sum(), atol=1e-6)


def test_colbert_save_load_roundtrip(tmp_path):
    tok = models.train_tokenizer(["ka ku wa mba", "the dog runs", "ka wa the"] * 20, 60)
    from transformers import BertModel
    bert = BertModel(models.build_mlm(len(tok), ENC).config, add_pooling_layer=False)
    m = models.ColBERT(bert, 8, 16, 24).eval()
    m.save(tmp_path / "m", tok)
    m2, tok2 = models.ColBERT.load(tmp_path / "m")
    b = models.encode_batch(tok2, ["ka wa the dog"], 16, "cpu")
    with torch.no_grad():
        assert torch.allclose(m(b["input_ids"], b["attention_mask"]), m2.eval()(b["input_ids"], b["attention_mask"]))
    assert b["content"].sum() == b["attention_mask"].sum() - 2  # [CLS] and [SEP] are not content


def test_model_dir_without_weights_is_an_error(tmp_path):
    import pytest
    from optical.errors import InputError
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(InputError, match="no weights"):
        models.check_model_dir(tmp_path)


def test_tokenizer_keeps_case_only_when_asked():
    texts = ["Muvi ka wa muvi", "Ka muvi the dog"] * 20
    lower, cased = models.train_tokenizer(texts, 60), models.train_tokenizer(texts, 60, cased=True)
    assert lower("Muvi").input_ids == lower("muvi").input_ids
    assert cased("Muvi").input_ids != cased("muvi").input_ids
    assert cased.decode(cased("Muvi ka").input_ids, skip_special_tokens=True) == "Muvi ka"


TEXTS = ["Muvi kabo wazi mbeta", "the dog runs quickly", "Zuri 1870 gole fenu", "hyxo jaqi vudo"] * 20
TRAIN_AND_PRINT = ("import json, sys; from optical import models; "
                   "tok = models.train_tokenizer(json.loads(sys.argv[1]), 90); "
                   "print(tok.backend_tokenizer.to_str())")


def test_the_wordpiece_vocabulary_and_its_ids_are_the_same_in_every_fresh_process():
    """The trainer numbers the "##" letters in hash-map order (random per process); the ids are
    renumbered in a fixed order, so a cold rerun builds the same encoder (docs/failure-modes.md)."""
    import json
    import subprocess
    import sys
    runs = {subprocess.run([sys.executable, "-c", TRAIN_AND_PRINT, json.dumps(TEXTS)], capture_output=True,
                           text=True, check=True).stdout for _ in range(4)}
    assert len(runs) == 1
    vocab = json.loads(runs.pop())["model"]["vocab"]
    assert sum(t.startswith("##") and len(t) == 3 for t in vocab) > 15  # enough letters to come out shuffled
    assert list(vocab)[:5] == ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def test_the_fixed_numbering_splits_text_as_the_trainer_does_and_adds_no_token():
    """The declared "##" letters are the ones the trainer adds by itself, and the rebuilt tokenizer
    (sorted ids, only the five specials special) splits text as the trainer's own tokenizer does."""
    from tokenizers import Tokenizer, models as tok_models, normalizers, pre_tokenizers, trainers

    def trained(extra: list[str]) -> Tokenizer:
        raw = Tokenizer(tok_models.WordPiece(unk_token="[UNK]"))
        raw.normalizer = normalizers.BertNormalizer(lowercase=True, strip_accents=False, clean_text=True)
        raw.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
        raw.train_from_iterator(TEXTS, trainer=trainers.WordPieceTrainer(
            vocab_size=90, special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *extra], show_progress=False))
        return raw
    tok = models.train_tokenizer(TEXTS, 90)
    letters = sorted(t for t in tok.get_vocab() if t.startswith("##") and len(t) == 3)
    assert letters == sorted(t for t in trained([]).get_vocab() if t.startswith("##") and len(t) == 3)
    raw = trained(letters)
    assert set(tok.get_vocab()) == set(raw.get_vocab())
    assert set(tok.all_special_tokens) == {"[UNK]", "[SEP]", "[PAD]", "[CLS]", "[MASK]"}
    for text in ["Muvi dogs quicker", "zuri 1871 hyxodo", "qqq"]:
        assert tok.tokenize(text) == raw.encode(text, add_special_tokens=False).tokens
    assert tok.tokenize("kabo ##a")[-1] != "##a"  # "##a" in text is text to split, not a special token
