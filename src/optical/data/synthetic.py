"""A seeded synthetic multilingual world, written in the real on-disk formats.

The world has one high-resource pivot language ("English") and several low-resource languages.
All languages express the same *concepts*; each has its own word forms, function words,
suffix morphology and local word order. Names and years are shared anchors, as in real
Wikipedia, so a multilingual encoder gets some (but not much) cross-lingual signal for free.

Subjects (Wikipedia-like articles) belong to topics and have a characteristic vocabulary, so
relevance is real: an English query is the first sentence of a subject's English article
(title stripped, as in WikiCLIR), its grade-2 document is the same subject's article in the
low-resource language, and grade-1 documents are articles that link to it or that it links to.

Outputs (see :func:`write_world`): a WikiCLIR source tree that ``ir_datasets`` reads unchanged,
an MS MARCO-style English training set, bitext Parquet per language, monolingual pretraining
text per language, gold English translations of every low-resource document, and gold
translations into each low-resource language of the English queries (for translated-query BM25)
and of the MS MARCO passages (``mmarco/<code>_collection.tsv``, mMARCO-style, for translate-train).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from optical import io
from optical.data.wikiclir import WIKICLIR_DIRS

PIVOT = "en"


@dataclass(frozen=True)
class LanguageSpec:
    code: str
    consonants: str
    vowels: str
    mono_sentences: int      # monolingual pretraining text: the language's resource level
    bitext_pairs: int        # parallel sentences available (the pipeline samples from these)
    coverage: float          # share of subjects that have an article in this language
    reorder_prob: float      # chance that a window of content words is reversed
    reorder_window: int
    morph_prob: float        # chance that a content word carries a suffix
    function_word_prob: float
    # issue 13's knobs for what lets real encoders transfer; 0 leaves the world as it was
    cognate_share: float = 0.0     # concepts whose form is the English form under sound correspondences
    cognate_shift: float = 0.5     # share of English letters (per class) the correspondences change
    code_switch_prob: float = 0.0  # chance that a content word of monolingual text is written in English


@dataclass(frozen=True)
class WorldSpec:
    seed: int
    n_concepts: int
    n_topics: int
    topic_size: int
    signature_size: int
    zipf_exponent: float
    n_subjects: int
    n_msmarco_subjects: int
    sentence_length: tuple[int, int]
    article_sentences: tuple[int, int]
    links_per_article: int
    anchor_prob: float
    english_mono_sentences: int
    msmarco_queries: int
    msmarco_passages_per_subject: int
    hard_negative_prob: float
    english: LanguageSpec
    languages: dict[str, LanguageSpec] = field(default_factory=dict)
    cased: bool = False            # names and sentence-initial words capitalised in every language
    name_syllables: tuple[int, int] = (3, 4)  # content words have 1-3; equal ranges remove a length cue

    @classmethod
    def from_config(cls, world: dict) -> "WorldSpec":
        def lang(code, d):
            return LanguageSpec(code=code, consonants=d["consonants"], vowels=d["vowels"],
                                mono_sentences=d["mono_sentences"], bitext_pairs=d.get("bitext_pairs", 0),
                                coverage=d.get("coverage", 1.0), reorder_prob=d.get("reorder_prob", 0.0),
                                reorder_window=d.get("reorder_window", 2), morph_prob=d.get("morph_prob", 0.0),
                                function_word_prob=d["function_word_prob"],
                                cognate_share=d.get("cognate_share", 0.0), cognate_shift=d.get("cognate_shift", 0.5),
                                code_switch_prob=d.get("code_switch_prob", 0.0))
        return cls(
            seed=world["seed"], n_concepts=world["n_concepts"], n_topics=world["n_topics"],
            topic_size=world["topic_size"], signature_size=world["signature_size"],
            zipf_exponent=world["zipf_exponent"], n_subjects=world["n_subjects"],
            n_msmarco_subjects=world["msmarco"]["subjects"],
            sentence_length=tuple(world["sentence_length"]),
            article_sentences=tuple(world["article_sentences"]),
            links_per_article=world["links_per_article"], anchor_prob=world["anchor_prob"],
            english_mono_sentences=world["english"]["mono_sentences"],
            msmarco_queries=world["msmarco"]["queries"],
            msmarco_passages_per_subject=world["msmarco"]["passages_per_subject"],
            hard_negative_prob=world["msmarco"]["hard_negative_prob"],
            english=lang(PIVOT, world["english"]),
            languages={c: lang(c, d) for c, d in sorted(world["languages"].items())},
            cased=world.get("cased", False), name_syllables=tuple(world.get("name_syllables", (3, 4))),
        )


def _rng(seed: int, *keys: str | int) -> np.random.Generator:
    """An independent stream per (seed, keys): adding a language never changes another's data."""
    return np.random.default_rng([seed] + [zlib.crc32(str(k).encode()) for k in keys])


def _make_forms(rng, n: int, consonants: str, vowels: str, syllables: tuple[int, int], taken: set[str]) -> list[str]:
    forms = []
    while len(forms) < n:
        k = rng.integers(syllables[0], syllables[1] + 1)
        word = "".join(rng.choice(list(consonants)) + rng.choice(list(vowels)) for _ in range(k))
        if rng.random() < 0.3:  # closed final syllable
            word += rng.choice(list(consonants))
        if word not in taken:
            taken.add(word)
            forms.append(word)
    return forms


@dataclass
class Lexicon:
    """How one language writes concepts: forms, function words, suffixes, order and morphology."""
    spec: LanguageSpec
    forms: list[str]
    function_words: list[str]
    suffixes: list[str]
    cased: bool = False

    def realize(self, items: list, rng) -> str:
        """Turn a sequence of concept ids (int) and anchors (str) into a sentence of this language."""
        return " ".join(self.realize_aligned(items, rng)[0])

    def realize_aligned(self, items: list, rng) -> tuple[list[str], list[int]]:
        """The words of :meth:`realize` and, per word, the position in ``items`` it expresses (-1: a
        function word). Two languages' words with the same position are translations: the
        generator's word alignment."""
        s = self.spec
        order = list(range(len(items)))
        if s.reorder_prob > 0 and s.reorder_window > 1:
            w = s.reorder_window
            for i in range(0, len(order), w):
                if rng.random() < s.reorder_prob:
                    order[i:i + w] = order[i:i + w][::-1]
        words, origins = [], []
        for pos in order:
            it = items[pos]
            if isinstance(it, str):
                words.append(it)
            else:
                form = self.forms[it]
                if s.morph_prob > 0 and rng.random() < s.morph_prob:
                    form += self.suffixes[rng.integers(len(self.suffixes))]
                words.append(form)
            origins.append(pos)
            if rng.random() < s.function_word_prob:
                words.append(self.function_words[rng.integers(len(self.function_words))])
                origins.append(-1)
        if self.cased:  # names: string anchors that are not years
            words = capitalised(words, [0 <= o < len(items) and isinstance(items[o], str) and not items[o].isdigit()
                                        for o in origins])
        return words, origins


def capitalise(word: str) -> str:
    return word[:1].upper() + word[1:]


def capitalised(words: list[str], names: list[bool]) -> list[str]:
    """The sentence's first word and the words flagged in ``names`` capitalised (world.cased), so
    that case is a cue to a name but not a perfect one."""
    return [capitalise(w) if i == 0 or name else w for i, (w, name) in enumerate(zip(words, names))]


def sound_correspondences(rng, ls: LanguageSpec, english: LanguageSpec) -> dict[str, str]:
    """A regular, per-language map of English letters: in each class (consonants, vowels) exactly
    ``round(cognate_shift * n)`` of its n letters change, each into another of the language's letters
    of that class; the rest stay. Exact counts, not a chance per letter: a chance per letter drew how
    close each language's cognates are to English (7% to 57% of letters on the reported worlds),
    which is typology, not resource level (docs/calibration.md, amendment 5)."""
    out = {}
    for source, target in ((english.consonants, ls.consonants), (english.vowels, ls.vowels)):
        n = round(ls.cognate_shift * len(source))
        changed = set(rng.choice(list(source), n, replace=False).tolist()) if n else set()
        for letter in source:
            others = [t for t in target if t != letter] or [letter]
            out[letter] = str(rng.choice(others)) if letter in changed else letter
    return out


@dataclass
class Subject:
    topic: int
    name: str
    year: str
    signature: np.ndarray
    links: list[int] = field(default_factory=list)


class World:
    def __init__(self, spec: WorldSpec):
        self.spec = spec
        rng = _rng(spec.seed, "core")
        ranks = np.arange(1, spec.n_concepts + 1, dtype=float)
        self.concept_p = ranks ** -spec.zipf_exponent
        self.concept_p /= self.concept_p.sum()
        self.concept_cdf = np.cumsum(self.concept_p)
        # topics draw distinctive vocabularies from below the most frequent concepts (those act as
        # background words everywhere); within a topic, word frequency is again Zipf-like
        self.topics = []
        head = min(spec.n_concepts // 20, spec.n_concepts - spec.topic_size)
        topic_p = 1.0 / np.arange(1, spec.topic_size + 1)
        topic_p /= topic_p.sum()
        for _ in range(spec.n_topics):
            words = head + rng.choice(spec.n_concepts - head, spec.topic_size, replace=False)
            self.topics.append((words, topic_p, np.cumsum(topic_p)))
        self._taken: set[str] = set()
        n_names = spec.n_subjects + spec.n_msmarco_subjects
        self.names = _make_forms(rng, n_names, "bdgklmnrstvz", "aeiou", spec.name_syllables, self._taken)
        self.subjects = [self._subject(rng, i) for i in range(spec.n_subjects)]
        self.msmarco_subjects = [self._subject(rng, spec.n_subjects + i) for i in range(spec.n_msmarco_subjects)]
        by_topic: dict[int, list[int]] = {}
        for i, s in enumerate(self.subjects):
            by_topic.setdefault(s.topic, []).append(i)
        for i, s in enumerate(self.subjects):
            peers = [j for j in by_topic[s.topic] if j != i]
            k = min(spec.links_per_article, len(peers))
            s.links = sorted(int(j) for j in rng.choice(peers, k, replace=False)) if k else []
        self.lexicons = {PIVOT: self._lexicon(spec.english)}
        for code, ls in spec.languages.items():
            self.lexicons[code] = self._lexicon(ls)

    def _subject(self, rng, i: int) -> Subject:
        topic = int(rng.integers(self.spec.n_topics))
        words, p, _ = self.topics[topic]
        sig = rng.choice(words, self.spec.signature_size, replace=False, p=p)
        return Subject(topic=topic, name=self.names[i], year=str(int(rng.integers(1500, 2030))), signature=sig)

    def _lexicon(self, ls: LanguageSpec) -> Lexicon:
        """Forms are unique within the language and never collide with names or (for the
        low-resource languages) English words. Two low-resource languages may share a form by
        chance; each draws from its own stream so that adding a language changes no other."""
        rng = _rng(self.spec.seed, "lexicon", ls.code)
        taken = self._taken if ls.code == PIVOT else set(self._taken)
        forms = _make_forms(rng, self.spec.n_concepts, ls.consonants, ls.vowels, (1, 3), taken)
        function_words = _make_forms(rng, 8, ls.consonants, ls.vowels, (1, 1), taken)
        suffixes = _make_forms(rng, 4, ls.consonants, ls.vowels, (1, 1), taken)
        if ls.cognate_share > 0:
            self._add_cognates(ls, forms, function_words + suffixes)
        return Lexicon(ls, forms, function_words, suffixes, cased=self.spec.cased)

    def _add_cognates(self, ls: LanguageSpec, forms: list[str], reserved: list[str]) -> None:
        """Replace a ``cognate_share`` of the forms by the English form under the language's sound
        correspondences (own stream: the rest of the world is unchanged). A derived form that would
        make two concepts, a name or a function word look alike keeps the native form."""
        rng = _rng(self.spec.seed, "cognates", ls.code)  # which concepts: the same whatever the shift
        shift = sound_correspondences(_rng(self.spec.seed, "sound-shift", ls.code), ls, self.spec.english)
        english = self.lexicons[PIVOT].forms
        used = set(forms) | set(reserved) | set(self.names)
        for concept in np.flatnonzero(rng.random(len(forms)) < ls.cognate_share).tolist():
            derived = "".join(shift.get(c, c) for c in english[concept])
            if derived not in used:
                used.add(derived)
                forms[concept] = derived

    # --- content ------------------------------------------------------------------------
    def sentence(self, subject: Subject, rng, *, with_name: bool, length=None) -> list:
        """A concept sequence about ``subject``: signature, topic and background words plus anchors."""
        lo, hi = length or self.spec.sentence_length
        n = int(rng.integers(lo, hi + 1))
        words, _, cdf = self.topics[subject.topic]
        items: list = []
        for _ in range(n):
            r = rng.random()
            if r < 0.35:
                items.append(int(subject.signature[rng.integers(len(subject.signature))]))
            elif r < 0.7:
                items.append(int(words[_draw(cdf, rng)]))
            else:
                items.append(_draw(self.concept_cdf, rng))
        if with_name:
            items.insert(int(rng.integers(len(items) + 1)), subject.name)
        if rng.random() < self.spec.anchor_prob:
            anchor = subject.year
            if subject.links and rng.random() < 0.5:
                anchor = self.subjects[subject.links[rng.integers(len(subject.links))]].name
            items.insert(int(rng.integers(len(items) + 1)), anchor)
        return items

    def article(self, subject: Subject, rng) -> list[list]:
        lo, hi = self.spec.article_sentences
        n = int(rng.integers(lo, hi + 1))
        # the first sentence names the subject, like a Wikipedia lead; the rest sometimes do
        return [self.sentence(subject, rng, with_name=(i == 0 or rng.random() < 0.3)) for i in range(n)]

    def text(self, lang: str, sentences: list[list], rng) -> str:
        lex = self.lexicons[lang]
        return " . ".join(lex.realize(s, rng) for s in sentences) + " ."

    def title(self, subject: Subject) -> str:
        return capitalise(subject.name) if self.spec.cased else subject.name

    def mono_text(self, lang: str, items: list, rng, switch_rng) -> str:
        """A monolingual sentence; in a low-resource language each content word is written in English
        with chance ``code_switch_prob`` (web text mixes languages), decided on its own stream."""
        words, origins = self.lexicons[lang].realize_aligned(items, rng)
        p = self.lexicons[lang].spec.code_switch_prob
        if lang != PIVOT and p > 0:
            english = self.lexicons[PIVOT].forms
            words = [english[items[o]] if o >= 0 and isinstance(items[o], int) and switch_rng.random() < p else w
                     for w, o in zip(words, origins)]
        return " ".join(words) + " ."

    def aligned_sentence(self, lang: str, items: list, rng) -> tuple[str, list[int]]:
        """One sentence as :meth:`text` writes it, with each word's origin (realize_aligned); the
        final full stop is aligned to the other language's (origin ``len(items)``)."""
        words, origins = self.lexicons[lang].realize_aligned(items, rng)
        return " ".join(words + ["."]), origins + [len(items)]

    def any_subject(self, rng) -> Subject:
        pool = len(self.subjects) + len(self.msmarco_subjects)
        i = int(rng.integers(pool))
        return self.subjects[i] if i < len(self.subjects) else self.msmarco_subjects[i - len(self.subjects)]


def _draw(cdf: np.ndarray, rng) -> int:
    """One draw from the distribution with cumulative ``cdf`` (O(log n), unlike rng.choice(p=...))."""
    return min(int(np.searchsorted(cdf, rng.random() * cdf[-1], side="right")), len(cdf) - 1)


def _ids(rng, n: int, lo: int = 100000, hi: int = 9999999) -> list[str]:
    return [str(x) for x in rng.choice(np.arange(lo, hi), n, replace=False)]


def write_world(spec: WorldSpec, out: str | Path) -> dict:
    """Write every file of the world under ``out``; returns a manifest of counts."""
    out = Path(out)
    world = World(spec)
    manifest: dict = {"seed": spec.seed, "languages": {}}

    # English Wikipedia: one article per subject; queries are first sentences, title stripped.
    rng = _rng(spec.seed, "wiki", PIVOT)
    qids = _ids(rng, spec.n_subjects)
    en_articles = [world.article(s, rng) for s in world.subjects]
    src = out / "ir_datasets" / "wikiclir" / "source" / "wiki-clir"
    lines, firsts = [], []
    for qid, subj, art in zip(qids, world.subjects, en_articles):
        first = [w for w in art[0] if w != subj.name]
        firsts.append(first)
        lines.append(f"{qid}\t{world.title(subj)}\t{world.text(PIVOT, [first], rng)}")
    io.write_lines(src / "english" / "wiki_en.queries", lines)

    manifest["msmarco"], passage_items = _write_msmarco(world, out / "msmarco")
    for code, ls in spec.languages.items():
        manifest["languages"][code] = _write_language(world, code, ls, qids, out, src)
        # gold translations for the translate-train and translated-query BM25 baselines; own
        # streams, so they change nothing else in the world
        r = _rng(spec.seed, "query-translation", code)
        io.write_lines(out / "translations" / f"wiki_en.{code}.queries",
                       (f"{qid}\t{world.title(subj)}\t{world.text(code, [first], r)}"
                        for qid, subj, first in zip(qids, world.subjects, firsts)))
        r = _rng(spec.seed, "mmarco", code)
        io.write_lines(out / "mmarco" / f"{code}_collection.tsv",
                       (f"{pid}\t{world.text(code, items, r)}" for pid, items in enumerate(passage_items)))
    # monolingual pretraining text: the imbalance between languages is the point
    for code, n in [(PIVOT, spec.english_mono_sentences)] + [(c, l.mono_sentences) for c, l in spec.languages.items()]:
        r, switch = _rng(spec.seed, "mono", code), _rng(spec.seed, "code-switch", code)
        io.write_lines(out / "mono" / f"{code}.txt",
                       (world.mono_text(code, world.sentence(world.any_subject(r), r, with_name=r.random() < 0.3), r,
                                        switch) for _ in range(n)))
        manifest.setdefault("mono_sentences", {})[code] = n
    io.write_json(out / "manifest.json", manifest)
    return manifest


def _write_language(world: World, code: str, ls: LanguageSpec, qids: list[str], out: Path, src: Path) -> dict:
    spec = world.spec
    rng = _rng(spec.seed, "wiki", code)
    n = spec.n_subjects
    has = np.sort(rng.choice(n, max(1, int(round(ls.coverage * n))), replace=False))
    docids = dict(zip(has.tolist(), _ids(rng, len(has))))
    docs, gold = [], []
    for i in has.tolist():
        subj = world.subjects[i]
        art = world.article(subj, rng)  # comparable, not parallel, to the English article
        docs.append(f"{docids[i]}\t{world.title(subj)}\t{world.text(code, art, rng)}")
        gold.append(f"{docids[i]}\t{world.title(subj)}\t{world.text(PIVOT, art, rng)}")
    d = src / WIKICLIR_DIRS[code]
    io.write_lines(d / f"wiki_{code}.documents", docs)
    io.write_lines(out / "translations" / f"wiki_{code}.en.documents", gold)

    linked: dict[int, set[int]] = {i: set() for i in range(n)}
    for i, s in enumerate(world.subjects):
        for j in s.links:
            linked[i].add(j)
            linked[j].add(i)
    rel = []
    for i in range(n):
        if i not in docids:  # WikiCLIR keeps only queries whose mate exists in the language
            continue
        rel.append(f"{qids[i]} {docids[i]} 2")
        rel.extend(f"{qids[i]} {docids[j]} 1" for j in sorted(linked[i]) if j in docids)
    io.write_lines(d / f"en2{code}.rel", rel)

    r = _rng(spec.seed, "bitext", code)
    sides = {"src": [], "tgt": [], "src_origin": [], "tgt_origin": []}
    for _ in range(ls.bitext_pairs):
        s = world.sentence(world.any_subject(r), r, with_name=r.random() < 0.3)
        for side, lang in (("src", PIVOT), ("tgt", code)):
            text, origins = world.aligned_sentence(lang, s, r)
            sides[side].append(text)
            sides[f"{side}_origin"].append(origins)
    io.write_parquet(out / "bitext" / f"en-{code}.parquet", sides)
    return {"documents": len(docs), "queries": len(docids), "qrels": len(rel), "bitext_pairs": ls.bitext_pairs}


def _write_msmarco(world: World, out: Path) -> tuple[dict, list]:
    """MS MARCO passage layout: collection.tsv, queries.train.tsv, qrels.train.tsv, id triples.
    Also returns each passage's concept sequence, from which translations are realised."""
    spec = world.spec
    rng = _rng(spec.seed, "msmarco")
    subjects = world.msmarco_subjects
    k = spec.msmarco_passages_per_subject
    passages, items = [], []
    for si, s in enumerate(subjects):
        for _ in range(k):
            n = int(rng.integers(2, 4))
            items.append([world.sentence(s, rng, with_name=rng.random() < 0.5) for _ in range(n)])
            passages.append(world.text(PIVOT, items[-1], rng))
    by_subject = [list(range(si * k, si * k + k)) for si in range(len(subjects))]
    by_topic: dict[int, list[int]] = {}
    for si, s in enumerate(subjects):
        by_topic.setdefault(s.topic, []).append(si)
    queries, qrels, triples = [], [], []
    for qi in range(spec.msmarco_queries):
        si = int(rng.integers(len(subjects)))
        s = subjects[si]
        q = world.text(PIVOT, [world.sentence(s, rng, with_name=rng.random() < 0.3, length=(4, 8))], rng)
        pos = int(rng.choice(by_subject[si]))
        peers = [j for j in by_topic[s.topic] if j != si]
        if peers and rng.random() < spec.hard_negative_prob:  # BM25-like hard negative: same topic
            nj = int(rng.choice(peers))
        else:
            nj = int(rng.integers(len(subjects)))
            while nj == si:
                nj = int(rng.integers(len(subjects)))
        neg = int(rng.choice(by_subject[nj]))
        queries.append(f"{qi}\t{q}")
        qrels.append(f"{qi} 0 {pos} 1")
        triples.append(f"{qi}\t{pos}\t{neg}")
    io.write_lines(out / "collection.tsv", (f"{i}\t{p}" for i, p in enumerate(passages)))
    io.write_lines(out / "queries.train.tsv", queries)
    io.write_lines(out / "qrels.train.tsv", qrels)
    io.write_lines(out / "qidpidtriples.train.tsv", triples)
    return {"passages": len(passages), "queries": len(queries), "triples": len(triples)}, items
