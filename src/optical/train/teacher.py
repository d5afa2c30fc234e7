"""Ranker training on MS MARCO-style triples: the English teacher, and the translate-train baseline.

Loss: softmax cross-entropy of each query over its positive, its hard negative and every other
passage in the batch (in-batch negatives), on MaxSim scores.

- ``train_teacher`` fine-tunes the multilingual encoder on English triples (query and passage
  encoder shared).
- ``train_translate_train`` continues from the teacher on the same triples with passages
  translated into the target language; like the distilled students, only the document encoder
  is trained and queries stay with the frozen English teacher, so the baselines differ only in
  their training signal (translated ranking data vs bitext).
"""

from __future__ import annotations

import logging

import numpy as np
import torch

from optical import io, models
from optical.checkpoint import TrainState, fingerprint

log = logging.getLogger(__name__)


def _read_triples(path):
    table = io.read_parquet(path, ["query", "pos", "neg"])
    return [table.column(c).to_pylist() for c in ("query", "pos", "neg")]


def _train_ranker(query_model, doc_model, trainable, tok, triples, cfg: dict, seed: int, dev, state: TrainState,
                  stage: str) -> dict:
    queries, pos, neg = triples
    opt = torch.optim.AdamW(trainable.parameters(), lr=cfg["lr"], weight_decay=0.01)
    rng = np.random.default_rng(seed)
    bs = cfg["batch_size"]
    trainable.train()
    loop = state.load(trainable, opt)
    if loop is None:
        loop = {"step": 0, "order": rng.permutation(len(queries)), "cursor": 0, "losses": [], "accs": []}
    else:
        rng.bit_generator.state = loop["rng"]
    order, cursor, losses, accs = loop["order"], loop["cursor"], loop["losses"], loop["accs"]
    for step in range(loop["step"], cfg["steps"]):  # loop["step"]: steps completed
        if cursor + bs > len(order):
            order, cursor = rng.permutation(len(queries)), 0
        idx = order[cursor:cursor + bs]
        cursor += bs
        q = models.encode_batch(tok, [queries[i] for i in idx], query_model.query_max_length, dev)
        d = models.encode_batch(tok, [pos[i] for i in idx] + [neg[i] for i in idx], doc_model.doc_max_length, dev)
        if query_model is doc_model:
            qv = query_model(q["input_ids"], q["attention_mask"])
        else:
            with torch.no_grad():
                qv = query_model(q["input_ids"], q["attention_mask"])
        dv = doc_model(d["input_ids"], d["attention_mask"])
        scores = models.maxsim(qv, q["content"], dv, d["content"]) / cfg["temperature"]
        target = torch.arange(len(idx), device=dev)
        loss = torch.nn.functional.cross_entropy(scores, target)
        models.train_step(loss, trainable, opt, stage, step)
        losses.append(loss.item())
        accs.append((scores.argmax(1) == target).float().mean().item())
        if step % 100 == 0 or step == cfg["steps"] - 1:
            log.info("%s step %d loss %.4f in-batch acc %.3f", stage, step, np.mean(losses[-100:]),
                     np.mean(accs[-100:]))
        state.maybe_save(step + 1, trainable, opt, {"order": order, "cursor": cursor, "losses": losses,
                                                    "accs": accs, "rng": rng.bit_generator.state})
    return {"first_loss": float(np.mean(losses[:10])), "final_loss": float(np.mean(losses[-100:])),
            "final_acc": float(np.mean(accs[-100:]))}


def train_teacher(encoder_dir: str, triples_path: str, out_dir: str, cfg: dict, seed: int,
                  threads: int = 1, device: str = "auto", state_dir: str | None = None) -> dict:
    from transformers import AutoModel

    dev = models.setup_torch(threads, seed, device)
    models.check_model_dir(encoder_dir)
    triples = _read_triples(triples_path)
    bert = AutoModel.from_pretrained(encoder_dir, add_pooling_layer=False)
    tok = models.load_tokenizer(encoder_dir, bert.config.vocab_size)
    model = models.ColBERT(bert, cfg["dim"], cfg["query_max_length"], cfg["doc_max_length"]).to(dev)
    state = TrainState(state_dir, fingerprint("teacher", cfg, seed, files=[encoder_dir, triples_path]),
                       cfg["checkpoint_every"])
    stats = _train_ranker(model, model, model, tok, triples, cfg, seed, dev, state, "teacher")
    return _save(model, tok, out_dir, state, stats)


def train_translate_train(teacher_dir: str, triples_path: str, out_dir: str, cfg: dict, seed: int,
                          threads: int = 1, device: str = "auto", state_dir: str | None = None) -> dict:
    """``cfg``: steps, batch_size, lr, temperature, checkpoint_every. Triples: English query,
    translated positive and negative passage."""
    dev = models.setup_torch(threads, seed, device)
    teacher, student, tok = models.teacher_and_student(teacher_dir, dev)
    state = TrainState(state_dir, fingerprint("translate_train", cfg, seed, files=[teacher_dir, triples_path]),
                       cfg["checkpoint_every"])
    stats = _train_ranker(teacher, student, student, tok, _read_triples(triples_path), cfg, seed, dev, state,
                          "translate_train")
    return _save(student, tok, out_dir, state, stats)


def _save(model, tok, out_dir: str, state: TrainState, stats: dict) -> dict:
    """Write the model directory atomically (with its training stats), then drop the resumable state."""
    model.cpu()
    with io.atomic_dir(out_dir) as tmp:
        model.save(tmp, tok)
        io.write_json(tmp / "training.json", stats)
    state.clear()
    return stats
