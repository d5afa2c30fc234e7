"""Fixtures in the real on-disk formats of the paper setting's sources, written from a small
synthetic world so their content is meaningful (retrieval works on it):

- ``wiki-clir/`` and ``wiki-clir.tar.gz``: the WikiCLIR source tree / archive layout;
- ``irds/``: an IR_DATASETS_HOME holding ``msmarco-passage`` (collection, train queries, the
  qid/pid form of triples-small) and ``mmarco`` v2 Vietnamese (collection, queries, id triples)
  exactly where ir_datasets caches them;
- ``mtdata-<lang>/``: what ``mtdata get -l eng-<x> --merge -o dir`` writes (``train.eng``, ...);
- ``encoder/``: a tiny multilingual BERT written with ``save_pretrained`` (tokenizer trained here);
- ``translations/``: translated queries and documents (WikiCLIR layouts);
- ``own-collection/``: the sw collection in the own-collection formats (queries TSV, documents JSON
  Lines, TREC qrels), which the paper test config evaluates as a language WikiCLIR lacks ("ny").
"""

from __future__ import annotations

import hashlib
import shutil
import tarfile
from pathlib import Path

from conftest import shrink_world

from optical import io
from optical.data.synthetic import WorldSpec, write_world

MTDATA_LANGS = {"sw": "swa", "vi": "vie"}
PANX_WORLD = dict(entities_per_type=30, local_share=0.3, exonym_prob=0.3, trigger_prob=0.6, mentions=[1, 2],
                  sentence_length=[4, 8], sentences={"train": 80, "dev": 10, "test": 30})


def md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def write_paper_fixtures(root: Path, default_config: dict) -> dict:
    root = Path(root)
    world_cfg = shrink_world(default_config["world"])
    world_cfg["languages"] = {"sw": world_cfg["languages"]["sw"], "vi": world_cfg["languages"]["nn"]}
    for spec in world_cfg["languages"].values():
        spec.update(bitext_pairs=300, coverage=0.6)
    world_cfg["english"]["mono_sentences"] = 1500
    world = root / "world"
    write_world(WorldSpec.from_config(world_cfg), world)

    # WikiCLIR: the extracted tree and the archive it came from (top directory wiki-clir/)
    tree = root / "wiki-clir"
    shutil.copytree(world / "ir_datasets" / "wikiclir" / "source" / "wiki-clir", tree)
    archive = root / "wiki-clir.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(tree, arcname="wiki-clir")

    # ir_datasets home: MS MARCO passage and mMARCO v2 (vi) where ir_datasets caches them
    irds = root / "irds"
    mp = irds / "msmarco-passage"
    (mp / "train").mkdir(parents=True)
    (mp / "irds_version.txt").write_text("v2")  # else ir_datasets' migrator deletes collection.tsv
    shutil.copy(world / "msmarco" / "collection.tsv", mp / "collection.tsv")
    shutil.copy(world / "msmarco" / "queries.train.tsv", mp / "train" / "queries.tsv")
    shutil.copy(world / "msmarco" / "qidpidtriples.train.tsv", mp / "train" / "small.triples.qidpid.tsv")
    mm = irds / "mmarco"
    (mm / "v2").mkdir(parents=True)
    shutil.copy(world / "mmarco" / "vi_collection.tsv", mm / "v2" / "vietnamese_collection.tsv")
    shutil.copy(world / "msmarco" / "queries.train.tsv", mm / "v2" / "vietnamese.queries.train.tsv")
    shutil.copy(world / "msmarco" / "qidpidtriples.train.tsv", mm / "triples.train.ids.small.tsv")

    # mtdata --merge output per language
    bitext = {}
    for lang, code in MTDATA_LANGS.items():
        t = io.read_parquet(world / "bitext" / f"en-{lang}.parquet", ["src", "tgt"])
        d = root / f"mtdata-{lang}"
        d.mkdir()
        io.write_lines(d / "train.eng", t.column("src").to_pylist())
        io.write_lines(d / f"train.{code}", t.column("tgt").to_pylist())
        io.write_text(d / "mtdata.signature.txt",
                      f"mtdata get -l eng-{code} --train Fixture-synthetic-1-eng-{code} --merge -o <out-dir>\n"
                      "mtdata version 0.5.1\n")
        io.write_json(d / "train.stats.json", {"selected": t.num_rows, "total": t.num_rows})
        bitext[lang] = (d / "train.eng", d / f"train.{code}")

    # PAN-X: XTREME's extracted layout, <dir>/<lang>/{train,dev,test}
    from optical.ner.world import NerSpec, write_ner_world
    write_ner_world(WorldSpec.from_config(world_cfg), NerSpec.from_config(PANX_WORLD), root / "panx", ["sw", "vi"])

    own = write_own_collection(tree, root / "own-collection", "sw")
    encoder = root / "encoder"
    write_tiny_encoder(encoder, [world / "mono" / f"{l}.txt" for l in ("en", "sw", "vi")])
    return {"root": root, "world": world, "tree": tree, "panx": root / "panx", "archive": archive, "archive_md5": md5(archive),
            "irds": irds, "bitext": bitext, "encoder": encoder,
            "query_translations": {l: world / "translations" / f"wiki_en.{l}.queries" for l in ("sw", "vi")},
            "doc_translations": {l: world / "translations" / f"wiki_{l}.en.documents" for l in ("sw", "vi")},
            "own_collection": own}


def write_own_collection(tree: Path, out: Path, lang: str) -> dict:
    """A WikiCLIR language's queries, documents and qrels in the own-collection formats."""
    import json
    from optical.data.wikiclir import WIKICLIR_DIRS
    out.mkdir(parents=True)
    d = tree / WIKICLIR_DIRS[lang]
    rels = [line.split() for line in (d / f"en2{lang}.rel").read_text().splitlines()]
    judged = {q for q, _, _ in rels}  # ir_datasets' wikiclir/<lang> has the queries its qrels judge
    queries = [line.split("\t") for line in (tree / "english" / "wiki_en.queries").read_text().splitlines()]
    io.write_lines(out / "queries.tsv", (f"{q}\t{first}" for q, _, first in queries if q in judged))
    docs = [line.split("\t") for line in (d / f"wiki_{lang}.documents").read_text().splitlines()]
    io.write_lines(out / "documents.jsonl", (json.dumps({"doc_id": i, "title": ti, "text": tx}) for i, ti, tx in docs))
    io.write_lines(out / "qrels.txt", (f"{q} 0 {doc} {g}" for q, doc, g in rels))
    return {"queries": str(out / "queries.tsv"), "documents": str(out / "documents.jsonl"),
            "qrels": str(out / "qrels.txt")}


def write_tiny_encoder(out: Path, text_files: list[Path]) -> None:
    """A BERT small enough for CI, saved as a hub model directory would be."""
    from transformers import BertConfig, BertModel

    from optical.models import seed_everything, train_tokenizer

    seed_everything(0)
    texts = [line for f in text_files for line in f.read_text(encoding="utf-8").splitlines()]
    tok = train_tokenizer(texts, vocab_size=800)
    model = BertModel(BertConfig(vocab_size=len(tok), hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                                 intermediate_size=64, max_position_embeddings=160), add_pooling_layer=False)
    model.save_pretrained(out)
    tok.save_pretrained(out)


def paper_test_config(paper_config: dict, fx: dict, **overrides) -> dict:
    """config/paper.yaml with every source pointed at the fixtures and CPU-sized budgets."""
    import copy
    cfg = copy.deepcopy(paper_config)
    cfg["data"].update(ir_datasets_home=str(fx["irds"]), max_triples=80,
                       wikiclir={"archive": str(fx["archive"]), "source_dir": None, "md5": fx["archive_md5"]})
    cfg["languages"] = {}
    for lang in ("sw", "vi"):
        src, tgt = fx["bitext"][lang]
        cfg["languages"][lang] = {
            "bitext_pairs": 200,
            "bitext": {"mtdata": [], "mtdata_langs": f"eng-{MTDATA_LANGS[lang]}", "local_src": str(src),
                       "local_tgt": str(tgt)},
            "translate_train": "mmarco/v2/vi/train" if lang == "vi" else None,
            "query_translations": str(fx["query_translations"][lang]),
            "doc_translations": str(fx["doc_translations"][lang]) if lang == "vi" else None,
        }
    # a language WikiCLIR lacks, on its own collection (sw's data in the own-collection formats)
    cfg["languages"]["ny"] = dict(cfg["languages"]["sw"], collection=fx["own_collection"])
    cfg["seeds"] = [1]
    cfg["systems"] = ["random", "bm25", "direct", "optical", "nmt_translate_test", "bm25_nmt", "translate_train",
                      "translate_test_oracle"]
    cfg["device"] = "cpu"
    cfg["encoder"] = {"hub_id": "bert-base-multilingual-cased", "revision": "main", "local_path": str(fx["encoder"])}
    cfg["teacher"].update(dim=16, query_max_length=16, doc_max_length=64, steps=30, batch_size=8, lr=0.001,
                          checkpoint_every=0)
    cfg["distill"].update(steps=20, batch_size=8, max_length=32, lr=0.001, heldout_pairs=20, eval_every=10,
                          checkpoint_every=0)
    cfg["translate_train"].update(steps=10, batch_size=8, checkpoint_every=0)
    cfg["nmt"].update(steps=30, batch_size=8, warmup_steps=5, checkpoint_every=0, eval_every=15, max_length=32,
                      vocab_size=500, d_model=32, layers=1, heads=2, ffn_dim=64, num_beams=1)
    cfg["data_efficiency"].update(systems=[], bitext_pairs=[], seeds=[])
    cfg["ablation"].update(systems=[], languages=[], seeds=[], ot_reg=[], ot_max_iter=[])
    cfg["candidates"].update(queries=15, depth=20, first_stage="bm25_translated", other_lists=["bm25_nmt"])
    cfg["ner"].update(languages=["sw", "vi"], panx_dir=str(fx["panx"]), bootstrap_resamples=100)
    for key, steps in (("teacher", 20), ("student", 10), ("ot", 10)):
        cfg["ner"][key].update(steps=steps, batch_size=8, max_length=32, lr=0.001, checkpoint_every=0)
    for key, value in overrides.items():
        cfg[key] = value
    return cfg
