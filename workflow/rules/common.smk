# Config validation, derived lists and helpers shared by the rule files.
from snakemake.utils import validate

from optical.config import canonical, check_config
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
TRAINED = {"direct", "optical", "translate_test_oracle"}
SYNTHETIC = config["data"]["source"] == "synthetic"
WORLD = "results/world"
WORLD_LANGS = sorted(config["world"]["languages"]) if SYNTHETIC else []
IRDS_HOME = f"{WORLD}/ir_datasets"
WIKICLIR_SRC = f"{IRDS_HOME}/wikiclir/source/wiki-clir"
REPORT_FILES = [
    "results/report/report.html",
    "results/report/report.md",
    "results/report/metrics.parquet",
]


wildcard_constraints:
    lang="|".join(LANGS),
    seed=r"\d+",
    system="|".join(SYSTEMS),


def system_seeds(system):
    """Untrained reference systems have one run, labelled seed 0."""
    return SEEDS if system in TRAINED else ["0"]


def wikiclir_files(lang):
    d = f"{WIKICLIR_SRC}/{WIKICLIR_DIRS[lang]}"
    return {
        "queries": f"{WIKICLIR_SRC}/english/wiki_en.queries",
        "documents": f"{d}/wiki_{lang}.documents",
        "qrels": f"{d}/en2{lang}.rel",
    }


METRIC_KEYS = [
    (lang, system, seed)
    for lang in LANGS
    for system in SYSTEMS
    for seed in system_seeds(system)
]


def all_metric_files():
    return [f"results/metrics/{l}/{sy}/seed{se}.parquet" for l, sy, se in METRIC_KEYS]


def rerank_inputs(w):
    """Which encoders and document texts a system uses (queries: always the English teacher)."""
    teacher = f"results/models/teacher/seed{w.seed}"
    inputs = {
        "query_model": teacher,
        "queries": f"results/data/{w.lang}/queries.parquet",
        "candidates": f"results/candidates/{w.lang}.run",
    }
    if w.system == "optical":
        inputs["doc_model"] = f"results/models/optical/{w.lang}/seed{w.seed}"
    else:
        inputs["doc_model"] = teacher
    if w.system == "translate_test_oracle":
        inputs["docs"] = f"{WORLD}/translations/wiki_{w.lang}.en.documents"
    else:
        inputs["docs"] = f"results/data/{w.lang}/docs.parquet"
    return inputs


def run_file(w):
    if w.system == "random":
        return f"results/candidates/{w.lang}.run"
    return f"results/runs/{w.lang}/{w.system}/seed{w.seed}.run"
