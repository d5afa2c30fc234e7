"""The report: its tables from per-query rows (seed aggregation, Holm families, gap closed), the
shared context and its sections, the headline measure, references, run keys and held-out curves;
the planned comparisons (OPTICAL against each, the headline bootstrap, NER tests), candidate
lists, training budgets, NMT quality and tests.parquet."""

import ast
import importlib
import inspect
import json
import pkgutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.multitest import multipletests

import optical.report
from optical import io, registry
from optical.ner.scores import prf
from optical.evaluate.stats import hierarchical_bootstrap, paired_f1_test
from optical.report import build, planned, retrieval, training
from optical.report.context import (Settings, build_context, load_metrics, load_ner, read_budgets, read_nmt,
                                    read_training)
from optical.report.figures import plot_heldout_curves
from optical.report.inference import TEST_COLUMNS, comparisons, headline_tests, ner_comparisons, versus_each
from optical.report.render import Section
from optical.report.tables import COUNTS, gap_table, heldout_table, nmt_budgets, nmt_table, system_table

RNG = np.random.default_rng(0)
LEVEL = {"random": 0.1, "direct": 0.2, "optical": 0.5, "translate_test_oracle": 0.7}
REPORT_DIR = Path(optical.report.__file__).parent


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


# --- the shared context and the sections -------------------------------------------------------

def _levels(levels: dict, langs=("sw",), seeds=(1, 2), queries=10) -> pd.DataFrame:
    """Per-query rows with ``levels[system][measure]`` as each system's mean level."""
    rows = []
    for lang in langs:
        for system, by_measure in levels.items():
            for seed in (seeds if registry.RETRIEVAL[system].seeded else [0]):
                for q in range(queries):
                    for m, level in by_measure.items():
                        v = float(np.clip(level + RNG.normal(0, 0.02), 0, 1))
                        rows.append((lang, system, "main", seed, f"q{q}", m, v))
    return pd.DataFrame(rows, columns=["language", "system", "variant", "seed", "query_id", "measure", "value"])


def _write_metrics(df: pd.DataFrame, path: Path) -> list[str]:
    io.write_parquet(path, {c: df[c].tolist() for c in df.columns})
    return [str(path)]


def _settings(df: pd.DataFrame, **kw) -> Settings:
    base = dict(systems=list(dict.fromkeys(df.system)), languages=sorted(df.language.unique()),
                measures=list(dict.fromkeys(df.measure)), headline="nDCG@10", threshold=1, resamples=500)
    return Settings(**{**base, **kw})


def _context(df: pd.DataFrame, tmp_path: Path, **kw):
    settings = _settings(df, **kw)
    return build_context(settings, _write_metrics(df, tmp_path / "metrics.parquet"), [], [], tmp_path / "figures")


def _summary_rows(section: Section) -> dict[str, list[str]]:
    _, header, rows = next(b for b in section.blocks if b[0] == "table")
    return {r[0]: r[1:] for r in rows}


def _ner_counts(tmp_path: Path) -> tuple[list[dict], list[str]]:
    runs, files = [], []
    for lang, system in (("sw", "direct"), ("sw", "teacher_student"), ("en", "direct")):
        for seed in (1, 2):
            gold = RNG.integers(0, 3, 30)
            predicted = RNG.integers(0, 3, 30)
            correct = np.minimum(gold, predicted) * (RNG.random(30) < 0.6)
            f = tmp_path / "ner" / f"{lang}-{system}-{seed}.parquet"
            io.write_parquet(f, {"sentence": list(range(30)), "correct": correct.tolist(),
                                 "predicted": predicted.tolist(), "gold_entities": gold.tolist()})
            runs.append({"language": lang, "system": system, "seed": seed})
            files.append(str(f))
    return runs, files


def test_context_is_built_once_and_every_section_renders_from_it(tmp_path, monkeypatch):
    df = _rows()
    calls = []

    def counted(*args, **kwargs):
        calls.append(1)
        return build_context(*args, **kwargs)

    monkeypatch.setattr(build, "build_context", counted)
    ner_runs, ner_files = _ner_counts(tmp_path)
    settings = _settings(df, systems=list(LEVEL), ner_systems=["direct", "teacher_student"], ner_languages=["sw"],
                         ner_resamples=50, resamples=200)
    out = tmp_path / "report"
    result = build.build_report(settings=settings, metric_files=_write_metrics(df, tmp_path / "m.parquet"),
                                training_runs=[], training_dirs=[], ner_runs=ner_runs, ner_files=ner_files,
                                out_html=str(out / "report.html"), out_md=str(out / "report.md"),
                                out_metrics=str(out / "metrics.parquet"), out_figures=str(out / "figures"),
                                out_ner_metrics=str(out / "ner_metrics.parquet"))
    assert len(calls) == 1
    md = (out / "report.md").read_text()
    for title in ("## Summary", "## Gap closed and language bias", "## Methods", "# Second task: cross-lingual NER",
                  "# Both tasks side by side", "## NER en→sw", "t p (Holm)", "permutation p (Holm)",
                  "95% bootstrap CI", "p (Holm)"):
        assert title in md, title
    for name in result["figures"]:  # linked relatively from the Markdown, embedded in the HTML
        assert f"](figures/{name})" in md and (out / "figures" / name).stat().st_size > 1000
    assert "data:image/png;base64," in (out / "report.html").read_text()
    # the NER summary cell of direct transfer: mean ± std over seeds of the per-seed corpus F1
    counts = pd.read_parquet(out / "ner_metrics.parquet")
    d = counts[(counts.language == "sw") & (counts.system == "direct")]
    f1s = [prf(g[["correct", "predicted", "gold_entities"]].to_numpy())[2] for _, g in d.groupby("seed")]
    row = next(line for line in md.splitlines() if line.startswith(f"| {registry.NER['direct'].label}"))
    assert f"{100 * np.mean(f1s):.1f} ± {100 * np.std(f1s, ddof=1):.1f}" in row
    # every section is a function of the context alone
    ctx = build_context(settings, [str(tmp_path / "m.parquet")], [], [], tmp_path / "again", ner_runs, ner_files)
    for section in build.SECTIONS:
        assert list(inspect.signature(section).parameters) == ["ctx"], section.__name__
        assert isinstance(section(ctx), Section)


def test_the_headline_measure_is_the_configured_one(tmp_path):
    # AP and nDCG@10 disagree on which student is best; the measure list's order must not matter
    df = _levels({"random": {"AP": 0.1, "nDCG@10": 0.1}, "direct": {"AP": 0.2, "nDCG@10": 0.2},
                  "sentence_kd": {"AP": 0.3, "nDCG@10": 0.6}, "optical": {"AP": 0.6, "nDCG@10": 0.3},
                  "translate_test_oracle": {"AP": 0.8, "nDCG@10": 0.8}})
    for headline, best, other in (("AP", "optical", "sentence_kd"), ("nDCG@10", "sentence_kd", "optical")):
        ctx = _context(df, tmp_path / headline, measures=["AP", "nDCG@10"], headline=headline)
        section = retrieval.summary(ctx)
        assert section.blocks[0] == ("h2", f"Summary: {headline} per language pair")
        rows = _summary_rows(section)
        assert rows[ctx.label(best)][0].startswith("**") and "**" not in rows[ctx.label(other)][0]
        assert retrieval.gap_closed_and_bias(ctx).blocks[0] == ("h2", f"Gap closed and language bias ({headline})")
    with pytest.raises(ValueError, match="headline"):
        _context(df, tmp_path / "bad", measures=["AP"], headline="nDCG@10")


def test_references_are_never_marked_best(tmp_path):
    # the candidate order is best here: under first_stage bm25_translated it saw translated queries
    df = _levels({"random": {"nDCG@10": 0.9}, "bm25": {"nDCG@10": 0.85}, "direct": {"nDCG@10": 0.2},
                  "optical": {"nDCG@10": 0.5}, "translate_test_oracle": {"nDCG@10": 0.95}})
    ctx = _context(df, tmp_path / "bm25", first_stage="bm25_translated")
    rows = _summary_rows(retrieval.summary(ctx))
    assert ctx.label("random") == registry.retrieval_systems("bm25_translated")["random"].label
    bold = {label for label, cells in rows.items() if any("**" in c for c in cells)}
    assert bold == {registry.RETRIEVAL["optical"].label}
    for system in ("random", "bm25", "translate_test_oracle"):
        assert ctx.is_reference(system)
    # with sampled candidates the candidate order is no reference: it may be best
    rows = _summary_rows(retrieval.summary(_context(df, tmp_path / "sampled")))
    assert rows[registry.RETRIEVAL["random"].label][0].startswith("**")


def test_run_keys_come_from_the_workflow_not_from_paths(tmp_path):
    # a model directory whose path names another run: the run key decides
    d = tmp_path / "models" / "sentence_kd" / "tl" / "main" / "seed7"
    d.mkdir(parents=True)
    curve = [{"step": 0, "objective": 2.0, "translation_p1": 0.1}, {"step": 10, "objective": 1.0,
                                                                    "translation_p1": 0.5}]
    (d / "training.json").write_text(json.dumps({"train_pairs": 100, "heldout_curve": curve}))
    main = tmp_path / "elsewhere"
    main.mkdir()
    (main / "training.json").write_text(json.dumps({"train_pairs": 300, "heldout_curve": curve}))
    runs = [{"language": "sw", "system": "optical", "variant": "bitext100", "seed": 1},
            {"language": "sw", "system": "optical", "variant": "main", "seed": 1}]
    pairs, curves = read_training(runs, [str(d), str(main)])
    assert pairs == {("sw", "optical", "bitext100", 1): 100, ("sw", "optical", "main", 1): 300}
    assert list(curves) == [("sw", "optical", 1)]  # only main runs have curves in the report
    df = load_metrics(_write_metrics(_rows(), tmp_path / "m.parquet"), pairs)
    assert df[(df.variant == "bitext100")].train_pairs.tolist() == [100]
    assert set(df[(df.language == "sw") & (df.system == "optical") & (df.variant == "main") & (df.seed == 1)]
               .train_pairs) == {300}
    ner_runs, ner_files = _ner_counts(tmp_path)
    counts = load_ner(ner_runs, ner_files)
    assert set(map(tuple, counts[["language", "system", "seed"]].drop_duplicates().to_numpy())) == {
        (r["language"], r["system"], r["seed"]) for r in ner_runs}
    with pytest.raises(ValueError, match="align"):
        read_training(runs, [str(d)])


def test_heldout_curves_take_the_new_format_and_tolerate_the_old(tmp_path):
    new = lambda start, p1: [{"step": s, "objective": start * (1 - s / 40), "translation_p1": p1 + s / 100}
                             for s in (0, 10, 20)]
    old = [{"step": s, "ot": 0.6 - s / 100, "sentence": 0.1, "objective": 0.6 - s / 100} for s in (0, 10, 20)]
    curves = {("sw", "optical", 1): new(0.6, 0.1), ("sw", "optical", 2): new(0.8, 0.3),
              ("sw", "sentence_kd", 1): new(0.02, 0.2), ("sw", "token_kd_fixed", 1): old,
              ("sw", "optical_sentence", 1): [{"step": 0, "ot": 0.5}]}  # neither key: left out
    t = heldout_table(curves).set_index(["language", "system", "step"])
    assert t.loc[("sw", "optical", 0), "relative_objective"] == pytest.approx(1.0)
    # relative to each seed's own start, then the mean over seeds; P@1 is averaged as it is
    assert t.loc[("sw", "optical", 20), "relative_objective"] == pytest.approx(0.5)
    assert t.loc[("sw", "optical", 20), "translation_p1"] == pytest.approx(0.4)
    assert t.loc[("sw", "sentence_kd", 10), "relative_objective"] == pytest.approx(0.75)  # scale-free
    assert t.loc[("sw", "token_kd_fixed", 10), "relative_objective"] == pytest.approx(0.5 / 0.6)
    assert np.isnan(t.loc[("sw", "token_kd_fixed", 10), "translation_p1"])
    assert "optical_sentence" not in set(t.index.get_level_values("system"))
    plot_heldout_curves(t.reset_index(), str, tmp_path / "curve.png")
    assert (tmp_path / "curve.png").stat().st_size > 1000
    assert heldout_table({}).empty


# --- planned comparisons -------------------------------------------------------------------------

def test_optical_against_each_system_is_its_own_holm_family():
    df = _rows()
    v = versus_each(df, list(LEVEL), ["AP", "nDCG@10"], n_resamples=500)
    assert set(v.system) == {"optical"} and set(v.baseline) == {"random", "direct", "translate_test_oracle"}
    assert len(v) == 3 * 2 * 2  # other systems x languages x measures
    for _, g in v.groupby("measure"):
        assert len(g) == 6
        np.testing.assert_allclose(g.perm_holm, multipletests(g.perm_pvalue, method="holm")[1])
    main = df[df.variant == "main"]
    q = main[(main.language == "tl") & (main.measure == "AP")].groupby(["system", "query_id"]).value.mean()
    row = v[(v.language == "tl") & (v.baseline == "random") & (v.measure == "AP")].iloc[0]
    assert row.delta == pytest.approx((q["optical"] - q["random"]).mean())  # random's one run against the seed mean
    assert versus_each(df, ["direct", "random"], ["AP"]).empty             # OPTICAL did not run: no family


def test_the_headline_bootstrap_pairs_seeds_and_covers_both_tasks(tmp_path):
    df = _rows()
    ner_runs, ner_files = _ner_counts(tmp_path)
    counts = load_ner(ner_runs, ner_files)
    h = headline_tests(df, ["sw", "tl"], "AP", counts, ["sw"], n_resamples=300, ner_resamples=300)
    assert list(zip(h.task, h.language, h.system)) == [("retrieval", "sw", "optical"), ("retrieval", "tl", "optical"),
                                                       ("ner", "sw", "teacher_student")]
    main = df[(df.variant == "main") & (df.language == "sw") & (df.measure == "AP")]
    grid = {s: main[main.system == s].pivot(index="seed", columns="query_id", values="value").to_numpy()
            for s in ("optical", "direct")}
    expected = hierarchical_bootstrap(grid["optical"], grid["direct"], n_resamples=300)
    assert (h.delta[0], h.ci_low[0], h.ci_high[0], h.p[0]) == pytest.approx(
        (expected.delta, expected.ci_low, expected.ci_high, expected.pvalue))
    assert (h.seeds == 2).all() and (h.p > 0).all()
    np.testing.assert_allclose(h.p_holm, multipletests(h.p, method="holm")[1])
    # the NER row and the NER tables' CI come from the same draws
    comp = ner_comparisons(counts, ["direct", "teacher_student"], n_resamples=300).iloc[0]
    assert (h.ci_low[2], h.ci_high[2], h.delta[2]) == pytest.approx((comp.ci_low, comp.ci_high, comp.delta))


def test_ner_tests_are_permutation_tests_on_seed_averaged_f1(tmp_path):
    ner_runs, ner_files = _ner_counts(tmp_path)
    counts = load_ner(ner_runs, ner_files)
    comp = ner_comparisons(counts, ["direct", "teacher_student"], n_resamples=200)
    assert list(zip(comp.language, comp.system)) == [("sw", "teacher_student")]  # never English, never direct
    per_seed = {s: {seed: g.sort_values("sentence")[COUNTS].to_numpy() for seed, g in
                    counts[(counts.language == "sw") & (counts.system == s)].groupby("seed")}
                for s in ("teacher_student", "direct")}
    t = paired_f1_test([per_seed["teacher_student"][k] for k in (1, 2)], [per_seed["direct"][k] for k in (1, 2)],
                       n_resamples=200)
    row = comp.iloc[0]
    assert (row.pvalue, row.delta, row.seeds) == (pytest.approx(t.pvalue), pytest.approx(t.delta), 2)
    f1s = [prf(per_seed["teacher_student"][k])[2] for k in (1, 2)]
    assert row.f1 == pytest.approx(np.mean(f1s)) and row.holm == pytest.approx(row.pvalue)  # a family of one


# --- candidate lists ---------------------------------------------------------------------------------

def _two_lists() -> pd.DataFrame:
    """The first stage ("sampled") and a second list on which every system scores far higher, with
    direct transfer best: its rows must never reach the headline tables."""
    df = _levels({"random": {"nDCG@10": 0.1}, "direct": {"nDCG@10": 0.2}, "optical": {"nDCG@10": 0.5}},
                 langs=("sw", "tl"))
    other = _levels({"random": {"nDCG@10": 0.6}, "direct": {"nDCG@10": 0.95}, "optical": {"nDCG@10": 0.8}},
                    langs=("sw", "tl"))
    return pd.concat([df.assign(candidates="sampled"), other.assign(candidates="bm25_nmt")], ignore_index=True)


def test_rows_of_another_candidate_list_never_enter_the_headline_tables(tmp_path):
    df = _two_lists()
    settings = _settings(df, other_lists=["bm25_nmt"])
    ctx = build_context(settings, _write_metrics(df, tmp_path / "m.parquet"), [], [], tmp_path / "figures")
    assert set(ctx.metrics.candidates) == {"sampled"} and len(ctx.all_metrics) == len(df)
    first = df[df.candidates == "sampled"]
    for table in (ctx.table, system_table(first)):
        assert table.set_index(["language", "system"]).loc[("sw", "direct"), "mean"] < 0.3
    pd.testing.assert_frame_equal(ctx.table, system_table(first.drop(columns="candidates")))
    assert ctx.comparisons.delta.min() > -0.5 and set(ctx.versus.measure) == {"nDCG@10"}
    summary = _summary_rows(retrieval.summary(ctx))
    assert summary[ctx.label("optical")][0].startswith("**")                  # best on the first stage
    # the other list: its own context, table and tests, its first stage named by the registry
    sub = ctx.lists["bm25_nmt"]
    assert set(sub.metrics.candidates) == {"bm25_nmt"}
    assert sub.label("random") == registry.retrieval_systems("bm25_nmt")["random"].label != ctx.label("random")
    section = planned.realistic_first_stage(ctx)
    assert section.blocks[0] == ("h2", "Re-ranking a realistic first stage")
    rows = _summary_rows(section)
    assert rows[sub.label("direct")][0].startswith("**") and "▼" in rows[sub.label("optical")][0]
    _, header, optical_rows = [b for b in section.blocks if b[0] == "table"][1]
    assert [r[:2] for r in optical_rows] == [["en→sw", "nDCG@10"], ["en→tl", "nDCG@10"]]
    assert all(float(r[4]) < 0 for r in optical_rows)                         # OPTICAL − direct on this list
    # metrics without the column are the first stage's (older runs)
    old = _context(first.drop(columns="candidates"), tmp_path / "old")
    assert set(old.metrics.candidates) == {"sampled"} and not old.lists
    assert planned.realistic_first_stage(old).blocks == []
    with pytest.raises(ValueError, match="no metrics row"):
        _context(first.drop(columns="candidates"), tmp_path / "none", other_lists=["bm25_nmt"])


# --- training budgets and NMT quality ----------------------------------------------------------------

def _training_dir(root: Path, name: str, **record) -> str:
    d = root / name
    d.mkdir(parents=True)
    (d / "training.json").write_text(json.dumps(record))
    return str(d)


def _benchmark(root: Path, name: str, seconds: float) -> str:
    f = root / f"{name}.tsv"
    f.write_text(f"s\th:m:s\tmax_rss\tmean_load\n{seconds}\t0:00:{seconds:.0f}\t120.5\t90.0\n")
    return str(f)


def test_the_budgets_table_reads_training_records_and_benchmarks(tmp_path):
    runs, dirs, marks = [], [], []
    for system, steps, batch in (("optical", 100, 32), ("sentence_kd", 100, 32), ("translate_train", 50, 16)):
        for seed in (1, 2):
            runs.append({"language": "sw", "system": system, "variant": "main", "seed": seed})
            dirs.append(_training_dir(tmp_path, f"{system}{seed}", steps=steps, examples_seen=steps * batch))
            # sentence_kd's second benchmark is missing, translate_train has none
            missing = system == "translate_train" or (system == "sentence_kd" and seed == 2)
            marks.append(str(tmp_path / "absent.tsv") if missing else _benchmark(tmp_path, f"{system}{seed}",
                                                                                  10.0 * seed))
    runs.append({"language": "sw", "system": "optical", "variant": "bitext100", "seed": 1})  # not a main run
    dirs.append(_training_dir(tmp_path, "subset", steps=7, examples_seen=7))
    marks.append(_benchmark(tmp_path, "subset", 999.0))
    budgets = read_budgets(runs, dirs, marks)
    ctx = _context(_rows(), tmp_path / "ctx")
    ctx.budgets = budgets
    section = training.budgets(ctx)
    assert section.blocks[0] == ("h2", "Training budgets")
    rows = _summary_rows(section)
    assert rows[ctx.label("optical")] == ["en→sw", "100", "32.0", "3,200", "15.0", "2"]
    assert rows[ctx.label("sentence_kd")] == ["en→sw", "100", "32.0", "3,200", "10.0 (1 of 2 runs)", "2"]
    assert rows[ctx.label("translate_train")] == ["en→sw", "50", "16.0", "800", "–", "2"]
    assert "ran on the same budget" in retrieval.budget_sentence(ctx)   # the two bitext methods agree
    budgets.loc[budgets.system == "sentence_kd", "steps"] = [100, 120]
    ctx.budgets = budgets
    assert _summary_rows(training.budgets(ctx))[ctx.label("sentence_kd")][1:3] == ["100–120", "26.7–32.0"]
    assert "did not all run on the same budget" in retrieval.budget_sentence(ctx)
    ctx.budgets = read_budgets(runs[:1], dirs[:1])                      # no benchmarks given
    assert _summary_rows(training.budgets(ctx))[ctx.label("optical")][4] == "–"
    with pytest.raises(ValueError, match="align"):
        read_budgets(runs, dirs, marks[:2])


def test_the_nmt_table_is_bleu_and_chrf_per_language_and_direction(tmp_path):
    runs, dirs = [], []
    for direction, bleu in (("xx-en", 20.0), ("en-xx", 12.0)):
        for seed in (1, 2):
            runs.append({"language": "sw", "direction": direction, "seed": seed})
            dirs.append(_training_dir(tmp_path, f"{direction}{seed}", heldout_bleu=bleu + seed, heldout_chrf=40 + seed,
                                      direction=direction, train_pairs=2800, steps=500, examples_seen=16000))
    nmt = read_nmt(runs, dirs, [_benchmark(tmp_path, "nmt", 30.0)] + [str(tmp_path / "absent.tsv")] * 3)
    table = nmt_table(nmt).set_index("direction")
    assert table.loc["xx-en", "bleu"] == pytest.approx(21.5) and table.loc["xx-en", "bleu_std"] == pytest.approx(
        np.std([21, 22], ddof=1))
    ctx = _context(_rows(), tmp_path / "ctx")
    assert training.nmt_quality(ctx).blocks == []                        # no NMT models: no section
    ctx.nmt = nmt
    section = training.nmt_quality(ctx)
    assert section.blocks[0] == ("h2", "NMT quality")
    _, header, rows = section.blocks[2]
    assert header[:4] == ["pair", "direction", "BLEU", "chrF"]
    assert rows == [["en→sw", "en-xx (queries into the language)", "13.5 ± 0.7", "41.5 ± 0.7", "2", "2,800", "500"],
                    ["en→sw", "xx-en (documents into English)", "21.5 ± 0.7", "41.5 ± 0.7", "2", "2,800", "500"]]
    budget_rows = nmt_budgets(nmt)
    assert set(budget_rows.system) == {"NMT model xx-en", "NMT model en-xx"} and budget_rows.wall_s.notna().sum() == 1
    runs[0] = {**runs[0], "direction": "en-xx"}
    with pytest.raises(ValueError, match="direction"):
        read_nmt(runs, dirs)


def test_every_test_lands_in_tests_parquet_and_the_answer_comes_first(tmp_path):
    df = _two_lists()
    ner_runs, ner_files = _ner_counts(tmp_path)
    runs = [{"language": "sw", "system": "optical", "variant": "main", "seed": s} for s in (1, 2)]
    dirs = [_training_dir(tmp_path, f"optical{s}", steps=10, examples_seen=80) for s in (1, 2)]
    settings = _settings(df, ner_systems=["direct", "teacher_student"], ner_languages=["sw"], ner_resamples=50,
                         other_lists=["bm25_nmt"], resamples=200)
    out = tmp_path / "report"
    result = build.build_report(settings=settings, metric_files=_write_metrics(df, tmp_path / "m.parquet"),
                                training_runs=runs, training_dirs=dirs, benchmark_files=[_benchmark(tmp_path, "b", 5.0),
                                str(tmp_path / "absent.tsv")], ner_runs=ner_runs, ner_files=ner_files,
                                out_html=str(out / "report.html"), out_md=str(out / "report.md"),
                                out_metrics=str(out / "metrics.parquet"), out_figures=str(out / "figures"),
                                out_tests=str(out / "tests.parquet"))
    tests = pd.read_parquet(out / "tests.parquet")
    assert list(tests.columns) == TEST_COLUMNS and len(tests) == result["tests"]
    assert set(tests.family) == {"vs_direct", "optical_vs_each", "headline", "ner_vs_direct"}
    assert set(tests[tests.family == "vs_direct"].candidates) == {"sampled", "bm25_nmt"}
    assert (tests.p > 0).all() and (tests.p_holm >= tests.p - 1e-12).all() and (tests.ci_low <= tests.ci_high).all()
    head = tests[tests.family == "headline"]
    assert set(zip(head.task, head.system)) == {("retrieval", "optical"), ("ner", "teacher_student")}
    assert set(pd.read_parquet(out / "metrics.parquet").candidates) == {"sampled", "bm25_nmt"}
    md = (out / "report.md").read_text()
    order = [md.index(t) for t in ("# OPTICAL reproduction", "## Teacher-student learning against direct transfer",
                                   "## Summary", "## OPTICAL against every other system",
                                   "## Re-ranking a realistic first stage", "## Training budgets", "## Methods",
                                   "# Second task: cross-lingual NER")]
    assert order == sorted(order)
    assert "## NMT quality" not in md                                   # no NMT models ran


# --- the package's shape ------------------------------------------------------------------------

def _functions():
    for path in sorted(REPORT_DIR.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                yield path.name, node


def test_every_report_module_imports_at_top_level_only():
    for name, fn in _functions():
        nested = [n for n in ast.walk(fn) if isinstance(n, (ast.Import, ast.ImportFrom))]
        assert not nested, f"{name}: {fn.name} imports inside a function"
    for module in pkgutil.iter_modules([str(REPORT_DIR)]):
        importlib.import_module(f"optical.report.{module.name}")


def test_no_report_function_is_over_60_lines():
    for name, fn in _functions():
        assert fn.end_lineno - fn.lineno + 1 <= 60, f"{name}: {fn.name}"
