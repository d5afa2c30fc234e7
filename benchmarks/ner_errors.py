"""Where the NER teacher's errors come from, read off a finished run's predictions:

    python benchmarks/ner_errors.py RUN_DIR [--system direct] [--languages en sw tl nn]

For each language, pooled over the seeds of RUN_DIR/results/ner/<lang>/<system>/seed*.parquet (the
report averages per-seed F1 instead, so its numbers differ slightly):
- typed P / R / F1 (seqeval's entities) and untyped F1 (spans only: how much of the loss is the
  entity's type rather than its boundaries; a span with the right boundaries and the wrong type
  counts only there);
- the predicted spans whose boundaries match no gold span, by where they start: on a lower-case
  word outside every gold entity (an ordinary word taken for a name, even if the span runs on into
  an entity), else overlapping a gold entity (a boundary error), else elsewhere;
- how often an ordinary lower-case word (gold O) is tagged as part of an entity, split by whether it
  holds a "name-only" letter: a letter of English entity tokens that no English O token has (the
  world's names draw from other letters than its English words, a possible shortcut). The letters
  come from the English direct-transfer predictions' gold tags, whatever --system is; English
  itself is shown only for `direct`, the one system with English predictions.

A diagnosis for issue 13's NER target (docs/calibration.md), not a result the report shows.
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

import pandas as pd
from seqeval.metrics.sequence_labeling import get_entities

from optical.ner.scores import prf


def name_only_letters(english: pd.DataFrame) -> set[str]:
    """Letters in English gold entity tokens that no English gold-O token contains."""
    in_names, in_words = set(), set()
    for tokens, gold in zip(english.tokens, english.gold):
        for w, g in zip(tokens, gold):
            (in_words if g == "O" else in_names).update(w.lower())
    return in_names - in_words


def span_counts(frame: pd.DataFrame) -> Counter:
    """Correct / predicted / gold entities, typed and untyped, and where unmatched predictions start."""
    c = Counter()
    for tokens, gold, pred in zip(frame.tokens, frame.gold, frame.pred):
        g, p = set(get_entities(list(gold))), set(get_entities(list(pred)))
        gu, pu = {(a, b) for _, a, b in g}, {(a, b) for _, a, b in p}
        c.update(correct=len(g & p), correct_untyped=len(gu & pu), predicted=len(p), gold=len(g))
        covered = {i for a, b in gu for i in range(a, b + 1)}
        for a, b in pu - gu:
            if a not in covered and not tokens[a][:1].isupper():
                c["spurious_lowercase_O"] += 1
            elif covered & set(range(a, b + 1)):
                c["overlapping_gold"] += 1
            else:
                c["spurious_other"] += 1
    return c


def ordinary_word_rates(frame: pd.DataFrame, letters: set[str]) -> dict[str, tuple[int, float]]:
    """For gold-O lower-case words with and without a name-only letter: how many, and the share tagged
    as part of an entity."""
    seen, tagged = Counter(), Counter()
    for tokens, gold, pred in zip(frame.tokens, frame.gold, frame.pred):
        for w, g, p in zip(tokens, gold, pred):
            if g == "O" and not w[:1].isupper():
                key = "with name-only letter" if set(w) & letters else "without"
                seen[key] += 1
                tagged[key] += p != "O"
    return {k: (seen[k], tagged[k] / seen[k]) for k in seen}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run_dir", type=Path)
    ap.add_argument("--system", default="direct")
    ap.add_argument("--languages", nargs="*", default=["en", "sw", "tl", "nn"])
    args = ap.parse_args()
    root = args.run_dir / "results" / "ner"

    def frames(lang: str, system: str) -> pd.DataFrame:
        files = sorted((root / lang / system).glob("seed*.parquet"))
        if not files:
            raise SystemExit(f"no predictions under {root / lang / system}: run the NER stage first")
        return pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)

    english = frames("en", "direct")  # English predictions exist for the teacher only
    letters = name_only_letters(english)
    print(f"name-only letters (in English entity tokens, never in English O tokens): {''.join(sorted(letters))}")
    print("| language | P | R | F1 | untyped F1 | unmatched spans: lower-case O start / overlapping gold / other "
          "| O words tagged: with name-only letter / without |\n|---|---|---|---|---|---|---|")
    for lang in [lang for lang in args.languages if lang != "en" or args.system == "direct"]:
        d = english if lang == "en" else frames(lang, args.system)
        c = span_counts(d)
        rates = ordinary_word_rates(d, letters)
        unmatched = c["spurious_lowercase_O"] + c["overlapping_gold"] + c["spurious_other"]
        share = " / ".join(f"{100 * c[k] / max(unmatched, 1):.0f}%"
                           for k in ("spurious_lowercase_O", "overlapping_gold", "spurious_other"))
        tagged = " / ".join(f"{100 * rates[k][1]:.0f}% of {rates[k][0]}" if k in rates else "–"
                            for k in ("with name-only letter", "without"))
        p, r, f = prf([c["correct"], c["predicted"], c["gold"]])
        untyped = prf([c["correct_untyped"], c["predicted"], c["gold"]])[2]
        print(f"| {lang} | {100 * p:.0f} | {100 * r:.0f} | {100 * f:.1f} | {100 * untyped:.1f} | {share} | {tagged} |")


if __name__ == "__main__":
    main()
