"""NER prediction on a test split: one tag per word, per-sentence counts written as Parquet."""

from __future__ import annotations

import torch

from optical import io, models
from optical.ner.data import LABELS, read_sentences
from optical.ner.model import encode_words, load_classifier
from optical.ner.scores import prf, sentence_counts


def predict(model_dir: str, sents: list[list[str]], max_length: int, batch_size: int = 64,
            device: str = "auto") -> list[list[str]]:
    """One tag per word (the prediction at its first sub-word; words past ``max_length``: O)."""
    dev = models.pick_device(device)
    model, tok = load_classifier(model_dir)
    model.to(dev).eval()
    out = []
    with torch.no_grad():
        for i in range(0, len(sents), batch_size):
            batch = sents[i:i + batch_size]
            b = encode_words(tok, batch, max_length, dev)
            pred = model(input_ids=b["input_ids"], attention_mask=b["attention_mask"]).logits.argmax(-1).cpu()
            for j, words in enumerate(batch):
                tags = ["O"] * len(words)
                first = b["first"][j].cpu()
                for p, w in zip(torch.nonzero(first).flatten().tolist(), b["word_index"][j][first].tolist()):
                    tags[w] = LABELS[int(pred[j, p])]
                out.append(tags)
    return out


def evaluate(model_dir: str, test_path: str, out: str, max_length: int, batch_size: int = 64,
             device: str = "auto") -> dict:
    """Predict the test split and write per-sentence predictions and counts (Parquet)."""
    words, gold = read_sentences(test_path)
    pred = predict(model_dir, words, max_length, batch_size, device)
    counts = sentence_counts(gold, pred)
    io.write_parquet(out, {"sentence": list(range(len(words))), "tokens": words, "gold": gold, "pred": pred,
                           "correct": counts[:, 0].tolist(), "predicted": counts[:, 1].tolist(),
                           "gold_entities": counts[:, 2].tolist()})
    p, r, f = prf(counts)
    return {"sentences": len(words), "precision": p, "recall": r, "f1": f}
