"""WikiCLIR through ``ir_datasets``: the same loader for the synthetic world and the real data.

``ir_datasets`` resolves its home directory once, at import, so :func:`export_collection`
sets ``IR_DATASETS_HOME`` before importing it and refuses to run in a process that already
imported it with another home (run it in a fresh process, as Snakemake jobs are).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from optical import io
from optical.errors import InputError, OpticalError

# WikiCLIR language code -> directory name in the source archive (from ir_datasets' wikiclir.py).
WIKICLIR_DIRS = {
    "ar": "arabic", "ca": "catalan", "zh": "chinese", "cs": "czech", "nl": "dutch", "fi": "finnish",
    "fr": "french", "de": "german", "it": "italian", "ja": "japanese", "ko": "korean",
    "no": "norwegian_(bokmal)", "nn": "norwegian_(nynorsk)", "pl": "polish", "pt": "portuguese",
    "ro": "romanian", "ru": "russian", "es": "spanish", "sw": "swahili", "sv": "swedish",
    "tl": "tagalog", "tr": "turkish", "uk": "ukrainian", "vi": "vietnamese",
}
QUERY_FIELDS = ("first_sent", "title", "title_first_sent")


def source_files(home: str | Path, lang: str) -> dict[str, Path]:
    """The files of the WikiCLIR source tree that ``wikiclir/<lang>`` reads."""
    if lang not in WIKICLIR_DIRS:
        raise OpticalError(f"'{lang}' is not a WikiCLIR language; known: {sorted(WIKICLIR_DIRS)}")
    base = Path(home) / "wikiclir" / "source" / "wiki-clir"
    d = base / WIKICLIR_DIRS[lang]
    return {"queries": base / "english" / "wiki_en.queries",
            "documents": d / f"wiki_{lang}.documents",
            "qrels": d / f"en2{lang}.rel"}


def _import_ir_datasets(home: Path):
    home = home.resolve()
    if "ir_datasets" in sys.modules:
        import ir_datasets
        current = ir_datasets.util.home_path().resolve()
        if current != home:
            raise OpticalError(f"ir_datasets was already imported with IR_DATASETS_HOME={current}; "
                               f"loading from {home} needs a fresh process")
        return ir_datasets
    os.environ["IR_DATASETS_HOME"] = str(home)
    os.environ.setdefault("IR_DATASETS_DL_DISABLE_PBAR", "true")
    import ir_datasets
    return ir_datasets


def query_text(q, field: str) -> str:
    if field == "title":
        return q.title
    if field == "first_sent":
        return q.first_sent
    return f"{q.title} {q.first_sent}"


def export_collection(home: str | Path, lang: str, query_field: str, out_dir: str | Path) -> dict:
    """Load ``wikiclir/<lang>`` with ir_datasets and write docs/queries/qrels Parquet files."""
    if query_field not in QUERY_FIELDS:
        raise OpticalError(f"query field '{query_field}' unknown; allowed: {QUERY_FIELDS}")
    home = Path(home)
    for kind, path in source_files(home, lang).items():
        if not path.exists():
            raise InputError(path, f"WikiCLIR {kind} file is missing",
                             "run the make_world / download rule, or point data.ir_datasets_home at a complete tree")
    irds = _import_ir_datasets(home)
    ds = irds.load(f"wikiclir/{lang}")
    files = source_files(home, lang)

    doc_ids, titles, texts = [], [], []
    for d in ds.docs_iter():
        doc_ids.append(d.doc_id)
        titles.append(d.title)
        texts.append(d.text)
    io.require_unique(files["documents"], "doc_id", doc_ids)
    qrels = [(q.query_id, q.doc_id, int(q.relevance)) for q in ds.qrels_iter()]
    query_ids, qtexts = [], []
    for q in ds.queries_iter():
        query_ids.append(q.query_id)
        qtexts.append(query_text(q, query_field))
    io.require_unique(files["queries"], "query_id", query_ids)
    if not doc_ids or not query_ids or not qrels:
        raise InputError(files["documents"], f"wikiclir/{lang} has {len(doc_ids)} documents, "
                         f"{len(query_ids)} queries and {len(qrels)} qrels; all must be non-empty",
                         "check the source tree")
    known_docs, known_q = set(doc_ids), set(query_ids)
    for row, (qid, did, _) in enumerate(qrels):
        if did not in known_docs:
            raise InputError(files["qrels"], f"row {row}: document {did!r} (query {qid}) is not in "
                             f"{files['documents'].name}", "use qrels that match the documents file")
        if qid not in known_q:
            raise InputError(files["qrels"], f"row {row}: query {qid!r} is not in {files['queries'].name}",
                             "use qrels that match the queries file")
    empty = [qid for qid, t in zip(query_ids, qtexts) if not t.strip()]
    out = Path(out_dir)
    io.write_parquet(out / "docs.parquet", {"doc_id": doc_ids, "title": titles, "text": texts})
    io.write_parquet(out / "queries.parquet",
                     {"query_id": query_ids, "text": [t if t.strip() else "" for t in qtexts]})
    io.write_parquet(out / "qrels.parquet", {"query_id": [q for q, _, _ in qrels],
                                             "doc_id": [d for _, d, _ in qrels],
                                             "relevance": [g for _, _, g in qrels]})
    return {"documents": len(doc_ids), "queries": len(query_ids), "qrels": len(qrels),
            "empty_queries": len(empty)}


def read_translations(path: str | Path) -> dict[str, str]:
    """Gold (or NMT) English translations of documents: ``doc_id<TAB>title<TAB>text`` per line."""
    path = Path(path)
    if not path.exists():
        raise InputError(path, "translation file does not exist", "supply translated documents")
    out = {}
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, start=1):
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 3:
                raise InputError(path, f"line {lineno}: expected 'doc_id<TAB>title<TAB>text'", "fix the file")
            out[parts[0]] = f"{parts[1]} {parts[2]}"
    return out
