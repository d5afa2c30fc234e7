"""How well a run's English teacher aligns each language's words with English, cognates and native
words apart (issue 13: what direct transfer in the synthetic world runs on).

    python benchmarks/lexicon_alignment.py RUN_DIR [--config config/config.yaml]

For every language and seed: each concept's foreign form and English form are encoded alone by the
seed's teacher (the ColBERT that direct transfer uses; mean of its content-token vectors) or, with
``--model encoder``, the pretrained encoder it starts from (mean of the last hidden states), and the
foreign form retrieves its English translation among all concepts' English forms by cosine. P@1 is
given for cognates (forms derived from the English form by sound correspondences), native words, and
native words by frequency (the world's Zipf ranks: the 200 most frequent concepts, the rest).
Chance is 1 / n_concepts. In context: in the first 400 bitext pairs that the run's students did not train on, how often each foreign word's
nearest English word of the same sentence is its translation (chance about 1/12), for words that
share a sub-word with their translation and words that share none, beside a guess by place alone
(the English word at the same relative position) for the latter. Reads the world's lexicons from the config (the generator is
deterministic); trains nothing and changes no result. ``--student optical/{language}/main`` encodes
the foreign side with a bitext student instead (English with the teacher): a control that the probe
finds alignment where a method learnt it.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

import pandas as pd
import torch
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from optical import models  # noqa: E402
from optical.data.synthetic import PIVOT, World, WorldSpec  # noqa: E402
from optical.evaluate.rerank import encode_texts  # noqa: E402

HEAD = 200  # the most frequent concepts: seen often in every language's text


def cognate_mask(spec: WorldSpec, code: str) -> list[bool]:
    """Which concepts' forms are cognates: those that differ from the world without cognates."""
    native = dataclasses.replace(spec.languages[code], cognate_share=0.0)
    bare = World(dataclasses.replace(spec, languages={**spec.languages, code: native}))
    full = World(spec)
    return [a != b for a, b in zip(full.lexicons[code].forms, bare.lexicons[code].forms)]


class HiddenStates(torch.nn.Module):
    """The pretrained encoder's last hidden states, called like a ColBERT."""

    def __init__(self, path: Path):
        super().__init__()
        from transformers import AutoModel
        self.bert = AutoModel.from_pretrained(str(path), add_pooling_layer=False)

    def forward(self, input_ids, attention_mask):
        return self.bert(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state


def load(model_dir: Path):
    if (model_dir / models.SCORER_FILE).exists():
        return models.ColBERT.load(model_dir)
    return HiddenStates(model_dir), models.load_tokenizer(model_dir)


def word_vectors(model, tok, words: list[str]) -> torch.Tensor:
    vecs = encode_texts(model, tok, words, max_length=16, batch_size=256, dev="cpu")
    return torch.nn.functional.normalize(torch.stack([v.mean(0) for v in vecs]), dim=-1)


def alignment(model, tok, english: list[str], foreign: list[str], student=None) -> torch.Tensor:
    """Per concept, whether its foreign form's nearest English form is its translation (the foreign
    forms encoded by ``student`` where given: a bitext student against its teacher)."""
    e, f = word_vectors(model, tok, english), word_vectors(student or model, tok, foreign)
    return (f @ e.T).argmax(1) == torch.arange(len(english))


def word_means(vectors: torch.Tensor, word_ids: list, input_ids: torch.Tensor) -> dict[int, tuple]:
    """Per word of one encoded text: (mean of its token vectors, its set of token ids)."""
    words: dict[int, list[int]] = {}
    for t, w in enumerate(word_ids):
        if w is not None:
            words.setdefault(w, []).append(t)
    return {w: (vectors[ts].mean(0), set(input_ids[ts].tolist())) for w, ts in words.items()}


def context_alignment(model, tok, bitext: pd.DataFrame, n_pairs: int = 400, student=None) -> dict[str, float]:
    """In parallel sentences, how often a foreign word's nearest English word of the same sentence
    (cosine of mean token vectors) is its translation; for words that share a sub-word with their
    translation (cognates, anchors) and words that share none. Chance is one over the sentence's
    English words (about 1/12). The final full stop is left out."""
    hits: dict[bool, list[bool]] = {True: [], False: []}
    by_position: list[bool] = []  # a baseline for the words that share none: the English word at the same relative place
    rows = bitext.head(n_pairs)
    for i in range(0, len(rows), 32):
        batch = rows.iloc[i:i + 32]
        en = models.encode_batch(tok, batch.src.tolist(), 64, "cpu", word_ids=True)
        xx = models.encode_batch(tok, batch.tgt.tolist(), 64, "cpu", word_ids=True)
        with torch.inference_mode():
            ev = model(en["input_ids"], en["attention_mask"])
            xv = (student or model)(xx["input_ids"], xx["attention_mask"])
        for b, (src_origin, tgt_origin) in enumerate(zip(batch.src_origin, batch.tgt_origin)):
            e = word_means(ev[b], en["word_ids"][b], en["input_ids"][b])
            x = word_means(xv[b], xx["word_ids"][b], xx["input_ids"][b])
            english_of = {o: w for w, o in enumerate(src_origin[:-1]) if o >= 0 and w in e}
            keys = list(e)
            table = torch.nn.functional.normalize(torch.stack([e[k][0] for k in keys]), dim=-1)
            for w, o in enumerate(tgt_origin[:-1]):
                if o in english_of and w in x:
                    gold = english_of[o]
                    guess = keys[int((table @ torch.nn.functional.normalize(x[w][0], dim=0)).argmax())]
                    shared = bool(x[w][1] & e[gold][1])
                    hits[shared].append(guess == gold)
                    if not shared:
                        place = min(keys, key=lambda k: abs(k / len(src_origin) - w / len(tgt_origin)))
                        by_position.append(place == gold)
    return {"in context, shared sub-word": sum(hits[True]) / max(len(hits[True]), 1),
            "in context, none shared": sum(hits[False]) / max(len(hits[False]), 1),
            "none shared, by position": sum(by_position) / max(len(by_position), 1)}


def probe_pairs(run_dir: Path, code: str) -> pd.DataFrame:
    """The world's bitext pairs that the run's bitext-trained systems did not see (those outside its
    sample, results/data/<code>/bitext.parquet; all pairs where the run has none)."""
    world = pd.read_parquet(run_dir / "results" / "world" / "bitext" / f"{PIVOT}-{code}.parquet")
    sample = run_dir / "results" / "data" / code / "bitext.parquet"
    if not sample.exists():
        return world
    seen = set(zip(*pd.read_parquet(sample, columns=["src", "tgt"]).to_dict("list").values()))
    return world[[pair not in seen for pair in zip(world.src, world.tgt)]]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run_dir", type=Path)
    ap.add_argument("--config", type=Path, default=ROOT / "config" / "config.yaml")
    ap.add_argument("--model", choices=["teacher", "encoder"], default="teacher",
                    help="the teacher (what direct transfer uses) or the pretrained encoder it starts from")
    ap.add_argument("--student", metavar="SYSTEM_DIR",
                    help="encode the foreign side with this bitext student of the teacher, e.g. optical/{language}/main")
    args = ap.parse_args()
    config = yaml.safe_load(args.config.read_text())
    spec = WorldSpec.from_config(config["world"])
    world = World(spec)
    english = world.lexicons[PIVOT].forms
    rows = []
    for code in config["languages"]:
        cognate = torch.tensor(cognate_mask(spec, code))
        head = torch.arange(len(english)) < HEAD
        for seed in config["seeds"]:
            models_dir = args.run_dir / "results" / "models"
            model, tok = load(models_dir / args.model / f"seed{seed}")
            student = load(models_dir / args.student.format(language=code) / f"seed{seed}")[0] if args.student else None
            for m in (model, student):
                if m is not None:
                    m.eval()
            hit = alignment(model, tok, english, world.lexicons[code].forms, student).float()
            in_context = context_alignment(model, tok, probe_pairs(args.run_dir, code), student=student)
            rows.append({"language": code, "mono_sentences": spec.languages[code].mono_sentences,
                         "seed": seed, "cognates": len(cognate.nonzero()),
                         "P@1 cognates": hit[cognate].mean().item(),
                         "P@1 native": hit[~cognate].mean().item(),
                         f"P@1 native, top {HEAD}": hit[~cognate & head].mean().item(),
                         "P@1 native, rest": hit[~cognate & ~head].mean().item(), **in_context})
    table = pd.DataFrame(rows)
    print(table.to_string(index=False, float_format=lambda x: f"{x:.3f}"))
    print("\nmean over seeds:")
    print(table.drop(columns="seed").groupby(["language", "mono_sentences"], sort=False).mean()
          .to_string(float_format=lambda x: f"{x:.3f}"))


if __name__ == "__main__":
    main()
