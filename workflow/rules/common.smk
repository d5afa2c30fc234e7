# Config validation, derived lists and helpers shared by the rule files.
import copy

from snakemake.utils import validate

from optical.config import available, canonical, check_config
from optical.synthetic import PIVOT
from optical.wikiclir import WIKICLIR_DIRS
from optical.workflow import code_hash


validate(config, schema="../schemas/config.schema.yaml")
check_config(config)
# Params are compared in serialised form, so dicts must not depend on the order keys were written
# in: reordering a config file must not rerun anything.
config.update(canonical(config))

LANGS = sorted(config["languages"])
SEEDS = [str(s) for s in config["seeds"]]
SYSTEMS = list(config["systems"])
BITEXT_METHODS = ["optical", "token_kd_fixed", "sentence_kd", "optical_sentence"]
STUDENTS = BITEXT_METHODS + ["translate_train"]  # systems with their own document encoder
UNTRAINED = {"random", "bm25"}  # one run, labelled seed 0
RERANKED = [s for s in SYSTEMS if s not in UNTRAINED]
SYNTHETIC = config["data"]["source"] == "synthetic"
WORLD = "results/world"
WORLD_LANGS = sorted(config["world"]["languages"]) if SYNTHETIC else []
# paper setting: downloads (or links to local copies) and their manifests live under resources/
RESOURCES = "resources"
MANIFESTS = f"{RESOURCES}/manifests"
IRDS_HOME = f"{WORLD}/ir_datasets" if SYNTHETIC else config["data"]["ir_datasets_home"]
WIKICLIR_SRC = f"{IRDS_HOME}/wikiclir/source/wiki-clir"
ENCODER = "results/models/encoder" if SYNTHETIC else f"{RESOURCES}/models/encoder"
STATE = "results/.state"
# GPU-capable rules request one GPU (the SLURM plugin turns it into --gpus=1) unless the config
# pins the CPU; locally an undeclared resource limits nothing.
GPU = 0 if config["device"] == "cpu" else 1  # resumable training state, outside every declared output
REPORT_FILES = [
    "results/report/report.html",
    "results/report/report.md",
    "results/report/metrics.parquet",
    "results/report/ner_metrics.parquet",
]


wildcard_constraints:
    lang="|".join(LANGS),
    seed=r"\d+",
    system="|".join(SYSTEMS),
    variant=r"main|bitext\d+|reg[0-9.e+-]+|iter\d+",


def system_seeds(system):
    return ["0"] if system in UNTRAINED else SEEDS


def variants(system, lang):
    """(variant, seeds) of every run of ``system`` on ``lang``: the main run, plus bitext subsets
    (data efficiency) and OT settings (ablation) where configured."""
    out = [("main", system_seeds(system))]
    de, ab = config["data_efficiency"], config["ablation"]
    if system in de["systems"]:
        out += [(f"bitext{n}", [str(s) for s in de["seeds"]]) for n in de["bitext_pairs"]]
    if system in ab["systems"] and lang in ab["languages"]:
        ab_seeds = [str(s) for s in ab["seeds"]]
        out += [(f"reg{r:g}", ab_seeds) for r in ab["ot_reg"]]
        out += [(f"iter{n}", ab_seeds) for n in ab["ot_max_iter"]]
    return out


def distill_params(method):
    """Params of one bitext method: the shared budget, the OT settings (held-out diagnostic for
    every method) and only this method's own keys, so editing one method's key reruns only it.
    The variant overrides the OT setting or limits training to a bitext subset."""
    d = config["distill"]
    own = {"token_kd_fixed": ["fixed_alignment"], "optical_sentence": ["sentence_weight"]}.get(method, [])
    keep = ["steps", "batch_size", "max_length", "lr", "heldout_pairs", "eval_every", "checkpoint_every", "ot"]

    def params(wildcards):
        cfg = {k: copy.deepcopy(d[k]) for k in keep + own}
        train_pairs = None
        v = wildcards.variant
        if v.startswith("bitext"):
            train_pairs = int(v[len("bitext"):])
        elif v.startswith("reg"):
            cfg["ot"]["reg"] = float(v[len("reg"):])
        elif v.startswith("iter"):
            cfg["ot"]["max_iter"] = int(v[len("iter"):])
        return {"cfg": cfg, "train_pairs": train_pairs}

    return params


def state_dir(system):
    """Where a student's resumable training state lives (outside its declared output)."""
    return lambda w: f"{STATE}/{system}/{w.lang}/{w.variant}/seed{w.seed}"


def wikiclir_files(lang):
    d = f"{WIKICLIR_SRC}/{WIKICLIR_DIRS[lang]}"
    return {
        "queries": f"{WIKICLIR_SRC}/english/wiki_en.queries",
        "documents": f"{d}/wiki_{lang}.documents",
        "qrels": f"{d}/en2{lang}.rel",
    }


def collection_inputs(lang):
    if SYNTHETIC:
        return wikiclir_files(lang)
    return {"manifest": f"{MANIFESTS}/wikiclir.json"}


def query_translations(lang):
    """Queries translated into ``lang`` (WikiCLIR query layout): gold in the synthetic world."""
    if SYNTHETIC:
        return f"{WORLD}/translations/wiki_en.{lang}.queries"
    return config["languages"][lang]["query_translations"]


def doc_translations(lang):
    """``lang`` documents translated into English: gold in the synthetic world."""
    if SYNTHETIC:
        return f"{WORLD}/translations/wiki_{lang}.en.documents"
    return config["languages"][lang]["doc_translations"]


# (lang, system) pairs that run: in the paper setting a system may lack data for a language
PAIRS = [(l, s) for l in LANGS for s in SYSTEMS if available(config, s, l)]
RUN_KEYS = [
    (lang, system, variant, seed)
    for lang, system in PAIRS
    for variant, seeds in variants(system, lang)
    for seed in seeds
]


def all_metric_files():
    return [f"results/metrics/{l}/{sy}/{v}/seed{se}.parquet" for l, sy, v, se in RUN_KEYS]


def training_dirs():
    """Every trained student, for the report's training curves."""
    return [
        f"results/models/{sy}/{l}/{v}/seed{se}"
        for l, sy, v, se in RUN_KEYS
        if sy in STUDENTS
    ]


def rerank_inputs(w):
    """Which encoders and document texts a system uses (queries: always the English teacher)."""
    teacher = f"results/models/teacher/seed{w.seed}"
    inputs = {
        "query_model": teacher,
        "queries": f"results/data/{w.lang}/queries.parquet",
        "candidates": f"results/candidates/{w.lang}.run",
    }
    if w.system in STUDENTS:
        inputs["doc_model"] = f"results/models/{w.system}/{w.lang}/{w.variant}/seed{w.seed}"
    else:
        inputs["doc_model"] = teacher
    if w.system == "translate_test_oracle":
        inputs["docs"] = doc_translations(w.lang)
    else:
        inputs["docs"] = f"results/data/{w.lang}/docs.parquet"
    return inputs


def run_file(w):
    if w.system == "random":
        return f"results/candidates/{w.lang}.run"
    return f"results/runs/{w.lang}/{w.system}/{w.variant}/seed{w.seed}.run"


def candidate_inputs(w):
    inputs = {f: f"results/data/{w.lang}/{f}.parquet" for f in ("docs", "queries", "qrels")}
    if config["candidates"]["first_stage"] == "bm25_translated":
        inputs["translated_queries"] = query_translations(w.lang)
    return inputs


def local_copies(*values):
    """Local copies named in the config are inputs, so replacing one reruns what it feeds."""
    return [v for v in values if v]


# --- NER (the second task) ---------------------------------------------------------------
NER_LANGS = sorted(config["ner"]["languages"]) if "ner" in config else []
NER_SYSTEMS = list(config["ner"]["systems"]) if NER_LANGS else []
NER_SPLITS = ["train", "dev", "test"]
# (lang, system) pairs that run; OT alignment needs the language's bitext (a retrieval language)
NER_PAIRS = [
    (l, s) for l in NER_LANGS for s in NER_SYSTEMS if s != "ot_aligned" or l in config["languages"]
]


def ner_source_files(w):
    if SYNTHETIC:
        return expand(f"{WORLD}/ner/{w.nlang}/{{split}}", split=NER_SPLITS)
    if config["ner"].get("panx_dir"):
        return expand(f"{config['ner']['panx_dir']}/{w.nlang}/{{split}}", split=NER_SPLITS)
    return []


def ner_model(w):
    if w.nsystem == "direct":
        return f"results/models/ner/teacher/seed{w.seed}"
    return f"results/models/ner/{w.nsystem}/{w.nlang}/seed{w.seed}"


def ner_metric_files():
    """Every NER test run: each system on each language and seed, plus the teacher on English."""
    if not NER_LANGS:
        return []
    runs = [(l, s) for l, s in NER_PAIRS] + ([("en", "direct")] if "direct" in NER_SYSTEMS else [])
    return [f"results/ner/{l}/{s}/seed{se}.parquet" for l, s in runs for se in SEEDS]
