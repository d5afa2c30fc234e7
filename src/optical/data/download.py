"""The paper setting's downloaders: each fetches one source into ``resources/`` or takes a local copy.

- WikiCLIR: the single 7 GB archive (ir_datasets' URL and MD5), extracted once into the tree that
  ``ir_datasets`` reads (``<home>/wikiclir/source/wiki-clir``); or a local archive / extracted tree.
- MS MARCO and mMARCO: ``ir_datasets`` itself downloads into ``IR_DATASETS_HOME`` and builds its
  document store; a home that is already populated (a shared copy on an offline cluster) is used
  as it is.
- Bitext: ``mtdata get ... --merge`` (OPUS and others), or two local aligned plain-text files,
  converted to Parquet ``src`` (English) / ``tgt``.
- Encoder: ``huggingface_hub.snapshot_download`` (``HF_HOME`` under ``resources/``), or a local
  model directory, saved as a plain model directory.

Every failure raises :class:`DownloadError` naming the source, the file or URL, the cause and the
config key that supplies the data locally; outputs are written to a temporary path and renamed,
so a failed download leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pyarrow as pa

from optical import io
from optical.errors import InputError, OpticalError
from optical.data.wikiclir import WIKICLIR_DIRS

log = logging.getLogger(__name__)

WIKICLIR_URL = "https://www.cs.jhu.edu/~kevinduh/a/wikiclir2018/wiki-clir.tar.gz"
WIKICLIR_MD5 = "705abb611eb8cbab9ced2b8767a3bdb6"
BITEXT_SCHEMA = pa.schema([("src", pa.string()), ("tgt", pa.string())])
# what a model directory needs (weights in safetensors or the older binary; any tokenizer format)
HUB_PATTERNS = ["config.json", "*.safetensors", "pytorch_model.bin", "tokenizer.json", "tokenizer_config.json",
                "vocab.txt", "sentencepiece.bpe.model", "spiece.model", "special_tokens_map.json"]


class DownloadError(OpticalError):
    """A source could not be fetched; says which, why, and how to supply it without a download."""

    def __init__(self, source: str, target: str, cause, local_key: str, how: str = ""):
        self.source, self.target, self.local_key = source, target, local_key
        msg = (f"cannot download {source} from {target}: {type(cause).__name__}: {cause}. "
               f"No network or host unreachable? Supply it locally with config key '{local_key}'")
        if how:
            msg += f" ({how})"
        super().__init__(msg)


def md5sum(path: str | Path, chunk: int = 1 << 22) -> str:
    h = hashlib.md5()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def _irds(home: Path):
    """ir_datasets with its home (and its temporary files) under ``home``."""
    from optical.data.wikiclir import _import_ir_datasets
    home.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("IR_DATASETS_TMP", str((home / "tmp").resolve()))
    return _import_ir_datasets(home)


def _tree_manifest(root: Path) -> dict:
    return {str(p.relative_to(root)): p.stat().st_size for p in sorted(root.rglob("*")) if p.is_file()}


# --- WikiCLIR -------------------------------------------------------------------------------

def _check_wikiclir_tree(tree: Path, origin: str, key: str) -> dict:
    """The extracted ``wiki-clir`` directory must hold the English queries and at least one language."""
    queries = tree / "english" / "wiki_en.queries"
    if not queries.exists():
        raise InputError(tree, f"not a WikiCLIR source tree: {queries.relative_to(tree.parent)} is missing "
                         f"({origin})", f"set {key} to the extracted 'wiki-clir' directory of wiki-clir.tar.gz")
    langs = {}
    for code, name in sorted(WIKICLIR_DIRS.items()):
        d = tree / name
        if (d / f"wiki_{code}.documents").exists() and (d / f"en2{code}.rel").exists():
            langs[code] = {f: (d / f).stat().st_size for f in (f"wiki_{code}.documents", f"en2{code}.rel")}
    if not langs:
        raise InputError(tree, f"WikiCLIR tree has no language directory with documents and qrels ({origin})",
                         f"set {key} to a complete extracted archive")
    return langs


def _download_wikiclir_archive(home: Path) -> Path:
    """ir_datasets' own download of the archive (MD5-checked, into a temporary file)."""
    irds = _irds(home)
    try:
        dlc = irds.util.DownloadConfig.context("wikiclir", home / "wikiclir")
        return Path(dlc["source"].path())
    except Exception as e:  # ir_datasets raises requests/OS/IO errors; all mean "no archive"
        raise DownloadError("WikiCLIR (wiki-clir.tar.gz, 7 GB)", WIKICLIR_URL, e, "data.wikiclir.archive",
                            "a downloaded wiki-clir.tar.gz; or data.wikiclir.source_dir: its extracted "
                            "'wiki-clir' directory") from e


def fetch_wikiclir(home: str | Path, manifest_out: str | Path, archive: str | None = None,
                   source_dir: str | None = None, md5: str | None = WIKICLIR_MD5) -> dict:
    """Make ``<home>/wikiclir/source/wiki-clir`` exist (one job for every language) and write a
    manifest of the tree. Precedence: ``source_dir`` (linked, not copied), an already extracted
    tree in ``home``, ``archive`` (MD5-checked unless ``md5`` is None), the download."""
    home = Path(home)
    source = home / "wikiclir" / "source"
    tree = source / "wiki-clir"
    tmp = source.with_name(f".source.tmp-{os.getpid()}")
    if tmp.exists():
        shutil.rmtree(tmp)
    try:
        if source_dir is not None:
            src = Path(source_dir).resolve()
            _check_wikiclir_tree(src, "data.wikiclir.source_dir", "data.wikiclir.source_dir")
            if not (tree.is_symlink() and tree.resolve() == src):
                tmp.mkdir(parents=True)
                (tmp / "wiki-clir").symlink_to(src, target_is_directory=True)
                _replace_dir(tmp, source)
            origin = f"source_dir {src}"
        elif tree.exists():
            origin = f"existing tree in {home}"
        else:
            if archive is not None:
                path = Path(archive)
                if not path.exists():
                    raise InputError(path, "WikiCLIR archive does not exist", "fix data.wikiclir.archive")
                if md5 is not None:
                    got = md5sum(path)
                    if got != md5:
                        raise InputError(path, f"MD5 {got} does not match the expected {md5} (corrupt or "
                                         "truncated download?)", "download wiki-clir.tar.gz again, or set "
                                         "data.wikiclir.md5 to the checksum of your copy")
                origin = f"archive {path}"
            else:
                with home_lock(home):
                    path = _download_wikiclir_archive(home)
                origin = f"download {WIKICLIR_URL}"
            log.info("extracting %s into %s", path, source)
            tmp.mkdir(parents=True)
            try:
                with tarfile.open(path, "r:*") as tar:
                    tar.extractall(tmp, filter="data")
            except (tarfile.TarError, OSError, EOFError) as e:
                raise InputError(path, f"cannot extract the WikiCLIR archive ({e})",
                                 "download it again (data.wikiclir.archive)") from e
            _check_wikiclir_tree(tmp / "wiki-clir", origin, "data.wikiclir.archive")
            _replace_dir(tmp, source)
        langs = _check_wikiclir_tree(tree, origin, "data.wikiclir.source_dir")
    finally:
        if tmp.exists() or tmp.is_symlink():
            shutil.rmtree(tmp, ignore_errors=True)
    manifest = {"source": "wikiclir", "origin": origin, "tree": str(tree), "languages": langs}
    io.write_json(manifest_out, manifest)
    return manifest


def _replace_dir(tmp: Path, final: Path) -> None:
    if final.is_symlink() or final.is_file():
        final.unlink()
    elif final.exists():
        shutil.rmtree(final)
    os.replace(tmp, final)


# --- MS MARCO / mMARCO through ir_datasets --------------------------------------------------

@contextlib.contextmanager
def home_lock(home: Path):
    """One download at a time per ir_datasets home: datasets share files (every mMARCO language
    reads the same id triples), and ir_datasets does not lock, so parallel jobs would fetch the
    same file twice. A second job waits here, then finds the file cached."""
    home.mkdir(parents=True, exist_ok=True)
    with open(home / ".optical-download.lock", "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def fetch_irds(home: str | Path, dataset_ids: list[str], manifest_out: str | Path, source: str) -> dict:
    """Let ``ir_datasets`` fetch (or find in ``home``) what the triple export reads from each
    dataset: queries, document pairs, and the document store (built here, once)."""
    home = Path(home)
    with home_lock(home):
        return _fetch_irds(home, dataset_ids, manifest_out, source)


def _fetch_irds(home: Path, dataset_ids: list[str], manifest_out: str | Path, source: str) -> dict:
    irds = _irds(home)
    counts = {}
    for ds_id in dataset_ids:
        try:
            ds = irds.load(ds_id)
        except KeyError as e:
            raise OpticalError(f"'{ds_id}' is not an ir_datasets id ({e}); see https://ir-datasets.com") from e
        step = ""
        try:
            c = {}
            if ds.has_queries():
                step = "queries"
                c["queries"] = sum(1 for _ in ds.queries_iter())
            if ds.has_docpairs():
                step = "document pairs"
                c["docpairs"] = sum(1 for _ in ds.docpairs_iter())
            if ds.has_docs():
                step = "documents"
                store = ds.docs_store()
                if hasattr(store, "build"):  # build ir_datasets' document store here, once
                    store.build()
                c["docs"] = ds.docs_count() or sum(1 for _ in ds.docs_iter())
        except Exception as e:
            raise DownloadError(f"{source} ({ds_id} {step})", "ir_datasets' source (see the log)", e,
                                "data.ir_datasets_home", "an IR_DATASETS_HOME that already holds this dataset; "
                                "or copy each file ir_datasets names in the log to "
                                "<home>/downloads/<md5>") from e
        counts[ds_id] = c
        log.info("%s: %s", ds_id, c)
    manifest = {"source": source, "home": str(home), "datasets": counts}
    io.write_json(manifest_out, manifest)
    return manifest


# --- bitext -------------------------------------------------------------------------------

def _read_lines(path: Path) -> list[str]:
    import gzip
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt", encoding="utf-8", newline="\n") as f:
            return [line.rstrip("\n").rstrip("\r") for line in f]
    except (OSError, UnicodeDecodeError, EOFError) as e:
        raise InputError(path, f"unreadable bitext file ({e})", "supply UTF-8 plain text, one sentence per line")


def read_aligned(src_path: str | Path, tgt_path: str | Path) -> tuple[list[str], list[str], int]:
    """Two line-aligned plain-text files (OPUS moses, mtdata ``train.<lang>``); one-sided pairs are
    dropped and counted. Returns (src, tgt, dropped)."""
    src_path, tgt_path = Path(src_path), Path(tgt_path)
    for p in (src_path, tgt_path):
        if not p.exists():
            raise InputError(p, "bitext file does not exist", "fix the path, or remove it to download with mtdata")
    src, tgt = _read_lines(src_path), _read_lines(tgt_path)
    if len(src) != len(tgt):
        raise InputError(tgt_path, f"has {len(tgt)} lines but {src_path.name} has {len(src)}; the two sides "
                         "must be line-aligned", "use the matching pair of files")
    keep = [(s.strip(), t.strip()) for s, t in zip(src, tgt) if s.strip() and t.strip()]
    if not keep:
        raise InputError(src_path, "bitext is empty (no line has text on both sides)",
                         "supply parallel sentences for this language")
    return [s for s, _ in keep], [t for _, t in keep], len(src) - len(keep)


def read_mtdata_dir(out_dir: str | Path, langs: str) -> tuple[Path, Path]:
    """The merged training files ``mtdata get -l <l1>-<l2> --merge`` writes: ``train.<l1>``, ``train.<l2>``."""
    out_dir = Path(out_dir)
    l1, l2 = _split_langs(langs)
    files = []
    for lang in (l1, l2):
        cands = [out_dir / f"train.{lang}", out_dir / f"train.{lang}.gz"]
        found = [c for c in cands if c.exists()]
        if not found:
            raise InputError(out_dir, f"no train.{lang} in the mtdata output (has: "
                             f"{sorted(p.name for p in out_dir.iterdir()) if out_dir.exists() else 'nothing'})",
                             "run mtdata get with --merge and the same -l")
        files.append(found[0])
    return files[0], files[1]


def _split_langs(langs: str) -> tuple[str, str]:
    parts = langs.split("-")
    if len(parts) != 2 or not all(parts):
        raise OpticalError(f"mtdata languages {langs!r} must look like 'eng-swa'")
    return parts[0], parts[1]


def run_mtdata(ids: list[str], langs: str, out_dir: Path, cache_dir: Path, lang: str) -> str:
    """``mtdata get -l <langs> -tr <ids> --merge -o <out_dir>``; returns its signature (provenance)."""
    env = dict(os.environ, MTDATA=str(Path(cache_dir).resolve()))
    cmd = [sys.executable, "-m", "mtdata", "get", "-l", langs, "-tr", *ids, "--merge", "-o", str(out_dir)]
    log.info("running %s", " ".join(cmd))
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    log.info("mtdata output:\n%s", (proc.stdout + proc.stderr)[-20000:])
    if proc.returncode != 0:
        raise DownloadError(f"bitext for {lang} (mtdata {' '.join(ids)})", "the sources mtdata resolves them to",
                            RuntimeError(f"mtdata exited with {proc.returncode}: "
                                         f"{mtdata_error(proc.stdout + proc.stderr)}"),
                            f"languages.{lang}.bitext.local_src / local_tgt",
                            "two line-aligned plain-text files, e.g. the train.eng and train.<lang> that "
                            "'mtdata get --merge' writes on a machine with internet")
    sig = out_dir / "mtdata.signature.txt"
    return sig.read_text(encoding="utf-8") if sig.exists() else ""


def mtdata_error(output: str) -> str:
    """The line of mtdata's output that says what went wrong (its own 'Error:' message, or the
    exception a failed download raised), not the index statistics it prints first."""
    import re
    lines = [l.strip() for l in output.splitlines() if l.strip()]
    hits = [l for l in lines if re.match(r"^(Error:|[\w.]*(Error|Exception)\b:?)", l)]
    return (hits[-1] if hits else " ".join(lines[-3:]))[-800:]


def fetch_bitext(out: str | Path, lang: str, spec: dict, cache_dir: str | Path, work_dir: str | Path) -> dict:
    """Bitext for ``lang`` as Parquet (src: English, tgt: ``lang``), from local files or mtdata."""
    if spec.get("local_src") or spec.get("local_tgt"):
        if not (spec.get("local_src") and spec.get("local_tgt")):
            raise OpticalError(f"languages.{lang}.bitext: set both local_src and local_tgt (or neither)")
        src, tgt, dropped = read_aligned(spec["local_src"], spec["local_tgt"])
        provenance = f"local files {spec['local_src']} {spec['local_tgt']}"
    else:
        ids, langs = spec.get("mtdata") or [], spec.get("mtdata_langs")
        if not ids or not langs:
            raise OpticalError(f"languages.{lang}.bitext needs mtdata ids and mtdata_langs, or local_src/local_tgt")
        _split_langs(langs)
        work = Path(work_dir) / f".mtdata-{lang}-{os.getpid()}"
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        try:
            signature = run_mtdata(ids, langs, work, Path(cache_dir), lang)
            src, tgt, dropped = read_aligned(*read_mtdata_dir(work, langs))
        finally:
            shutil.rmtree(work, ignore_errors=True)
        provenance = signature.strip() or f"mtdata get -l {langs} -tr {' '.join(ids)} --merge"
    table = pa.table({"src": src, "tgt": tgt}, schema=BITEXT_SCHEMA)
    table = table.replace_schema_metadata({"provenance": provenance, "dropped_one_sided": str(dropped)})
    io.write_parquet(out, table)
    log.info("bitext %s: %d pairs (%d one-sided dropped) from %s", lang, len(src), dropped, provenance)
    return {"pairs": len(src), "dropped": dropped, "provenance": provenance}


# --- encoder ------------------------------------------------------------------------------

def hub_snapshot(hub_id: str | None, revision: str, local_path: str | None, cache_dir, what: str,
                 local_key: str) -> tuple[Path, str]:
    """(directory, origin) of a model: ``local_path`` as it is, else a snapshot of ``hub_id`` from the
    Hugging Face hub; an unreachable hub is a :class:`DownloadError` naming ``local_key``."""
    if local_path is not None:
        path = Path(local_path)
        if not (path / "config.json").exists():
            raise InputError(path, "not a model directory (no config.json)",
                             f"point {local_key} at a directory written by save_pretrained")
        return path, f"local {local_path}"
    from huggingface_hub import snapshot_download
    try:
        path = Path(snapshot_download(hub_id, revision=revision, cache_dir=cache_dir, allow_patterns=HUB_PATTERNS))
    except Exception as e:  # offline, unreachable hub, unknown repo or revision
        raise DownloadError(f"{what} {hub_id}@{revision}", f"https://huggingface.co/{hub_id}", e, local_key,
                            "a directory written by save_pretrained, e.g. a snapshot copied from a machine with "
                            "internet") from e
    return path, f"hub {hub_id}@{revision}"


def fetch_encoder(out_dir: str | Path, hub_id: str, revision: str = "main", local_path: str | None = None,
                  cache_dir: str | Path | None = None) -> dict:
    """A multilingual encoder as a plain model directory (config, safetensors, tokenizer)."""
    from transformers import AutoModel, AutoTokenizer

    from optical import models  # torch: only the model downloads need it

    path, origin = hub_snapshot(hub_id, revision, local_path, cache_dir, "encoder", "encoder.local_path")
    try:
        tok = AutoTokenizer.from_pretrained(str(path))
        model = AutoModel.from_pretrained(str(path), add_pooling_layer=False)
    except (OSError, ValueError) as e:
        raise InputError(path, f"cannot load the encoder ({e})", "supply a complete model directory") from e
    models.save_model_dir(model, tok, out_dir, {"source.json": {
        "origin": origin, "model_type": model.config.model_type,
        "parameters": sum(p.numel() for p in model.parameters())}})
    log.info("encoder %s (%s) saved to %s", origin, model.config.model_type, out_dir)
    return {"origin": origin, "model_type": model.config.model_type}
