"""The final comparison report: Markdown + self-contained HTML + every per-query (retrieval) and
per-sentence (NER) number as Parquet, and the figures as PNG files.

:func:`build_report` loads every input once into a :class:`~optical.report.context.ReportContext`,
renders the retrieval sections, then the NER ones, from it, and writes the outputs.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pyarrow as pa

from optical import io
from optical.report import ner, retrieval
from optical.report.context import NER_COLUMNS, ReportContext, Settings, build_context, load_ner
from optical.report.render import Section, to_html, to_markdown

log = logging.getLogger(__name__)

SECTIONS = retrieval.SECTIONS + ner.SECTIONS


def render_sections(ctx: ReportContext) -> list:
    """Every section's blocks in order, then one "Figures" section with every figure drawn."""
    sections = [section(ctx) for section in SECTIONS]
    figures = Section()
    figures.h2("Figures")
    for part in sections:
        figures.blocks += [("figure", name, caption) for name, caption in part.figures]
    return [block for part in sections + [figures] for block in part.blocks]


def write_metrics(path: str, ctx: ReportContext) -> None:
    io.write_parquet(path, pa.Table.from_pandas(ctx.metrics, preserve_index=False))


def write_ner_metrics(path: str, ctx: ReportContext) -> None:
    """The per-sentence NER counts (an empty table with the same columns when no NER ran)."""
    counts = ctx.ner.counts if ctx.ner is not None else load_ner([], [])
    io.write_parquet(path, pa.Table.from_pandas(counts[NER_COLUMNS], preserve_index=False))


def build_report(*, settings: Settings, metric_files: list[str], training_runs: list[dict],
                 training_dirs: list[str], out_html: str, out_md: str, out_metrics: str, out_figures: str,
                 ner_runs: list[dict] = (), ner_files: list[str] = (), out_ner_metrics: str | None = None) -> dict:
    """Write the report. ``training_runs[i]`` (a RunKey as a dict) is the run whose model directory is
    ``training_dirs[i]``, and ``ner_runs[i]`` ({language, system, seed}) the run of ``ner_files[i]``:
    run keys come from the workflow, never from paths. Figures go to ``out_figures``, which the
    Markdown links relatively and the HTML embeds."""
    fig_dir = Path(out_figures)
    fig_dir.mkdir(parents=True, exist_ok=True)
    ctx = build_context(settings, metric_files, training_runs, training_dirs, fig_dir, ner_runs, ner_files)
    write_metrics(out_metrics, ctx)
    if out_ner_metrics is not None:
        write_ner_metrics(out_ner_metrics, ctx)
    blocks = render_sections(ctx)
    prefix = Path(os.path.relpath(fig_dir, Path(out_md).parent)).as_posix() + "/"
    io.write_text(out_md, to_markdown(blocks, prefix))
    io.write_text(out_html, to_html(blocks, fig_dir))
    figures = [b[1] for b in blocks if b[0] == "figure"]
    ner_rows = len(ctx.ner.counts) if ctx.ner is not None else 0
    log.info("report written: %d metric rows, %d NER rows, %d comparisons, %d figures", len(ctx.metrics), ner_rows,
             len(ctx.comparisons), len(figures))
    return {"rows": len(ctx.metrics), "ner_rows": ner_rows, "comparisons": len(ctx.comparisons),
            "figures": figures}
