"""optical.probe: what direct transfer runs on in the synthetic world (hand-checked cases)."""

import copy
import logging
from types import SimpleNamespace

import pandas as pd
import pytest
import torch

from optical import models
from optical.errors import InputError
from optical.data.synthetic import PIVOT, World, WorldSpec
from optical.probe import (COLUMNS, cognate_masks, context_alignment, isolated_alignment, probe_pairs,
                           word_keys)
from optical.report.probe import direct_transfer_probe

ENGLISH = ["kalo", "mipu", "tesa", "dovi"]
FOREIGN = ["kalu", "wrrx", "vvzz", "qqpo"]  # kalu: a cognate of kalo, spelt apart; the others native
COGNATE = [True, False, False, False]


@pytest.fixture(scope="module")
def tok():
    words = ENGLISH + FOREIGN + ["Zuri", "1870", "."]
    tok = models.train_tokenizer(words * 20, vocab_size=200, cased=True)
    assert all(len(tok.tokenize(w)) == 1 for w in words)  # one token each: the vectors below are per word
    return tok


def _embedding(tok, translate: bool):
    """One-hot token vectors; with ``translate``, every foreign word has its English translation's."""
    vocab = len(tok)
    weight = torch.eye(vocab)
    if translate:
        for en, xx in zip(ENGLISH, FOREIGN):
            weight[tok.convert_tokens_to_ids(xx)] = weight[tok.convert_tokens_to_ids(en)]
    embed = torch.nn.Embedding(vocab, vocab, _weight=weight)
    return lambda input_ids, attention_mask: embed(input_ids)


def _pairs() -> pd.DataFrame:
    """Two pairs; the foreign order differs from the English, and the second says mipu twice.
    Origins index the concept sequence (the English keeps its order); the last is the full stop."""
    return pd.DataFrame({
        "src": ["Zuri kalo mipu tesa .", "1870 dovi mipu tesa mipu ."],
        "tgt": ["Zuri vvzz kalu wrrx .", "1870 qqpo wrrx vvzz ."],
        "src_origin": [[0, 1, 2, 3, 4], [0, 1, 2, 3, 4, 5]],
        "tgt_origin": [[0, 3, 1, 2, 4], [0, 1, 4, 3, 5]],  # the second wrrx says the second mipu
    })


def _keys():
    return word_keys(ENGLISH, ["ma"]), word_keys(FOREIGN, ["ri"])


def test_word_keys_find_the_concept_under_case_and_suffixes_and_keep_names_as_text():
    key = word_keys(["kalo", "mipu"], ["ma", "s"])
    assert key("kalo") == key("Kalo") == key("kaloma") == key("KALOS") == 0
    assert key("mipu") == 1 and key("Zuri") == "zuri" and key("1870") == "1870"


def test_a_model_that_translates_finds_every_word_and_one_that_does_not_finds_only_names(tok):
    keys = _keys()
    aligned = context_alignment(_embedding(tok, True), tok, _pairs(), keys, COGNATE)
    # the second wrrx finds the first mipu: the same concept, so a hit
    assert aligned["context_native"] == aligned["context_cognates"] == aligned["context_names_years"] == 1.0
    assert aligned["context_native_words"] == 5  # vvzz, wrrx; qqpo, wrrx, vvzz
    blind = context_alignment(_embedding(tok, False), tok, _pairs(), keys, COGNATE)
    assert blind["context_names_years"] == blind["context_shared"] == 1.0  # Zuri and 1870: the same token
    # one-hot vectors: a foreign word matches no English word, so the first (a name) wins: a miss
    assert blind["context_cognates"] == blind["context_cognates_other"] == blind["context_native"] == 0.0
    assert blind["context_cognates_shared"] != blind["context_cognates_shared"]  # NaN: kalu shares no token
    chance = (1 / 5 + 1 / 5 + 1 / 6 + 2 / 6 + 1 / 6) / 5  # English words meaning the translation, per sentence
    assert aligned["context_native_chance"] == blind["context_native_chance"] == pytest.approx(chance)


def test_a_student_encodes_the_foreign_side_against_the_models_english(tok):
    out = context_alignment(_embedding(tok, False), tok, _pairs(), _keys(), COGNATE, student=_embedding(tok, True))
    assert out["context_native"] == 1.0  # the student's foreign vectors are the English words'
    hits = isolated_alignment(_embedding(tok, False), tok, ENGLISH, FOREIGN, student=_embedding(tok, True))
    assert hits.tolist() == [True] * 4
    assert isolated_alignment(_embedding(tok, False), tok, ENGLISH, ENGLISH).tolist() == [True] * 4
    # without the student nothing matches; all-zero similarities pick concept 0, so only kalu "hits"
    assert isolated_alignment(_embedding(tok, False), tok, ENGLISH, FOREIGN).tolist() == [True, False, False, False]


def test_the_place_guess_scores_positions_and_off_place_hits_leave_them_out(tok):
    out = context_alignment(_embedding(tok, True), tok, _pairs(), _keys(), COGNATE)
    # at the same relative place: pair 1 vvzz -> kalo, wrrx -> tesa (misses); pair 2 qqpo -> dovi (a hit),
    # wrrx -> the first mipu (a hit: the same concept as its translation), vvzz -> the second mipu (a miss)
    assert out["context_native_by_place"] == pytest.approx(2 / 5)
    assert out["context_native_off_place"] == 1.0  # the three the place guess misses, all found


def test_cognate_masks_mark_exactly_the_forms_derived_from_english(small_world):
    spec = WorldSpec.from_config(small_world)
    world = World(spec)
    mask = cognate_masks(world)["sw"]
    forms, english = world.lexicons["sw"].forms, world.lexicons[PIVOT].forms
    share = spec.languages["sw"].cognate_share
    assert 0.5 * share < sum(mask) / len(mask) <= share + 0.05
    # sound correspondences map letter to letter: a cognate is as long as its English source
    assert all(len(f) == len(e) for f, e, c in zip(forms, english, mask) if c)
    assert sum(len(f) != len(e) for f, e, c in zip(forms, english, mask) if not c) > 0.3 * (len(mask) - sum(mask))
    none = copy.deepcopy(small_world)
    none["languages"]["sw"]["cognate_share"] = 0.0
    assert not any(cognate_masks(World(WorldSpec.from_config(none)))["sw"])
    # the same as comparing with a whole world built without sw's cognates
    bare = World(WorldSpec.from_config(none))
    assert mask == [a != b for a, b in zip(forms, bare.lexicons["sw"].forms)]


def test_probe_pairs_leave_out_what_the_run_trained_on(tmp_path, caplog):
    world = pd.DataFrame({"src": ["a .", "b .", "c ."], "tgt": ["x .", "y .", "z ."],
                          "src_origin": [[0, 1]] * 3, "tgt_origin": [[0, 1]] * 3})
    world.to_parquet(tmp_path / "world.parquet")
    assert len(probe_pairs(tmp_path / "world.parquet")) == 3  # no sample: every pair
    world.iloc[[1]].to_parquet(tmp_path / "sample.parquet")
    assert probe_pairs(tmp_path / "world.parquet", tmp_path / "sample.parquet").src.tolist() == ["a .", "c ."]
    world.to_parquet(tmp_path / "sample.parquet")  # the run sampled every pair (valid): none left to probe
    with caplog.at_level(logging.WARNING, logger="optical.probe"):
        assert probe_pairs(tmp_path / "world.parquet", tmp_path / "sample.parquet").empty
    assert "bitext_pairs below" in caplog.text
    world.drop(columns="tgt_origin").to_parquet(tmp_path / "world.parquet")
    with pytest.raises(InputError, match="tgt_origin"):
        probe_pairs(tmp_path / "world.parquet")


def test_the_report_section_averages_seeds_and_is_empty_without_a_probe():
    assert not direct_transfer_probe(SimpleNamespace(probe=pd.DataFrame(columns=COLUMNS))).blocks
    rows = pd.DataFrame([dict.fromkeys(COLUMNS, 0.0) | {"language": "sw", "seed": s, "model": "teacher",
                                                       "context_native": v, "cognates": 700,
                                                       "context_native_words": 900}
                         for s, v in ((1, 0.1), (2, 0.3))])
    section = direct_transfer_probe(SimpleNamespace(probe=rows))
    table = next(b for b in section.blocks if b[0] == "table")
    assert table[2] == [["en→sw", "teacher", "700", "0.000", "0.000", "0.000", "0.000", "0.000", "0.200", "0.000",
                         "0.000"]]
    assert "No in-context probe" not in str(section.blocks)


def test_a_run_that_sampled_every_pair_gets_the_isolated_probe_and_a_skipped_context_probe(tok):
    """A valid run with every bitext pair in its sample: NaN in-context cells, said so in the report."""
    empty = _pairs().iloc[:0]
    row = context_alignment(_embedding(tok, True), tok, empty, _keys(), COGNATE)
    assert row["context_native_words"] == 0 and all(v != v for k, v in row.items() if k != "context_native_words")
    rows = pd.DataFrame([{**dict.fromkeys(COLUMNS, float("nan")), "language": "sw", "seed": 1, "model": "teacher",
                          "cognates": 700, "p1_cognates": 0.5, "p1_native": 0.0, **row}])
    section = direct_transfer_probe(SimpleNamespace(probe=rows))
    table = next(b for b in section.blocks if b[0] == "table")
    assert table[2][0][3:6] == ["0.500", "0.000", "–"]
    assert any("No in-context probe for en→sw" in str(b) for b in section.blocks)
