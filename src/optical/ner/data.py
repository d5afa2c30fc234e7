"""PAN-X data: the reader of PAN-X files, the Parquet the rules exchange, and the hub loader.

PAN-X (WikiANN as in XTREME) files hold ``<lang>:<token><TAB><tag>`` lines with blank lines between
sentences; the pipeline stores each split as Parquet ``tokens`` / ``tags`` (lists of strings). This
module imports no torch, so the world generator and the data rules stay light.
"""

from __future__ import annotations

import re
from pathlib import Path

import pyarrow as pa

from optical import io
from optical.errors import InputError

LABELS = ("O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC")  # PAN-X's label set and order
LABEL_ID = {l: i for i, l in enumerate(LABELS)}
NER_SCHEMA = pa.schema([("tokens", pa.list_(pa.string())), ("tags", pa.list_(pa.string()))])
_PREFIX = re.compile(r"^[a-z]{2,3}(-[a-z]+)?:")


def read_panx(path: str | Path) -> list[tuple[list[str], list[str]]]:
    """Sentences of a PAN-X file: ``<lang>:<token><TAB><tag>`` lines, blank lines between sentences
    (``-DOCSTART-`` lines are separators too). Every tag must be one of :data:`LABELS`."""
    path = Path(path)
    if not path.exists():
        raise InputError(path, "PAN-X file does not exist", "point ner.panx_dir at the extracted PAN-X data")
    sents, words, tags = [], [], []
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, start=1):
            line = line.rstrip("\n").rstrip("\r")
            if not line.strip() or line.startswith("-DOCSTART-"):
                if words:
                    sents.append((words, tags))
                    words, tags = [], []
                continue
            parts = line.split("\t")
            if len(parts) != 2:
                raise InputError(path, f"line {lineno}: expected '<lang>:<token><TAB><tag>', got {len(parts)} "
                                 "tab-separated fields", "fix the file (PAN-X layout)")
            token, tag = _PREFIX.sub("", parts[0], count=1), parts[1].strip()
            if tag not in LABEL_ID:
                raise InputError(path, f"line {lineno}: tag {tag!r} is not one of {list(LABELS)}",
                                 "use PAN-X's BIO tags")
            if not token:
                raise InputError(path, f"line {lineno}: empty token", "fix the file")
            words.append(token)
            tags.append(tag)
    if words:
        sents.append((words, tags))
    if not sents:
        raise InputError(path, "no sentences", "supply a non-empty PAN-X file")
    return sents


def write_sentences(path: str | Path, sents: list[tuple[list[str], list[str]]]) -> None:
    io.write_parquet(path, pa.table({"tokens": [w for w, _ in sents], "tags": [t for _, t in sents]},
                                    schema=NER_SCHEMA))


def read_sentences(path: str | Path) -> tuple[list[list[str]], list[list[str]]]:
    t = io.read_parquet(path, ["tokens", "tags"])
    return t.column("tokens").to_pylist(), t.column("tags").to_pylist()


def load_hub_split(dataset: str, config: str, split: str) -> list[tuple[list[str], list[str]]]:
    """PAN-X through ``datasets`` (e.g. ``google/xtreme``, ``PAN-X.sw``): ``tokens`` and integer
    ``ner_tags`` mapped to names with the dataset's own label feature."""
    try:
        import datasets
    except ImportError as e:
        raise ImportError("the paper setting's NER data needs the 'datasets' package: pip install -e '.[paper]'") from e
    ds = datasets.load_dataset(dataset, config, split=split)
    names = ds.features["ner_tags"].feature.names
    unknown = sorted(set(names) - set(LABELS))
    if unknown:
        raise InputError(f"{dataset}/{config}", f"labels {unknown} are not PAN-X's {list(LABELS)}",
                         "use a PAN-X / WikiANN dataset")
    return [(list(r["tokens"]), [names[i] for i in r["ner_tags"]]) for r in ds]
