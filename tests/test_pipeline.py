"""The whole default pipeline, on a reduced config, through real Snakemake."""

import copy
import os
import re
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import yaml

from conftest import ROOT, shrink_world

pytestmark = pytest.mark.slow


def reduced_config(default: dict) -> dict:
    cfg = copy.deepcopy(default)
    cfg["world"] = shrink_world(default["world"])
    cfg["world"]["n_subjects"] = 300
    cfg["world"]["msmarco"].update(subjects=150, queries=1500)
    cfg["world"]["english"]["mono_sentences"] = 3000
    for spec in cfg["world"]["languages"].values():
        spec.update(mono_sentences=300, bitext_pairs=600)
    cfg["languages"] = {"sw": {"bitext_pairs": 500}, "nn": {"bitext_pairs": 500}}
    cfg["encoder"]["vocab_size"] = 1500
    cfg["pretrain"].update(steps=150, tokenizer_sentences=3000)
    cfg["teacher"].update(steps=200)
    cfg["distill"].update(steps=60, eval_every=30, heldout_pairs=50, checkpoint_every=20)
    cfg["translate_train"].update(steps=60)
    cfg["nmt"].update(steps=150, eval_every=75, checkpoint_every=0, vocab_size=1000, d_model=64, ffn_dim=128)
    cfg["seeds"] = [1, 2]
    cfg["data_efficiency"].update(bitext_pairs=[100], seeds=[1])
    cfg["ablation"].update(ot_reg=[0.2], ot_max_iter=[], seeds=[2])
    cfg["candidates"].update(queries=40, depth=60)
    cfg["ner"]["languages"] = ["sw", "nn"]
    cfg["ner"]["world"].update(entities_per_type=60, english_train=600, sentences={"train": 300, "dev": 20, "test": 80})
    for key, steps in (("teacher", 60), ("student", 40), ("ot", 20)):
        cfg["ner"][key].update(steps=steps, checkpoint_every=0)
    cfg["ner"]["bootstrap_resamples"] = 200
    return cfg


def snakemake(workdir, *args, timeout=1200):
    return subprocess.run([sys.executable, "-m", "snakemake", "--cores", "2", *args], cwd=workdir,
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory, default_config):
    work = tmp_path_factory.mktemp("pipeline")
    for item in ("Snakefile", "workflow", "profiles", "envs"):
        src = ROOT / item
        (shutil.copytree if src.is_dir() else shutil.copy)(src, work / item)
    (work / "config").mkdir()
    cfg = reduced_config(default_config)
    # written in the default file's key order; the "changed" config below is written sorted
    (work / "config" / "config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    out = snakemake(work)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-4000:]
    return work, cfg


def test_report_files_exist_and_parse(pipeline):
    work, cfg = pipeline
    report = work / "results" / "report"
    html = (report / "report.html").read_text()
    md = (report / "report.md").read_text()
    assert html.startswith("<!doctype html>") and "data:image/png;base64," in html
    for lang in cfg["languages"]:
        assert f"en→{lang}" in md
    assert "t p (Holm)" in md and "permutation p (Holm)" in md and "95% bootstrap CI" in md
    for section in ("## Summary", "## Gap closed and language bias", "## Data efficiency", "## OT ablation",
                    "## Methods"):
        assert section in md, section
    for fig in ("systems.png", "gap_closed.png", "language_bias.png", "data_efficiency.png", "distill_curve.png"):
        assert (report / "figures" / fig).stat().st_size > 1000, fig
    from optical.registry import RETRIEVAL
    for system in cfg["systems"]:
        assert RETRIEVAL[system].label in md, system


def test_the_alignment_probe_runs_per_language_and_seed_with_its_control(pipeline):
    """Every language and seed has the teacher's row and OPTICAL's control; the student, trained on
    bitext, finds native words in context more often than the teacher, which never saw bitext."""
    work, cfg = pipeline
    rows = pd.concat([pd.read_parquet(f) for f in sorted((work / "results" / "probe").rglob("*.parquet"))])
    assert len(rows) == 2 * len(cfg["languages"]) * len(cfg["seeds"])
    assert set(rows.model) == {"teacher", "OPTICAL student (control)"}
    means = rows.groupby("model").context_native.mean()
    assert means["OPTICAL student (control)"] > means["teacher"]
    assert "## What direct transfer runs on (synthetic world)" in (work / "results" / "report" / "report.md").read_text()


def test_report_has_the_ner_section_and_both_tasks_side_by_side(pipeline):
    from optical.ner.scores import prf
    from optical.registry import NER
    work, cfg = pipeline
    md = (work / "results" / "report" / "report.md").read_text()
    ner_md = md.split("# Second task: cross-lingual NER")[1]
    assert "# Both tasks side by side" in ner_md
    for lang in cfg["ner"]["languages"]:
        assert f"## NER en→{lang}" in ner_md
    for system in cfg["ner"]["systems"]:
        assert NER[system].label in ner_md
    assert "p (Holm)" in ner_md and (work / "results" / "report" / "figures" / "ner_f1.png").stat().st_size > 1000
    counts = pq.read_table(work / "results" / "report" / "ner_metrics.parquet").to_pandas()
    assert set(counts.language) == {"en", *cfg["ner"]["languages"]}
    assert set(counts.seed) == set(cfg["seeds"])
    n_test = cfg["ner"]["world"]["sentences"]["test"]
    assert (counts.groupby(["language", "system", "seed"]).size() == n_test).all()
    # the summary cell of direct transfer on sw is recomputed from the per-sentence counts
    d = counts[(counts.language == "sw") & (counts.system == "direct")]
    f1s = [prf(g[["correct", "predicted", "gold_entities"]].to_numpy())[2] for _, g in d.groupby("seed")]
    row = next(line for line in ner_md.splitlines() if line.startswith(f"| {NER['direct'].label}"))
    assert f"{100 * np.mean(f1s):.1f} ± {100 * np.std(f1s, ddof=1):.1f}" in row


def test_metrics_parquet_holds_every_per_query_number(pipeline):
    work, cfg = pipeline
    df = pq.read_table(work / "results" / "report" / "metrics.parquet").to_pandas()
    assert set(df.language) == set(cfg["languages"])
    assert set(df.system) == set(cfg["systems"])
    assert set(df.measure) == set(cfg["evaluation"]["measures"])
    n_q = df.groupby(["language", "system", "variant", "seed", "measure"]).query_id.nunique()
    assert (n_q == cfg["candidates"]["queries"]).all()
    assert df.value.between(0, 1).all()
    lists = [cfg["candidates"]["first_stage"], *cfg["candidates"]["other_lists"]]
    assert set(df.candidates) == set(lists)
    per_list = df.groupby(["language", "system", "variant", "seed", "measure"]).candidates.nunique()
    assert (per_list == len(lists)).all()  # every run on every candidate list
    main = df[df.variant == "main"]
    for system in cfg["systems"]:  # every trained system with every seed, per language
        seeds = set(main[main.system == system].seed)
        assert seeds == ({0} if system in ("random", "bm25") else set(cfg["seeds"])), system
    subsets = df[df.variant.str.startswith("bitext")]
    assert set(subsets.system) == set(cfg["data_efficiency"]["systems"])
    assert set(subsets.train_pairs) == set(cfg["data_efficiency"]["bitext_pairs"])
    full = main[main.system == "optical"].train_pairs.unique()
    assert len(full) == 1 and full[0] > max(cfg["data_efficiency"]["bitext_pairs"])


def test_teacher_beats_random_on_the_english_side(pipeline):
    work, cfg = pipeline
    df = pq.read_table(work / "results" / "report" / "metrics.parquet").to_pandas()
    df = df[df.candidates == cfg["candidates"]["first_stage"]]
    ndcg = df[df.measure == "nDCG@10"].groupby(["language", "system"]).value.mean()
    for lang in cfg["languages"]:
        assert ndcg[(lang, "translate_test_oracle")] > ndcg[(lang, "random")] + 0.1, ndcg


def _row(md: str, heading: str, label: str) -> list[str]:
    section = md.split(heading)[1].split("\n## ")[0]
    row = next(l for l in section.splitlines() if l.startswith(f"| {label}"))
    return [c.strip() for c in row.strip("|").split("|")][1:]


def test_report_numbers_are_recomputed_from_the_parquet(pipeline):
    from optical.registry import RETRIEVAL
    work, cfg = pipeline
    df = pq.read_table(work / "results" / "report" / "metrics.parquet").to_pandas()
    df = df[df.candidates == cfg["candidates"]["first_stage"]]  # the headline tables' list
    main = df[df.variant == "main"]
    md = (work / "results" / "report" / "report.md").read_text()
    langs = sorted(cfg["languages"])
    for lang in langs:
        cells = _row(md, f"## en→{lang}: systems × measures", "OPTICAL")
        for measure, cell in zip(cfg["evaluation"]["measures"], cells):
            per_seed = main[(main.language == lang) & (main.system == "optical") &
                            (main.measure == measure)].groupby("seed").value.mean()
            mean, std = cell.replace("▲", "").replace("▼", "").split(" ± ")
            assert float(mean) == pytest.approx(per_seed.mean(), abs=5e-5)
            assert float(std) == pytest.approx(per_seed.std(ddof=1), abs=5e-5)
    # the summary table: every system, every language, on nDCG@10
    for system in cfg["systems"]:
        cells = _row(md, "## Summary", RETRIEVAL[system].label)
        for lang, cell in zip(langs, cells):
            expected = main[(main.language == lang) & (main.system == system) &
                            (main.measure == "nDCG@10")].groupby("seed").value.mean().mean()
            assert float(cell.strip("*▲▼ ").split(" ± ")[0].strip("*")) == pytest.approx(expected, abs=5e-5)


def test_every_job_log_ends_with_its_exact_cpu_time(pipeline):
    from optical.workflow import read_job_costs
    work, _ = pipeline
    logs = list((work / "logs").rglob("*.log"))
    costs = read_job_costs(work / "logs")
    assert len(costs) == len(logs)
    assert all("job cost: rule=" in log.read_text().strip().splitlines()[-1] for log in logs)
    assert {"pretrain", "teacher", "distill_optical", "rerank", "evaluate", "report"} <= {r for r, _, _ in costs}
    assert all(cpu > 0 for _, cpu, _ in costs)


def test_second_run_has_nothing_to_do(pipeline):
    work, cfg = pipeline
    out = snakemake(work, "-n")
    assert out.returncode == 0
    assert "Nothing to be done" in out.stdout + out.stderr
    # the same config with its keys in another order is the same config
    (work / "reordered.yaml").write_text(yaml.safe_dump(cfg, sort_keys=True))
    out = snakemake(work, "-n", "--configfile", "reordered.yaml")
    assert "Nothing to be done" in out.stdout + out.stderr, out.stdout[-3000:]


def _students(cfg, langs) -> dict[str, int]:
    """distill_<method> jobs per method on ``langs``: main runs, data-efficiency and ablation runs."""
    from optical import registry
    de, ab = cfg["data_efficiency"], cfg["ablation"]
    n_seed = len(cfg["seeds"])
    out = {}
    for s in cfg["systems"]:
        if registry.RETRIEVAL[s].kind == registry.BITEXT:
            n = n_seed + len(de["bitext_pairs"]) * len(de["seeds"]) * (s in de["systems"])
            out[f"distill_{s}"] = len(langs) * n + sum(
                (len(ab["ot_reg"]) + len(ab["ot_max_iter"])) * len(ab["seeds"])
                for lang in langs if s in ab["systems"] and lang in ab["languages"])
    return out


def test_changing_a_distillation_key_reruns_only_distillation_and_after(pipeline):
    work, cfg = pipeline
    changed = copy.deepcopy(cfg)
    changed["distill"]["lr"] = cfg["distill"]["lr"] * 2
    (work / "changed.yaml").write_text(yaml.safe_dump(changed, sort_keys=True))  # other key order
    out = snakemake(work, "-n", "--configfile", "changed.yaml")
    stats = {k: int(v) for k, v in re.findall(r"^(\w+)\s+(\d+)$", out.stdout, flags=re.M)}
    students = _students(cfg, list(cfg["languages"]))
    for rule, n in students.items():
        assert stats.pop(rule) == n, (rule, out.stdout[-3000:])
    assert stats.pop("rerank") == stats.pop("evaluate") == sum(students.values())  # only the students' runs
    # the alignment probe's control reads OPTICAL's student: one job per language and seed
    assert stats.pop("probe_alignment") == len(cfg["languages"]) * len(cfg["seeds"])
    assert stats.pop("report") == 1
    assert set(stats) <= {"all", "total"}, stats  # nothing upstream, no NMT, no translate-train


def test_a_methods_own_key_reruns_only_that_method(pipeline):
    work, cfg = pipeline
    changed = copy.deepcopy(cfg)
    changed["distill"]["fixed_alignment"] = "greedy"
    (work / "changed.yaml").write_text(yaml.safe_dump(changed))
    out = snakemake(work, "-n", "--configfile", "changed.yaml")
    stats = dict(re.findall(r"^(\w+)\s+(\d+)$", out.stdout, flags=re.M))
    n = len(cfg["languages"]) * len(cfg["seeds"])
    assert stats.pop("distill_token_kd_fixed") == stats.pop("rerank") == stats.pop("evaluate") == str(n), stats
    assert stats.pop("report") == "1"
    assert set(stats) <= {"all", "total"}, stats


def _plan(work, config_name, cfg, env=None):
    (work / config_name).write_text(yaml.safe_dump(cfg))
    out = subprocess.run([sys.executable, "-m", "snakemake", "-n", "--configfile", config_name], cwd=work,
                         capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr[-3000:]
    return {k: int(v) for k, v in re.findall(r"^(\w+)\s+(\d+)$", out.stdout, flags=re.M)}, out.stdout


def test_one_languages_bitext_size_reruns_only_that_language(pipeline):
    """The bitext feeds the students, the NMT models and through them the bm25_nmt candidate list,
    which every system of the language re-ranks: all of that language reruns, nothing of another."""
    work, cfg = pipeline
    changed = copy.deepcopy(cfg)
    changed["languages"]["sw"]["bitext_pairs"] -= 10
    stats, text = _plan(work, "bitext.yaml", changed)
    n_seed = len(cfg["seeds"])
    assert stats.pop("bitext") == stats.pop("candidates") == 1
    for rule, n in _students(cfg, ["sw"]).items():
        assert stats.pop(rule) == n, (rule, text[-3000:])
    assert stats.pop("nmt_train") == 2 * n_seed + 1  # both directions per seed, and the first stage's
    # the NER encoder aligned on sw's bitext follows it; nothing else of NER does
    n_ot = sum(1 for s in cfg["ner"]["systems"] if s.startswith("ot_aligned"))
    assert stats.pop("ner_ot_aligned") == stats.pop("ner_evaluate") == n_ot * n_seed
    assert stats.pop("probe_alignment") == n_seed  # sw's: its bitext sample and OPTICAL student changed
    assert {"rerank", "evaluate", "report", "bm25", "nmt_translate_documents", "nmt_translate_queries"} >= \
        set(stats) - {"all", "total"}, stats
    assert "lang=nn" not in text and "nlang=nn" not in text


def test_adding_a_language_runs_only_its_jobs(pipeline):
    work, cfg = pipeline
    changed = copy.deepcopy(cfg)
    changed["languages"]["tl"] = {"bitext_pairs": 500}
    stats, text = _plan(work, "added.yaml", changed)
    for upstream in ("make_world", "pretrain", "teacher", "teacher_data"):
        assert upstream not in stats, upstream
    per_lang = ("collection", "bitext", "candidates", "translate_train_data")
    assert all(stats[r] == 1 for r in per_lang), stats
    assert stats["report"] == 1
    assert "lang=sw" not in text and "lang=nn" not in text  # nothing of the other languages reruns


def _planned_jobs(work, cfg, env) -> list[tuple[str, str, str]]:
    """(rule, output, reason) of every job a dry run would run."""
    (work / "same.yaml").write_text(yaml.safe_dump(cfg))
    out = subprocess.run([sys.executable, "-m", "snakemake", "-n", "--configfile", "same.yaml"], cwd=work,
                         capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr[-3000:]
    jobs = re.findall(r"^rule (\w+):\n(?:.*\n)*?\s+output: (\S+).*\n(?:.*\n)*?\s+reason: (.*)$", out.stdout + out.stderr,
                      flags=re.M)
    return jobs


def test_editing_a_module_reruns_the_rules_that_import_it(pipeline, tmp_path):
    """Snakemake does not see edits to imported modules; the rules' code hash param does, through the
    import graph. The bitext module: the bitext rule (its script imports it) and the distillation
    rules (through optical.train.distill) rerun, and what follows them. The objectives module: only
    the distillation rules, for their own code hash, not because an input changed."""
    work, cfg = pipeline
    src = tmp_path / "src"
    shutil.copytree(ROOT / "src" / "optical", src / "optical")
    env = dict(os.environ, PYTHONPATH=str(src))
    assert _planned_jobs(work, cfg, env) == []  # an identical copy of the code: nothing to do
    with open(src / "optical" / "train" / "objectives.py", "a") as f:
        f.write("\n# an edit\n")
    jobs = _planned_jobs(work, cfg, env)
    code_changed = {rule for rule, _, reason in jobs if reason.startswith("Params have changed")}
    assert code_changed == set(_students(cfg, list(cfg["languages"])))
    assert {rule for rule, _, _ in jobs} == code_changed | {"rerank", "evaluate", "probe_alignment", "report"}
    shutil.copy(ROOT / "src" / "optical" / "train" / "objectives.py", src / "optical" / "train" / "objectives.py")
    with open(src / "optical" / "data" / "bitext.py", "a") as f:
        f.write("\n# an edit\n")
    rules = {rule for rule, _, _ in _planned_jobs(work, cfg, env)}
    assert {"bitext", "distill_optical", "distill_sentence_kd", "rerank", "evaluate", "report"} <= rules
    # the NMT models import the bitext split too, and the first stage's feeds the bm25_nmt candidate list
    assert {"nmt_train", "candidates"} <= rules
    assert not rules & {"teacher", "pretrain", "translate_train", "make_world", "collection"}
