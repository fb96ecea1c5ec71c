# Developer commands. Everything runs inside .venv, which this Makefile creates and fills.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.stamp-install
NODE_STAMP := node_modules/.stamp-install

.PHONY: install schemas generate drift lint typecheck pytest test docs docs-serve demo bench serve clean

install: $(STAMP) $(NODE_STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev,codegen,server,dicom,pandas,dask,docs]'
	touch $(STAMP)

# pyright (for tests/typing) from the npm registry, at the version package-lock.json pins
$(NODE_STAMP): package.json package-lock.json
	npm ci --silent --no-audit --no-fund
	touch $(NODE_STAMP)

schemas: $(STAMP)
	$(PY) -m xnat_sdk_codegen.pin --pin schemas/pin.json --dir schemas

generate: schemas
	$(PY) -m codegen --schemas schemas --out xnat_sdk/models

# Fails when the committed models differ from a fresh generation.
drift: schemas
	$(PY) -m codegen --schemas schemas --out xnat_sdk/models --check

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(STAMP) $(NODE_STAMP)
	$(VENV)/bin/mypy --strict xnat_sdk codegen/xnat_sdk_codegen tests/typing/pass docs/hooks

# the suite on every core, up to four (PYTEST_WORKERS=0 runs it in one process)
PYTEST_WORKERS ?= auto
pytest: schemas $(NODE_STAMP)
	$(VENV)/bin/pytest -q -n $(PYTEST_WORKERS) --maxprocesses=4

test: schemas drift lint typecheck pytest

# The documentation site (docs/ + mkdocs.yml) into site/, strictly: any warning fails.
# tests/docs/test_site.py builds it too, so `make test` checks it.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict

docs-serve: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs serve

demo: schemas
	$(PY) -m xnat_sdk.testing.demo

bench: schemas
	$(PY) -m pytest -q tests/benchmarks -s

serve: $(STAMP)
	$(VENV)/bin/xnat-sdk serve

clean:
	rm -rf $(VENV) node_modules schemas/xnat schemas/xdat schemas/.download site
