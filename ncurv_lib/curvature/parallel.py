"""Pool plumbing of the engine: threads over chunks, processes over parts of the examples.

Nothing here knows what is computed: callers pass the function to run.

* :func:`map_threads` runs a function over items on torch's intra-op thread
  count (the compiled kernels and POT's network simplex release the GIL).
* :func:`map_parts` runs a *worker* on disjoint parts of the calibration set
  (:func:`parts`), each in its own process started with ``spawn`` (never
  ``fork``), on one torch thread. The worker must be a module-level function
  (it is pickled by reference), and its arguments picklable: no global state
  is shared with the parent.

A parameter's score is a minimum over calibration examples (and edges), so the
elementwise minimum of the scores of disjoint parts of the set equals one pass
over every example, exactly (:func:`.params.parameter_curvature` with
``workers`` > 1). A part prunes less than the whole set would (its branch and
bound sees fewer examples' values) and each process pays its start and builds
its own tables, so one process on the same number of threads (the engine's
default: torch's thread count) is usually faster; workers remain for machines
where the Python glue, which holds the GIL, is the bottleneck.

>>> map_threads(abs, [-1, 2, -3])
[1, 2, 3]
>>> [p.tolist() for p in parts(5, 2)]
[[0, 2, 4], [1, 3]]
"""
import functools
import multiprocessing
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor, as_completed

import torch
from tqdm import tqdm

START_METHOD = "spawn"


def map_threads(fn, items):
    """``fn`` over ``items`` on as many threads as torch's intra-op count.

    Parameters
    ----------
    fn : callable
        Called once per item; calls may run at the same time, so they must
        not write shared state (the engine's chunks write disjoint edges).
    items : sequence

    Returns
    -------
    list
        ``[fn(item) for item in items]``, in order; the result does not depend on
        the number of threads.
    """
    threads = min(torch.get_num_threads(), len(items))
    if threads <= 1:
        return [fn(item) for item in items]
    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(fn, items))


def parts(n_examples, workers):
    """Example indices of each part: strided (``i, i + w, ...``), so that every part
    sees the calibration set's classes; no part is empty.

    Parameters
    ----------
    n_examples : int
    workers : int

    Returns
    -------
    list of (n_i,) int64 tensors
        ``min(workers, n_examples)`` parts (at least one) covering every example once.
    """
    w = max(1, min(int(workers), int(n_examples)))
    return [torch.arange(i, n_examples, w) for i in range(w)]


def _on_one_thread(worker, *args):
    """``worker(*args)`` with torch on one thread (runs in a worker process)."""
    torch.set_num_threads(1)
    return worker(*args)


def map_parts(worker, x, workers, args=(), *, progress=False, desc="parts"):
    """``worker(x[part], *args)`` for each of :func:`parts`, in spawned processes.

    Parameters
    ----------
    worker : callable
        A module-level function (pickled by reference under ``spawn``).
    x : (N, ...) tensor
        Split along its first axis.
    workers : int
        Processes (at most one per example).
    args : tuple
        Further arguments of every call, picklable.
    progress : bool
        A progress bar over the parts as they finish.
    desc : str
        The bar's label.

    Returns
    -------
    list
        The parts' results, in part order.

    Raises
    ------
    Exception
        The first error of a part, raised here; on it (or an interrupt) the parts
        not yet started are cancelled.
    """
    idx = parts(x.shape[0], workers)
    ctx = multiprocessing.get_context(START_METHOD)
    pool = ProcessPoolExecutor(len(idx), mp_context=ctx)
    call = functools.partial(_on_one_thread, worker)
    out = [None] * len(idx)
    try:
        futures = {pool.submit(call, x[i], *args): k for k, i in enumerate(idx)}
        for fut in tqdm(as_completed(futures), total=len(futures), disable=not progress,
                        desc=desc, unit="part"):
            out[futures[fut]] = fut.result()
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()
    return out
