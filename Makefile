# ncurv: the two commands are `make book` and `make test`; each does its own set-up.
#
#   make book [SCALE=cpu|smoke|paper] [RECOMPUTE=1]    run the workflow (Snakefile) for the
#                                                     book of a scale and build the HTML
#   make test                                         unit tests, workflow dry runs, the smoke
#                                                     workflow, nbval, rendering check
#   make workflow SCALE=cpu                           every job the scale's config lists
#   make dryrun                                       what each scale would run (snakemake -n)
#   make notebook NB=01_orc_primer [SCALE=..] [PARAMS="-p n1 4"]   re-run one chapter
#   make publish                                      push _build/html to gh-pages (ghp-import)
#   make publish-check                                the same into a scratch clone, checked
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
# the book to build; config/$(SCALE).yaml says what it runs (and at which scale each chapter
# runs: a chapter may stay at smoke while its cpu artifacts are missing)
SCALE ?= cpu
SMOKE := $(CURDIR)/_build/smoke
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
# memory the workflow may plan with (rules declare mem_mb): 90 % of this machine's
MEM_MB ?= $(shell awk '/MemTotal/ {print int($$2 / 1024 * 0.9)}' /proc/meminfo 2>/dev/null || echo 4000)
# (targets go before the flags: --resources and --config take every word after them)
SMK_FLAGS = -j $(JOBS) --resources mem_mb=$(MEM_MB) $(if $(RECOMPUTE),--forceall)

# Dataset root: $NCURV_DATA, else ../shared/data when it exists, else ./data
NCURV_DATA ?= $(if $(wildcard ../shared/data/README.md),$(abspath ../shared/data),$(CURDIR)/data)
export NCURV_DATA
export PATH := $(BIN):$(PATH)

.PHONY: book test venv mathjax workflow dryrun notebook unit smoke-workflow nbval render \
        publish publish-check clean

venv: $(VENV)/.installed
$(VENV)/.installed: requirements.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q -r requirements.txt
	$(BIN)/python -m pip install -q --no-deps -e .
	@touch $@

mathjax: book/_extra/mathjax/tex-chtml.js
book/_extra/mathjax/tex-chtml.js:
	bash tools/vendor_mathjax.sh book/_extra/mathjax

# the workflow trains, scores, sweeps and executes what the chapters need (cached
# artifacts are reused), then builds the HTML
book: venv mathjax
	$(BIN)/snakemake book $(SMK_FLAGS) --config scale=$(SCALE) $(if $(RECOMPUTE),recompute=1)
	@echo "book: $(CURDIR)/$(if $(filter smoke,$(SCALE)),_build/smoke/src/)_build/html/index.html"

workflow: venv mathjax
	$(BIN)/snakemake all $(SMK_FLAGS) --config scale=$(SCALE) $(if $(RECOMPUTE),recompute=1)

dryrun: venv
	@mkdir -p _build; for s in smoke cpu paper; do \
	  $(BIN)/snakemake -n all --quiet rules --config scale=$$s > _build/dryrun-$$s.log 2>&1 \
	    || { cat _build/dryrun-$$s.log; exit 1; }; \
	  echo "dry run, scale $$s:"; sed -n '/^Job stats/,/^total/p' _build/dryrun-$$s.log; \
	done

notebook: venv
	$(BIN)/python tools/run_notebooks.py --scale $(SCALE) --only $(NB) --force \
	  --workflow-manifests $(PARAMS)

publish: book
	$(BIN)/ghp-import --no-jekyll --push --force _build/html

# what publish would push, into a gh-pages branch of a scratch clone (nothing is pushed)
publish-check: book
	bash tools/check_publish.sh _build/html

# ---------------------------------------------------------------- tests
test: unit dryrun smoke-workflow nbval render

unit: venv
	$(BIN)/python -m pytest -q

# the smoke book is built from a copy of the book sources (config/smoke.yaml: book_dir), so
# the committed executed notebooks in book/ are never overwritten by a test run
smoke-workflow: venv mathjax
	$(BIN)/snakemake all $(SMK_FLAGS) --config scale=smoke

nbval: venv
	cd $(SMOKE)/src/book && NCURV_CACHE=$(SMOKE)/cache $(BIN)/python -m pytest -q -p no:cacheprovider \
	  -o addopts="" -o testpaths="" --nbval-lax --nbval-current-env *.ipynb

render: venv
	bash tools/ensure_chromium.sh
	$(BIN)/python tools/check_render.py $(SMOKE)/src/_build/html book/01_orc_primer.html book/02_method.html book/03_main_comparison.html book/21_dag_conservation.html book/91_model_zoo.html

clean:
	rm -rf _build
