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


def read_json(path) -> dict:
    path = Path(path)
    if not path.exists():
        raise InputError(path, "file does not exist", "run the step that produces it")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise InputError(path, f"not valid JSON ({e})", "delete it and rerun the step that writes it")


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


def read_trec_run(path) -> Run:
    path = Path(path)
    if not path.exists():
        raise InputError(path, "run file does not exist", "run the step that produces it")
    run: Run = {}
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, start=1):
            parts = line.split()
            if not parts:
                continue
            if len(parts) != 6:
                raise InputError(path, f"line {lineno}: expected 6 columns 'qid Q0 docid rank score tag', "
                                       f"got {len(parts)}", "regenerate the run file")
            qid, _, docid, _, score, _ = parts
            try:
                run.setdefault(qid, {})[docid] = float(score)
            except ValueError:
                raise InputError(path, f"line {lineno}: score {score!r} is not a number", "regenerate the run file")
    if not run:
        raise InputError(path, "run file is empty", "regenerate the run file")
    return run


def write_trec_qrels(path, qrels: Qrels) -> None:
    write_lines(path, (f"{q} 0 {d} {g}" for q in sorted(qrels) for d, g in sorted(qrels[q].items())))


def read_trec_qrels(path) -> Qrels:
    path = Path(path)
    if not path.exists():
        raise InputError(path, "qrels file does not exist", "run the step that produces it")
    qrels: Qrels = {}
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, start=1):
            parts = line.split()
            if not parts:
                continue
            if len(parts) not in (3, 4):
                raise InputError(path, f"line {lineno}: expected 'qid [iter] docid grade'", "fix the qrels file")
            qid, docid, grade = parts[0], parts[-2], parts[-1]
            try:
                qrels.setdefault(qid, {})[docid] = int(grade)
            except ValueError:
                raise InputError(path, f"line {lineno}: grade {grade!r} is not an integer", "fix the qrels file")
    if not qrels:
        raise InputError(path, "qrels file is empty", "check the collection")
    return qrels


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
