"""The appendix tables: run times, training times, checksums, gathered from fake files."""
import gzip
import hashlib
import json

import nbformat
import pandas as pd
import pytest

from ncurv_lib import pipeline, report

BENCH_HEAD = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"


def _bench_file(path, *rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(BENCH_HEAD + "".join(
        f"{s}\t0:00:0{int(s) % 10}\t{rss}\t3000.0\t400\t500\t1.0\t0.0\t80.0\t{cpu}\n"
        for s, rss, cpu in rows))


def test_benchmark_table_one_row_per_file(tmp_path):
    _bench_file(tmp_path / "benchmarks" / "train" / "aaaa.tsv", (12.5, 900.0, 11.0))
    _bench_file(tmp_path / "benchmarks" / "train" / "bbbb.tsv", (7.5, 700.0, 6.0))
    _bench_file(tmp_path / "benchmarks" / "notebook" / "01_x-cccc.tsv",
                (3.0, 500.0, 2.0), (5.0, 600.0, 4.0))          # two repeats: their mean
    (tmp_path / "benchmarks" / "sweep").mkdir()
    (tmp_path / "benchmarks" / "sweep" / "empty.tsv").write_text(BENCH_HEAD)
    df = report.benchmark_table(tmp_path, names={"aaaa": "lenet5-relu-ce"})
    assert len(df) == 3
    assert list(df["rule"]) == ["notebook", "train", "train"]
    assert list(df["name"]) == ["01_x-cccc", "lenet5-relu-ce", "bbbb"]
    assert df.loc[0, "s"] == 4.0 and df.loc[0, "max_rss"] == 550.0
    assert df.loc[1, "cpu_time"] == 11.0
    totals = report.rule_totals(df).set_index("rule")
    assert totals.loc["train", "jobs"] == 2 and totals.loc["train", "total_s"] == 20.0
    assert totals.loc["train", "max_s"] == 12.5 and totals.loc["train", "peak_rss_mb"] == 900.0
    assert report.benchmark_table(tmp_path / "nothing").empty
    current = report.benchmark_table(tmp_path, names={"aaaa": "lenet5-relu-ce"}, named_only=True)
    assert list(current["job"]) == ["aaaa"] and list(current["name"]) == ["lenet5-relu-ce"]


def test_manifest_and_chapter_times(tmp_path):
    man = tmp_path / "cache" / "manifests" / "notebooks"
    man.mkdir(parents=True)
    for stem, h, wall in [("01_orc_primer", "0123abcd", 6.5), ("21_dag_x", "ffff0000", 80.0),
                          ("21_dag_x", "eeee1111", 81.0)]:
        (man / f"{stem}-{h}.json").write_text(json.dumps(
            {"notebook": f"book/{stem}.ipynb", "parameters": {"scale": "cpu"},
             "source_sha256": "ab", "wall_time_s": wall}))
    df = report.manifest_times(tmp_path / "cache", current={"21_dag_x-ffff0000"})
    assert list(df["current"]) == [False, False, True]
    assert report.manifest_times(tmp_path / "cache")["current"].isna().all()
    assert len(df) == 3 and list(df["chapter"]) == ["01_orc_primer", "21_dag_x", "21_dag_x"]
    assert list(df["hash"]) == ["0123abcd", "eeee1111", "ffff0000"]
    assert list(df["wall_time_s"]) == [6.5, 81.0, 80.0] and set(df["scale"]) == {"cpu"}

    book = tmp_path / "book"
    book.mkdir()
    for stem, meta in [("01_a", {"parameters": {"scale": "cpu"}, "wall_time_s": 2.5}),
                       ("91_b", {"parameters": {"scale": "smoke"}, "wall_time_s": 40.0}),
                       ("92_c", None)]:
        nb = nbformat.v4.new_notebook()
        if meta:
            nb.metadata["ncurv"] = {"source_sha256": "x", **meta}
        nbformat.write(nb, book / f"{stem}.ipynb")
    (book / "intro.ipynb").write_text("{}")                  # not a chapter
    ch = report.chapter_times(book)
    assert list(ch["chapter"]) == ["01_a", "91_b"] and list(ch["scale"]) == ["cpu", "smoke"]
    assert list(ch["wall_time_s"]) == [2.5, 40.0]


def _sidecar(path, dataset, model, scheme, seconds, acc):
    path.parent.mkdir(parents=True, exist_ok=True)
    cfg = {"dataset": dataset, "model": model, "act": "relu", "scheme": scheme,
           "width": 1.0, "epochs": 15}
    path.write_text(json.dumps({"config": cfg, "info": {"train_time_s": seconds,
                                                        "test_acc": acc, "device": "cpu"}}))


def test_training_table(tmp_path):
    models = tmp_path / "models"
    _sidecar(models / "h1.json", "mnist", "lenet5", "wd", 55.0, 0.984)
    _sidecar(models / "h2.json", "cifar10", "vgg9", "ce", 1500.0, 0.85)
    _sidecar(models / "h3.json", "mnist", "lenet5", "ce", 50.0, 0.989)
    (models / "h3.pt").write_bytes(b"weights")               # only sidecars are read
    df = report.training_table(tmp_path, names={"h3": "lenet5-relu-ce"})
    assert len(df) == 3
    assert list(df["hash"]) == ["h2", "h3", "h1"]            # by dataset, model, act, scheme
    assert list(df["train_time_s"]) == [1500.0, 50.0, 55.0]
    assert list(df["test_acc"]) == [0.85, 0.989, 0.984]
    assert df.loc[1, "name"] == "lenet5-relu-ce" and pd.isna(df.loc[0, "name"])


def test_dataset_checksums_match_sha256sums(tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                 "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        (raw / f"{name}.gz").write_bytes(gzip.compress(name.encode()))
    (tmp_path / "cifar10").mkdir()
    (tmp_path / "cifar10" / "test.zip").write_bytes(b"zip bytes")
    (tmp_path / "cifar10" / "notes.txt").write_text("not read")
    files = report.dataset_files(tmp_path)
    assert len(files) == 5 and files[0] == "MNIST/raw/t10k-images-idx3-ubyte.gz"
    assert "cifar10/test.zip" in files and "cifar10/notes.txt" not in files
    good = hashlib.sha256(b"zip bytes").hexdigest()
    (tmp_path / "SHA256SUMS").write_text(f"{good}  cifar10/test.zip\n"
                                         f"{'0' * 64}  MNIST/raw/t10k-images-idx3-ubyte.gz\n")
    df = report.dataset_checksums(tmp_path)
    assert list(df["file"]) == files
    assert list(df["listed"]) == [False, None, None, None, True]  # wrong, unlisted x3, right
    assert df.loc[4, "sha256"] == good and df.loc[4, "bytes"] == 9
    first = raw / "t10k-images-idx3-ubyte.gz"
    assert df.loc[0, "sha256"] == hashlib.sha256(first.read_bytes()).hexdigest()


def test_package_versions_and_pins(tmp_path):
    req = tmp_path / "requirements.txt"
    req.write_text("# pins\nnumpy==1.2.3  # a comment\nPOT==0.9.7\nnot-pinned>=1\n")
    assert report.read_pins(req) == {"numpy": "1.2.3", "pot": "0.9.7"}
    df = report.package_versions(("numpy", "POT", "no-such-package-ncurv"), requirements=req)
    assert list(df["package"]) == ["python", "numpy", "POT", "no-such-package-ncurv"]
    assert df.loc[1, "pinned"] == "1.2.3" and df.loc[2, "pinned"] == "0.9.7"
    assert pd.isna(df.loc[3, "installed"]) and df.loc[1, "installed"]
    assert not df.loc[1, "matches"] and pd.isna(df.loc[3, "matches"])  # numpy is not 1.2.3
    assert report._matches("3.11.7", "3.11") and not report._matches("3.110", "3.11")
    assert report._matches(None, "1.0") is False and report._matches("1.0", None) is None


def test_machine_description(tmp_path):
    (tmp_path / "cpuinfo").write_text("processor\t: 0\nmodel name\t: Fancy CPU 9000\n")
    (tmp_path / "meminfo").write_text("MemTotal:       25165824 kB\nMemFree: 1 kB\n")
    assert report.cpu_model(tmp_path / "cpuinfo") == "Fancy CPU 9000"
    assert report.memory_gib(tmp_path / "meminfo") == 24.0
    assert report.memory_gib(tmp_path / "missing") is None
    hw = report.hardware()
    assert hw["cores"] >= 1 and hw["gpu"]


@pytest.mark.parametrize("scale", ["smoke", "cpu"])
def test_scale_table_matches_the_plans(scale):
    df = report.scale_table([scale])
    assert len(df) == 1
    row = df.iloc[0]
    counts = pipeline.load_plan(scale).rule_counts()
    assert {k: int(row[k]) for k in counts} == counts
    assert (row["vgg9_width"], row["vgg9_epochs"]) == {"smoke": (0.125, 2), "cpu": (0.5, 30)}[scale]


def test_job_names_cover_the_plan():
    plan = pipeline.load_plan("smoke")
    names = report.job_names(plan)
    assert len(names) == (len(plan.models) + len(plan.curvature) + len(plan.sweeps)
                          + len(plan.chapters))
    current = report.current_manifests(plan)
    assert len(current) == len(plan.chapters) and all(c in names for c in current)
    mj = plan.model("lenet5-relu-ce")
    assert names[mj.hash] == "lenet5-relu-ce"
