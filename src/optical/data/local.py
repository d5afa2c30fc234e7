"""Your own collection: evaluate every system on a test collection of your own, per language.

Set ``languages.<code>.collection`` to three files (paths relative to the working directory):

- ``queries``: TSV, one English query per line, ``query_id<TAB>text``;
- ``documents``: TSV ``doc_id<TAB>title<TAB>text`` (or ``doc_id<TAB>text``), or JSON Lines (``.jsonl``)
  with ``doc_id`` (or ``id``), ``text`` and an optional ``title`` per line;
- ``qrels``: TREC qrels, ``query_id 0 doc_id grade``.

Optional translations use the keys every language has (``query_translations``, ``doc_translations``,
in WikiCLIR's layouts). The files become the same ``docs/queries/qrels.parquet`` that WikiCLIR
exports, so everything downstream is unchanged. Every file is checked before anything is written: a
malformed line is an error naming the file, the line and the fix, and no output is left behind.
"""

from __future__ import annotations

import json
from pathlib import Path

from optical import io
from optical.errors import InputError

LAYOUT = "docs/configuration.md#your-own-collection"


def _lines(path: str | Path, what: str):
    path = Path(path)
    if not path.exists():
        raise InputError(path, f"{what} file does not exist", f"fix languages.<code>.collection ({LAYOUT})")
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, start=1):
            line = line.rstrip("\n").rstrip("\r")
            if line.strip():
                yield lineno, line


def _add(seen: dict, path, lineno: int, key: str, value, what: str) -> None:
    if not key.strip():
        raise InputError(path, f"line {lineno}: empty {what} id", "give every line an id")
    if key in seen:
        raise InputError(path, f"line {lineno}: duplicate {what} id {key!r}", f"make every {what} id unique")
    seen[key] = value


def read_queries(path: str | Path) -> dict[str, str]:
    """query_id -> text of a ``query_id<TAB>text`` file."""
    out: dict[str, str] = {}
    for lineno, line in _lines(path, "queries"):
        parts = line.split("\t")
        if len(parts) != 2:
            raise InputError(path, f"line {lineno}: expected 'query_id<TAB>text', got {len(parts)} fields",
                             f"one query per line ({LAYOUT})")
        _add(out, path, lineno, parts[0], parts[1], "query")
    if not out:
        raise InputError(path, "has no queries", "supply at least one query")
    return out


def _document_from_json(path, lineno: int, line: str) -> tuple[str, str, str]:
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as e:
        raise InputError(path, f"line {lineno}: not JSON ({e.msg})", "one JSON object per line") from e
    doc_id = obj.get("doc_id", obj.get("id")) if isinstance(obj, dict) else None
    if doc_id is None or not isinstance(obj.get("text"), str):
        raise InputError(path, f"line {lineno}: needs 'doc_id' (or 'id') and a string 'text'",
                         f"fix the line ({LAYOUT})")
    return str(doc_id), str(obj.get("title") or ""), obj["text"]


def _document_from_tsv(path, lineno: int, line: str) -> tuple[str, str, str]:
    parts = line.split("\t")
    if len(parts) == 2:
        return parts[0], "", parts[1]
    if len(parts) == 3:
        return parts[0], parts[1], parts[2]
    raise InputError(path, f"line {lineno}: expected 'doc_id<TAB>title<TAB>text' or 'doc_id<TAB>text', got "
                     f"{len(parts)} fields", f"fix the line ({LAYOUT})")


def read_documents(path: str | Path) -> dict[str, tuple[str, str]]:
    """doc_id -> (title, text) of a TSV or JSON Lines document file."""
    parse = _document_from_json if str(path).endswith((".jsonl", ".json")) else _document_from_tsv
    out: dict[str, tuple[str, str]] = {}
    for lineno, line in _lines(path, "documents"):
        doc_id, title, text = parse(path, lineno, line)
        _add(out, path, lineno, doc_id, (title, text), "document")
    if not out:
        raise InputError(path, "has no documents", "supply at least one document")
    return out


def check_qrels(path, qrels: dict, queries: dict, documents: dict) -> None:
    """Every judgement names a known query and document."""
    for q, judged in qrels.items():
        if q not in queries:
            raise InputError(path, f"query {q!r} is not in the queries file", "judge only queries you supply")
        unknown = [d for d in judged if d not in documents]
        if unknown:
            raise InputError(path, f"query {q}: document {unknown[0]!r} is not in the documents file "
                             f"({len(unknown)} unknown)", "judge only documents you supply")


def export_local_collection(queries_path: str, documents_path: str, qrels_path: str, out_dir: str | Path) -> dict:
    """Check the three files, then write ``docs/queries/qrels.parquet`` under ``out_dir``."""
    queries, documents = read_queries(queries_path), read_documents(documents_path)
    qrels = io.read_trec_qrels(qrels_path)
    check_qrels(qrels_path, qrels, queries, documents)
    out = Path(out_dir)
    io.write_parquet(out / "docs.parquet", {"doc_id": list(documents), "title": [t for t, _ in documents.values()],
                                            "text": [x for _, x in documents.values()]})
    io.write_parquet(out / "queries.parquet", {"query_id": list(queries), "text": list(queries.values())})
    rows = [(q, d, g) for q in qrels for d, g in qrels[q].items()]
    io.write_parquet(out / "qrels.parquet", {"query_id": [q for q, _, _ in rows], "doc_id": [d for _, d, _ in rows],
                                             "relevance": [g for _, _, g in rows]})
    return {"documents": len(documents), "queries": len(queries), "qrels": len(rows)}
