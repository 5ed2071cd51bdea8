# ncurv: the two commands are `make book` and `make test`; each does its own set-up.
#
#   make book [SCALE=book|smoke|cpu|paper] [RECOMPUTE=1]   train/load models, execute the notebooks,
#                                                     build the HTML book (book: every chapter at
#                                                     its published scale, book/scales.json)
#   make test                                         unit tests, smoke notebooks + nbval, smoke book
#   make notebook NB=01_orc_primer [SCALE=..] [PARAMS="-p n1 4"]   re-run one chapter
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
# book: each chapter at the scale the book publishes it at (book/scales.json; the executed
# cpu chapters are committed in book/); smoke|cpu|paper: every chapter at that scale
SCALE ?= book
SMOKE := $(CURDIR)/_build/smoke

# Dataset root: $NCURV_DATA, else ../shared/data when it exists, else ./data
NCURV_DATA ?= $(if $(wildcard ../shared/data/README.md),$(abspath ../shared/data),$(CURDIR)/data)
export NCURV_DATA
# smoke artifacts never mix with the committed cpu/paper cache in data/cache
ifeq ($(SCALE),smoke)
NCURV_CACHE ?= $(SMOKE)/cache
export NCURV_CACHE
endif
export PATH := $(BIN):$(PATH)

.PHONY: book test venv mathjax models notebooks notebook unit smoke-notebooks nbval smoke-book \
        render clean

venv: $(VENV)/.installed
$(VENV)/.installed: requirements.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q -r requirements.txt
	$(BIN)/python -m pip install -q --no-deps -e .
	@touch $@

mathjax: book/_extra/mathjax/tex-chtml.js
book/_extra/mathjax/tex-chtml.js:
	bash tools/vendor_mathjax.sh book/_extra/mathjax

# compute stage: the models every chapter needs (a no-op when cached); at SCALE=book the
# chapters load or train what they use themselves
models: venv
ifneq ($(SCALE),book)
	$(BIN)/python -m ncurv_lib train --zoo --scale $(SCALE) $(if $(RECOMPUTE),--recompute)
endif

notebooks: venv models
	$(BIN)/python tools/run_notebooks.py --scale $(SCALE) --out book $(if $(RECOMPUTE),--force -p recompute true)

notebook: venv
	$(BIN)/python tools/run_notebooks.py --scale $(SCALE) --out book --only $(NB) --force $(PARAMS)

book: venv mathjax notebooks
	$(BIN)/jupyter-book build . --builder html -W --keep-going
	@echo "book: $(CURDIR)/_build/html/index.html"

# ---------------------------------------------------------------- tests
test: unit smoke-notebooks nbval smoke-book render

unit: venv
	$(BIN)/python -m pytest -q

# the smoke book is built from a copy of the book sources, so the committed
# executed notebooks in book/ are never overwritten by a test run
smoke-notebooks: venv
	rm -rf $(SMOKE) && mkdir -p $(SMOKE)/src/book
	cp _config.yml _toc.yml $(SMOKE)/src/ && cp book/*.md $(SMOKE)/src/book/
	NCURV_CACHE=$(SMOKE)/cache $(BIN)/python -m ncurv_lib train --zoo --scale smoke --no-progress
	NCURV_CACHE=$(SMOKE)/cache $(BIN)/python tools/run_notebooks.py --scale smoke --out $(SMOKE)/src/book --force

nbval: venv
	cd $(SMOKE)/src/book && NCURV_CACHE=$(SMOKE)/cache $(BIN)/python -m pytest -q -p no:cacheprovider \
	  -o addopts="" -o testpaths="" --nbval-lax --nbval-current-env *.ipynb

smoke-book: venv mathjax
	mkdir -p $(SMOKE)/src/book/_extra && cp -r book/_extra/mathjax $(SMOKE)/src/book/_extra/
	$(BIN)/jupyter-book build $(SMOKE)/src --builder html -W --keep-going

render: venv
	bash tools/ensure_chromium.sh
	$(BIN)/python tools/check_render.py $(SMOKE)/src/_build/html book/01_orc_primer.html book/21_dag_conservation.html book/91_model_zoo.html

clean:
	rm -rf _build
