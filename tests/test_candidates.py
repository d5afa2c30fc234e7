"""The two first stages: sampled (judged relevant + random) and BM25 with translated queries."""

import pyarrow as pa
import pyarrow.parquet as pq

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


def test_bm25_first_stage_is_the_bm25_top_depth_over_the_collection(tmp_path):
    import bm25s
    from optical.evaluate.bm25 import tokenize
    paths = _collection(tmp_path)
    translated = {"q1": "simba", "q2": "mvua kubwa", "q3": ""}  # q3 has no translation: not eligible
    stats = make_candidates(*paths, str(tmp_path / "c.run"), str(tmp_path / "c.qrels"), 10, 3, 0,
                            first_stage="bm25_translated", translated_queries=translated, bm25={"k1": 0.9, "b": 0.4})
    run = io.read_trec_run(tmp_path / "c.run")
    assert sorted(run) == ["q1", "q2"] and stats["eligible_queries"] == 2
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
    assert stats["queries_with_a_relevant_candidate"] == 2


def test_sampled_first_stage_keeps_every_relevant_document(tmp_path):
    paths = _collection(tmp_path)
    make_candidates(*paths, str(tmp_path / "c.run"), str(tmp_path / "c.qrels"), 10, 4, 0)
    run = io.read_trec_run(tmp_path / "c.run")
    assert sorted(run) == ["q1", "q2", "q3"]
    assert all(len(c) == 4 for c in run.values())
    assert "d1" in run["q1"] and "d3" in run["q2"] and "d4" in run["q3"]
