"""The retrieval sections of the report, one function per section, each rendered from the shared
:class:`~optical.report.context.ReportContext`; :data:`optical.report.build.SECTIONS` orders them
with the other modules' sections."""

from __future__ import annotations

import numpy as np

from optical import registry
from optical.report.context import ReportContext
from optical.report.figures import (plot_data_efficiency, plot_gap_closed, plot_heldout_curves,
                                    plot_language_bias, plot_systems)
from optical.report.render import Section, mean_std, p_value, pair_name
from optical.report.tables import (ablation_table, budget_table, efficiency_curve, gap_table, heldout_table,
                                   shared_budget)


def introduction(ctx: ReportContext) -> Section:
    s, base = ctx.settings, ctx.baseline
    out = Section()
    out.h1("OPTICAL reproduction: cross-lingual re-ranking report")
    out.p(f"Each system re-ranks the same candidate list per language pair (English queries, foreign documents; "
          f"list `{s.first_stage}`, `candidates.first_stage`). Metrics by ir-measures; AP, RR and R count grade ≥ "
          f"{s.threshold} as relevant, nDCG uses the graded judgements. Trained systems ran with seeds {ctx.seeds}; a "
          f"cell is the mean over queries per seed, then mean ± std over seeds. Tests pair each system with {base} "
          f"per query (values averaged over seeds): two-sided paired t-test and sign-flip permutation test "
          f"({s.resamples:,} resamples), Holm-corrected over all systems × languages per measure; 95% "
          f"percentile-bootstrap CIs of the mean difference. ▲/▼: significantly better/worse than {base} "
          f"(Holm-corrected permutation p < {s.alpha}). The same test pits OPTICAL against every other system "
          f"(its own Holm family); the research question's answer, next, puts seed variance inside the inference "
          f"with a hierarchical bootstrap. Every test is in `tests.parquet`, every per-query number in "
          f"`metrics.parquet`.")
    return out


def _best_per_language(ctx: ReportContext) -> dict[str, str | None]:
    """Per language, the system with the highest headline mean among those that see no translation."""
    best = {}
    for lang in ctx.settings.languages:
        scores = [(ctx.cell(lang, s, ctx.headline)["mean"], s) for s in ctx.settings.systems
                  if not ctx.is_reference(s) and ctx.has(lang, s)]
        best[lang] = max(scores)[1] if scores else None
    return best


def _means_over_pairs(ctx: ReportContext) -> tuple[dict[str, float], set[str]]:
    """Per system, its headline mean over the pairs it ran on, and the systems that skipped a pair."""
    langs = ctx.settings.languages
    means = {s: float(np.mean([ctx.cell(l, s, ctx.headline)["mean"] for l in langs if ctx.has(l, s)]))
             for s in ctx.settings.systems if any(ctx.has(l, s) for l in langs)}
    partial = {s for s in means if not all(ctx.has(l, s) for l in langs)}
    return means, partial


def summary_table(ctx: ReportContext) -> tuple[list[str], list[list[str]]]:
    """Systems × languages on the headline measure (header, rows): mean ± std over seeds, the best
    non-reference value per column in bold, ▲/▼ against the baseline; a system's mean counts only
    the pairs where it ran, and over fewer pairs it is marked."""
    key, langs = ctx.headline, ctx.settings.languages
    best = _best_per_language(ctx)
    means, partial = _means_over_pairs(ctx)
    full = [(v, s) for s, v in means.items() if not ctx.is_reference(s) and s not in partial]
    best_mean = max(full)[1] if full else None
    rows = []
    for s in ctx.settings.systems:
        cells = []
        for lang in langs:
            if not ctx.has(lang, s):
                cells.append("–")
                continue
            r = ctx.cell(lang, s, key)
            c = mean_std(r["mean"], r["std"], int(r["seeds"]))
            cells.append((f"**{c}**" if best[lang] == s else c) + ctx.mark(lang, s, key))
        m = f"{means[s]:.4f}" + (" (ran pairs only)" if s in partial else "") if s in means else "–"
        rows.append([ctx.label(s)] + cells + [f"**{m}**" if s == best_mean else m])
    return ["system"] + [pair_name(l) for l in langs] + ["mean over pairs"], rows


def references_note(ctx: ReportContext) -> str:
    references = [ctx.label(s) for s in ctx.settings.systems if ctx.is_reference(s)]
    return ("Bold: best per column among the systems that see no translation"
            + ("; " + ", ".join(references) + " (document or query translations) are references." if references
               else "."))


def summary(ctx: ReportContext) -> Section:
    """Systems × languages on the headline measure (:func:`summary_table`) and its figure."""
    out = Section()
    out.h2(f"Summary: {ctx.headline} per language pair")
    out.table(*summary_table(ctx))
    out.p(references_note(ctx))
    plot_systems(ctx.table, ctx.settings.systems, ctx.headline, ctx.label, ctx.fig_dir / "systems.png")
    out.figure("systems.png", f"{ctx.headline} of every system per language pair (error bars: std over seeds).")
    return out


def _gap_rows(ctx: ReportContext, gaps, shown: list[str]) -> list[list[str]]:
    rows = []
    for lang in ctx.settings.languages:
        if not (ctx.has(lang, ctx.oracle) and ctx.has(lang, ctx.baseline)):
            continue
        o, d = ctx.cell(lang, ctx.oracle, ctx.headline)["mean"], ctx.cell(lang, ctx.baseline, ctx.headline)["mean"]
        row = [pair_name(lang), f"{o:.4f}", f"{d:.4f} ({o - d:+.4f})"]
        for s in shown:
            g = gaps[(gaps.language == lang) & (gaps.system == s)]["gap_closed"]
            sd = f" ± {100 * g.std(ddof=1):.0f}" if len(g) > 1 else ""
            row.append(f"{100 * g.mean():.0f}%{sd}" if len(g) else "–")
        rows.append(row)
    return rows


def gap_closed_and_bias(ctx: ReportContext) -> Section:
    out, systems = Section(), ctx.settings.systems
    if ctx.oracle not in systems or ctx.baseline not in systems:
        return out
    gaps = gap_table(ctx.metrics, systems, ctx.headline, ctx.baseline, ctx.oracle)
    if not len(gaps):
        return out
    shown = [s for s in systems if s not in (ctx.baseline, ctx.oracle)]
    out.h2(f"Gap closed and language bias ({ctx.headline})")
    out.p("The teacher's English→English score (translate-test oracle: the teacher on gold English translations) "
          "is what a perfect cross-lingual document encoder would give; direct transfer's distance from it is the "
          "language bias. Gap closed = (system − direct) / (oracle − direct) per seed (direct and oracle of the "
          "same seed's teacher), mean ± std over seeds.")
    out.table(["pair", "EN→EN (oracle)", "direct (bias)"] + [ctx.label(s) for s in shown], _gap_rows(ctx, gaps, shown))
    plot_gap_closed(gaps, shown, ctx.label, ctx.fig_dir / "gap_closed.png")
    out.figure("gap_closed.png", "Gap closed per language: 0 = direct transfer, 1 = translate-test oracle "
                                 "(error bars: std over seeds).")
    # the candidate order itself is no method: it is left out of the bias view
    methods = [s for s in systems if ctx.systems[s].scorer != registry.CANDIDATES]
    plot_language_bias(ctx.table, methods, ctx.headline, ctx.label, ctx.fig_dir / "language_bias.png")
    out.figure("language_bias.png", "Language bias: each method's score against the teacher's English→English "
                                    "score per language.")
    return out


def data_efficiency(ctx: ReportContext) -> Section:
    out, key = Section(), ctx.headline
    curve = efficiency_curve(ctx.metrics, key)
    if not len(curve):
        return out
    sizes = sorted(curve.train_pairs.unique())
    rows = []
    for (lang, s), g in curve.groupby(["language", "system"]):
        g = g.set_index("train_pairs")
        rows.append([pair_name(lang), ctx.label(s)] + [
            mean_std(g.loc[n, "mean"], g.loc[n, "std"], int(g.loc[n, "seeds"])) if n in g.index else "–"
            for n in sizes])
    out.h2(f"Data efficiency: {key} against bitext size")
    out.p("Students trained on nested subsets of the training bitext (same steps and held-out split; the largest "
          "size is the main run). Mean ± std over the seeds run at that size.")
    out.table(["pair", "system"] + [str(n) for n in sizes], rows)
    headline = ctx.table[ctx.table.measure == key]
    references = {":": headline[headline.system == ctx.baseline], "--": headline[headline.system == ctx.oracle]}
    plot_data_efficiency(curve, references, key, ctx.label, ctx.fig_dir / "data_efficiency.png")
    out.figure("data_efficiency.png", f"{key} against the number of bitext training pairs (log scale); dotted: "
                                      f"direct transfer, dashed: translate-test oracle.")
    return out


def ot_ablation(ctx: ReportContext) -> Section:
    out, key = Section(), ctx.headline
    ablation = ablation_table(ctx.metrics, key)
    if not len(ablation):
        return out
    out.h2(f"OT ablation ({key})")
    out.p("Entropic regulariser (reg) and Sinkhorn iteration cap (iter) changed one at a time from the main "
          "setting; per-seed means over queries, mean over the ablation seeds, compared with the main run of the "
          "same seeds.")
    out.table(["pair", "system", "setting", key, "Δ vs main"],
              [[pair_name(r.language), ctx.label(r.system), r.setting, f"{r.value:.4f}",
                "" if r.setting == "main" else f"{r.delta:+.4f}"] for r in ablation.itertuples()])
    return out


def _difference_rows(ctx: ReportContext, lang: str) -> list[list[str]]:
    comp = ctx.comparisons
    c = comp[comp.language == lang] if len(comp) else comp
    return [[ctx.label(r.system), r.measure, f"{r.delta:+.4f}", f"[{r.ci_low:+.4f}, {r.ci_high:+.4f}]",
             p_value(r.t_pvalue), p_value(r.t_holm), p_value(r.perm_pvalue), p_value(r.perm_holm)]
            for r in c.itertuples()]


def per_language(ctx: ReportContext) -> Section:
    """Per language: every system on every measure, then each system's difference to the baseline."""
    out, measures = Section(), ctx.settings.measures
    n_queries = ctx.metrics.groupby("language")["query_id"].nunique().to_dict()
    for lang in ctx.settings.languages:
        rows = []
        for s in [s for s in ctx.settings.systems if ctx.has(lang, s)]:
            cells = [mean_std(ctx.cell(lang, s, m)["mean"], ctx.cell(lang, s, m)["std"],
                              int(ctx.cell(lang, s, m)["seeds"])) + ctx.mark(lang, s, m) for m in measures]
            rows.append([ctx.label(s)] + cells + [ctx.cell(lang, s, ctx.headline)["per_seed"]])
        out.h2(f"{pair_name(lang)}: systems × measures ({n_queries[lang]} queries)")
        out.table(["system"] + measures + [f"{ctx.headline} per seed"], rows)
        differences = _difference_rows(ctx, lang)
        if differences:
            out.h2(f"{pair_name(lang)}: difference to {ctx.label(ctx.baseline)}")
            out.table(["system", "measure", "Δ mean", "95% bootstrap CI", "t p", "t p (Holm)", "permutation p",
                       "permutation p (Holm)"], differences)
    return out


def _end_value(g, column: str) -> tuple[str, str]:
    """(first, last) non-missing value of ``column`` along the steps of one curve, formatted."""
    v = g.dropna(subset=[column]).sort_values("step")[column]
    return (f"{v.iloc[0]:.3f}", f"{v.iloc[-1]:.3f}") if len(v) else ("–", "–")


def heldout_curves(ctx: ReportContext) -> Section:
    """Each bitext method's own held-out objective (relative to step 0: the objectives have different
    scales) and the method-neutral held-out translation P@1, mean over seeds."""
    out = Section()
    heldout = heldout_table(ctx.curves)
    if not len(heldout):
        return out
    order = {s: i for i, s in enumerate(ctx.settings.systems)}  # the config's order, in table and legend
    heldout = heldout.sort_values(["language", "system", "step"], key=lambda c: c.map(order) if c.name == "system"
                                  else c)
    rows = []
    for (lang, s), g in heldout.groupby(["language", "system"], sort=False):
        p1_start, p1_end = _end_value(g, "translation_p1")
        rows.append([pair_name(lang), ctx.label(s), str(int(g.step.max())), _end_value(g, "relative_objective")[1],
                     p1_start, p1_end])
    out.h2("Held-out curves during distillation")
    out.p("Measured on the held-out bitext pairs (the same for every method), mean over seeds. Each method's own "
          "objective is shown relative to its value at step 0, since the objectives have different scales and "
          "only OPTICAL's is the OT loss. Translation P@1 is method-neutral: the share of held-out English "
          "sentences (teacher vectors, as queries) whose best MaxSim match among the held-out foreign sentences "
          "(student vectors, as documents) is their translation.")
    out.table(["pair", "system", "last step", "own objective (last / step 0)", "translation P@1 (step 0)",
               "translation P@1 (last)"], rows)
    plot_heldout_curves(heldout, ctx.label, ctx.fig_dir / "distill_curve.png")
    out.figure("distill_curve.png", "Held-out curves during distillation, mean over seeds: top, each method's own "
                                    "objective relative to step 0; bottom, translation P@1 (method-neutral).")
    return out


def budget_sentence(ctx: ReportContext) -> str:
    """What the report may say about the bitext methods' budgets: "same budget" only where the
    training records show it (Training budgets)."""
    bitext = [s for s in set(ctx.budgets.system) if s in ctx.systems and ctx.systems[s].kind == registry.BITEXT]
    shared = shared_budget(budget_table(ctx.budgets, ctx.settings.systems), bitext)
    if shared is None:
        return ("Bitext methods are configured with one budget (`distill.steps` × `distill.batch_size`); no "
                "training record was read to show it.")
    if shared:
        return ("Bitext methods ran on the same budget: the same optimiser steps and examples per step in every "
                "language, as the training budgets table shows.")
    return "Bitext methods did not all run on the same budget: see the training budgets table."


def methods(ctx: ReportContext) -> Section:
    out = Section()
    out.h2("Methods")
    out.table(["system", "training data", "what is trained / scored"],
              [[ctx.label(s), ctx.systems[s].training_data, ctx.systems[s].description]
               for s in ctx.settings.systems])
    out.p("All students start from their seed's teacher and train only the document encoder; queries are always "
          f"encoded by the frozen English teacher. {budget_sentence(ctx)} Bitext methods share one held-out "
          "split. Assumptions where the paper is silent are listed with their config keys in docs/assumptions.md.")
    return out
