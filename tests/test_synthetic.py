import copy
import filecmp
from pathlib import Path

import pyarrow.parquet as pq

from optical.data.synthetic import WorldSpec, write_world
from optical.data.wikiclir import WIKICLIR_DIRS


def _files(root: Path) -> list[Path]:
    return sorted(p.relative_to(root) for p in root.rglob("*") if p.is_file())


def test_same_seed_gives_byte_identical_files(tmp_path, small_world):
    write_world(WorldSpec.from_config(small_world), tmp_path / "a")
    write_world(WorldSpec.from_config(small_world), tmp_path / "b")
    files = _files(tmp_path / "a")
    assert files == _files(tmp_path / "b")
    assert len(files) > 10
    for f in files:
        assert filecmp.cmp(tmp_path / "a" / f, tmp_path / "b" / f, shallow=False), f


def test_other_seed_gives_other_world(tmp_path, small_world):
    write_world(WorldSpec.from_config(small_world), tmp_path / "a")
    other = copy.deepcopy(small_world)
    other["seed"] += 1
    write_world(WorldSpec.from_config(other), tmp_path / "b")
    q = "ir_datasets/wikiclir/source/wiki-clir/english/wiki_en.queries"
    assert (tmp_path / "a" / q).read_text() != (tmp_path / "b" / q).read_text()


def test_languages_differ_in_lexicon_order_and_resources(tmp_path, small_world):
    manifest = write_world(WorldSpec.from_config(small_world), tmp_path)
    bitext = {c: pq.read_table(tmp_path / "bitext" / f"en-{c}.parquet").to_pydict() for c in small_world["languages"]}
    en_vocab = {w for s in bitext["sw"]["src"] for w in s.split()}
    for code, bt in bitext.items():
        assert len(bt["src"]) == len(bt["tgt"]) == small_world["languages"][code]["bitext_pairs"]
        xx_vocab = {w for s in bt["tgt"] for w in s.split()}
        shared = en_vocab & xx_vocab
        # only anchors (names, years, punctuation) are shared with English
        assert len(shared) < 0.2 * len(xx_vocab), (code, len(shared), len(xx_vocab))
    mono = manifest["mono_sentences"]
    assert mono["en"] > max(v for k, v in mono.items() if k != "en")


def test_wikiclir_tree_is_consistent(tmp_path, small_world):
    write_world(WorldSpec.from_config(small_world), tmp_path)
    base = tmp_path / "ir_datasets/wikiclir/source/wiki-clir"
    qids = {l.split("\t")[0] for l in (base / "english/wiki_en.queries").read_text().splitlines()}
    assert len(qids) == small_world["n_subjects"]
    for code in small_world["languages"]:
        d = base / WIKICLIR_DIRS[code]
        docs = {l.split("\t")[0] for l in (d / f"wiki_{code}.documents").read_text().splitlines()}
        rels = [l.split() for l in (d / f"en2{code}.rel").read_text().splitlines()]
        assert rels and all(q in qids and doc in docs and g in ("1", "2") for q, doc, g in rels)
        mates = [q for q, _, g in rels if g == "2"]
        assert len(mates) == len(set(mates)) == len(docs)  # one mate per query, one query per document
        gold = (tmp_path / "translations" / f"wiki_{code}.en.documents").read_text().splitlines()
        assert {l.split("\t")[0] for l in gold} == docs


def test_adding_a_language_leaves_the_others_unchanged(tmp_path, small_world):
    one = copy.deepcopy(small_world)
    one["languages"] = {"sw": small_world["languages"]["sw"]}
    write_world(WorldSpec.from_config(one), tmp_path / "one")
    write_world(WorldSpec.from_config(small_world), tmp_path / "all")
    for rel in ["bitext/en-sw.parquet", "ir_datasets/wikiclir/source/wiki-clir/swahili/en2sw.rel",
                "ir_datasets/wikiclir/source/wiki-clir/english/wiki_en.queries"]:
        assert filecmp.cmp(tmp_path / "one" / rel, tmp_path / "all" / rel, shallow=False), rel
