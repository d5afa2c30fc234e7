"""Encoders: a locally trained WordPiece tokenizer, a tiny BERT, and a ColBERT-style scorer.

The scorer is late interaction (ColBERT, Khattab & Zaharia 2020): query and document are encoded
separately into L2-normalised token vectors and scored by MaxSim. That separation is what lets
OPTICAL train only the document encoder: at test time the frozen English teacher encodes the
query, the student encodes the foreign document, and both live in the teacher's vector space.
"""

from __future__ import annotations

import json
import logging
import os
import random
from pathlib import Path

import numpy as np
import torch
from torch import nn

from optical import io
from optical.errors import InputError

os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
log = logging.getLogger(__name__)

SCORER_FILE = "colbert.json"
PROJECTION_FILE = "colbert_linear.pt"


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def pick_device(requested: str = "auto") -> torch.device:
    """CUDA when present (or asked for), CPU otherwise; the choice is logged by the caller."""
    if requested == "cpu":
        return torch.device("cpu")
    if requested == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("device: cuda was requested but torch sees no CUDA device")
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def setup_torch(threads: int, seed: int, device: str = "auto") -> torch.device:
    torch.set_num_threads(max(1, threads))
    seed_everything(seed)
    dev = pick_device(device)
    log.info("device=%s threads=%d seed=%d torch=%s", dev, torch.get_num_threads(), seed, torch.__version__)
    return dev


# --- tokenizer ---------------------------------------------------------------------------

def train_tokenizer(texts, vocab_size: int, cased: bool = False):
    """WordPiece trained on ``texts`` (an iterable of strings), wrapped as a transformers tokenizer;
    lower-cased unless ``cased`` (encoder.cased: case is then a cue the encoder can read). The same
    texts give the same vocabulary and ids in every process (docs/failure-modes.md#determinism)."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    texts = list(texts)
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    # lowercase like WikiCLIR's text unless cased; keep accents (ø is a letter, not an accent)
    normalizer = normalizers.BertNormalizer(lowercase=not cased, strip_accents=False, clean_text=True)
    pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    # The trainer numbers the "##" letters in hash-map order (random per process) and breaks ties
    # between equally frequent merges by those numbers. Declared after the specials, in sorted
    # order, they get fixed numbers; the trainer would add exactly these letters anyway.
    inner = sorted({"##" + c for t in texts for w, _ in pre_tokenizer.pre_tokenize_str(normalizer.normalize_str(t))
                    for c in w[1:]})
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer, tok.pre_tokenizer = normalizer, pre_tokenizer
    tok.train_from_iterator(texts, trainer=trainers.WordPieceTrainer(
        vocab_size=vocab_size, special_tokens=specials + inner, show_progress=False))
    # a fresh tokenizer on the learnt vocabulary, ids in sorted order, only the real specials special
    # (WordPiece's greedy longest match reads the vocabulary, not the ids)
    rest = sorted(t for t in tok.get_vocab() if t not in specials)
    tok = Tokenizer(models.WordPiece({t: i for i, t in enumerate(specials + rest)}, unk_token="[UNK]"))
    tok.normalizer, tok.pre_tokenizer = normalizer, pre_tokenizer
    tok.add_special_tokens(specials)
    cls, sep = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls), ("[SEP]", sep)])
    return PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]",
                                   cls_token="[CLS]", sep_token="[SEP]", mask_token="[MASK]")


def build_mlm(vocab_size: int, cfg: dict):
    from transformers import BertConfig, BertForMaskedLM
    config = BertConfig(vocab_size=vocab_size, hidden_size=cfg["hidden_size"],
                        num_hidden_layers=cfg["num_layers"], num_attention_heads=cfg["num_heads"],
                        intermediate_size=cfg["intermediate_size"],
                        max_position_embeddings=cfg["max_position_embeddings"])
    return BertForMaskedLM(config)


def check_model_dir(path: str | Path) -> Path:
    """A model directory must hold a config, weights and a tokenizer that fits the model."""
    path = Path(path)
    if not (path / "config.json").exists():
        raise InputError(path, "no config.json: not a model directory", "rerun the step that trains it")
    if not any((path / w).exists() for w in ("model.safetensors", "pytorch_model.bin")):
        raise InputError(path, "model directory has no weights (model.safetensors)",
                         "rerun the step that trains it, or supply a complete checkpoint")
    if not (path / "tokenizer.json").exists() and not (path / "vocab.txt").exists():
        raise InputError(path, "model directory has no tokenizer (tokenizer.json or vocab.txt)",
                         "save the tokenizer with the model")
    return path


def load_tokenizer(path: str | Path, vocab_size: int | None = None):
    from transformers import AutoTokenizer
    tok = AutoTokenizer.from_pretrained(str(path))
    if vocab_size is not None and len(tok) > vocab_size:
        raise InputError(path, f"tokenizer has {len(tok)} tokens but the model's vocab_size is {vocab_size}",
                         "use the tokenizer that was saved with this model")
    return tok


# --- ColBERT scorer ----------------------------------------------------------------------

class ColBERT(nn.Module):
    """BERT + linear projection to ``dim``; token vectors are L2-normalised."""

    def __init__(self, bert, dim: int, query_max_length: int, doc_max_length: int):
        super().__init__()
        self.bert = bert
        self.proj = nn.Linear(bert.config.hidden_size, dim, bias=False)
        self.query_max_length = query_max_length
        self.doc_max_length = doc_max_length

    def forward(self, input_ids, attention_mask):
        h = self.bert(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        return nn.functional.normalize(self.proj(h), dim=-1)

    def save(self, path: str | Path, tokenizer) -> None:
        """HF-style directory: config.json, model.safetensors, tokenizer, projection, scorer metadata."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        self.bert.save_pretrained(path)
        tokenizer.save_pretrained(path)
        torch.save(self.proj.state_dict(), path / PROJECTION_FILE)
        (path / SCORER_FILE).write_text(json.dumps({
            "dim": self.proj.out_features, "query_max_length": self.query_max_length,
            "doc_max_length": self.doc_max_length}, indent=2))

    @classmethod
    def load(cls, path: str | Path, device="cpu"):
        from transformers import AutoModel
        path = check_model_dir(path)
        meta_file = path / SCORER_FILE
        if not meta_file.exists() or not (path / PROJECTION_FILE).exists():
            raise InputError(path, f"not a ColBERT scorer directory (needs {SCORER_FILE} and {PROJECTION_FILE})",
                             "rerun the teacher step")
        meta = json.loads(meta_file.read_text())
        bert = AutoModel.from_pretrained(str(path), add_pooling_layer=False)
        tok = load_tokenizer(path, bert.config.vocab_size)
        model = cls(bert, meta["dim"], meta["query_max_length"], meta["doc_max_length"])
        model.proj.load_state_dict(torch.load(path / PROJECTION_FILE, map_location="cpu"))
        return model.to(device), tok


def teacher_and_student(teacher_dir: str | Path, device="cpu"):
    """The frozen teacher and a trainable copy of it (the student), with the shared tokenizer."""
    import copy
    teacher, tok = ColBERT.load(teacher_dir, device)
    teacher.eval().requires_grad_(False)
    student = copy.deepcopy(teacher).requires_grad_(True)
    student.train()
    return teacher, student, tok


def encode_batch(tokenizer, texts: list[str], max_length: int, device, word_ids: bool = False) -> dict:
    """Tokenize; ``content`` marks real tokens (not [CLS]/[SEP]/[PAD]), the ones MaxSim and OT use.
    With ``word_ids``, also each token's word index per text (None for special tokens)."""
    enc = tokenizer(texts, padding=True, truncation=True, max_length=max_length,
                    return_tensors="pt", return_special_tokens_mask=True)
    content = enc["attention_mask"].bool() & ~enc["special_tokens_mask"].bool()
    out = {"input_ids": enc["input_ids"].to(device), "attention_mask": enc["attention_mask"].to(device),
           "content": content.to(device)}
    if word_ids:
        out["word_ids"] = [enc.word_ids(b) for b in range(len(texts))]
    return out


def maxsim(q: torch.Tensor, q_mask: torch.Tensor, d: torch.Tensor, d_mask: torch.Tensor) -> torch.Tensor:
    """All-pairs late-interaction scores: q (Bq,Lq,D), d (Bd,Ld,D) -> (Bq,Bd).

    Sum over query content tokens of the max cosine over document content tokens.
    """
    sim = torch.einsum("qid,njd->qnij", q, d)
    sim = sim.masked_fill(~d_mask[None, :, None, :], -1e4)
    best = sim.max(dim=-1).values                      # (Bq, Bd, Lq)
    best = best * q_mask[:, None, :].to(best.dtype)
    return best.sum(dim=-1)


def pad_vectors(vectors: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """Variable-length token vectors [(L_i, D)] -> zero-padded (B, L, D) and its (B, L) mask."""
    padded = torch.nn.utils.rnn.pad_sequence(vectors, batch_first=True)
    mask = torch.nn.utils.rnn.pad_sequence([torch.ones(len(v), dtype=torch.bool, device=v.device) for v in vectors],
                                           batch_first=True)
    return padded, mask


def save_model_dir(model, tokenizer, out_dir: str | os.PathLike, records: dict[str, dict] | None = None) -> None:
    """Write a model directory atomically: weights, config and tokenizer, plus JSON ``records``
    (e.g. ``{"training.json": ...}``). A ColBERT scorer saves itself; any transformers model
    through ``save_pretrained``. Nothing appears at ``out_dir`` unless all of it was written."""
    model.cpu()
    with io.atomic_dir(out_dir) as tmp:
        if hasattr(model, "save_pretrained"):
            model.save_pretrained(tmp)
            tokenizer.save_pretrained(tmp)
        else:
            model.save(tmp, tokenizer)
        for name, record in (records or {}).items():
            io.write_json(tmp / name, record)
