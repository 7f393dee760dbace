# Two commands do all the set-up on a fresh machine (see README.md):
#   make demo   - create the environment if missing, then run `python -m autograder demo`
#   make test   - create the environment if missing, then run the whole test suite
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test build release otter benchmarks clean-env

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[dev,cluster]'
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m autograder demo

test: $(STAMP)
	$(PY) -m pytest

build: $(STAMP)
	$(PY) -m autograder build

release: $(STAMP)
	$(PY) -m autograder release --out release

otter: $(STAMP)
	$(PY) -m autograder otter --out otter-dist

benchmarks: $(STAMP)
	$(PY) -m benchmarks

clean-env:
	rm -rf $(VENV)
