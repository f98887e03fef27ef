# The course's commands. `make course` and `make test` are all a fresh machine needs.
# Every command that runs chapters goes through tools/executor.py: each chapter once per
# environment, and everything else (the site, grading, timings) reads what that run produced.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
NOTEBOOKS := $(sort $(wildcard notebooks/[0-9][0-9]_*.ipynb))
RUNS := build/runs
export PYTHONDONTWRITEBYTECODE :=

.PHONY: help install install-instructor install-site instructor course site test-site lab test \
	test-one test-jax test-colab rehearse-full check-full notebooks clean

help:
	@echo "make course      set up .venv, run every chapter in quick mode, write build/*.html"
	@echo "make lab         open the chapters in JupyterLab"
	@echo "make lint        ruff (lint, format check) and mypy (course_utils' types); part of make test"
	@echo "make test        unit tests + every chapter once (quick mode, offline): as students get"
	@echo "                 it (exercises unsolved) and every solution graded in the same run"
	@echo "make test-one NB=notebooks/05_convnet_basics.ipynb   one chapter, the same way"
	@echo "make test-jax    the chapters that pass on JAX, once more on that backend (graded, offline)"
	@echo "make site        the course as a web site from the chapters make test ran, in build/site/"
	@echo "make test-site   the built site in headless Chromium, offline (installs Chromium if needed)"
	@echo "make instructor  instructors: the chapters with their solutions, in instructor/"
	@echo "make test-colab  every chapter on Colab's own package versions (COLAB_RUNTIME=$(COLAB_RUNTIME))"
	@echo "make check-full  instructors: every chapter in full mode (real data, real epochs)"
	@echo "make rehearse-full  full mode's code paths, offline, on generated data (about 45 minutes)"

$(VENV)/.installed: requirements.txt requirements-assets.txt pyproject.toml course_utils/extras.py
	@bash tools/install.sh "$(PYTHON)" "$(VENV)"
	@touch $@

install: $(VENV)/.installed

# Instructors' and authors' tools (nbgrader), on top of what students install.
$(VENV)/.instructor: $(VENV)/.installed requirements-instructor.txt
	@bash tools/install.sh "$(PYTHON)" "$(VENV)" requirements-instructor.txt
	@touch $@

install-instructor: $(VENV)/.instructor

instructor: install-instructor
	$(PY) tools/nb.py instructor

course: install
	@mkdir -p build
	$(PY) tools/executor.py --mode quick --no-grade --html --out build $(NOTEBOOKS)

lab: install
	$(VENV)/bin/jupyter lab notebooks

# The linter, the format check and the type checker (configured in pyproject.toml).
LINTED := course_utils tools tests benchmarks notebooks
lint: install-instructor
	$(VENV)/bin/ruff check $(LINTED)
	$(VENV)/bin/ruff format --check $(LINTED)
	$(VENV)/bin/mypy

# The quick suite: lint (above), unit tests, then every chapter once (quick mode, offline, a throw-away
# checkpoint folder), into build/runs/local/: each must run, print its checked outputs, print NOT
# DONE in every exercise check, and PASS every check with the solution (COURSE_GRADING=1) in the
# same kernel. Uses a GPU if TensorFlow sees one.
test: install-instructor lint
	$(PY) -m pytest -q -n 2 --dist loadfile tests
	$(PY) tools/executor.py --mode quick --out $(RUNS)/local $(NOTEBOOKS)

test-one: install-instructor
	$(PY) tools/executor.py --mode quick --workers 1 --out $(RUNS)/one $(NB)

# The chapters that pass on Keras' JAX backend (measured: README, "Backends", which also says what
# the others still need), the same way as `make test` (students' notebooks and graded
# solutions), into build/runs/local-jax/. JAX_NOTEBOOKS="$(NOTEBOOKS)" tries every chapter.
JAX_CHAPTERS := 00 01 02 03 04 05 08 09 10 11 12 13
JAX_NOTEBOOKS ?= $(foreach n,$(JAX_CHAPTERS),$(filter notebooks/$(n)_%,$(NOTEBOOKS)))
test-jax: install-instructor
	$(PY) tools/executor.py --mode quick --backend jax --out $(RUNS)/local-jax $(JAX_NOTEBOOKS)

# The course as a static web site (Jupyter Book 1.x), rendered from the executed chapters in
# build/runs/local/ (what `make test` ran; a chapter changed since, or never run, is run first).
# SITE_MODE=full renders full-mode runs (build/runs/local-full/, what `make check-full` ran).
# Jupyter Book lives in its own environment (.venv-site): its Markdown parser pins versions the
# course's tools do not need.
SITE_MODE ?= quick
SITE_VENV := .venv-site
$(SITE_VENV)/.installed: requirements-site.txt
	@bash tools/install.sh "$(PYTHON)" "$(SITE_VENV)" requirements-site.txt
	@touch $@

install-site: $(SITE_VENV)/.installed

site: install-instructor install-site
	COURSE_MODE=$(SITE_MODE) $(PY) tools/build_site.py --jupyter-book $(SITE_VENV)/bin/jupyter-book $(NOTEBOOKS)

# The built site in headless Chromium with the network cut off (run `make site` first).
# Installs Debian's chromium when none is found (CHROMIUM=/path/to/chrome names your own).
test-site: install
	@bash tools/install_chromium.sh
	COURSE_SITE_TEST=required $(PY) -m pytest -q tests/test_site.py

# Every chapter on Colab's runtime: a fresh venv from Colab's published pins (tools/colab/),
# bootstrapped by the chapters' own setup cell. COLAB_RUNTIME=2026.07 is the previous runtime;
# COLAB_RUNTIME=2026.08-tpu the TPU runtime (no TensorFlow, no OpenCV: the chapters run on JAX,
# on this machine's CPU; libtpu, its TPU driver, is not installed here).
# The TPU runtime runs the chapters that pass on JAX (JAX_NOTEBOOKS).
COLAB_RUNTIME ?= 2026.08
COLAB_NOTEBOOKS = $(if $(findstring tpu,$(COLAB_RUNTIME)),$(JAX_NOTEBOOKS))
test-colab: install-instructor
	$(PY) tools/colab_runtime.py run --runtime tools/colab/runtime-$(COLAB_RUNTIME).txt \
		$(COLAB_NOTEBOOKS)

# Full mode rehearsed: every chapter in full mode against generated files in the real formats,
# offline, every fit cut to a few batches; prints time, peak memory and disk per chapter and
# estimates of a real full run (build/rehearsal/report.md). About an hour here; not in .ci/run.
rehearse-full: install-instructor
	$(PY) tools/rehearse_full.py $(REHEARSE_ARGS)

check-full: install-instructor
	$(PY) -m pytest -q tests
	$(PY) tools/executor.py --mode full --out $(RUNS)/local-full $(NOTEBOOKS)

notebooks: install-instructor
	$(PY) tools/nb.py build
	$(PY) tools/nb.py record

clean:
	rm -rf build
