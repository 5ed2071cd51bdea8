r"""Verdicts on the paper's claims, computed from a plan's cached pruning sweeps.

Each claim of the paper (Tan, Sia, Bogdan, Ivanov, arXiv 2601.16366) is one
:class:`Claim`: the sentence it judges (a quotation, or a paraphrase marked as one), the
models and the metric, a rule stated in words, and the code of that rule. A rule
compares curves by the book's two summary numbers (:mod:`ncurv_lib.pruning.metrics`):
*max removable* :math:`f^\ast_\delta`, the largest fraction removed before the accuracy
first drops more than :math:`\delta` below the unpruned one, and the area under the
curve. :func:`evaluate` judges every claim at :math:`\delta` = 1, 2 and 5 points and by
AUC, so a verdict that depends on the threshold shows it.

Ties are explicit. Max removable is read on the sweep's grid (steps of 0.05): two
values are a **tie** when equal on that grid, and the AUCs are a tie within
:data:`AUC_TIE`. Claims of similarity ("behaves similarly", "comparable") count a
difference of at most one grid step (:data:`SIMILAR`; AUC :data:`SIMILAR_AUC`) as
similar. The tolerances follow the grid and the paper's wording; none was adjusted after
seeing a result.

Only the paper's abstract could be read when these claims were written: its sentences
are quoted, every other claim is a paraphrase and says so, with no section number.

References
----------
1. S. Tan, J. Sia, P. Bogdan, R. Ivanov, *Analyzing Neural Network Information Flow
   Using Differential Geometry*, arXiv 2601.16366 (2026).
2. Nurisso, Leroy, Petri, Vaccarino, *Topology and geometry of the learning space of
   ReLU networks: connectivity and singularities* (Part II's companion paper).

>>> compare(0.50, 0.45, "1 pt"), compare(0.50, 0.50, "1 pt"), compare(0.801, 0.803, "AUC")
('better', 'tie', 'tie')
>>> more_effective(["better", "tie", "worse"])
'partly'
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd

from . import pipeline
from .pruning.metrics import area_under_curve, max_removable_fraction

__all__ = ["AUC_TIE", "CLAIMS", "Claim", "DROPS", "METRICS", "NEAR_ZERO", "Outcome",
           "Report", "SIMILAR", "SIMILAR_AUC", "VERDICTS", "compare", "evaluate", "holds",
           "more_effective", "render_claim", "similar", "summarize_curves"]

DROPS = {"1 pt": 0.01, "2 pt": 0.02, "5 pt": 0.05}
METRICS = (*DROPS, "AUC")
EQUAL = 1e-6            # max removable: equal on the grid (fractions are rounded counts)
AUC_TIE = 0.005         # AUC: a tie within this
SIMILAR = 0.055         # "similar": within one 0.05 step (slack: per-layer grids round)
SIMILAR_AUC = 0.02
NEAR_ZERO = 0.1         # Fig. 4: "near zero" curvature, of a range [-inf, 2]
COLLAPSE = 0.05         # Fig. 4: negative-first keeps nothing past the first grid point
PAPER = "Tan et al., arXiv 2601.16366"
NOT_FOUND = "section not located: only the paper's abstract could be read; not a quotation"
SCORES = ["curvature-positive", "magnitude", "snip", "synflow"]
VERDICTS = ("reproduced", "partly", "tie", "not reproduced", "not computed", "n/a",
            "theorem checked (tests)")


@dataclass(frozen=True)
class Outcome:
    """A claim judged at one metric: the verdict, the tally behind it, the numbers."""
    verdict: str
    tally: str = ""
    numbers: str = ""


@dataclass(frozen=True)
class Claim:
    """One claim of the paper and its rule.

    ``select(plan)`` returns the curves the rule reads (a sweep table with ``unit``, the
    thing judged: a panel, a layer, a setting; and ``arm``, what is compared within it)
    or a string saying why nothing is computed at this scale. ``judge(curves, summary,
    metric)`` applies the rule at one metric of :data:`METRICS`. Claims without
    ``select`` are not judged on sweeps; ``fixed`` is their verdict.
    """
    id: str
    figure: str
    chapter: str
    section: str
    quote: str
    models: str
    metric: str
    rule: str
    select: Callable | None = None
    judge: Callable | None = None
    fixed: str = ""
    evidence: str = ""
    source: str = PAPER


# ---------------------------------------------------------------- rule helpers
def compare(a: float, b: float, metric: str, tol: float | None = None) -> str:
    """``"better"``, ``"tie"`` or ``"worse"``: ``a`` against ``b``.

    Max removable ties when equal on the grid (:data:`EQUAL`), AUC within
    :data:`AUC_TIE`; ``tol`` overrides both (similarity rules).
    """
    if tol is None:
        tol = AUC_TIE if metric == "AUC" else EQUAL
    if not (np.isfinite(a) and np.isfinite(b)):
        return "worse" if np.isfinite(b) else "better" if np.isfinite(a) else "tie"
    return "tie" if abs(a - b) <= tol else "better" if a > b else "worse"


def _tally(outcomes) -> str:
    n = pd.Series(list(outcomes)).value_counts()
    return ", ".join(f"{int(n.get(k, 0))} {k}" for k in ("better", "tie", "worse"))


def more_effective(outcomes) -> str:
    """Aggregate of a claim that curvature does better: *reproduced* if better on every
    unit, *tie* if every unit ties, *partly* if better on some, else *not reproduced*."""
    o = list(outcomes)
    if all(x == "better" for x in o):
        return "reproduced"
    if all(x == "tie" for x in o):
        return "tie"
    return "partly" if "better" in o else "not reproduced"


def similar(outcomes) -> str:
    """Aggregate of a similarity claim (ties are the claim): *reproduced* if every unit
    is similar, *partly* if some, else *not reproduced*."""
    o = list(outcomes)
    if all(x == "tie" for x in o):
        return "reproduced"
    return "partly" if "tie" in o else "not reproduced"


def holds(checks) -> str:
    """Aggregate of checks that hold or fail: all, some, none."""
    c = [bool(x) for x in checks]
    return "reproduced" if all(c) else "partly" if any(c) else "not reproduced"


def summarize_curves(curves: pd.DataFrame) -> pd.DataFrame:
    """One row per (``unit``, ``arm``): base accuracy, max removable at every drop of
    :data:`DROPS` and the AUC (over the points of ``curves``)."""
    rows = []
    for (unit, arm), c in curves.groupby(["unit", "arm"], sort=False):
        f, a = c["removed_fraction"].to_numpy(), c["accuracy"].to_numpy()
        base = float(a[f == 0][0])
        row = {"unit": unit, "arm": arm, "base": base, "AUC": area_under_curve(f, a)}
        row.update({k: max_removable_fraction(f, a, d, base) for k, d in DROPS.items()})
        rows.append(row)
    return pd.DataFrame(rows)


def _value(summary, unit, arm, metric) -> float:
    row = summary[(summary.unit == unit) & (summary.arm == arm)]
    return float(row[metric].iloc[0]) if len(row) else float("nan")


def _units(summary) -> list:
    return list(dict.fromkeys(summary.unit))


# ---------------------------------------------------------------- selections
def _common(t: pd.DataFrame, unit, arm) -> pd.DataFrame:
    t = t[t.grid == "common"] if "grid" in t else t
    return t.assign(unit=unit(t), arm=arm(t))


def _complete(t: pd.DataFrame, arms) -> pd.DataFrame:
    """Only the units that have every arm of ``arms``."""
    have = t.groupby("unit")["arm"].agg(set)
    return t[t.unit.isin(have[have.map(lambda s: set(arms) <= s)].index)]


def select_scores(plan, datasets=None):
    """Fig. 3: global sweeps of the four scores, panels with all four."""
    t = pipeline.plan_sweeps(plan, methods=SCORES, per_layer=False)
    if len(t) and datasets:
        t = t[t.dataset.isin(datasets)]
    t = _complete(_common(t, lambda t: t.name, lambda t: t.method), SCORES) if len(t) else t
    return t if len(t) else "no panel has curvature and the three other scores swept"


def select_orders(plan):
    """Fig. 4: positive-first and negative-first curvature, models with both."""
    orders = ["curvature-positive", "curvature-negative"]
    t = pipeline.plan_sweeps(plan, methods=orders, per_layer=False)
    t = _complete(_common(t, lambda t: t.name, lambda t: t.method), orders) if len(t) else t
    return t if len(t) else "no model has both curvature orders swept"


def select_positive(plan):
    """Fig. 4: positive-first curves, common and sign-aware points together."""
    t = pipeline.plan_sweeps(plan, methods=["curvature-positive"], per_layer=False)
    if not len(t) or t.last_score.dropna().le(0).sum() == 0:
        return "no positive-first curvature sweep reaches the zero crossing"
    return t.assign(unit=t.name, arm=t.method).sort_values(
        ["unit", "removed_fraction", "grid"], kind="stable")


def select_layers(plan):
    """Fig. 5: one layer at a time, curvature and magnitude."""
    arms = ["curvature-positive", "magnitude"]
    t = pipeline.plan_sweeps(plan, methods=arms, per_layer=True)
    t = t[t.layer != "all"] if len(t) else t
    t = _complete(_common(t, lambda t: t.name + " / " + t.layer, lambda t: t.method),
                  arms) if len(t) else t
    return t if len(t) else "no per-layer sweeps of curvature and magnitude"


ABLATION_ARMS = ["full", "cost", "distribution", "baseline"]


def select_ablation(plan):
    """Fig. 6: the first model and calibration set with all four ablations (chapter 6's
    choice)."""
    t = pipeline.plan_sweeps(plan, methods=["curvature-positive"], per_layer=False,
                             ablation=None, calib=True)
    if not len(t):
        return "no curvature sweeps"
    have = t.groupby(["name", "calib_k", "calib_classes"])["ablation"].nunique()
    complete = [k for k, n in have.items() if n == len(ABLATION_ARMS)]
    if not complete:
        return "no model has the four ablation sweeps (full, cost, distribution, baseline)"
    name, k, classes = complete[0]
    t = t[(t.name == name) & (t.calib_k == k) & (t.calib_classes == classes)]
    from . import data
    n = data.calibration_size(t.dataset.iloc[0], k,
                              [int(c) for c in classes.split(",")] if classes else None)
    return _common(t, lambda t: t.name + f" ({n} calibration example{'s' * (n > 1)})",
                   lambda t: t.ablation)


def select_calibration(plan):
    """Fig. 7: the model swept at the most calibration sets (at least three)."""
    t = pipeline.plan_sweeps(plan, methods=["curvature-positive"], per_layer=False,
                             calib=True)
    if not len(t):
        return "no curvature sweeps"
    sizes = t.groupby("name").apply(lambda g: g.groupby(["calib_k", "calib_classes"]).ngroups,
                                    include_groups=False)
    if sizes.max() < 3:
        return "no model is swept at three or more calibration sets"
    from .pruning.figures import calibration_sets
    t = calibration_sets(t[t.name == sizes.idxmax()])
    return _common(t, lambda t: t.name, lambda t: t.set)


def select_weight_decay(plan, ordered_only=False):
    """Figs. 8, 9: VGG9 on CIFAR-10 trained with weight decay; curvature and magnitude.
    ``ordered_only`` leaves out the mixed setting (decays per layer type), which has no
    place in an order of decays."""
    study = {m.name: m.train for m in plan.models.values() if m.train.model == "vgg9"
             and m.train.scheme == "wd" and m.train.dataset == "cifar10"
             and not (ordered_only and m.train.weight_decay_linear >= 0)}
    arms = ["curvature-positive", "magnitude"]
    t = pipeline.plan_sweeps(plan, methods=arms, per_layer=False, models=list(study))
    if not len(t):
        return "no weight-decay sweeps"
    t = _complete(_common(t, lambda t: t.name, lambda t: t.method), arms)
    t = t.assign(act=t.name.map(lambda n: study[n].act),
                 wd=t.name.map(lambda n: study[n].weight_decay),
                 wd_linear=t.name.map(lambda n: study[n].weight_decay_linear))
    if ordered_only:
        t = t[t.groupby("act").wd.transform("nunique") >= 2]
    return t if len(t) else "fewer than two weight decays swept with both scores"


# ---------------------------------------------------------------- judges
def _fmt(v: float, metric: str) -> str:
    return "nan" if not np.isfinite(v) else f"{v:.3f}" if metric == "AUC" else f"{v:.2f}"


def judge_scores(curves, summary, metric) -> Outcome:
    """Curvature against the best of the other scores, per panel."""
    out, nums = [], []
    for u in _units(summary):
        c = _value(summary, u, SCORES[0], metric)
        others = {m: _value(summary, u, m, metric) for m in SCORES[1:]}
        best = max(others, key=lambda m: (others[m], m == "magnitude"))
        out.append(compare(c, others[best], metric))
        nums.append(f"{u}: {_fmt(c, metric)} vs {best} {_fmt(others[best], metric)} "
                    f"({out[-1]})")
    return Outcome(more_effective(out), _tally(out), "; ".join(nums))


def judge_negative_first(curves, summary, metric) -> Outcome:
    """Negative-first keeps nothing past the first grid point (AUC: clearly below
    positive-first)."""
    ok, nums = [], []
    for u in _units(summary):
        pos = _value(summary, u, "curvature-positive", metric)
        neg = _value(summary, u, "curvature-negative", metric)
        ok.append(neg < pos - AUC_TIE if metric == "AUC"
                  else neg <= COLLAPSE + EQUAL and neg < pos - EQUAL)
        nums.append(f"{u}: negative-first {_fmt(neg, metric)}, positive-first "
                    f"{_fmt(pos, metric)}" + ("" if ok[-1] else " (fails)"))
    return Outcome(holds(ok), f"{sum(ok)} of {len(ok)} hold", "; ".join(nums))


def positive_half(c: pd.DataFrame, drop: float) -> dict:
    """Numbers of one positive-first curve (sorted; common and sign-aware points):
    ``share``, the fraction of weights with positive curvature (the last point whose
    removed weight has curvature > 0); ``acc_at_zero``, the accuracy there; ``fstar``,
    max removable at ``drop``; ``kappa_drop``, the curvature of the last weight removed
    at the first point more than ``drop`` below the base (-inf if none)."""
    f, a = c["removed_fraction"].to_numpy(), c["accuracy"].to_numpy()
    k = c["last_score"].to_numpy()
    base = float(a[f == 0][0])
    pos = np.flatnonzero(k > 0)
    bad = np.flatnonzero(a < base - drop - 1e-12)
    share = float(f[pos].max()) if pos.size else 0.0
    return {"share": share, "acc_at_zero": float(a[pos[np.argmax(f[pos])]]) if pos.size
            else base, "base": base, "fstar": max_removable_fraction(f, a, drop, base),
            "kappa_drop": float(k[bad[0]]) if bad.size else -np.inf}


def judge_positive_first(curves, summary, metric) -> Outcome:
    """Most positive-curvature weights go before the drop, and the drop comes only once
    the removed curvature is near or below zero."""
    if metric == "AUC":
        return Outcome("n/a", "", "the rule reads max removable and curvature, not areas")
    ok, nums = [], []
    for u, c in curves.groupby("unit", sort=False):
        p = positive_half(c, DROPS[metric])
        ok.append(p["fstar"] >= p["share"] / 2 - EQUAL and p["kappa_drop"] <= NEAR_ZERO)
        nums.append(f"{u}: positive share {p['share']:.2f} (accuracy {p['acc_at_zero']:.2f} "
                    f"once removed, base {p['base']:.3f}), max removable {p['fstar']:.2f}, "
                    f"drop at curvature {p['kappa_drop']:+.2f}" + ("" if ok[-1] else " (fails)"))
    return Outcome(holds(ok), f"{sum(ok)} of {len(ok)} hold", "; ".join(nums))


def judge_similar(a: str, b: str) -> Callable:
    """Arm ``a`` against arm ``b``, per unit, under the similarity tolerance."""
    def judge(curves, summary, metric) -> Outcome:
        tol = SIMILAR_AUC if metric == "AUC" else SIMILAR
        out, nums = [], []
        for u in _units(summary):
            va, vb = _value(summary, u, a, metric), _value(summary, u, b, metric)
            out.append(compare(va, vb, metric, tol))
            nums.append(f"{u}: {_fmt(va, metric)} vs {_fmt(vb, metric)}"
                        + ("" if out[-1] == "tie" else f" ({out[-1]})"))
        return Outcome(similar(out), _tally(out).replace("tie", "similar"), "; ".join(nums))
    judge.__doc__ = f"{a} against {b}, per unit: similar within one grid step."
    return judge


def judge_pairs(pairs) -> Callable:
    """Arm against arm, per pair of ``pairs`` (one unit: the ablation of Fig. 6)."""
    def judge(curves, summary, metric) -> Outcome:
        u = _units(summary)[0]
        v = {arm: _value(summary, u, arm, metric) for arm in ABLATION_ARMS}
        out = [compare(v[a], v[b], metric) for a, b in pairs]
        nums = (f"{u}: " + ", ".join(f"{arm} {_fmt(x, metric)}" for arm, x in v.items())
                + "; " + ", ".join(f"{a} vs {b}: {o}" for (a, b), o in zip(pairs, out)))
        return Outcome(more_effective(out), _tally(out), nums)
    judge.__doc__ = "Per pair " + ", ".join(f"{a} vs {b}" for a, b in pairs) + "."
    return judge


def judge_calibration(curves, summary, metric) -> Outcome:
    """One example worse than the full set; ten or more within a grid step of it; no
    larger set more than a grid step below a smaller one."""
    sets = curves.drop_duplicates("arm").sort_values("examples", kind="stable")
    u = _units(summary)[0]
    v = [_value(summary, u, s, metric) for s in sets.arm]
    n, tol = sets.examples.to_list(), SIMILAR_AUC if metric == "AUC" else SIMILAR
    worse_one = compare(v[0], v[-1], metric) == "worse"
    near_full = [s for s, x, m in zip(sets.arm, v, n) if m >= 10 and x < v[-1] - tol]
    falls = [f"{sets.arm.iloc[j]} < {sets.arm.iloc[i]}" for i in range(len(v))
             for j in range(i + 1, len(v)) if v[j] < v[i] - tol]
    checks = [worse_one, not near_full, not falls]
    nums = (f"{u}, by calibration set: " + ", ".join(
        f"{s} {_fmt(x, metric)}" for s, x in zip(sets.arm, v))
        + f"; smallest set worse than the full one: {'yes' if worse_one else 'no'}"
        + f"; sets of 10 or more more than a step below the full one: "
        + (", ".join(near_full) or "none")
        + "; larger sets more than a step below smaller ones: " + (", ".join(falls) or "none"))
    return Outcome(holds(checks), f"{sum(checks)} of 3 checks hold", nums)


def judge_decay_magnitude(curves, summary, metric) -> Outcome:
    """Magnitude at the largest weight decay against the smallest, per activation."""
    out, nums = [], []
    for act, g in curves.groupby("act", sort=True):
        s = g.drop_duplicates("unit").sort_values("wd")
        v = [_value(summary, u, "magnitude", metric) for u in s.unit]
        out.append(compare(v[-1], v[0], metric))
        nums.append(f"{act}: magnitude " + ", ".join(
            f"{_fmt(x, metric)} (wd {w:.0e})" for x, w in zip(v, s.wd)) + f" ({out[-1]})")
    return Outcome(more_effective(out), _tally(out), "; ".join(nums))


# ---------------------------------------------------------------- the claims
_BETTER = ("per unit: better if larger, tie if equal on the grid (AUC: within 0.005), "
           "else worse; the claim is reproduced if better on every unit, a tie if every "
           "unit ties, partly if better on some, not reproduced if better on none")
_SIMILAR = ("per unit: similar if within one grid step (|difference| <= 0.055; AUC "
            "<= 0.02), else better or worse; reproduced if similar on every unit, partly "
            "if on some, not reproduced if on none")
_VGG = "VGG9 at width 0.5 at the cpu scale"
_ABLATION_MODELS = ("the first model with the four ablation sweeps, as in chapter 6 (cpu: "
                    "LeNet5 CE ReLU with one calibration example, of label 0; the paper's "
                    "VGG9 CE ReLU is not computed at cpu)")
_COMPANION = "companion paper (Nurisso, Leroy, Petri, Vaccarino)"
CLAIMS = [
    Claim("fig3", "Fig. 3", "3", "Abstract",
          '"The results indicate that our method can identify a larger number of '
          'unimportant edges as compared to state-of-the-art pruning methods."',
          f"13 panels: LeNet5-small (MNIST), VGG9 (CIFAR-10, CIFAR-100; {_VGG}); CE, WD, "
          "AT; ReLU, Tanh", "max removable, global ranking, common grid",
          "curvature (positive-first) against the best of magnitude, SNIP and SynFlow; "
          + _BETTER, select_scores, judge_scores),
    Claim("fig3-cifar", "Fig. 3", "3", NOT_FOUND,
          "(paraphrase) on the CIFAR models neural curvature is substantially more "
          "effective than the other scores",
          f"the 7 VGG9 panels on CIFAR-10 and CIFAR-100 ({_VGG})",
          "max removable, global ranking, common grid",
          "as Fig. 3, CIFAR panels only; 'substantially more effective' needs at least "
          "'better' (one grid step ahead); " + _BETTER,
          lambda plan: select_scores(plan, ("cifar10", "cifar100")), judge_scores),
    Claim("fig4-negative", "Fig. 4", "4", "Abstract",
          '"removing negative-ORC edges quickly degrades the overall NN performance"',
          "every model with both orders swept (the paper: LeNet5 CE ReLU, VGG9 CE ReLU "
          "and Tanh; the others in its appendix)",
          "max removable, negative-first against positive-first curvature, common grid",
          f"per model the claim holds if negative-first max removable is at most "
          f"{COLLAPSE} (nothing past the first grid point) and below positive-first's (AUC: "
          f"more than 0.005 below); reproduced if it holds on every model, partly if on "
          f"some, not reproduced if on none", select_orders, judge_negative_first),
    Claim("fig4-positive", "Fig. 4", "4",
          "Abstract; the second half: " + NOT_FOUND,
          '"whereas positive-ORC edges have little impact" (Abstract); (paraphrase) the '
          "majority of positive-curvature edges have no impact, and the accuracy drops "
          "only once the removed edges have curvature near or below zero",
          "every model with a positive-first sweep",
          "positive-first curve (common and sign-aware points): the share of weights "
          "with positive curvature, max removable, the curvature of the last weight "
          "removed at the first point past the drop",
          "per model the claim holds if max removable is at least half the positive "
          f"share (the majority of positive weights go before the drop) and the drop "
          f"comes at curvature <= {NEAR_ZERO} ('near or below zero'); reproduced if it "
          "holds on every model, partly if on some, not reproduced if on none; no AUC "
          "version", select_positive, judge_positive_first),
    Claim("fig5", "Fig. 5", "5", NOT_FOUND,
          '(paraphrase) removing the weights of one layer at a time, neural curvature '
          '"behaves similarly" to magnitude',
          "the per-layer sweeps listed (the paper: VGG9 CE ReLU; here also LeNet5 CE ReLU)",
          "max removable within one layer, the other layers intact",
          "curvature (positive-first) against magnitude; " + _SIMILAR,
          select_layers, judge_similar("curvature-positive", "magnitude")),
    Claim("fig6-full", "Fig. 6", "6", NOT_FOUND,
          "(paraphrase) the full neural curvature removes the most weights before the "
          "accuracy drops",
          _ABLATION_MODELS, "max removable, positive-first, common grid",
          "three comparisons: full vs neural edge cost only, full vs neural distribution "
          "only, full vs baseline (Lin-Lu-Yau curvature on the neural graph); " + _BETTER,
          select_ablation, judge_pairs([("full", "cost"), ("full", "distribution"),
                                        ("full", "baseline")])),
    Claim("fig6-modules", "Fig. 6", "6", NOT_FOUND,
          "(paraphrase) each neural module alone (distribution, edge cost) improves on the "
          "baseline", _ABLATION_MODELS, "max removable, positive-first, common grid",
          "two comparisons: neural edge cost only vs baseline, neural distribution only "
          "vs baseline; " + _BETTER,
          select_ablation, judge_pairs([("cost", "baseline"), ("distribution", "baseline")])),
    Claim("fig7", "Fig. 7", "7", NOT_FOUND,
          "(paraphrase) a few calibration examples already give nearly the full pruning "
          "performance, and one example of a single class is clearly worse",
          "LeNet5 CE ReLU (MNIST): 1 example (label 0), 5 (labels 0-4), 10, 20, 50, 100",
          "max removable, positive-first, common grid",
          "three checks: the smallest set (1 example) is worse than the full set (100); "
          "every set of 10 or more is within one grid step (0.055; AUC 0.02) of the full "
          "set; no larger set is more than one step below a smaller one (more examples do "
          "not hurt); reproduced if all three hold, partly if one or two, not reproduced "
          "if none", select_calibration, judge_calibration),
    Claim("fig8-magnitude", "Figs. 8, 9", "8", NOT_FOUND,
          "(paraphrase) a larger weight decay helps magnitude pruning",
          f"VGG9 CIFAR-10 ({_VGG}): ReLU wd 1e-5, 1e-4, 1e-3; Tanh wd 1e-5, 1e-4 (the "
          "mixed 1e-4/1e-5 setting has no place in the order)",
          "max removable of magnitude, common grid",
          "per activation, magnitude at the largest decay against the smallest; "
          + _BETTER, lambda plan: select_weight_decay(plan, True), judge_decay_magnitude),
    Claim("fig8-curvature", "Figs. 8, 9", "8", NOT_FOUND,
          "(paraphrase) across weight decays neural curvature stays comparable (read here: "
          "comparable to magnitude at each decay)",
          f"VGG9 CIFAR-10 ({_VGG}): ReLU wd 1e-5, 1e-4, 1e-3; Tanh wd 1e-5, 1e-4 and "
          "mixed (1e-4 convolutions, 1e-5 linear)",
          "max removable, curvature (positive-first) and magnitude, common grid",
          "per setting curvature against magnitude; " + _SIMILAR,
          select_weight_decay, judge_similar("curvature-positive", "magnitude")),
    Claim("partII-thm1", "Part II", "21-22", "Theorem 1",
          "(paraphrase) gradient flow conserves each hidden neuron's balance c, and the "
          "invariant set H_G(c) is connected iff the bottleneck conditions on c hold",
          "random DAG ReLU networks (tests), not the chapters' networks",
          "agreement of the theorem's condition with an LP cone test",
          "the theorem is checked by unit tests, not by the chapters' experiments; those "
          "(companion Figs. 2d, 8-9) are shown in chapters 21-22 and not judged here",
          fixed="theorem checked (tests)",
          evidence="tests/test_dag_connectivity.py: the condition agrees with an LP cone "
                   "test on 540 random (DAG, c) cases", source=_COMPANION),
    Claim("partII-thm2", "Part II", "23-24", "Theorem 2",
          "(paraphrase) rank J(theta) = |V~| + 1 - k(theta), k the number of components "
          "of the graph of non-zero weights with inputs and outputs glued",
          "random DAGs (tests), not the chapters' networks",
          "agreement of the formula with the SVD rank of J",
          "the theorem is checked by unit tests, not by the chapters' experiments; those "
          "(companion Figs. 3c-d, 5, 12-13) are shown in chapters 23-24 and not judged here",
          fixed="theorem checked (tests)",
          evidence="tests/test_dag_singular.py: the formula agrees with the SVD rank on "
                   "400 random DAGs", source=_COMPANION),
]


# ---------------------------------------------------------------- evaluation
@dataclass(frozen=True)
class Report:
    """``claims``: one row per claim; ``panels``: every judged curve's numbers (max
    removable at 1, 2, 5 points and AUC), by claim, unit and arm."""
    claims: pd.DataFrame
    panels: pd.DataFrame


def _judge_claim(claim: Claim, plan) -> tuple[dict, pd.DataFrame | None]:
    """Outcomes of one claim at every metric, and its curves' summary."""
    if claim.select is None:
        return {m: Outcome(claim.fixed, "", claim.evidence) for m in METRICS}, None
    curves = claim.select(plan)
    if isinstance(curves, str):
        why = f"not computed at scale {plan.scale!r}: {curves}"
        return {m: Outcome("not computed", "", why) for m in METRICS}, None
    summary = summarize_curves(curves)
    return {m: claim.judge(curves, summary, m) for m in METRICS}, summary


def evaluate(plan) -> Report:
    """Judge every claim of :data:`CLAIMS` on the sweeps ``plan`` lists.

    Parameters
    ----------
    plan : ncurv_lib.pipeline.Plan
        The scale's plan (:func:`ncurv_lib.pipeline.load_plan`); sweeps come from its
        cache.

    Returns
    -------
    Report
        ``claims`` has the columns ``id, figure, chapter, quote, models, metric, rule``,
        ``verdict`` (the headline, at a one-point drop), ``2 pt``, ``5 pt``, ``AUC``
        (the verdict under those metrics; ``n/a`` where a rule has no AUC form),
        ``sensitive`` (the verdicts differ), ``tally`` and ``numbers`` (at one point),
        and ``tally 2 pt``, ``tally 5 pt``, ``tally AUC``.
    """
    rows, panels = [], []
    for claim in CLAIMS:
        out, summary = _judge_claim(claim, plan)
        if summary is not None:
            panels.append(summary.assign(claim=claim.id))
        judged = {out[m].verdict for m in METRICS} - {"n/a"}
        rows.append({"id": claim.id, "figure": claim.figure, "chapter": claim.chapter,
                     "quote": f"{claim.quote} [{claim.source}; {claim.section}]",
                     "models": claim.models, "metric": claim.metric, "rule": claim.rule,
                     "verdict": out["1 pt"].verdict, "2 pt": out["2 pt"].verdict,
                     "5 pt": out["5 pt"].verdict, "AUC": out["AUC"].verdict,
                     "sensitive": len(judged) > 1, "tally": out["1 pt"].tally,
                     "numbers": out["1 pt"].numbers,
                     **{f"tally {m}": out[m].tally for m in METRICS[1:]}})
    cols = ["claim", "unit", "arm", "base", *METRICS]
    return Report(pd.DataFrame(rows),
                  pd.concat(panels, ignore_index=True)[cols] if panels
                  else pd.DataFrame(columns=cols))


def render_claim(row) -> str:
    """One claim of :func:`evaluate`'s ``claims`` as Markdown, in reading order: the
    claim, its models and metric, the rule, then the verdicts and the numbers."""
    sens = (" **The verdict changes with the threshold.**" if row["sensitive"] else "")
    tallies = "; ".join(f"{m}: {row[k]}" for m, k in zip(
        METRICS, ["tally", "tally 2 pt", "tally 5 pt", "tally AUC"]) if row[k])
    return (f"**{row['id']}** ({row['figure']}, chapter {row['chapter']}). "
            f"*Claim:* {row['quote']}\n\n"
            f"*Models:* {row['models']}. *Metric:* {row['metric']}.\n\n"
            f"*Rule:* {row['rule']}.\n\n"
            f"*Verdict:* **{row['verdict']}** at a one-point drop; {row['2 pt']} at two "
            f"points, {row['5 pt']} at five, {row['AUC']} by AUC.{sens}"
            + (f" Tally ({tallies})." if tallies else "") + f"\n\n*Numbers (one point):* "
            f"{row['numbers']}")
