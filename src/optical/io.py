"""File I/O with atomic writes and loud, specific errors.

Every artifact is written to a temporary sibling and renamed into place, so a killed job never
leaves a file that looks complete.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from optical.errors import InputError


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it onto ``path`` only on success."""
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.with_name(f".{final.name}.tmp-{os.getpid()}")
    try:
        yield tmp
        if not tmp.exists():
            raise RuntimeError(f"nothing was written to {tmp} for {final}")
        os.replace(tmp, final)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_text(path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_lines(path, lines: Iterable[str]) -> None:
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as f:
        for line in lines:
            f.write(line)
            f.write("\n")


def write_json(path, obj) -> None:
    write_text(path, json.dumps(obj, indent=2, sort_keys=True) + "\n")


def write_parquet(path, table: pa.Table | Mapping[str, list]) -> None:
    if not isinstance(table, pa.Table):
        table = pa.table(dict(table))
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp)


def read_parquet(path, columns: Iterable[str] = (), allow_empty: bool = False) -> pa.Table:
    """Read a Parquet file, checking that it parses, has ``columns`` and (unless allowed) rows."""
    path = Path(path)
    if not path.exists():
        raise InputError(path, "file does not exist", "run the step that produces it")
    try:
        table = pq.read_table(path)
    except (pa.ArrowInvalid, OSError) as e:
        raise InputError(path, f"unreadable or truncated Parquet ({e})",
                         "delete it and rerun the step that writes it")
    missing = [c for c in columns if c not in table.column_names]
    if missing:
        raise InputError(path, f"missing column(s) {missing}; has {table.column_names}",
                         "regenerate it with this version of the pipeline")
    if not allow_empty and table.num_rows == 0:
        raise InputError(path, "has no rows", "check the data that produced it")
    return table


def require_unique(path, name: str, values: list[str]) -> None:
    seen: set[str] = set()
    for row, v in enumerate(values):
        if v in seen:
            raise InputError(path, f"duplicate {name} {v!r} at row {row}", f"make every {name} unique")
        seen.add(v)


# --- TREC formats -------------------------------------------------------------------------

Run = dict[str, dict[str, float]]
Qrels = dict[str, dict[str, int]]


def write_trec_run(path, run: Run, tag: str) -> None:
    """Write a TREC run: ``qid Q0 docid rank score tag``, ranks by descending score (ties by docid)."""
    def lines():
        for qid in sorted(run):
            ranked = sorted(run[qid].items(), key=lambda kv: (-kv[1], kv[0]))
            for rank, (docid, score) in enumerate(ranked, start=1):
                yield f"{qid} Q0 {docid} {rank} {score:.6f} {tag}"
    write_lines(path, lines())


def _read_trec(path, kind: str, widths: tuple[int, ...], expected: str, cols: tuple[int, int, int],
               value_name: str, convert, fix: str) -> dict:
    """Parse a whitespace TREC file into {qid: {docid: value}}, taking qid, docid and value from
    the column positions ``cols``; every malformed line is reported with its number."""
    path = Path(path)
    if not path.exists():
        raise InputError(path, f"{kind} file does not exist", "run the step that produces it")
    out: dict = {}
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, start=1):
            parts = line.split()
            if not parts:
                continue
            if len(parts) not in widths:
                raise InputError(path, f"line {lineno}: expected {expected}, got {len(parts)} columns", fix)
            qid, docid, value = (parts[c] for c in cols)
            try:
                out.setdefault(qid, {})[docid] = convert(value)
            except ValueError:
                kind_of = "a number" if convert is float else "an integer"
                raise InputError(path, f"line {lineno}: {value_name} {value!r} is not {kind_of}", fix)
    if not out:
        raise InputError(path, f"{kind} file is empty", fix)
    return out


def read_trec_run(path) -> Run:
    return _read_trec(path, "run", (6,), "6 columns 'qid Q0 docid rank score tag'", (0, 2, 4), "score", float,
                      "regenerate the run file")


def write_trec_qrels(path, qrels: Qrels) -> None:
    write_lines(path, (f"{q} 0 {d} {g}" for q in sorted(qrels) for d, g in sorted(qrels[q].items())))


def read_trec_qrels(path) -> Qrels:
    return _read_trec(path, "qrels", (3, 4), "'qid [iter] docid grade'", (0, -2, -1), "grade", int,
                      "fix the qrels file")


@contextmanager
def atomic_dir(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary directory; it replaces ``path`` only when the block succeeds."""
    import shutil
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.with_name(f".{final.name}.tmp-{os.getpid()}")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    try:
        yield tmp
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)


def check_candidates(candidates_path, candidates: dict, query_text: Mapping, doc_text: Mapping,
                     query_source: str) -> None:
    """Every candidate query must have text in ``query_text`` and every candidate document in ``doc_text``."""
    for q, cands in candidates.items():
        if q not in query_text:
            raise InputError(candidates_path, f"query {q!r} has no text in {query_source}",
                             "rebuild the candidates, or supply text for every candidate query")
        missing = [d for d in cands if d not in doc_text]
        if missing:
            raise InputError(candidates_path, f"query {q}: document {missing[0]!r} has no text "
                             f"({len(missing)} missing)", "rebuild the candidates from the same collection")
