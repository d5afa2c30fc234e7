"""The typology sweep's reading (issue 13, item 2): an unpaired bootstrap against the base language,
read against the replicate's difference (docs/results.md#typology-one-factor-at-a-time)."""

import numpy as np
import pandas as pd
import pytest

from optical.typology import ner_effects, retrieval_effects, unpaired_ci, verdict

RNG = np.random.default_rng(0)
N = 200


def _metrics(shift: dict, seeds=(1, 2), candidates="sampled") -> pd.DataFrame:
    """Per-query nDCG@10 around 0.5 for sw, ca, tl and systems direct, optical; shift[(lang, system)]
    is added to that cell's values. Each language has its own queries, each seed its own noise."""
    rows = []
    for lang in ("sw", "ca", "tl"):
        base = RNG.uniform(0.2, 0.8, N)  # a language's query difficulty, shared by its systems
        for system in ("direct", "optical"):
            for seed in seeds:
                values = np.clip(base + shift.get((lang, system), 0.0) + RNG.normal(0, 0.02, N), 0, 1)
                rows += [{"language": lang, "system": system, "variant": "main", "seed": seed,
                          "query_id": f"{lang}{i}", "measure": "nDCG@10", "value": v, "candidates": candidates}
                         for i, v in enumerate(values)]
    return pd.DataFrame(rows)


def _row(table, lang, system):
    return table[(table.language == lang) & (table.system == system)].iloc[0]


def test_unpaired_ci_is_the_difference_of_means_with_an_interval_that_shrinks_with_n():
    a, b = RNG.normal(1.0, 1.0, 400), RNG.normal(0.0, 1.0, 300)
    delta, lo, hi = unpaired_ci(lambda i: a[i].mean(axis=-1), len(a), lambda i: b[i].mean(axis=-1), len(b))
    assert delta == pytest.approx(a.mean() - b.mean())
    assert lo < delta < hi and lo > 0.5 and hi < 1.5
    se = np.sqrt(a.var() / len(a) + b.var() / len(b))
    assert hi - lo == pytest.approx(2 * 1.96 * se, rel=0.15)  # the normal interval's width
    small = unpaired_ci(lambda i: a[:40][i].mean(axis=-1), 40, lambda i: b[:30][i].mean(axis=-1), 30)
    assert small[2] - small[1] > 2 * (hi - lo)


def test_verdict_needs_an_interval_off_zero_and_more_than_the_replicate_moves():
    assert verdict(-0.10, -0.15, -0.05, 0.02) == "hurts"
    assert verdict(0.10, 0.05, 0.15, -0.02) == "helps"
    assert verdict(-0.10, -0.15, -0.05, -0.12) == "no measured effect"  # two draws differ by more
    assert verdict(-0.10, -0.20, 0.01, 0.0) == "no measured effect"     # interval covers 0
    assert verdict(-0.10, -0.15, -0.05, float("nan")) == "no measured effect"


def test_a_factor_that_lowers_one_system_hurts_it_and_its_gain_over_direct():
    t = retrieval_effects(_metrics({("tl", "optical"): -0.2}), base="sw", replicate="ca", measure="nDCG@10",
                          candidates="sampled", n_resamples=1000)
    optical, direct = _row(t, "tl", "optical"), _row(t, "tl", "direct")
    gain = _row(t, "tl", "optical − direct")
    assert optical.verdict == "hurts" and optical.ci_high < 0
    assert gain.verdict == "hurts" and gain.quantity == "gain over direct"
    assert gain.delta == pytest.approx(-0.2, abs=0.03)  # the shift, query difficulty paired away
    assert direct.verdict == "no measured effect"
    assert _row(t, "sw", "optical").verdict == "base" and _row(t, "ca", "optical").verdict == "replicate"
    assert optical.value == pytest.approx(t[(t.system == "optical") & (t.language == "sw")].value.iloc[0] - 0.2,
                                          abs=0.06)


def test_a_difference_no_larger_than_the_replicates_is_no_measured_effect():
    t = retrieval_effects(_metrics({("tl", "optical"): -0.2, ("ca", "optical"): -0.25}), base="sw",
                          replicate="ca", measure="nDCG@10", candidates="sampled", n_resamples=500)
    assert _row(t, "tl", "optical").verdict == "no measured effect"
    assert _row(t, "tl", "optical").replicate_delta == pytest.approx(_row(t, "ca", "optical").delta)


def test_only_the_named_candidates_and_main_runs_enter():
    m = pd.concat([_metrics({}), _metrics({("tl", "optical"): -0.3}, candidates="bm25")])
    t = retrieval_effects(m, "sw", "ca", "nDCG@10", "sampled", n_resamples=200)
    assert _row(t, "tl", "optical").verdict == "no measured effect"


def test_the_base_and_replicate_must_be_evaluated_languages():
    with pytest.raises(ValueError, match="replicate 'pl'.*config/typology.yaml"):
        retrieval_effects(_metrics({}), "sw", "pl", "nDCG@10", "sampled", n_resamples=100)


def _ner(recall: dict, n=300) -> pd.DataFrame:
    """Per-sentence entity counts: two gold entities per sentence, direct finds each with
    probability 0.5, a system with recall[(lang, system)]; every prediction is a gold entity."""
    rows = []
    for lang in ("sw", "ca", "tl", "en"):
        for system in ("direct", "ot_aligned"):
            for seed in (1, 2):
                hits = RNG.random((n, 2)) < recall.get((lang, system), 0.5)
                rows += [{"language": lang, "system": system, "seed": seed, "sentence": i,
                          "correct": int(h.sum()), "predicted": int(h.sum()), "gold_entities": 2}
                         for i, h in enumerate(hits)]
    return pd.DataFrame(rows)


def test_ner_f1_is_pooled_over_seeds_in_points_and_english_is_left_out():
    ner = _ner({("tl", "ot_aligned"): 0.8})
    t = ner_effects(ner, "sw", "ca", n_resamples=500)
    assert "en" not in set(t.language)
    g = ner[(ner.language == "tl") & (ner.system == "ot_aligned")]
    c, p, gold = g.correct.sum(), g.predicted.sum(), g.gold_entities.sum()
    assert _row(t, "tl", "ot_aligned").value == pytest.approx(100 * 2 * c / (p + gold))
    assert _row(t, "tl", "ot_aligned").verdict == "helps"
    assert _row(t, "tl", "ot_aligned − direct").verdict == "helps"
    assert _row(t, "tl", "direct").verdict == "no measured effect"
