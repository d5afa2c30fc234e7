"""MS MARCO passage training triples -> Parquet (query, pos, neg) for the teacher.

Reads the official file layout: ``collection.tsv`` (pid, passage), ``queries.train.tsv``
(qid, query) and id triples ``qid pos_pid neg_pid`` (as in ``qidpidtriples.train.full.tsv``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from optical import io
from optical.errors import InputError


def _read_tsv_map(path: Path, what: str) -> dict[str, str]:
    if not path.exists():
        raise InputError(path, f"MS MARCO {what} file does not exist", "run make_world or supply the file")
    out: dict[str, str] = {}
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, start=1):
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 2:
                raise InputError(path, f"line {lineno}: expected 2 tab-separated columns, got {len(parts)}",
                                 "fix the file")
            if parts[0] in out:
                raise InputError(path, f"line {lineno}: duplicate id {parts[0]!r}", "make ids unique")
            out[parts[0]] = parts[1]
    if not out:
        raise InputError(path, f"MS MARCO {what} file is empty", "supply a non-empty file")
    return out


def export_triples(collection: str, queries: str, triples: str, out: str, max_triples: int, seed: int) -> int:
    passages = _read_tsv_map(Path(collection), "collection")
    qtext = _read_tsv_map(Path(queries), "queries")
    rows = []
    tpath = Path(triples)
    if not tpath.exists():
        raise InputError(tpath, "triples file does not exist", "run make_world or supply the file")
    with open(tpath, encoding="utf-8") as f:
        for lineno, line in enumerate(f, start=1):
            parts = line.split()
            if len(parts) != 3:
                raise InputError(tpath, f"line {lineno}: expected 'qid pos_pid neg_pid'", "fix the file")
            q, p, n = parts
            for ref, table, name in ((q, qtext, "query"), (p, passages, "passage"), (n, passages, "passage")):
                if ref not in table:
                    raise InputError(tpath, f"line {lineno}: {name} id {ref!r} is not defined",
                                     f"use triples that match the {name} file")
            rows.append((qtext[q], passages[p], passages[n]))
    if not rows:
        raise InputError(tpath, "no triples", "supply a non-empty triples file")
    if max_triples and len(rows) > max_triples:
        keep = np.sort(np.random.default_rng(seed).choice(len(rows), max_triples, replace=False))
        rows = [rows[i] for i in keep]
    io.write_parquet(out, {"query": [r[0] for r in rows], "pos": [r[1] for r in rows],
                           "neg": [r[2] for r in rows]})
    return len(rows)
