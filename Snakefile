# The reproduction as a Snakemake workflow: train -> curvature -> sweep -> notebook -> book.
#
#   snakemake -n --config scale=cpu            what is missing or stale (a dry run)
#   snakemake -j2 --config scale=smoke all     every job of a scale (default target: book)
#   snakemake --profile profiles/slurm --config scale=paper all    on a SLURM cluster
#
# config/<scale>.yaml says what each scale runs; ncurv_lib.pipeline expands it into
# jobs. Every output is one of the library's content-addressed artifacts (a model or a
# sweep, <cache>/<kind>/<config hash>.<ext>) or a small manifest keyed by the hash of
# what is known before the job runs, so a changed configuration changes the path and
# re-runs exactly what depends on it. Those inputs are marked ancient(): their
# modification times carry no information (a fresh clone gives every committed artifact an
# arbitrary one), and a job re-runs when its output is missing, when a job it depends on
# re-runs, or when its parameters or code change. Rules only call the library's CLI.
import os
import sys

from snakemake.exceptions import WorkflowError

sys.path.insert(0, workflow.basedir)
from ncurv_lib import pipeline

CONFIG_KEYS = ("scale", "recompute")
_unknown = sorted(set(config) - set(CONFIG_KEYS))
if _unknown:
    raise WorkflowError(f"unknown config keys {_unknown}; valid keys: {', '.join(CONFIG_KEYS)} "
                        f"(scales: {', '.join(pipeline.SCALES)})")
SCALE = str(config.get("scale", "cpu"))
# recompute=1 (make book RECOMPUTE=1, with --forceall): recompute cached scores and
# re-execute up-to-date notebooks instead of reusing them
RECOMPUTE = str(config.get("recompute", "")).lower() in ("1", "true", "yes")
try:
    PLANS = pipeline.load_plans(SCALE)
    PLAN = PLANS[SCALE]
except pipeline.PlanError as err:
    raise WorkflowError(str(err))

PY = sys.executable
JUPYTER_BOOK = os.path.join(os.path.dirname(PY), "jupyter-book")


def rel(path):
    """Paths inside the repository relative to it (Snakemake's working directory)."""
    r = os.path.relpath(path, workflow.basedir)
    return str(path) if r.startswith("..") else r


def one_of(keys):
    return "|".join(keys) or "^$"


BOOK_ROOT = rel(PLAN.book_dir.parent)
BOOK_HTML = os.path.normpath(f"{BOOK_ROOT}/_build/html/index.html")
CHAPTERS = [rel(PLAN.chapter_path(stem)) for stem in PLAN.chapters]
MATHJAX = "book/_extra/mathjax/tex-chtml.js"

onstart:
    print(pipeline.describe(PLAN))


rule book:
    """The HTML book and everything its chapters read (the default target)."""
    input: BOOK_HTML


rule all:
    """Every job of the scale: all models, scores and sweeps its config lists, and the book."""
    input:
        BOOK_HTML,
        [rel(p) for group in ("models", "curvature", "sweeps") for p in PLAN.outputs(group)],


for _scale, _plan in PLANS.items():
    _cache = rel(_plan.cache)
    _res = {r: _plan.rule_resources(r) for r in pipeline.RULES}

    rule:
        name: f"train_{_scale}"
        output: f"{_cache}/models/{{mhash}}.pt"
        wildcard_constraints: mhash=one_of(_plan.models)
        params:
            args=lambda w, plan=_plan: " ".join(plan.models[w.mhash].args),
            cache=_cache,
        threads: _res["train"]["threads"]
        resources:
            mem_mb=_res["train"]["mem_mb"], runtime=_res["train"]["runtime"],
            gpu=_res["train"]["gpu"],
        log: f"{_cache}/logs/train/{{mhash}}.log"
        benchmark: f"{_cache}/benchmarks/train/{{mhash}}.tsv"
        shell:
            "NCURV_CACHE={params.cache} OMP_NUM_THREADS={threads} "
            "{PY} -m ncurv_lib train {params.args} --no-progress > {log} 2>&1"

    rule:
        name: f"curvature_{_scale}"
        output: f"{_cache}/manifests/curvature/{{chash}}.json"
        input:
            model=lambda w, plan=_plan, c=_cache:
                ancient(f"{c}/models/{plan.model(plan.curvature[w.chash].model).hash}.pt"),
        wildcard_constraints: chash=one_of(_plan.curvature)
        params:
            args=lambda w, plan=_plan: " ".join(plan.curvature[w.chash].args),
            cache=_cache,
        threads: _res["curvature"]["threads"]
        resources:
            mem_mb=_res["curvature"]["mem_mb"], runtime=_res["curvature"]["runtime"],
            gpu=_res["curvature"]["gpu"],
        log: f"{_cache}/logs/curvature/{{chash}}.log"
        benchmark: f"{_cache}/benchmarks/curvature/{{chash}}.tsv"
        shell:
            "NCURV_CACHE={params.cache} OMP_NUM_THREADS={threads} "
            "{PY} -m ncurv_lib curvature --checkpoint {input.model} {params.args} "
            "--manifest {output} --no-progress" + (" --recompute" if RECOMPUTE else "") +
            " > {log} 2>&1"

    rule:
        name: f"sweep_{_scale}"
        output: f"{_cache}/sweeps/{{shash}}.csv"
        input:
            model=lambda w, plan=_plan, c=_cache:
                ancient(f"{c}/models/{plan.model(plan.sweeps[w.shash].model).hash}.pt"),
            curvature=lambda w, plan=_plan, c=_cache:
                [ancient(f"{c}/manifests/curvature/{plan.sweeps[w.shash].curvature}.json")]
                if plan.sweeps[w.shash].curvature else [],
        wildcard_constraints: shash=one_of(_plan.sweeps)
        params:
            args=lambda w, plan=_plan: " ".join(plan.sweeps[w.shash].args),
            cache=_cache,
        threads: _res["sweep"]["threads"]
        resources:
            mem_mb=_res["sweep"]["mem_mb"], runtime=_res["sweep"]["runtime"],
            gpu=_res["sweep"]["gpu"],
        log: f"{_cache}/logs/sweep/{{shash}}.log"
        benchmark: f"{_cache}/benchmarks/sweep/{{shash}}.tsv"
        shell:
            "NCURV_CACHE={params.cache} OMP_NUM_THREADS={threads} "
            "{PY} -m ncurv_lib prune --checkpoint {input.model} {params.args} "
            "--no-progress > {log} 2>&1"


_cache = rel(PLAN.cache)
_nb, _bk = PLAN.rule_resources("notebook"), PLAN.rule_resources("book")


rule notebook:
    """Execute one chapter with papermill into the scale's book folder."""
    output: f"{_cache}/manifests/notebooks/{{stem}}-{{nhash}}.json"
    input:
        source=ancient("notebooks/{stem}.py"),
        needs=lambda w: [ancient(rel(p)) for p in pipeline.chapter_inputs(PLAN, w.stem, PLANS)],
    wildcard_constraints:
        stem=one_of(PLAN.chapters), nhash=one_of(c.hash for c in PLAN.chapters.values()),
    threads: _nb["threads"]
    resources: mem_mb=_nb["mem_mb"], runtime=_nb["runtime"]
    log: f"{_cache}/logs/notebook/{{stem}}-{{nhash}}.log"
    benchmark: f"{_cache}/benchmarks/notebook/{{stem}}-{{nhash}}.tsv"
    shell:
        "OMP_NUM_THREADS={threads} {PY} tools/run_notebooks.py --scale {SCALE} "
        "--only {wildcards.stem} --manifest {output}" + (" --force" if RECOMPUTE else "") +
        " > {log} 2>&1"


rule mathjax:
    """MathJax 3 (es5) from the npm registry, so formulas render offline."""
    output: MATHJAX
    shell: "bash tools/vendor_mathjax.sh book/_extra/mathjax"


if BOOK_ROOT != ".":
    rule stage_book:
        """A copy of the book's sources for a book built outside the repository root."""
        input: "_config.yml", "_toc.yml", "book/intro.md", MATHJAX
        output: f"{BOOK_ROOT}/_config.yml", f"{BOOK_ROOT}/_toc.yml", f"{BOOK_ROOT}/book/intro.md",
                f"{BOOK_ROOT}/{MATHJAX}"
        shell:
            "mkdir -p {BOOK_ROOT}/book/_extra && cp _config.yml _toc.yml {BOOK_ROOT}/ && "
            "cp book/*.md {BOOK_ROOT}/book/ && rm -rf {BOOK_ROOT}/book/_extra/mathjax && "
            "cp -r book/_extra/mathjax {BOOK_ROOT}/book/_extra/"


rule build_book:
    """Jupyter Book 1.x over the executed chapters."""
    input:
        [ancient(c) for c in CHAPTERS],
        [os.path.normpath(f"{BOOK_ROOT}/{f}") for f in ("_config.yml", "_toc.yml", "book/intro.md")],
        MATHJAX if BOOK_ROOT == "." else f"{BOOK_ROOT}/{MATHJAX}",
    output: BOOK_HTML
    params:
        # the executed notebooks the manifests name (a deleted one: delete its manifest)
        notebooks=" ".join(rel(PLAN.book_dir / f"{stem}.ipynb") for stem in PLAN.chapters),
    threads: _bk["threads"]
    resources: mem_mb=_bk["mem_mb"], runtime=_bk["runtime"]
    log: "_build/logs/book.log"
    benchmark: "_build/benchmarks/book.tsv"
    shell:
        "for nb in {params.notebooks}; do test -f $nb || {{ echo \"$nb is missing: delete its "
        "manifest in {_cache}/manifests/notebooks/ to re-execute it\"; exit 1; }}; done; "
        "{JUPYTER_BOOK} build {BOOK_ROOT} --builder html -W --keep-going > {log} 2>&1 "
        "|| (tail -50 {log}; exit 1)"
