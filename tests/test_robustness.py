"""Robustness across worlds: each test cell's outcome per world and whether it holds on all."""

import pandas as pd
import pytest

from optical.robustness import KEYS, outcome, table, verdict


def _tests(rows):
    base = dict(task="retrieval", family="optical_vs_each", measure="nDCG@10", candidates="sampled", other="direct",
                method="sign-flip permutation")
    return pd.DataFrame([dict(base, **r) for r in rows])


@pytest.mark.parametrize("outcomes, expected", [(["+", "+", "+"], "holds"), (["−", "−"], "holds"),
                                                (["+", "=", "+"], "same sign"), (["+", "−", "="], "flips"),
                                                (["=", "="], "n.s."), (["−", "="], "same sign")])
def test_verdict(outcomes, expected):
    assert verdict(outcomes) == expected


def test_outcome_needs_the_corrected_p_value():
    assert outcome(0.1, 0.01, 0.05) == "+" and outcome(-0.1, 0.01, 0.05) == "−" and outcome(0.1, 0.2, 0.05) == "="


def test_table_compares_each_cell_across_worlds_and_drops_cells_missing_on_one():
    w13 = _tests([{"language": "sw", "system": "optical", "delta": 0.2, "p_holm": 0.001},
                  {"language": "tl", "system": "optical", "delta": 0.1, "p_holm": 0.001},
                  {"language": "nn", "system": "optical", "delta": 0.1, "p_holm": 0.001}])
    w14 = _tests([{"language": "sw", "system": "optical", "delta": 0.3, "p_holm": 0.002},
                  {"language": "tl", "system": "optical", "delta": -0.1, "p_holm": 0.001}])
    t = table({14: w14, 13: w13}, alpha=0.05).set_index("language")
    assert sorted(t.index) == ["sw", "tl"]  # nn ran on one world only
    assert t.loc["sw", "verdict"] == "holds" and t.loc["tl", "verdict"] == "flips"
    assert t.loc["sw", "delta_13"] == pytest.approx(0.2) and t.loc["sw", "outcome_14"] == "+"
    assert set(KEYS) <= set(t.reset_index().columns)


def test_ner_cells_without_a_candidate_list_are_kept():
    ner = [{"language": "sw", "system": "ot_aligned", "delta": 0.2, "p_holm": 0.01, "task": "ner",
            "family": "ner_vs_direct", "measure": "entity F1", "candidates": None}]
    t = table({1: _tests(ner), 2: _tests(ner)}, alpha=0.05)
    assert len(t) == 1 and t.verdict.item() == "holds" and t.candidates.item() == ""
