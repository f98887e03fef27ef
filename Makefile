# The course's commands. `make course` and `make test` are all a fresh machine needs.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
NOTEBOOKS := $(sort $(wildcard notebooks/[0-9][0-9]_*.ipynb))
NBVAL := --nbval-lax --nbval-current-env --nbval-sanitize-with notebooks/sanitize.cfg --nbval-cell-timeout=900
export PYTHONDONTWRITEBYTECODE :=

.PHONY: help install install-instructor install-site instructor course site test-site lab test test-colab test-one test-full rehearse-full check-full notebooks record clean

help:
	@echo "make course      set up .venv, run every chapter in quick mode, write build/*.html"
	@echo "make site        the course as a web site: every chapter run (quick mode), in build/site/"
	@echo "make test-site   the built site in headless Chromium, offline (installs Chromium if needed)"
	@echo "make lab         open the chapters in JupyterLab"
	@echo "make test        unit tests + every chapter through nbval (quick mode, offline), as"
	@echo "                 students get it (exercises unsolved) and as instructors do (solved)"
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
	COURSE_MODE=quick $(PY) tools/run_course.py --out build $(NOTEBOOKS)

# The course as a static web site (Jupyter Book 1.x): runs every chapter (SITE_MODE=quick, the
# default, or full) into build/executed/, renders them into build/site/ (open index.html). Pages
# need no network. SITE_ARGS=--reuse runs only the chapters changed since their last run in
# this mode; SITE_ARGS=--no-execute renders the chapters already run. Jupyter Book lives in its
# own environment (.venv-site): its Markdown parser pins versions the course's tools do not need.
SITE_MODE ?= quick
SITE_ARGS ?=
SITE_VENV := .venv-site
$(SITE_VENV)/.installed: requirements-site.txt
	@bash tools/install.sh "$(PYTHON)" "$(SITE_VENV)" requirements-site.txt
	@touch $@

install-site: $(SITE_VENV)/.installed

site: install install-site
	COURSE_MODE=$(SITE_MODE) $(PY) tools/build_site.py --jupyter-book $(SITE_VENV)/bin/jupyter-book $(SITE_ARGS) $(NOTEBOOKS)

# The built site in headless Chromium with the network cut off (run `make site` first).
# Installs Debian's chromium when none is found (CHROMIUM=/path/to/chrome names your own).
test-site: install
	@bash tools/install_chromium.sh
	COURSE_SITE_TEST=required $(PY) -m pytest -q tests/test_site.py

lab: install
	$(VENV)/bin/jupyter lab notebooks

# The quick suite: no network, checkpoints in a throw-away folder. Uses a GPU if TF sees one.
# First the chapters as students get them (every exercise check must print NOT DONE and nothing
# else may fail), then as instructors do (COURSE_GRADING=1: every check must pass).
test: install-instructor
	COURSE_MODE=quick COURSE_CHECKPOINT_DIR=$$(mktemp -d) $(PY) -m pytest -n 2 --dist loadscope $(NBVAL) tests $(NOTEBOOKS)
	$(PY) tools/nb.py instructor
	COURSE_MODE=quick COURSE_GRADING=1 COURSE_CHECKPOINT_DIR=$$(mktemp -d) $(PY) -m pytest -n 2 --dist loadscope $(NBVAL) instructor

# Every chapter on Colab's runtime: a fresh venv from Colab's published pins (tools/colab/),
# bootstrapped by the chapters' own setup cell. COLAB_RUNTIME=2026.07 is the previous runtime.
COLAB_RUNTIME ?= 2026.08
test-colab: install
	$(PY) tools/test_colab.py run --runtime tools/colab/runtime-$(COLAB_RUNTIME).txt

test-one: install
	COURSE_MODE=quick COURSE_CHECKPOINT_DIR=$$(mktemp -d) $(PY) -m pytest $(NBVAL) $(NB)

# Full mode rehearsed: every chapter in full mode against generated files in the real formats,
# offline, every fit cut to a few batches; prints time, peak memory and disk per chapter and
# estimates of a real full run (build/rehearsal/report.md). About an hour here; not in .ci/run.
rehearse-full: install
	$(PY) tools/rehearse_full.py $(REHEARSE_ARGS)

check-full: install-instructor
	COURSE_MODE=full $(PY) -m pytest -n 2 --dist loadscope $(NBVAL) tests $(NOTEBOOKS)

notebooks: install-instructor
	$(PY) tools/nb.py build
	$(PY) tools/nb.py record

clean:
	rm -rf build
