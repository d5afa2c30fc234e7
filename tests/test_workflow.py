"""The workflow itself: lint-clean, and the default DAG has the jobs the design promises."""

import re
import subprocess
import sys

import pytest
import yaml

from conftest import ROOT, workflow_rules


def _snakemake(*args, cwd):
    return subprocess.run([sys.executable, "-m", "snakemake", *args], cwd=cwd, capture_output=True, text=True)


SHIPPED_CONFIGS = sorted(p.name for p in (ROOT / "config").glob("*.yaml"))


@pytest.mark.parametrize("configfile", SHIPPED_CONFIGS)
def test_lint_is_clean(configfile):
    out = _snakemake("--lint", "--configfile", str(ROOT / "config" / configfile), cwd=ROOT)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "Congratulations" in out.stdout + out.stderr


@pytest.mark.parametrize("configfile", ["config.yaml", "paper.yaml", "bible-e5.yaml", "bible.yaml"])
def test_slurm_profile_sizes_every_rule_that_asks_for_a_gpu(configfile, tmp_path):
    """A rule that trains or encodes (a GPU request) must have its own size in the SLURM profile: the
    4 GB / 60 min default would kill it in the paper setting. bible.yaml: the e5 track's rules too."""
    profile = yaml.safe_load((ROOT / "profiles" / "slurm" / "config.yaml").read_text())
    gpu_rules = {name for name, r in workflow_rules(configfile, tmp_path).items() if r["gpu"]}
    assert gpu_rules >= {"teacher", "rerank", "nmt_train"} or configfile == "bible-e5.yaml"
    assert configfile != "bible.yaml" or {"e5_teacher", "e5_rerank"} <= gpu_rules
    assert gpu_rules - set(profile["set-resources"]) == set()


def test_default_dag_job_counts(tmp_path, default_config):
    from optical import registry
    out = _snakemake("-n", "-s", str(ROOT / "Snakefile"), "--configfile", str(ROOT / "config" / "config.yaml"),
                     "--directory", str(tmp_path), cwd=ROOT)
    assert out.returncode == 0, out.stderr[-3000:]
    counts = {k: int(v) for k, v in re.findall(r"^(\w+)\s+(\d+)$", out.stdout, flags=re.M)}
    cfg = default_config
    systems = cfg["systems"]
    n_lang, n_seed = len(cfg["languages"]), len(cfg["seeds"])
    de, ab = cfg["data_efficiency"], cfg["ablation"]
    n_de = len(de["bitext_pairs"]) * len(de["seeds"])  # extra runs per language and curve system
    n_ab = (len(ab["ot_reg"]) + len(ab["ot_max_iter"])) * len(ab["seeds"]) * len(ab["languages"])
    assert counts["make_world"] == counts["report"] == 1
    assert counts["pretrain"] == (n_seed if cfg["pretrain"].get("per_seed") else 1)
    assert counts["teacher"] == n_seed
    assert counts["collection"] == counts["bitext"] == counts["candidates"] == n_lang
    assert counts["translate_train_data"] == n_lang
    bitext = [s for s in systems if registry.RETRIEVAL[s].kind == registry.BITEXT]
    extra = {s: n_lang * n_de * (s in de["systems"]) + n_ab * (s in ab["systems"]) for s in bitext}
    for method, n_extra in extra.items():
        assert counts[f"distill_{method}"] == n_lang * n_seed + n_extra, method
    assert counts["translate_train"] == n_lang * n_seed
    # NMT: documents (xx-en) and queries (en-xx) per language and seed, and the first stage's (seed 0)
    assert counts["nmt_train"] == n_lang * (2 * n_seed + 1)
    assert counts["nmt_translate_documents"] == n_lang * n_seed
    assert counts["nmt_translate_queries"] == n_lang * (n_seed + 1)
    assert counts["bm25"] == n_lang * (1 + n_seed)  # gold-translated queries once, NMT queries per seed
    reranked = [s for s in systems if registry.RETRIEVAL[s].scorer == registry.RERANK]
    n_runs = n_lang * n_seed * len(reranked) + sum(extra.values())
    assert counts["rerank"] == n_runs
    assert counts["evaluate"] == n_runs + n_lang * (2 + n_seed)  # + random and BM25 once, BM25-NMT per seed
    ner = cfg["ner"]
    n_ner = len(ner["languages"])
    assert counts["ner_world"] == 1 and counts["ner_data"] == n_ner + 1  # + English
    assert counts["ner_teacher"] == n_seed
    n_ot = sum(1 for s in ner["systems"] if registry.NER[s].objective)
    assert counts["ner_teacher_student"] == n_ner * n_seed and counts["ner_ot_aligned"] == n_ot * n_ner * n_seed
    assert counts["ner_evaluate"] == (n_ner * len(ner["systems"]) + 1) * n_seed  # + the teacher on English


def test_per_seed_pretraining_gives_each_seed_its_own_encoder(tmp_path, default_config):
    import copy
    cfg = copy.deepcopy(default_config)
    cfg["pretrain"]["per_seed"] = True
    (tmp_path / "cfg.yaml").write_text(yaml.safe_dump(cfg))
    out = _snakemake("-n", "-s", str(ROOT / "Snakefile"), "--configfile", str(tmp_path / "cfg.yaml"),
                     "--directory", str(tmp_path), cwd=ROOT)
    assert out.returncode == 0, out.stderr[-3000:]
    counts = {k: int(v) for k, v in re.findall(r"^(\w+)\s+(\d+)$", out.stdout, flags=re.M)}
    assert counts["pretrain"] == len(cfg["seeds"])
    for rule in ("teacher", "ner_teacher"):
        jobs = re.findall(rf"^rule {rule}:\n    input: (.*)\n    output: .*?seed(\d+)$", out.stdout, flags=re.M)
        assert len(jobs) == len(cfg["seeds"]) and all(f"results/models/encoder/seed{s}" in i for i, s in jobs), rule
