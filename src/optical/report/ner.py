"""The report's NER section: entity F1 per language and system, paired bootstrap tests against
direct transfer, and one table that puts retrieval and NER side by side per language."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from optical import io
from optical.ner import prf
from optical.report import _plt, _save, significance_mark
from optical.stats import holm, paired_bootstrap_f1

NER_NAMES = {
    "direct": "Direct transfer (English NER teacher)",
    "teacher_student": "Teacher-student (Wu et al. 2020)",
    "ot_aligned": "OT-aligned encoder (new)",
}
NER_METHODS = {
    "direct": ("English PAN-X train", "the English teacher (encoder + token classifier) tags the target language "
               "zero-shot."),
    "teacher_student": ("unlabelled target sentences", "a student from the multilingual encoder (`ner.student.init`) "
                        "fits the teacher's label distributions on target text, loss `ner.student.loss` (MSE on "
                        "probabilities as in Wu et al. 2020, or KL)."),
    "ot_aligned": ("bitext", "new, not in either paper: a copy of the teacher whose encoder aligns its foreign token "
                   "states to the frozen teacher's English ones by entropic OT (as OPTICAL, `distill.ot`); the "
                   "teacher's classifier is kept."),
}
_PATH = re.compile(r"results/ner/(?P<lang>[^/]+)/(?P<system>[^/]+)/seed(?P<seed>\d+)\.parquet$")
COUNT_COLUMNS = ["language", "system", "seed", "sentence", "correct", "predicted", "gold_entities"]


def load_ner(files: list[str]) -> pd.DataFrame:
    frames = []
    for f in files:
        m = _PATH.search(str(f))
        if not m:
            raise ValueError(f"{f}: not a results/ner/<lang>/<system>/seed<s>.parquet file")
        t = io.read_parquet(f, ["sentence", "correct", "predicted", "gold_entities"]).to_pandas()
        t = t[["sentence", "correct", "predicted", "gold_entities"]]
        t.insert(0, "seed", int(m["seed"]))
        t.insert(0, "system", m["system"])
        t.insert(0, "language", m["lang"])
        frames.append(t)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=COUNT_COLUMNS)


def ner_table(df: pd.DataFrame) -> pd.DataFrame:
    """Per language and system: P, R, F1 per seed (corpus-level), then mean and std over seeds."""
    rows = []
    for (lang, system), g in df.groupby(["language", "system"]):
        per_seed = []
        for seed, s in sorted(g.groupby("seed")):
            per_seed.append(prf(s[["correct", "predicted", "gold_entities"]].to_numpy()))
        a = np.array(per_seed)
        rows.append({"language": lang, "system": system, "seeds": len(a),
                     "precision": a[:, 0].mean(), "recall": a[:, 1].mean(), "f1": a[:, 2].mean(),
                     "f1_std": a[:, 2].std(ddof=1) if len(a) > 1 else 0.0,
                     "f1_per_seed": " / ".join(f"{100 * x:.1f}" for x in a[:, 2])})
    return pd.DataFrame(rows)


def ner_comparisons(df: pd.DataFrame, systems: list[str], baseline: str = "direct", n_resamples: int = 1000,
                    seed: int = 0) -> pd.DataFrame:
    """Each system against ``baseline`` per target language: paired bootstrap over test sentences on
    seed-averaged F1; p-values Holm-corrected over the family of systems × languages."""
    rows = []
    for lang in sorted(set(df.language) - {"en"}):
        base = df[(df.language == lang) & (df.system == baseline)]
        if base.empty:
            continue
        b = [g.sort_values("sentence")[["correct", "predicted", "gold_entities"]].to_numpy()
             for _, g in sorted(base.groupby("seed"))]
        for system in systems:
            cur = df[(df.language == lang) & (df.system == system)]
            if system == baseline or cur.empty:
                continue
            a = [g.sort_values("sentence")[["correct", "predicted", "gold_entities"]].to_numpy()
                 for _, g in sorted(cur.groupby("seed"))]
            t = paired_bootstrap_f1(a, b, n_resamples=n_resamples, seed=seed)
            rows.append({"language": lang, "system": system, "n_sentences": t.n, "f1": t.f1_a,
                         "baseline_f1": t.f1_b, "delta": t.delta, "ci_low": t.ci_low, "ci_high": t.ci_high,
                         "pvalue": t.pvalue})
    comp = pd.DataFrame(rows)
    if len(comp):
        comp["holm"] = holm(comp["pvalue"].to_numpy())
    return comp


def _bar(table: pd.DataFrame, systems: list[str], path: Path) -> None:
    plt = _plt()
    langs = sorted(table.language.unique(), key=lambda l: (l != "en", l))
    fig, ax = plt.subplots(figsize=(max(6.0, 1.8 + 1.8 * len(langs)), 4.2))
    width = 0.8 / max(len(systems), 1)
    for i, s in enumerate(systems):
        sub = table[table.system == s].set_index("language")
        ax.bar(np.arange(len(langs)) + i * width - 0.4 + width / 2,
               [100 * sub.f1.get(l, np.nan) for l in langs], width,
               yerr=[100 * sub.f1_std.get(l, 0) for l in langs], capsize=2, label=NER_NAMES.get(s, s))
    ax.set_xticks(np.arange(len(langs)), [("en (teacher)" if l == "en" else f"en→{l}") for l in langs])
    ax.set_ylabel("entity F1 (%)")
    ax.set_title("NER: entity F1 per language (mean ± std over seeds)", fontsize=10)
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=3, frameon=False)
    _save(fig, path)


def ner_blocks(df: pd.DataFrame, systems: list[str], languages: list[str], alpha: float, n_resamples: int,
               fig_dir: Path) -> tuple[list, list, pd.DataFrame]:
    """Report blocks, figures and the per-language F1 table of the NER task."""
    table = ner_table(df)
    comp = ner_comparisons(df, systems, n_resamples=n_resamples)
    T = table.set_index(["language", "system"])
    C = comp.set_index(["language", "system"]) if len(comp) else None

    def cell(l, s):
        if (l, s) not in T.index:
            return "–"
        r = T.loc[(l, s)]
        sd = f" ± {100 * r.f1_std:.1f}" if r.seeds > 1 else ""
        return f"{100 * r.f1:.1f}{sd}" + significance_mark(C, (l, s), "holm", alpha)

    seeds = sorted(df.seed.unique().tolist())
    blocks: list = [("h1", "Second task: cross-lingual NER")]
    blocks.append(("p", f"Entity-level precision, recall and F1 with seqeval (PAN-X BIO tags PER, ORG, LOC), in %. "
                        f"Seeds {seeds}: a cell is the corpus F1 per seed, then mean ± std over seeds. Each system "
                        f"is compared with direct transfer by a paired bootstrap over test sentences "
                        f"({n_resamples} resamples, seed-averaged F1), Holm-corrected over all systems × languages; "
                        f"▲/▼: significantly better/worse than direct (p < {alpha}). The English column is the "
                        f"teacher on its own language's test set: the ceiling transfer aims at."))
    header = ["system", "English (teacher)"] + [f"en→{l}" for l in languages] + ["mean over targets"]
    rows = []
    for s in systems:
        vals = [T.loc[(l, s), "f1"] for l in languages if (l, s) in T.index]
        mean = f"{100 * np.mean(vals):.1f}" + ("" if len(vals) == len(languages) else " (ran pairs only)") \
            if vals else "–"
        rows.append([NER_NAMES.get(s, s), cell("en", s)] + [cell(l, s) for l in languages] + [mean])
    blocks.append(("table", header, rows))
    for lang in languages:
        rows = []
        for s in systems:
            if (lang, s) not in T.index:
                continue
            r = T.loc[(lang, s)]
            row = [NER_NAMES.get(s, s), f"{100 * r.precision:.1f}", f"{100 * r.recall:.1f}", cell(lang, s),
                   r.f1_per_seed]
            if C is not None and (lang, s) in C.index:
                c = C.loc[(lang, s)]
                row += [f"{100 * c.delta:+.1f}", f"[{100 * c.ci_low:+.1f}, {100 * c.ci_high:+.1f}]",
                        f"{c.pvalue:.3g}", f"{c.holm:.3g}"]
            else:
                row += ["", "", "", ""]
            rows.append(row)
        n = int(df[df.language == lang].groupby(["system", "seed"]).size().max()) if (df.language == lang).any() else 0
        blocks.append(("h2", f"NER en→{lang} ({n} test sentences)"))
        blocks.append(("table", ["system", "P", "R", "F1", "F1 per seed", "Δ F1 vs direct", "95% bootstrap CI",
                                 "p", "p (Holm)"], rows))
    blocks.append(("h2", "NER methods"))
    blocks.append(("table", ["system", "training data", "what is trained"],
                   [[NER_NAMES.get(s, s), *NER_METHODS.get(s, ("", ""))] for s in systems]))
    figures = []
    if len(table):
        _bar(table, systems, fig_dir / "ner_f1.png")
        figures.append(("ner_f1.png", "NER entity F1 per language and system (English: the teacher on English)."))
    return blocks, figures, table


def side_by_side(retrieval: pd.DataFrame, key: str, ner: pd.DataFrame, languages: list[str],
                 ner_languages: list[str]) -> tuple:
    """One table per language with both tasks: retrieval (``key``, mean over seeds) of direct
    transfer and OPTICAL, NER F1 of direct transfer and each distilled system."""
    R = retrieval.set_index(["language", "system", "measure"]) if len(retrieval) else None
    N = ner.set_index(["language", "system"]) if len(ner) else None

    def r(l, s):
        return f"{R.loc[(l, s, key), 'mean']:.4f}" if R is not None and (l, s, key) in R.index else "–"

    def n(l, s):
        return f"{100 * N.loc[(l, s), 'f1']:.1f}" if N is not None and (l, s) in N.index else "–"

    header = ["language", f"CLIR direct ({key})", f"CLIR OPTICAL ({key})", "NER direct (F1)",
              "NER teacher-student (F1)", "NER OT-aligned (F1)"]
    rows = [[f"en→{l}", r(l, "direct"), r(l, "optical"), n(l, "direct"), n(l, "teacher_student"), n(l, "ot_aligned")]
            for l in sorted(set(languages) | set(ner_languages))]
    return header, rows


def write_ner_metrics(path: str, df: pd.DataFrame) -> None:
    io.write_parquet(path, pa.Table.from_pandas(df[COUNT_COLUMNS] if len(df) else
                                                pd.DataFrame({c: pd.Series(dtype="int64" if c not in
                                                              ("language", "system") else "object")
                                                              for c in COUNT_COLUMNS}), preserve_index=False))
