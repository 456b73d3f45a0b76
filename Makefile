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

COHORT := fixtures/demo-cohort

$(COHORT)/manifest.csv: fixtures/make_demo_cohort.py respond/testing/cohort.py respond/testing/series.py | $(STAMP)
	$(BIN)/python fixtures/make_demo_cohort.py $(COHORT)

demo: $(STAMP) $(COHORT)/manifest.csv
	$(BIN)/respond assess $(COHORT)/manifest.csv --patients $(COHORT)/patients.csv \
		--treatments $(COHORT)/treatments.csv --out demo-output --workers 2
	@echo "demo results: $(CURDIR)/demo-output (open report.html in a browser)"

test: $(STAMP)
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) demo-output .pytest_cache $(COHORT)
