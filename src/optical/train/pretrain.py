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

from optical import io, models
from optical.checkpoint import TrainState, fingerprint
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


def pretrain(mono: dict[str, str], out_dir: str, cfg: dict, encoder_cfg: dict, seed: int,
             threads: int = 1, device: str = "auto", state_dir: str | None = None) -> dict:
    from transformers import DataCollatorForLanguageModeling

    dev = models.setup_torch(threads, seed, device)
    texts = {lang: read_mono(p) for lang, p in sorted(mono.items())}
    probs = language_probs({k: len(v) for k, v in texts.items()}, cfg["language_alpha"])
    log.info("sentences per language %s; sampling probabilities %s",
             {k: len(v) for k, v in texts.items()}, {k: round(p, 4) for k, p in probs.items()})
    rng = np.random.default_rng(seed)
    langs = list(texts)
    p = np.array([probs[l] for l in langs])

    def sample(n):
        out = []
        for li in rng.choice(len(langs), n, p=p):
            pool = texts[langs[li]]
            out.append(pool[rng.integers(len(pool))])
        return out

    # the WordPiece vocabulary sees the same smoothed mixture as the model
    tok = models.train_tokenizer(sample(cfg["tokenizer_sentences"]), encoder_cfg["vocab_size"])
    model = models.build_mlm(len(tok), encoder_cfg).to(dev)
    collator = DataCollatorForLanguageModeling(tok, mlm_probability=cfg["mask_prob"], return_tensors="pt")
    opt = torch.optim.AdamW(model.parameters(), lr=cfg["lr"], weight_decay=0.01)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, _warmup_linear(cfg["steps"], cfg["warmup_steps"]))
    torch.manual_seed(seed)  # the collator draws its masks from torch's global generator
    model.train()
    state = TrainState(state_dir, fingerprint("pretrain", cfg, encoder_cfg, seed, files=list(mono.values())),
                       cfg["checkpoint_every"])
    loop = state.load(model, opt)
    if loop is None:
        loop = {"step": 0, "losses": []}
    else:
        sched.load_state_dict(loop["scheduler"])
        rng.bit_generator.state = loop["rng"]
    losses = loop["losses"]
    for step in range(loop["step"], cfg["steps"]):  # loop["step"]: steps completed
        enc = tok(sample(cfg["batch_size"]), truncation=True, max_length=cfg["max_length"])
        batch = collator([{"input_ids": ids} for ids in enc["input_ids"]])
        loss = masked_lm_loss(model, batch["input_ids"].to(dev), batch["labels"].to(dev), tok.pad_token_id)
        models.train_step(loss, model, opt, "pretrain", step)
        sched.step()
        losses.append(loss.item())
        if step % 100 == 0 or step == cfg["steps"] - 1:
            log.info("step %d mlm_loss %.4f", step, float(np.mean(losses[-100:])))
        state.maybe_save(step + 1, model, opt, {"losses": losses, "scheduler": sched.state_dict(),
                                                "rng": rng.bit_generator.state})
    with io.atomic_dir(out_dir) as tmp:
        model.save_pretrained(tmp)
        tok.save_pretrained(tmp)
    state.clear()
    return {"final_loss": float(np.mean(losses[-100:])), "vocab_size": len(tok), "probs": probs}


def masked_lm_loss(model, input_ids, labels, pad_id):
    """MLM loss with the vocabulary head applied to masked positions only (about 15% of tokens):
    the same loss as BertForMaskedLM's, at a fraction of the cost of scoring every position."""
    hidden = model.bert(input_ids=input_ids, attention_mask=(input_ids != pad_id).long()).last_hidden_state
    picked = labels != -100
    logits = model.cls(hidden[picked])
    return torch.nn.functional.cross_entropy(logits, labels[picked])


def _warmup_linear(total: int, warmup: int):
    def f(step):
        if step < warmup:
            return (step + 1) / max(1, warmup)
        return max(0.0, (total - step) / max(1, total - warmup))
    return f
