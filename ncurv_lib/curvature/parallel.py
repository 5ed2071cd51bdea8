"""Parameter curvature on several processes: the calibration set split in parts.

A parameter's score is a minimum over calibration examples (and edges), so the
elementwise minimum of the scores of disjoint parts of the set equals one pass
over every example, exactly. Each part runs :func:`.params.parameter_curvature`
in its own process (started with ``spawn``, never ``fork``), with one torch
thread. A part prunes less than the whole set would (its branch and bound sees
fewer examples' values) and each process pays its start and builds its own
tables, so one process on the same number of threads (the engine's default:
torch's thread count) is usually faster; workers remain for machines where
the Python glue, which holds the GIL, is the bottleneck.
"""
import multiprocessing
from concurrent.futures import ProcessPoolExecutor, as_completed

import torch
from tqdm import tqdm

from .api import Stats

_SUMMED = ("edges", "bounded", "evaluated", "special", "lps", "not_closed")


def parts(n_examples, workers):
    """Example indices of each part: strided (``i, i + w, ...``), so that every part
    sees the calibration set's classes; no part is empty."""
    w = max(1, min(int(workers), int(n_examples)))
    return [torch.arange(i, n_examples, w) for i in range(w)]


def _one_part(model, x, cfg, upper):
    """Worker: scores and counters of one part, on one torch thread."""
    from .params import parameter_curvature
    torch.set_num_threads(1)
    stats = Stats()
    return parameter_curvature(model, x, cfg, stats=stats, upper=upper), stats


def merge_stats(total, part):
    """Add the counters of ``part`` to ``total`` (both :class:`.api.Stats`)."""
    for name in _SUMMED:
        setattr(total, name, getattr(total, name) + getattr(part, name))
    for t, layer in part.per_layer.items():
        into = total.per_layer.setdefault(t, dict.fromkeys(layer, 0))
        for k, v in layer.items():
            into[k] = max(into[k], v) if k in ("kp", "ks") else into[k] + v
    return total


def parallel_parameter_curvature(model, x, cfg, workers, *, progress=False, stats=None,
                                 upper=None):
    """:func:`.params.parameter_curvature` of ``x`` split into ``workers`` parts, each in
    a spawned process; the elementwise minimum of their scores (exact).

    ``stats`` (optional) receives the sum of the parts' counters. An error in a
    part (bad input) is raised here; on an interrupt the other parts are cancelled.
    """
    idx = parts(x.shape[0], workers)
    out = None
    ctx = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(len(idx), mp_context=ctx)
    try:
        futures = [pool.submit(_one_part, model, x[i], cfg, upper) for i in idx]
        for fut in tqdm(as_completed(futures), total=len(futures), disable=not progress,
                        desc="curvature parts", unit="part"):
            scores, part_stats = fut.result()
            out = scores if out is None else {k: torch.minimum(out[k], v)
                                              for k, v in scores.items()}
            if stats is not None:
                merge_stats(stats, part_stats)
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()
    return out
