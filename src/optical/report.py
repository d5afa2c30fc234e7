"""The final comparison report: Markdown + self-contained HTML + every per-query number as Parquet.

Every number in the report is computed here from the per-query rows that are also saved to
``metrics.parquet``, so a reader can recompute any cell.
"""

from __future__ import annotations

import base64
import html
import io as _io
import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from optical import io
from optical.stats import paired_test

log = logging.getLogger(__name__)

SYSTEM_NAMES = {
    "random": "Random (candidate order)",
    "direct": "Direct transfer (zero-shot teacher)",
    "optical": "OPTICAL (OT distillation)",
    "translate_test_oracle": "Translate-test oracle (gold English docs)",
}


def load_metrics(files: list[str]) -> pd.DataFrame:
    frames = [io.read_parquet(f, ["language", "system", "seed", "query_id", "measure", "value"]).to_pandas()
              for f in files]
    df = pd.concat(frames, ignore_index=True)
    return df.sort_values(["language", "system", "seed", "measure", "query_id"]).reset_index(drop=True)


def system_table(df: pd.DataFrame, systems: list[str], measures: list[str]) -> pd.DataFrame:
    """Per (language, system, measure): mean over queries for each seed, then mean/std over seeds."""
    per_seed = df.groupby(["language", "system", "measure", "seed"])["value"].mean().reset_index()
    agg = per_seed.groupby(["language", "system", "measure"])["value"].agg(
        mean="mean", std=lambda v: float(np.std(v, ddof=1)) if len(v) > 1 else 0.0, seeds="count",
        per_seed=lambda v: ",".join(f"{x:.4f}" for x in v)).reset_index()
    return agg


def comparisons(df: pd.DataFrame, systems: list[str], measures: list[str], baseline: str) -> pd.DataFrame:
    """Each system against ``baseline`` per language and measure, on seed-averaged per-query values."""
    per_query = df.groupby(["language", "system", "measure", "query_id"])["value"].mean()
    rows = []
    for lang in sorted(df["language"].unique()):
        for system in systems:
            if system == baseline or baseline not in systems:
                continue
            for m in measures:
                a = per_query.loc[(lang, system, m)]
                b = per_query.loc[(lang, baseline, m)]
                if set(a.index) != set(b.index):
                    raise ValueError(f"{lang}/{system} and {lang}/{baseline} were evaluated on different queries")
                b = b.loc[a.index]
                t = paired_test(a.to_numpy(), b.to_numpy())
                rows.append({"language": lang, "system": system, "baseline": baseline, "measure": m,
                             "n_queries": t.n, "mean": t.mean_a, "baseline_mean": t.mean_b, "delta": t.delta,
                             "ci_low": t.ci_low, "ci_high": t.ci_high, "t_pvalue": t.t_pvalue,
                             "perm_pvalue": t.perm_pvalue})
    return pd.DataFrame(rows)


def _md_table(header: list[str], rows: list[list[str]]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out)


def _html_table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _fmt(mean: float, std: float, seeds: int) -> str:
    return f"{mean:.4f} ± {std:.4f}" if seeds > 1 else f"{mean:.4f}"


def _p(p: float) -> str:
    return f"{p:.2g}" if p >= 1e-4 else "<1e-4"


def _bar_plot(table: pd.DataFrame, systems: list[str], measure: str, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    langs = sorted(table["language"].unique())
    fig, ax = plt.subplots(figsize=(max(6.0, 1.8 + 1.6 * len(langs)), 4.4))
    width = 0.8 / len(systems)
    for i, system in enumerate(systems):
        sub = table[(table.system == system) & (table.measure == measure)].set_index("language")
        means = [sub.loc[l, "mean"] if l in sub.index else np.nan for l in langs]
        stds = [sub.loc[l, "std"] if l in sub.index else 0 for l in langs]
        ax.bar(np.arange(len(langs)) + i * width - 0.4 + width / 2, means, width, yerr=stds,
               label=SYSTEM_NAMES.get(system, system), capsize=2)
    ax.set_xticks(np.arange(len(langs)), [f"en→{l}" for l in langs])
    ax.set_ylabel(measure)
    ax.set_title(f"{measure} per language pair", fontsize=10)
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=2, frameon=False)
    fig.tight_layout()
    with io.atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)


def _curve_plot(curves: dict[str, list], path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.2))
    for label, curve in sorted(curves.items()):
        steps, vals = zip(*curve)
        ax.plot(steps, vals, marker="o", ms=3, label=label)
    ax.set_xlabel("distillation step")
    ax.set_ylabel("held-out OT loss ⟨P, C⟩")
    ax.set_title("OPTICAL distillation on held-out bitext")
    ax.legend(fontsize=7)
    fig.tight_layout()
    with io.atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)


def build_report(metric_files: list[str], training_dirs: list[str], out_html: str, out_md: str,
                 out_metrics: str, systems: list[str], languages: list[str], measures: list[str],
                 threshold: int, baseline: str = "direct") -> dict:
    df = load_metrics(metric_files)
    missing = sorted({(l, s) for l in languages for s in systems} -
                     set(map(tuple, df[["language", "system"]].drop_duplicates().to_numpy())))
    if missing:
        raise ValueError(f"no metrics for {missing}")
    io.write_parquet(out_metrics, pa.Table.from_pandas(df, preserve_index=False))
    table = system_table(df, systems, measures)
    comp = comparisons(df, systems, measures, baseline)
    out_dir = Path(out_html).parent
    figures = {}
    _bar_plot(table, systems, measures[1] if len(measures) > 1 else measures[0], out_dir / "systems.png")
    figures["systems.png"] = "Every system per language pair (error bars: std over seeds)."
    curves = {}
    for d in training_dirs:
        f = Path(d) / "training.json"
        if f.exists():
            parts = Path(d).parts
            curves[f"en→{parts[-2]} {parts[-1]}"] = json.loads(f.read_text())["heldout_curve"]
    if curves:
        _curve_plot(curves, out_dir / "distill_curve.png")
        figures["distill_curve.png"] = "Held-out OT loss during OPTICAL distillation."

    seeds = sorted(df[df.system.isin([s for s in systems if s != "random"])]["seed"].unique().tolist())
    n_queries = df.groupby("language")["query_id"].nunique().to_dict()
    sections: list[tuple[str, str, list[str], list[list[str]]]] = []  # (kind, title, header, rows)
    for lang in languages:
        t = table[table.language == lang]
        rows = []
        for s in systems:
            cells = []
            for m in measures:
                r = t[(t.system == s) & (t.measure == m)].iloc[0]
                cells.append(_fmt(r["mean"], r["std"], int(r["seeds"])))
            rows.append([SYSTEM_NAMES.get(s, s)] + cells)
        sections.append(("table", f"en→{lang}: systems × measures ({n_queries[lang]} queries)",
                         ["system"] + measures, rows))
        c = comp[comp.language == lang] if len(comp) else comp
        if len(c):
            crow = [[SYSTEM_NAMES.get(r.system, r.system), r.measure, f"{r.delta:+.4f}",
                     f"[{r.ci_low:+.4f}, {r.ci_high:+.4f}]", _p(r.t_pvalue), _p(r.perm_pvalue)]
                    for r in c.itertuples()]
            sections.append(("table", f"en→{lang}: difference to {SYSTEM_NAMES.get(baseline, baseline)}",
                             ["system", "measure", "Δ mean", "95% bootstrap CI", "paired t p", "permutation p"], crow))

    intro = (f"Each system re-ranks the same candidate list per language pair. Metrics by ir-measures; AP, RR "
             f"and R count grade ≥ {threshold} as relevant, nDCG uses the graded judgements. Trained systems: "
             f"seeds {seeds}; cells are mean over queries, then mean ± std over seeds. Differences are paired "
             f"per query (values averaged over seeds) against {baseline}: two-sided paired t-test, sign-flip "
             f"permutation test (10,000 resamples) and a percentile bootstrap CI of the mean difference. "
             f"p-values are not corrected for multiple comparisons.")
    summary_rows = []
    for lang in languages:
        t = table[(table.language == lang) & (table.measure == measures[1 if len(measures) > 1 else 0])]
        summary_rows.append([f"en→{lang}"] + [f"{t[t.system == s]['mean'].iloc[0]:.4f}" for s in systems])
    summary = ("table", f"Summary: {measures[1 if len(measures) > 1 else 0]} per language pair",
               ["pair"] + [SYSTEM_NAMES.get(s, s) for s in systems], summary_rows)
    sections.insert(0, summary)

    md = ["# OPTICAL reproduction: cross-lingual re-ranking report", "", intro, ""]
    for _, title, header, rows in sections:
        md += [f"## {title}", "", _md_table(header, rows), ""]
    for name, caption in figures.items():
        md += [f"![{caption}]({name})", "", f"*{caption}*", ""]
    io.write_text(out_md, "\n".join(md))

    style = ("body{font-family:sans-serif;max-width:1000px;margin:2em auto;} table{border-collapse:collapse;"
             "margin-bottom:1.5em;} td,th{border:1px solid #bbb;padding:3px 8px;text-align:right;}"
             "td:first-child,th:first-child{text-align:left;}")
    body = [f"<h1>OPTICAL reproduction: cross-lingual re-ranking report</h1><p>{html.escape(intro)}</p>"]
    for _, title, header, rows in sections:
        body.append(f"<h2>{html.escape(title)}</h2>{_html_table(header, rows)}")
    for name, caption in figures.items():
        data = base64.b64encode((out_dir / name).read_bytes()).decode()
        body.append(f"<figure><img alt='{html.escape(caption)}' src='data:image/png;base64,{data}'/>"
                    f"<figcaption>{html.escape(caption)}</figcaption></figure>")
    io.write_text(out_html, f"<!doctype html><html><head><meta charset='utf-8'><title>OPTICAL report</title>"
                            f"<style>{style}</style></head><body>{''.join(body)}</body></html>")
    log.info("report written: %d metric rows, %d comparisons", len(df), len(comp))
    return {"rows": len(df), "comparisons": len(comp)}
