"""The docs' result tables, printed from a finished run (docs/results.md is written from them):

    python benchmarks/results_tables.py RUN_DIR [--list sampled]

RUN_DIR/results/report/{metrics,ner_metrics,tests}.parquet: the retrieval table (mean ± std over
seeds of the per-seed mean over queries, gap closed to the ceiling), OPTICAL against every other
system (sign-flip permutation, Holm), direct transfer's share of random → ceiling and NER direct
F1 over English F1, each with a 95% bootstrap interval (optical.calibration.share_interval,
ner_share_interval), and NER F1.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from optical import registry
from optical.calibration import ner_share_interval, regime, share_interval
from optical.data.synthetic import PIVOT
from optical.report.tables import gap_table, ner_table, system_table


def _cell(t: pd.DataFrame, system: str, lang: str) -> str:
    row = t.loc[(system, lang)]
    return f"{row['mean']:.3f}" + (f" ± {row['std']:.3f}" if row["seeds"] > 1 else "")


def _gap(system: str, gap: float) -> str:
    """Direct transfer and the ceiling are the gap's ends (0% and 100% by definition): a dash. Any
    other system without a gap is an error in the run, not a blank."""
    if system in (registry.BASELINE, registry.ORACLE):
        return "–"
    if pd.isna(gap):
        raise SystemExit(f"no gap closed for {system}: is the run complete?")
    return f"{100 * gap:.0f}%"


def retrieval(m: pd.DataFrame, measure: str, langs: list[str]) -> None:
    t = system_table(m[m.measure == measure]).set_index(["system", "language"])
    gaps = gap_table(m, list(m.system.unique()), measure).groupby(["system", "language"]).gap_closed.mean()
    print(f"| system | {' | '.join('en→' + l for l in langs)} | gap closed {' / '.join(langs)} |\n|---|" + "---|" * (len(langs) + 1))
    for s in [s for s in registry.RETRIEVAL if s in set(m.system)]:
        cells = [_cell(t, s, lang) for lang in langs]
        gap = " / ".join(_gap(s, gaps.get((s, l), float("nan"))) for l in langs)
        print(f"| {registry.RETRIEVAL[s].label} | {' | '.join(cells)} | {gap} |")


def _test_cells(g: pd.DataFrame, langs: list[str], p_label: str) -> str:
    """Δ [95% CI] (Holm p) per language of one system's test rows."""
    g = g.set_index("language")
    return " | ".join(f"{g.loc[l, 'delta']:+.3f} [{g.loc[l, 'ci_low']:+.3f}, {g.loc[l, 'ci_high']:+.3f}] "
                      f"({p_label}{g.loc[l, 'p_holm']:.3f})" if l in g.index else "–" for l in langs)


def optical_vs_each(tests: pd.DataFrame, measure: str, first_stage: str, langs: list[str]) -> None:
    t = tests[(tests.family == "optical_vs_each") & (tests.measure == measure) & (tests.candidates == first_stage)
              & (tests.method != "paired t-test")]
    print(f"\n| against | {' | '.join('en→' + l + ' Δ [95% CI] (Holm p)' for l in langs)} |\n|---|" + "---|" * len(langs))
    for other, g in t.groupby("other", sort=False):
        print(f"| {registry.RETRIEVAL[other].label} | {_test_cells(g, langs, '')} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run_dir", type=Path)
    ap.add_argument("--list", default="sampled", help="the candidate list (default: sampled)")
    ap.add_argument("--measure", default="nDCG@10")
    ap.add_argument("--languages", nargs="*", help="column order, lowest resource first (default: sorted)")
    args = ap.parse_args()
    rep = args.run_dir / "results" / "report"
    m = pd.read_parquet(rep / "metrics.parquet")
    m = m[m.candidates == args.list]
    ner = pd.read_parquet(rep / "ner_metrics.parquet")
    langs = args.languages or sorted(m.language.unique())
    retrieval(m, args.measure, langs)
    optical_vs_each(pd.read_parquet(rep / "tests.parquet"), args.measure, args.list, langs)
    target = regime(m, ner[ner.system == registry.BASELINE], {lang: i for i, lang in enumerate(langs)}, args.measure)
    print("\n| language | random | direct | ceiling | direct's share [95% CI] | NER direct F1 | English F1 | "
          "NER share [95% CI] |\n|---|---|---|---|---|---|---|---|")
    for _, r in target.iterrows():
        _, low, high = share_interval(m, r.language, args.measure)
        _, ner_low, ner_high = ner_share_interval(ner, r.language)
        print(f"| {r.language} | {r.random:.3f} | {r.direct:.3f} | {r.ceiling:.3f} | {r.share:.2f} [{low:.2f}, {high:.2f}] | "
              f"{100 * r.direct_f1:.1f} | {100 * r.english_f1:.1f} | {r.ner_share:.2f} [{ner_low:.2f}, {ner_high:.2f}] |")
    ner_markdown(ner, langs)
    answer(pd.read_parquet(rep / "tests.parquet"), langs)


def answer(tests: pd.DataFrame, langs: list[str]) -> None:
    """The report's opening answer (hierarchical bootstrap over seeds, then queries or sentences) and
    each NER system against direct transfer (permutation test, Holm)."""
    for family in ("headline", "ner_vs_direct"):
        t = tests[tests.family == family]
        print(f"\n{family}:\n| system | {' | '.join('en→' + l for l in langs)} |\n|---|" + "---|" * len(langs))
        for system, g in t.groupby("system", sort=False):
            print(f"| {system} vs direct ({g['measure'].iloc[0]}) | {_test_cells(g, langs, 'Holm p ')} |")


def ner_markdown(ner: pd.DataFrame, langs: list[str]) -> None:
    t = ner_table(ner).set_index(["system", "language"])
    print(f"\n| system | English | {' | '.join('en→' + l for l in langs)} |\n|---|---|" + "---|" * len(langs))
    for s in [s for s in registry.NER if s in set(ner.system)]:
        cells = [_f1(t, s, lang) for lang in [PIVOT] + langs]
        print(f"| {registry.NER[s].label} | {' | '.join(cells)} |")


def _f1(t: pd.DataFrame, system: str, lang: str) -> str:
    if (system, lang) not in t.index:
        return "–"
    r = t.loc[(system, lang)]
    return f"{100 * r.f1:.1f} ± {100 * r.f1_std:.1f} (P {100 * r.precision:.0f}, R {100 * r.recall:.0f})"


if __name__ == "__main__":
    main()
