"""What every report section reads, built once: the inputs loaded, the tables computed.

Run keys come with the files (``params`` of the report rule, aligned with its inputs), so nothing
here parses a path. System names, labels, reference flags and methods text come from
:mod:`optical.registry`, as ``candidates.first_stage`` names them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from optical import io, registry
from optical.report.render import significance_mark
from optical.report.tables import comparisons, ner_comparisons, ner_table, system_table
from optical.variants import Variant

METRIC_COLUMNS = ["language", "system", "variant", "seed", "query_id", "measure", "value"]
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
    first_stage: str = "sampled"        # candidates.first_stage: how the "random" system is named
    ner_systems: list[str] = field(default_factory=list)
    ner_languages: list[str] = field(default_factory=list)
    ner_resamples: int = 1000


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
    metrics: pd.DataFrame                   # every per-query row, every variant, with train_pairs
    table: pd.DataFrame                     # main runs: mean ± std over seeds per cell and measure
    comparisons: pd.DataFrame               # against the baseline, Holm-corrected per measure
    curves: dict                            # (language, system, seed) -> held-out curve, main runs
    fig_dir: Path
    ran: set[tuple[str, str]]               # the (language, system) cells that ran
    ner: NerData | None = None
    baseline: str = registry.BASELINE
    oracle: str = registry.ORACLE

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


def read_training(runs: list[dict], dirs: list[str]) -> tuple[dict, dict]:
    """(bitext pairs per run key, held-out curves of main runs) from each student's training.json;
    ``runs[i]`` (a RunKey as a dict) is the run of ``dirs[i]``."""
    train_pairs, curves = {}, {}
    for run, d in _zip(runs, dirs, "training"):
        f = Path(d) / "training.json"
        if not f.exists():
            continue
        info = json.loads(f.read_text())
        key = (run["language"], run["system"], run["variant"], int(run["seed"]))
        if "train_pairs" in info:
            train_pairs[key] = int(info["train_pairs"])
        if Variant.parse(run["variant"]).kind == "main" and info.get("heldout_curve"):
            curves[(key[0], key[1], key[3])] = info["heldout_curve"]
    return train_pairs, curves


def load_metrics(files: list[str], train_pairs: dict | None = None) -> pd.DataFrame:
    """All per-query rows; ``train_pairs[(lang, system, variant, seed)]`` adds the bitext size used."""
    df = pd.concat([io.read_parquet(f, METRIC_COLUMNS).to_pandas() for f in files], ignore_index=True)
    tp = train_pairs or {}
    df["train_pairs"] = pd.array([tp.get(k) for k in zip(df.language, df.system, df.variant, df.seed)],
                                 dtype="Int64")
    return df.sort_values(["language", "system", "variant", "seed", "measure", "query_id"]).reset_index(drop=True)


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


def build_context(settings: Settings, metric_files: list[str], training_runs: list[dict], training_dirs: list[str],
                  fig_dir: str | Path, ner_runs: list[dict] = (), ner_files: list[str] = ()) -> ReportContext:
    """Load every input once and compute the tables the sections share."""
    train_pairs, curves = read_training(list(training_runs), list(training_dirs))
    df = load_metrics(metric_files, train_pairs)
    ran = ran_cells(settings)
    _check(df, settings, ran)
    ner = None
    if ner_files:
        counts = load_ner(list(ner_runs), list(ner_files))
        ner = NerData(counts, ner_table(counts),
                      ner_comparisons(counts, settings.ner_systems, n_resamples=settings.ner_resamples))
    return ReportContext(settings=settings, systems=registry.retrieval_systems(settings.first_stage), metrics=df,
                         table=system_table(df), comparisons=comparisons(df, settings.systems, settings.measures),
                         curves=curves, fig_dir=Path(fig_dir), ran=ran, ner=ner)
