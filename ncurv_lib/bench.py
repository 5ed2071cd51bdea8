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
"""
import argparse
import resource
import time

import numpy as np
import ot
import torch

from .curvature import CurvatureConfig, parameter_curvature
from .curvature import api as A
from .curvature import edges as E
from .models import lenet5_small, vgg9


def _peak_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _inputs(dataset, model_name, n, width, seed):
    """(model, x, note): trained cached model + calibration set when available."""
    note = []
    model = None
    try:
        from . import train
        cfg = train.TrainConfig.preset(dataset, model_name, "relu", "ce", "cpu", width=width)
        if train.cached_info(cfg) is not None:
            model, _ = train.load_or_train(cfg, progress=False)
            note.append("trained")
    except Exception as err:  # the training module or its cache is not usable here
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
        gen = torch.Generator().manual_seed(seed)
        shape = (1, 28, 28) if dataset == "mnist" else (3, 32, 32)
        x = torch.rand((n, *shape), generator=gen)
        note.append(f"random inputs ({type(err).__name__})")
    return model, x, ", ".join(note)


def _baseline_seconds_per_edge(mdl, cfg, n_samples, seed):
    """Mean time of one full alpha-lazy LP over sampled regular edges of example 0."""
    gen = torch.Generator().manual_seed(seed)
    full = CurvatureConfig(convention=cfg.convention, mass_tol=0.0)
    mu, nu = A._supports(full, mdl.trs, mdl.xs, 0)
    times, n_t = [], len(mdl.trs)
    for t in range(1, n_t - 1):
        tr = mdl.trs[t]
        bu, bv = mdl.fw.beta[t][0][tr.src], mdl.fw.beta[t + 1][0][tr.dst]
        d = A._edge_costs(full, mdl.chain.activation, tr, bu, bv, True, t + 1 < n_t)
        reg = torch.nonzero(torch.isfinite(d) & ~mu[t].delta[tr.src]
                            & ~nu[t + 1].delta[tr.dst]).squeeze(1)
        if not reg.numel():
            continue
        pick = reg[torch.randperm(reg.numel(), generator=gen)[:n_samples]]
        tab = A._tables(full, mdl.trs, t, mu[t], nu[t + 1], tr.src[pick], tr.dst[pick])
        for e in pick.tolist():
            u, v, de = tr.src[e:e + 1], tr.dst[e:e + 1], d[e:e + 1]
            kp, ks = mu[t].idx.shape[1], nu[t + 1].idx.shape[1]
            pm, pw, pid, _ = E._side(mu[t], u, kp)
            sm, sw, sid, _ = E._side(nu[t + 1], v, ks)
            a = E._a_values(tab, pid, pw, u, v, de, True)[0]
            b = E._b_values(tab, sid, sw, u, v, de, True)[0]
            c3 = E._c3_values(tab, pid, sid, pw, b[None], u, True)[0]
            pk, sk = pm[0] > 0, sm[0] > 0
            tic = time.perf_counter()
            cost = np.zeros((1 + int(pk.sum()), 1 + int(sk.sum())))
            cost[0, 0] = de.item()
            cost[0, 1:], cost[1:, 0] = b[sk].numpy(), a[pk].numpy()
            cost[1:, 1:] = c3[pk][:, sk].numpy()
            cost = np.where(np.isfinite(cost), cost, 1e3 * cost[np.isfinite(cost)].max())
            ma = np.concatenate([[0.9], 0.1 * pm[0][pk].numpy()])
            mb = np.concatenate([[0.9], 0.1 * sm[0][sk].numpy()])
            ot.emd2(ma / ma.sum(), mb / mb.sum(), cost, numItermax=10_000_000)
            times.append(time.perf_counter() - tic)
    return float(np.mean(times)) if times else float("nan")


def _row(name, note, n_ex, stats, seconds, base_per_edge, extrapolated=False):
    regular = stats.edges - stats.special
    no_lp = 1.0 - stats.lps / regular if regular else 1.0
    note += (f"; special values on {stats.special / max(stats.edges, 1):.0%} of edges; "
             "closed-form share = other edges settled without an LP")
    base = base_per_edge * stats.edges
    return dict(model=name, examples=n_ex, edges=stats.edges, lps=stats.lps,
                closed_share=no_lp, seconds=seconds, edges_per_s=stats.edges / seconds,
                peak_mib=_peak_mib(), ratio=base / seconds if seconds else float("nan"),
                note=note + ("; EXTRAPOLATED" if extrapolated else ""))


def bench_full(name, model, x, note, cfg, base_samples, seed, n_report=None):
    """Exact ``parameter_curvature`` on all of ``x``; with ``n_report`` > len(x), the
    counts and time are scaled linearly to ``n_report`` examples (an over-estimate:
    the branch and bound prunes more as examples accumulate) and the row says so."""
    stats = A.Stats()
    tic = time.perf_counter()
    parameter_curvature(model, x, cfg, stats=stats)
    seconds = time.perf_counter() - tic
    mdl = A._prepare(model, x[:1])
    base = _baseline_seconds_per_edge(mdl, cfg, base_samples, seed)
    n = x.shape[0]
    if n_report is None or n_report <= n:
        return _row(name, note, n, stats, seconds, base)
    k = n_report / n
    scaled = A.Stats(edges=int(stats.edges * k), special=int(stats.special * k),
                     lps=int(stats.lps * k))
    return _row(name, note + f"; measured on {n} example(s), scaled x{k:g}", n_report, scaled,
                seconds * k, base, extrapolated=True)


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
    parser.add_argument("--convention", default="paper", choices=["paper", "authors"])
    parser.add_argument("--seed", type=int, default=0)


def run(args) -> int:
    cfg = CurvatureConfig(convention=args.convention)
    n_lenet = 1 if args.quick else args.lenet_examples
    base = 3 if args.quick else args.baseline_edges
    rows = []
    for case in ["lenet5"] if args.quick else args.cases.split(","):
        if case == "lenet5":
            model, x, note = _inputs("mnist", "lenet5", n_lenet, 1.0, args.seed)
            rows.append(bench_full("LeNet5-small", model, x, note, cfg, base, args.seed))
        elif case.startswith("vgg9-"):
            width = float(case.split("-", 1)[1])
            model, x, note = _inputs("cifar10", "vgg9", args.vgg_examples, width, args.seed)
            rows.append(bench_full(f"VGG9 width {width:g}", model, x[:args.vgg_measured], note,
                                   cfg, base, args.seed, n_report=args.vgg_examples))
        else:
            raise SystemExit(f"unknown case {case!r}")
        print(format_table(rows[-1:]).splitlines()[-1], flush=True)
    print()
    print(format_table(rows))
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ncurv_lib.bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
