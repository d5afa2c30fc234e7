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


def export_irds_triples(home: str, docpairs_id: str, queries_id: str, docs_id: str, out: str,
                        max_triples: int, seed: int) -> int:
    """Training triples from ``ir_datasets``: a seeded sample of ``max_triples`` document pairs of
    ``docpairs_id`` (0: all), query text from ``queries_id`` and passage text from ``docs_id``.

    Teacher: ``msmarco-passage/train/triples-small`` with its own queries and passages.
    Translate-train: ``mmarco/v2/<lang>/train`` pairs, English ``msmarco-passage/train`` queries and
    the translated ``mmarco/v2/<lang>`` passages (mMARCO keeps MS MARCO's ids)."""
    from optical.data.wikiclir import _import_ir_datasets

    irds = _import_ir_datasets(Path(home))
    pairs = irds.load(docpairs_id)
    if not pairs.has_docpairs():
        raise InputError(home, f"ir_datasets '{docpairs_id}' has no document pairs", "use a training triples id")
    # count by reading: docpairs_count() is ir_datasets' published size, not what this home holds
    n = sum(1 for _ in pairs.docpairs_iter())
    if n == 0:
        raise InputError(home, f"'{docpairs_id}' has no document pairs", "check the ir_datasets home")
    keep = None
    if max_triples and max_triples < n:
        keep = set(np.random.default_rng(seed).choice(n, max_triples, replace=False).tolist())
    ids = [(p.query_id, p.doc_id_a, p.doc_id_b) for i, p in enumerate(pairs.docpairs_iter())
           if keep is None or i in keep]
    wanted_q = {q for q, _, _ in ids}
    qtext = {q.query_id: q.text for q in irds.load(queries_id).queries_iter() if q.query_id in wanted_q}
    docs = irds.load(docs_id).docs_store().get_many({d for _, a, b in ids for d in (a, b)})
    rows = []
    for q, a, b in ids:
        if q not in qtext:
            raise InputError(home, f"query {q!r} of '{docpairs_id}' is not in '{queries_id}'",
                             "pair document pairs with the queries of the same training set")
        for d in (a, b):
            if d not in docs:
                raise InputError(home, f"passage {d!r} of '{docpairs_id}' is not in '{docs_id}'",
                                 "pair document pairs with the collection they index")
        rows.append((qtext[q], docs[a].text, docs[b].text))
    io.write_parquet(out, {"query": [r[0] for r in rows], "pos": [r[1] for r in rows],
                           "neg": [r[2] for r in rows]})
    return len(rows)
