"""What direct transfer runs on in the synthetic world: does a model align each language's words with
their English translations? (issue 13; docs/calibration.md#what-direct-transfer-runs-on-a-diagnostic-2026-11-27)

Two probes, neither trained:

- **out of context**: each concept's foreign form and English form are encoded alone (mean of the
  model's content-token vectors), and the foreign form retrieves its translation among every
  concept's English form by cosine (P@1; chance 1 / n_concepts), for cognates (forms derived from
  the English form by the language's sound correspondences) and native words apart;
- **in context**: in bitext pairs no bitext-trained system saw, each foreign word's nearest English
  word of the same sentence is compared with its translation (the generator's word alignment; a hit
  when the chosen word means the same), by class of foreign word (cognate, native word, name or
  year, from the lexicon; and whether it shares a sub-word token with its translation), and for
  native words beside chance and a guess by place alone (the English word at the same relative
  position), with the hits where that guess is wrong.

A ``student`` encodes the foreign side instead of the model (English stays with the model, its
teacher): a control that the probes find alignment where a method learnt it.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import torch

from optical import io, models
from optical.data.synthetic import PIVOT, World, WorldSpec
from optical.evaluate.rerank import encode_texts
from optical.probe_columns import CLASSES, COLUMNS

PROBE_PAIRS = 400  # bitext pairs for the in-context probe
CONTROL = "OPTICAL student (control)"
log = logging.getLogger(__name__)


def cognate_masks(world: World) -> dict[str, list[bool]]:
    """Per language, which concepts' forms are cognates: those that differ from the language's
    lexicon without cognates. That lexicon is redrawn from the built world with World._lexicon (its
    own stream, and the words taken before any language was drawn), so the world is built once and
    the generator stays untouched (its code hash feeds every job of a run)."""
    masks = {}
    for code, ls in world.spec.languages.items():
        bare = world._lexicon(dataclasses.replace(ls, cognate_share=0.0))
        masks[code] = [a != b for a, b in zip(world.lexicons[code].forms, bare.forms)]
    return masks


def word_vectors(model, tok, words: list[str]) -> torch.Tensor:
    vecs = encode_texts(model, tok, words, max_length=16, batch_size=256, dev="cpu")
    return torch.nn.functional.normalize(torch.stack([v.mean(0) for v in vecs]), dim=-1)


def isolated_alignment(model, tok, english: list[str], foreign: list[str], student=None) -> torch.Tensor:
    """Per concept, whether its foreign form's nearest English form is its translation."""
    e, f = word_vectors(model, tok, english), word_vectors(student or model, tok, foreign)
    return (f @ e.T).argmax(1) == torch.arange(len(english))


def word_means(vectors: torch.Tensor, word_ids: list, input_ids: torch.Tensor) -> dict[int, tuple]:
    """Per word of one encoded text: (mean of its token vectors, its set of token ids)."""
    words: dict[int, list[int]] = {}
    for t, w in enumerate(word_ids):
        if w is not None:
            words.setdefault(w, []).append(t)
    return {w: (vectors[ts].mean(0), set(input_ids[ts].tolist())) for w, ts in words.items()}


def word_keys(forms: list[str], suffixes: list[str]):
    """A bitext word's meaning: its concept (a lexicon form, bare or suffixed, in any case) or, for
    names, years and function words, its lower-cased text (names and years are spelt alike in every
    language, so their keys match their translations')."""
    concept = {f: i for i, f in enumerate(forms)}

    def key(word: str) -> int | str:
        w = word.lower()
        if w in concept:
            return concept[w]
        for s in suffixes:
            if w.endswith(s) and w[:-len(s)] in concept:
                return concept[w[:-len(s)]]
        return w
    return key


@dataclass
class ContextScores:
    """The in-context probe's hits by class of foreign word, and the baselines for native words."""
    classes: dict = field(default_factory=lambda: {c: [] for c in CLASSES})
    chance: list = field(default_factory=list)     # share of the sentence's English words that translate it
    by_place: list = field(default_factory=list)   # is the English word at the same relative place its translation
    off_place: list = field(default_factory=list)  # hits where that place guess is wrong

    def row(self) -> dict:
        mean = lambda xs: sum(xs) / len(xs) if xs else float("nan")  # noqa: E731
        return {**{f"context_{c}": mean(h) for c, h in self.classes.items()},
                "context_native_chance": mean(self.chance), "context_native_by_place": mean(self.by_place),
                "context_native_off_place": mean(self.off_place), "context_native_words": len(self.classes["native"])}


def _score_pair(e: dict, x: dict, en_words: list[str], xx_words: list[str], origins: tuple, keys: tuple,
                cognate: list[bool], out: ContextScores) -> None:
    """Score one pair's foreign words (the final full stop left out). A guess hits when the chosen
    English word means the same as the translation (the same concept, or the same name or year), so a
    concept said twice in the sentence counts either copy."""
    (src_origin, tgt_origin), (key_en, key_xx) = origins, keys
    english_of = {o: w for w, o in enumerate(src_origin[:-1]) if o >= 0 and w in e}
    words = list(e)
    meaning = {k: key_en(en_words[k]) for k in words}
    table = torch.nn.functional.normalize(torch.stack([e[k][0] for k in words]), dim=-1)
    for w, o in enumerate(tgt_origin[:-1]):
        if o not in english_of or w not in x:
            continue
        gold = meaning[english_of[o]]
        hit = meaning[words[int((table @ torch.nn.functional.normalize(x[w][0], dim=0)).argmax())]] == gold
        concept = key_xx(xx_words[w])
        kind = "names_years" if isinstance(concept, str) else "cognates" if cognate[concept] else "native"
        out.classes[kind].append(hit)
        shared = bool(x[w][1] & e[english_of[o]][1])
        if shared:
            out.classes["shared"].append(hit)
        if kind == "cognates":
            out.classes["cognates_shared" if shared else "cognates_other"].append(hit)
        if kind == "native":
            on_place = meaning[min(words, key=lambda k: abs(k / len(src_origin) - w / len(tgt_origin)))] == gold
            out.by_place.append(on_place)
            out.chance.append(sum(meaning[k] == gold for k in words) / len(words))
            if not on_place:
                out.off_place.append(hit)


def context_alignment(model, tok, pairs: pd.DataFrame, keys: tuple, cognate: list[bool],
                      n_pairs: int = PROBE_PAIRS, student=None) -> dict:
    """The in-context probe on the first ``n_pairs`` of ``pairs`` (bitext with word origins);
    ``keys`` are the English and the foreign :func:`word_keys`."""
    out = ContextScores()
    rows = pairs.head(n_pairs)
    for i in range(0, len(rows), 32):
        batch = rows.iloc[i:i + 32]
        en = models.encode_batch(tok, batch.src.tolist(), 64, "cpu", word_ids=True)
        xx = models.encode_batch(tok, batch.tgt.tolist(), 64, "cpu", word_ids=True)
        with torch.inference_mode():
            ev = model(en["input_ids"], en["attention_mask"])
            xv = (student or model)(xx["input_ids"], xx["attention_mask"])
        for b, pair in enumerate(batch.itertuples()):
            _score_pair(word_means(ev[b], en["word_ids"][b], en["input_ids"][b]),
                        word_means(xv[b], xx["word_ids"][b], xx["input_ids"][b]), pair.src.split(),
                        pair.tgt.split(), (pair.src_origin, pair.tgt_origin), keys, cognate, out)
    return out.row()


def probe_pairs(world_bitext: str | Path, sample: str | Path | None = None) -> pd.DataFrame:
    """The world's bitext pairs outside ``sample`` (the pairs the run's bitext-trained systems saw).
    Empty when the run sampled every pair (a valid run): the in-context probe is then skipped, its
    cells NaN, rather than failing the run over a diagnostic."""
    world = io.read_parquet(world_bitext, ["src", "tgt", "src_origin", "tgt_origin"]).to_pandas()
    if sample is None or not Path(sample).exists():
        return world
    taken = io.read_parquet(sample, ["src", "tgt"])
    seen = set(zip(taken.column("src").to_pylist(), taken.column("tgt").to_pylist()))
    left = world[[pair not in seen for pair in zip(world.src, world.tgt)]]
    if left.empty:
        log.warning("every one of the world's %d bitext pairs (%s) is in the run's sample (%s): the in-context "
                    "probe is skipped (set languages.<code>.bitext_pairs below world.languages.<code>.bitext_pairs "
                    "to run it)", len(world), world_bitext, sample)
    return left


def probe_language(model, tok, world: World, code: str, cognate: list[bool], pairs: pd.DataFrame,
                   student=None) -> dict:
    """Both probes for one language: the row's numbers (without language, seed and model)."""
    mask = torch.tensor(cognate)
    en, xx = world.lexicons[PIVOT], world.lexicons[code]
    hit = isolated_alignment(model, tok, en.forms, xx.forms, student).float()
    keys = (word_keys(en.forms, en.suffixes), word_keys(xx.forms, xx.suffixes))
    return {"cognates": int(mask.sum()), "p1_cognates": hit[mask].mean().item(), "p1_native": hit[~mask].mean().item(),
            **context_alignment(model, tok, pairs, keys, cognate, student=student)}


def load_model(model_dir: str | Path):
    """A ColBERT scorer directory, or a pretrained encoder's (its last hidden states), in eval mode."""
    model_dir = Path(model_dir)
    if (model_dir / models.SCORER_FILE).exists():
        model, tok = models.ColBERT.load(model_dir)
    else:
        model, tok = HiddenStates(model_dir), models.load_tokenizer(model_dir)
    return model.eval(), tok


class HiddenStates(torch.nn.Module):
    """A pretrained encoder's last hidden states, called like a ColBERT."""

    def __init__(self, path: Path):
        super().__init__()
        from transformers import AutoModel
        self.bert = AutoModel.from_pretrained(str(path), add_pooling_layer=False)

    def forward(self, input_ids, attention_mask):
        return self.bert(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state


def probe_run(world_config: dict, language: str, seed: int, model_dir: str | Path, world_bitext: str | Path,
              sample: str | Path | None = None, student_dir: str | Path | None = None,
              model_name: str = "teacher") -> pd.DataFrame:
    """One language and seed: the model's row and, with ``student_dir``, the student's control row.
    ``sample`` is the run's bitext sample (its pairs are left out of the in-context probe)."""
    world = World(WorldSpec.from_config(world_config))
    cognate = cognate_masks(world)[language]
    model, tok = load_model(model_dir)
    pairs = probe_pairs(world_bitext, sample)
    key = {"language": language, "seed": seed}
    rows = [{**key, "model": model_name, **probe_language(model, tok, world, language, cognate, pairs)}]
    if student_dir is not None:
        student = load_model(student_dir)[0]
        rows.append({**key, "model": CONTROL, **probe_language(model, tok, world, language, cognate, pairs, student)})
    return pd.DataFrame(rows, columns=COLUMNS)
