# Two commands set everything up on a fresh machine:
#   make demo   .venv, install, train examples/churn, export, predict from the ONNX file
#   make test   .venv if missing, install with the test and mlflow extras, run pytest
#   make docs   the documentation site into site/ (MkDocs Material, strict: any warning fails)
#   make lint   ruff check and ruff format --check (rules in pyproject.toml)
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TORCH := torch==2.13.0

.PHONY: demo test install clean docs lint

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# torch first: the CPU wheel pip finds locally; an unpinned torch pulls a CUDA build
	$(BIN)/pip install -q $(TORCH)

$(STAMP): $(BIN)/python pyproject.toml examples/plugin/pyproject.toml
	# the example plugin too (docs/extending.md): tests/test_plugins_example.py runs it end to end
	$(BIN)/pip install -q -e ".[test,mlflow]" -e examples/plugin
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/tk train examples/churn/config.yaml --output runs/churn
	$(BIN)/tk export runs/churn --onnx runs/churn.onnx
	@echo "--- predictions from runs/churn.onnx (onnxruntime only, no torch):"
	$(BIN)/python examples/churn/predict_onnx.py runs/churn.onnx examples/churn/sample.csv

test: $(STAMP)
	sh examples/edge/node/install.sh
	sh tests/web/install.sh
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

$(VENV)/.docs-installed: $(STAMP)
	$(BIN)/pip install -q -e ".[docs]"
	touch $@

docs: $(VENV)/.docs-installed
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site

clean:
	rm -rf $(VENV) runs .pytest_cache site
