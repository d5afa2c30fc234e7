"""The final comparison report: Markdown + self-contained HTML + every per-query number as Parquet.

Every number in the report's tables is computed here from the per-query, per-seed rows that are
also saved to ``metrics.parquet``, so a reader can recompute any cell. Held-out training curves
come from each student's ``training.json``.
"""

from __future__ import annotations

import base64
import html
import json
import logging
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from optical import io
from optical.stats import gap_closed, holm, paired_test

log = logging.getLogger(__name__)

SYSTEM_NAMES = {
    "random": "Random (candidate order)",
    "bm25": "BM25 (translated queries)",
    "direct": "Direct transfer (zero-shot teacher)",
    "sentence_kd": "Sentence KD (pooled MSE)",
    "token_kd_fixed": "Token KD, fixed alignment",
    "optical": "OPTICAL (OT distillation)",
    "optical_sentence": "OPTICAL + sentence loss",
    "translate_train": "Translate-train",
    "translate_test_oracle": "Translate-test oracle (gold English docs)",
}
# (training data, what is trained) per system, for the methods section
METHODS = {
    "random": ("none", "nothing: the shared candidate list in its (shuffled) order; a floor."),
    "bm25": ("none", "BM25 (bm25s, Lucene variant, config `bm25`) over the whole foreign collection with queries "
             "translated into the document language (gold translations in the synthetic world; a supplied "
             "translation file in the paper setting). Context only: it sees a translation the others do not."),
    "direct": ("English MS MARCO triples", "the English ColBERT teacher encodes English queries and foreign "
               "documents zero-shot (no target-language training)."),
    "sentence_kd": ("bitext", "student document encoder; loss: squared L2 between the mean-pooled token vectors "
                    "of the foreign sentence (student) and of its English side (frozen teacher); "
                    "Reimers & Gurevych 2020 without the English-English term."),
    "token_kd_fixed": ("bitext", "student document encoder; loss ⟨P, C⟩ with C = 1 − cos between student foreign "
                       "tokens and teacher English tokens and P a fixed hard alignment (config "
                       "`distill.fixed_alignment`) instead of the OT plan: isolates the transport plan."),
    "optical": ("bitext", "student document encoder; loss ⟨P, C⟩ with P the entropic OT plan between uniform "
                "token marginals (POT log-Sinkhorn, config `distill.ot`), i.e. OPTICAL."),
    "optical_sentence": ("bitext", "OPTICAL's loss + `distill.sentence_weight` × the sentence-KD loss."),
    "translate_train": ("translated MS MARCO triples (mMARCO-style)", "student document encoder trained with the "
                        "teacher's ranking loss on English queries and translated passages (`translate_train`)."),
    "translate_test_oracle": ("English MS MARCO triples", "the teacher on gold English translations of the "
                              "documents: English→English retrieval, the ceiling distillation tries to reach."),
}
ORACLE, BASELINE = "translate_test_oracle", "direct"
# systems that see gold translations in the synthetic world: references, never "best"
REFERENCES = {ORACLE, "bm25"}
COLUMNS = ["language", "system", "variant", "seed", "query_id", "measure", "value"]


def load_metrics(files: list[str], train_pairs: dict | None = None) -> pd.DataFrame:
    """All per-query rows; ``train_pairs[(lang, system, variant, seed)]`` adds the bitext size used."""
    frames = [io.read_parquet(f, COLUMNS).to_pandas() for f in files]
    df = pd.concat(frames, ignore_index=True)
    tp = train_pairs or {}
    df["train_pairs"] = pd.array([tp.get(k) for k in zip(df.language, df.system, df.variant, df.seed)],
                                 dtype="Int64")
    return df.sort_values(["language", "system", "variant", "seed", "measure", "query_id"]).reset_index(drop=True)


def per_seed_means(df: pd.DataFrame) -> pd.DataFrame:
    return df.groupby(["language", "system", "variant", "measure", "seed"])["value"].mean().reset_index()


def system_table(df: pd.DataFrame) -> pd.DataFrame:
    """Main runs, per (language, system, measure): mean over queries per seed, then mean/std over seeds."""
    ps = per_seed_means(df[df.variant == "main"])
    return ps.groupby(["language", "system", "measure"])["value"].agg(
        mean="mean", std=lambda v: float(np.std(v, ddof=1)) if len(v) > 1 else 0.0, seeds="count",
        per_seed=lambda v: ", ".join(f"{x:.4f}" for x in v)).reset_index()


def comparisons(df: pd.DataFrame, systems: list[str], measures: list[str], baseline: str = BASELINE) -> pd.DataFrame:
    """Each system against ``baseline`` per language and measure, paired per query on seed-averaged
    values; p-values Holm-corrected per measure over the family of systems x languages."""
    main = df[df.variant == "main"]
    per_query = main.groupby(["language", "system", "measure", "query_id"])["value"].mean()
    rows = []
    if baseline not in systems:
        return pd.DataFrame(rows)
    for lang in sorted(main["language"].unique()):
        for system in systems:
            if system == baseline:
                continue
            if (lang, system, measures[0]) not in per_query.index.droplevel("query_id"):
                continue  # the system did not run on this language (paper setting)
            for m in measures:
                a = per_query.loc[(lang, system, m)]
                b = per_query.loc[(lang, baseline, m)]
                if set(a.index) != set(b.index):
                    raise ValueError(f"{lang}/{system} and {lang}/{baseline} were evaluated on different queries")
                t = paired_test(a.to_numpy(), b.loc[a.index].to_numpy())
                rows.append({"language": lang, "system": system, "baseline": baseline, "measure": m,
                             "n_queries": t.n, "mean": t.mean_a, "baseline_mean": t.mean_b, "delta": t.delta,
                             "ci_low": t.ci_low, "ci_high": t.ci_high, "t_pvalue": t.t_pvalue,
                             "perm_pvalue": t.perm_pvalue})
    comp = pd.DataFrame(rows)
    if len(comp):
        for col in ("t_pvalue", "perm_pvalue"):
            comp[col.replace("pvalue", "holm")] = np.nan
            for m, idx in comp.groupby("measure").groups.items():
                comp.loc[idx, col.replace("pvalue", "holm")] = holm(comp.loc[idx, col].to_numpy())
    return comp


def gap_table(df: pd.DataFrame, systems: list[str], measure: str) -> pd.DataFrame:
    """Per language, system and seed: (system − direct) / (oracle − direct), with direct and the
    oracle of the same seed (they share the seed's teacher)."""
    ps = per_seed_means(df[(df.variant == "main") & (df.measure == measure)])
    v = ps.set_index(["language", "system", "seed"])["value"]
    rows = []
    for lang in sorted(ps.language.unique()):
        for seed in sorted(ps[(ps.language == lang) & (ps.system == BASELINE)].seed.unique()):
            d, o = v.get((lang, BASELINE, seed)), v.get((lang, ORACLE, seed))
            if d is None or o is None:
                continue
            for s in systems:
                if s in (BASELINE, ORACLE):
                    continue
                x = v.get((lang, s, seed), v.get((lang, s, 0)))  # untrained systems have one run
                if x is not None:
                    rows.append({"language": lang, "system": s, "seed": seed, "gap_closed": gap_closed(x, d, o)})
    return pd.DataFrame(rows, columns=["language", "system", "seed", "gap_closed"])


# --- rendering ---------------------------------------------------------------------------

def significance_mark(comp: pd.DataFrame | None, key: tuple, p_column: str, alpha: float) -> str:
    """" ▲" / " ▼" when the comparison at ``key`` (index of ``comp``) is significantly better /
    worse than the baseline (corrected p in ``p_column`` below ``alpha``), else ""."""
    if comp is None or key not in comp.index:
        return ""
    r = comp.loc[key]
    if r[p_column] < alpha:
        return " ▲" if r.delta > 0 else " ▼"
    return ""


def _fmt(mean: float, std: float, seeds: int) -> str:
    return f"{mean:.4f} ± {std:.4f}" if seeds > 1 else f"{mean:.4f}"


def _p(p: float) -> str:
    return "–" if not np.isfinite(p) else (f"{p:.2g}" if p >= 1e-4 else "<1e-4")


def _md(blocks: list) -> str:
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
            out += [f"![{caption}]({name})", "", f"*{caption}*", ""]
    return "\n".join(out)


def _inline(text: str) -> str:
    t = html.escape(text)
    t = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", t)
    return re.sub(r"`(.+?)`", r"<code>\1</code>", t)


def _html(blocks: list, fig_dir: Path) -> str:
    style = ("body{font-family:sans-serif;max-width:1100px;margin:2em auto;} table{border-collapse:collapse;"
             "margin-bottom:1.5em;} td,th{border:1px solid #bbb;padding:3px 8px;text-align:right;}"
             "td:first-child,th:first-child{text-align:left;} figure{margin:1em 0;}")
    body = []
    for kind, *rest in blocks:
        if kind in ("h1", "h2"):
            body.append(f"<{kind}>{html.escape(rest[0])}</{kind}>")
        elif kind == "p":
            body.append(f"<p>{_inline(rest[0])}</p>")
        elif kind == "table":
            header, rows = rest
            head = "".join(f"<th>{_inline(h)}</th>" for h in header)
            trs = "".join("<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in r) + "</tr>" for r in rows)
            body.append(f"<table><thead><tr>{head}</tr></thead><tbody>{trs}</tbody></table>")
        elif kind == "figure":
            name, caption = rest
            data = base64.b64encode((fig_dir / name).read_bytes()).decode()
            body.append(f"<figure><img alt='{html.escape(caption)}' src='data:image/png;base64,{data}'/>"
                        f"<figcaption>{html.escape(caption)}</figcaption></figure>")
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>OPTICAL report</title><style>{style}</style>"
            f"</head><body>{''.join(body)}</body></html>")


def _save(fig, path: Path) -> None:
    import matplotlib.pyplot as plt
    fig.tight_layout()
    with io.atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)


def _plt():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def _bar_plot(table: pd.DataFrame, systems: list[str], measure: str, path: Path) -> None:
    plt = _plt()
    langs = sorted(table["language"].unique())
    fig, ax = plt.subplots(figsize=(max(7.0, 2.0 + 2.0 * len(langs)), 4.6))
    width = 0.8 / len(systems)
    for i, system in enumerate(systems):
        sub = table[(table.system == system) & (table.measure == measure)].set_index("language")
        means = [sub.loc[l, "mean"] if l in sub.index else np.nan for l in langs]
        stds = [sub.loc[l, "std"] if l in sub.index else 0 for l in langs]
        ax.bar(np.arange(len(langs)) + i * width - 0.4 + width / 2, means, width, yerr=stds,
               label=SYSTEM_NAMES.get(system, system), capsize=2)
    ax.set_xticks(np.arange(len(langs)), [f"en→{l}" for l in langs])
    ax.set_ylabel(measure)
    ax.set_title(f"{measure} per language pair (mean ± std over seeds)", fontsize=10)
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=3, frameon=False)
    _save(fig, path)


def _gap_plot(gaps: pd.DataFrame, systems: list[str], path: Path) -> None:
    plt = _plt()
    langs = sorted(gaps.language.unique())
    shown = [s for s in systems if s in set(gaps.system)]
    fig, ax = plt.subplots(figsize=(max(7.0, 2.0 + 2.0 * len(langs)), 4.4))
    width = 0.8 / max(len(shown), 1)
    for i, s in enumerate(shown):
        g = gaps[gaps.system == s].groupby("language")["gap_closed"]
        mean, std = g.mean(), g.std(ddof=1).fillna(0)
        ax.bar(np.arange(len(langs)) + i * width - 0.4 + width / 2, [mean.get(l, np.nan) for l in langs], width,
               yerr=[std.get(l, 0) for l in langs], capsize=2, label=SYSTEM_NAMES.get(s, s))
    ax.axhline(0, color="k", lw=0.8)
    ax.axhline(1, color="k", lw=0.8, ls="--")
    ax.set_xticks(np.arange(len(langs)), [f"en→{l}" for l in langs])
    ax.set_ylabel("gap closed: (system − direct) / (oracle − direct)")
    ax.set_title("Share of the direct-transfer gap to translate-test closed (1 = ceiling)", fontsize=10)
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=3, frameon=False)
    _save(fig, path)


def _efficiency_plot(curve: pd.DataFrame, refs: pd.DataFrame, measure: str, path: Path) -> None:
    plt = _plt()
    langs = sorted(curve.language.unique())
    fig, axes = plt.subplots(1, len(langs), figsize=(4.2 * len(langs), 3.6), squeeze=False, sharey=True)
    for ax, lang in zip(axes[0], langs):
        for s, g in curve[curve.language == lang].groupby("system"):
            g = g.sort_values("train_pairs")
            ax.errorbar(g.train_pairs, g["mean"], yerr=g["std"].fillna(0), marker="o", ms=4, capsize=2,
                        label=SYSTEM_NAMES.get(s, s))
        for s, style in ((BASELINE, ":"), (ORACLE, "--")):
            r = refs[(refs.language == lang) & (refs.system == s)]
            if len(r):
                ax.axhline(r["mean"].iloc[0], color="gray", ls=style, lw=1, label=SYSTEM_NAMES[s])
        ax.set_xscale("log")
        sizes = sorted(curve.train_pairs.unique())
        ax.set_xticks(sizes, [str(n) for n in sizes])
        ax.minorticks_off()
        ax.set_xlabel("bitext training pairs")
        ax.set_title(f"en→{lang}", fontsize=10)
    axes[0][0].set_ylabel(measure)
    axes[0][-1].legend(fontsize=7)
    _save(fig, path)


def _bias_plot(table: pd.DataFrame, systems: list[str], measure: str, path: Path) -> None:
    """Per language: the teacher's English→English score and where each method lands below it."""
    plt = _plt()
    t = table[table.measure == measure]
    langs = sorted(t.language.unique())
    shown = [s for s in systems if s != "random"]
    fig, ax = plt.subplots(figsize=(7.5, 1.2 + 0.7 * len(langs)))
    markers = "os^Dv<>pP*"
    for i, s in enumerate(shown):
        vals = [t[(t.language == l) & (t.system == s)]["mean"] for l in langs]
        ax.scatter([v.iloc[0] if len(v) else np.nan for v in vals], np.arange(len(langs)), s=40,
                   marker=markers[i % len(markers)], label=SYSTEM_NAMES.get(s, s), zorder=3)
    for j, l in enumerate(langs):
        row = t[t.language == l]
        ax.hlines(j, row["mean"].min(), row["mean"].max(), color="lightgray", zorder=1)
    ax.set_yticks(np.arange(len(langs)), [f"en→{l}" for l in langs])
    ax.set_xlabel(f"{measure} (right end: English→English with the teacher)")
    ax.set_title("Language bias: distance of each method from the teacher's English→English score", fontsize=10)
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    _save(fig, path)


def _curve_plot(curves: dict, path: Path) -> None:
    """Held-out OT loss per language, mean over seeds per method."""
    plt = _plt()
    langs = sorted({k[0] for k in curves})
    fig, axes = plt.subplots(1, len(langs), figsize=(4.2 * len(langs), 3.4), squeeze=False, sharey=True)
    for ax, lang in zip(axes[0], langs):
        for method in sorted({k[1] for k in curves if k[0] == lang}):
            runs = [c for k, c in curves.items() if k[0] == lang and k[1] == method]
            steps = [p["step"] for p in runs[0]]
            vals = np.nanmean([[p["ot"] for p in c] for c in runs if len(c) == len(steps)], axis=0)
            ax.plot(steps, vals, marker="o", ms=3, label=SYSTEM_NAMES.get(method, method))
        ax.set_title(f"en→{lang}", fontsize=10)
        ax.set_xlabel("distillation step")
    axes[0][0].set_ylabel("held-out OT loss ⟨P, C⟩")
    axes[0][-1].legend(fontsize=7)
    _save(fig, path)


def _read_training(training_dirs: list[str]) -> tuple[dict, dict]:
    """(train_pairs per run key, held-out curves of main bitext runs) from each training.json."""
    pairs, curves = {}, {}
    for d in training_dirs:
        p = Path(d)
        f = p / "training.json"
        if not f.exists():
            continue
        info = json.loads(f.read_text())
        seed = int(p.name.removeprefix("seed"))
        system, lang, variant = p.parts[-4], p.parts[-3], p.parts[-2]
        if "train_pairs" in info:
            pairs[(lang, system, variant, seed)] = int(info["train_pairs"])
        if variant == "main" and "heldout_curve" in info:
            curves[(lang, system, seed)] = info["heldout_curve"]
    return pairs, curves


def build_report(*args, first_stage: str = "sampled", **kwargs) -> dict:
    """See :func:`_build_report`. With ``first_stage`` bm25_translated the candidate order is BM25's
    with translated queries, so the ``random`` system is named for what it is and, like BM25, is a
    reference that sees a translation."""
    saved = dict(SYSTEM_NAMES), dict(METHODS), set(REFERENCES)
    if first_stage == "bm25_translated":
        SYSTEM_NAMES["random"] = "First stage (BM25, translated queries)"
        METHODS["random"] = ("none", "nothing: the shared candidate list in its first-stage order, BM25 top-depth "
                                     "with queries translated into the document language "
                                     "(`candidates.first_stage: bm25_translated`).")
        REFERENCES.add("random")
    try:
        return _build_report(*args, **kwargs)
    finally:
        SYSTEM_NAMES.clear(), SYSTEM_NAMES.update(saved[0])
        METHODS.clear(), METHODS.update(saved[1])
        REFERENCES.clear(), REFERENCES.update(saved[2])


def _build_report(metric_files: list[str], training_dirs: list[str], out_html: str, out_md: str,
                  out_metrics: str, systems: list[str], languages: list[str], measures: list[str],
                  threshold: int, alpha: float = 0.05, baseline: str = BASELINE,
                  pairs: list | None = None, ner: dict | None = None) -> dict:
    """``pairs``: the (language, system) cells that ran (default: every one); a system without data
    for a language (paper setting: no translate-train or translations there) shows "–".
    ``ner``: the NER task's ``files``, ``systems``, ``languages``, ``resamples`` and ``out_metrics``
    (its per-sentence counts); its section and a side-by-side table of both tasks are added."""
    train_pairs, curves = _read_training(training_dirs)
    df = load_metrics(metric_files, train_pairs)
    main = df[df.variant == "main"]
    expected = {tuple(p) for p in pairs} if pairs is not None else {(l, s) for l in languages for s in systems}
    missing = sorted(expected -
                     set(map(tuple, main[["language", "system"]].drop_duplicates().to_numpy())))
    if missing:
        raise ValueError(f"no metrics for {missing}")
    io.write_parquet(out_metrics, pa.Table.from_pandas(df, preserve_index=False))
    key = measures[1] if len(measures) > 1 else measures[0]  # nDCG@10 with the default list
    table = system_table(df)
    comp = comparisons(df, systems, measures, baseline)
    fig_dir = Path(out_html).parent
    seeds = sorted(main[~main.system.isin(["random", "bm25"])]["seed"].unique().tolist())
    n_queries = df.groupby("language")["query_id"].nunique().to_dict()
    T = table.set_index(["language", "system", "measure"])
    C = comp.set_index(["language", "system", "measure"]) if len(comp) else None

    def sig_mark(lang, s, m):
        return significance_mark(C, (lang, s, m), "perm_holm", alpha)

    blocks: list = [("h1", "OPTICAL reproduction: cross-lingual re-ranking report")]
    blocks.append(("p", f"Each system re-ranks the same candidate list per language pair (English queries, "
                        f"foreign documents). Metrics by ir-measures; AP, RR and R count grade ≥ {threshold} as "
                        f"relevant, nDCG uses the graded judgements. Trained systems ran with seeds {seeds}; a "
                        f"cell is the mean over queries per seed, then mean ± std over seeds. Tests pair each "
                        f"system with {baseline} per query (values averaged over seeds): two-sided paired t-test "
                        f"and sign-flip permutation test (10,000 resamples), Holm-corrected over all systems × "
                        f"languages per measure; 95% percentile-bootstrap CIs of the mean difference. "
                        f"▲/▼: significantly better/worse than {baseline} (Holm-corrected permutation p < {alpha})."))

    # summary: systems x languages on the key measure; best non-oracle value per column in bold
    blocks.append(("h2", f"Summary: {key} per language pair"))
    header = ["system"] + [f"en→{l}" for l in languages] + ["mean over pairs"]
    rows = []
    best = {}
    def has(l, s):
        return (l, s) in expected

    for l in languages:
        cands = [(T.loc[(l, s, key), "mean"], s) for s in systems if s not in REFERENCES and has(l, s)]
        best[l] = max(cands)[1] if cands else None
    # a system's mean counts only pairs where it ran; over fewer pairs it is marked
    avg = {s: float(np.mean([T.loc[(l, s, key), "mean"] for l in languages if has(l, s)]))
           for s in systems if any(has(l, s) for l in languages)}
    partial = {s for s in avg if not all(has(l, s) for l in languages)}
    rest = [(v, s) for s, v in avg.items() if s not in REFERENCES and s not in partial]
    best_avg = max(rest)[1] if rest else None
    for s in systems:
        cells = []
        for l in languages:
            if not has(l, s):
                cells.append("–")
                continue
            r = T.loc[(l, s, key)]
            c = _fmt(r["mean"], r["std"], int(r["seeds"]))
            cells.append((f"**{c}**" if best[l] == s else c) + sig_mark(l, s, key))
        a = f"{avg[s]:.4f}" + (" (ran pairs only)" if s in partial else "") if s in avg else "–"
        rows.append([SYSTEM_NAMES.get(s, s)] + cells + [f"**{a}**" if s == best_avg else a])
    blocks.append(("table", header, rows))
    blocks.append(("p", "Bold: best per column among the systems that see no translation; "
                        + ", ".join(SYSTEM_NAMES.get(s, s) for s in systems if s in REFERENCES)
                        + " (document or query translations) are references."))

    figures = []
    _bar_plot(table, systems, key, fig_dir / "systems.png")
    figures.append(("systems.png", f"{key} of every system per language pair (error bars: std over seeds)."))

    # gap closed and language bias
    if ORACLE in systems and baseline in systems:
        gaps = gap_table(df, systems, key)
        if len(gaps):
            blocks.append(("h2", f"Gap closed and language bias ({key})"))
            blocks.append(("p", "The teacher's English→English score (translate-test oracle: the teacher on gold "
                                "English translations) is what a perfect cross-lingual document encoder would give; "
                                "direct transfer's distance from it is the language bias. Gap closed = (system − "
                                "direct) / (oracle − direct) per seed (direct and oracle of the same seed's "
                                "teacher), mean ± std over seeds."))
            shown = [s for s in systems if s not in (baseline, ORACLE)]
            header = ["pair", "EN→EN (oracle)", "direct (bias)"] + [SYSTEM_NAMES.get(s, s) for s in shown]
            rows = []
            for l in languages:
                if not (has(l, ORACLE) and has(l, baseline)):
                    continue
                o, d = T.loc[(l, ORACLE, key), "mean"], T.loc[(l, baseline, key), "mean"]
                row = [f"en→{l}", f"{o:.4f}", f"{d:.4f} ({o - d:+.4f})"]
                for s in shown:
                    g = gaps[(gaps.language == l) & (gaps.system == s)]["gap_closed"]
                    sd = f" ± {100 * g.std(ddof=1):.0f}" if len(g) > 1 else ""
                    row.append(f"{100 * g.mean():.0f}%{sd}" if len(g) else "–")
                rows.append(row)
            blocks.append(("table", header, rows))
            _gap_plot(gaps, shown, fig_dir / "gap_closed.png")
            figures.append(("gap_closed.png", "Gap closed per language: 0 = direct transfer, 1 = translate-test "
                                              "oracle (error bars: std over seeds)."))
            _bias_plot(table, systems, key, fig_dir / "language_bias.png")
            figures.append(("language_bias.png", "Language bias: each method's score against the teacher's "
                                                 "English→English score per language."))

    # data efficiency
    sub = df[df.train_pairs.notna() & (df.measure == key)]
    de_systems = sorted(sub[sub.variant.str.startswith("bitext")].system.unique())
    if de_systems:
        ps = sub[sub.system.isin(de_systems) & (sub.variant.str.startswith("bitext") | (sub.variant == "main"))]
        ps = ps.groupby(["language", "system", "variant", "seed", "train_pairs"])["value"].mean().reset_index()
        curve = ps.groupby(["language", "system", "train_pairs"])["value"].agg(
            mean="mean", std=lambda v: float(np.std(v, ddof=1)) if len(v) > 1 else 0.0, seeds="count").reset_index()
        blocks.append(("h2", f"Data efficiency: {key} against bitext size"))
        blocks.append(("p", "Students trained on nested subsets of the training bitext (same steps and held-out "
                            "split; the largest size is the main run). Mean ± std over the seeds run at that size."))
        header = ["pair", "system"] + [str(n) for n in sorted(curve.train_pairs.unique())]
        rows = []
        for (l, s), g in curve.groupby(["language", "system"]):
            g = g.set_index("train_pairs")
            rows.append([f"en→{l}", SYSTEM_NAMES.get(s, s)] + [
                _fmt(g.loc[n, "mean"], g.loc[n, "std"], int(g.loc[n, "seeds"])) if n in g.index else "–"
                for n in sorted(curve.train_pairs.unique())])
        blocks.append(("table", header, rows))
        _efficiency_plot(curve, table[table.measure == key], key, fig_dir / "data_efficiency.png")
        figures.append(("data_efficiency.png", f"{key} against the number of bitext training pairs (log scale); "
                                               f"dotted: direct transfer, dashed: translate-test oracle."))

    # ablation of the OT settings
    ab = df[(df.measure == key) & df.variant.str.match(r"^(reg|iter)")]
    if len(ab):
        blocks.append(("h2", f"OT ablation ({key})"))
        blocks.append(("p", "Entropic regulariser (reg) and Sinkhorn iteration cap (iter) changed one at a time "
                            "from the main setting; per-seed means over queries, mean over the ablation seeds, "
                            "compared with the main run of the same seeds."))
        rows = []
        for (l, s), g in ab.groupby(["language", "system"]):
            ab_seeds = sorted(g.seed.unique())
            base = per_seed_means(df[(df.language == l) & (df.system == s) & (df.variant == "main") &
                                     (df.measure == key) & df.seed.isin(ab_seeds)])["value"].mean()
            rows.append([f"en→{l}", SYSTEM_NAMES.get(s, s), "main", f"{base:.4f}", ""])
            for v, gv in sorted(g.groupby("variant")):
                m = gv.groupby("seed")["value"].mean().mean()
                rows.append([f"en→{l}", SYSTEM_NAMES.get(s, s), v, f"{m:.4f}", f"{m - base:+.4f}"])
        blocks.append(("table", ["pair", "system", "setting", key, "Δ vs main"], rows))

    # per-language detail
    for lang in languages:
        blocks.append(("h2", f"en→{lang}: systems × measures ({n_queries[lang]} queries)"))
        rows = []
        for s in systems:
            if not has(lang, s):
                continue
            cells = [_fmt(T.loc[(lang, s, m), "mean"], T.loc[(lang, s, m), "std"], int(T.loc[(lang, s, m), "seeds"]))
                     + sig_mark(lang, s, m) for m in measures]
            rows.append([SYSTEM_NAMES.get(s, s)] + cells + [T.loc[(lang, s, key), "per_seed"]])
        blocks.append(("table", ["system"] + measures + [f"{key} per seed"], rows))
        c = comp[comp.language == lang] if len(comp) else comp
        if len(c):
            crow = [[SYSTEM_NAMES.get(r.system, r.system), r.measure, f"{r.delta:+.4f}",
                     f"[{r.ci_low:+.4f}, {r.ci_high:+.4f}]", _p(r.t_pvalue), _p(r.t_holm), _p(r.perm_pvalue),
                     _p(r.perm_holm)] for r in c.itertuples()]
            blocks.append(("h2", f"en→{lang}: difference to {SYSTEM_NAMES.get(baseline, baseline)}"))
            blocks.append(("table", ["system", "measure", "Δ mean", "95% bootstrap CI", "t p", "t p (Holm)",
                                     "permutation p", "permutation p (Holm)"], crow))

    if curves:
        _curve_plot(curves, fig_dir / "distill_curve.png")
        figures.append(("distill_curve.png", "Held-out OT loss ⟨P, C⟩ during distillation, every bitext method "
                                             "(mean over seeds; the same held-out pairs for all)."))

    blocks.append(("h2", "Methods"))
    blocks.append(("table", ["system", "training data", "what is trained / scored"],
                   [[SYSTEM_NAMES.get(s, s), *METHODS.get(s, ("", ""))] for s in systems]))
    blocks.append(("p", "All students start from their seed's teacher and train only the document encoder; "
                        "queries are always encoded by the frozen English teacher. Bitext methods share one budget "
                        "(`distill.steps` × `distill.batch_size`) and one held-out split. Assumptions where the "
                        "paper is silent are listed with their config keys in the README."))
    ner_rows = 0
    if ner is not None:
        from optical.ner_report import load_ner, ner_blocks, side_by_side, write_ner_metrics
        ndf = load_ner(ner["files"])
        write_ner_metrics(ner["out_metrics"], ndf)
        ner_rows = len(ndf)
        if ner["files"]:
            nblocks, nfigures, ntable = ner_blocks(ndf, ner["systems"], ner["languages"], alpha, ner["resamples"],
                                                   fig_dir)
            blocks += nblocks
            figures += nfigures
            header, rows = side_by_side(table, key, ntable, languages, ner["languages"])
            blocks.append(("h1", "Both tasks side by side"))
            blocks.append(("p", f"Per language: re-ranking {key} (mean over seeds) of direct transfer and OPTICAL, "
                                "and NER entity F1 (%) of direct transfer and the distilled systems. Is distillation's "
                                "gain over direct transfer in one task matched in the other?"))
            blocks.append(("table", header, rows))
    blocks.append(("h2", "Figures"))
    for name, caption in figures:
        blocks.append(("figure", name, caption))

    io.write_text(out_md, _md(blocks))
    io.write_text(out_html, _html(blocks, fig_dir))
    log.info("report written: %d metric rows, %d NER rows, %d comparisons, %d figures", len(df), ner_rows, len(comp),
             len(figures))
    return {"rows": len(df), "ner_rows": ner_rows, "comparisons": len(comp), "figures": [f for f, _ in figures]}
