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

import torch

from optical import io, models
from optical.train.trainer import EpochSampler, TrainState, fingerprint, fit, finish


def read_triples(path) -> tuple[list[str], list[str], list[str]]:
    table = io.read_parquet(path, ["query", "pos", "neg"])
    return tuple(table.column(c).to_pylist() for c in ("query", "pos", "neg"))


def ranking_loss(query_model, doc_model, tok, queries, pos, neg, temperature: float, dev):
    """In-batch softmax cross-entropy on MaxSim scores, and the in-batch accuracy. When the query
    encoder is not the trained one, it runs without gradient."""
    q = models.encode_batch(tok, queries, query_model.query_max_length, dev)
    d = models.encode_batch(tok, pos + neg, doc_model.doc_max_length, dev)
    with torch.set_grad_enabled(torch.is_grad_enabled() and query_model is doc_model):
        qv = query_model(q["input_ids"], q["attention_mask"])
    dv = doc_model(d["input_ids"], d["attention_mask"])
    scores = models.maxsim(qv, q["content"], dv, d["content"]) / temperature
    target = torch.arange(len(queries), device=dev)
    loss = torch.nn.functional.cross_entropy(scores, target)
    return loss, {"acc": (scores.argmax(1) == target).float().mean().item()}


def _train_ranker(query_model, doc_model, tok, triples, cfg: dict, seed: int, dev, state: TrainState, stage: str):
    queries, pos, neg = triples

    def step_loss(idx):
        return ranking_loss(query_model, doc_model, tok, [queries[i] for i in idx], [pos[i] for i in idx],
                            [neg[i] for i in idx], cfg["temperature"], dev)

    return fit(doc_model, step_loss, EpochSampler(len(queries), seed), cfg, stage=stage, state=state)


def train_teacher(encoder_dir: str, triples_path: str, out_dir: str, cfg: dict, seed: int,
                  threads: int = 1, device: str = "auto", state_dir: str | None = None) -> dict:
    from transformers import AutoModel

    dev = models.setup_torch(threads, seed, device)
    models.check_model_dir(encoder_dir)
    triples = read_triples(triples_path)
    bert = AutoModel.from_pretrained(encoder_dir, add_pooling_layer=False)
    tok = models.load_tokenizer(encoder_dir, bert.config.vocab_size)
    model = models.ColBERT(bert, cfg["dim"], cfg["query_max_length"], cfg["doc_max_length"]).to(dev)
    state = TrainState(state_dir, fingerprint("teacher", cfg, seed, files=[encoder_dir, triples_path]),
                       cfg["checkpoint_every"])
    record = _train_ranker(model, model, tok, triples, cfg, seed, dev, state, "teacher")
    return finish(model, tok, out_dir, record, state)


def train_translate_train(teacher_dir: str, triples_path: str, out_dir: str, cfg: dict, seed: int,
                          threads: int = 1, device: str = "auto", state_dir: str | None = None) -> dict:
    """``cfg``: the training keys and ``temperature``. Triples: English query, translated positive
    and negative passage."""
    dev = models.setup_torch(threads, seed, device)
    teacher, student, tok = models.teacher_and_student(teacher_dir, dev)
    state = TrainState(state_dir, fingerprint("translate_train", cfg, seed, files=[teacher_dir, triples_path]),
                       cfg["checkpoint_every"])
    record = _train_ranker(teacher, student, tok, read_triples(triples_path), cfg, seed, dev, state,
                           "translate_train")
    return finish(student, tok, out_dir, record, state)
