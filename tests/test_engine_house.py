"""House rules of the engine package, read from the source with ``ast``.

* ``ncurv_lib/curvature`` is the bottom layer: its modules' imports among
  themselves (top level and inside functions) form an acyclic graph, and none
  imports the layers above it (training, data, the cache, paths, pruning, the
  pipeline).
* No module of ``ncurv_lib`` uses another module's private (underscore) names,
  by ``from .x import _y`` or by ``x._y``.

The checks are functions of a source folder, so they can be pointed at another
copy of the package (e.g. an older commit's, where they find the old cycle).
Plus the engine's value types: scores of ``cfg.dtype`` and one edge's
transport problem (:class:`ncurv_lib.curvature.problem.EdgeProblem`).
"""
import ast
from pathlib import Path

import numpy as np
import ot
import pytest
import torch

import ncurv_lib
import ncurv_lib as nc
from ncurv_lib.curvature import core
from ncurv_lib.curvature.problem import edge_problem, edge_problems

from reference_lp import tiny_cnn, wide_tanh

LIB = Path(ncurv_lib.__file__).parent
ABOVE_THE_ENGINE = ("train", "data", "cache", "paths", "pruning", "pipeline")

# ------------------------------------------------------------------ reading the source
def _modules(lib):
    """Dotted name -> source file of every module of the package folder ``lib``
    (``ncurv_lib``), packages as their ``__init__.py``."""
    out = {}
    for path in sorted(lib.rglob("*.py")):
        parts = (lib.name,) + path.relative_to(lib).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _package_of(name, path):
    """The package a module's relative imports start from."""
    return name if path.name == "__init__.py" else name.rpartition(".")[0]


def _imports(name, path, modules):
    """(node, alias, imported module, imported name or None) of every import in the file,
    anywhere in it (top level or inside functions). ``from a import b`` gives module
    ``a.b`` and no name where ``a.b`` is a module, else module ``a`` and name ``b``."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out += [(node, alias, alias.name, None) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = _package_of(name, path).split(".")
                base = base[:len(base) - (node.level - 1)]
                base = ".".join(base + ([node.module] if node.module else []))
            else:
                base = node.module
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                out.append((node, alias, sub, None) if sub in modules
                           else (node, alias, base, alias.name))
    return out


def import_graph(lib, package="curvature"):
    """Module -> the modules of ``lib/package`` it imports (``lib``: a copy of the
    ``ncurv_lib`` folder)."""
    modules = _modules(lib)
    prefix = f"{lib.name}.{package}"
    inside = {m: p for m, p in modules.items() if m == prefix or m.startswith(prefix + ".")}
    return {m: {target for _, _, target, _ in _imports(m, p, modules)
                if target in inside and target != m}
            for m, p in inside.items()}


def find_cycle(graph):
    """One import cycle of ``graph`` as a list of modules, or None."""
    state, stack = {}, []

    def visit(m):
        state[m] = "open"
        stack.append(m)
        for k in sorted(graph.get(m, ())):
            if state.get(k) == "open":
                return stack[stack.index(k):] + [k]
            if k not in state:
                found = visit(k)
                if found:
                    return found
        stack.pop()
        state[m] = "done"
        return None
    for m in sorted(graph):
        if m not in state:
            found = visit(m)
            if found:
                return found
    return None


def upward_imports(lib, package="curvature"):
    """(module, imported module) where a module of ``lib/package`` imports a layer above
    the engine (:data:`ABOVE_THE_ENGINE`)."""
    modules = _modules(lib)
    prefix = f"{lib.name}.{package}"
    above = tuple(f"{lib.name}.{m}" for m in ABOVE_THE_ENGINE)
    bad = []
    for m, path in modules.items():
        if not (m == prefix or m.startswith(prefix + ".")):
            continue
        bad += [(m, target) for _, _, target, _ in _imports(m, path, modules)
                if any(target == a or target.startswith(a + ".") for a in above)]
    return sorted(set(bad))


def _private(name):
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def private_uses(lib):
    """(file relative to ``lib``, line, module, name) of every use of another module's
    private name: ``from .x import _y`` (``_y`` not a module) or ``x._y`` where ``x`` is
    bound to a module of ``lib`` by an import anywhere in the file."""
    modules = _modules(lib)
    out = []
    for m, path in modules.items():
        rel = str(path.relative_to(lib))
        bound = {}
        for node, alias, target, name in _imports(m, path, modules):
            if name is not None and _private(name) and target != m and target in modules:
                out.append((rel, node.lineno, target, name))
            if isinstance(node, ast.Import):
                head = alias.name if alias.asname else alias.name.split(".")[0]
                bound[alias.asname or head] = head
            elif name is None:                      # a module: from a import b
                bound[alias.asname or alias.name] = target

        def module_of(expr):
            if isinstance(expr, ast.Name):
                return bound.get(expr.id)
            if isinstance(expr, ast.Attribute):
                base = module_of(expr.value)
                sub = None if base is None else f"{base}.{expr.attr}"
                return sub if sub in modules else None
            return None
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Attribute) and _private(node.attr):
                target = module_of(node.value)
                if target is not None and target in modules and target != m:
                    out.append((rel, node.lineno, target, node.attr))
    return sorted(out)


# ------------------------------------------------------------------------- the rules
def test_engine_imports_form_no_cycle():
    graph = import_graph(LIB)
    assert "ncurv_lib.curvature.core" in graph and graph["ncurv_lib.curvature.api"]
    cycle = find_cycle(graph)
    assert cycle is None, " -> ".join(cycle)
    mutual = [(a, b) for a in graph for b in graph[a] if a in graph.get(b, ())]
    assert not mutual


def test_engine_imports_nothing_above_it():
    assert upward_imports(LIB) == []


def test_no_module_uses_another_modules_private_names():
    uses = private_uses(LIB)
    assert uses == [], "\n".join(f"{f}:{line}: {mod}.{name}" for f, line, mod, name in uses)


def test_the_checks_find_what_they_look_for(tmp_path):
    """A cycle, an upward import and private uses, in a made-up package."""
    lib = tmp_path / "ncurv_lib"
    (lib / "curvature").mkdir(parents=True)
    (lib / "__init__.py").write_text("")
    (lib / "data.py").write_text("def _hidden():\n    pass\n")
    (lib / "curvature" / "__init__.py").write_text("from .a import f\n")
    (lib / "curvature" / "a.py").write_text("from . import b as B\n\ndef f():\n"
                                            "    return B._g()\n")
    (lib / "curvature" / "b.py").write_text("def _g():\n    from .a import f\n"
                                            "    from .. import data\n    return data._hidden\n")
    (lib / "curvature" / "c.py").write_text("from ncurv_lib.curvature.b import _g\n"
                                            "from ..train import x\n")
    (lib / "curvature" / "d.py").write_text("from ..cache import y\n")
    assert find_cycle(import_graph(lib)) in (
        ["ncurv_lib.curvature.a", "ncurv_lib.curvature.b", "ncurv_lib.curvature.a"],
        ["ncurv_lib.curvature.b", "ncurv_lib.curvature.a", "ncurv_lib.curvature.b"])
    assert upward_imports(lib) == [("ncurv_lib.curvature.b", "ncurv_lib.data"),
                                   ("ncurv_lib.curvature.c", "ncurv_lib.train"),
                                   ("ncurv_lib.curvature.d", "ncurv_lib.cache")]
    assert [(f, mod, name) for f, _, mod, name in private_uses(lib)] == [
        ("curvature/a.py", "ncurv_lib.curvature.b", "_g"),
        ("curvature/b.py", "ncurv_lib.data", "_hidden"),
        ("curvature/c.py", "ncurv_lib.curvature.b", "_g")]


def test_the_package_exports_its_public_names():
    import ncurv_lib.curvature as C
    for name in ("CurvatureConfig", "Stats", "edge_curvature", "parameter_curvature",
                 "parameter_curvature_chunks", "layer_chain", "UnsupportedModelError"):
        assert name in C.__all__ and getattr(C, name) is not None
    assert C.Stats is __import__("ncurv_lib.curvature.api", fromlist=["Stats"]).Stats


# ---------------------------------------------------------------------- value types
def test_scores_are_of_the_configured_dtype():
    model, x = wide_tanh(0)
    cfg = nc.CurvatureConfig()
    assert cfg.dtype == torch.float64
    pc = nc.parameter_curvature(model, x[:3], cfg)
    ec = nc.edge_curvature(model, x[:2], cfg)
    chunks = list(nc.curvature.parameter_curvature_chunks(model, x[:3], cfg, chunk=2))
    for out in (pc, ec, chunks[-1][1]):
        assert all(v.dtype == cfg.dtype and v.device.type == cfg.device for v in out.values())
    # inputs of another dtype are moved to the engine's: the same scores
    low = nc.parameter_curvature(model, x[:3].float(), cfg)
    direct = nc.parameter_curvature(model, x[:3].float().double(), cfg)
    for key in pc:
        assert low[key].dtype == cfg.dtype
        torch.testing.assert_close(low[key], direct[key], rtol=0, atol=0)
    with pytest.raises(ValueError, match="float64"):
        nc.CurvatureConfig(dtype=torch.float32)


def _reduced_kappa(prob):
    """kappa = 1 - R/D from the problem's reduced cost, with POT."""
    a, b = prob.cost[1:, 0], prob.cost[0, 1:]
    mu, nu = prob.mu.numpy(), prob.nu.numpy()
    closed = (float(prob.mu @ a) if mu.size else prob.d) + \
        (float(prob.nu @ b) if nu.size else prob.d) - prob.d
    if mu.size and nu.size:
        c = np.minimum(prob.reduced_cost.numpy(), 0.0)
        low = float(c.min())
        closed += float(ot.emd2(mu / mu.sum(), nu / nu.sum(), c - low)) + low
    return 1.0 - closed / prob.d


@pytest.mark.parametrize("convention", ["paper", "authors"])
def test_edge_problems_give_the_engines_curvature(convention):
    """An :class:`EdgeProblem`'s reduced transport (contract §6) is the engine's value, on
    dense and conv transitions; a batch gives the problems of its edges one by one."""
    cfg = nc.CurvatureConfig(convention=convention)
    checked = 0
    for model, x in (wide_tanh(0), tiny_cnn("relu")):
        ec = nc.edge_curvature(model, x[:2], cfg)
        mdl = core.prepare_model(model, x[:2], cfg)
        for n in range(2):
            mu, nu = core.example_supports(cfg, mdl, n)
            for t, (stage, tr) in enumerate(zip(mdl.chain.stages, mdl.trs)):
                pick = torch.arange(0, tr.src.numel(), max(1, tr.src.numel() // 7))
                probs = list(edge_problems(cfg, mdl, n, t, pick, mu, nu))
                assert [p.edge for p in probs] == pick.tolist()
                expect = ec[f"{stage.name}.weight"].reshape(2, -1)[n, tr.slot[pick]]
                for prob, want in zip(probs, expect.tolist()):
                    assert prob.cost.dtype == cfg.dtype
                    assert prob.cost.shape == (1 + prob.mu.numel(), 1 + prob.nu.numel())
                    assert prob.cost[0, 0] == prob.d
                    if prob.special:
                        continue
                    raw = torch.tensor([_reduced_kappa(prob)], dtype=torch.float64)
                    got, _ = core.authors_fix(cfg, mdl.chain.activation, t, len(mdl.trs),
                                              raw, raw.clone(), torch.zeros(1, dtype=torch.bool))
                    assert abs(float(got[0]) - want) <= 1e-9
                    checked += 1
                one = edge_problem(cfg, mdl, n, t, int(pick[-1]), mu, nu)
                assert torch.equal(one.cost, probs[-1].cost) and torch.equal(one.mu, probs[-1].mu)
    assert checked > 20


def test_lazy_masses_are_the_alpha_lazy_measures():
    model, x = wide_tanh(0)
    cfg = nc.CurvatureConfig()
    mdl = core.prepare_model(model, x[:1], cfg)
    mu, nu = core.example_supports(cfg, mdl, 0)
    prob = next(p for p in edge_problems(cfg, mdl, 0, 1, torch.arange(20), mu, nu)
                if p.mu.numel() and p.nu.numel())
    a, b = prob.lazy_masses(0.75)
    assert float(a[0]) == pytest.approx(0.75) and float(b[0]) == pytest.approx(0.75)
    torch.testing.assert_close(a[1:], 0.25 * prob.mu / prob.mu.sum())
    assert a.sum().item() == pytest.approx(1.0) and b.sum().item() == pytest.approx(1.0)
    point = next(edge_problems(cfg, mdl, 0, 0, torch.arange(1), mu, nu))
    assert point.mu.numel() == 0 and point.lazy_masses(0.0)[0].tolist() == [1.0]
