"""Could any learner align a synthetic language's native words with English from its monolingual
text? A count-based test of the world's text model (issue 13; docs/calibration.md, "What direct
transfer runs on").

    python benchmarks/distributional_alignment.py RUN_DIR [--config CONFIG] [--min-count 5]

The encoder sees each language's monolingual text (results/world/mono/<lang>.txt) and nothing that
pairs the languages but strings both write alike: names, years, English words code-switched into
the low-resource text, cognates spelt exactly like their English source. Here each such string
(lower-cased, at least ``--min-count`` times in each text) is an anchor, and every concept gets, per
language, a vector of how often it shares a sentence with each anchor (positive PMI, its own
string left out). A native (non-cognate) foreign word then retrieves, by cosine, the English
concept whose vector is nearest (P@1 among every English concept with a vector; chance 1 / that
number), and the script also counts how often the concept found is in the same topic as the
translation (the world's sentences draw a subject's topic words; chance: the topic's share of those
concepts). Rows again with names and years alone as anchors. This is a ceiling on what
co-occurrence with shared strings tells, not a model; it trains nothing and reads no result.
``--config`` (default RUN_DIR/trial.yaml when there is one, as benchmarks/calibrate.py leaves,
else RUN_DIR/config/config.yaml) must describe the run's world: the ``keyed``
column, the share of the foreign text's words that are a concept of the lexicon it builds, shows
that it does (0.75 on the default run's own world, the rest being names, years and function words;
0.08-0.22 with world.seed 14 read against world 13's text).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from scipy import sparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from optical.data.synthetic import PIVOT, World, WorldSpec  # noqa: E402
from optical.probe import cognate_masks, word_keys  # noqa: E402


def sentences(path: Path) -> list[list[str]]:
    """A monolingual text's sentences as lower-cased words, full stops left out."""
    return [[w.lower() for w in line.split() if w != "."] for line in path.read_text(encoding="utf-8").splitlines()]


def anchors(en: list[list[str]], xx: list[list[str]], min_count: int) -> list[str]:
    """Strings both texts write, each at least ``min_count`` times in each."""
    def counts(text):
        c = pd.Series([w for s in text for w in s]).value_counts()
        return set(c[c >= min_count].index)
    return sorted(counts(en) & counts(xx))


def cooccurrence(text: list[list[str]], key, n_concepts: int, columns: dict[str, int]) -> sparse.csr_matrix:
    """Concept x anchor: sentences in which the concept (by ``key``) and the anchor both occur, the
    concept's own string not counted as its anchor."""
    rows, cols = [], []
    for s in text:
        present = {columns[w] for w in s if w in columns}
        for w in set(s):
            c = key(w)
            if isinstance(c, (int, np.integer)):
                for a in present - {columns.get(w)}:
                    rows.append(c)
                    cols.append(a)
    data = np.ones(len(rows), dtype=np.float32)
    return sparse.csr_matrix((data, (rows, cols)), shape=(n_concepts, len(columns)))


def ppmi(m) -> np.ndarray:
    """Positive pointwise mutual information of a count matrix (sparse or dense), rows L2-normalised
    (zero rows stay zero)."""
    m = (m.toarray() if sparse.issparse(m) else np.asarray(m)).astype(np.float64)
    total = m.sum()
    if total == 0:
        return m
    expected = m.sum(1, keepdims=True) * m.sum(0, keepdims=True) / total
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(m > 0, np.log(m / expected), 0.0)
    p = np.maximum(p, 0.0)
    norm = np.linalg.norm(p, axis=1, keepdims=True)
    return np.divide(p, norm, out=np.zeros_like(p), where=norm > 0)


def retrieve(en_vecs: np.ndarray, xx_vecs: np.ndarray, queries: np.ndarray, topic_of: np.ndarray) -> dict:
    """Each query concept's foreign vector against every English concept with a vector: P@1, the
    top-1 in the translation's topic, and both chances."""
    candidates = np.flatnonzero(np.linalg.norm(en_vecs, axis=1) > 0)
    queries = queries[np.isin(queries, candidates) & (np.linalg.norm(xx_vecs[queries], axis=1) > 0)]
    if len(queries) == 0:
        return {"words": 0}
    top = candidates[np.argmax(xx_vecs[queries] @ en_vecs[candidates].T, axis=1)]
    topical = topic_of[queries] >= 0
    same = topic_of[top] == topic_of[queries]
    topic_chance = np.mean([np.mean(topic_of[candidates] == t) for t in topic_of[queries][topical]]) if topical.any() \
        else float("nan")
    return {"words": int(len(queries)), "p1": float(np.mean(top == queries)), "p1_chance": 1 / len(candidates),
            "same_topic": float(same[topical].mean()) if topical.any() else float("nan"),
            "same_topic_chance": float(topic_chance)}


def topics(world: World) -> np.ndarray:
    """Each concept's topic (the first that draws it), -1 for background and unused concepts."""
    topic_of = np.full(world.spec.n_concepts, -1)
    for t, (words, _, _) in enumerate(world.topics):
        for w in words:
            if topic_of[w] < 0:
                topic_of[w] = t
    return topic_of


def language_rows(world: World, mono: Path, code: str, en_text: list, min_count: int, cognate: list[bool],
                  topic_of: np.ndarray) -> list:
    """The rows of one language: every shared string as anchors, then names and years only."""
    xx_text = sentences(mono / f"{code}.txt")
    en_lex, xx_lex = world.lexicons[PIVOT], world.lexicons[code]
    key_en, key_xx = word_keys(en_lex.forms, en_lex.suffixes), word_keys(xx_lex.forms, xx_lex.suffixes)
    english_forms = set(en_lex.forms)
    # a code-switched English word in the foreign text is an anchor, not the foreign concept
    key_xx_native = lambda w: None if w in english_forms else key_xx(w)  # noqa: E731
    native = np.flatnonzero(~np.asarray(cognate))
    words = [w for sentence in xx_text for w in sentence]
    keyed = sum(isinstance(key_xx(w), int) or w in english_forms for w in words) / max(len(words), 1)
    rows = []
    shared = anchors(en_text, xx_text, min_count)
    for name, cols in (("every shared string", shared),
                       ("names and years", [a for a in shared if isinstance(key_en(a), str)])):
        columns = {a: i for i, a in enumerate(cols)}
        en_vecs = ppmi(cooccurrence(en_text, key_en, world.spec.n_concepts, columns))
        xx_vecs = ppmi(cooccurrence(xx_text, key_xx_native, world.spec.n_concepts, columns))
        rows.append({"language": code, "sentences": len(xx_text), "keyed": keyed, "anchors": name,
                     "n_anchors": len(cols), **retrieve(en_vecs, xx_vecs, native, topic_of)})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run_dir", type=Path)
    ap.add_argument("--config", type=Path, help="the run's config (default RUN_DIR/trial.yaml or config/config.yaml)")
    ap.add_argument("--min-count", type=int, default=5)
    args = ap.parse_args()
    trial = args.run_dir / "trial.yaml"
    cfg = yaml.safe_load((args.config or (trial if trial.exists() else args.run_dir / "config" / "config.yaml"))
                         .read_text())
    world = World(WorldSpec.from_config(cfg["world"]))
    masks = cognate_masks(world)
    mono = args.run_dir / "results" / "world" / "mono"
    en_text, topic_of = sentences(mono / f"{PIVOT}.txt"), topics(world)
    rows = [r for code in cfg["languages"] for r in language_rows(world, mono, code, en_text, args.min_count,
                                                                  masks[code], topic_of)]
    print(pd.DataFrame(rows).to_markdown(index=False, floatfmt=".3f"))


if __name__ == "__main__":
    main()
