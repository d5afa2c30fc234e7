"""Encoder tracks in the report: one part per encoder (optical.tracks runs each track's study).

Every report also writes its blocks as JSON (:func:`write_blocks`), so that a report whose config
names tracks can embed theirs: the main study is part 1, each track a further part with its own
sections and figures (copied in under ``<track>-<name>``). Its per-query numbers and tests join the
main Parquet files with a ``track`` column ("main" for the config's own encoder).
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from optical import io
from optical.errors import InputError

MAIN = "main"  # the track column's value for the config's own encoder
KINDS = {"h1", "h2", "p", "table", "figure"}


@dataclass(frozen=True)
class TrackReport:
    """The report outputs of one track, as the workflow passes them."""
    name: str
    config_file: str
    blocks: str
    figures: str
    metrics: str
    tests: str


def write_blocks(path: str, encoder: str, blocks: list) -> None:
    io.write_text(path, json.dumps({"encoder": encoder, "blocks": blocks}, ensure_ascii=False))


def read_blocks(path: str) -> tuple[str, list]:
    """(encoder, blocks) of a report's ``blocks.json``."""
    try:
        data = json.loads(Path(path).read_text())
        encoder, blocks = data["encoder"], [tuple(b) for b in data["blocks"]]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise InputError(path, f"not a report's blocks file ({e})", "rerun the track's report rule") from e
    if not all(b and b[0] in KINDS for b in blocks):
        raise InputError(path, "holds a block of unknown kind", "rerun the track's report rule")
    return encoder, blocks


def _first_section(blocks: list) -> int:
    """Index of the first heading after the report's title and introduction."""
    return next((i for i, b in enumerate(blocks) if i > 0 and b[0] in ("h1", "h2")), len(blocks))


def main_part(blocks: list, encoder: str, tracks: list[TrackReport], track_encoders: dict[str, str]) -> list:
    """The main report's blocks with its part heading after the introduction and a list of the parts."""
    parts = [f"part 1, encoder: {encoder} (this config)"]
    parts += [f"part {i}, track `{t.name}` ({t.config_file}), encoder: {track_encoders[t.name]}"
              for i, t in enumerate(tracks, start=2)]
    at = _first_section(blocks)
    head = [("p", "This report has one part per encoder, each with the same sections and tests, on the same "
                  "data and candidates; the tracks read the main run's NMT models. Parts: " + "; ".join(parts) + "."),
            ("h1", f"Part 1: {encoder}")]
    return blocks[:at] + head + blocks[at:]


def track_part(track: TrackReport, index: int, fig_dir: Path) -> tuple[str, list]:
    """(encoder, blocks) of a track's part: its report without the title, under a part heading, its
    figures copied into ``fig_dir`` with the track's name in front."""
    encoder, blocks = read_blocks(track.blocks)
    out = [("h1", f"Part {index}: {encoder} (track `{track.name}`, {track.config_file})")]
    for kind, *rest in blocks[1:]:
        if kind == "figure":
            name, caption = rest
            src = Path(track.figures) / name
            if not src.is_file():
                raise InputError(src, "a figure the track's report names is missing", "rerun the track's report rule")
            shutil.copyfile(src, fig_dir / f"{track.name}-{name}")
            out.append(("figure", f"{track.name}-{name}", f"{caption} (track {track.name})"))
        else:
            out.append((kind, *rest))
    return encoder, out


def with_tracks(main: pd.DataFrame, files: dict[str, str]) -> pd.DataFrame:
    """``main``'s rows and each track's (``files``: track -> Parquet file), with a ``track`` column."""
    frames = [main.assign(track=MAIN)]
    frames += [pd.read_parquet(path).assign(track=name) for name, path in files.items()]
    return pd.concat(frames, ignore_index=True)
