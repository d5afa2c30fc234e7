"""The report's second task: NER entity F1 per language and system with paired permutation tests
against direct transfer, and one table that puts retrieval and NER side by side per language.
Each section renders from the shared context and is empty when no NER ran."""

from __future__ import annotations

import numpy as np

from optical import registry
from optical.report.context import ReportContext
from optical.report.figures import plot_ner_f1
from optical.report.render import Section, pair_name, significance_mark


def label(system: str) -> str:
    return registry.NER[system].label if system in registry.NER else system


def _f1_cell(ctx: ReportContext, lang: str, system: str) -> str:
    """Entity F1 in %, mean ± std over seeds, with the significance mark against direct transfer."""
    if (lang, system) not in ctx.ner.by_cell.index:
        return "–"
    r = ctx.ner.by_cell.loc[(lang, system)]
    sd = f" ± {100 * r.f1_std:.1f}" if r.seeds > 1 else ""
    return f"{100 * r.f1:.1f}{sd}" + significance_mark(ctx.ner.comparisons_by_cell, (lang, system), "holm",
                                                       ctx.settings.alpha)


def ner_summary(ctx: ReportContext) -> Section:
    out = Section()
    if ctx.ner is None:
        return out
    s, table = ctx.settings, ctx.ner.table
    seeds = sorted(ctx.ner.counts.seed.unique().tolist())
    out.h1("Second task: cross-lingual NER")
    out.p(f"Entity-level precision, recall and F1 with seqeval (PAN-X BIO tags PER, ORG, LOC), in %. Seeds {seeds}: "
          f"a cell is the corpus F1 per seed, then mean ± std over seeds. Each system is compared with direct "
          f"transfer on the mean over seeds of per-seed corpus F1: a paired permutation test over test sentences "
          f"(scipy, {s.ner_resamples} resamples; a permutation swaps the two systems' outputs on a sentence in "
          f"every seed at once, F1 recomputed from the summed entity counts), Holm-corrected over all systems × "
          f"languages; the 95% CI is a hierarchical bootstrap (seeds, then sentences, both with replacement). "
          f"▲/▼: significantly better/worse than direct (p < {s.alpha}). The English column is the teacher on its "
          f"own language's test set: the ceiling transfer aims at.")
    rows = []
    for system in s.ner_systems:
        f1 = table[(table.system == system) & table.language.isin(s.ner_languages)].f1
        ran_all = len(f1) == len(s.ner_languages)
        mean = f"{100 * np.mean(f1):.1f}" + ("" if ran_all else " (ran pairs only)") if len(f1) else "–"
        rows.append([label(system), _f1_cell(ctx, "en", system)]
                    + [_f1_cell(ctx, lang, system) for lang in s.ner_languages] + [mean])
    out.table(["system", "English (teacher)"] + [pair_name(l) for l in s.ner_languages] + ["mean over targets"], rows)
    if len(table):
        plot_ner_f1(table, s.ner_systems, label, ctx.fig_dir / "ner_f1.png")
        out.figure("ner_f1.png", "NER entity F1 per language and system (English: the teacher on English).")
    return out


def _language_rows(ctx: ReportContext, lang: str) -> list[list[str]]:
    table, comp = ctx.ner.by_cell, ctx.ner.comparisons_by_cell
    rows = []
    for system in [s for s in ctx.settings.ner_systems if (lang, s) in table.index]:
        r = table.loc[(lang, system)]
        row = [label(system), f"{100 * r.precision:.1f}", f"{100 * r.recall:.1f}", _f1_cell(ctx, lang, system),
               r.f1_per_seed]
        if comp is not None and (lang, system) in comp.index:
            c = comp.loc[(lang, system)]
            row += [f"{100 * c.delta:+.1f}", f"[{100 * c.ci_low:+.1f}, {100 * c.ci_high:+.1f}]", f"{c.pvalue:.3g}",
                    f"{c.holm:.3g}"]
        else:
            row += ["", "", "", ""]
        rows.append(row)
    return rows


def ner_per_language(ctx: ReportContext) -> Section:
    out = Section()
    if ctx.ner is None:
        return out
    counts = ctx.ner.counts
    for lang in ctx.settings.ner_languages:
        here = counts[counts.language == lang]
        n = int(here.groupby(["system", "seed"]).size().max()) if len(here) else 0
        out.h2(f"NER {pair_name(lang)} ({n} test sentences)")
        out.table(["system", "P", "R", "F1", "F1 per seed", "Δ F1 vs direct", "95% bootstrap CI", "p", "p (Holm)"],
                  _language_rows(ctx, lang))
    return out


def ner_methods(ctx: ReportContext) -> Section:
    out = Section()
    if ctx.ner is None:
        return out
    out.h2("NER methods")
    out.table(["system", "training data", "what is trained"],
              [[label(s), registry.NER[s].training_data, registry.NER[s].description]
               for s in ctx.settings.ner_systems])
    return out


def both_tasks(ctx: ReportContext) -> Section:
    """Per language: re-ranking (headline measure, mean over seeds) of direct transfer and of each
    OT-distilled student, next to NER F1 of every NER system."""
    out = Section()
    if ctx.ner is None:
        return out
    s, key = ctx.settings, ctx.headline
    clir = [ctx.baseline] + [x for x in s.systems if ctx.systems[x].uses_ot]
    ner = ctx.ner.by_cell

    def clir_cell(lang, system):
        ran = (lang, system, key) in ctx.by_cell.index
        return f"{ctx.cell(lang, system, key)['mean']:.4f}" if ran else "–"

    def ner_cell(lang, system):
        return f"{100 * ner.loc[(lang, system), 'f1']:.1f}" if (lang, system) in ner.index else "–"

    header = (["language"] + [f"CLIR {ctx.label(x)} ({key})" for x in clir]
              + [f"NER {label(x)} (F1)" for x in s.ner_systems])
    rows = [[pair_name(lang)] + [clir_cell(lang, x) for x in clir] + [ner_cell(lang, x) for x in s.ner_systems]
            for lang in sorted(set(s.languages) | set(s.ner_languages))]
    out.h1("Both tasks side by side")
    out.p(f"Per language: re-ranking {key} (mean over seeds) of direct transfer and of the OT-distilled students, "
          "and NER entity F1 (%) of direct transfer and the distilled systems. Is distillation's gain over direct "
          "transfer in one task matched in the other?")
    out.table(header, rows)
    return out


SECTIONS = (ner_summary, ner_per_language, ner_methods, both_tasks)
