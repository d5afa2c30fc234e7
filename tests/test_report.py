"""The report's tables from per-query rows: seed aggregation, Holm families, gap closed."""

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.multitest import multipletests

from optical.report import comparisons, gap_table, system_table

RNG = np.random.default_rng(0)
LEVEL = {"random": 0.1, "direct": 0.2, "optical": 0.5, "translate_test_oracle": 0.7}


def _rows():
    rows = []
    for lang in ("sw", "tl"):
        for system, level in LEVEL.items():
            for seed in ([0] if system == "random" else [1, 2]):
                for q in range(12):
                    for m in ("AP", "nDCG@10"):
                        v = float(np.clip(level + 0.05 * seed + RNG.normal(0, 0.1), 0, 1))
                        rows.append((lang, system, "main", seed, f"q{q}", m, v))
    rows.append(("sw", "optical", "bitext100", 1, "q0", "AP", 0.0))  # a subset run must not enter the tables
    return pd.DataFrame(rows, columns=["language", "system", "variant", "seed", "query_id", "measure", "value"])


def test_system_table_is_mean_and_std_over_per_seed_means():
    df = _rows()
    t = system_table(df).set_index(["language", "system", "measure"])
    main = df[(df.variant == "main") & (df.language == "sw") & (df.system == "optical") & (df.measure == "AP")]
    per_seed = main.groupby("seed").value.mean()
    assert t.loc[("sw", "optical", "AP"), "mean"] == pytest.approx(per_seed.mean())
    assert t.loc[("sw", "optical", "AP"), "std"] == pytest.approx(per_seed.std(ddof=1))
    assert t.loc[("sw", "random", "AP"), "seeds"] == 1 and t.loc[("sw", "random", "AP"), "std"] == 0


def test_holm_family_is_all_systems_and_languages_per_measure():
    df = _rows()
    comp = comparisons(df, list(LEVEL), ["AP", "nDCG@10"])
    assert len(comp) == 3 * 2 * 2  # systems other than direct x languages x measures
    for m, g in comp.groupby("measure"):
        assert len(g) == 6
        np.testing.assert_allclose(g.perm_holm, multipletests(g.perm_pvalue, method="holm")[1])
        np.testing.assert_allclose(g.t_holm, multipletests(g.t_pvalue, method="holm")[1])
    assert (comp.perm_holm >= comp.perm_pvalue).all()
    opt = comp[(comp.system == "optical") & (comp.language == "sw") & (comp.measure == "AP")].iloc[0]
    main = df[df.variant == "main"]
    q = main[(main.language == "sw") & (main.measure == "AP")].groupby(["system", "query_id"]).value.mean()
    assert opt.delta == pytest.approx((q["optical"] - q["direct"]).mean())


def test_gap_closed_pairs_each_seed_with_its_own_teacher():
    df = _rows()
    gaps = gap_table(df, list(LEVEL), "AP")
    ps = df[(df.variant == "main") & (df.measure == "AP")].groupby(["language", "system", "seed"]).value.mean()
    got = gaps.set_index(["language", "system", "seed"]).gap_closed
    for seed in (1, 2):
        d, o, x = ps[("tl", "direct", seed)], ps[("tl", "translate_test_oracle", seed)], ps[("tl", "optical", seed)]
        assert got[("tl", "optical", seed)] == pytest.approx((x - d) / (o - d))
    # random has one run (seed 0), compared with every seed's direct and oracle
    assert got[("sw", "random", 1)] == pytest.approx(
        (ps[("sw", "random", 0)] - ps[("sw", "direct", 1)]) / (ps[("sw", "translate_test_oracle", 1)] - ps[("sw", "direct", 1)]))
