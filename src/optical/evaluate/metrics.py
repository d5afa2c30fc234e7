"""Per-query metrics with ir-measures, written as Parquet rows."""

from __future__ import annotations

import ir_measures

from optical import io
from optical.errors import InputError

# measures whose relevance threshold is configurable; nDCG uses the graded judgements as gains
THRESHOLDED = {"AP", "RR", "R", "P", "Success"}


def parse_measures(names: list[str], threshold: int) -> list:
    out = []
    for name in names:
        base, _, cutoff = name.partition("@")
        spec = f"{base}(rel={threshold})" if base in THRESHOLDED else base
        if cutoff:
            spec += f"@{cutoff}"
        out.append(ir_measures.parse_measure(spec))
    return out


def evaluate_run(qrels_path: str, run_path: str, measures: list[str], threshold: int) -> list[dict]:
    """Rows ``{query_id, measure, value}`` for every query of the qrels (the test queries)."""
    return score_run(io.read_trec_qrels(qrels_path), io.read_trec_run(run_path), run_path, qrels_path, measures,
                     threshold)


def evaluate_lists(run_path: str | None, lists: dict[str, str], qrels_path: str, measures: list[str],
                   threshold: int) -> list[dict]:
    """A system's run evaluated on each candidate list in turn (``lists``: name -> TREC file): its
    scores restricted to the list's documents, so every system is compared on the same candidates;
    without a run (``None``), the list's own order is the run (the candidate-order reference).
    Rows ``{candidates, query_id, measure, value}``."""
    qrels = io.read_trec_qrels(qrels_path)
    run = io.read_trec_run(run_path) if run_path else None
    rows = []
    for name, list_path in lists.items():
        candidates = io.read_trec_run(list_path)
        scored = candidates if run is None else restrict(run, candidates, run_path, list_path)
        rows += [dict(r, candidates=name) for r in score_run(qrels, scored, run_path or list_path, qrels_path,
                                                             measures, threshold)]
    return rows


def restrict(run: dict, candidates: dict, run_path: str, list_path: str) -> dict:
    """The run's scores of exactly the listed candidates (every one of them must be scored)."""
    out = {}
    for q, docs in candidates.items():
        scores = run.get(q, {})
        missing = [d for d in docs if d not in scores]
        if missing:
            raise InputError(run_path, f"query {q}: no score for candidate {missing[0]!r} of {list_path} "
                             f"({len(missing)} missing)", "rerun the re-ranking step on the current candidates")
        out[q] = {d: scores[d] for d in docs}
    return out


def score_run(qrels: dict, run: dict, run_path: str, qrels_path: str, measures: list[str], threshold: int):
    missing = sorted(set(qrels) - set(run))
    if missing:
        raise InputError(run_path, f"run has no results for {len(missing)} test queries (e.g. {missing[0]})",
                         "rerun the re-ranking step")
    extra = sorted(set(run) - set(qrels))
    if extra:
        raise InputError(run_path, f"run has {len(extra)} queries not in {qrels_path} (e.g. {extra[0]})",
                         "use the candidates and qrels of the same language")
    parsed = parse_measures(measures, threshold)
    names = dict(zip(parsed, measures))
    rows = [{"query_id": m.query_id, "measure": names[m.measure], "value": float(m.value)}
            for m in ir_measures.iter_calc(parsed, qrels, run)]
    got = {(r["query_id"], r["measure"]) for r in rows}
    for q in qrels:  # pytrec_eval omits nothing here, but a silent gap would bias the mean
        for name in measures:
            if (q, name) not in got:
                raise InputError(run_path, f"no {name} value for query {q}", "check the run and qrels")
    return sorted(rows, key=lambda r: (r["query_id"], r["measure"]))
