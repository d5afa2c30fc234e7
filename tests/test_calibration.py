"""The calibration helpers (issue 13): trial settings, the regime table and the verdict."""

import numpy as np
import pandas as pd
import pytest

from optical.calibration import (Target, apply_settings, ner_share_interval, regime, run_regime, share_interval,
                                 verdict)

BASE = {"seeds": [1], "world": {"cased": False, "languages": {"fi": {"cognate_share": 0.0}, "it": {}}}}


def test_settings_set_nested_keys_and_every_child():
    out = apply_settings(BASE, ["world.cased=true", "world.languages.*.cognate_share=0.2", "seeds=[1, 2]"])
    assert out["world"]["cased"] is True and out["seeds"] == [1, 2]
    assert out["world"]["languages"] == {"fi": {"cognate_share": 0.2}, "it": {"cognate_share": 0.2}}
    assert BASE["world"]["cased"] is False and BASE["world"]["languages"]["it"] == {}  # a copy


@pytest.mark.parametrize("bad, words", [("world.cased", "dotted.key=VALUE"), ("wrold.cased=true", "no key 'wrold'"),
                                        ("seeds.x=1", "not a mapping")])
def test_settings_refuse_what_they_cannot_place(bad, words):
    with pytest.raises(ValueError, match=words):
        apply_settings(BASE, [bad])


def _metrics(values: dict) -> pd.DataFrame:
    """Per-query rows: values[(lang, system, seed)] is the list of per-query nDCG@10."""
    rows = [{"language": l, "system": s, "variant": "main", "seed": seed, "query_id": str(i),
             "measure": "nDCG@10", "value": v}
            for (l, s, seed), vs in values.items() for i, v in enumerate(vs)]
    return pd.DataFrame(rows)


def _ner(counts: dict) -> pd.DataFrame:
    rows = [{"language": l, "system": s, "seed": seed, "sentence": 0, "correct": c, "predicted": p, "gold_entities": g}
            for (l, s, seed), (c, p, g) in counts.items()]
    return pd.DataFrame(rows)


def test_regime_measures_direct_between_random_and_the_ceiling_per_seed():
    m = _metrics({("fi", "random", 0): [0.1, 0.1], ("fi", "direct", 1): [0.3, 0.5], ("fi", "direct", 2): [0.2, 0.2],
                  ("fi", "translate_test_oracle", 1): [0.9, 0.9], ("fi", "translate_test_oracle", 2): [0.5, 0.5],
                  ("it", "random", 0): [0.0], ("it", "direct", 1): [0.5], ("it", "translate_test_oracle", 1): [1.0]})
    ner = _ner({("en", "direct", 1): (8, 10, 10), ("fi", "direct", 1): (2, 10, 10), ("it", "direct", 1): (4, 10, 10)})
    t = regime(m, ner, {"it": 1600, "fi": 800}, "nDCG@10")
    assert t.language.tolist() == ["fi", "it"]  # in resource order
    # fi: seed 1 (0.4 - 0.1) / (0.9 - 0.1) = 0.375, seed 2 (0.2 - 0.1) / (0.5 - 0.1) = 0.25
    assert t.share.tolist() == pytest.approx([(0.375 + 0.25) / 2, 0.5])
    assert t.direct.tolist() == pytest.approx([0.3, 0.5]) and t.random.tolist() == pytest.approx([0.1, 0.0])
    assert t.english_f1.tolist() == pytest.approx([0.8, 0.8])
    assert t.ner_share.tolist() == pytest.approx([0.25, 0.5])


def test_run_regime_reads_a_report_on_its_headline_list(tmp_path):
    m = _metrics({("fi", "random", 0): [0.1], ("fi", "direct", 1): [0.5], ("fi", "translate_test_oracle", 1): [0.9]})
    other = m.assign(candidates="bm25_nmt", value=0.0)  # another list's rows must not enter
    pd.concat([m.assign(candidates="sampled"), other]).to_parquet(tmp_path / "metrics.parquet")
    _ner({("en", "direct", 1): (8, 10, 10), ("fi", "direct", 1): (2, 10, 10)}).to_parquet(tmp_path / "ner_metrics.parquet")
    config = {"languages": {"fi": {}}, "world": {"languages": {"fi": {"mono_sentences": 800}}},
              "candidates": {"first_stage": "sampled"}, "evaluation": {"headline_measure": "nDCG@10"}}
    t = run_regime(config, tmp_path)
    assert t.share.tolist() == pytest.approx([0.5]) and t.ner_share.tolist() == pytest.approx([0.25])


def _share_world(n: int, seeds=(1, 2, 3), exact: bool = False, data_seed: int = 7) -> pd.DataFrame:
    """random (one untrained run), direct and the ceiling on n queries; with ``exact``, direct is
    random + 0.25 x (ceiling - random) on every query of every seed."""
    rng = np.random.default_rng(data_seed)
    floor = rng.uniform(0, 0.1, n)
    values = {("sw", "random", 0): floor}
    for s in seeds:
        ceiling = rng.uniform(0.5, 1.0, n)
        direct = floor + 0.25 * (ceiling - floor) if exact else rng.uniform(0.0, 0.5, n)
        values[("sw", "translate_test_oracle", s)], values[("sw", "direct", s)] = ceiling, direct
    return _metrics(values)


def test_share_interval_is_the_regimes_share_with_the_hierarchical_bootstraps_interval():
    exact = _share_world(40, exact=True)
    point, low, high = share_interval(exact, "sw", "nDCG@10", n_resamples=500)
    # the share of means is 0.25 on any resample of seeds and queries when every query's is
    assert (point, low, high) == pytest.approx((0.25, 0.25, 0.25))
    noisy = _share_world(40)
    point, low, high = share_interval(noisy, "sw", "nDCG@10", n_resamples=2000)
    assert point == pytest.approx(regime(noisy, _ner({}), {"sw": 1}, "nDCG@10").share.iloc[0])
    assert low < point < high and high - low > 0.05
    # one seed (the query bootstrap alone): 16 x the queries, an interval about 4 x narrower (3.1-4.4
    # over data seeds 1-12; with 3 seeds the width also follows how far apart the 3 seeds fell)
    widths = []
    for n in (40, 640):
        _, low, high = share_interval(_share_world(n, seeds=(1,)), "sw", "nDCG@10", n_resamples=2000)
        widths.append(high - low)
    assert 2.5 < widths[0] / widths[1] < 6.5


def test_share_interval_resamples_as_the_reports_hierarchical_bootstrap():
    """With random 0 and the ceiling 1 on every query, the share is direct's mean: the interval is
    then hierarchical_bootstrap's for direct against 0, resample for resample (seeds and queries)."""
    from optical.evaluate.stats import hierarchical_bootstrap
    rng = np.random.default_rng(3)
    direct = rng.uniform(0, 0.6, (3, 30)) + np.array([[0.0], [0.2], [0.1]])  # seeds that disagree
    rows = [{"language": "sw", "system": system, "variant": "main", "seed": seed, "query_id": f"q{i:02d}",
             "measure": "nDCG@10", "value": value}
            for system, seeds, values in (("random", [0], np.zeros((1, 30))), ("direct", [1, 2, 3], direct),
                                          ("translate_test_oracle", [1, 2, 3], np.ones((3, 30))))
            for seed, row in zip(seeds, values) for i, value in enumerate(row)]
    point, low, high = share_interval(pd.DataFrame(rows), "sw", "nDCG@10", n_resamples=3000, seed=5)
    boot = hierarchical_bootstrap(direct, np.zeros_like(direct), n_resamples=3000, seed=5)
    assert (point, low, high) == pytest.approx((boot.value_a, boot.ci_low, boot.ci_high))


def test_share_interval_is_undefined_where_a_resample_has_no_gap():
    m = _metrics({("sw", "random", 0): [0.1, 0.5], ("sw", "direct", 1): [0.2, 0.3],
                  ("sw", "translate_test_oracle", 1): [0.9, 0.1]})  # query 2 alone: ceiling below random
    point, low, high = share_interval(m, "sw", "nDCG@10", n_resamples=200)
    assert point == pytest.approx((0.25 - 0.3) / (0.5 - 0.3)) and np.isnan(low) and np.isnan(high)


def test_share_interval_needs_the_three_systems_on_the_same_queries():
    m = _share_world(10)
    shifted = m.copy()
    shifted.loc[(shifted.system == "direct") & (shifted.seed == 2), "query_id"] += "x"
    with pytest.raises(ValueError, match="same queries"):
        share_interval(shifted, "sw", "nDCG@10", n_resamples=10)
    with pytest.raises(ValueError, match="need runs"):
        share_interval(m[m.system != "random"], "sw", "nDCG@10", n_resamples=10)
    with pytest.raises(ValueError, match="no run for seeds"):  # random neither per seed nor untrained
        share_interval(m.assign(seed=m.seed.where(m.system != "random", 9)), "sw", "nDCG@10", n_resamples=10)
    with pytest.raises(ValueError, match="appears twice"):  # e.g. two candidate lists' rows together
        share_interval(pd.concat([m, m]), "sw", "nDCG@10", n_resamples=10)


def _ner_world(sentences: dict, seeds=(1,), data_seed: int = 4, same: bool = False) -> pd.DataFrame:
    """Direct transfer's per-sentence entity counts on each language (sentences[lang] of them);
    with ``same``, every sentence of a language has the same counts."""
    rng = np.random.default_rng(data_seed)
    rows = []
    for lang, n in sentences.items():
        for seed in seeds:
            gold = np.full(n, 2) if same else rng.integers(1, 4, n)
            predicted = np.full(n, 2) if same else rng.integers(0, 4, n)
            correct = np.minimum(gold, predicted) if lang == "en" else np.minimum(gold, predicted) // 2
            rows += [{"language": lang, "system": "direct", "seed": seed, "sentence": i, "correct": c,
                      "predicted": p, "gold_entities": g} for i, (c, p, g) in enumerate(zip(correct, predicted, gold))]
    return pd.DataFrame(rows)


def test_ner_share_interval_is_the_regimes_ner_share_with_an_interval():
    same = _ner_world({"en": 30, "sw": 20}, same=True)  # en F1 1.0, sw 0.5 on any resample
    assert ner_share_interval(same, "sw", n_resamples=200) == pytest.approx((0.5, 0.5, 0.5))
    ner = _ner_world({"en": 60, "sw": 40}, seeds=(1, 2, 3))
    point, low, high = ner_share_interval(ner, "sw", n_resamples=2000)
    t = regime(_metrics({("sw", "random", 0): [0.0], ("sw", "direct", 1): [0.5],
                         ("sw", "translate_test_oracle", 1): [1.0]}), ner, {"sw": 1}, "nDCG@10")
    assert point == pytest.approx(t.ner_share.iloc[0]) and low < point < high
    widths = []  # one seed, 16 x the sentences of both languages: about 4 x narrower
    for n in (40, 640):
        _, low, high = ner_share_interval(_ner_world({"en": n, "sw": n}), "sw", n_resamples=2000)
        widths.append(high - low)
    assert 2.5 < widths[0] / widths[1] < 6.5
    with pytest.raises(ValueError, match="common seed"):
        ner_share_interval(ner[ner.language == "sw"], "sw", n_resamples=10)


def test_verdict_names_each_part_of_the_target():
    table = pd.DataFrame({"share": [0.3, 0.5], "ner_share": [0.4, 0.35], "english_f1": [0.75, 0.75]})
    v = verdict(table, Target())
    assert v == {"share in range": True, "share increases with resource": True, "NER share in range": True,
                 "NER share increases with resource": False, "English F1": True}
    assert not verdict(table.assign(share=[0.1, np.nan]))["share in range"]
    assert not verdict(table.assign(english_f1=0.6))["English F1"]
