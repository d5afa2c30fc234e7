import subprocess
import sys
import textwrap

import pyarrow.parquet as pq
import pytest

from optical.errors import InputError
from optical.data.synthetic import WorldSpec, write_world
from optical.data.wikiclir import export_collection, source_files


def _run_in_fresh_process(code: str) -> str:
    # ir_datasets fixes its home directory at import, so each load runs in its own interpreter
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_ir_datasets_loads_the_generated_tree_offline(tmp_path, small_world):
    write_world(WorldSpec.from_config(small_world), tmp_path)
    home = tmp_path / "ir_datasets"
    out = _run_in_fresh_process(f"""
        import os
        os.environ["IR_DATASETS_HOME"] = {str(home)!r}
        import ir_datasets
        ds = ir_datasets.load("wikiclir/sw")
        docs = list(ds.docs_iter()); qs = list(ds.queries_iter()); qrels = list(ds.qrels_iter())
        print(len(docs), len(qs), len(qrels), type(docs[0]).__name__, type(qs[0]).__name__)
        print(ds.docs_store().get(docs[0].doc_id).title == docs[0].title)
    """)
    n_docs, n_q, n_rel, doc_cls, q_cls = out.split()[:5]
    files = source_files(home, "sw")
    assert int(n_docs) == len(files["documents"].read_text().splitlines())
    assert int(n_rel) == len(files["qrels"].read_text().splitlines())
    assert int(n_q) == int(n_docs)  # ir_datasets keeps only queries with qrels in the language
    assert (doc_cls, q_cls) == ("WikiClirDoc", "WikiClirQuery")
    assert out.split()[-1] == "True"


def test_export_collection_writes_parquet(tmp_path, small_world):
    write_world(WorldSpec.from_config(small_world), tmp_path)
    _run_in_fresh_process(f"""
        from optical.data.wikiclir import export_collection
        export_collection({str(tmp_path / 'ir_datasets')!r}, "tl", "first_sent", {str(tmp_path / 'out')!r})
    """)
    docs = pq.read_table(tmp_path / "out" / "docs.parquet")
    qrels = pq.read_table(tmp_path / "out" / "qrels.parquet")
    assert docs.column_names == ["doc_id", "title", "text"]
    assert set(qrels.column("doc_id").to_pylist()) <= set(docs.column("doc_id").to_pylist())
    assert set(qrels.column("relevance").to_pylist()) == {1, 2}


def test_qrels_naming_a_missing_document_is_an_error(tmp_path, small_world):
    write_world(WorldSpec.from_config(small_world), tmp_path)
    rel = source_files(tmp_path / "ir_datasets", "sw")["qrels"]
    qid = rel.read_text().split()[0]
    rel.write_text(rel.read_text() + f"{qid} 424242 1\n")
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(f"""
        from optical.data.wikiclir import export_collection
        export_collection({str(tmp_path / 'ir_datasets')!r}, "sw", "first_sent", {str(tmp_path / 'out')!r})
    """)], capture_output=True, text=True)
    assert out.returncode != 0
    assert "en2sw.rel" in out.stderr and "'424242'" in out.stderr and "not in wiki_sw.documents" in out.stderr
    assert not (tmp_path / "out" / "docs.parquet").exists()


def test_missing_source_file_is_named(tmp_path):
    with pytest.raises(InputError, match="wiki_en.queries.*missing"):
        export_collection(tmp_path, "sw", "first_sent", tmp_path / "out")


def test_unknown_language_is_rejected(tmp_path):
    with pytest.raises(Exception, match="'xx' is not a WikiCLIR language"):
        source_files(tmp_path, "xx")


def test_duplicate_document_id_is_an_error(tmp_path, small_world):
    write_world(WorldSpec.from_config(small_world), tmp_path)
    docs = source_files(tmp_path / "ir_datasets", "tl")["documents"]
    first = docs.read_text().splitlines()[0]
    docs.write_text(docs.read_text() + first + "\n")
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(f"""
        from optical.data.wikiclir import export_collection
        export_collection({str(tmp_path / 'ir_datasets')!r}, "tl", "first_sent", {str(tmp_path / 'out')!r})
    """)], capture_output=True, text=True)
    assert out.returncode != 0
    assert "wiki_tl.documents" in out.stderr and f"duplicate doc_id {first.split(chr(9))[0]!r}" in out.stderr
    assert not (tmp_path / "out").exists()
