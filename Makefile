# mir101 — two commands do all set-up on a fresh machine: `make demo` and `make test`.
# Both bootstrap a local virtual environment (.venv) idempotently.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
# Two stamps: what `make demo` needs (the package and its runtime dependencies), then what the
# tests, the linter and the book add (the dev and book extras: about half of the install time on
# a fresh machine, which `make demo` does not spend).
STAMP := $(VENV)/.mir101-installed
DEV_STAMP := $(VENV)/.mir101-dev
# The CPU build of torch that lies on this machine's disk; elsewhere pip falls back to the
# PyTorch CPU index so that a fresh laptop does not pull a multi-GB CUDA build.
TORCH_PIN ?= torch==2.13.0

.PHONY: venv demo soundfonts soundfonts-train test lint book bench clean-venv

venv: $(DEV_STAMP)

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PIP) install -q --upgrade pip
	@$(PY) -c "import torch" 2>/dev/null || $(PIP) install -q "$(TORCH_PIN)" \
	  || $(PIP) install -q --index-url https://download.pytorch.org/whl/cpu torch
	@# tinysoundfont declares pyaudio (live playback only), which needs PortAudio headers: skip it.
	@$(PIP) install -q --no-deps "tinysoundfont>=0.3"
	@# PESTO (the pitch tracker that judges generated notes) declares torchaudio, which it needs only
	@# to read files (mir101 hands it tensors): install it without its dependencies.
	@$(PIP) install -q --no-deps "pesto-pitch>=1.0" || echo "PESTO not installed: generation scores no pitch accuracy"
	@$(PIP) install -q -e .
	@touch $(STAMP)

$(DEV_STAMP): $(STAMP) pyproject.toml
	@$(PIP) install -q -e '.[dev,book]'
	@touch $(DEV_STAMP)

# A second General-MIDI SoundFont (Debian's FluidR3) lets the demo also score the held-out works
# rendered with timbres never heard in training. Fetched without root through `apt-get download`
# when it is not installed; the demo runs without it if apt is not available.
SF_DIR := .cache/soundfonts
soundfonts:
	@if [ ! -f /usr/share/sounds/sf2/FluidR3_GM.sf2 ] && [ ! -f $(SF_DIR)/FluidR3_GM.sf2 ] && command -v apt-get >/dev/null; then \
	  echo "fetching Debian's fluid-soundfont-gm (FluidR3_GM.sf2, 120 MB) into $(SF_DIR)"; \
	  mkdir -p $(SF_DIR)/tmp && cd $(SF_DIR)/tmp && apt-get download fluid-soundfont-gm >/dev/null 2>&1 \
	  && dpkg-deb -x fluid-soundfont-gm_*.deb x && cp x/usr/share/sounds/sf2/FluidR3_GM.sf2 ..; \
	  cd - >/dev/null; rm -rf $(SF_DIR)/tmp; fi; true

# The two extra training banks of the shipped transcriber (configs/multipitch/pretrained.yaml):
# csound's General-MIDI bank (Debian csound-soundfont) and an OPL3 FM bank (Debian opl3-soundfont),
# fetched the same way into $(SF_DIR). Only retraining that model needs them.
soundfonts-train:
	@for pair in csound-soundfont:sf_GMbank.sf2 opl3-soundfont:OPL-3_FM_128M.sf2; do \
	  pkg=$${pair%%:*}; sf=$${pair##*:}; \
	  if [ ! -f $(SF_DIR)/$$sf ] && [ -f /usr/share/sounds/sf2/$$sf ]; then mkdir -p $(SF_DIR) && cp /usr/share/sounds/sf2/$$sf $(SF_DIR)/; fi; \
	  if [ ! -f $(SF_DIR)/$$sf ] && command -v apt-get >/dev/null; then \
	    echo "fetching Debian's $$pkg ($$sf) into $(SF_DIR)"; \
	    mkdir -p $(SF_DIR)/tmp && (cd $(SF_DIR)/tmp && apt-get download $$pkg >/dev/null 2>&1 \
	      && dpkg-deb -x $${pkg}_*.deb x && cp x/usr/share/sounds/sf2/$$sf ..); rm -rf $(SF_DIR)/tmp; fi; \
	  test -f $(SF_DIR)/$$sf || echo "$$sf not found: install Debian's $$pkg or put the file in $(SF_DIR)"; \
	done

demo: $(STAMP) soundfonts
	$(VENV)/bin/mir101 quickstart

lint: $(DEV_STAMP)
	$(VENV)/bin/ruff check src tests benchmarks

# The tests, then the book in fast mode: a page that no longer runs fails `make test` (and CI).
# The tests run in TEST_WORKERS processes (pytest-xdist; one per core by default); an idle worker
# takes tests queued for the other (--dist worksteal: on a clean clone with 2 cores, 5.1 min
# against 6.6 with a file per worker, 8.3 in one process); TEST_WORKERS=0 runs them in this
# process, one after the other.
TEST_WORKERS ?= auto
test: $(DEV_STAMP) lint
	$(PY) -m pytest -q -n $(TEST_WORKERS) --dist worksteal
	$(MAKE) --no-print-directory book

# The book executes every page (book/conf.py). `make book` runs it in fast mode (tiny corpora, a
# few training steps: what CI runs); `make book-full` at realistic sizes. -W: any warning, a broken
# cross-reference or a failing cell fails the build. -E: no stale pages from an earlier build.
# -j auto: pages are read, so executed, in parallel (one process per core; each page has its own run
# folders under book/_build/runs, and corpora are built with atomic writes).
book: $(DEV_STAMP)
	MIR101_BOOK_FAST=1 $(VENV)/bin/sphinx-build -j auto -W --keep-going -E -b html book book/_build/html

book-full: $(DEV_STAMP)
	MIR101_BOOK_FAST=0 $(VENV)/bin/sphinx-build -j auto -W --keep-going -E -b html book book/_build/html

bench: $(DEV_STAMP)
	$(PY) benchmarks/inputs.py

clean-venv:
	rm -rf $(VENV)
