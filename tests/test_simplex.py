"""The compiled transportation simplex (curvature.simplex) against POT's network simplex."""
import numpy as np
import ot
import pytest

from ncurv_lib.curvature import simplex


def _problem(rng, n, m, kind):
    """Masses (equal sums) and costs of one of several kinds, degenerate ones included."""
    if kind == "uniform":                       # ties in every mass: degenerate pivots
        a, b = np.full(n, 1.0 / n), np.full(m, 1.0 / m)
    else:
        a, b = rng.random(n), rng.random(m)
        a, b = a / a.sum(), b / b.sum()
    if kind == "integer":                       # many equal costs
        c = -rng.integers(0, 4, size=(n, m)).astype(float)
    elif kind == "reduced":                     # like the curvature's: <= 0, dummy row/column
        c = np.minimum(rng.normal(size=(n, m)), 0.0)
        c[-1, :] = 0.0
        c[:, -1] = 0.0
    else:
        c = rng.normal(size=(n, m)) * 3
    return a, b, c


@pytest.mark.parametrize("kind", ["random", "uniform", "integer", "reduced"])
def test_value_equals_pot(kind):
    rng = np.random.default_rng({"random": 0, "uniform": 1, "integer": 2, "reduced": 3}[kind])
    worst = 0.0
    for _ in range(150):
        n, m = rng.integers(1, 40, size=2)
        a, b, c = _problem(rng, int(n), int(m), kind)
        value, ok = simplex.transport_value(a, b, c)
        assert ok
        want = ot.emd2(a, b, c - c.min(), numItermax=10_000_000) + c.min()
        worst = max(worst, abs(value - want))
    assert worst <= 1e-12


def test_hand_checked_values():
    a = np.array([0.5, 0.5])
    c = np.array([[-1.0, 0.0], [0.0, -3.0]])
    assert simplex.transport_value(a, a, c) == (-2.0, True)
    # one row: everything goes to the columns at their own costs
    value, ok = simplex.transport_value(np.array([1.0]), np.array([0.25, 0.75]),
                                        np.array([[2.0, -4.0]]))
    assert ok and value == pytest.approx(0.25 * 2.0 - 0.75 * 4.0, abs=1e-15)


def test_pivot_cap_reports_failure_with_a_feasible_value():
    """With no pivot allowed, the start (least-cost) plan is returned, flagged not
    optimal where it is not, and never below the optimum."""
    rng = np.random.default_rng(7)
    flagged = 0
    for _ in range(50):
        a, b, c = _problem(rng, 12, 9, "random")
        best, _ = simplex.transport_value(a, b, c)
        value, ok = simplex.transport_value(a, b, c, 0)
        assert value >= best - 1e-12
        flagged += not ok
        if ok:
            assert value == pytest.approx(best, abs=1e-12)
    assert flagged > 25


def test_plan_stops_at_the_first_plan_costing_at_most_enough():
    """transport_plan with a threshold between the start plan's cost and the optimum
    stops early at a feasible plan's cost in [optimum, enough]; below the optimum it
    runs to the optimum, as transport_value does; -inf never stops."""
    rng = np.random.default_rng(11)
    early = 0
    for _ in range(60):
        a, b, c = _problem(rng, 30, 25, "reduced")
        best, _ = simplex.transport_value(a, b, c)
        start, _ = simplex.transport_value(a, b, c, 0)
        assert simplex.transport_plan(a, b, c, -1, -np.inf) == (best, simplex.OPTIMAL)
        value, status = simplex.transport_plan(a, b, c, -1, best - 1e-3)
        assert (value, status) == (best, simplex.OPTIMAL)
        enough = best + 0.5 * (start - best)
        value, status = simplex.transport_plan(a, b, c, -1, enough)
        if status == simplex.ENOUGH:
            early += 1
            assert best - 1e-12 <= value <= enough
        else:
            assert status == simplex.OPTIMAL and value == pytest.approx(best, abs=1e-12)
    assert early > 40


def test_absent_cells_partial_plan_equals_the_reduced_problem():
    """Costs <= 0 with a dummy row/column at 0 (the curvature's reduced problems): the
    optimum equals the best partial plan on the negative cells alone, posed with the
    other cells absent (+inf), a dummy column / row holding the other side's mass
    plus as much again to spare (as kernels._solve_block poses it)."""
    rng = np.random.default_rng(7)
    worst, absent = 0.0, 0
    for _ in range(150):
        n, m = (int(k) for k in rng.integers(2, 40, size=2))
        spread = 1 + 19 * (rng.random() < 0.5)        # half with masses far apart
        a, b = rng.random(n + 1) ** spread, rng.random(m + 1) ** spread
        a, b = a / a.sum(), b / b.sum()
        c = np.minimum(rng.normal(size=(n, m)), 0.0) * (rng.random((n, m)) < 0.6)
        full = np.zeros((n + 1, m + 1))
        full[:n, :m] = c
        want = ot.emd2(a, b, full - full.min(), numItermax=10_000_000) + full.min()
        posed = np.zeros((n + 1, m + 1))
        posed[:n, :m] = np.where(c < 0, c, np.inf)
        spare = a[:n].sum() + b[:m].sum()
        rows = np.append(a[:n], b[:m].sum() + spare)
        cols = np.append(b[:m], a[:n].sum() + spare)
        total = rows.sum()
        value, status = simplex.transport_plan(rows / total, cols / total, posed, -1, -np.inf)
        assert status == simplex.OPTIMAL
        worst = max(worst, abs(value * total - want))
        absent += (c == 0).any()
    assert worst <= 1e-12 and absent > 100
