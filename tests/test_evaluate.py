import math

import pytest

from optical import io
from optical.errors import InputError
from optical.evaluate.metrics import evaluate_lists, evaluate_run

MEASURES = ["AP", "nDCG@10", "RR@10", "R@100"]


def _write(tmp_path, qrels, run):
    io.write_trec_qrels(tmp_path / "q.qrels", qrels)
    io.write_trec_run(tmp_path / "r.run", run, "test")
    return str(tmp_path / "q.qrels"), str(tmp_path / "r.run")


def _by_measure(rows, qid):
    return {r["measure"]: r["value"] for r in rows if r["query_id"] == qid}


def test_metrics_match_hand_computed_values(tmp_path):
    # q1: the grade-2 mate d1 is ranked 2nd, the grade-1 d2 3rd, behind a non-relevant d3.
    # q2: its only relevant document d5 is ranked 1st.
    qrels = {"q1": {"d1": 2, "d2": 1, "d4": 0}, "q2": {"d5": 1}}
    run = {"q1": {"d3": 3.0, "d1": 2.0, "d2": 1.0, "d4": 0.5}, "q2": {"d5": 9.0, "d6": 1.0}}
    q, r = _write(tmp_path, qrels, run)
    rows = evaluate_run(q, r, MEASURES, threshold=1)
    m1 = _by_measure(rows, "q1")
    assert m1["AP"] == pytest.approx((1 / 2 + 2 / 3) / 2)
    assert m1["RR@10"] == pytest.approx(0.5)
    assert m1["R@100"] == pytest.approx(1.0)
    dcg = 2 / math.log2(3) + 1 / math.log2(4)
    idcg = 2 / math.log2(2) + 1 / math.log2(3)
    assert m1["nDCG@10"] == pytest.approx(dcg / idcg)
    assert _by_measure(rows, "q2") == {"AP": 1.0, "nDCG@10": 1.0, "RR@10": 1.0, "R@100": 1.0}


def test_threshold_two_counts_only_the_mate(tmp_path):
    qrels = {"q1": {"d1": 2, "d2": 1}}
    run = {"q1": {"d2": 3.0, "d1": 2.0}}
    q, r = _write(tmp_path, qrels, run)
    m = _by_measure(evaluate_run(q, r, ["AP", "RR@10"], threshold=2), "q1")
    assert m == {"AP": pytest.approx(0.5), "RR@10": pytest.approx(0.5)}
    m1 = _by_measure(evaluate_run(q, r, ["AP", "RR@10"], threshold=1), "q1")
    assert m1 == {"AP": pytest.approx(1.0), "RR@10": pytest.approx(1.0)}


def test_run_missing_a_test_query_is_an_error(tmp_path):
    q, r = _write(tmp_path, {"q1": {"d1": 1}, "q2": {"d2": 1}}, {"q1": {"d1": 1.0}})
    with pytest.raises(InputError, match=r"r\.run.*no results for 1 test queries.*q2"):
        evaluate_run(q, r, MEASURES, 1)


def test_a_run_is_evaluated_on_each_candidate_list_restricted_to_its_documents(tmp_path):
    qrels = {"q1": {"d1": 1}}
    union = {"q1": {"d1": 1.0, "d2": 5.0, "d3": 3.0}}  # the system's scores over the union
    q, r = _write(tmp_path, qrels, union)
    io.write_trec_run(tmp_path / "a.run", {"q1": {"d1": 0.0, "d2": 1.0}}, "a")   # d1 ranks 2nd among these
    io.write_trec_run(tmp_path / "b.run", {"q1": {"d1": 2.0, "d3": 1.0}}, "b")   # and 2nd here too
    lists = {"a": str(tmp_path / "a.run"), "b": str(tmp_path / "b.run")}
    rows = evaluate_lists(r, lists, q, ["RR@10"], 1)
    assert {(x["candidates"], x["value"]) for x in rows} == {("a", 0.5), ("b", 0.5)}
    # without a run, each list is evaluated in its own order (the candidate-order reference)
    rows = evaluate_lists(None, lists, q, ["RR@10"], 1)
    assert {(x["candidates"], x["value"]) for x in rows} == {("a", 0.5), ("b", 1.0)}


def test_a_run_missing_a_listed_candidate_is_an_error(tmp_path):
    q, r = _write(tmp_path, {"q1": {"d1": 1}}, {"q1": {"d1": 1.0}})
    io.write_trec_run(tmp_path / "a.run", {"q1": {"d1": 0.0, "d9": 1.0}}, "a")
    with pytest.raises(InputError, match=r"r\.run: query q1: no score for candidate 'd9'"):
        evaluate_lists(r, {"a": str(tmp_path / "a.run")}, q, ["RR@10"], 1)


def test_trec_run_roundtrip_orders_by_score(tmp_path):
    io.write_trec_run(tmp_path / "x.run", {"q": {"a": 1.0, "b": 3.0, "c": 2.0}}, "t")
    lines = (tmp_path / "x.run").read_text().splitlines()
    assert [l.split()[2] for l in lines] == ["b", "c", "a"]
    assert [l.split()[3] for l in lines] == ["1", "2", "3"]
    assert io.read_trec_run(tmp_path / "x.run") == {"q": {"a": 1.0, "b": 3.0, "c": 2.0}}


def test_malformed_run_line_names_the_line(tmp_path):
    (tmp_path / "bad.run").write_text("q1 Q0 d1 1 0.5 tag\nq1 Q0 d2 2\n")
    with pytest.raises(InputError, match=r"bad\.run: line 2: expected 6 columns"):
        io.read_trec_run(tmp_path / "bad.run")
