"""The first stages (sampled, and BM25 with translated queries) share one query sample; systems
re-rank the union of the lists."""

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from optical import io
from optical.data.candidates import make_candidates


def _collection(tmp_path):
    docs = {"d1": "simba mkubwa porini", "d2": "simba na tembo", "d3": "mvua kubwa leo", "d4": "tembo porini",
            "d5": "chakula kitamu", "d6": "simba simba simba"}
    pq.write_table(pa.table({"doc_id": list(docs), "title": [""] * 6, "text": list(docs.values())}),
                   tmp_path / "docs.parquet")
    pq.write_table(pa.table({"query_id": ["q1", "q2", "q3"], "text": ["the lion", "rain", "elephant"]}),
                   tmp_path / "q.parquet")
    pq.write_table(pa.table({"query_id": ["q1", "q2", "q3"], "doc_id": ["d1", "d3", "d4"], "relevance": [2, 2, 2]}),
                   tmp_path / "qrels.parquet")
    return [str(tmp_path / f) for f in ("docs.parquet", "q.parquet", "qrels.parquet")]


def _out(tmp_path, lists):
    return {**{name: str(tmp_path / f"{name}.run") for name in lists}, "union": str(tmp_path / "union.run"),
            "qrels": str(tmp_path / "c.qrels")}


def test_bm25_first_stage_is_the_bm25_top_depth_over_the_collection(tmp_path):
    import bm25s
    from optical.evaluate.bm25 import tokenize
    paths = _collection(tmp_path)
    translated = {"q1": "simba", "q2": "mvua kubwa", "q3": ""}  # q3 has no translation: not eligible
    stats = make_candidates(*paths, _out(tmp_path, ["bm25_translated"]), 10, 3, 0, ["bm25_translated"],
                            translated={"bm25_translated": translated}, bm25={"k1": 0.9, "b": 0.4})
    run = io.read_trec_run(tmp_path / "bm25_translated.run")
    assert sorted(run) == ["q1", "q2"] and stats["queries"] == 2
    assert all(len(c) == 3 for c in run.values())
    # the same scores as scoring every document with bm25s directly
    texts = [" simba mkubwa porini", " simba na tembo", " mvua kubwa leo", " tembo porini", " chakula kitamu",
             " simba simba simba"]
    index = bm25s.BM25(k1=0.9, b=0.4, method="lucene")
    index.index(tokenize(texts), show_progress=False)
    scores = index.get_scores(tokenize(["simba"])[0])
    top = sorted(range(6), key=lambda i: -scores[i])[:3]
    assert run["q1"] == {f"d{i + 1}": round(float(scores[i]), 6) for i in top}
    assert set(run["q1"]) == {"d1", "d2", "d6"}  # only documents containing the query term rank
    assert io.read_trec_qrels(tmp_path / "c.qrels") == {"q1": {"d1": 2}, "q2": {"d3": 2}}
    assert stats["queries_with_a_relevant_candidate"] == {"bm25_translated": 2}


def test_sampled_first_stage_keeps_every_relevant_document(tmp_path):
    paths = _collection(tmp_path)
    make_candidates(*paths, _out(tmp_path, ["sampled"]), 10, 4, 0, ["sampled"])
    run = io.read_trec_run(tmp_path / "sampled.run")
    assert sorted(run) == ["q1", "q2", "q3"]
    assert all(len(c) == 4 for c in run.values())
    assert "d1" in run["q1"] and "d3" in run["q2"] and "d4" in run["q3"]


def test_lists_share_one_query_sample_and_the_union_holds_every_candidate(tmp_path):
    paths = _collection(tmp_path)
    nmt = {"q1": "simba", "q2": "", "q3": "tembo"}  # an empty NMT output keeps its query (BM25 ranks by id)
    make_candidates(*paths, _out(tmp_path, ["sampled", "bm25_nmt"]), 10, 2, 0, ["sampled", "bm25_nmt"],
                    translated={"bm25_nmt": nmt}, bm25={"k1": 0.9, "b": 0.4})
    sampled, bm25 = io.read_trec_run(tmp_path / "sampled.run"), io.read_trec_run(tmp_path / "bm25_nmt.run")
    union = io.read_trec_run(tmp_path / "union.run")
    assert sorted(sampled) == sorted(bm25) == sorted(union) == ["q1", "q2", "q3"]
    for q in union:
        assert set(union[q]) == set(sampled[q]) | set(bm25[q])
    # the sampled list does not depend on which other lists are built
    (tmp_path / "alone").mkdir()
    make_candidates(*paths, _out(tmp_path / "alone", ["sampled"]), 10, 2, 0, ["sampled"])
    assert io.read_trec_run(tmp_path / "alone" / "sampled.run") == sampled


def test_unknown_first_stage_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="unknown first stage"):
        make_candidates(*_collection(tmp_path), _out(tmp_path, ["bm42"]), 10, 2, 0, ["bm42"])
