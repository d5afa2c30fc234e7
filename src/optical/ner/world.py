"""Named entities in the synthetic world, written as PAN-X (WikiANN, XTREME) files.

Sentences are built from the world's concepts (topic and background words, realised in each
language's own lexicon, word order, morphology and function words) plus entity mentions:

- PER: a given and a family name; ORG: one or two name tokens and an organisation word (a concept,
  so it is translated, like "Bank" / "Benki"); LOC: one or two name tokens.
- Names are shared across languages, as Latin-script names mostly are: shared entities are named
  with the world's subject names, which every language's text (and so the encoder's pretraining)
  already carries as anchors. A share of the locations (``exonym_prob``) has its own form in each
  language (exonyms: London / Londres).
- A share of the entities (``local_share``) belongs to one language only and never occurs in English
  training data; their names are new and written in that language's letters, so they look like
  the language's own words: the names a transfer model has never seen.
- Before a mention, with ``trigger_prob``, comes a word that hints at its type (a concept per type:
  "born", "company", "city" ...); reordering may move it behind the mention, as word order does.
- Real text has an open vocabulary: with ``rare_word_prob``, a concept word is instead a rare word,
  made fresh from the language's letters for that occurrence: no word of any lexicon (with or
  without a suffix), no name and no earlier rare word of the same language and split, so it occurs
  in no pretraining text; it is an ordinary ``O`` word that takes suffixes and case like the others.
  Each (language, split) keeps its own record, so a split does not depend on the others' sizes.

Every language gets ``train`` / ``dev`` / ``test`` files in the PAN-X layout (``<lang>:<token><TAB>
<tag>``, BIO tags, a blank line between sentences). The pipeline trains the teacher on English
``train`` and reads the low-resource ``train`` split's text without its tags (Wu et al. 2020's
unlabelled target data). The world's other files do not change: NER draws from its own streams.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from optical import io
from optical.data.synthetic import PIVOT, World, WorldSpec, _draw, _make_forms, _rng, capitalised

TYPES = ("PER", "ORG", "LOC")
SPLITS = ("train", "dev", "test")


@dataclass(frozen=True)
class NerSpec:
    entities_per_type: int
    local_share: float        # share of entities that exist in one language only
    exonym_prob: float        # share of locations with a language-specific form
    trigger_prob: float       # chance of a type-hinting word before a mention
    mentions: tuple[int, int]  # [min, max] mentions per sentence
    sentence_length: tuple[int, int]
    sentences: dict           # split -> sentences per language (English and the others alike)
    background: str = "uniform"  # non-topic words: "uniform" over concepts, or "world": its Zipf draw
    rare_word_prob: float = 0.0  # chance that a concept word is a fresh rare word instead
    english_train: int | None = None  # English train sentences (PAN-X English: 20,000); None: sentences["train"]

    def count(self, lang: str, split: str) -> int:
        if lang == PIVOT and split == "train" and self.english_train is not None:
            return self.english_train
        return self.sentences[split]

    @classmethod
    def from_config(cls, c: dict) -> "NerSpec":
        return cls(entities_per_type=c["entities_per_type"], local_share=c["local_share"],
                   exonym_prob=c["exonym_prob"], trigger_prob=c["trigger_prob"], mentions=tuple(c["mentions"]),
                   sentence_length=tuple(c["sentence_length"]), sentences=dict(c["sentences"]),
                   background=c.get("background", "uniform"), rare_word_prob=c.get("rare_word_prob", 0.0),
                   english_train=c.get("english_train"))


@dataclass
class Entity:
    type: str
    tokens: tuple[str, ...]                       # the shared form
    marker: int | None = None                     # ORG: a concept realised in each language
    exonyms: dict[str, tuple[str, ...]] | None = None

    def realize(self, lang: str, world: World) -> list[str]:
        toks = list(self.exonyms.get(lang, self.tokens) if self.exonyms else self.tokens)
        if self.marker is not None:
            toks.append(world.lexicons[lang].forms[self.marker])
        return toks


class NerWorld:
    def __init__(self, world: World, spec: NerSpec):
        self.world, self.spec = world, spec
        seed = world.spec.seed
        rng = _rng(seed, "ner", "core")
        taken = set(world._taken)
        for lex in world.lexicons.values():
            taken.update(lex.forms, lex.function_words)
        self.taken = taken
        # per (language, split): adding a language or resizing a split changes no other
        self.rare_taken: dict[tuple[str, str], set[str]] = {}
        n = world.spec.n_concepts
        # type hints and organisation words: concepts below the most frequent ones
        pool = rng.choice(np.arange(n // 20, n), 4 * 6, replace=False)
        self.triggers = {t: pool[i * 6:(i + 1) * 6].tolist() for i, t in enumerate(TYPES)}
        self.org_markers = pool[18:24].tolist()
        # shared entities are named with the world's subject names, which every language's text
        # (and so the encoder's pretraining) already carries as anchors; local entities get new
        # names in their own language's letters, so they look like that language's words
        names = list(world.names)
        rng.shuffle(names)
        self.shared = self._entities(rng, int(round(spec.entities_per_type * (1 - spec.local_share))), names)
        self.local = {}
        for code in [PIVOT] + sorted(world.spec.languages):
            r = _rng(seed, "ner", "local", code)
            ls = world.lexicons[code].spec
            n = int(round(spec.entities_per_type * spec.local_share))
            self.local[code] = self._entities(r, n, _make_forms(r, 2 * n * len(TYPES), ls.consonants, ls.vowels,
                                                                (2, 3), self.taken))

    @cached_property
    def words(self) -> set[str]:
        """What a rare word may not be: any word of the world (entity names included, all in taken
        once built), bare or with a suffix of its language. Built on the first rare word only."""
        return set(self.taken).union(*(set(lex.suffixes) | {f + x for f in lex.forms for x in lex.suffixes}
                                       for lex in self.world.lexicons.values()))

    def _entities(self, rng, n: int, name_pool: list[str]) -> dict[str, list[Entity]]:
        out = {}
        if len(name_pool) < 2 * n * len(TYPES):  # at most two name tokens per entity
            raise ValueError(f"{len(name_pool)} names cannot name {n} entities of each type; lower "
                             "ner.world.entities_per_type or raise world.n_subjects")
        for ti, t in enumerate(TYPES):
            ents = []
            names = name_pool[ti * 2 * n:(ti + 1) * 2 * n]
            for i in range(n):
                if t == "PER":
                    ents.append(Entity(t, (names[2 * i], names[2 * i + 1])))
                elif t == "ORG":
                    k = 1 + int(rng.random() < 0.4)
                    ents.append(Entity(t, tuple(names[2 * i:2 * i + k]),
                                       marker=int(self.org_markers[rng.integers(len(self.org_markers))])))
                else:
                    k = 1 + int(rng.random() < 0.3)
                    e = Entity(t, tuple(names[2 * i:2 * i + k]))
                    if rng.random() < self.spec.exonym_prob:  # each language writes it its own way
                        e.exonyms = {}
                        for code, lex in self.world.lexicons.items():
                            if code == PIVOT:
                                continue
                            c, v = lex.spec.consonants, lex.spec.vowels
                            e.exonyms[code] = tuple(_make_forms(rng, k, c, v, (2, 3), self.taken))
                    ents.append(e)
            out[t] = ents
        return out

    def sentence(self, lang: str, rng, split: str = "train") -> tuple[list[str], list[str]]:
        """One tagged sentence: concept words realised like the world's text, entities kept whole."""
        w, s = self.world, self.spec
        subject = w.any_subject(rng)
        topic_words, _, cdf = w.topics[subject.topic]
        lo, hi = s.sentence_length
        items: list = [int(topic_words[min(int(np.searchsorted(cdf, rng.random() * cdf[-1])), len(cdf) - 1)])
                       if rng.random() < 0.5 else self._background_word(rng)
                       for _ in range(int(rng.integers(lo, hi + 1)))]
        if s.rare_word_prob > 0:  # drawn only when on, so the other streams stay as they were
            items = [self._rare_word(lang, split, rng) if r < s.rare_word_prob else it
                     for it, r in zip(items, rng.random(len(items)))]
        for _ in range(int(rng.integers(s.mentions[0], s.mentions[1] + 1))):
            t = TYPES[int(rng.integers(len(TYPES)))]
            pool = self.shared[t] + self.local[lang][t]
            ent = pool[int(rng.integers(len(pool)))]
            pos = int(rng.integers(len(items) + 1))
            mention = [("ENT", ent)]
            if rng.random() < s.trigger_prob:
                mention = [int(self.triggers[t][rng.integers(len(self.triggers[t]))])] + mention
            items[pos:pos] = mention
        return self.realize(lang, items, rng)

    def _rare_word(self, lang: str, split: str, rng) -> str:
        """A form no word of the world and no earlier rare word of this language and split has."""
        ls = self.world.lexicons[lang].spec
        if (lang, split) not in self.rare_taken:
            self.rare_taken[lang, split] = set(self.words)
        taken = self.rare_taken[lang, split]
        return _make_forms(rng, 1, ls.consonants, ls.vowels, (1, 3), taken)[0]

    def _background_word(self, rng) -> int:
        """A non-topic word: uniform over concepts (rare words as often as common ones, the first
        version), or the world's own Zipf draw, so NER text looks like the pretraining text."""
        if self.spec.background == "world":
            return _draw(self.world.concept_cdf, rng)
        return int(rng.integers(self.world.spec.n_concepts))

    def realize(self, lang: str, items: list, rng) -> tuple[list[str], list[str]]:
        """:meth:`synthetic.Lexicon.realize` with tags: windows of items may be reversed, content
        words take suffixes, function words follow items; an entity is one item, tagged BIO."""
        lex = self.world.lexicons[lang]
        ls = lex.spec
        items = list(items)
        if ls.reorder_prob > 0 and ls.reorder_window > 1:
            for i in range(0, len(items), ls.reorder_window):
                if rng.random() < ls.reorder_prob:
                    items[i:i + ls.reorder_window] = items[i:i + ls.reorder_window][::-1]
        words, tags = [], []
        for it in items:
            if isinstance(it, tuple):
                toks = it[1].realize(lang, self.world)
                words += toks
                tags += [f"B-{it[1].type}"] + [f"I-{it[1].type}"] * (len(toks) - 1)
            else:  # a concept id, or a rare word's form
                form = it if isinstance(it, str) else lex.forms[it]
                if ls.morph_prob > 0 and rng.random() < ls.morph_prob:
                    form += lex.suffixes[rng.integers(len(lex.suffixes))]
                words.append(form)
                tags.append("O")
            if rng.random() < ls.function_word_prob:
                words.append(lex.function_words[rng.integers(len(lex.function_words))])
                tags.append("O")
        if self.world.spec.cased:  # entity tokens and the first word, as in the world's text
            words = capitalised(words, [t != "O" for t in tags])
        return words, tags


def write_panx(path: str | Path, lang: str, sentences: list[tuple[list[str], list[str]]]) -> None:
    """PAN-X layout: ``<lang>:<token><TAB><tag>`` per line, a blank line after each sentence."""
    def lines():
        for words, tags in sentences:
            for w, t in zip(words, tags):
                yield f"{lang}:{w}\t{t}"
            yield ""
    io.write_lines(path, lines())


def write_ner_world(world_spec: WorldSpec, ner_spec: NerSpec, out: str | Path, langs: list[str]) -> dict:
    """``out/<lang>/{train,dev,test}`` for English and ``langs``; returns counts."""
    world = World(world_spec)
    ner = NerWorld(world, ner_spec)
    counts = {}
    for lang in [PIVOT] + sorted(langs):
        for split in SPLITS:
            rng = _rng(world_spec.seed, "ner", lang, split)
            sents = [ner.sentence(lang, rng, split) for _ in range(ner_spec.count(lang, split))]
            write_panx(Path(out) / lang / split, lang, sents)
            counts[f"{lang}/{split}"] = len(sents)
    return counts
