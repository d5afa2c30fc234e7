"""Report blocks to Markdown and to self-contained HTML, cell formats, and figure saving.

A section is a list of blocks (``("h1", text)``, ``("h2", text)``, ``("p", text)``,
``("table", header, rows)``, ``("figure", name, caption)``) plus the figures it drew; the
Markdown links figures by relative path, the HTML embeds them so it stays one file.
"""

from __future__ import annotations

import base64
import html
import re
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # before pyplot: the report runs on machines without a display

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from optical import io  # noqa: E402

STYLE = ("body{font-family:sans-serif;max-width:1100px;margin:2em auto;} table{border-collapse:collapse;"
         "margin-bottom:1.5em;} td,th{border:1px solid #bbb;padding:3px 8px;text-align:right;}"
         "td:first-child,th:first-child{text-align:left;} figure{margin:1em 0;}")


@dataclass
class Section:
    """One section of the report: its blocks in order, and the figures it drew as (file name,
    caption); the report shows every figure together at its end."""
    blocks: list = field(default_factory=list)
    figures: list[tuple[str, str]] = field(default_factory=list)

    def h1(self, text: str) -> None:
        self.blocks.append(("h1", text))

    def h2(self, text: str) -> None:
        self.blocks.append(("h2", text))

    def p(self, text: str) -> None:
        self.blocks.append(("p", text))

    def table(self, header: list[str], rows: list[list[str]]) -> None:
        self.blocks.append(("table", header, rows))

    def figure(self, name: str, caption: str) -> None:
        self.figures.append((name, caption))


# --- cells ------------------------------------------------------------------------------------

def mean_std(mean: float, std: float, seeds: int) -> str:
    return f"{mean:.4f} ± {std:.4f}" if seeds > 1 else f"{mean:.4f}"


def p_value(p: float) -> str:
    return "–" if not np.isfinite(p) else (f"{p:.2g}" if p >= 1e-4 else "<1e-4")


def significance_mark(comp: pd.DataFrame | None, key: tuple, p_column: str, alpha: float) -> str:
    """" ▲" / " ▼" when the comparison at ``key`` (index of ``comp``) is significantly better /
    worse than the baseline (corrected p in ``p_column`` below ``alpha``), else ""."""
    if comp is None or key not in comp.index:
        return ""
    r = comp.loc[key]
    if r[p_column] < alpha:
        return " ▲" if r.delta > 0 else " ▼"
    return ""


def pair_name(lang: str) -> str:
    return f"en→{lang}"


# --- documents --------------------------------------------------------------------------------

def to_markdown(blocks: list, figure_prefix: str = "") -> str:
    """Markdown of ``blocks``; a figure links ``figure_prefix + name`` (relative to the file)."""
    out = []
    for kind, *rest in blocks:
        if kind == "h1":
            out += [f"# {rest[0]}", ""]
        elif kind == "h2":
            out += [f"## {rest[0]}", ""]
        elif kind == "p":
            out += [rest[0], ""]
        elif kind == "table":
            header, rows = rest
            out += ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
            out += ["| " + " | ".join(r) + " |" for r in rows] + [""]
        elif kind == "figure":
            name, caption = rest
            out += [f"![{caption}]({figure_prefix}{name})", "", f"*{caption}*", ""]
    return "\n".join(out)


def _inline(text: str) -> str:
    t = html.escape(text)
    t = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", t)
    return re.sub(r"`(.+?)`", r"<code>\1</code>", t)


def _html_block(kind: str, rest: list, fig_dir: Path) -> str:
    if kind in ("h1", "h2"):
        return f"<{kind}>{html.escape(rest[0])}</{kind}>"
    if kind == "p":
        return f"<p>{_inline(rest[0])}</p>"
    if kind == "table":
        header, rows = rest
        head = "".join(f"<th>{_inline(h)}</th>" for h in header)
        trs = "".join("<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in r) + "</tr>" for r in rows)
        return f"<table><thead><tr>{head}</tr></thead><tbody>{trs}</tbody></table>"
    name, caption = rest
    data = base64.b64encode((fig_dir / name).read_bytes()).decode()
    return (f"<figure><img alt='{html.escape(caption)}' src='data:image/png;base64,{data}'/>"
            f"<figcaption>{html.escape(caption)}</figcaption></figure>")


def to_html(blocks: list, fig_dir: Path) -> str:
    """One self-contained HTML page: figures are read from ``fig_dir`` and embedded as base64."""
    body = "".join(_html_block(kind, rest, fig_dir) for kind, *rest in blocks)
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>OPTICAL report</title><style>{STYLE}"
            f"</style></head><body>{body}</body></html>")


# --- figures ----------------------------------------------------------------------------------

def save_figure(fig, path: Path) -> None:
    fig.tight_layout()
    with io.atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)


def grouped_bars(ax, groups: list[str], series: list[tuple[str, list, list]]) -> None:
    """One bar per (group, series): ``series`` holds (label, values, error bars) per group; NaN
    values leave a gap."""
    width = 0.8 / max(len(series), 1)
    for i, (label, values, errors) in enumerate(series):
        ax.bar(np.arange(len(groups)) + i * width - 0.4 + width / 2, values, width, yerr=errors, capsize=2,
               label=label)
    ax.set_xticks(np.arange(len(groups)), groups)


def legend_below(ax) -> None:
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=3, frameon=False)
