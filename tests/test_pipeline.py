"""The workflow's job plan (ncurv_lib.pipeline, config/<scale>.yaml) and the Snakefile's
handling of bad configuration."""
import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ncurv_lib import pipeline
from ncurv_lib import train as T
from ncurv_lib.cache import config_hash

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _default_cache(monkeypatch):
    monkeypatch.delenv("NCURV_CACHE", raising=False)


def _parse(module, argv):
    parser = argparse.ArgumentParser()
    module.add_arguments(parser)
    return parser.parse_args(argv)


@pytest.mark.parametrize("scale", pipeline.SCALES)
def test_every_scale_holds_the_paper_zoo(scale):
    plan = pipeline.load_plan(scale)
    zoo = {config_hash(c) for c in T.zoo_configs(scale)}
    assert zoo <= set(plan.models)
    assert set(plan.chapters) == set(pipeline.notebook_sources())
    for job in plan.sweeps.values():  # a curvature sweep reads scores the plan computes
        assert (job.curvature in plan.curvature) == (job.sweep.scorer == "curvature")


def test_job_counts_per_scale():
    counts = {s: pipeline.load_plan(s).rule_counts() for s in pipeline.SCALES}
    # smoke sweeps: LeNet5 5 methods x 2 (SynFlow has no per-layer form) + 3 VGG9
    # + 4 ablations (Tanh) + 2 calibration sets + 2 authors; scores: full, 4 ablations,
    # 2 sets, authors
    chapters = len(pipeline.notebook_sources())
    assert counts["smoke"] == {"train": 13, "curvature": 8, "sweep": 20,
                               "notebook": chapters, "book": 1}
    # cpu sweeps: 13 models (CIFAR-100 included) x 5 scorers + 4 weight decays x 2
    # + 4 per-layer + 3 ablations (the "full" one is the Fig. 3 sweep) + 5 calibration sets
    # + 2 authors; scores: the 13 + 4 models, 3 ablations, 5 sets, authors; models: the
    # 13 + 4 and VGG9 at the paper's width (#29: ReLU CE)
    assert counts["cpu"]["train"] == 17 + 1
    assert counts["cpu"]["sweep"] == 13 * 5 + 4 * 2 + 4 + 3 + 5 + 2
    assert counts["cpu"]["curvature"] == 13 + 4 + 3 + 5 + 1 + 1  # + VGG9 width 1 (#29)
    # every model; VGG9 ablations; 6 calibration sets x 2 models; authors x 3
    assert counts["paper"]["curvature"] == 17 + 3 + 12 + 3


@pytest.mark.parametrize("scale", pipeline.SCALES)
def test_train_args_reproduce_the_planned_config(scale):
    from ncurv_lib import train_cli
    for h, job in pipeline.load_plan(scale).models.items():
        (cfg,) = train_cli._configs(_parse(train_cli, list(job.args)))
        assert config_hash(cfg) == h, job.name


@pytest.mark.parametrize("scale", pipeline.SCALES)
def test_sweep_args_reproduce_the_planned_config(scale, monkeypatch):
    from ncurv_lib import cli_args
    from ncurv_lib.pruning import cli
    plan = pipeline.load_plan(scale)
    for h, job in plan.sweeps.items():
        monkeypatch.setattr(cli_args, "load_checkpoint",
                            lambda p, t=job.sweep.train: T.Checkpoint(t, None))
        args = _parse(cli, ["--checkpoint", "model.pt", *job.args])
        (cfg,) = cli.sweep_configs(args)
        assert config_hash(cfg.cache_key()) == h
        assert plan.sweep_path(h).name == f"{h}.csv"


def test_curvature_args_name_the_convention_and_switches():
    from ncurv_lib import curvature_cli as cli
    plan = pipeline.load_plan("smoke")
    seen = set()
    for job in plan.curvature.values():
        args = _parse(cli, list(job.args))
        assert args.convention == job.convention
        assert (args.neural_distribution, args.neural_cost) == pipeline.ABLATIONS[job.ablation]
        assert args.calib_k == (job.calib_k or None)
        seen.add((job.convention, job.ablation))
    assert seen == {("paper", "full"), ("authors", "full"), ("paper", "cost"),
                    ("paper", "distribution"), ("paper", "baseline")}
    assert {j.classes for j in plan.curvature.values()} == {(), (0,)}


def test_cpu_plan_names_the_committed_artifacts():
    """The committed cpu sweeps are the plan's own outputs (same hashes), so a fresh clone
    has nothing to recompute for them."""
    plan = pipeline.load_plan("cpu")
    assert all(p.exists() for p in plan.outputs("sweeps"))
    assert all(p.exists() for p in plan.outputs("curvature"))


def test_chapter_hash_covers_what_it_reads(tmp_path):
    a = pipeline.load_plans("smoke")["smoke"].chapters["91_model_zoo"].hash
    root = _copy_configs(tmp_path)
    spec = yaml.safe_load((root / "smoke.yaml").read_text())
    spec["models"][0]["overrides"] = {"epochs": 3}
    (root / "smoke.yaml").write_text(yaml.safe_dump(spec))
    plans = pipeline.load_plans("smoke", root)
    assert plans["smoke"].chapters["91_model_zoo"].hash != a
    assert plans["smoke"].chapters["01_orc_primer"].hash == \
        pipeline.load_plans("smoke")["smoke"].chapters["01_orc_primer"].hash


def test_a_chapter_at_another_scale_reads_that_scales_artifacts(tmp_path):
    """The cpu book reads its own zoo; a chapter given ``scale: smoke`` (as the zoo was
    while cpu models were missing) reads the smoke plan's models instead."""
    plans = pipeline.load_plans("cpu")
    assert set(plans) == {"cpu"}
    reads = pipeline.chapter_inputs(plans["cpu"], "91_model_zoo", plans)
    assert reads == plans["cpu"].outputs("models")
    root = _copy_configs(tmp_path)
    spec = yaml.safe_load((root / "cpu.yaml").read_text())
    spec["chapters"]["91_model_zoo"]["scale"] = "smoke"
    (root / "cpu.yaml").write_text(yaml.safe_dump(spec))
    plans = pipeline.load_plans("cpu", root)
    assert set(plans) == {"cpu", "smoke"}
    reads = pipeline.chapter_inputs(plans["cpu"], "91_model_zoo", plans)
    assert reads == plans["smoke"].outputs("models") and reads != plans["cpu"].outputs("models")


def test_cache_follows_ncurv_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("NCURV_CACHE", str(tmp_path))
    assert pipeline.load_plan("cpu").cache == tmp_path.resolve()


def _copy_configs(tmp_path):
    root = tmp_path / "config"
    shutil.copytree(REPO / "config", root)
    return root


@pytest.mark.parametrize("edit,match", [
    (lambda s: s.update(colour="red"), r"unknown keys \['colour'\]; valid keys: scale"),
    (lambda s: s["models"][0].update(size=3), r"models\[0\]: unknown keys \['size'\]"),
    (lambda s: s["models"][0].update(scheme="xx"), r"models\[0\]: invalid TrainConfig"),
    (lambda s: s["sweeps"][0].update(models=["nope"]), r"unknown models \['nope'\]"),
    (lambda s: s["sweeps"][0].update(methods=["bogus"]), r"sweeps: .*bogus"),
    (lambda s: s["sweeps"][2].update(ablations=["half"]), r"ablation 'half'"),
    (lambda s: s.update(curvature=[{"models": ["lenet5-relu-ce"], "ablations": ["half"]}]),
     r"ablation 'half' unknown"),
    (lambda s: s["chapters"].update({"99_nope": {}}), r"chapters \['99_nope'\] have no"),
    (lambda s: s["chapters"].update({"01_orc_primer": {"scale": "huge"}}), "scale must be"),
    (lambda s: s["resources"].update(fit={"threads": 1}), r"resources.fit: unknown rule"),
    (lambda s: s["resources"]["train"].update(cores=1), r"unknown keys \['cores'\]"),
    (lambda s: s.update(scale="cpu"), "expected 'smoke'"),
])
def test_bad_config_fails_with_the_valid_choices(tmp_path, edit, match):
    root = _copy_configs(tmp_path)
    spec = yaml.safe_load((root / "smoke.yaml").read_text())
    edit(spec)
    (root / "smoke.yaml").write_text(yaml.safe_dump(spec))
    with pytest.raises(pipeline.PlanError, match=match):
        pipeline.load_plans("smoke", root)


def test_unknown_scale_lists_the_valid_ones():
    with pytest.raises(pipeline.PlanError, match="valid scales: smoke, cpu, paper"):
        pipeline.load_plan("huge")


def _snakemake(*args):
    exe = Path(sys.executable).with_name("snakemake")
    env = {k: v for k, v in os.environ.items() if k != "NCURV_CACHE"}
    return subprocess.run([str(exe), "-n", "--quiet", "rules", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("config,match", [
    (["scale=huge"], "valid scales: smoke, cpu, paper"),
    (["scale=smoke", "colour=red"], r"unknown config keys \['colour'\]; valid keys: scale"),
])
def test_snakefile_refuses_bad_config(config, match):
    out = _snakemake("--config", *config)
    assert out.returncode != 0
    assert __import__("re").search(match, out.stdout + out.stderr), out.stdout + out.stderr


def test_rule_resources_merge_the_config_over_the_defaults():
    plan = pipeline.load_plan("cpu")
    assert plan.rule_resources("train") == {"threads": 2, "mem_mb": 8000, "runtime": 90, "gpu": 0}
    assert plan.rule_resources("book") == {"threads": 1, "mem_mb": 4000, "runtime": 15, "gpu": 0}
    assert set(pipeline.DEFAULT_RESOURCES) == set(pipeline.RULES)


def test_plan_sweeps_says_when_it_computes_in_place(monkeypatch, tmp_path, capsys):
    job = next(iter(pipeline.load_plan("cpu").sweeps.values()))
    pipeline._say_if_missing(job.sweep, job.model)             # committed: silent
    assert capsys.readouterr().err == ""
    monkeypatch.setenv("NCURV_CACHE", str(tmp_path))           # an empty cache
    pipeline._say_if_missing(job.sweep, job.model)
    err = capsys.readouterr().err
    assert f"sweep {job.model} / {job.sweep.method} is not cached" in err
    assert "make workflow" in err


def test_plan_sweeps_keeps_models_with_one_label_apart():
    """vgg9-relu-wd and vgg9-relu-wd1e-5 share the label vgg9-cifar10-relu-wd; their
    curves must not be merged when summarised by model."""
    from ncurv_lib.pruning.metrics import summarize
    from ncurv_lib.pruning.runs import load_or_sweep
    plan = pipeline.load_plan("cpu")
    names = ["vgg9-relu-wd", "vgg9-relu-wd1e-5"]
    t = pipeline.plan_sweeps(plan, methods=["magnitude"], per_layer=False, models=names)
    assert set(t.model) == set(names) and t.model_label.nunique() == 1
    s = summarize(t[t.grid == "common"]).set_index("model")["max_removable_fraction"]
    for n in names:
        job = next(j for j in plan.sweeps.values()
                   if j.model == n and j.sweep.method == "magnitude"
                   and not j.sweep.cache_key()["per_layer"])
        own = load_or_sweep(job.sweep)
        assert s[n] == summarize(own[own.grid == "common"])["max_removable_fraction"].iloc[0]
    assert len(t) == 2 * len(own)
