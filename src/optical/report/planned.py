"""The planned comparisons of the report, one function per section: the answer to the research
question (teacher-student learning against direct transfer, seeds inside the inference), OPTICAL
against every other system, and re-ranking the other candidate lists."""

from __future__ import annotations

from optical import registry
from optical.report.context import ReportContext
from optical.report.inference import OPTICAL
from optical.report.render import Section, p_value, pair_name
from optical.report.retrieval import references_note, summary_table

LISTS = {
    "sampled": "the judged relevant documents plus random ones, shuffled",
    "bm25_translated": "BM25's top documents for the query translated into the document language (gold "
                       "translations in the synthetic world and the Bible track)",
    "bm25_nmt": "BM25's top documents for the query translated by this study's NMT model (en-xx): a first stage "
                "without gold translations",
}


def _ner_label(system: str) -> str:
    return registry.NER[system].label if system in registry.NER else system


def _verdict(rows, alpha: float) -> str:
    better = sum(1 for r in rows if r.p_holm < alpha and r.delta > 0)
    worse = sum(1 for r in rows if r.p_holm < alpha and r.delta < 0)
    return f"better on {better}, worse on {worse}, no clear difference on {len(rows) - better - worse} of {len(rows)}"


def _headline_cells(ctx: ReportContext, r) -> list[str]:
    ner = r.task == "ner"
    scale, fmt = (100, "{:+.1f}") if ner else (1, "{:+.4f}")
    value = (lambda v: f"{100 * v:.1f}") if ner else (lambda v: f"{v:.4f}")
    name = _ner_label(r.system) if ner else ctx.label(r.system)
    return ["NER" if ner else "retrieval", pair_name(r.language), name, r.measure + (" (%)" if ner else ""),
            value(r.value), value(r.other_value), fmt.format(scale * r.delta),
            f"[{fmt.format(scale * r.ci_low)}, {fmt.format(scale * r.ci_high)}]", p_value(r.p), p_value(r.p_holm),
            str(r.seeds), str(r.n)]


def answer(ctx: ReportContext) -> Section:
    """Teacher-student learning against direct transfer per task and language, with a hierarchical
    bootstrap (seeds, then queries or sentences) for the CI and p."""
    out, h, s = Section(), ctx.headline_tests, ctx.settings
    if h.empty:
        return out
    out.h2("Teacher-student learning against direct transfer")
    out.p(f"The research question. Retrieval: OPTICAL (a student document encoder distilled from the English "
          f"teacher on bitext) against direct transfer (the teacher zero-shot) on {ctx.headline}. NER: Wu et al.'s "
          f"teacher-student learning, and the OT-aligned encoder, against direct transfer on entity F1. Δ is the "
          f"difference of the means over seeds (retrieval: per-seed mean over queries; NER: per-seed corpus F1). "
          f"The 95% CI and p come from a hierarchical, two-stage paired bootstrap ({s.resamples:,} resamples for "
          f"retrieval, {s.ner_resamples:,} for NER, the NER tables' CI) that "
          f"puts seed variance inside the inference: each resample draws the seeds with replacement, then the "
          f"queries (test sentences) with replacement, one draw shared by every drawn seed and by both systems "
          f"(a seed's runs share that seed's teacher; a system with one run pairs with every seed), and recomputes "
          f"Δ. CI: the 2.5th and 97.5th percentiles of the resampled Δ; p: twice the share of resampled Δ at or "
          f"beyond 0 on the other side, (k + 1) / (R + 1), so never 0; Holm over the rows of this table. With "
          f"few seeds the interval is wide: a seed is one draw of the teacher and the student.")
    out.table(["task", "pair", "teacher-student system", "measure", "teacher-student", "direct", "Δ",
               "95% CI (hierarchical bootstrap)", "p", "p (Holm)", "seeds", "n"],
              [_headline_cells(ctx, r) for r in h.itertuples()])
    verdicts = []
    for (task, system), g in h.groupby(["task", "system"], sort=False):
        name = _ner_label(system) if task == "ner" else ctx.label(system)
        verdicts.append(f"{'NER' if task == 'ner' else task}, {name}: {_verdict(list(g.itertuples()), s.alpha)} pairs")
    out.p(f"Against direct transfer (Holm p < {s.alpha}): " + "; ".join(verdicts) + ".")
    return out


def _versus_rows(ctx: ReportContext) -> list[list[str]]:
    v = ctx.versus
    order = {m: i for i, m in enumerate([ctx.headline] + [m for m in ctx.settings.measures if m != ctx.headline])}
    systems = {x: i for i, x in enumerate(ctx.settings.systems)}
    v = v.assign(_m=v.measure.map(order), _s=v.baseline.map(systems)).sort_values(["language", "_m", "_s"])
    rows = []
    for r in v.itertuples():
        mark = (" ▲" if r.delta > 0 else " ▼") if r.perm_holm < ctx.settings.alpha else ""
        rows.append([pair_name(r.language), ctx.label(r.baseline), r.measure, f"{r.delta:+.4f}{mark}",
                     f"[{r.ci_low:+.4f}, {r.ci_high:+.4f}]", p_value(r.perm_pvalue), p_value(r.perm_holm)])
    return rows


def optical_vs_each(ctx: ReportContext) -> Section:
    out = Section()
    if ctx.versus is None or ctx.versus.empty:
        return out
    others = sorted(set(ctx.versus.baseline), key=ctx.settings.systems.index)
    out.h2("OPTICAL against every other system")
    out.p(f"OPTICAL against each of the {len(others)} other systems that ran, per language pair and measure "
          f"(headline {ctx.headline} first): paired per query on seed-averaged values, Δ = OPTICAL − other, 95% "
          f"percentile-bootstrap CI, sign-flip permutation test ({ctx.settings.resamples:,} resamples, scipy), "
          f"Holm-corrected per measure over other systems × languages (a family of its own). ▲/▼: OPTICAL "
          f"significantly better/worse (Holm p < {ctx.settings.alpha}).")
    out.table(["pair", "against", "measure", "Δ mean (OPTICAL − other)", "95% bootstrap CI", "permutation p",
               "permutation p (Holm)"], _versus_rows(ctx))
    return out


def _optical_rows(sub: ReportContext) -> list[list[str]]:
    comp = sub.comparisons
    if comp.empty:
        return []
    c = comp[comp.system == OPTICAL]
    return [[pair_name(r.language), r.measure, f"{r.mean:.4f}", f"{r.baseline_mean:.4f}", f"{r.delta:+.4f}",
             f"[{r.ci_low:+.4f}, {r.ci_high:+.4f}]", p_value(r.perm_pvalue), p_value(r.perm_holm)]
            for r in c.itertuples()]


def realistic_first_stage(ctx: ReportContext) -> Section:
    """Per other candidate list: the summary table on it (▲/▼ against direct transfer on the same
    list) and OPTICAL against direct transfer there."""
    out = Section()
    if not ctx.lists:
        return out
    out.h2("Re-ranking a realistic first stage")
    out.p(f"The tables above re-rank the `{ctx.settings.first_stage}` list ({LISTS.get(ctx.settings.first_stage, '')}"
          f"). Here every system re-ranks another candidate list per query, its first stage's row being that list "
          f"in its own order. Same cells and tests as above, on that list's runs only; the tests form a family of "
          f"their own per list and measure.")
    for name, sub in ctx.lists.items():
        out.p(f"**{name}**: {LISTS.get(name, 'another candidate list')}. {ctx.headline} per language pair, mean ± "
              f"std over seeds; ▲/▼ against direct transfer on this list (Holm p < {ctx.settings.alpha}). "
              + references_note(sub))
        out.table(*summary_table(sub))
        rows = _optical_rows(sub)
        if rows:
            out.p(f"**{name}**: OPTICAL against direct transfer on this list, per measure.")
            out.table(["pair", "measure", "OPTICAL", "direct", "Δ mean", "95% bootstrap CI", "permutation p",
                       "permutation p (Holm)"], rows)
    return out
