"""Speed of the curvature engine: ``python -m ncurv_lib.bench [--quick]``.

Prints one row per case: model, examples, edges, LPs solved, closed-form
share, wall time, edges/s, peak memory (process peak RSS) and the ratio to a
full-LP baseline measured in the same process. The baseline solves, for a
random sample of edges, the complete alpha-lazy transport problem (``ot.emd2``
on :math:`m_u^{0.9}, m_v^{0.9}` with every neighbour and the full ground-cost
matrix; the shortest paths are taken from the engine's shared tables and not
timed), and is extrapolated to all edges of the case.

Cases: LeNet5-small on MNIST calibration examples (the cached ``cpu``-preset
model when it exists, else a randomly initialised one, as the table says) and
VGG9 at widths 0.5 and 1 on CIFAR-10 calibration examples. Every row runs the
exact :func:`parameter_curvature` (branch and bound, one-off path tables
included); VGG9 rows compute ``--vgg-measured`` examples and scale counts and
time linearly to ``--vgg-examples`` (an over-estimate, since the bound prunes
more as examples accumulate), and say so.

With ``--cache`` the rows are read from, or written to, the artifact cache
(:func:`cached_bench`: ``<cache_root>/bench/<hash>.json``, keyed by the options,
the engine version, the models used and the machine); ``--out FILE`` also writes
them to ``FILE`` as JSON. The printed table is the same either way.
"""
import argparse
import dataclasses
import json
import os
import resource
import sys
import time
import warnings
from dataclasses import dataclass
from typing import Optional

import numpy as np
import ot
import torch

from .curvature import CONVENTIONS, CurvatureConfig, Stats, parameter_curvature
from .curvature.core import edge_setup, example_supports, prepare_model
from .curvature.problem import edge_problems
from .models import lenet5_small, vgg9


def _peak_mib(workers=1):
    """Peak RSS of this process, plus ``workers`` times the largest of its finished
    worker processes' (an upper bound on their peak together)."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss if workers > 1 else 0
    return (own + workers * child) / 1024.0


BENCH_VERSION = 1
# The authors' engine on this project's 2-core machine: seconds per LeNet5-small example
# (measured by this project, paper convention, one example at a time).
AUTHORS_S_PER_LENET5_EXAMPLE = (25.0, 37.0)
# The engine's targets: (model label of a row, examples, budget in seconds).
TARGETS = (("LeNet5-small", 100, 10.0), ("VGG9 width 1", 10, 15 * 60.0))


@dataclass(frozen=True)
class BenchOptions:
    """Every option of a benchmark run (the CLI's flags)."""
    cases: tuple = ("lenet5", "vgg9-0.5", "vgg9-1")
    quick: bool = False
    lenet_examples: int = 100
    vgg_examples: int = 10
    vgg_measured: int = 1
    baseline_edges: int = 20
    convention: str = "paper"
    seed: int = 0
    workers: int = 1
    chunk: Optional[int] = None  # None: one call on all examples; 0: the CLI's chunks; k: k each

    def effective(self) -> "BenchOptions":
        """The options ``quick`` stands for: LeNet5 only, 1 example, 3 baseline edges."""
        cases = tuple(self.cases.split(",")) if isinstance(self.cases, str) else tuple(self.cases)
        if not self.quick:
            return dataclasses.replace(self, cases=cases)
        return dataclasses.replace(self, cases=("lenet5",), quick=False, lenet_examples=1,
                                   baseline_edges=3)


def _case_model(case):
    """(dataset, model name, width) of a case name."""
    if case == "lenet5":
        return "mnist", "lenet5", 1.0
    if case.startswith("vgg9-"):
        return "cifar10", "vgg9", float(case.split("-", 1)[1])
    raise SystemExit(f"unknown case {case!r}")


def _trained_config(dataset, model_name, width):
    """The cached ``cpu``-preset model's configuration, or ``None`` when not trained."""
    try:
        from . import train
        cfg = train.TrainConfig.preset(dataset, model_name, "relu", "ce", "cpu", width=width)
        return cfg if train.cached_info(cfg) is not None else None
    except Exception:  # the training module or its cache is not usable here
        return None


def _inputs(dataset, model_name, n, width, seed):
    """(model, x, note): trained cached model + calibration set when available."""
    note = []
    model = None
    cfg = _trained_config(dataset, model_name, width)
    if cfg is not None:
        try:
            from . import train
            model, _ = train.load_or_train(cfg, progress=False)
            note.append("trained")
        except Exception as err:  # a corrupt checkpoint: benchmark a random model
            note.append(f"no trained model ({type(err).__name__})")
    if model is None:
        torch.manual_seed(seed)
        model = lenet5_small() if model_name == "lenet5" else vgg9(width=width)
        model.eval()
        note.append("random init")
    try:
        from . import data
        if "trained" in note:
            x, _ = data.calibration_set(model, dataset, k=max(1, n // 10))
        else:
            x, _ = data.load_split(dataset, "val")
        x = x[:n]
        note.append(f"{dataset} {'calibration' if 'trained' in note else 'val'} inputs")
    except Exception as err:
        warnings.warn(f"{dataset} data not found ({type(err).__name__}: {err}); benchmarking "
                      f"random inputs (set NCURV_DATA to the data folder)", stacklevel=2)
        gen = torch.Generator().manual_seed(seed)
        shape = (1, 28, 28) if dataset == "mnist" else (3, 32, 32)
        x = torch.rand((n, *shape), generator=gen)
        note.append(f"random inputs ({type(err).__name__})")
    return model, x, ", ".join(note)


def _baseline_seconds_per_edge(mdl, cfg, n_samples, seed):
    """Mean time of one full alpha-lazy LP over sampled regular edges of example 0.

    Each sampled edge's problem is an :class:`~ncurv_lib.curvature.problem.EdgeProblem`
    with every neighbour kept (``mass_tol=0``), formed from the engine's min-plus
    tables, costs and masses before the timing (as the engine's own shortest paths
    are); the timed part per edge is the LP: ``ot.emd2`` on
    :math:`m_u^{0.9}, m_v^{0.9}` and the full ground costs (no path: 1000 times the
    largest finite cost), with the conversion of its cost matrix.
    """
    gen = torch.Generator().manual_seed(seed)
    full = CurvatureConfig(convention=cfg.convention, mass_tol=0.0)
    mu, nu = example_supports(full, mdl, 0)
    times = []
    for t in range(1, len(mdl.trs) - 1):
        tr = mdl.trs[t]
        d = edge_setup(full, mdl, 0, t).d
        reg = torch.nonzero(torch.isfinite(d) & ~mu[t].delta[tr.src]
                            & ~nu[t + 1].delta[tr.dst]).squeeze(1)
        if not reg.numel():
            continue
        pick = reg[torch.randperm(reg.numel(), generator=gen)[:n_samples]]
        problems = edge_problems(full, mdl, 0, t, pick, mu, nu)
        for _ in range(pick.numel()):
            prob = next(problems)
            tic = time.perf_counter()
            cost = prob.cost.numpy()
            cost = np.where(np.isfinite(cost), cost, 1e3 * cost[np.isfinite(cost)].max())
            ma, mb = prob.lazy_masses(0.9)
            ot.emd2(ma.numpy(), mb.numpy(), cost, numItermax=10_000_000)
            times.append(time.perf_counter() - tic)
    return float(np.mean(times)) if times else float("nan")


def _row(name, note, n_ex, stats, seconds, base_per_edge, extrapolated=False, workers=1):
    regular = stats.edges - stats.special
    no_lp = 1.0 - stats.lps / regular if regular else 1.0
    note += (f"; special values on {stats.special / max(stats.edges, 1):.0%} of edges; "
             "closed-form share = other edges settled without an LP")
    if workers > 1:
        note += (f"; examples split over {workers} worker processes (time includes "
                 "starting them; peak memory counts each worker at the largest's peak)")
    base = base_per_edge * stats.edges
    return dict(model=name, examples=n_ex, edges=stats.edges, lps=stats.lps,
                closed_share=no_lp, seconds=seconds, edges_per_s=stats.edges / seconds,
                peak_mib=_peak_mib(workers), ratio=base / seconds if seconds else float("nan"),
                baseline_s=base, extrapolated=extrapolated,
                note=note + ("; EXTRAPOLATED" if extrapolated else ""))


def _scores(model, x, cfg, stats, workers, chunk):
    """``parameter_curvature`` of ``x`` in one call (``chunk`` None) or, as the CLI
    computes a model's scores, in chunks of examples (:func:`.scores.chunk_size`),
    each starting from the minimum of those before it (less memory: a chunk's
    neighbour supports are freed before the next).
    Returns the examples per chunk (None: one call)."""
    if chunk is None:
        parameter_curvature(model, x, cfg, stats=stats, workers=workers)
        return None
    from .scores import chunk_size
    from .curvature.params import parameter_curvature_chunks
    step = chunk_size(model, x, chunk, workers)
    for _ in parameter_curvature_chunks(model, x, cfg, chunk=step, stats=stats,
                                        workers=workers):
        pass
    return step


def bench_full(name, model, x, note, cfg, base_samples, seed, n_report=None, workers=1,
               chunk=None):
    """Exact ``parameter_curvature`` on all of ``x`` (in chunks of examples unless
    ``chunk`` is None); with ``n_report`` > len(x), the
    counts and time are scaled linearly to ``n_report`` examples (an over-estimate:
    the branch and bound prunes more as examples accumulate) and the row says so."""
    stats = Stats()
    tic = time.perf_counter()
    step = _scores(model, x, cfg, stats, workers, chunk)
    seconds = time.perf_counter() - tic
    if step is not None:
        note += f"; in chunks of {step} example(s)"
    mdl = prepare_model(model, x[:1])
    base = _baseline_seconds_per_edge(mdl, cfg, base_samples, seed)
    n = x.shape[0]
    if n_report is None or n_report <= n:
        return _row(name, note, n, stats, seconds, base, workers=workers)
    k = n_report / n
    scaled = Stats(edges=int(stats.edges * k), special=int(stats.special * k),
                     lps=int(stats.lps * k))
    return _row(name, note + f"; measured on {n} example(s), scaled x{k:g}", n_report, scaled,
                seconds * k, base, extrapolated=True, workers=workers)


def format_table(rows):
    """Markdown table of benchmark rows."""
    head = ("| model | examples | edges | LPs solved | closed-form share | wall s | edges/s "
            "| peak MiB | full-LP baseline / engine | note |")
    lines = [head, "|" + "---|" * 10]
    for r in rows:
        lines.append(f"| {r['model']} | {r['examples']} | {r['edges']:,} | {r['lps']:,} | "
                     f"{r['closed_share']:.1%} | {r['seconds']:.1f} | {r['edges_per_s']:,.0f} | "
                     f"{r['peak_mib']:.0f} | {r['ratio']:.1f}x | {r['note']} |")
    return "\n".join(lines)


def add_arguments(parser):
    parser.add_argument("--quick", action=argparse.BooleanOptionalAction, default=False,
                        help="short run: LeNet5-small only, 1 example, 3 baseline edges")
    parser.add_argument("--cases", default="lenet5,vgg9-0.5,vgg9-1",
                        help="comma-separated: lenet5, vgg9-0.5, vgg9-1")
    parser.add_argument("--lenet-examples", type=int, default=100)
    parser.add_argument("--vgg-examples", type=int, default=10)
    parser.add_argument("--vgg-measured", type=int, default=1,
                        help="VGG9 examples actually computed (scaled up to --vgg-examples)")
    parser.add_argument("--baseline-edges", type=int, default=20)
    parser.add_argument("--convention", default="paper", choices=CONVENTIONS)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=1,
                        help="processes the examples are split over (parameter_curvature's "
                             "workers; time includes starting them)")
    parser.add_argument("--chunk", type=int, default=None,
                        help="examples per chunk, each starting from the scores of those "
                             "before it, as `python -m ncurv_lib curvature` runs (0: its "
                             "automatic size; default: one call on all examples)")
    parser.add_argument("--cache", action=argparse.BooleanOptionalAction, default=False,
                        help="read/write the rows in <cache_root>/bench/<hash>.json")
    parser.add_argument("--recompute", action="store_true",
                        help="with --cache: ignore a cached result")
    parser.add_argument("--out", default=None, metavar="FILE",
                        help="also write the rows (and their key) to FILE as JSON")


def _case_row(case, opts, cfg):
    """One benchmark row of ``case`` (``lenet5`` or ``vgg9-<width>``)."""
    dataset, model_name, width = _case_model(case)
    if model_name == "lenet5":
        model, x, note = _inputs(dataset, model_name, opts.lenet_examples, width, opts.seed)
        return bench_full("LeNet5-small", model, x, note, cfg, opts.baseline_edges, opts.seed,
                          workers=opts.workers, chunk=opts.chunk)
    model, x, note = _inputs(dataset, model_name, opts.vgg_examples, width, opts.seed)
    return bench_full(f"VGG9 width {width:g}", model, x[:opts.vgg_measured], note, cfg,
                      opts.baseline_edges, opts.seed, n_report=opts.vgg_examples,
                      workers=opts.workers, chunk=opts.chunk)


def run_bench(opts: BenchOptions, progress=None) -> list:
    """The benchmark rows of ``opts`` (computed now); ``progress(row)`` after each."""
    opts = opts.effective()
    cfg = CurvatureConfig(convention=opts.convention)
    rows = []
    for case in opts.cases:
        rows.append(_case_row(case, opts, cfg))
        if progress is not None:
            progress(rows[-1])
    return rows


def machine() -> dict:
    """The machine a benchmark ran on: CPU model, core count, torch version and threads."""
    from .report import cpu_model
    return {"cpu": cpu_model(), "cores": os.cpu_count(), "torch": torch.__version__,
            "torch_threads": torch.get_num_threads()}


def _key_options(opts):
    """The options in a key; ``chunk`` only when set (records from before it keep
    their keys)."""
    out = dataclasses.asdict(opts)
    if out["chunk"] is None:
        del out["chunk"]
    return out


def bench_key(opts: BenchOptions) -> dict:
    """The cache key of a benchmark: options, engine version, models used, machine.

    A case's model is the cached ``cpu``-preset model's configuration hash, or
    ``"random init"`` while it is not trained (so training it changes the key).
    """
    from .cache import canonical_json, config_hash
    from .scores import ENGINE_VERSION
    opts = opts.effective()
    models = {}
    for case in opts.cases:
        cfg = _trained_config(*_case_model(case))
        models[case] = config_hash(cfg) if cfg is not None else "random init"
    key = {"kind": "bench", "bench": BENCH_VERSION, "engine": ENGINE_VERSION,
           "options": _key_options(opts), "models": models, "machine": machine()}
    return json.loads(canonical_json(key))  # as the JSON file holds it (lists, not tuples)


def cached_bench(cases=BenchOptions.cases, recompute=False, progress=None, **options) -> dict:
    """Benchmark rows, computed once and cached as ``<cache_root>/bench/<hash>.json``.

    Parameters
    ----------
    cases : str or sequence of str
        ``lenet5``, ``vgg9-<width>`` (a comma-separated string or a sequence).
    recompute : bool
        Ignore a cached result.
    progress : callable, optional
        Called with each row computed (not with cached ones).
    **options
        Other fields of :class:`BenchOptions` (``quick``, ``lenet_examples`` ...).

    Returns
    -------
    dict
        ``key`` (:func:`bench_key`), ``rows`` (list of row dicts), ``path`` and
        ``cached`` (whether the rows were read from the cache).
    """
    from .cache import artifact_path, atomic_write_json
    opts = BenchOptions(cases=cases, **options)
    key = bench_key(opts)
    path = artifact_path("bench", key, "json")
    if path.exists() and not recompute:
        try:
            record = json.loads(path.read_text())
            if record.get("key") == key:
                return {**record, "path": str(path), "cached": True}
        except (OSError, ValueError):  # unreadable: recompute it
            pass
    record = {"key": key, "rows": run_bench(opts, progress=progress)}
    atomic_write_json(path, record)
    return {**record, "path": str(path), "cached": False}


def check_targets(rows, targets=TARGETS) -> list:
    """Each target against the rows that measure it.

    Parameters
    ----------
    rows : list of dict
        Benchmark rows (:func:`run_bench`).
    targets : sequence of (model, examples, seconds)

    Returns
    -------
    list of dict
        ``model``, ``examples``, ``budget_s``, ``seconds`` (of the matching row,
        ``None`` when no row has that model and example count), ``extrapolated``
        and ``met`` (``None`` when not measured).
    """
    out = []
    for model, examples, budget in targets:
        row = next((r for r in rows if r["model"] == model and r["examples"] == examples), None)
        seconds = None if row is None else row["seconds"]
        out.append(dict(model=model, examples=examples, budget_s=budget, seconds=seconds,
                        extrapolated=None if row is None else bool(row.get("extrapolated")),
                        met=None if row is None else seconds <= budget))
    return out


def _print_row(row):
    print(format_table([row]).splitlines()[-1], flush=True)


def run(args) -> int:
    fields = {f.name for f in dataclasses.fields(BenchOptions)}
    opts = {k: v for k, v in vars(args).items() if k in fields}
    if args.cache:
        record = cached_bench(recompute=args.recompute, progress=_print_row, **opts)
        if record["cached"]:
            print(f"(read from {record['path']})", file=sys.stderr)
    else:
        record = {"key": bench_key(BenchOptions(**opts)),
                  "rows": run_bench(BenchOptions(**opts), progress=_print_row)}
    if args.out:
        from .cache import atomic_write_json
        atomic_write_json(args.out, {"key": record["key"], "rows": record["rows"]})
    print()
    print(format_table(record["rows"]))
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ncurv_lib.bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
