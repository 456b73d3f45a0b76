# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test venv clean fixtures bench

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

venv: $(STAMP)

DEMO := fixtures/demo

demo: $(STAMP)
	$(BIN)/respond evaluate $(DEMO)/lesions.csv --clinical $(DEMO)/clinical.csv \
		--patients $(DEMO)/patients.csv --out demo-output
	@echo "demo results: $(CURDIR)/demo-output (timepoints.csv, best_response.csv, targets.csv, run.json)"

test: $(STAMP)
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) demo-output .pytest_cache
