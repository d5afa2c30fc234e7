"""Cross-lingual NER: an English teacher, direct transfer, teacher-student learning, OT alignment.

- Data: PAN-X (WikiANN as in XTREME) files ``<lang>:<token><TAB><tag>`` with blank lines between
  sentences, or the same data through the Hugging Face ``datasets`` library; stored as Parquet
  ``tokens`` / ``tags`` (lists of strings) per language and split.
- Teacher: the multilingual encoder + a linear token classifier, fine-tuned on English ``train``;
  the first sub-word of each word carries the word's label (the others are ignored).
- ``direct``: the teacher applied to the target language.
- ``teacher_student`` (Wu et al., ACL 2020, arXiv 2004.12440): a student initialised from the
  multilingual encoder learns the teacher's label distributions on unlabelled target sentences;
  loss MSE on probabilities (theirs) or KL(teacher || student), ``ner.student.loss``.
- ``ot_aligned`` (new, not in either paper): a copy of the teacher whose encoder is aligned on
  bitext as in OPTICAL (entropic OT between its foreign-sentence token states and the frozen
  teacher's English token states), with the teacher's classifier kept frozen on top.
- Evaluation: entity-level precision / recall / F1 with seqeval; counts are kept per sentence so
  a paired bootstrap over test sentences can compare systems.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import numpy as np
import pyarrow as pa
import torch

from optical import io, models
from optical.checkpoint import TrainState, fingerprint
from optical.errors import InputError

log = logging.getLogger(__name__)

LABELS = ("O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC")  # PAN-X's label set and order
LABEL_ID = {l: i for i, l in enumerate(LABELS)}
NER_SCHEMA = pa.schema([("tokens", pa.list_(pa.string())), ("tags", pa.list_(pa.string()))])
_PREFIX = re.compile(r"^[a-z]{2,3}(-[a-z]+)?:")


# --- data ---------------------------------------------------------------------------------

def read_panx(path: str | Path) -> list[tuple[list[str], list[str]]]:
    """Sentences of a PAN-X file: ``<lang>:<token><TAB><tag>`` lines, blank lines between sentences
    (``-DOCSTART-`` lines are separators too). Every tag must be one of :data:`LABELS`."""
    path = Path(path)
    if not path.exists():
        raise InputError(path, "PAN-X file does not exist", "point ner.panx_dir at the extracted PAN-X data")
    sents, words, tags = [], [], []
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, start=1):
            line = line.rstrip("\n").rstrip("\r")
            if not line.strip() or line.startswith("-DOCSTART-"):
                if words:
                    sents.append((words, tags))
                    words, tags = [], []
                continue
            parts = line.split("\t")
            if len(parts) != 2:
                raise InputError(path, f"line {lineno}: expected '<lang>:<token><TAB><tag>', got {len(parts)} "
                                 "tab-separated fields", "fix the file (PAN-X layout)")
            token, tag = _PREFIX.sub("", parts[0], count=1), parts[1].strip()
            if tag not in LABEL_ID:
                raise InputError(path, f"line {lineno}: tag {tag!r} is not one of {list(LABELS)}",
                                 "use PAN-X's BIO tags")
            if not token:
                raise InputError(path, f"line {lineno}: empty token", "fix the file")
            words.append(token)
            tags.append(tag)
    if words:
        sents.append((words, tags))
    if not sents:
        raise InputError(path, "no sentences", "supply a non-empty PAN-X file")
    return sents


def write_sentences(path: str | Path, sents: list[tuple[list[str], list[str]]]) -> None:
    io.write_parquet(path, pa.table({"tokens": [w for w, _ in sents], "tags": [t for _, t in sents]},
                                    schema=NER_SCHEMA))


def read_sentences(path: str | Path) -> tuple[list[list[str]], list[list[str]]]:
    t = io.read_parquet(path, ["tokens", "tags"])
    return t.column("tokens").to_pylist(), t.column("tags").to_pylist()


def load_hub_split(dataset: str, config: str, split: str) -> list[tuple[list[str], list[str]]]:
    """PAN-X through ``datasets`` (e.g. ``google/xtreme``, ``PAN-X.sw``): ``tokens`` and integer
    ``ner_tags`` mapped to names with the dataset's own label feature."""
    try:
        import datasets
    except ImportError as e:
        raise ImportError("the paper setting's NER data needs the 'datasets' package: pip install -e '.[paper]'") from e
    ds = datasets.load_dataset(dataset, config, split=split)
    names = ds.features["ner_tags"].feature.names
    unknown = sorted(set(names) - set(LABELS))
    if unknown:
        raise InputError(f"{dataset}/{config}", f"labels {unknown} are not PAN-X's {list(LABELS)}",
                         "use a PAN-X / WikiANN dataset")
    return [(list(r["tokens"]), [names[i] for i in r["ner_tags"]]) for r in ds]


# --- tokenisation -------------------------------------------------------------------------

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


def soft_label_loss(student_logits: torch.Tensor, teacher_probs: torch.Tensor, mask: torch.Tensor,
                    kind: str = "mse") -> torch.Tensor:
    """Teacher-student loss over the tokens in ``mask`` (first sub-words): ``mse`` = squared error
    between probability vectors summed over labels (Wu et al. 2020), ``kl`` = KL(teacher || student);
    mean over tokens."""
    if kind not in ("mse", "kl"):
        raise ValueError(f"unknown soft-label loss {kind!r}; choose mse or kl")
    s = student_logits[mask]
    t = teacher_probs[mask]
    if s.numel() == 0:
        return student_logits.sum() * 0.0
    if kind == "mse":
        return ((torch.softmax(s, dim=-1) - t) ** 2).sum(dim=-1).mean()
    return torch.nn.functional.kl_div(torch.log_softmax(s, dim=-1), t, reduction="batchmean")


def _loop(model, trainable_params, n_items: int, cfg: dict, seed: int, state: TrainState, stage: str, step_loss):
    """A resumable training loop over shuffled batches of ``n_items``; ``step_loss(idx)`` -> loss."""
    opt = torch.optim.AdamW(trainable_params, lr=cfg["lr"], weight_decay=0.01)
    rng = np.random.default_rng(seed)
    loop = state.load(model, opt)
    if loop is None:
        loop = {"step": 0, "order": rng.permutation(n_items), "cursor": 0, "losses": []}
    else:
        rng.bit_generator.state = loop["rng"]
    order, cursor, losses = loop["order"], loop["cursor"], loop["losses"]
    bs = cfg["batch_size"]
    model.train()
    for step in range(loop["step"], cfg["steps"]):
        if cursor + bs > len(order):
            order, cursor = rng.permutation(n_items), 0
        idx = order[cursor:cursor + bs]
        cursor += bs
        loss = step_loss(idx)
        models.train_step(loss, model, opt, stage, step)
        losses.append(loss.item())
        if step % 100 == 0 or step == cfg["steps"] - 1:
            log.info("%s step %d loss %.4f", stage, step, float(np.mean(losses[-100:])))
        state.maybe_save(step + 1, model, opt, {"order": order, "cursor": cursor, "losses": losses,
                                                "rng": rng.bit_generator.state})
    return {"first_loss": float(np.mean(losses[:10])), "final_loss": float(np.mean(losses[-50:]))}


def _save(model, tok, out_dir, state: TrainState, stats: dict) -> dict:
    model.cpu()
    with io.atomic_dir(out_dir) as tmp:
        model.save_pretrained(tmp)
        tok.save_pretrained(tmp)
        io.write_json(tmp / "training.json", stats)
    state.clear()
    return stats


def train_teacher(encoder_dir: str, train_path: str, out_dir: str, cfg: dict, seed: int, threads: int = 1,
                  device: str = "auto", state_dir: str | None = None) -> dict:
    """Fine-tune the encoder + head on English PAN-X ``train`` (cross-entropy on first sub-words)."""
    dev = models.setup_torch(threads, seed, device)
    words, tags = read_sentences(train_path)
    model, tok = new_classifier(encoder_dir)
    model.to(dev)
    state = TrainState(state_dir, fingerprint("ner_teacher", cfg, seed, files=[encoder_dir, train_path]),
                       cfg["checkpoint_every"])

    def step_loss(idx):
        b = encode_words(tok, [words[i] for i in idx], cfg["max_length"], dev, [tags[i] for i in idx])
        return model(input_ids=b["input_ids"], attention_mask=b["attention_mask"], labels=b["labels"]).loss

    stats = _loop(model, model.parameters(), len(words), cfg, seed, state, "ner_teacher", step_loss)
    return _save(model, tok, out_dir, state, {"system": "teacher", **stats})


def train_student(teacher_dir: str, init_dir: str, unlabeled_path: str, out_dir: str, cfg: dict, seed: int,
                  threads: int = 1, device: str = "auto", state_dir: str | None = None) -> dict:
    """Wu et al.'s teacher-student learning: the student (from ``init_dir``: the multilingual encoder,
    or the teacher itself) fits the frozen teacher's label distributions on unlabelled target text."""
    dev = models.setup_torch(threads, seed, device)
    words, _ = read_sentences(unlabeled_path)  # the target tags are never read
    teacher, t_tok = load_classifier(teacher_dir)
    teacher.to(dev).eval().requires_grad_(False)
    if Path(init_dir).resolve() == Path(teacher_dir).resolve():
        student, s_tok = load_classifier(init_dir)
    else:
        student, s_tok = new_classifier(init_dir)
    student.to(dev)
    state = TrainState(state_dir, fingerprint("ner_student", cfg, seed, files=[teacher_dir, init_dir, unlabeled_path]),
                       cfg["checkpoint_every"])

    def step_loss(idx):
        batch = [words[i] for i in idx]
        tb = encode_words(t_tok, batch, cfg["max_length"], dev)
        sb = encode_words(s_tok, batch, cfg["max_length"], dev)
        with torch.no_grad():
            t_logits = teacher(input_ids=tb["input_ids"], attention_mask=tb["attention_mask"]).logits
        t_probs = torch.softmax(t_logits / cfg["temperature"], dim=-1)
        # per word: the teacher's distribution at its first sub-word, placed at the student's first sub-word
        target = torch.zeros(*sb["input_ids"].shape, len(LABELS), device=dev)
        mask = torch.zeros_like(sb["first"])
        for b in range(len(batch)):
            t_pos = {int(w): p for p, w in zip(torch.nonzero(tb["first"][b]).flatten().tolist(),
                                                tb["word_index"][b][tb["first"][b].cpu()].tolist())}
            for p, w in zip(torch.nonzero(sb["first"][b]).flatten().tolist(),
                            sb["word_index"][b][sb["first"][b].cpu()].tolist()):
                if int(w) in t_pos:
                    target[b, p] = t_probs[b, t_pos[int(w)]]
                    mask[b, p] = True
        s_logits = student(input_ids=sb["input_ids"], attention_mask=sb["attention_mask"]).logits
        return soft_label_loss(s_logits, target, mask, cfg["loss"])

    stats = _loop(student, student.parameters(), len(words), cfg, seed, state, "ner_student", step_loss)
    return _save(student, s_tok, out_dir, state, {"system": "teacher_student", "loss": cfg["loss"], **stats})


def train_ot_aligned(teacher_dir: str, bitext_path: str, out_dir: str, cfg: dict, ot: dict, seed: int,
                     threads: int = 1, device: str = "auto", state_dir: str | None = None) -> dict:
    """A copy of the NER teacher whose encoder learns, on bitext, to put the foreign sentence's
    token states where the frozen teacher puts the English side's (entropic OT, as OPTICAL does
    with ColBERT vectors); the classifier head stays the teacher's."""
    import copy

    from optical.transport import ot_distill_loss

    dev = models.setup_torch(threads, seed, device)
    table = io.read_parquet(bitext_path, ["src", "tgt"])
    en, xx = table.column("src").to_pylist(), table.column("tgt").to_pylist()
    teacher, tok = load_classifier(teacher_dir)
    teacher.to(dev).eval().requires_grad_(False)
    student = copy.deepcopy(teacher).requires_grad_(True)
    student.classifier.requires_grad_(False)
    encoder = student.base_model
    state = TrainState(state_dir, fingerprint("ner_ot", cfg, ot, seed, files=[teacher_dir, bitext_path]),
                       cfg["checkpoint_every"])

    def states(model, texts):
        b = models.encode_batch(tok, texts, cfg["max_length"], dev)
        h = model.base_model(input_ids=b["input_ids"], attention_mask=b["attention_mask"]).last_hidden_state
        return h, b["content"]

    def step_loss(idx):
        with torch.no_grad():
            tv, t_mask = states(teacher, [en[i] for i in idx])
        sv, s_mask = states(student, [xx[i] for i in idx])
        loss, _ = ot_distill_loss(sv, s_mask, tv, t_mask, ot["reg"], ot["max_iter"], ot["tol"])
        if loss is None:
            raise FloatingPointError(f"no valid OT loss for a batch of {bitext_path}; check the bitext")
        return loss

    stats = _loop(student, [p for p in encoder.parameters()], len(en), cfg, seed, state, "ner_ot", step_loss)
    return _save(student, tok, out_dir, state, {"system": "ot_aligned", **stats})


# --- prediction and scoring --------------------------------------------------------------

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


def sentence_counts(gold: list[list[str]], pred: list[list[str]]) -> np.ndarray:
    """(N, 3) per sentence: correct entities, predicted entities, gold entities, with seqeval's
    entity extraction (its default, conlleval-compatible mode); summing rows gives micro P/R/F1."""
    from seqeval.metrics.sequence_labeling import get_entities
    if len(gold) != len(pred):
        raise ValueError(f"{len(gold)} gold sentences but {len(pred)} predictions")
    out = np.zeros((len(gold), 3), dtype=np.int64)
    for i, (g, p) in enumerate(zip(gold, pred)):
        if len(g) != len(p):
            raise ValueError(f"sentence {i}: {len(g)} gold tags but {len(p)} predicted")
        ge, pe = set(get_entities(g)), set(get_entities(p))
        out[i] = (len(ge & pe), len(pe), len(ge))
    return out


def prf(counts: np.ndarray) -> tuple[float, float, float]:
    """Micro precision, recall, F1 from summed (correct, predicted, gold) counts (0 where undefined,
    as seqeval)."""
    tp, npred, ngold = (float(x) for x in np.asarray(counts).reshape(-1, 3).sum(axis=0))
    p = tp / npred if npred else 0.0
    r = tp / ngold if ngold else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


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
