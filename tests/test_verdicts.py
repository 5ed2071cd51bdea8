"""The overview's verdicts (book/00_overview.ipynb), recomputed from the committed cpu
sweeps with code of this file's own: the CSVs are read with pandas, max removable and
the AUC are computed here, and so are the rules. Only the plan (which sweep file is
which model and method) comes from the library. A mismatch means the book prints a
verdict its own numbers do not give, or the rules in ``ncurv_lib.verdicts`` changed
without the book being re-executed."""
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest

from ncurv_lib import pipeline

REPO = Path(__file__).resolve().parent.parent
DROPS = {"1 pt": 0.01, "2 pt": 0.02, "5 pt": 0.05}
METRICS = [*DROPS, "AUC"]
SCORES = ["curvature-positive", "magnitude", "snip", "synflow"]
GRID_EQ, AUC_EQ, STEP, STEP_AUC, NEAR_ZERO = 1e-6, 0.005, 0.055, 0.02, 0.1


# ---------------------------------------------------------------- numbers, from scratch
def max_removable(f, a, drop):
    """The removed fraction at the last point before the accuracy first falls more than
    ``drop`` below the accuracy at fraction 0."""
    order = np.argsort(f, kind="stable")
    f, a = np.asarray(f)[order], np.asarray(a)[order]
    limit = a[f == 0][0] - drop - 1e-12
    for i, acc in enumerate(a):
        if acc < limit:
            return f[i - 1]
    return f[-1]


def area(f, a):
    order = np.argsort(f, kind="stable")
    f, a = np.asarray(f)[order], np.asarray(a)[order]
    return float(sum((f[i + 1] - f[i]) * (a[i] + a[i + 1]) / 2 for i in range(len(f) - 1)))


def number(curve, metric):
    f, a = curve.removed_fraction.to_numpy(), curve.accuracy.to_numpy()
    return area(f, a) if metric == "AUC" else max_removable(f, a, DROPS[metric])


def versus(x, y, metric, tol=None):
    tol = (AUC_EQ if metric == "AUC" else GRID_EQ) if tol is None else tol
    return "tie" if abs(x - y) <= tol else "better" if x > y else "worse"


def better_rule(outcomes):
    if set(outcomes) == {"better"}:
        return "reproduced"
    if set(outcomes) == {"tie"}:
        return "tie"
    return "partly" if "better" in outcomes else "not reproduced"


def similar_rule(outcomes):
    if set(outcomes) == {"tie"}:
        return "reproduced"
    return "partly" if "tie" in outcomes else "not reproduced"


def checks_rule(checks):
    return "reproduced" if all(checks) else "partly" if any(checks) else "not reproduced"


# ---------------------------------------------------------------- the committed sweeps
@pytest.fixture(scope="module")
def sweeps():
    """Every sweep of the cpu plan, read from the committed cache, with the job's
    settings as columns."""
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("NCURV_CACHE", raising=False)   # the committed cache
        plan = pipeline.load_plan("cpu")
    tables = []
    for h, job in plan.sweeps.items():
        s, t = job.sweep, pd.read_csv(plan.sweep_path(h))
        train = plan.model(job.model).train
        tables.append(t.assign(
            name=job.model, method=s.method, per_layer=s.per_layer, ablation=s.ablation,
            convention=s.convention, calib_k=s.calib_k,
            classes=",".join(map(str, s.calib_classes)), act=train.act, scheme=train.scheme,
            model_kind=train.model, wd=train.weight_decay, wd_linear=train.weight_decay_linear))
    return pd.concat(tables, ignore_index=True)


def standard(t, grid="common"):
    """Global sweeps on the scale's own calibration set, paper convention, full method."""
    t = t[~t.per_layer & (t.layer == "all") & (t.convention == "paper") & (t.ablation == "full")
          & (t.calib_k == 0) & (t.classes == "")]
    return t[t.grid == grid] if grid else t


def curve(t, **where):
    for k, v in where.items():
        t = t[t[k] == v]
    return t


def with_all(t, key, values):
    return [n for n in dict.fromkeys(t.name)
            if set(values) <= set(t.loc[t.name == n, key])]


# ---------------------------------------------------------------- the rules, again
def fig3(sw, metric, datasets=None):
    t = standard(sw)
    t = t[t.dataset.isin(datasets)] if datasets else t
    out = []
    for n in with_all(t, "method", SCORES):
        v = {m: number(curve(t, name=n, method=m), metric) for m in SCORES}
        out.append(versus(v[SCORES[0]], max(v[m] for m in SCORES[1:]), metric))
    return better_rule(out)


def fig4_negative(sw, metric):
    t, ok = standard(sw), []
    for n in with_all(t, "method", ["curvature-positive", "curvature-negative"]):
        pos = number(curve(t, name=n, method="curvature-positive"), metric)
        neg = number(curve(t, name=n, method="curvature-negative"), metric)
        ok.append(neg < pos - AUC_EQ if metric == "AUC" else neg <= 0.05 + GRID_EQ
                  and neg < pos - GRID_EQ)
    return checks_rule(ok)


def fig4_positive(sw, metric):
    if metric == "AUC":
        return "n/a"
    t, ok = standard(sw, grid=None), []
    t = t[t.method == "curvature-positive"]
    for n in dict.fromkeys(t.name):
        c = t[t.name == n].sort_values("removed_fraction", kind="stable")
        share = c.loc[c.last_score > 0, "removed_fraction"].max()
        base = c.loc[c.removed_fraction == 0, "accuracy"].iloc[0]
        past = c[c.accuracy < base - DROPS[metric] - 1e-12]
        kappa = past.last_score.iloc[0] if len(past) else -np.inf
        ok.append(number(c, metric) >= share / 2 - GRID_EQ and kappa <= NEAR_ZERO)
    return checks_rule(ok)


def fig5(sw, metric):
    t = sw[sw.per_layer & (sw.layer != "all") & (sw.grid == "common")]
    out = []
    for (n, layer), c in t.groupby(["name", "layer"]):
        if {"curvature-positive", "magnitude"} <= set(c.method):
            out.append(versus(number(curve(c, method="curvature-positive"), metric),
                              number(curve(c, method="magnitude"), metric), metric,
                              STEP_AUC if metric == "AUC" else STEP))
    return similar_rule(out)


def ablation(sw):
    t = sw[(sw.method == "curvature-positive") & ~sw.per_layer & (sw.convention == "paper")
           & (sw.grid == "common")]
    for key, c in t.groupby(["name", "calib_k", "classes"]):
        if c.ablation.nunique() == 4:
            return c
    raise AssertionError("no model has the four ablation sweeps")


def fig6(sw, metric, pairs):
    c = ablation(sw)
    v = {a: number(curve(c, ablation=a), metric) for a in ("full", "cost", "distribution",
                                                           "baseline")}
    return better_rule([versus(v[a], v[b], metric) for a, b in pairs])


def fig7(sw, metric):
    t = sw[(sw.name == "lenet5-relu-ce") & (sw.method == "curvature-positive") & ~sw.per_layer
           & (sw.convention == "paper") & (sw.ablation == "full") & (sw.grid == "common")]
    sets = {}
    for (k, classes), c in t.groupby(["calib_k", "classes"]):
        examples = (k or 10) * (len(classes.split(",")) if classes else 10)   # MNIST
        sets[examples] = number(c, metric)
    n = sorted(sets)
    assert n == [1, 5, 10, 20, 50, 100]
    v, tol = [sets[k] for k in n], STEP_AUC if metric == "AUC" else STEP
    return checks_rule([versus(v[0], v[-1], metric) == "worse",
                        all(x >= v[-1] - tol for k, x in zip(n, v) if k >= 10),
                        all(v[j] >= v[i] - tol for i in range(len(v))
                            for j in range(i + 1, len(v)))])


def study(sw):
    t = standard(sw)
    return t[(t.model_kind == "vgg9") & (t.scheme == "wd") & (t.dataset == "cifar10")]


def fig8_magnitude(sw, metric):
    t = study(sw)
    t = t[(t.wd_linear < 0) & (t.method == "magnitude")]
    out = []
    for act, g in t.groupby("act"):
        wds = sorted(g.wd.unique())
        out.append(versus(number(curve(g, wd=wds[-1]), metric),
                          number(curve(g, wd=wds[0]), metric), metric))
    return better_rule(out)


def fig8_curvature(sw, metric):
    t, out = study(sw), []
    for n in with_all(t, "method", ["curvature-positive", "magnitude"]):
        out.append(versus(number(curve(t, name=n, method="curvature-positive"), metric),
                          number(curve(t, name=n, method="magnitude"), metric), metric,
                          STEP_AUC if metric == "AUC" else STEP))
    return similar_rule(out)


RULES = {
    "fig3": fig3,
    "fig3-cifar": lambda sw, m: fig3(sw, m, ["cifar10", "cifar100"]),
    "fig4-negative": fig4_negative,
    "fig4-positive": fig4_positive,
    "fig5": fig5,
    "fig6-full": lambda sw, m: fig6(sw, m, [("full", "cost"), ("full", "distribution"),
                                            ("full", "baseline")]),
    "fig6-modules": lambda sw, m: fig6(sw, m, [("cost", "baseline"),
                                               ("distribution", "baseline")]),
    "fig7": fig7,
    "fig8-magnitude": fig8_magnitude,
    "fig8-curvature": fig8_curvature,
    "partII-thm1": lambda sw, m: "theorem checked (tests)",
    "partII-thm2": lambda sw, m: "theorem checked (tests)",
}


# ---------------------------------------------------------------- what the book prints
def printed_verdicts() -> pd.DataFrame:
    """The NBVAL_CHECK_OUTPUT cell of the committed overview: ``id|1 pt|2 pt|5 pt|AUC``."""
    nb = nbformat.read(REPO / "book" / "00_overview.ipynb", as_version=4)
    cells = [c for c in nb.cells if c.cell_type == "code"
             and "# NBVAL_CHECK_OUTPUT" in c.source and "to_csv" in c.source]
    assert len(cells) == 1, "the overview has one plain-text verdict cell"
    text = "".join(o.get("text", "") for o in cells[0].outputs if o.output_type == "stream")
    lines = [line.split("|") for line in text.strip().splitlines()]
    assert lines[0] == ["id", *METRICS]
    return pd.DataFrame(lines[1:], columns=lines[0]).set_index("id")


def test_the_overview_was_executed_at_cpu():
    nb = nbformat.read(REPO / "book" / "00_overview.ipynb", as_version=4)
    assert nb.metadata["ncurv"]["parameters"] == {"scale": "cpu"}


def test_every_claim_has_a_row():
    assert set(printed_verdicts().index) == set(RULES)


@pytest.mark.parametrize("claim", list(RULES))
def test_printed_verdict_follows_from_the_sweeps(claim, sweeps):
    printed = printed_verdicts().loc[claim]
    recomputed = {m: RULES[claim](sweeps, m) for m in METRICS}
    assert printed.to_dict() == recomputed


def test_numbers_the_issue_names(sweeps):
    """Spot checks of the issue's reading of the cpu sweeps."""
    t = standard(sweeps, grid=None)
    c = curve(t, name="vgg9-relu-ce", method="curvature-positive").sort_values(
        "removed_fraction", kind="stable")
    at_zero = c[c.last_score > 0].iloc[-1]
    assert at_zero.accuracy == pytest.approx(0.39, abs=0.005)
    assert c.accuracy.iloc[0] == pytest.approx(0.835, abs=0.001)
    past = c[c.accuracy < c.accuracy.iloc[0] - 0.01]
    assert past.last_score.iloc[0] == pytest.approx(2.0)
    abl = ablation(sweeps)
    v = {a: number(curve(abl, ablation=a), "1 pt") for a in ("full", "cost", "distribution",
                                                              "baseline")}
    assert {k: round(x, 2) for k, x in v.items()} == {"full": 0.5, "cost": 0.5,
                                                      "distribution": 0.6, "baseline": 0.55}
