"""Which conclusions hold on every synthetic world (issue 13, item 5): the same paired tests, run on
several world seeds, compared cell by cell.

A cell is one test of the report's ``tests.parquet`` (task, family, language, system against
other, measure, candidate list, test method). On each world it reads "+" (system significantly better after
Holm), "−" (significantly worse) or "=" (not significant); the verdict says whether the cell's
conclusion is the same on every world.
"""

from __future__ import annotations

import pandas as pd

KEYS = ["task", "family", "language", "system", "other", "measure", "candidates", "method"]


def outcome(delta: float, p_holm: float, alpha: float) -> str:
    if p_holm < alpha:
        return "+" if delta > 0 else "−"
    return "="


def verdict(outcomes: list[str]) -> str:
    """``holds`` when every world gives the same significant outcome; ``same sign`` when they agree
    but some are not significant; ``flips`` when one world is significantly better and another
    significantly worse; ``n.s.`` when none is significant."""
    signs = set(outcomes)
    if signs == {"+"} or signs == {"−"}:
        return "holds"
    if {"+", "−"} <= signs:
        return "flips"
    if signs == {"="}:
        return "n.s."
    return "same sign"


def table(tests: dict[int, pd.DataFrame], alpha: float) -> pd.DataFrame:
    """One row per test cell present on every world: the mean delta and its outcome per world, and
    the verdict. ``tests[world_seed]`` is that world's ``tests.parquet``."""
    df = pd.concat([t.assign(world=w)[KEYS + ["world", "delta", "p_holm"]] for w, t in sorted(tests.items())],
                   ignore_index=True)
    df[KEYS] = df[KEYS].astype(object).fillna("")  # NER tests have no candidate list; a NaN key would drop them
    df["outcome"] = [outcome(d, p, alpha) for d, p in zip(df.delta, df.p_holm)]
    worlds = sorted(tests)
    wide = df.pivot_table(index=KEYS, columns="world", values=["delta", "outcome"], aggfunc="first")
    wide = wide.dropna()  # a cell missing on a world cannot be compared
    out = pd.DataFrame(index=wide.index)
    for w in worlds:
        out[f"delta_{w}"] = wide[("delta", w)].astype(float)
        out[f"outcome_{w}"] = wide[("outcome", w)]
    out["verdict"] = [verdict([row[f"outcome_{w}"] for w in worlds]) for _, row in out.iterrows()]
    return out.reset_index()
