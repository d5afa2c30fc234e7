"""The report's training sections, one function per section: what each trained system spent
(optimiser steps, examples, wall time) and how good the NMT models are. Each is empty when its
records are."""

from __future__ import annotations

import math

from optical.report.context import ReportContext
from optical.report.render import Section, pair_name
from optical.report.tables import budget_table, nmt_table

DIRECTIONS = {"xx-en": "documents into English", "en-xx": "queries into the language"}


def _span(lo: float, hi: float, fmt: str = "{:,.0f}") -> str:
    """One value, or "lo–hi" where the runs differ; "–" where unrecorded."""
    if lo is None or hi is None or math.isnan(lo) or math.isnan(hi):
        return "–"
    return fmt.format(lo) if lo == hi else f"{fmt.format(lo)}–{fmt.format(hi)}"


def _wall(r) -> str:
    if r.timed_runs == 0:
        return "–"
    return f"{r.wall_s:,.1f}" + ("" if r.timed_runs == r.runs else f" ({r.timed_runs} of {r.runs} runs)")


def budgets(ctx: ReportContext) -> Section:
    """Per trained system and language, over its main runs: optimiser steps, examples per step,
    examples seen, mean wall time and runs."""
    out = Section()
    table = budget_table(ctx.budgets, ctx.settings.systems)
    if table.empty:
        return out
    out.h2("Training budgets")
    out.p("Per trained system (a student, which trains its own document encoder, or an NMT model per direction) "
          "and language pair, over its main runs: "
          "optimiser steps and examples seen from each run's training.json (examples per step = examples seen / "
          "steps; a range where runs differ), and the wall time of the training job from its Snakemake benchmark "
          "(seconds, mean over the runs that have one; – where none was recorded). Wall time depends on the "
          "machine and on what ran beside the job, and a resumed run's benchmark counts its last attempt only.")
    rows = [[ctx.label(r.system), pair_name(r.language), _span(r.steps_min, r.steps_max),
             _span(r.per_step_min, r.per_step_max, "{:,.1f}"), _span(r.examples_seen_min, r.examples_seen_max),
             _wall(r), str(r.runs)] for r in table.itertuples()]
    out.table(["system", "pair", "optimiser steps", "examples per step", "examples seen", "wall time (s, mean)",
               "runs"], rows)
    return out


def _mean_std(mean: float, std: float, seeds: int) -> str:
    if math.isnan(mean):
        return "–"
    return f"{mean:.1f} ± {std:.1f}" if seeds > 1 else f"{mean:.1f}"


def nmt_quality(ctx: ReportContext) -> Section:
    """Held-out BLEU and chrF of the NMT models per language and direction, mean ± std over seeds."""
    out = Section()
    if ctx.nmt.empty:
        return out
    table = nmt_table(ctx.nmt)
    out.h2("NMT quality")
    out.p("The translation models behind the NMT systems, per language and direction (xx-en translates "
          "documents into English, en-xx queries into the language): BLEU and chrF on held-out bitext pairs, from "
          "each model's training.json, mean ± std over seeds.")
    rows = [[pair_name(r.language), f"{r.direction} ({DIRECTIONS.get(r.direction, '')})".replace(" ()", ""),
             _mean_std(r.bleu, r.bleu_std, r.seeds), _mean_std(r.chrf, r.chrf_std, r.seeds), str(r.seeds),
             "–" if math.isnan(r.train_pairs) else f"{r.train_pairs:,.0f}",
             "–" if math.isnan(r.steps) else f"{r.steps:,.0f}"] for r in table.itertuples()]
    out.table(["pair", "direction", "BLEU", "chrF", "seeds", "training pairs", "steps"], rows)
    return out
