"""The benchmark table: one exact parameter_curvature run per row, counts that add up."""

import pytest
import torch
from torch import nn

from ncurv_lib import bench
from ncurv_lib.curvature import api as A


def _tiny():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Conv2d(2, 2, 2), nn.ReLU(),
                          nn.Flatten(), nn.Linear(2 * 3 * 3, 3)).double().eval()
    return model, torch.rand(4, 1, 6, 6, dtype=torch.float64)


def test_bench_row_counts_and_scaling():
    model, x = _tiny()
    cfg = A.CurvatureConfig()
    row = bench.bench_full("tiny", model, x, "random", cfg, 2, 0)
    st = A.Stats()
    A.curvature_pass(model, x, cfg, lambda *a: None, stats=st)
    assert row["edges"] == st.edges and row["examples"] == 4
    assert 0.0 <= row["closed_share"] <= 1.0 and row["seconds"] > 0
    scaled = bench.bench_full("tiny", model, x[:2], "random", cfg, 2, 0, n_report=8)
    assert scaled["examples"] == 8 and "EXTRAPOLATED" in scaled["note"]
    half = A.Stats()
    A.curvature_pass(model, x[:2], cfg, lambda *a: None, stats=half)
    assert scaled["edges"] == 4 * half.edges
    table = bench.format_table([row, scaled])
    assert table.count("\n") == 3 and "| tiny | 4 |" in table


# ---------------------------------------------------------------- the cached benchmark
def _text(rows):
    import json
    return json.dumps(rows, sort_keys=True)  # rows may hold NaN (no regular edge sampled)


def _stub_inputs(monkeypatch, calls):
    model, x = _tiny()

    def inputs(dataset, model_name, n, width, seed):
        calls.append((model_name, n))
        return model, x[:n], "stub"
    monkeypatch.setattr(bench, "_inputs", inputs)


def test_cached_bench_reads_its_cache_and_keys_on_options(monkeypatch, tmp_path):
    monkeypatch.setenv("NCURV_CACHE", str(tmp_path))
    calls = []
    _stub_inputs(monkeypatch, calls)
    first = bench.cached_bench("lenet5", lenet_examples=2, baseline_edges=2)
    assert not first["cached"] and calls == [("lenet5", 2)]
    assert first["path"].startswith(str(tmp_path / "bench"))
    assert [r["examples"] for r in first["rows"]] == [2]
    second = bench.cached_bench(("lenet5",), lenet_examples=2, baseline_edges=2)
    assert second["cached"] and len(calls) == 1
    assert _text(second["rows"]) == _text(first["rows"]) and second["path"] == first["path"]
    assert second["key"]["machine"]["cores"] == first["key"]["machine"]["cores"]
    assert second["key"]["models"] == {"lenet5": "random init"}
    other = bench.cached_bench("lenet5", lenet_examples=3, baseline_edges=2)
    assert not other["cached"] and other["path"] != first["path"] and calls[-1] == ("lenet5", 3)
    again = bench.cached_bench("lenet5", lenet_examples=2, baseline_edges=2, recompute=True)
    assert not again["cached"] and len(calls) == 3 and again["path"] == first["path"]


def test_bench_key_covers_machine_model_and_quick(monkeypatch):
    base = bench.bench_key(bench.BenchOptions(cases=("lenet5",), lenet_examples=1,
                                              baseline_edges=3))
    assert bench.bench_key(bench.BenchOptions(quick=True)) == base
    assert base["options"]["cases"] == ["lenet5"] and base["engine"] >= 1
    assert set(base["machine"]) >= {"cpu", "cores", "torch"}
    monkeypatch.setattr(bench, "machine", lambda: {"cpu": "other", "cores": 1, "torch": "x"})
    assert bench.bench_key(bench.BenchOptions(quick=True)) != base
    monkeypatch.undo()
    from ncurv_lib import train
    cfg = train.TrainConfig.preset("mnist", "lenet5", "relu", "ce", "cpu")
    monkeypatch.setattr(bench, "_trained_config", lambda *a: cfg)
    trained = bench.bench_key(bench.BenchOptions(quick=True))
    assert trained["models"]["lenet5"] != "random init" and trained != base


def test_corrupt_bench_cache_is_recomputed(monkeypatch, tmp_path):
    monkeypatch.setenv("NCURV_CACHE", str(tmp_path))
    calls = []
    _stub_inputs(monkeypatch, calls)
    first = bench.cached_bench("lenet5", lenet_examples=2, baseline_edges=2)
    from pathlib import Path
    Path(first["path"]).write_text("{ truncated")
    assert not bench.cached_bench("lenet5", lenet_examples=2, baseline_edges=2)["cached"]
    assert len(calls) == 2


def test_cli_cache_prints_the_same_table(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("NCURV_CACHE", str(tmp_path))
    calls = []
    _stub_inputs(monkeypatch, calls)
    argv = ["--cases", "lenet5", "--lenet-examples", "2", "--baseline-edges", "2", "--cache",
            "--out", str(tmp_path / "rows.json")]
    assert bench.main(argv) == 0
    first = capsys.readouterr()
    assert bench.main(argv) == 0
    second = capsys.readouterr()
    assert len(calls) == 1 and "read from" in second.err

    def table(out):
        return out[out.index("| model |"):]
    assert table(first.out) == table(second.out) and table(first.out).count("| stub") == 1
    import json
    saved = json.loads((tmp_path / "rows.json").read_text())
    assert len(saved["rows"]) == 1 and saved["key"]["options"]["lenet_examples"] == 2


def test_targets_are_checked_against_matching_rows():
    rows = [dict(model="LeNet5-small", examples=100, seconds=12.0, extrapolated=False),
            dict(model="VGG9 width 0.5", examples=10, seconds=100.0, extrapolated=True)]
    got = bench.check_targets(rows)
    assert [t["met"] for t in got] == [False, None]
    assert got[0]["seconds"] == 12.0 and got[1]["seconds"] is None
    rows[0]["seconds"] = 9.5
    rows.append(dict(model="VGG9 width 1", examples=10, seconds=800.0, extrapolated=True))
    got = bench.check_targets(rows)
    assert [t["met"] for t in got] == [True, True] and got[1]["extrapolated"] is True


def test_chunked_rows_count_the_same_edges_and_give_the_one_call_scores():
    model, x = _tiny()
    cfg = A.CurvatureConfig()
    one, chunked = A.Stats(), A.Stats()
    assert bench._scores(model, x, cfg, one, 1, None) is None
    assert bench._scores(model, x, cfg, chunked, 1, 1) == 1
    assert (chunked.edges, chunked.special) == (one.edges, one.special)
    row = bench.bench_full("tiny", model, x, "random", cfg, 2, 0, chunk=3)
    assert row["edges"] == one.edges and "in chunks of 3 example(s)" in row["note"]
    # the key names chunk only when it is set
    plain = bench.bench_key(bench.BenchOptions(quick=True))
    assert "chunk" not in plain["options"]
    with_chunk = bench.bench_key(bench.BenchOptions(quick=True, chunk=0))
    assert with_chunk["options"]["chunk"] == 0 and with_chunk != plain


def test_missing_data_warns_and_falls_back_to_random_inputs(monkeypatch, tmp_path):
    """Without the data set the benchmark still runs, but says so loudly."""
    from ncurv_lib import data

    def missing(*args, **kwargs):
        raise FileNotFoundError("no MNIST here")
    monkeypatch.setattr(data, "load_split", missing)
    monkeypatch.setattr(data, "calibration_set", missing)
    monkeypatch.setattr(bench, "_trained_config", lambda *a: None)
    with pytest.warns(UserWarning, match="NCURV_DATA"):
        model, x, note = bench._inputs("mnist", "lenet5", 3, 1.0, 0)
    assert x.shape == (3, 1, 28, 28) and "random inputs" in note
