"""Fine-tune the encoder as an English ColBERT re-ranker on MS MARCO-style triples.

Loss: softmax cross-entropy of each query over its positive, its hard negative and every other
passage in the batch (in-batch negatives), on MaxSim scores.
"""

from __future__ import annotations

import logging

import numpy as np
import torch

from optical import io, models

log = logging.getLogger(__name__)


def train_teacher(encoder_dir: str, triples_path: str, out_dir: str, cfg: dict, seed: int,
                  threads: int = 1, device: str = "auto") -> dict:
    from transformers import BertModel

    dev = models.setup_torch(threads, seed, device)
    models.check_model_dir(encoder_dir)
    table = io.read_parquet(triples_path, ["query", "pos", "neg"])
    queries, pos, neg = (table.column(c).to_pylist() for c in ("query", "pos", "neg"))
    bert = BertModel.from_pretrained(encoder_dir, add_pooling_layer=False)
    tok = models.load_tokenizer(encoder_dir, bert.config.vocab_size)
    model = models.ColBERT(bert, cfg["dim"], cfg["query_max_length"], cfg["doc_max_length"]).to(dev)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg["lr"], weight_decay=0.01)
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(queries))
    cursor, bs = 0, cfg["batch_size"]
    model.train()
    losses, accs = [], []
    for step in range(cfg["steps"]):
        if cursor + bs > len(order):
            order, cursor = rng.permutation(len(queries)), 0
        idx = order[cursor:cursor + bs]
        cursor += bs
        q = models.encode_batch(tok, [queries[i] for i in idx], model.query_max_length, dev)
        d = models.encode_batch(tok, [pos[i] for i in idx] + [neg[i] for i in idx], model.doc_max_length, dev)
        qv = model(q["input_ids"], q["attention_mask"])
        dv = model(d["input_ids"], d["attention_mask"])
        scores = models.maxsim(qv, q["content"], dv, d["content"]) / cfg["temperature"]
        target = torch.arange(len(idx), device=dev)
        loss = torch.nn.functional.cross_entropy(scores, target)
        models.train_step(loss, model, opt, "teacher", step)
        losses.append(loss.item())
        accs.append((scores.argmax(1) == target).float().mean().item())
        if step % 100 == 0 or step == cfg["steps"] - 1:
            log.info("step %d loss %.4f in-batch acc %.3f", step, np.mean(losses[-100:]), np.mean(accs[-100:]))
    model.cpu()
    with io.atomic_dir(out_dir) as tmp:
        model.save(tmp, tok)
    return {"final_loss": float(np.mean(losses[-100:])), "final_acc": float(np.mean(accs[-100:]))}
