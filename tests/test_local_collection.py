"""Your own collection: queries TSV, documents TSV or JSON Lines, TREC qrels become the pipeline's
Parquet; a malformed file is an error naming the file, the line and the fix, and nothing is written."""

import json

import pyarrow.parquet as pq
import pytest

from optical.data.local import export_local_collection
from optical.errors import InputError

QUERIES = "q1\twhere do lions live\nq2\train in the valley\n"
DOCS_TSV = "d1\tLions\tsimba wanaishi porini\nd2\tMvua\tmvua kubwa bondeni\nd3\tChakula\tchakula kitamu\n"
QRELS = "q1 0 d1 2\nq1 0 d3 0\nq2 0 d2 1\n"


def _files(tmp_path, queries=QUERIES, documents=DOCS_TSV, qrels=QRELS, doc_name="docs.tsv"):
    for name, text in (("queries.tsv", queries), (doc_name, documents), ("qrels.txt", qrels)):
        (tmp_path / name).write_text(text, encoding="utf-8")
    return str(tmp_path / "queries.tsv"), str(tmp_path / doc_name), str(tmp_path / "qrels.txt")


def test_tsv_collection_becomes_the_pipelines_parquet(tmp_path):
    stats = export_local_collection(*_files(tmp_path), tmp_path / "out")
    assert stats == {"documents": 3, "queries": 2, "qrels": 3}
    docs = pq.read_table(tmp_path / "out" / "docs.parquet").to_pylist()
    assert docs[0] == {"doc_id": "d1", "title": "Lions", "text": "simba wanaishi porini"}
    queries = pq.read_table(tmp_path / "out" / "queries.parquet").to_pylist()
    assert queries == [{"query_id": "q1", "text": "where do lions live"}, {"query_id": "q2", "text": "rain in the valley"}]
    qrels = pq.read_table(tmp_path / "out" / "qrels.parquet").to_pylist()
    assert {(r["query_id"], r["doc_id"], r["relevance"]) for r in qrels} == {("q1", "d1", 2), ("q1", "d3", 0),
                                                                              ("q2", "d2", 1)}


def test_json_lines_documents_and_two_column_tsv(tmp_path):
    lines = [{"doc_id": "d1", "title": "Lions", "text": "simba"}, {"id": "d2", "text": "mvua"}, {"id": 3, "text": "x"}]
    paths = _files(tmp_path, documents="\n".join(json.dumps(x) for x in lines) + "\n", doc_name="docs.jsonl",
                   qrels="q1 0 d1 2\nq2 0 d2 1\n")
    export_local_collection(*paths, tmp_path / "out")
    docs = pq.read_table(tmp_path / "out" / "docs.parquet").to_pylist()
    assert docs == [{"doc_id": "d1", "title": "Lions", "text": "simba"}, {"doc_id": "d2", "title": "", "text": "mvua"},
                    {"doc_id": "3", "title": "", "text": "x"}]
    (tmp_path / "two").mkdir()
    paths = _files(tmp_path / "two", documents="d1\tsimba\nd2\tmvua\n", qrels="q1 0 d1 2\n")
    export_local_collection(*paths, tmp_path / "out2")
    assert pq.read_table(tmp_path / "out2" / "docs.parquet").column("title").to_pylist() == ["", ""]


CASES = [
    ("query line without a tab", {"queries": "q1 where do lions live\n"}, "queries.tsv",
     "line 1: expected 'query_id<TAB>text'"),
    ("duplicate query id", {"queries": QUERIES + "q1\tagain\n"}, "queries.tsv", "line 3: duplicate query id 'q1'"),
    ("empty queries file", {"queries": "\n\n"}, "queries.tsv", "has no queries"),
    ("document line with four fields", {"documents": "d1\ta\tb\tc\n"}, "docs.tsv",
     "line 1: expected 'doc_id<TAB>title<TAB>text' or 'doc_id<TAB>text', got 4 fields"),
    ("duplicate document id", {"documents": DOCS_TSV + "d2\tx\ty\n"}, "docs.tsv", "line 4: duplicate document id 'd2'"),
    ("empty document id", {"documents": "\ttitle\ttext\n"}, "docs.tsv", "line 1: empty document id"),
    ("JSON Lines that are not JSON", {"documents": '{"doc_id": "d1", "text": "a"}\n{oops\n', "doc_name": "docs.jsonl"},
     "docs.jsonl", "line 2: not JSON"),
    ("JSON Lines without text", {"documents": '{"doc_id": "d1", "title": "a"}\n', "doc_name": "docs.jsonl"},
     "docs.jsonl", "line 1: needs 'doc_id' (or 'id') and a string 'text'"),
    ("qrels naming an unknown document", {"qrels": "q1 0 d9 1\n"}, "qrels.txt", "document 'd9' is not in the documents"),
    ("qrels naming an unknown query", {"qrels": "q7 0 d1 1\n"}, "qrels.txt", "query 'q7' is not in the queries"),
    ("qrels with a non-integer grade", {"qrels": "q1 0 d1 high\n"}, "qrels.txt", "line 1: grade 'high' is not"),
]


@pytest.mark.parametrize("case,edits,file,message", CASES, ids=[c[0] for c in CASES])
def test_malformed_collection_names_file_line_and_fix_and_writes_nothing(tmp_path, case, edits, file, message):
    paths = _files(tmp_path, **edits)
    with pytest.raises(InputError) as err:
        export_local_collection(*paths, tmp_path / "out")
    assert file in str(err.value) and message in str(err.value), str(err.value)
    assert "fix:" in str(err.value)
    assert not (tmp_path / "out").exists()


def test_missing_file_names_the_config_key(tmp_path):
    paths = list(_files(tmp_path))
    paths[1] = str(tmp_path / "nowhere.tsv")
    with pytest.raises(InputError, match=r"nowhere\.tsv: documents file does not exist.*languages.<code>.collection"):
        export_local_collection(*paths, tmp_path / "out")
