"""The NMT baseline: a small Marian encoder-decoder trained from scratch on exactly the bitext
OPTICAL gets (the same held-out / training split, :func:`optical.data.bitext.read_split`), one
model per language, direction and seed.

- ``xx-en`` translates the foreign documents into English, for the English teacher to score
  (translate-test with a realistic translator instead of the gold translations);
- ``en-xx`` translates the English queries into the foreign language, for BM25 over the foreign
  collection.

Training goes through the one loop, :func:`optical.train.trainer.fit`: teacher-forced
cross-entropy on training pairs, held-out teacher-forced loss in the curve, and the final model's
held-out corpus BLEU and chrF (sacrebleu) in ``training.json``. The tokenizer is a joint BPE over
both sides of the training pairs, cased, with a Metaspace decoder so that ids decode back to text.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Mapping
from pathlib import Path

import torch

from optical import io, models
from optical.data.bitext import read_split
from optical.errors import InputError
from optical.train.trainer import (TRAINING_FILE, EpochSampler, TrainState, fingerprint, finish, fit,
                                   tokenizer_beside_state)

log = logging.getLogger(__name__)

DIRECTIONS = ("xx-en", "en-xx")
PAD, EOS, UNK = "<pad>", "</s>", "<unk>"
# Not config keys: the Transformer recipe's values (Vaswani et al. 2017). Dropout 0.3 (Sennrich &
# Zhang 2019's low-resource setting) did not learn within the synthetic world's step budget.
DROPOUT = 0.1
LABEL_SMOOTHING = 0.1    # training loss only; the held-out loss is plain cross-entropy
MAX_POSITIONS = 512      # sinusoidal position table; inputs and outputs are capped at max_length anyway
SENTENCE_END = re.compile(r"(?<=[.!?])\s+")  # the synthetic world joins sentences with " . "


# --- data and tokenizer ----------------------------------------------------------------------

def sources_and_targets(en: list[str], xx: list[str], direction: str, path) -> tuple[list[str], list[str]]:
    """(source sides, target sides) of a bitext for ``direction``."""
    if direction not in DIRECTIONS:
        raise InputError(path, f"unknown translation direction {direction!r}",
                         f"use one of {', '.join(DIRECTIONS)} (xx: the bitext's foreign side)")
    return (xx, en) if direction == "xx-en" else (en, xx)


def train_tokenizer(texts, vocab_size: int):
    """A cased joint BPE tokenizer on ``texts`` that appends ``</s>``, wrapped for transformers."""
    from tokenizers import Tokenizer, decoders, models as tok_models, normalizers, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(tok_models.BPE(unk_token=UNK))
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.decoder = decoders.Metaspace()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=[PAD, EOS, UNK], show_progress=False)
    tok.train_from_iterator(texts, trainer=trainer)
    tok.post_processor = processors.TemplateProcessing(single=f"$A {EOS}", pair=f"$A $B {EOS}",
                                                       special_tokens=[(EOS, tok.token_to_id(EOS))])
    return PreTrainedTokenizerFast(tokenizer_object=tok, pad_token=PAD, eos_token=EOS, unk_token=UNK,
                                   clean_up_tokenization_spaces=False)


# --- model and loss ------------------------------------------------------------------------

def build_model(tok, cfg: dict):
    """A MarianMTModel from scratch: shared source/target embeddings tied to the output layer;
    the decoder starts from ``<pad>`` as Marian's do."""
    from transformers import MarianConfig, MarianMTModel

    pad, eos = tok.pad_token_id, tok.eos_token_id
    config = MarianConfig(
        vocab_size=len(tok), d_model=cfg["d_model"], encoder_layers=cfg["layers"], decoder_layers=cfg["layers"],
        encoder_attention_heads=cfg["heads"], decoder_attention_heads=cfg["heads"],
        encoder_ffn_dim=cfg["ffn_dim"], decoder_ffn_dim=cfg["ffn_dim"], max_position_embeddings=MAX_POSITIONS,
        dropout=DROPOUT, scale_embedding=True, share_encoder_decoder_embeddings=True, tie_word_embeddings=True,
        pad_token_id=pad, eos_token_id=eos, decoder_start_token_id=pad, forced_eos_token_id=eos)
    model = MarianMTModel(config)
    gen = model.generation_config
    gen.pad_token_id, gen.eos_token_id, gen.decoder_start_token_id = pad, eos, pad
    gen.forced_eos_token_id, gen.bad_words_ids = eos, [[pad]]
    gen.num_beams = 1
    return model


def encode_pairs(tok, sources: list[str], targets: list[str], max_length: int, dev) -> dict:
    """Model inputs with ``labels``: target ids, padding masked out of the loss (-100)."""
    enc = tok(sources, text_target=targets, padding=True, truncation=True, max_length=max_length,
              return_tensors="pt")
    labels = enc["labels"].masked_fill(enc["labels"] == tok.pad_token_id, -100)
    return {"input_ids": enc["input_ids"].to(dev), "attention_mask": enc["attention_mask"].to(dev),
            "labels": labels.to(dev)}


def token_loss(model, batch: dict, label_smoothing: float = 0.0, reduction: str = "mean"):
    """Teacher-forced cross-entropy over the target tokens of ``batch`` (from :func:`encode_pairs`):
    the decoder reads the labels shifted right behind ``decoder_start_token_id``."""
    decoder_input_ids = model.prepare_decoder_input_ids_from_labels(labels=batch["labels"])
    logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                   decoder_input_ids=decoder_input_ids).logits
    return torch.nn.functional.cross_entropy(logits.flatten(0, 1), batch["labels"].flatten(), ignore_index=-100,
                                             label_smoothing=label_smoothing, reduction=reduction)


def estimate_heldout(model, tok, sources: list[str], targets: list[str], cfg: dict, dev) -> dict:
    """Teacher-forced cross-entropy per target token on the held-out pairs (no label smoothing)."""
    if not sources:
        return {"loss": float("nan")}
    total, tokens = 0.0, 0
    for i in range(0, len(sources), cfg["batch_size"]):
        batch = encode_pairs(tok, sources[i:i + cfg["batch_size"]], targets[i:i + cfg["batch_size"]],
                             cfg["max_length"], dev)
        total += token_loss(model, batch, reduction="sum").item()
        tokens += int((batch["labels"] != -100).sum())
    return {"loss": total / tokens}


# --- training ------------------------------------------------------------------------------

def train_nmt(bitext_path: str, out_dir: str, cfg: dict, direction: str, heldout_pairs: int, seed: int,
              threads: int = 1, device: str = "auto", state_dir: str | None = None,
              train_pairs: int | None = None) -> dict:
    """Train one NMT model on the training split of ``bitext_path`` (English ``src``, foreign
    ``tgt``) in ``direction``; write it to ``out_dir`` with ``training.json`` (curve, held-out
    BLEU and chrF). ``heldout_pairs`` and ``train_pairs`` as in distillation, so both see the same pairs."""
    sources_and_targets([], [], direction, bitext_path)
    dev = models.setup_torch(threads, seed, device)
    en, xx, held, train = read_split(bitext_path, heldout_pairs, train_pairs)
    src, tgt = sources_and_targets(en, xx, direction, bitext_path)
    log.info("nmt %s: %d held-out pairs, %d training pairs", direction, len(held), len(train))
    state = TrainState(state_dir, fingerprint("nmt", direction, cfg, seed, heldout_pairs, train_pairs,
                                              files=[bitext_path]), cfg["checkpoint_every"])
    texts = [t for i in train for t in (en[i], xx[i])]  # both sides of the training pairs only
    tok = tokenizer_beside_state(state, lambda: train_tokenizer(texts, cfg["vocab_size"]))
    model = build_model(tok, cfg).to(dev)

    def step_loss(idx):
        batch = encode_pairs(tok, [src[i] for i in idx], [tgt[i] for i in idx], cfg["max_length"], dev)
        return token_loss(model, batch, LABEL_SMOOTHING)

    held_src, held_tgt = [src[i] for i in held], [tgt[i] for i in held]
    estimate = functools.partial(estimate_heldout, model, tok, held_src, held_tgt, cfg, dev)
    record = fit(model, step_loss, EpochSampler(train, seed), cfg, stage=f"nmt_{direction}", state=state,
                 estimate=estimate)
    record.update(heldout_scores(model, tok, held_src, held_tgt, cfg, dev), direction=direction,
                  train_pairs=int(len(train)), heldout_pairs=int(len(held)), vocab_size=len(tok))
    return finish(model, tok, out_dir, record, state)


def heldout_scores(model, tok, sources: list[str], references: list[str], cfg: dict, dev) -> dict:
    """``heldout_bleu`` and ``heldout_chrf`` of the model's translations of the held-out sources
    (``None`` without held-out pairs)."""
    if not sources:
        return {"heldout_bleu": None, "heldout_chrf": None}
    hypotheses = generate(model, tok, sources, cfg["translate_batch_size"], cfg["max_length"], cfg["num_beams"], dev)
    scores = corpus_scores(hypotheses, references)
    log.info("held-out BLEU %.2f chrF %.2f over %d pairs", scores["bleu"], scores["chrf"], len(sources))
    return {"heldout_bleu": scores["bleu"], "heldout_chrf": scores["chrf"]}


def corpus_scores(hypotheses: list[str], references: list[str]) -> dict:
    """sacrebleu's corpus BLEU and chrF (one reference per segment), on its 0-100 scale."""
    import sacrebleu

    if len(hypotheses) != len(references):
        raise ValueError(f"{len(hypotheses)} hypotheses but {len(references)} references")
    # force: the synthetic world's text is tokenized-looking (" ."); the warning changes no score
    return {"bleu": float(sacrebleu.corpus_bleu(hypotheses, [references], force=True).score),
            "chrf": float(sacrebleu.corpus_chrf(hypotheses, [references]).score)}


# --- translation ---------------------------------------------------------------------------

def generate(model, tok, texts: list[str], batch_size: int, max_length: int, num_beams: int, dev) -> list[str]:
    """Translations of ``texts`` in their order, decoded in length-sorted batches; an empty (or
    all-whitespace) text translates to ""."""
    out = [""] * len(texts)
    todo = sorted((i for i, t in enumerate(texts) if t and t.strip()), key=lambda i: -len(texts[i]))
    was_training = model.training
    model.eval()
    with torch.no_grad():
        for start in range(0, len(todo), batch_size):
            idx = todo[start:start + batch_size]
            enc = tok([texts[i] for i in idx], padding=True, truncation=True, max_length=max_length,
                      return_tensors="pt").to(dev)
            ids = model.generate(**enc, num_beams=num_beams, max_new_tokens=max_length)
            for i, text in zip(idx, tok.batch_decode(ids, skip_special_tokens=True)):
                out[i] = text.strip()
    model.train(was_training)
    return out


def check_marian_dir(model_dir) -> Path:
    """A Marian translation model directory: config.json of model_type marian, and weights."""
    import json

    path = Path(model_dir)
    config = path / "config.json"
    model_type = json.loads(config.read_text()).get("model_type") if config.exists() else None
    if model_type != "marian":
        found = f"model_type {model_type!r}" if config.exists() else "no config.json"
        raise InputError(path, f"not a Marian translation model ({found})",
                         "point it at a directory written by train_nmt or a Marian (opus-mt) checkpoint")
    if not any((path / w).exists() for w in ("model.safetensors", "pytorch_model.bin")):
        raise InputError(path, "Marian directory has no weights (model.safetensors)", "rerun the NMT training step")
    return path


def load_marian(model_dir, device: str = "auto"):
    """(model, tokenizer, device) of a Marian directory: one trained here or a pretrained opus-mt."""
    from transformers import AutoTokenizer, MarianMTModel

    path = check_marian_dir(model_dir)
    if not any((path / f).exists() for f in ("tokenizer.json", "source.spm")):  # ours, or opus-mt's SentencePiece
        # checked here: transformers' Marian tokenizer fails on a missing file with a TypeError in some versions
        raise InputError(path, "cannot load the tokenizer of this Marian model (no tokenizer.json or source.spm)",
                         "save the tokenizer with the model; opus-mt checkpoints need the sentencepiece package")
    try:
        tok = AutoTokenizer.from_pretrained(str(path))
    except (ImportError, OSError, ValueError) as e:
        raise InputError(path, f"cannot load the tokenizer of this Marian model ({e})",
                         "save the tokenizer with the model; opus-mt checkpoints need the sentencepiece package")
    dev = models.pick_device(device)
    return MarianMTModel.from_pretrained(str(path)).to(dev).eval(), tok, dev


def translate(model_dir, texts: list[str], batch_size: int = 64, max_length: int = 64, num_beams: int = 1,
              device: str = "auto") -> list[str]:
    """Translate ``texts`` with the Marian model in ``model_dir``; order kept, "" for empty texts."""
    model, tok, dev = load_marian(model_dir, device)
    return generate(model, tok, list(texts), batch_size, max_length, num_beams, dev)


def split_sentences(text: str) -> list[str]:
    """Sentences of a text, each keeping its final punctuation: split after . ! ? and whitespace."""
    return [s for s in SENTENCE_END.split(text.strip()) if s]


def translate_documents(model_dir, rows: Mapping[str, tuple[str, str]], batch_size: int = 64,
                        max_length: int = 64, num_beams: int = 1, device: str = "auto",
                        keep_titles: bool = False) -> dict[str, tuple[str, str]]:
    """``{id: (title, text)}`` translated: each text sentence by sentence (every unique sentence
    and title translated once), sentences re-joined with a space; ``keep_titles`` copies titles
    untranslated (names). Serves queries too (``{query_id: (title, first_sent)}``)."""
    split = {key: split_sentences(text) for key, (_, text) in rows.items()}
    titles = set() if keep_titles else {title for title, _ in rows.values()}
    unique = sorted(titles | {s for sents in split.values() for s in sents})
    translated = dict(zip(unique, translate(model_dir, unique, batch_size, max_length, num_beams, device)))
    return {key: (title if keep_titles else translated[title], " ".join(translated[s] for s in split[key]))
            for key, (title, _) in rows.items()}


def _one_line(text: str) -> str:
    return " ".join(text.split())  # no tab or newline may break the three-column layout


def write_translations(path, rows: Mapping[str, tuple[str, str]]) -> None:
    """``id<TAB>title<TAB>text`` per row, atomically: the layout of both translated documents
    (:func:`optical.data.wikiclir.read_translations`) and translated queries
    (:func:`optical.evaluate.bm25.read_translated_queries`)."""
    io.write_lines(path, (f"{_one_line(key)}\t{_one_line(title)}\t{_one_line(text)}"
                          for key, (title, text) in rows.items()))


def write_translated_documents(path, rows: Mapping[str, tuple[str, str]]) -> None:
    """Translated documents: ``doc_id<TAB>title<TAB>text``."""
    write_translations(path, rows)


def write_translated_queries(path, rows: Mapping[str, tuple[str, str]]) -> None:
    """Translated queries: ``query_id<TAB>title<TAB>first_sent``."""
    write_translations(path, rows)


def adopt_pretrained(model_dir, out_dir: str, bitext_path: str, cfg: dict, direction: str, heldout_pairs: int,
                     origin: str, device: str = "auto") -> dict:
    """A pretrained Marian model (e.g. opus-mt) as this language's NMT model: saved to ``out_dir`` with
    a training record like a trained model's (no training steps), its BLEU and chrF measured on the
    same held-out pairs as every model trained here."""
    en, xx, held, _ = read_split(bitext_path, heldout_pairs, None)
    sources, targets = sources_and_targets(en, xx, direction, bitext_path)
    model, tok, dev = load_marian(model_dir, device)
    with torch.no_grad():
        scores = heldout_scores(model, tok, [sources[i] for i in held], [targets[i] for i in held], cfg, dev)
    record = {"direction": direction, "origin": origin, "steps": 0, "examples_seen": 0, "train_pairs": 0,
              "heldout_pairs": int(len(held)), "heldout_curve": [], **scores}
    models.save_model_dir(model, tok, out_dir, {TRAINING_FILE: record})
    return record
