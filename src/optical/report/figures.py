"""The report's figures, each drawn from a frame of :mod:`optical.report.tables`.

``label`` maps a system name to its row name (the registry's label).
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from optical.report.render import grouped_bars, legend_below, pair_name, plt, save_figure

Label = Callable[[str], str]


def plot_systems(table: pd.DataFrame, systems: list[str], measure: str, label: Label, path: Path) -> None:
    """``measure`` of every system per language pair, error bars: std over seeds."""
    langs = sorted(table["language"].unique())
    fig, ax = plt.subplots(figsize=(max(7.0, 2.0 + 2.0 * len(langs)), 4.6))
    series = []
    for system in systems:
        sub = table[(table.system == system) & (table.measure == measure)].set_index("language")
        series.append((label(system), [sub["mean"].get(l, np.nan) for l in langs],
                       [sub["std"].get(l, 0) for l in langs]))
    grouped_bars(ax, [pair_name(l) for l in langs], series)
    ax.set_ylabel(measure)
    ax.set_title(f"{measure} per language pair (mean ± std over seeds)", fontsize=10)
    legend_below(ax)
    save_figure(fig, path)


def plot_gap_closed(gaps: pd.DataFrame, systems: list[str], label: Label, path: Path) -> None:
    langs = sorted(gaps.language.unique())
    fig, ax = plt.subplots(figsize=(max(7.0, 2.0 + 2.0 * len(langs)), 4.4))
    series = []
    for s in [s for s in systems if s in set(gaps.system)]:
        g = gaps[gaps.system == s].groupby("language")["gap_closed"]
        mean, std = g.mean(), g.std(ddof=1).fillna(0)
        series.append((label(s), [mean.get(l, np.nan) for l in langs], [std.get(l, 0) for l in langs]))
    grouped_bars(ax, [pair_name(l) for l in langs], series)
    ax.axhline(0, color="k", lw=0.8)
    ax.axhline(1, color="k", lw=0.8, ls="--")
    ax.set_ylabel("gap closed: (system − direct) / (oracle − direct)")
    ax.set_title("Share of the direct-transfer gap to translate-test closed (1 = ceiling)", fontsize=10)
    legend_below(ax)
    save_figure(fig, path)


def plot_language_bias(table: pd.DataFrame, systems: list[str], measure: str, label: Label, path: Path) -> None:
    """Per language: the teacher's English→English score and where each method lands below it."""
    t = table[table.measure == measure]
    langs = sorted(t.language.unique())
    fig, ax = plt.subplots(figsize=(7.5, 1.2 + 0.7 * len(langs)))
    markers = "os^Dv<>pP*"
    for i, s in enumerate(systems):
        vals = [t[(t.language == l) & (t.system == s)]["mean"] for l in langs]
        ax.scatter([v.iloc[0] if len(v) else np.nan for v in vals], np.arange(len(langs)), s=40,
                   marker=markers[i % len(markers)], label=label(s), zorder=3)
    for j, l in enumerate(langs):
        row = t[t.language == l]
        ax.hlines(j, row["mean"].min(), row["mean"].max(), color="lightgray", zorder=1)
    ax.set_yticks(np.arange(len(langs)), [pair_name(l) for l in langs])
    ax.set_xlabel(f"{measure} (right end: English→English with the teacher)")
    ax.set_title("Language bias: distance of each method from the teacher's English→English score", fontsize=10)
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    save_figure(fig, path)


def plot_data_efficiency(curve: pd.DataFrame, references: dict[str, pd.DataFrame], measure: str, label: Label,
                         path: Path) -> None:
    """``curve``: tables.efficiency_curve; ``references``: line style -> system_table rows of a
    system drawn as a horizontal line per language (direct transfer, the oracle)."""
    langs = sorted(curve.language.unique())
    sizes = sorted(curve.train_pairs.unique())
    fig, axes = plt.subplots(1, len(langs), figsize=(4.2 * len(langs), 3.6), squeeze=False, sharey=True)
    for ax, lang in zip(axes[0], langs):
        for s, g in curve[curve.language == lang].groupby("system"):
            g = g.sort_values("train_pairs")
            ax.errorbar(g.train_pairs, g["mean"], yerr=g["std"].fillna(0), marker="o", ms=4, capsize=2,
                        label=label(s))
        for style, rows in references.items():
            r = rows[rows.language == lang]
            if len(r):
                ax.axhline(r["mean"].iloc[0], color="gray", ls=style, lw=1, label=label(r.system.iloc[0]))
        ax.set_xscale("log")
        ax.set_xticks(sizes, [str(n) for n in sizes])
        ax.minorticks_off()
        ax.set_xlabel("bitext training pairs")
        ax.set_title(pair_name(lang), fontsize=10)
    axes[0][0].set_ylabel(measure)
    axes[0][-1].legend(fontsize=7)
    save_figure(fig, path)


HELDOUT_PANELS = (("relative_objective", "own held-out objective / its step-0 value"),
                  ("translation_p1", "held-out translation P@1 (MaxSim)"))


def plot_heldout_curves(heldout: pd.DataFrame, label: Label, path: Path) -> None:
    """``heldout``: tables.heldout_table. One column per language; rows: each method's own objective
    relative to step 0, and the method-neutral translation P@1 (panels without data stay empty)."""
    langs = sorted(heldout.language.unique())
    colors = {s: f"C{i}" for i, s in enumerate(heldout.system.unique())}  # one colour per method in both rows
    fig, axes = plt.subplots(2, len(langs), figsize=(4.2 * len(langs), 6.4), squeeze=False, sharex="col",
                             sharey="row")
    for j, lang in enumerate(langs):
        for i, (column, ylabel) in enumerate(HELDOUT_PANELS):
            ax = axes[i][j]
            for system, g in heldout[heldout.language == lang].groupby("system", sort=False):
                g = g.dropna(subset=[column]).sort_values("step")
                if len(g):
                    ax.plot(g.step, g[column], marker="o", ms=3, color=colors[system], label=label(system))
            if not ax.lines:
                ax.text(0.5, 0.5, "not recorded by these runs", ha="center", va="center", transform=ax.transAxes,
                        fontsize=8, color="gray")
            axes[i][0].set_ylabel(ylabel, fontsize=9)
        axes[0][j].set_title(pair_name(lang), fontsize=10)
        axes[0][j].axhline(1, color="gray", lw=0.8, ls=":")
        axes[-1][j].set_xlabel("distillation step")
    handles, labels = axes[0][-1].get_legend_handles_labels()
    if not handles:
        handles, labels = axes[-1][-1].get_legend_handles_labels()
    axes[0][-1].legend(handles, labels, fontsize=7)
    save_figure(fig, path)


def plot_ner_f1(table: pd.DataFrame, systems: list[str], label: Label, path: Path) -> None:
    """Entity F1 per language (English first: the teacher on English) and system."""
    langs = sorted(table.language.unique(), key=lambda l: (l != "en", l))
    fig, ax = plt.subplots(figsize=(max(6.0, 1.8 + 1.8 * len(langs)), 4.2))
    series = []
    for s in systems:
        sub = table[table.system == s].set_index("language")
        series.append((label(s), [100 * sub.f1.get(l, np.nan) for l in langs],
                       [100 * sub.f1_std.get(l, 0) for l in langs]))
    grouped_bars(ax, [("en (teacher)" if l == "en" else pair_name(l)) for l in langs], series)
    ax.set_ylabel("entity F1 (%)")
    ax.set_title("NER: entity F1 per language (mean ± std over seeds)", fontsize=10)
    legend_below(ax)
    save_figure(fig, path)
