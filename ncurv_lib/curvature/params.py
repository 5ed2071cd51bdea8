"""Aggregation to parameters (Algorithm 1): the exact minimum curvature of each weight.

A parameter's score is the minimum of :math:`\\kappa` over the calibration
examples and the edges it induces. Most edges cannot attain that minimum, so
it is found by branch and bound instead of solving every edge:

1. **Bounds.** Every edge of every example gets the cheap lower bound
   :math:`\\kappa \\ge 1 - (\\langle\\mu, A\\rangle + \\langle\\nu, B\\rangle - D)/D`
   (the reduced transport term is never positive; no three-hop lengths,
   no LP). Special values (Def. 8) and point masses are exact already and seed
   each parameter's best value (which may start from scores of other examples,
   ``upper``).
2. **Refinement.** In rounds, each parameter's candidates with the smallest
   bounds below its current best first get transport bounds (1, 2, 4, ... per
   parameter per round; cheap feasible plans first, tighter ones only while
   the bound is still below the best), then exact values, one per parameter
   per round (an LP stops early once a plan shows that its edge cannot go
   below the best); their values lower the best, which discards every
   candidate whose bound is not below it. Each parameter's candidate with the
   smallest cheap bound goes through this first, alone, so that its other
   candidates are pruned against an exact value. When no candidate is left,
   each best value is the exact minimum: any edge not evaluated had a bound,
   hence a value, at least as large.

The result equals the minimum of :func:`.api.edge_curvature` over examples
and edges exactly (same code computes each evaluated edge).

Where a transition's distance tables are shared by all examples (built once
per model: offset tables between convolutions, dense ones when they fit), a
round is one call over the stacked supports of every example. The examples of
the bounds pass and the chunks of each call run on torch's thread count
(:func:`.parallel.map_threads`); :func:`parameter_curvature_chunks` keeps the
model-wide part across chunks of examples. With ``workers`` > 1 the examples
are split over processes (:func:`.parallel.map_parts`), each running
:func:`parameter_curvature` on its part.
"""
import torch
from tqdm import tqdm

from .activations import check_finite, forward_values
from .api import CurvatureConfig, Stats
from .chain import layer_chain
from .core import example_supports, layer_bounds, layer_kappa, prepare_model
from .measures import stack_supports
from .parallel import map_parts, map_threads


def _flat_start(cfg, upper, stage):
    """A weight's scores, flat, of ``cfg.dtype``: ``+inf``, or a copy of ``upper``'s."""
    w = stage.module.weight
    if upper is None:
        return torch.full((w.numel(),), float("inf"), dtype=cfg.dtype, device=cfg.device)
    return upper[f"{stage.name}.weight"].detach().to(device=cfg.device,
                                                      dtype=cfg.dtype).reshape(-1).clone()


def _start(cfg, mdl, upper):
    """Initial best value of every parameter of every transition: +inf, or ``upper``."""
    return [_flat_start(cfg, upper, stage)[:int(tr.param.max()) + 1 if tr.param.numel() else 0]
            for stage, tr in zip(mdl.chain.stages, mdl.trs)]


def _example_bounds(cfg, mdl, n):
    """Supports and, per transition, the cheap bounds (k_lo, exact) of example n, with
    its counters (its own :class:`.api.Stats`, so examples can run on threads)."""
    stats = Stats()
    mu, nu = example_supports(cfg, mdl, n)
    return (mu, nu), [layer_bounds(cfg, mdl, n, t, mu, nu, stats)
                      for t in range(len(mdl.trs))], stats


def _bounds(cfg, mdl, n_examples, stats, progress, upper=None):
    """Pass 1: best exact values per parameter (from ``upper`` if given) and, per
    transition, the open candidates (example, edge, bound) below that best.

    Example 0 runs first (it builds the shared tables), the others in groups on
    torch's number of threads; each group is merged in example order."""
    best = _start(cfg, mdl, upper)
    cands = [[] for _ in mdl.trs]
    supports = []
    threads = max(1, torch.get_num_threads())
    groups = [range(0, min(1, n_examples))] + [range(lo, min(lo + threads, n_examples))
                                                for lo in range(1, n_examples, threads)]
    bar = tqdm(total=n_examples, disable=not progress, desc="curvature bounds", unit="example")
    for group in groups:
        done = map_threads(lambda n: _example_bounds(cfg, mdl, n), list(group))
        for n, (sup, bounds, part) in zip(group, done):
            supports.append(sup)
            stats.merge(part)
            for t, (tr, (k_lo, exact)) in enumerate(zip(mdl.trs, bounds)):
                best[t].scatter_reduce_(0, tr.param[exact], k_lo[exact], "amin")
                e = torch.nonzero(~exact & (k_lo < best[t][tr.param])).squeeze(1)
                cands[t].append((torch.full_like(e, n), e, k_lo[e]))
        bar.update(len(group))
    bar.close()
    return best, cands, supports


def _pick(param, lo, width):
    """Positions of the ``width`` smallest bounds of each parameter."""
    order = torch.argsort(lo, stable=True)
    order = order[torch.argsort(param[order], stable=True)]
    p = param[order]
    start = torch.ones_like(p, dtype=torch.bool)
    start[1:] = p[1:] != p[:-1]
    first = torch.cummax(torch.where(start, torch.arange(p.numel()), 0), 0).values
    return order[torch.arange(p.numel()) - first < width]


def _evaluate(cfg, mdl, t, n, sel, solve, sups, stats, need=None):
    """Curvature bounds of edges ``sel`` of transition t on example n (or examples ``n``,
    one per edge, with ``sups`` stacked) given supports ``sups`` = (mu, nu), tightened
    only until they reach ``need``, their parameters' best: exact values if
    ``solve`` (an LP stops at the first plan showing that its edge's value is at
    least ``need``), else transport bounds without LPs."""
    quiet = Stats()
    k_lo, k_hi, pending = layer_kappa(cfg, mdl, n, t, *sups, quiet, edges=sel, solve=solve,
                                      need=need)
    stats.lps += quiet.lps
    stats.bounded += 0 if solve else sel.numel()
    if solve:
        stats.evaluated += sel.numel()
        stats.not_closed += quiet.not_closed
    return k_lo, k_hi, pending


def _stacked(mdl, t, supports):
    """The supports of transition t stacked over the examples, as the (mu, nu) that
    :func:`.core.layer_kappa` indexes, or None when its tables are not shared by all
    examples (then each example is evaluated on its own)."""
    if t not in mdl.tables or len(supports) < 2:
        return None
    stack = lambda sups: None if sups[0] is None else stack_supports(sups)
    out = ({t: stack([s[0][t] for s in supports])},
           {t + 1: stack([s[1][t + 1] for s in supports])})
    _release(supports, t)                   # the stacked copy replaces the examples'
    return out


def _release(supports, t):
    """Drop the examples' supports that only transition t uses (mu of layer t, nu of
    layer t + 1)."""
    for mu, nu in supports:
        mu[t] = nu[t + 1] = None


def _groups(n_ex, pick, supports, stacked):
    """(examples, positions, supports) of one round's calls: one call for all picked
    candidates when ``stacked``, else one per example."""
    if stacked is not None:
        return [(n_ex[pick], pick, stacked)]
    return [(n, pick[n_ex[pick] == n], supports[n]) for n in torch.unique(n_ex[pick]).tolist()]


def _rounds(cfg, mdl, t, best, cand, supports, stats, solve, stacked=None):
    """Evaluate candidates in rounds, smallest bound first, until none is below its
    parameter's best. Without ``solve``, the transport bounds replace each cheap
    bound (their upper bound lowers the best) and the candidates still open are
    returned; with ``solve``, one exact value per parameter per round. ``stacked``:
    see :func:`_stacked`."""
    tr = mdl.trs[t]
    n_ex, edges, lo = cand
    width, left = 1, []
    while True:
        keep = lo < best[tr.param[edges]]
        n_ex, edges, lo = n_ex[keep], edges[keep], lo[keep]
        if not edges.numel():
            break
        pick = _pick(tr.param[edges], lo, width)
        done = torch.zeros(edges.numel(), dtype=torch.bool)
        for n, at, sups in _groups(n_ex, pick, supports, stacked):
            need = best[tr.param[edges[at]]]
            k_lo, k_hi, pending = _evaluate(cfg, mdl, t, n, edges[at], solve, sups, stats, need)
            best.scatter_reduce_(0, tr.param[edges[at]], k_hi, "amin")
            lo[at] = k_lo
            done[at] = True
            if not solve:
                left.append((n_ex[at][pending], edges[at][pending], k_lo[pending]))
        n_ex, edges, lo = n_ex[~done], edges[~done], lo[~done]
        width = width if solve else 2 * width
    return tuple(torch.cat(z) for z in zip(*left)) if left else None


def _refine(cfg, mdl, t, best, cand, supports, stats):
    """Transport bounds for the open candidates of transition t (no LP), then
    exact values for those whose bound is still below their parameter's best;
    each parameter's likeliest minimum first (:func:`_seed`)."""
    stacked = _stacked(mdl, t, supports)
    cand = tuple(torch.cat(z) for z in zip(*cand))
    for part in _seed(mdl.trs[t].param, best, cand):
        left = _rounds(cfg, mdl, t, best, part, supports, stats, solve=False, stacked=stacked)
        if left is not None:
            _rounds(cfg, mdl, t, best, left, supports, stats, solve=True, stacked=stacked)


def _seed(param, best, cand):
    """The open candidates in two parts, refined one after the other: first each
    parameter's one with the smallest cheap bound (the likeliest minimum), then the
    others, which are then pruned against an exact value rather than a dual bound."""
    n_ex, edges, lo = cand
    keep = lo < best[param[edges]]
    n_ex, edges, lo = n_ex[keep], edges[keep], lo[keep]
    first = torch.zeros(edges.numel(), dtype=torch.bool)
    first[_pick(param[edges], lo, 1)] = True
    return (n_ex[first], edges[first], lo[first]), (n_ex[~first], edges[~first], lo[~first])


def parameter_curvature(model, x, cfg=None, *, progress=False, stats=None, upper=None,
                        workers=1):
    """Score of every Linear/Conv2d weight: min curvature over examples and edges (Alg. 1).

    Exact (equal to the minimum of :func:`edge_curvature`), computed by branch
    and bound: see the module docstring.

    Parameters
    ----------
    model : torch.nn.Sequential
    x : (N, *input_shape) tensor
        Calibration inputs, transformed as the model sees them.
    cfg : CurvatureConfig, optional
    progress : bool
        Progress bars over examples and transitions.
    stats : Stats, optional
        Filled with counters (edges, special values, exact evaluations, LPs).
    upper : dict[str, torch.Tensor], optional
        Scores of the same keys and shapes known from other examples (e.g. an
        earlier chunk of the calibration set). The result is then the exact
        elementwise minimum of ``upper`` and this call's scores, and edges
        whose bound is not below ``upper`` are never evaluated.
    workers : int
        Processes to split the examples over (:func:`.parallel.map_parts`, started
        with ``spawn``; 1: this process). The result is the same for every value.

    Returns
    -------
    dict[str, torch.Tensor]
        ``"<module>.weight"`` -> tensor of the weight's shape, of ``cfg.dtype``
        (float64); ``+inf`` where the parameter induces no edge.
    """
    cfg = cfg or CurvatureConfig()
    stats = stats if stats is not None else Stats()
    _check_positive_int("workers", workers)
    if workers > 1 and x.shape[0] > 1:
        # the workers prepare the model; here only what makes their input invalid
        chain = layer_chain(model)
        check_finite(chain, x)
        forward_values(chain, x[:1])
        _check_upper(chain, upper)
        return _parallel(model, x, cfg, workers, progress, stats, upper)
    mdl = prepare_model(model, x, cfg)
    _check_upper(mdl.chain, upper)
    return _scores(cfg, mdl, x.shape[0], stats, progress, upper)


def _part_scores(x, model, cfg, upper):
    """Worker of :func:`_parallel` (module level: pickled by reference under ``spawn``):
    scores and counters of one part of the examples, in this process."""
    stats = Stats()
    return parameter_curvature(model, x, cfg, stats=stats, upper=upper), stats


def _parallel(model, x, cfg, workers, progress, stats, upper):
    """:func:`parameter_curvature` of ``x`` split into ``workers`` parts, each in a
    spawned process (:func:`.parallel.map_parts`); the elementwise minimum of their
    scores (exact). ``stats`` receives the sum of the parts' counters; an error in a
    part (bad input) is raised here."""
    out = None
    for scores, part_stats in map_parts(_part_scores, x, workers, (model, cfg, upper),
                                        progress=progress, desc="curvature parts"):
        out = scores if out is None else {k: torch.minimum(out[k], v) for k, v in scores.items()}
        stats.merge(part_stats)
    return out


def _scores(cfg, mdl, n_examples, stats, progress, upper):
    """parameter_curvature of the examples prepared in ``mdl``."""
    best, cands, supports = _bounds(cfg, mdl, n_examples, stats, progress, upper)
    for t in tqdm(range(len(mdl.trs)), disable=not progress, desc="exact minima", unit="layer"):
        if any(c[1].numel() for c in cands[t]):
            _refine(cfg, mdl, t, best[t], cands[t], supports, stats)
        _release(supports, t)
        cands[t] = None
    out = {}
    for t, stage in enumerate(mdl.chain.stages):
        full = _flat_start(cfg, upper, stage)
        full[:best[t].numel()] = best[t]
        out[f"{stage.name}.weight"] = full.view(stage.module.weight.shape)
    return out


def parameter_curvature_chunks(model, x, cfg=None, *, chunk, progress=False, stats=None,
                               upper=None, workers=1):
    """:func:`parameter_curvature` of ``x`` in chunks of ``chunk`` examples, each chunk
    starting from the minimum of those before it (and ``upper``).

    Less memory than one call (a chunk's neighbour supports are freed before the
    next); the layer chain, transitions and shared distance tables are built once
    for all chunks (with ``workers`` > 1 each chunk's processes build their own).

    Yields
    ------
    (done, scores)
        Examples done so far and the exact minimum over them (and ``upper``), after
        each chunk: a caller may save it and resume with ``x[done:]`` and
        ``upper=scores``.
    """
    cfg = cfg or CurvatureConfig()
    stats = stats if stats is not None else Stats()
    _check_positive_int("chunk", chunk)
    _check_positive_int("workers", workers)
    mdl = None
    for lo in range(0, x.shape[0], chunk):
        part = x[lo:lo + chunk]
        if workers > 1:
            upper = parameter_curvature(model, part, cfg, progress=progress, stats=stats,
                                        upper=upper, workers=workers)
        else:
            mdl = prepare_model(model, part, cfg, like=mdl)
            _check_upper(mdl.chain, upper)
            upper = _scores(cfg, mdl, part.shape[0], stats, progress, upper)
        yield lo + part.shape[0], upper


def _check_positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")


def _check_upper(chain, upper):
    """``upper`` must hold every weight's key with the weight's shape, and no NaN."""
    if upper is None:
        return
    for stage in chain.stages:
        key, shape = f"{stage.name}.weight", stage.module.weight.shape
        if key not in upper:
            raise ValueError(f"upper lacks {key!r}")
        if tuple(upper[key].shape) != tuple(shape):
            raise ValueError(f"upper[{key!r}] has shape {tuple(upper[key].shape)}, "
                             f"the weight {tuple(shape)}")
        if torch.isnan(upper[key]).any():
            raise ValueError(f"upper[{key!r}] contains NaN")
