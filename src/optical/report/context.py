"""What every report section reads, built once: the inputs loaded, the tables and tests computed.

Run keys come with the files (``params`` of the report rule, aligned with its inputs), so nothing
here parses a path. System names, labels, reference flags and methods text come from
:mod:`optical.registry`, as ``candidates.first_stage`` names them.

Each metrics row names the candidate list its run re-ranked (column ``candidates``; a file without
it is from before there were several lists, and counts as ``first_stage``). Every table, test and
figure reads the ``first_stage`` rows; each of ``other_lists`` gets a context of its own
(:attr:`ReportContext.lists`) for "Re-ranking a realistic first stage".
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass, field, replace
from pathlib import Path

import pandas as pd

from optical import io, registry
from optical.probe_columns import COLUMNS as PROBE_COLUMNS
from optical.report.inference import comparisons, headline_tests, ner_comparisons, versus_each
from optical.report.render import significance_mark
from optical.report.tables import BUDGET_COLUMNS, NMT_COLUMNS, ner_table, nmt_budgets, system_table
from optical.variants import Variant

log = logging.getLogger(__name__)

METRIC_COLUMNS = ["language", "system", "variant", "seed", "query_id", "measure", "value"]
CANDIDATES = "candidates"       # the metrics column naming the candidate list a run re-ranked
NER_COLUMNS = ["language", "system", "seed", "sentence", "correct", "predicted", "gold_entities"]


@dataclass(frozen=True)
class Settings:
    """The config's say in the report (the params of the report rule)."""
    systems: list[str]
    languages: list[str]
    measures: list[str]
    headline: str                       # evaluation.headline_measure: the summary's measure
    threshold: int                      # evaluation.relevance_threshold (named in the text)
    alpha: float = 0.05
    pairs: list | None = None           # the (language, system) cells that ran; None: every one
    first_stage: str = "sampled"        # candidates.first_stage: the headline list (names the "random" system)
    other_lists: list[str] = field(default_factory=list)   # further candidate lists every system re-ranked
    ner_systems: list[str] = field(default_factory=list)
    ner_languages: list[str] = field(default_factory=list)
    ner_resamples: int = 1000           # NER tests: permutations and bootstrap resamples
    resamples: int = 10000              # retrieval tests and the headline bootstrap


@dataclass
class NerData:
    counts: pd.DataFrame                # per test sentence: the entity counts of each run
    table: pd.DataFrame                 # optical.report.tables.ner_table
    comparisons: pd.DataFrame           # against direct transfer, Holm-corrected

    def __post_init__(self):
        self.by_cell = self.table.set_index(["language", "system"])
        self.comparisons_by_cell = (self.comparisons.set_index(["language", "system"])
                                    if len(self.comparisons) else None)


@dataclass
class ReportContext:
    settings: Settings
    systems: dict[str, registry.System]     # the retrieval registry under settings.first_stage
    metrics: pd.DataFrame                   # per-query rows of the first-stage list, every variant, train_pairs
    table: pd.DataFrame                     # main runs: mean ± std over seeds per cell and measure
    comparisons: pd.DataFrame               # against the baseline, Holm-corrected per measure
    curves: dict                            # (language, system, seed) -> held-out curve, main runs
    fig_dir: Path
    ran: set[tuple[str, str]]               # the (language, system) cells that ran
    ner: NerData | None = None
    baseline: str = registry.BASELINE
    oracle: str = registry.ORACLE
    versus: pd.DataFrame = field(default_factory=pd.DataFrame)          # OPTICAL against each other system
    headline_tests: pd.DataFrame = field(default_factory=pd.DataFrame)  # inference.headline_tests
    lists: dict = field(default_factory=dict)       # other candidate list -> its ReportContext
    budgets: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=BUDGET_COLUMNS))  # per run
    nmt: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=NMT_COLUMNS))         # per model
    all_metrics: pd.DataFrame | None = None         # every row of every list (metrics.parquet)
    probe: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=PROBE_COLUMNS))  # synthetic world

    def __post_init__(self):
        self.by_cell = self.table.set_index(["language", "system", "measure"])
        self.comparisons_by_cell = (self.comparisons.set_index(["language", "system", "measure"])
                                    if len(self.comparisons) else None)

    @property
    def headline(self) -> str:
        return self.settings.headline

    @property
    def seeds(self) -> list[int]:
        """The seeds of the seeded (trained) systems' main runs."""
        main = self.metrics[self.metrics.variant == "main"]
        seeded = [s for s in self.settings.systems if self.systems[s].seeded]
        return sorted(main[main.system.isin(seeded)]["seed"].unique().tolist())

    def label(self, system: str) -> str:
        return self.systems[system].label if system in self.systems else system

    def is_reference(self, system: str) -> bool:
        """Sees a gold translation: context or ceiling, never "best"."""
        return self.systems[system].reference

    def has(self, lang: str, system: str) -> bool:
        return (lang, system) in self.ran

    def cell(self, lang: str, system: str, measure: str) -> pd.Series:
        return self.by_cell.loc[(lang, system, measure)]

    def mark(self, lang: str, system: str, measure: str) -> str:
        return significance_mark(self.comparisons_by_cell, (lang, system, measure), "perm_holm",
                                 self.settings.alpha)


def _zip(runs: list, files: list, what: str) -> list:
    if len(runs) != len(files):
        raise ValueError(f"{len(runs)} {what} run keys for {len(files)} files: params and inputs must align")
    return list(zip(runs, files))


def _training_records(runs: list[dict], dirs: list[str]):
    """(run, its training.json as a dict, or None where the directory has none) per run."""
    for run, d in _zip(runs, dirs, "training"):
        f = Path(d) / "training.json"
        yield run, (json.loads(f.read_text()) if f.exists() else None)


def read_training(runs: list[dict], dirs: list[str]) -> tuple[dict, dict]:
    """(bitext pairs per run key, held-out curves of main runs) from each student's training.json;
    ``runs[i]`` (a RunKey as a dict) is the run of ``dirs[i]``."""
    train_pairs, curves = {}, {}
    for run, info in _training_records(runs, dirs):
        if info is None:
            continue
        key = (run["language"], run["system"], run["variant"], int(run["seed"]))
        if "train_pairs" in info:
            train_pairs[key] = int(info["train_pairs"])
        if Variant.parse(run["variant"]).kind == "main" and info.get("heldout_curve"):
            curves[(key[0], key[1], key[3])] = info["heldout_curve"]
    return train_pairs, curves


def read_benchmark(path: str) -> float:
    """Wall-clock seconds of a Snakemake benchmark file (TSV, column ``s``; the mean over its rows
    when the rule repeated); NaN when the file is missing or unreadable."""
    p = Path(path)
    if not p.exists():
        return math.nan
    try:
        seconds = pd.read_csv(p, sep="\t")["s"]
    except (KeyError, ValueError, pd.errors.EmptyDataError) as e:
        log.warning("benchmark %s unreadable (%s): its wall time is left out", p, e)
        return math.nan
    return float(seconds.mean()) if len(seconds) else math.nan


def _walls(runs: list, benchmarks: list[str], what: str) -> list[float]:
    """Wall seconds per run from its aligned benchmark file; NaN for each when none are given."""
    if not benchmarks:
        return [math.nan] * len(runs)
    return [read_benchmark(b) for _, b in _zip(runs, benchmarks, what)]


def _number(info: dict | None, key: str) -> float:
    value = (info or {}).get(key)
    return math.nan if value is None else float(value)


def read_budgets(runs: list[dict], dirs: list[str], benchmarks: list[str] = ()) -> pd.DataFrame:
    """One row per training run (:data:`~optical.report.tables.BUDGET_COLUMNS`): steps and examples
    seen from its training.json, wall seconds from ``benchmarks[i]``, the benchmark file of
    ``runs[i]`` (none given: NaN)."""
    wall = _walls(runs, benchmarks, "benchmark")
    rows = [{"language": run["language"], "system": run["system"], "variant": run["variant"], "seed": int(run["seed"]),
             "steps": _number(info, "steps"), "examples_seen": _number(info, "examples_seen"), "wall_s": w}
            for (run, info), w in zip(_training_records(runs, dirs), wall)]
    return pd.DataFrame(rows, columns=BUDGET_COLUMNS)


def read_nmt(runs: list[dict], dirs: list[str], benchmarks: list[str] = ()) -> pd.DataFrame:
    """One row per NMT model (:data:`~optical.report.tables.NMT_COLUMNS`) from its training.json;
    ``runs[i]`` ({language, direction, seed}) is the model of ``dirs[i]``, trained by the job whose
    benchmark is ``benchmarks[i]`` (none given: no wall time)."""
    wall = _walls(runs, benchmarks, "NMT benchmark")
    rows = []
    for (run, d), w in zip(_zip(runs, dirs, "NMT"), wall):
        f = Path(d) / "training.json"
        info = json.loads(f.read_text()) if f.exists() else {}
        if info.get("direction", run["direction"]) != run["direction"]:
            raise ValueError(f"{f}: direction {info['direction']!r}, but the workflow says {run['direction']!r}")
        rows.append({"language": run["language"], "direction": run["direction"], "seed": int(run["seed"]),
                     "bleu": _number(info, "heldout_bleu"), "chrf": _number(info, "heldout_chrf"),
                     **{k: _number(info, k) for k in ("train_pairs", "steps", "examples_seen")}, "wall_s": w})
    return pd.DataFrame(rows, columns=NMT_COLUMNS)


def _read_metrics(path: str, first_stage: str) -> pd.DataFrame:
    table = io.read_parquet(path, METRIC_COLUMNS).to_pandas()
    if CANDIDATES not in table:
        table[CANDIDATES] = first_stage  # written before there were several lists: the first stage's
    return table[METRIC_COLUMNS + [CANDIDATES]]


def load_metrics(files: list[str], train_pairs: dict | None = None, first_stage: str = "sampled") -> pd.DataFrame:
    """All per-query rows of every candidate list (column ``candidates``; ``first_stage`` where a
    file has no such column); ``train_pairs[(lang, system, variant, seed)]`` adds the bitext size."""
    df = pd.concat([_read_metrics(f, first_stage) for f in files], ignore_index=True)
    tp = train_pairs or {}
    df["train_pairs"] = pd.array([tp.get(k) for k in zip(df.language, df.system, df.variant, df.seed)],
                                 dtype="Int64")
    order = ["candidates", "language", "system", "variant", "seed", "measure", "query_id"]
    return df.sort_values(order).reset_index(drop=True)


def first_stage_rows(df: pd.DataFrame, first_stage: str) -> pd.DataFrame:
    """The rows of the headline candidate list (every other table and test reads only these)."""
    return df[df[CANDIDATES] == first_stage].reset_index(drop=True)


def load_ner(runs: list[dict], files: list[str]) -> pd.DataFrame:
    """Per-sentence entity counts of every NER run; ``runs[i]`` ({language, system, seed}) is the
    run of ``files[i]``."""
    frames = []
    for run, f in _zip(runs, files, "NER"):
        t = io.read_parquet(f, NER_COLUMNS[3:]).to_pandas()[NER_COLUMNS[3:]]
        frames.append(t.assign(language=run["language"], system=run["system"], seed=int(run["seed"]))[NER_COLUMNS])
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype="object" if c in ("language", "system") else "int64")
                             for c in NER_COLUMNS})
    return pd.concat(frames, ignore_index=True)


def ran_cells(settings: Settings) -> set[tuple[str, str]]:
    if settings.pairs is None:
        return {(lang, system) for lang in settings.languages for system in settings.systems}
    return {tuple(p) for p in settings.pairs}


def _check(df: pd.DataFrame, settings: Settings, ran: set) -> None:
    if settings.headline not in settings.measures:
        raise ValueError(f"headline measure {settings.headline!r} is not among the measures {settings.measures}")
    main = df[df.variant == "main"]
    missing = sorted(ran - set(map(tuple, main[["language", "system"]].drop_duplicates().to_numpy())))
    if missing:
        raise ValueError(f"no metrics for {missing}")


def list_context(settings: Settings, name: str, rows: pd.DataFrame, fig_dir: Path) -> ReportContext:
    """The context of another candidate list ``name``: its rows' table and tests against direct
    transfer, with the "random" system named as that list's own order."""
    if rows.empty:
        raise ValueError(f"candidates.other_lists names {name!r}, but no metrics row was evaluated on it")
    systems = registry.retrieval_systems(name)
    if name != "sampled" and systems["random"] == registry.RETRIEVAL["random"]:
        systems["random"] = replace(systems["random"], label=f"First stage ({name}, its own order)",
                                    description=f"nothing: the {name} candidate list in its own order.")
    ran = set(map(tuple, rows.loc[rows.variant == "main", ["language", "system"]].drop_duplicates().to_numpy()))
    sub = replace(settings, first_stage=name, other_lists=[], pairs=sorted(ran),
                  systems=[s for s in settings.systems if any((l, s) in ran for l in settings.languages)])
    return ReportContext(settings=sub, systems=systems, metrics=rows, table=system_table(rows),
                         comparisons=comparisons(rows, sub.systems, settings.measures, n_resamples=settings.resamples),
                         curves={}, fig_dir=fig_dir, ran=ran)


def _ner_data(settings: Settings, ner_runs: list[dict], ner_files: list[str]) -> NerData | None:
    if not ner_files:
        return None
    counts = load_ner(list(ner_runs), list(ner_files))
    return NerData(counts, ner_table(counts),
                   ner_comparisons(counts, settings.ner_systems, n_resamples=settings.ner_resamples))


def read_probe(files: list[str]) -> pd.DataFrame:
    """Every alignment-probe row (optical.probe; synthetic world), or an empty table with its columns."""
    frames = [io.read_parquet(f, columns=PROBE_COLUMNS).to_pandas() for f in files]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=PROBE_COLUMNS)


def build_context(settings: Settings, metric_files: list[str], training_runs: list[dict], training_dirs: list[str],
                  fig_dir: str | Path, ner_runs: list[dict] = (), ner_files: list[str] = (),
                  benchmark_files: list[str] = (), nmt_runs: list[dict] = (), nmt_dirs: list[str] = (),
                  nmt_benchmark_files: list[str] = (), probe_files: list[str] = ()) -> ReportContext:
    """Load every input once and compute the tables and tests the sections share.
    ``benchmark_files[i]`` is the benchmark of ``training_runs[i]``, ``nmt_benchmark_files[i]`` that
    of ``nmt_runs[i]`` (a file may be missing, or none given); ``probe_files`` the alignment probe's."""
    train_pairs, curves = read_training(list(training_runs), list(training_dirs))
    every = load_metrics(metric_files, train_pairs, settings.first_stage)
    df, ran = first_stage_rows(every, settings.first_stage), ran_cells(settings)
    _check(df, settings, ran)
    ner = _ner_data(settings, ner_runs, ner_files)
    nmt = read_nmt(list(nmt_runs), list(nmt_dirs), list(nmt_benchmark_files))
    budgets = [read_budgets(list(training_runs), list(training_dirs), list(benchmark_files)), nmt_budgets(nmt)]
    budgets = pd.concat([b for b in budgets if len(b)] or budgets[:1], ignore_index=True)
    n = settings.resamples
    return ReportContext(
        settings=settings, systems=registry.retrieval_systems(settings.first_stage), metrics=df,
        table=system_table(df), comparisons=comparisons(df, settings.systems, settings.measures, n_resamples=n),
        curves=curves, fig_dir=Path(fig_dir), ran=ran, ner=ner,
        versus=versus_each(df, settings.systems, settings.measures, n_resamples=n),
        headline_tests=headline_tests(df, settings.languages, settings.headline, ner.counts if ner else None,
                                      settings.ner_languages, n_resamples=n, ner_resamples=settings.ner_resamples),
        lists={name: list_context(settings, name, every[every[CANDIDATES] == name].reset_index(drop=True),
                                  Path(fig_dir)) for name in settings.other_lists},
        budgets=budgets, nmt=nmt, all_metrics=every, probe=read_probe(list(probe_files)))
