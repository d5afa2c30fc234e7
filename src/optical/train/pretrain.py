"""Masked-LM pretraining of the tiny multilingual encoder: the stand-in for mBERT.

Languages are sampled by exponentially smoothed text size (p_l ∝ n_l^alpha, mBERT used 0.7),
so the low-resource languages stay under-represented, which is the language bias OPTICAL
targets. In the paper setting this stage is replaced by a hub checkpoint.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch

from optical import models
from optical.train.trainer import TrainState, fingerprint, finish, fit, tokenizer_beside_state
from optical.errors import InputError

log = logging.getLogger(__name__)


def read_mono(path) -> list[str]:
    path = Path(path)
    if not path.exists():
        raise InputError(path, "monolingual text file does not exist", "run make_world")
    lines = [l for l in path.read_text(encoding="utf-8").splitlines() if l.strip()]
    if not lines:
        raise InputError(path, "monolingual text file is empty", "give every language some text")
    return lines


def language_probs(sizes: dict[str, int], alpha: float) -> dict[str, float]:
    w = {k: n ** alpha for k, n in sizes.items()}
    z = sum(w.values())
    return {k: v / z for k, v in w.items()}


class MixtureSampler:
    """Sentences drawn language by language with probabilities ``probs`` (with replacement)."""

    def __init__(self, texts: dict[str, list[str]], probs: dict[str, float], seed: int):
        self.texts, self.langs = texts, list(texts)
        self.p = np.array([probs[lang] for lang in self.langs])
        self.rng = np.random.default_rng(seed)

    def next_batch(self, size: int) -> list[str]:
        out = []
        for li in self.rng.choice(len(self.langs), size, p=self.p):
            pool = self.texts[self.langs[li]]
            out.append(pool[self.rng.integers(len(pool))])
        return out

    def state_dict(self) -> dict:
        return {"rng": self.rng.bit_generator.state}

    def load_state_dict(self, state: dict) -> None:
        self.rng.bit_generator.state = state["rng"]


def pretrain(mono: dict[str, str], out_dir: str, cfg: dict, encoder_cfg: dict, seed: int,
             threads: int = 1, device: str = "auto", state_dir: str | None = None) -> dict:
    from transformers import DataCollatorForLanguageModeling

    dev = models.setup_torch(threads, seed, device)
    texts = {lang: read_mono(p) for lang, p in sorted(mono.items())}
    probs = language_probs({k: len(v) for k, v in texts.items()}, cfg["language_alpha"])
    log.info("sentences per language %s; sampling probabilities %s",
             {k: len(v) for k, v in texts.items()}, {k: round(p, 4) for k, p in probs.items()})
    sampler = MixtureSampler(texts, probs, seed)
    state = TrainState(state_dir, fingerprint("pretrain", cfg, encoder_cfg, seed, files=list(mono.values())),
                       cfg["checkpoint_every"])
    # the WordPiece vocabulary sees the same smoothed mixture as the model
    sentences = sampler.next_batch(cfg["tokenizer_sentences"])  # drawn on resume too: the sampler's state follows
    tok = tokenizer_beside_state(state, lambda: models.train_tokenizer(sentences, encoder_cfg["vocab_size"],
                                                                              encoder_cfg.get("cased", False)))
    model = models.build_mlm(len(tok), encoder_cfg).to(dev)
    collator = DataCollatorForLanguageModeling(tok, mlm_probability=cfg["mask_prob"], return_tensors="pt")
    torch.manual_seed(seed)  # the collator draws its masks from torch's global generator

    def step_loss(sentences):
        enc = tok(sentences, truncation=True, max_length=cfg["max_length"])
        batch = collator([{"input_ids": ids} for ids in enc["input_ids"]])
        return masked_lm_loss(model, batch["input_ids"].to(dev), batch["labels"].to(dev), tok.pad_token_id)

    record = fit(model, step_loss, sampler, cfg, stage="pretrain", state=state)
    record.update(vocab_size=len(tok), probs=probs)
    return finish(model, tok, out_dir, record, state)


def masked_lm_loss(model, input_ids, labels, pad_id):
    """MLM loss with the vocabulary head applied to masked positions only (about 15% of tokens):
    the same loss as BertForMaskedLM's, at a fraction of the cost of scoring every position."""
    hidden = model.bert(input_ids=input_ids, attention_mask=(input_ids != pad_id).long()).last_hidden_state
    picked = labels != -100
    logits = model.cls(hidden[picked])
    return torch.nn.functional.cross_entropy(logits, labels[picked])
