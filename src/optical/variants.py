"""Run variants and run keys: the one place where variant names are parsed and formatted.

A *run* is one system on one language with one seed, in one variant:

- ``main``: the configured run;
- ``bitext<n>``: trained on the first ``n`` pairs of the training bitext (data efficiency);
- ``reg<x>`` / ``iter<n>``: the OT regulariser or Sinkhorn iteration cap changed (OT ablation).

Its :class:`RunKey` names its files (run, metrics, model directory) and travels to the report
through ``params:``, so the report never parses paths. This module imports nothing heavy.
"""

from __future__ import annotations

import copy
import re
from dataclasses import asdict, dataclass

from optical import registry

MAIN = "main"
PATTERN = r"main|bitext\d+|reg[0-9.e+-]+|iter\d+"  # the {variant} wildcard
_PARSE = re.compile(r"^(?:(main)|bitext(\d+)|reg([0-9.e+-]+)|iter(\d+))$")


@dataclass(frozen=True)
class Variant:
    kind: str                 # main | bitext | reg | iter
    value: float | int | None = None

    @classmethod
    def parse(cls, name: str) -> Variant:
        m = _PARSE.match(name)
        if not m:
            raise ValueError(f"unknown run variant {name!r} (main, bitext<n>, reg<x>, iter<n>)")
        if m[1]:
            return cls(MAIN)
        if m[2]:
            return cls("bitext", int(m[2]))
        if m[3]:
            return cls("reg", float(m[3]))
        return cls("iter", int(m[4]))

    def __str__(self) -> str:
        if self.kind == MAIN:
            return MAIN
        return f"{self.kind}{self.value:g}" if self.kind == "reg" else f"{self.kind}{self.value}"

    @property
    def train_pairs(self) -> int | None:
        """The bitext subset size of a data-efficiency run (None: the whole training split)."""
        return self.value if self.kind == "bitext" else None

    def apply(self, distill_cfg: dict) -> dict:
        """A copy of the distillation config with this variant's OT setting."""
        cfg = copy.deepcopy(distill_cfg)
        if self.kind == "reg":
            cfg["ot"]["reg"] = self.value
        elif self.kind == "iter":
            cfg["ot"]["max_iter"] = self.value
        return cfg


@dataclass(frozen=True)
class RunKey:
    language: str
    system: str
    variant: str
    seed: int

    @property
    def run_file(self) -> str | None:
        """The system's TREC run over the union of the candidate lists; None for the candidate-order
        reference, whose run on each list is the list itself."""
        if registry.RETRIEVAL[self.system].scorer == registry.CANDIDATES:
            return None
        return f"results/runs/{self.language}/{self.system}/{self.variant}/seed{self.seed}.run"

    @property
    def metrics_file(self) -> str:
        return f"results/metrics/{self.language}/{self.system}/{self.variant}/seed{self.seed}.parquet"

    @property
    def model_dir(self) -> str:
        return f"results/models/{self.system}/{self.language}/{self.variant}/seed{self.seed}"

    def as_dict(self) -> dict:
        return asdict(self)


def planned(system: str, lang: str, config: dict) -> list[tuple[str, list[int]]]:
    """(variant name, seeds) of every run of ``system`` on ``lang``: the main run, plus bitext subsets
    (data efficiency) and OT settings (ablation) where configured."""
    seeds = config["seeds"] if registry.RETRIEVAL[system].seeded else [0]
    out = [(MAIN, list(seeds))]
    de, ab = config["data_efficiency"], config["ablation"]
    if system in de["systems"]:
        out += [(str(Variant("bitext", n)), list(de["seeds"])) for n in de["bitext_pairs"]]
    if system in ab["systems"] and lang in ab["languages"]:
        out += [(str(Variant("reg", float(r))), list(ab["seeds"])) for r in ab["ot_reg"]]
        out += [(str(Variant("iter", int(n))), list(ab["seeds"])) for n in ab["ot_max_iter"]]
    return out


def run_keys(config: dict, pairs: list[tuple[str, str]]) -> list[RunKey]:
    """Every run of every (language, system) pair, in a fixed order."""
    return [RunKey(lang, system, variant, int(seed))
            for lang, system in pairs
            for variant, seeds in planned(system, lang, config)
            for seed in seeds]
