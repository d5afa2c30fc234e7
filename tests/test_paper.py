"""The paper setting, offline: every downloader and loader on fixtures in the real formats, the full
real DAG planned, a fixture-pointed run end to end, and downloads failing cleanly without network."""

import copy
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import textwrap

import pyarrow.parquet as pq
import pytest
import yaml

from conftest import ROOT, snakemake_run, workdir_with
from paper_fixtures import paper_test_config, write_paper_fixtures

from optical.data import download
from optical.errors import InputError, OpticalError

# every proxy variable requests and httpx read, pointed at a closed port: connections fail at once
NO_NETWORK = {k: "http://127.0.0.1:9" for k in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY",
                                                 "all_proxy", "ALL_PROXY")}


@pytest.fixture(scope="module")
def fx(tmp_path_factory, default_config):
    return write_paper_fixtures(tmp_path_factory.mktemp("paper_fixtures"), default_config)


@pytest.fixture(scope="module")
def paper_config():
    return yaml.safe_load((ROOT / "config" / "paper.yaml").read_text())


def fresh_python(code: str, env: dict | None = None, cwd=None) -> subprocess.CompletedProcess:
    """ir_datasets fixes its home at import, so each home gets its own interpreter."""
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, cwd=cwd)


def copy_home(fx, dest):
    return shutil.copytree(fx["irds"], dest)


# --- WikiCLIR ---------------------------------------------------------------------------

def test_wikiclir_archive_is_extracted_and_read_by_ir_datasets(fx, tmp_path):
    home = tmp_path / "home"
    out = fresh_python(f"""
        import json
        from optical.data.download import fetch_wikiclir
        from optical.data.wikiclir import export_collection
        m = fetch_wikiclir({str(home)!r}, {str(tmp_path / 'm.json')!r}, archive={str(fx['archive'])!r},
                           md5={fx['archive_md5']!r})
        print(json.dumps([m["origin"], sorted(m["languages"]),
                          export_collection({str(home)!r}, "sw", "first_sent", {str(tmp_path / 'sw')!r})]))
    """)
    assert out.returncode == 0, out.stderr[-3000:]
    origin, langs, stats = json.loads(out.stdout.splitlines()[-1])
    assert origin.startswith("archive") and langs == ["sw", "vi"]
    tree = fx["tree"] / "swahili"
    assert stats["documents"] == len((tree / "wiki_sw.documents").read_text().splitlines())
    assert stats["qrels"] == len((tree / "en2sw.rel").read_text().splitlines())
    docs = pq.read_table(tmp_path / "sw" / "docs.parquet").to_pylist()
    first = (tree / "wiki_sw.documents").read_text().splitlines()[0].split("\t")
    assert {"doc_id": first[0], "title": first[1], "text": first[2]} in docs
    assert json.loads((tmp_path / "m.json").read_text())["languages"]["vi"]


def test_wikiclir_source_dir_is_linked_not_copied(fx, tmp_path):
    home = tmp_path / "home"
    m = download.fetch_wikiclir(home, tmp_path / "m.json", source_dir=str(fx["tree"]))
    link = home / "wikiclir" / "source" / "wiki-clir"
    assert link.is_symlink() and link.resolve() == fx["tree"].resolve()
    assert m["origin"].startswith("source_dir") and sorted(m["languages"]) == ["sw", "vi"]


def test_wikiclir_checksum_mismatch_names_the_file_and_leaves_nothing(fx, tmp_path):
    home = tmp_path / "home"
    with pytest.raises(InputError, match=r"MD5 .* does not match .*data\.wikiclir\.md5") as e:
        download.fetch_wikiclir(home, tmp_path / "m.json", archive=str(fx["archive"]))  # the official MD5
    assert str(fx["archive"]) in str(e.value)
    assert not (tmp_path / "m.json").exists() and not (home / "wikiclir" / "source").exists()


def test_truncated_wikiclir_archive_leaves_no_partial_tree(fx, tmp_path):
    broken = tmp_path / "wiki-clir.tar.gz"
    broken.write_bytes(fx["archive"].read_bytes()[: fx["archive"].stat().st_size // 2])
    home = tmp_path / "home"
    with pytest.raises(InputError, match="cannot extract"):
        download.fetch_wikiclir(home, tmp_path / "m.json", archive=str(broken), md5=None)
    assert not (tmp_path / "m.json").exists()
    assert not list((home / "wikiclir").iterdir())  # neither the tree nor its temporary directory


def test_an_archive_without_the_wikiclir_layout_is_refused(tmp_path):
    bad = tmp_path / "other.tar.gz"
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "readme.txt").write_text("not wikiclir")
    with tarfile.open(bad, "w:gz") as tar:
        tar.add(tmp_path / "x", arcname="wiki-clir")
    with pytest.raises(InputError, match="not a WikiCLIR source tree"):
        download.fetch_wikiclir(tmp_path / "home", tmp_path / "m.json", archive=str(bad), md5=None)
    assert not (tmp_path / "home" / "wikiclir" / "source").exists()


# --- MS MARCO / mMARCO through ir_datasets ----------------------------------------------

def test_teacher_and_translate_train_triples_come_from_the_ir_datasets_cache(fx, tmp_path):
    home = copy_home(fx, tmp_path / "home")
    out = fresh_python(f"""
        from optical.data.download import fetch_irds
        from optical.data.msmarco import export_irds_triples
        T = "msmarco-passage/train/triples-small"
        fetch_irds({str(home)!r}, [T], {str(tmp_path / 'ms.json')!r}, "MS MARCO passage")
        fetch_irds({str(home)!r}, ["mmarco/v2/vi/train"], {str(tmp_path / 'mm.json')!r}, "mMARCO")
        print(export_irds_triples({str(home)!r}, T, T, T, {str(tmp_path / 'teacher.parquet')!r}, 40, 0))
        print(export_irds_triples({str(home)!r}, "mmarco/v2/vi/train", T, "mmarco/v2/vi/train",
                                  {str(tmp_path / 'tt.parquet')!r}, 0, 0))
    """)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.split()[-2:] == ["40", "100"]

    def tsv(path):
        return dict(line.split("\t", 1) for line in path.read_text().splitlines())

    world = fx["world"]
    en_q, en_p = tsv(world / "msmarco" / "queries.train.tsv"), tsv(world / "msmarco" / "collection.tsv")
    vi_p = tsv(world / "mmarco" / "vi_collection.tsv")
    ids = [line.split("\t") for line in (world / "msmarco" / "qidpidtriples.train.tsv").read_text().splitlines()]
    teacher = pq.read_table(tmp_path / "teacher.parquet").to_pylist()
    expected = {(en_q[q], en_p[a], en_p[b]) for q, a, b in ids}
    assert len(teacher) == 40 and all((r["query"], r["pos"], r["neg"]) in expected for r in teacher)
    tt = pq.read_table(tmp_path / "tt.parquet").to_pylist()
    # English queries with the translated passages of the same ids, every triple in file order
    assert [(r["query"], r["pos"], r["neg"]) for r in tt] == [(en_q[q], vi_p[a], vi_p[b]) for q, a, b in ids]
    manifest = json.loads((tmp_path / "ms.json").read_text())
    assert manifest["datasets"]["msmarco-passage/train/triples-small"] == {"queries": 100, "docpairs": 100,
                                                                          "docs": len(en_p)}


# --- bitext -----------------------------------------------------------------------------

def test_mtdata_output_layout_becomes_bitext_parquet(fx, tmp_path):
    src, tgt = download.read_mtdata_dir(fx["bitext"]["sw"][0].parent, "eng-swa")
    assert (src.name, tgt.name) == ("train.eng", "train.swa")
    stats = download.fetch_bitext(tmp_path / "en-sw.parquet", "sw", {"local_src": str(src), "local_tgt": str(tgt)},
                                  tmp_path / "cache", tmp_path)
    table = pq.read_table(tmp_path / "en-sw.parquet")
    assert table.schema.names == ["src", "tgt"] and table.num_rows == stats["pairs"] == 300
    assert table.column("src").to_pylist() == src.read_text().splitlines()
    assert table.column("tgt").to_pylist() == tgt.read_text().splitlines()
    assert b"provenance" in table.schema.metadata


def test_one_sided_pairs_are_dropped_and_counted(tmp_path):
    (tmp_path / "a.en").write_text("hello world\n\nthird line\nfour\n")
    (tmp_path / "a.sw").write_text("habari dunia\nsecond\n  \nnne\n")
    stats = download.fetch_bitext(tmp_path / "o.parquet", "sw", {"local_src": str(tmp_path / "a.en"),
                                                                 "local_tgt": str(tmp_path / "a.sw")}, tmp_path, tmp_path)
    assert stats["dropped"] == 2
    assert pq.read_table(tmp_path / "o.parquet").to_pylist() == [{"src": "hello world", "tgt": "habari dunia"},
                                                                  {"src": "four", "tgt": "nne"}]


@pytest.mark.parametrize("sw_text, problem", [("one\n", "line-aligned"), ("\n\n", "bitext is empty")])
def test_bad_bitext_files_are_errors_without_output(tmp_path, sw_text, problem):
    (tmp_path / "a.en").write_text("a\nb\n" if problem != "bitext is empty" else "\n\n")
    (tmp_path / "a.sw").write_text(sw_text)
    with pytest.raises(InputError, match=problem):
        download.fetch_bitext(tmp_path / "o.parquet", "sw", {"local_src": str(tmp_path / "a.en"),
                                                             "local_tgt": str(tmp_path / "a.sw")}, tmp_path, tmp_path)
    assert not (tmp_path / "o.parquet").exists()


def test_mtdata_dir_without_merged_files_names_what_it_has(tmp_path):
    (tmp_path / "train-parts").mkdir()
    with pytest.raises(InputError, match=r"no train\.eng .*train-parts.*--merge"):
        download.read_mtdata_dir(tmp_path, "eng-swa")


# --- encoder ----------------------------------------------------------------------------

def test_local_encoder_is_loaded_offline_and_feeds_the_teacher(fx, tmp_path):
    out = fresh_python(f"""
        from optical.data.download import fetch_encoder
        from optical.train.teacher import train_teacher
        from optical import io
        fetch_encoder({str(tmp_path / 'enc')!r}, "bert-base-multilingual-cased", local_path={str(fx['encoder'])!r})
        io.write_parquet({str(tmp_path / 't.parquet')!r}, {{"query": ["a b"] * 4, "pos": ["a b c"] * 4,
                                                          "neg": ["x y"] * 4}})
        cfg = dict(dim=8, query_max_length=8, doc_max_length=16, steps=2, batch_size=2, lr=1e-3, temperature=1.0,
                   checkpoint_every=0, weight_decay=0.01, grad_clip=1.0)
        print(train_teacher({str(tmp_path / 'enc')!r}, {str(tmp_path / 't.parquet')!r}, {str(tmp_path / 'teacher')!r},
                            cfg, seed=0, device="cpu"))
    """, env={"HF_HUB_OFFLINE": "1"})
    assert out.returncode == 0, out.stderr[-3000:]
    source = json.loads((tmp_path / "enc" / "source.json").read_text())
    assert source["model_type"] == "bert" and source["origin"] == f"local {fx['encoder']}"
    assert (tmp_path / "teacher" / "colbert.json").exists()


def test_a_directory_that_is_not_a_model_is_refused(tmp_path):
    with pytest.raises(InputError, match="not a model directory"):
        download.fetch_encoder(tmp_path / "enc", "x", local_path=str(tmp_path))
    assert not (tmp_path / "enc").exists()


# --- no network -------------------------------------------------------------------------

def _offline(code: str, tmp_path) -> str:
    out = fresh_python(f"""
        from optical.data.download import *
        try:
            {code}
        except DownloadError as e:
            print("DOWNLOAD_ERROR", e)
    """, env={**NO_NETWORK, "IR_DATASETS_SKIP_DISK_FREE": "true", "MTDATA": str(tmp_path / "mtdata")}, cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout


@pytest.mark.parametrize("call, source, key", [
    ("fetch_wikiclir('home', 'm/out.json')", "WikiCLIR", "data.wikiclir.archive"),
    ("fetch_irds('home', ['msmarco-passage/train/triples-small'], 'm/out.json', 'MS MARCO passage')",
     "MS MARCO passage", "data.ir_datasets_home"),
    ("fetch_irds('home', ['mmarco/v2/vi/train'], 'm/out.json', 'mMARCO')", "mMARCO", "data.ir_datasets_home"),
    ("fetch_encoder('m/out', 'bert-base-multilingual-cased', cache_dir='hf')", "encoder bert-base-multilingual-cased",
     "encoder.local_path"),
    ("hub_snapshot('Helsinki-NLP/opus-mt-swc-en', 'main', None, 'hf', 'NMT model xx-en for sw', "
     "'languages.sw.nmt_models.xx-en.local_path')", "NMT model xx-en for sw Helsinki-NLP/opus-mt-swc-en",
     "languages.sw.nmt_models.xx-en.local_path"),
])
def test_download_without_network_names_source_and_local_key(tmp_path, call, source, key):
    out = _offline(call, tmp_path)
    assert "DOWNLOAD_ERROR cannot download " + source in out, out
    assert f"config key '{key}'" in out
    assert not (tmp_path / "m").exists() or not any((tmp_path / "m").iterdir())


@pytest.mark.slow  # mtdata builds its dataset index (~20 s) before it can fail
def test_mtdata_without_network_names_the_file_and_leaves_no_bitext(tmp_path):
    out = _offline("fetch_bitext('b/en-sw.parquet', 'sw', {'mtdata': ['OPUS-wikimatrix-v1-eng-swa'], "
                   "'mtdata_langs': 'eng-swa'}, 'mtdata', 'b')", tmp_path)
    assert "DOWNLOAD_ERROR cannot download bitext for sw (mtdata OPUS-wikimatrix-v1-eng-swa)" in out, out
    assert "OPUS-WikiMatrix/v1/moses/en-sw.txt.zip" in out  # the file mtdata tried to fetch
    assert "languages.sw.bitext.local_src" in out
    assert not any((tmp_path / "b").iterdir())  # mtdata's work directory is gone too


def test_mtdata_ids_need_their_language_pair(tmp_path):
    with pytest.raises(OpticalError, match="mtdata_langs"):
        download.fetch_bitext(tmp_path / "o.parquet", "sw", {"mtdata": ["X-y-1-eng-swa"]}, tmp_path, tmp_path)


# --- the workflow -----------------------------------------------------------------------

def _job_counts(stdout: str) -> dict:
    return {k: int(v) for k, v in re.findall(r"^(\w+)\s+(\d+)$", stdout, flags=re.M)}


def test_paper_config_plans_the_full_real_dag(tmp_path, paper_config):
    out = subprocess.run([sys.executable, "-m", "snakemake", "-n", "-s", str(ROOT / "Snakefile"), "--configfile",
                          str(ROOT / "config" / "paper.yaml"), "--directory", str(tmp_path)], cwd=ROOT,
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-3000:]
    counts = _job_counts(out.stdout)
    cfg = paper_config
    langs, n_seed = cfg["languages"], len(cfg["seeds"])
    tt_langs = [l for l, s in langs.items() if s["translate_train"]]
    assert tt_langs == ["vi"]
    assert "make_world" not in counts and "pretrain" not in counts  # real data, pretrained encoder
    assert counts["download_wikiclir"] == counts["download_msmarco"] == counts["download_encoder"] == 1
    assert counts["download_bitext"] == counts["collection"] == counts["bitext"] == counts["candidates"] == len(langs)
    assert counts["download_mmarco"] == counts["translate_train_data"] == len(tt_langs)
    assert counts["teacher_data"] == 1 and counts["teacher"] == n_seed
    de, ab = cfg["data_efficiency"], cfg["ablation"]
    n_de = len(de["bitext_pairs"]) * len(de["seeds"]) * len(langs)
    n_ab = (len(ab["ot_reg"]) + len(ab["ot_max_iter"])) * len(ab["seeds"]) * len(ab["languages"])
    assert counts["distill_optical"] == len(langs) * n_seed + n_de + n_ab
    assert counts["distill_sentence_kd"] == len(langs) * n_seed + n_de
    assert counts["translate_train"] == len(tt_langs) * n_seed
    # NMT on the downloaded bitext: documents and queries per language and seed, the first stage's (seed 0)
    assert counts["nmt_train"] == len(langs) * (2 * n_seed + 1)
    assert counts["nmt_translate_documents"] == len(langs) * n_seed
    assert counts["nmt_translate_queries"] == counts["bm25"] + len(langs) == len(langs) * (n_seed + 1)
    reranked = sum(counts[k] for k in counts if k.startswith("distill_")) + counts["translate_train"] \
        + 2 * len(langs) * n_seed  # direct, NMT translate-test
    assert counts["rerank"] == reranked
    assert counts["evaluate"] == reranked + counts["bm25"] + len(langs)  # + BM25-NMT, the candidate order
    ner = cfg["ner"]
    with_bitext = [l for l in ner["languages"] if l in langs]
    assert with_bitext == ["sw", "tl", "vi"]  # yo and mr: PAN-X but no WikiCLIR, hence no bitext
    assert counts["ner_data"] == len(ner["languages"]) + 1 and "ner_world" not in counts
    assert counts["ner_teacher_student"] == len(ner["languages"]) * n_seed
    n_ot = sum(1 for s in ner["systems"] if s.startswith("ot_aligned"))
    assert counts["ner_ot_aligned"] == n_ot * len(with_bitext) * n_seed
    assert counts["ner_evaluate"] == (2 * len(ner["languages"]) + n_ot * len(with_bitext) + 1) * n_seed


@pytest.mark.slow
def test_a_pretrained_nmt_model_replaces_training_for_its_language_and_direction(tmp_path, paper_config):
    cfg = copy.deepcopy(paper_config)
    cfg["languages"]["sw"]["nmt_models"] = {"xx-en": {"hub_id": "Helsinki-NLP/opus-mt-swc-en", "revision": "main",
                                                      "local_path": None}}
    (tmp_path / "paper.yaml").write_text(yaml.safe_dump(cfg))
    out = subprocess.run([sys.executable, "-m", "snakemake", "-n", "-s", str(ROOT / "Snakefile"), "--configfile",
                          str(tmp_path / "paper.yaml"), "--directory", str(tmp_path)], cwd=ROOT,
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-3000:]
    counts, n_seed = _job_counts(out.stdout), len(cfg["seeds"])
    assert counts["nmt_pretrained"] == 1  # one model serves every seed
    assert counts["nmt_train"] == len(cfg["languages"]) * (2 * n_seed + 1) - n_seed
    assert "resources/models/nmt/xx-en/sw" in out.stdout + out.stderr


@pytest.mark.slow
def test_paper_config_on_fixtures_runs_end_to_end_offline(fx, tmp_path, paper_config):
    cfg = paper_test_config(paper_config, fx)
    work = workdir_with(tmp_path / "work", cfg)
    home = copy_home(fx, work / "irds")
    cfg["data"]["ir_datasets_home"] = str(home)
    (work / "config" / "config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    env_backup = {k: os.environ.get(k) for k in NO_NETWORK}
    os.environ.update(NO_NETWORK)  # nothing may be fetched: every source is local
    try:
        out = snakemake_run(work, timeout=1200)
    finally:
        for k, v in env_backup.items():
            os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    report = (work / "results" / "report" / "report.md").read_text()
    metrics = pq.read_table(work / "results" / "report" / "metrics.parquet").to_pandas()
    ran = set(map(tuple, metrics[["language", "system"]].drop_duplicates().to_numpy()))
    no_translated_data = ("random", "bm25", "direct", "optical", "nmt_translate_test", "bm25_nmt")
    assert ran == {(lang, s) for lang in ("sw", "ny") for s in no_translated_data} | \
        {("vi", s) for s in cfg["systems"]}  # translate-train and the oracle only where vi has data
    # ny is sw's data read from its own collection's files: the same collection Parquet as WikiCLIR's
    for name in ("docs", "queries", "qrels"):
        own, wiki = (pq.read_table(work / "results" / "data" / lang / f"{name}.parquet") for lang in ("ny", "sw"))
        assert own.sort_by(own.column_names[0]).equals(wiki.sort_by(wiki.column_names[0])), name
    assert set(metrics.candidates) == {"bm25_translated", "bm25_nmt"}  # the headline list and the NMT one
    summary = report.split("## Summary")[1].split("##")[0]
    tt_row = next(line for line in summary.splitlines() if line.startswith("| Translate-train"))
    assert "| – |" in tt_row  # no translate-train for sw
    first_stage = next(line for line in summary.splitlines() if line.startswith("| First stage (BM25"))
    assert "**" not in first_stage  # it sees translated queries: a reference, never "best"
    assert "origin" in (work / "resources" / "manifests" / "wikiclir.json").read_text()
    assert "archive" in json.loads((work / "resources" / "manifests" / "wikiclir.json").read_text())["origin"]
    cands = (work / "results" / "candidates" / "sw" / "bm25_translated.run").read_text().split()
    assert cands[5] == "candidates_bm25_translated"  # candidates.first_stage: bm25_translated
    nmt = json.loads((work / "results" / "models" / "nmt" / "xx-en" / "sw" / "seed1" / "training.json").read_text())
    assert nmt["direction"] == "xx-en" and nmt["train_pairs"] > 0 and "heldout_chrf" in nmt
    ner_md = report.split("# Second task: cross-lingual NER")[1]
    assert "## NER en→vi" in ner_md and "# Both tasks side by side" in ner_md
    assert (work / "results" / "data" / "ner" / "sw" / "test.parquet").exists()
    again = snakemake_run(work, "-n")
    assert "Nothing to be done" in again.stdout + again.stderr


@pytest.mark.slow
def test_download_rule_without_network_fails_early_and_writes_nothing(fx, tmp_path, paper_config):
    cfg = paper_test_config(paper_config, fx)
    cfg["data"].update(ir_datasets_home="resources/ir_datasets",
                       wikiclir={"archive": None, "source_dir": None, "md5": download.WIKICLIR_MD5})
    work = workdir_with(tmp_path / "work", cfg)
    env = {**os.environ, **NO_NETWORK, "IR_DATASETS_SKIP_DISK_FREE": "true"}
    out = subprocess.run([sys.executable, "-m", "snakemake", "--cores", "1", "resources/manifests/wikiclir.json"],
                         cwd=work, capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode != 0
    log = (work / "logs" / "download" / "wikiclir.log").read_text()
    assert "cannot download WikiCLIR" in log and download.WIKICLIR_URL in log and "data.wikiclir.archive" in log
    assert not (work / "resources" / "manifests" / "wikiclir.json").exists()
    assert not (work / "resources" / "ir_datasets" / "wikiclir" / "source").exists()
