"""Encoder tracks (config key tracks): loading and checking a track's config, the workflow that runs it
as a module next to the main study, and the report parts. The whole thing runs end to end, reduced,
in tests/test_bible.py::test_reduced_bible_track_runs_end_to_end."""

from __future__ import annotations

import copy
import re
import subprocess
import sys

import pandas as pd
import pytest
import yaml

from conftest import ROOT
from optical.errors import ConfigError, InputError
from optical.report.tracks import TrackReport, main_part, read_blocks, track_part, with_tracks, write_blocks
from optical.tracks import SHARED_KEYS, check_shared, load_track, track_prefix


def configs():
    main = yaml.safe_load((ROOT / "config" / "bible.yaml").read_text())
    return main, yaml.safe_load((ROOT / "config" / "bible-e5.yaml").read_text())


# --- the track's config ----------------------------------------------------------------------

def test_shipped_e5_track_shares_the_bible_tracks_data_and_nmt():
    main, e5 = configs()
    assert main["tracks"] == {"e5": "config/bible-e5.yaml"}
    check_shared(main, e5, "e5", "config/bible-e5.yaml")
    assert e5["encoder"] != main["encoder"] and e5["teacher"] != main["teacher"]  # what a track is for


@pytest.mark.parametrize("key", SHARED_KEYS)
def test_a_differing_shared_key_is_named(key):
    main, e5 = configs()
    block, _, sub = key.partition(".")
    if block not in main:  # world: absent from both Bible configs, so set it in the track only
        e5[block] = {"seed": 1}
    elif sub:
        e5[block][sub] = 7
    else:
        e5[block] = copy.deepcopy(main[block]) | {"extra": 1} if isinstance(main[block], dict) else "cpu"
    with pytest.raises(ConfigError, match=rf"tracks\.e5.*x\.yaml sets {re.escape(key)} .*must agree"):
        check_shared(main, e5, "e5", "x.yaml")


def test_keys_outside_the_shared_ones_may_differ():
    main, e5 = configs()
    e5["distill"]["steps"] = 1
    e5["seeds"] = [9]
    check_shared(main, e5, "e5", "x.yaml")


def test_load_track_errors_name_the_file(tmp_path):
    with pytest.raises(InputError, match=r"nope\.yaml: the config file of track 'e5' does not exist"):
        load_track("e5", tmp_path / "nope.yaml")
    with pytest.raises(ConfigError, match=r"tracks\.E-5"):
        load_track("E-5", tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: [1,\n")
    with pytest.raises(InputError, match="bad.yaml: not valid YAML"):
        load_track("e5", bad)
    bad.write_text("- 1\n")
    with pytest.raises(InputError, match="bad.yaml: a config file must be a YAML mapping"):
        load_track("e5", bad)
    bad.write_text(yaml.safe_dump({"tracks": {"x": "y.yaml"}}))
    with pytest.raises(InputError, match="tracks do not nest"):
        load_track("e5", bad)
    good = tmp_path / "good.yaml"
    good.write_text(yaml.safe_dump({"seeds": [1]}))
    assert load_track("e5", good) == {"seeds": [1]}
    # not in the working directory: the workflow's own directory (the shipped configs) is next
    assert load_track("e5", "good.yaml", tmp_path) == {"seeds": [1]}
    with pytest.raises(InputError, match=r"missing.yaml: .* \(looked in the working directory and in "):
        load_track("e5", "missing.yaml", tmp_path)


# --- the workflow ----------------------------------------------------------------------------

def dry_run(work, configfile):
    out = subprocess.run([sys.executable, "-m", "snakemake", "-n", "-s", str(ROOT / "Snakefile"), "--configfile",
                          str(configfile), "--cores", "1"], cwd=work, capture_output=True, text=True, timeout=300)
    return out, dict(re.findall(r"^(\w+)\s+(\d+)$", out.stdout, flags=re.M))


def test_bible_config_plans_the_e5_track_beside_the_tiny_study(tmp_path):
    (tmp_path / "config").mkdir()
    main, e5 = configs()
    (tmp_path / "config" / "bible-e5.yaml").write_text(yaml.safe_dump(e5))
    out, jobs = dry_run(tmp_path, ROOT / "config" / "bible.yaml")
    assert out.returncode == 0, out.stderr[-2000:]
    # the track: its own encoder, teacher and students, one seed; no NMT model of its own
    assert jobs["e5_convert_e5"] == jobs["e5_teacher"] == jobs["e5_distill_optical"] == "1"
    assert not any(name.startswith("e5_nmt") for name in jobs)
    assert jobs["nmt_train"] == "7" and jobs["teacher"] == "3" and jobs["report"] == jobs["e5_report"] == "1"
    assert "results/tracks/e5/results/models/teacher/seed1" in out.stdout
    # the track's NMT system reads the main run's translations
    assert re.search(r"input: [^\n]*results/translations/ny/nmt_seed1\.documents\n\s+output: "
                     r"results/tracks/e5/results/runs/ny/nmt_translate_test/main/seed1\.run", out.stdout)


def test_a_track_that_would_train_other_nmt_models_is_refused(tmp_path):
    (tmp_path / "config").mkdir()
    main, e5 = configs()
    e5["nmt"]["steps"] = 10
    (tmp_path / "config" / "bible-e5.yaml").write_text(yaml.safe_dump(e5))
    out, _ = dry_run(tmp_path, ROOT / "config" / "bible.yaml")
    assert out.returncode != 0
    assert "config/bible-e5.yaml sets nmt to" in out.stderr + out.stdout


def test_track_lives_under_its_prefix():
    assert track_prefix("e5") == "results/tracks/e5"


# --- the report's parts ----------------------------------------------------------------------

def blocks(title="Report"):
    return [("h1", title), ("p", "intro"), ("h2", "Summary"), ("table", ["a"], [["1"]]),
            ("h2", "Figures"), ("figure", "summary.png", "a caption")]


def test_main_part_heads_the_report_after_its_introduction():
    tracks = [TrackReport("e5", "config/bible-e5.yaml", "b", "f", "m", "t")]
    out = main_part(blocks(), "tiny", tracks, {"e5": "e5-small"})
    assert [b[0] for b in out[:5]] == ["h1", "p", "p", "h1", "h2"]
    assert out[3] == ("h1", "Part 1: tiny")
    assert "part 2, track `e5` (config/bible-e5.yaml), encoder: e5-small" in out[2][1]
    assert out[4:] == blocks()[2:]


def test_track_part_copies_its_figures_under_its_name(tmp_path):
    figs, main_figs = tmp_path / "figs", tmp_path / "main"
    figs.mkdir(), main_figs.mkdir()
    (figs / "summary.png").write_bytes(b"png")
    write_blocks(tmp_path / "blocks.json", "e5-small", blocks())
    track = TrackReport("e5", "config/bible-e5.yaml", str(tmp_path / "blocks.json"), str(figs), "m", "t")
    encoder, part = track_part(track, 2, main_figs)
    assert encoder == "e5-small"
    assert part[0] == ("h1", "Part 2: e5-small (track `e5`, config/bible-e5.yaml)")
    assert ("h1", "Report") not in part and part[1] == ("p", "intro")  # its title goes, the rest stays
    assert part[-1] == ("figure", "e5-summary.png", "a caption (track e5)")
    assert (main_figs / "e5-summary.png").read_bytes() == b"png"
    (figs / "summary.png").unlink()
    with pytest.raises(InputError, match="summary.png: a figure the track's report names is missing"):
        track_part(track, 2, main_figs)


@pytest.mark.parametrize("text", ["{", '{"encoder": "x"}', '{"encoder": "x", "blocks": [["h9", "?"]]}'])
def test_a_bad_blocks_file_is_named(tmp_path, text):
    path = tmp_path / "blocks.json"
    path.write_text(text)
    with pytest.raises(InputError, match="blocks.json"):
        read_blocks(path)


def test_with_tracks_labels_every_row(tmp_path):
    pd.DataFrame({"system": ["optical"], "value": [0.5]}).to_parquet(tmp_path / "e5.parquet")
    rows = with_tracks(pd.DataFrame({"system": ["direct", "optical"], "value": [0.1, 0.4]}),
                       {"e5": str(tmp_path / "e5.parquet")})
    assert rows.track.tolist() == ["main", "main", "e5"] and rows.value.tolist() == [0.1, 0.4, 0.5]
