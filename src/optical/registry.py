"""Every system the study compares, in one place.

The rule files, the config checks, the trainers and the report all read this registry; none of
them lists systems of its own. Adding a bitext distillation method takes one :class:`System`
entry here (``kind="bitext"``) and one objective function of the same name in
:mod:`optical.train.objectives`: ``distill.smk`` then makes its rule, the config accepts its name,
and the report shows and tests it (docs/architecture.md, "Adding a method").

This module imports nothing heavy: Snakemake reads it while it builds the DAG.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from optical.errors import ConfigError

# kinds of retrieval system
UNTRAINED = "untrained"      # no target-language training (the candidate order, the zero-shot teacher)
BITEXT = "bitext"            # a student document encoder distilled on bitext only
TRANSLATED = "translated"    # a student document encoder trained on translated ranking data
NMT = "nmt"                  # machine translation trained on the same bitext the students get
REFERENCE = "reference"      # sees a gold translation: context or ceiling, never "best"
TARGET_TEXT = "target_text"  # NER: a student trained on unlabelled target-language text
KINDS = (UNTRAINED, BITEXT, TRANSLATED, NMT, REFERENCE, TARGET_TEXT)

# how a system's run is made
CANDIDATES = "candidates"    # the shared candidate list, in its own order
BM25 = "bm25"                # BM25 over the collection, read off for the candidates
RERANK = "rerank"            # the teacher's query encoder + a document encoder, MaxSim


@dataclass(frozen=True)
class System:
    name: str
    label: str                          # the report's row name
    description: str                    # one line: what is trained or scored
    kind: str
    training_data: str                  # the report's methods table
    needs: tuple[str, ...] = ()         # per-language data (paper setting: languages.<code>.<need>)
    scorer: str = RERANK
    documents: str = "original"         # rerank: "original" documents, their gold "translations", or "nmt" ones
    queries: str = "original"           # bm25: queries translated into the language, "gold" or "nmt"
    seeded: bool = True                 # one run per seed (it uses a seed's teacher); else one run, seed 0
    own_keys: tuple[str, ...] = ()      # bitext methods: the distill.* keys only this method reads
    uses_ot: bool = False               # bitext methods: reads distill.ot (can be in the OT ablation)
    objective: str | None = None        # NER OT alignment: what is moved under the plan (ner.train)
    gold: bool = False                  # trains on gold information nobody else gets (an upper bound)

    @property
    def reference(self) -> bool:
        """Sees a gold translation or alignment: shown for context, never marked best."""
        return self.kind == REFERENCE or self.gold

    @property
    def student(self) -> bool:
        """Trains its own document encoder (one model directory per language, variant and seed)."""
        return self.kind in (BITEXT, TRANSLATED, TARGET_TEXT)


_RETRIEVAL = [
    System("random", "Random (candidate order)", "nothing: the shared candidate list in its (shuffled) order; "
           "a floor.", UNTRAINED, "none", scorer=CANDIDATES, seeded=False),
    System("bm25", "BM25 (translated queries)", "BM25 (bm25s, Lucene variant, config `bm25`) over the whole "
           "foreign collection with queries translated into the document language (gold in the synthetic "
           "world; a supplied translation file in the paper setting).", REFERENCE, "none",
           needs=("query_translations",), scorer=BM25, queries="gold", seeded=False),
    System("direct", "Direct transfer (zero-shot teacher)", "the English ColBERT teacher encodes English "
           "queries and foreign documents zero-shot (no target-language training).", UNTRAINED,
           "English MS MARCO triples"),
    System("sentence_kd", "Sentence KD (pooled MSE)", "student document encoder; squared L2 between the "
           "mean-pooled token vectors of the foreign sentence (student) and of its English side (frozen "
           "teacher); Reimers & Gurevych 2020 without the English-English term.", BITEXT, "bitext",
           needs=("bitext",)),
    System("token_kd_fixed", "Token KD, fixed alignment", "student document encoder; ⟨P, C⟩ with C = 1 − cos "
           "between student foreign tokens and teacher English tokens and P a fixed hard alignment "
           "(`distill.fixed_alignment`) instead of the OT plan.", BITEXT, "bitext", needs=("bitext",),
           own_keys=("fixed_alignment",)),
    System("optical", "OPTICAL (OT distillation)", "student document encoder; ⟨P, C⟩ with P the entropic OT "
           "plan between uniform token marginals (POT log-Sinkhorn, `distill.ot`).", BITEXT, "bitext",
           needs=("bitext",), own_keys=("ot",), uses_ot=True),
    System("optical_sentence", "OPTICAL + sentence loss", "OPTICAL's loss + `distill.sentence_weight` × the "
           "sentence-KD loss.", BITEXT, "bitext", needs=("bitext",), own_keys=("ot", "sentence_weight"),
           uses_ot=True),
    System("token_kd_attention", "Token KD, attention alignment", "student document encoder; ⟨P, C⟩ with P "
           "each student token's softmax of −C/ε over the teacher tokens (ε = `distill.ot.reg`): a soft "
           "alignment without the transport constraint.", BITEXT, "bitext", needs=("bitext",), own_keys=("ot",)),
    System("token_kd_gold", "Token KD, gold alignment (synthetic only)", "student document encoder; ⟨P, C⟩ with "
           "P the generator's true word alignment mapped to sub-words (each student token's mass spread over "
           "the teacher tokens of its translation): an upper bound on alignment quality.", BITEXT,
           "bitext + the world's word alignment", needs=("bitext", "gold_alignment"), gold=True),
    System("translate_train", "Translate-train", "student document encoder trained with the teacher's ranking "
           "loss on English queries and translated passages (`translate_train`).", TRANSLATED,
           "translated MS MARCO triples (mMARCO-style)", needs=("translate_train",)),
    System("nmt_translate_test", "NMT translate-test (NMT on the bitext)", "a Marian NMT model trained from "
           "scratch on the same bitext the students get translates the documents into English; the English "
           "teacher scores them (`nmt`).", NMT, "bitext", needs=("bitext",), documents="nmt"),
    System("bm25_nmt", "BM25 (NMT-translated queries)", "BM25 (config `bm25`) over the foreign collection with "
           "the English queries translated by a Marian NMT model trained on the same bitext (`nmt`): the "
           "realistic counterpart of BM25 with gold-translated queries.", NMT, "bitext", needs=("bitext",),
           scorer=BM25, queries="nmt"),
    System("translate_test_oracle", "Translate-test oracle (gold English docs)", "the teacher on gold English "
           "translations of the documents: English→English retrieval, the ceiling distillation tries to "
           "reach.", REFERENCE, "English MS MARCO triples", needs=("doc_translations",),
           documents="translations"),
]
RETRIEVAL = {s.name: s for s in _RETRIEVAL}

BASELINE = "direct"                     # every other system is tested against it
ORACLE = "translate_test_oracle"        # the ceiling of "gap closed"

# With candidates.first_stage: bm25_translated the candidate order is BM25's with translated
# queries: the "random" system is then that first stage, a reference that sees a translation.
_FIRST_STAGE = {
    "bm25_translated": replace(RETRIEVAL["random"], label="First stage (BM25, translated queries)",
                               description="nothing: the shared candidate list in its first-stage order, BM25 "
                               "top-depth with queries translated into the document language "
                               "(`candidates.first_stage: bm25_translated`).", kind=REFERENCE),
    "bm25_nmt": replace(RETRIEVAL["random"], label="First stage (BM25, NMT-translated queries)",
                        description="nothing: the candidate list in its first-stage order, BM25 top-depth with "
                        "queries translated by the first-stage NMT model (seed 0) trained on the bitext.",
                        kind=NMT),
}

NER = {s.name: s for s in [
    System("direct", "Direct transfer (English NER teacher)", "the English teacher (encoder + token classifier) "
           "tags the target language zero-shot.", UNTRAINED, "English PAN-X train"),
    System("teacher_student", "Teacher-student (Wu et al. 2020)", "a student from the multilingual encoder "
           "(`ner.student.init`) fits the teacher's label distributions on target text, loss `ner.student.loss` "
           "(MSE on probabilities as in Wu et al. 2020, or KL).", TARGET_TEXT, "unlabelled target sentences"),
    System("ot_aligned", "OT-aligned labels (new)", "new, not in either paper: a copy of the teacher whose "
           "encoder is trained on bitext so that the frozen classifier's label distributions at its foreign "
           "tokens match the teacher's English ones transported through the entropic OT plan (`distill.ot`).",
           BITEXT, "bitext", needs=("bitext",), uses_ot=True, objective="labels"),
    System("ot_aligned_states", "OT-aligned states (new)", "as OT-aligned labels, but the loss is ⟨P, squared "
           "distance⟩ between the foreign and English token states themselves (norm and offset included).",
           BITEXT, "bitext", needs=("bitext",), uses_ot=True, objective="states"),
    System("ot_aligned_cosine", "OT-aligned cosine (first version)", "as OT-aligned labels, but the loss is "
           "⟨P, 1 − cos⟩ (OPTICAL's loss on hidden states): it leaves the states' norm and offset free, which "
           "the frozen classifier reads; kept as the documented loser.", BITEXT, "bitext", needs=("bitext",),
           uses_ot=True, objective="cosine"),
]}


def retrieval_systems(first_stage: str = "sampled") -> dict[str, System]:
    """The retrieval registry as the report should name it under ``candidates.first_stage``."""
    out = dict(RETRIEVAL)
    if first_stage in _FIRST_STAGE:
        out["random"] = _FIRST_STAGE[first_stage]
    return out


def names(kind: str | None = None, registry: dict[str, System] = RETRIEVAL) -> list[str]:
    """Registered names in registry order, optionally of one kind."""
    return [n for n, s in registry.items() if kind is None or s.kind == kind]


def check_names(values: list[str], key: str, registry: dict[str, System] = RETRIEVAL) -> None:
    """Every name in ``values`` is registered, else a :class:`ConfigError` naming ``key``."""
    unknown = [v for v in values if v not in registry]
    if unknown:
        raise ConfigError(key, f"unknown system(s) {unknown}", ", ".join(registry))
