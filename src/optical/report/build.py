"""The final comparison report: Markdown + self-contained HTML + every per-query (retrieval) and
per-sentence (NER) number and every test as Parquet, and the figures as PNG files.

:func:`build_report` loads every input once into a :class:`~optical.report.context.ReportContext`,
renders the sections of :data:`SECTIONS` from it, and writes the outputs.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pyarrow as pa

from optical import io
from optical.report import ner, planned, probe, retrieval, training
from optical.report.context import NER_COLUMNS, ReportContext, Settings, build_context, load_ner
from optical.report.inference import TEST_COLUMNS, headline_rows, ner_rows, paired_rows, tests_frame
from optical.report.render import Section, to_html, to_markdown
from optical.report.tracks import TrackReport, main_part, track_part, with_tracks, write_blocks

log = logging.getLogger(__name__)

# the research question's answer first after the introduction, then what direct transfer runs on (synthetic
# world); training records before the methods
SECTIONS = (retrieval.introduction, planned.answer, probe.direct_transfer_probe, retrieval.summary,
            retrieval.gap_closed_and_bias, retrieval.data_efficiency, retrieval.ot_ablation, retrieval.per_language,
            planned.optical_vs_each, planned.realistic_first_stage, retrieval.heldout_curves, training.budgets, training.nmt_quality,
            retrieval.methods) + ner.SECTIONS


def render_sections(ctx: ReportContext) -> list:
    """Every section's blocks in order, then one "Figures" section with every figure drawn."""
    sections = [section(ctx) for section in SECTIONS]
    figures = Section()
    figures.h2("Figures")
    for part in sections:
        figures.blocks += [("figure", name, caption) for name, caption in part.figures]
    return [block for part in sections + [figures] for block in part.blocks]


def write_metrics(path: str, ctx: ReportContext, tracks: list[TrackReport] = ()) -> None:
    """Every per-query row of every candidate list (column ``candidates``), and the tracks' (column
    ``track``) when there are tracks."""
    rows = ctx.all_metrics if ctx.all_metrics is not None else ctx.metrics
    if tracks:
        rows = with_tracks(rows, {t.name: t.metrics for t in tracks})
    io.write_parquet(path, pa.Table.from_pandas(rows, preserve_index=False))


def write_ner_metrics(path: str, ctx: ReportContext) -> None:
    """The per-sentence NER counts (an empty table with the same columns when no NER ran)."""
    counts = ctx.ner.counts if ctx.ner is not None else load_ner([], [])
    io.write_parquet(path, pa.Table.from_pandas(counts[NER_COLUMNS], preserve_index=False))


def all_tests(ctx: ReportContext):
    """Every test of the report, one row each (:data:`~optical.report.inference.TEST_COLUMNS`)."""
    first = ctx.settings.first_stage
    parts = [headline_rows(ctx.headline_tests, first), paired_rows(ctx.comparisons, "vs_direct", first),
             paired_rows(ctx.versus, "optical_vs_each", first)]
    parts += [paired_rows(sub.comparisons, "vs_direct", name) for name, sub in ctx.lists.items()]
    parts.append(ner_rows(ctx.ner.comparisons if ctx.ner is not None else None))
    return tests_frame(parts)


def write_tests(path: str, ctx: ReportContext, tracks: list[TrackReport] = ()) -> int:
    tests = all_tests(ctx)[TEST_COLUMNS]
    if tracks:
        tests = with_tracks(tests, {t.name: t.tests for t in tracks})
    io.write_parquet(path, pa.Table.from_pandas(tests, preserve_index=False))
    return len(tests)


def with_track_parts(blocks: list, encoder: str, tracks: list[TrackReport], fig_dir: Path) -> list:
    """The report's blocks, and one part per track after them (optical.report.tracks)."""
    parts, encoders = [], {}
    for i, track in enumerate(tracks, start=2):
        encoders[track.name], part = track_part(track, i, fig_dir)
        parts += part
    return main_part(blocks, encoder, tracks, encoders) + parts


def build_report(*, settings: Settings, metric_files: list[str], training_runs: list[dict],
                 training_dirs: list[str], out_html: str, out_md: str, out_metrics: str, out_figures: str,
                 ner_runs: list[dict] = (), ner_files: list[str] = (), out_ner_metrics: str | None = None,
                 benchmark_files: list[str] = (), nmt_runs: list[dict] = (), nmt_dirs: list[str] = (),
                 nmt_benchmark_files: list[str] = (), out_tests: str | None = None, encoder: str = "",
                 out_blocks: str | None = None, tracks: list[TrackReport] = (), probe_files: list[str] = ()) -> dict:
    """Write the report. ``training_runs[i]`` (a RunKey as a dict) is the run whose model directory is
    ``training_dirs[i]`` and whose Snakemake benchmark is ``benchmark_files[i]``; ``ner_runs[i]``
    ({language, system, seed}) the run of ``ner_files[i]``; ``nmt_runs[i]`` ({language, direction,
    seed}) the NMT model in ``nmt_dirs[i]``, trained by the job of ``nmt_benchmark_files[i]``: run
    keys come from the workflow, never from paths. A missing benchmark file leaves its wall time out.
    Figures go to ``out_figures``, which the Markdown links relatively and the HTML embeds. ``out_blocks``
    keeps the rendered report (with ``encoder``, its encoder in words) for a report that embeds it as
    a track; ``tracks`` are the reports embedded here, one part each; ``probe_files`` the alignment
    probe's rows (synthetic world, optical.probe)."""
    fig_dir = Path(out_figures)
    fig_dir.mkdir(parents=True, exist_ok=True)
    ctx = build_context(settings, metric_files, training_runs, training_dirs, fig_dir, ner_runs, ner_files,
                        benchmark_files, nmt_runs, nmt_dirs, nmt_benchmark_files, probe_files)
    write_metrics(out_metrics, ctx, tracks)
    if out_ner_metrics is not None:
        write_ner_metrics(out_ner_metrics, ctx)
    tests = write_tests(out_tests, ctx, tracks) if out_tests is not None else len(all_tests(ctx))
    blocks = render_sections(ctx)
    if out_blocks is not None:
        write_blocks(out_blocks, encoder, blocks)
    if tracks:
        blocks = with_track_parts(blocks, encoder, list(tracks), fig_dir)
    prefix = Path(os.path.relpath(fig_dir, Path(out_md).parent)).as_posix() + "/"
    io.write_text(out_md, to_markdown(blocks, prefix))
    io.write_text(out_html, to_html(blocks, fig_dir))
    figures = [b[1] for b in blocks if b[0] == "figure"]
    ner_rows_ = len(ctx.ner.counts) if ctx.ner is not None else 0
    log.info("report written: %d metric rows, %d NER rows, %d tests, %d figures", len(ctx.metrics), ner_rows_,
             tests, len(figures))
    return {"rows": len(ctx.metrics), "ner_rows": ner_rows_, "comparisons": len(ctx.comparisons), "tests": tests,
            "figures": figures}
