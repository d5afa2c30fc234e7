"""NER models: sub-word encoding of pre-split sentences and the token classifier (encoder + head)."""

from __future__ import annotations

from pathlib import Path

import torch

from optical import models
from optical.errors import InputError
from optical.ner.data import LABEL_ID, LABELS


def encode_words(tok, sents: list[list[str]], max_length: int, device, tags: list[list[str]] | None = None) -> dict:
    """Sub-word encoding of pre-split sentences. ``first`` marks each word's first sub-word (where
    its label lives); ``word_index`` maps those positions back to words; ``labels`` (with tags)
    holds label ids there and -100 elsewhere. Words cut off by ``max_length`` have no position."""
    enc = tok(sents, is_split_into_words=True, truncation=True, max_length=max_length, padding=True,
              return_tensors="pt")
    first = torch.zeros_like(enc["input_ids"], dtype=torch.bool)
    word_index = torch.full_like(enc["input_ids"], -1)
    for b in range(len(sents)):
        prev = None
        for pos, w in enumerate(enc.word_ids(b)):
            if w is not None and w != prev:
                first[b, pos] = True
                word_index[b, pos] = w
            prev = w
    out = {"input_ids": enc["input_ids"].to(device), "attention_mask": enc["attention_mask"].to(device),
           "first": first.to(device), "word_index": word_index}
    if tags is not None:
        labels = torch.full_like(enc["input_ids"], -100)
        for b, ts in enumerate(tags):
            for pos in torch.nonzero(first[b]).flatten().tolist():
                labels[b, pos] = LABEL_ID[ts[word_index[b, pos]]]
        out["labels"] = labels.to(device)
    return out


# --- models -------------------------------------------------------------------------------

def new_classifier(encoder_dir: str | Path):
    """The multilingual encoder with a fresh PAN-X classification head."""
    from transformers import AutoModelForTokenClassification
    models.check_model_dir(encoder_dir)
    model = AutoModelForTokenClassification.from_pretrained(
        str(encoder_dir), num_labels=len(LABELS), id2label=dict(enumerate(LABELS)), label2id=LABEL_ID)
    return model, models.load_tokenizer(encoder_dir, model.config.vocab_size)


def load_classifier(model_dir: str | Path):
    from transformers import AutoModelForTokenClassification
    models.check_model_dir(model_dir)
    model = AutoModelForTokenClassification.from_pretrained(str(model_dir))
    if tuple(model.config.id2label[i] for i in range(model.config.num_labels)) != LABELS:
        raise InputError(model_dir, f"labels {model.config.id2label} are not PAN-X's {LABELS}",
                         "rerun the NER teacher step")
    return model, models.load_tokenizer(model_dir, model.config.vocab_size)
