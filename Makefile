# Two commands on a fresh machine: `make demo` and `make test` (pytest, then the import contracts of pyproject.toml).
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test venv clean fixtures bench

BEAT   := tools/heartbeat.sh

# Installation: uv (a fast installer, itself on PyPI) when it can be had, else pip; both print what
# they do, and tools/heartbeat.sh says every 10 s that a quiet step is still running.
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || { echo "== creating $(VENV)"; $(PYTHON) -m venv $(VENV); }
	@echo "== installing respond and its dependencies into $(VENV)"
	@if { command -v uv >/dev/null 2>&1 || $(BEAT) "installing uv" $(BIN)/python -m pip install \
	        --disable-pip-version-check --progress-bar off uv; } \
	    && $(BEAT) "uv pip install" $$(command -v uv || echo $(BIN)/uv) pip install --python $(BIN)/python \
	        -e '.[test]'; then :; \
	  else \
	    echo "== uv unavailable or failed: installing with pip"; \
	    $(BEAT) "pip install" $(BIN)/python -m pip install --disable-pip-version-check --progress-bar off \
	      -e '.[test]'; \
	  fi
	@touch $(STAMP)

venv: $(STAMP)

COHORT := fixtures/demo-cohort

$(COHORT)/manifest.csv: fixtures/make_demo_cohort.py respond/testing/cohort.py respond/testing/series.py | $(STAMP)
	@echo "== generating the demo cohort (synthetic MR heads, masks, manifest)"
	@$(BEAT) "generating the demo cohort" $(BIN)/python fixtures/make_demo_cohort.py $(COHORT)

demo: $(STAMP) $(COHORT)/manifest.csv
	@echo "== assessing the demo cohort (registration, tracking, measurement, RECIST 1.1 and RANO-BM)"
	@$(BEAT) "respond assess" $(BIN)/respond assess $(COHORT)/manifest.csv --patients $(COHORT)/patients.csv \
		--treatments $(COHORT)/treatments.csv --out demo-output --workers 2 --progress
	@echo "demo results: $(CURDIR)/demo-output (open report.html in a browser)"

test: $(STAMP)
	$(BIN)/python -m pytest -q
	$(BIN)/lint-imports

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) demo-output .pytest_cache $(COHORT)
