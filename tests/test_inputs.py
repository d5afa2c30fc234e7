"""Corrupt or inconsistent inputs: each gets an error naming the file and what is wrong,
and no output is written."""

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from optical import io
from optical.data.bitext import prepare_bitext, read_alignment, validate_bitext
from optical.data.candidates import make_candidates
from optical.errors import InputError
from optical.data.msmarco import export_triples


def _parquet(path, **cols):
    pq.write_table(pa.table(cols), path)
    return str(path)


def _bitext_case(tmp_path, src, tgt, pairs=1):
    prepare_bitext(_parquet(tmp_path / "bt.parquet", src=src, tgt=tgt), str(tmp_path / "out.parquet"), pairs, 0)


def _truncated(tmp_path):
    good = _parquet(tmp_path / "bt.parquet", src=["a b"] * 50, tgt=["x y"] * 50)
    data = open(good, "rb").read()
    open(good, "wb").write(data[: len(data) // 2])
    prepare_bitext(good, str(tmp_path / "out.parquet"), 10, 0)


def _msmarco(tmp_path, collection, queries, triples):
    for name, text in (("c.tsv", collection), ("q.tsv", queries), ("t.tsv", triples)):
        (tmp_path / name).write_text(text)
    export_triples(str(tmp_path / "c.tsv"), str(tmp_path / "q.tsv"), str(tmp_path / "t.tsv"),
                   str(tmp_path / "out.parquet"), 0, 0)


def _candidates(tmp_path, depth):
    docs = _parquet(tmp_path / "docs.parquet", doc_id=["d1", "d2"], title=["", ""], text=["a", "b"])
    qs = _parquet(tmp_path / "q.parquet", query_id=["q1"], text=["hello"])
    qrels = _parquet(tmp_path / "qrels.parquet", query_id=["q1"], doc_id=["d1"], relevance=[2])
    out = {"sampled": str(tmp_path / "out.run"), "union": str(tmp_path / "out.union"),
           "qrels": str(tmp_path / "out.qrels")}
    make_candidates(docs, qs, qrels, out, 5, depth, 0, ["sampled"])


def _bm25(tmp_path, queries_tsv, run_lines, docs=("d1", "d2")):
    from optical.evaluate.bm25 import bm25_rerank, read_translated_queries
    (tmp_path / "q.tsv").write_text(queries_tsv)
    (tmp_path / "cand.run").write_text(run_lines)
    queries = read_translated_queries(tmp_path / "q.tsv", "first_sent")
    bm25_rerank({d: "ka wa" for d in docs}, queries, str(tmp_path / "cand.run"), str(tmp_path / "out.run"), 0.9, 0.4)


def _mismatched_tokenizer(tmp_path):
    from transformers import BertModel
    from optical import models
    enc = {"hidden_size": 16, "num_layers": 1, "num_heads": 2, "intermediate_size": 32, "max_position_embeddings": 32}
    small = models.train_tokenizer(["ka ku wa mba", "the dog runs"] * 20, 40)
    big = models.train_tokenizer([f"w{i} x{i} y{i}" for i in range(400)], 400)
    bert = BertModel(models.build_mlm(len(small), enc).config, add_pooling_layer=False)
    models.ColBERT(bert, 8, 16, 24).save(tmp_path / "model", small)
    big.save_pretrained(tmp_path / "model")  # a tokenizer from another model
    models.ColBERT.load(tmp_path / "model")


CASES = [
    ("empty bitext", lambda t: _bitext_case(t, [], []), "bt.parquet", "has no rows"),
    ("one-sided bitext (empty target)", lambda t: _bitext_case(t, ["a", "b", "c"], ["x", "", "z"]), "bt.parquet",
     "row 1: tgt side is empty"),
    ("one-sided bitext (empty English)", lambda t: _bitext_case(t, ["a", " "], ["x", "y"]), "bt.parquet",
     "row 1: src (English) side is empty"),
    ("bitext without a tgt column", lambda t: prepare_bitext(_parquet(t / "bt.parquet", src=["a"]),
                                                             str(t / "out.parquet"), 1, 0), "bt.parquet",
     "missing column(s) ['tgt']"),
    ("more bitext asked than exists", lambda t: _bitext_case(t, ["a", "b"], ["x", "y"], pairs=5), "bt.parquet",
     "has 2 pairs but 5 were asked"),
    ("word alignment that does not match the words", lambda t: prepare_bitext(
        _parquet(t / "bt.parquet", src=["a b ."], tgt=["x ."], src_origin=[[0, 2]], tgt_origin=[[0, 1]]),
        str(t / "out.parquet"), 1, 0), "bt.parquet", "row 0: src_origin has 2 entries for 3 words"),
    ("gold alignment asked of bitext without one", lambda t: read_alignment(_parquet(t / "bt.parquet", src=["a"],
                                                                                      tgt=["x"])),
     "bt.parquet", "has no word alignment"),
    ("truncated Parquet", _truncated, "bt.parquet", "unreadable or truncated Parquet"),
    ("missing bitext file", lambda t: prepare_bitext(str(t / "bt.parquet"), str(t / "out.parquet"), 1, 0),
     "bt.parquet", "file does not exist"),
    ("triple naming an unknown passage", lambda t: _msmarco(t, "0\tp zero\n1\tp one\n", "7\tquery\n", "7 0 99\n"),
     "t.tsv", "line 1: passage id '99' is not defined"),
    ("duplicate passage id", lambda t: _msmarco(t, "0\tp zero\n0\tagain\n", "7\tquery\n", "7 0 0\n"),
     "c.tsv", "line 2: duplicate id '0'"),
    ("malformed queries file", lambda t: _msmarco(t, "0\tp\n", "7 query without tab\n", "7 0 0\n"),
     "q.tsv", "line 1: expected 2 tab-separated columns"),
    ("candidate depth beyond the collection", lambda t: _candidates(t, depth=10), "docs.parquet",
     "fewer than candidates.depth=10"),
    ("translated queries without a title column", lambda t: _bm25(t, "q1\tka wa\n", "q1 Q0 d1 1 1 c\n"), "q.tsv",
     "line 1: expected 'query_id<TAB>title<TAB>text'"),
    ("candidate query without a translation", lambda t: _bm25(t, "q1\tT\tka\n", "q2 Q0 d1 1 1 c\n"), "cand.run",
     "query 'q2' has no text in the translated queries"),
    ("candidate document without text", lambda t: _bm25(t, "q1\tT\tka\n", "q1 Q0 d9 1 1 c\n"), "cand.run",
     "document 'd9' has no text"),
    ("tokenizer that does not match the model", _mismatched_tokenizer, "model",
     "but the model's vocab_size is"),
]


@pytest.mark.parametrize("case,make,file,message", CASES, ids=[c[0] for c in CASES])
def test_corrupt_input_is_named(tmp_path, case, make, file, message):
    with pytest.raises(InputError) as err:
        make(tmp_path)
    assert file in str(err.value) and message in str(err.value), str(err.value)
    assert "fix:" in str(err.value)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(("out", ".out"))]


def test_the_bitext_sample_keeps_the_word_alignment(tmp_path):
    src = [f"a{i} b{i} ." for i in range(6)]
    tgt = [f"x{i} ." for i in range(6)]
    prepare_bitext(_parquet(tmp_path / "bt.parquet", src=src, tgt=tgt, src_origin=[[0, 1, 2]] * 6,
                            tgt_origin=[[1, 2]] * 6), str(tmp_path / "out.parquet"), 4, 0)
    out = io.read_parquet(tmp_path / "out.parquet")
    assert out.column_names == ["src", "tgt", "src_origin", "tgt_origin"] and out.num_rows == 4
    assert read_alignment(tmp_path / "out.parquet") == ([[0, 1, 2]] * 4, [[1, 2]] * 4)


def test_mismatched_bitext_sides():
    with pytest.raises(InputError, match="src has 3 rows but tgt has 2"):
        validate_bitext("x.parquet", ["a", "b", "c"], ["x", "y"])


def test_qrels_grade_must_be_an_integer(tmp_path):
    (tmp_path / "q.qrels").write_text("q1 0 d1 1\nq1 0 d2 high\n")
    with pytest.raises(InputError, match=r"q\.qrels: line 2: grade 'high' is not an integer"):
        io.read_trec_qrels(tmp_path / "q.qrels")


def test_atomic_write_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "out.txt"
    with pytest.raises(RuntimeError):
        with io.atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("killed")
    assert not target.exists() and list(tmp_path.iterdir()) == []


def test_atomic_dir_replaces_only_on_success(tmp_path):
    target = tmp_path / "model"
    with pytest.raises(RuntimeError):
        with io.atomic_dir(target) as tmp:
            (tmp / "weights").write_text("partial")
            raise RuntimeError("killed")
    assert not target.exists() and list(tmp_path.iterdir()) == []
    with io.atomic_dir(target) as tmp:
        (tmp / "weights").write_text("done")
    assert (target / "weights").read_text() == "done"
