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
    qrels = io.read_trec_qrels(qrels_path)
    run = io.read_trec_run(run_path)
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
