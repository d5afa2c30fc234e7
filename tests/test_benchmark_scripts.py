"""The diagnosis scripts under benchmarks/ that docs quote: each on a hand-checked case."""

import importlib.util
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def _script(name: str):
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- benchmarks/ner_errors.py -------------------------------------------------------------

def test_ner_errors_sorts_unmatched_spans_and_ordinary_words_by_cause():
    m = _script("ner_errors")
    english = pd.DataFrame({"tokens": [["Kaz", "went", "home"]], "gold": [["B-PER", "O", "O"]],
                            "pred": [["B-PER", "O", "O"]]})
    assert m.name_only_letters(english) == {"k", "a", "z"}  # no O word has them
    frame = pd.DataFrame({
        "tokens": [["Tom", "Lee", "saw", "kazo", "mile"], ["Ana", "ran"]],
        "gold": [["B-PER", "I-PER", "O", "O", "O"], ["B-LOC", "O"]],
        "pred": [["B-PER", "B-PER", "O", "B-ORG", "B-LOC"], ["B-PER", "O"]]})
    c = m.span_counts(frame)
    # gold: Tom Lee (PER), Ana (LOC); predicted: Tom, Lee, kazo, mile, Ana (PER)
    assert (c["gold"], c["predicted"], c["correct"], c["correct_untyped"]) == (2, 5, 0, 1)
    assert (c["spurious_lowercase_O"], c["overlapping_gold"], c["spurious_other"]) == (2, 2, 0)
    rates = m.ordinary_word_rates(frame, {"k", "z"})
    assert rates == {"without": (3, 1 / 3), "with name-only letter": (1, 1.0)}


# --- benchmarks/early_stopping.py ---------------------------------------------------------

def test_patience_rule_stops_after_evaluations_without_a_new_best():
    m = _script("early_stopping")
    points = [(0, 1.0), (100, 0.5), (200, 0.6), (300, 0.4), (400, 0.45), (500, 0.46)]
    assert m.stop_step(points, 1) == 200   # the first evaluation without a new best
    assert m.stop_step(points, 2) == 500   # 0.4 at 300, then two without one
    assert m.stop_step(points, 3) == 500   # never: the last step
    assert m.curve_values([{"step": 0, "loss": 2.0}, {"step": 5, "loss": 1.0}]) == [(0, 2.0), (5, 1.0)]
    assert m.curve_values([{"step": 0, "translation_p1": 0.3}]) == []  # no lower-is-better key


def test_early_stopping_summary_counts_runs_and_saved_steps(tmp_path):
    m = _script("early_stopping")
    models = tmp_path / "models"
    curves = {"optical/sw/main/seed1": [0.9, 0.5, 0.4], "optical/sw/main/seed2": [0.9, 0.5, 0.6, 0.55],
              "nmt/xx-en/sw/seed1": [8.0, 4.0, 3.0], "encoder/seed1": []}
    for run, values in curves.items():
        (models / run).mkdir(parents=True)
        curve = [{"step": 100 * i, "objective": v} for i, v in enumerate(values)]
        (models / run / "training.json").write_text(json.dumps({"heldout_curve": curve}))
    rows = m.summarise(models, [1, 2])
    assert set(rows) == {"optical", "nmt/xx-en"}  # no curve, no row
    assert rows["optical"]["runs"] == 2 and rows["optical"]["improving_at_end"] == 1
    # seed 2 stops at step 200 of 300 with patience 1, at its end with patience 2
    assert (rows["optical"]["steps"], rows["optical"]["saved_p1"], rows["optical"]["saved_p2"]) == (500, 100, 0)
    assert rows["nmt/xx-en"]["saved_p1"] == rows["nmt/xx-en"]["saved_p2"] == 0


# --- benchmarks/typology.py ----------------------------------------------------------------

def test_typology_grid_shows_the_base_value_and_each_difference_with_its_verdict():
    m = _script("typology")
    table = pd.DataFrame({
        "language": ["sw", "ca", "tl", "fi"], "system": ["optical"] * 4, "value": [0.5, 0.48, 0.3, 0.5],
        "delta": [float("nan"), -0.02, -0.2, float("nan")], "verdict": ["base", "replicate", "hurts", "not comparable"]})
    g = m.grid(table, "sw", "ca")
    assert list(g.columns) == ["sw", "ca", "fi", "tl"]
    assert g.loc["optical"].to_dict() == {"sw": "0.500", "ca": "-0.020 rep.", "fi": "n/a", "tl": "-0.200 hurts"}


# --- benchmarks/rerank_shapes.py and benchmarks/nmt_seeds.py (the GPU check's diagnoses) ------

def test_rerank_extrapolation_scales_documents_and_queries_separately():
    m = _script("rerank_shapes")
    # 100 documents in 10 s, 20 queries in 2 s: 0.1 s per document, 0.1 s per query
    assert m.extrapolate(10.0, 100, 2.0, 20, {"docs": 1000, "queries": 50}) == 100.0 + 5.0


def test_rerank_shapes_runs_the_pipelines_rerank_at_a_tiny_size(capsys):
    m = _script("rerank_shapes")
    m.main(["--docs", "30", "--queries", "3", "--depth", "10", "--layers", "1", "--batch-size", "16"])
    out = capsys.readouterr().out
    assert "rerank() of 3 queries x depth 10 over 30 documents in chunks of 15" in out
    assert "extrapolated to WikiCLIR sw (37080 documents, 22860 queries, depth 10)" in out
    assert m.rr.PaddedDocuments.__name__ == "PaddedDocuments"  # the timing wrapper is removed again


def test_nmt_device_comparison_starts_both_devices_from_the_same_weights(tmp_path, default_config):
    """Two builds from one seed give the same loss and gradients: what makes a CPU/GPU difference
    in benchmarks/nmt_seeds.py a difference of the devices. The recipe's dropout is restored."""
    from conftest import shrink_world
    from optical.data.synthetic import WorldSpec, write_world
    from optical.train import nmt
    m = _script("nmt_seeds")
    write_world(WorldSpec.from_config(shrink_world(default_config["world"])), tmp_path)
    dropout = nmt.DROPOUT
    result = m.compare_devices(str(tmp_path / "bitext" / "en-sw.parquet"), "cpu")
    assert result["cpu_loss"] == result["device_loss"] and result["worst_grad_rel_diff"] == 0.0
    assert 5.0 < result["cpu_loss"] < 7.0  # about ln(vocabulary) before training
    cpu_side, other_side = result["attention"].split(" / ")  # "<kernel>, dropout 0.0" on each device
    assert cpu_side.endswith("dropout 0.0") and other_side.endswith("dropout 0.0") and nmt.DROPOUT == dropout


# --- benchmarks/robustness.py -------------------------------------------------------------

def test_robustness_probe_summary_averages_seeds_per_language_and_model(tmp_path):
    from optical.probe_columns import COLUMNS
    robustness = _script("robustness")
    assert robustness.probe_summary(tmp_path).empty  # a run from before the probe
    for seed, native in ((1, 0.1), (2, 0.3)):
        rows = pd.DataFrame([{**dict.fromkeys(COLUMNS, 0.5), "language": "sw", "seed": seed, "model": model,
                              "context_native": native + bonus}
                             for model, bonus in (("teacher", 0.0), ("control", 0.2))])
        (tmp_path / "results" / "probe" / "sw").mkdir(parents=True, exist_ok=True)
        rows.to_parquet(tmp_path / "results" / "probe" / "sw" / f"seed{seed}.parquet")
    out = robustness.probe_summary(tmp_path).set_index("model")
    assert list(out.index) == ["teacher", "control"] and set(out.language) == {"sw"}
    assert out.loc["teacher", "context_native"] == pytest.approx(0.2)
    assert out.loc["control", "context_native"] == pytest.approx(0.4)
    assert out.loc["teacher", "p1_cognates"] == 0.5


# --- benchmarks/distributional_alignment.py -----------------------------------------------

def test_distributional_alignment_finds_words_that_share_anchors_and_not_others(tmp_path):
    """Foreign ka and English one both occur with Zuri, mu and two with Vera; pe and three occur
    with either alike, so only a tie decides them."""
    da = _script("distributional_alignment")
    (tmp_path / "en.txt").write_text("one Zuri . \nOne zuri three .\ntwo Vera three .\ntwo vera .\n")
    (tmp_path / "xx.txt").write_text("ka Zuri pe .\nmu Vera pe .\nka zuri .\nmu vera Zuri .\n")
    en, xx = da.sentences(tmp_path / "en.txt"), da.sentences(tmp_path / "xx.txt")
    assert en[0] == ["one", "zuri"] and xx[3] == ["mu", "vera", "zuri"]
    assert da.anchors(en, xx, min_count=2) == ["vera", "zuri"]
    columns = {"vera": 0, "zuri": 1}
    key_en = {"one": 0, "two": 1, "three": 2}.get
    key_xx = {"ka": 0, "mu": 1, "pe": 2}.get
    counts = da.cooccurrence(xx, key_xx, 3, columns).toarray()
    assert counts.tolist() == [[0, 2], [2, 1], [1, 1]]  # mu: Vera twice, Zuri once
    # a concept whose own string is an anchor does not count it
    assert da.cooccurrence([["zuri", "vera"]], {"zuri": 0}.get, 1, columns).toarray().tolist() == [[1, 0]]
    en_vecs, xx_vecs = da.ppmi(da.cooccurrence(en, key_en, 3, columns)), da.ppmi(counts)
    # three occurs with both anchors as often as chance: no positive PMI, a zero vector (no candidate)
    assert np.allclose(np.linalg.norm(en_vecs, axis=1), [1, 1, 0])
    out = da.retrieve(en_vecs, xx_vecs, np.array([0, 1]), topic_of=np.array([0, 1, -1]))
    assert out["words"] == 2 and out["p1"] == 1.0 and out["p1_chance"] == 1 / 2
    assert out["same_topic"] == 1.0 and out["same_topic_chance"] == 1 / 2
    swapped = da.retrieve(en_vecs[[1, 0, 2]], xx_vecs, np.array([0, 1]), topic_of=np.array([0, 1, -1]))
    assert swapped["p1"] == 0.0 and swapped["same_topic"] == 0.0
    from scipy import sparse
    assert not da.ppmi(sparse.csr_matrix((2, 2))).any()  # no counts: zero vectors, no NaN


# --- benchmarks/scheduler_overhead.py ------------------------------------------------------

def test_scheduler_overhead_finds_the_benchmark_lines_it_removes_in_the_rule_files():
    m = _script("scheduler_overhead")
    root = BENCHMARKS.parent
    for name, lines in m.BENCHMARK_LINES.items():
        assert (root / name).read_text().count(lines) == 1, name


def test_scheduler_overhead_restores_the_rule_files_when_snakemake_fails(tmp_path):
    """The nobench variant edits the run's rule files; a failed run must leave them as they were."""
    m = _script("scheduler_overhead")
    root = BENCHMARKS.parent
    for name in m.BENCHMARK_LINES:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text((root / name).read_text())
    with pytest.raises(SystemExit):  # no Snakefile here: Snakemake fails at once
        m.run_variant(tmp_path, "nobench")
    for name in m.BENCHMARK_LINES:
        assert (tmp_path / name).read_text() == (root / name).read_text()
