# Everything runs from a project-local virtualenv and a project-local Dagster instance: no account, no server.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export DAGSTER_HOME := $(CURDIR)/.dagster_home
export BENTOML_HOME := $(CURDIR)/.bentoml

.PHONY: install lock image-tools test-services test-fast bench-tools bench-ingest run ingest run-changed test lint format ui mlflow-ui serve bench clean

UV_VERSION := 0.13.9
UV := $(VENV)/bin/uv

# The exact versions of uv.lock (`--locked` fails when pyproject.toml changed and the lock was not renewed:
# `make lock`). uv is bootstrapped into the venv with pip; `--inexact` keeps it there.
$(STAMP): pyproject.toml uv.lock
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet "uv==$(UV_VERSION)"
	$(UV) sync --locked --extra dev --inexact --system-certs --quiet
	touch $(STAMP)

lock: ## renew uv.lock after a change to the dependencies in pyproject.toml
	$(PY) -m pip install --quiet "uv==$(UV_VERSION)"
	$(UV) lock --system-certs

install: $(STAMP)

$(DAGSTER_HOME)/dagster.yaml: dagster.yaml
	mkdir -p $(DAGSTER_HOME)
	ln -sf ../dagster.yaml $(DAGSTER_HOME)/dagster.yaml

run: install $(DAGSTER_HOME)/dagster.yaml ## materialize the whole graph for every data year and print a summary
	$(PY) -W ignore::UserWarning -m energy_pipeline.cli run

ingest: install $(DAGSTER_HOME)/dagster.yaml ## every year of the landing folder behind its gates, one line a year
	$(PY) -W ignore::UserWarning -m energy_pipeline.cli ingest

run-changed: install $(DAGSTER_HOME)/dagster.yaml ## re-read the exports; run only jobs with a new export or new code
	$(PY) -W ignore::UserWarning -m energy_pipeline.cli run --changed-only

# Debian's tools for the image build-and-push test (no Docker daemon needed). Installed when missing and
# possible (root with apt); otherwise that test says it is skipped and why.
IMAGE_TOOLS := buildah skopeo debootstrap docker-registry htpasswd
image-tools:
	@missing=""; for tool in $(IMAGE_TOOLS); do command -v $$tool >/dev/null || missing="$$missing $$tool"; done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing image tools:$$missing"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			buildah skopeo debootstrap docker-registry apache2-utils >/dev/null) \
		|| echo "could not install the image tools; the image build test will be skipped"; \
	else echo "image tools missing ($$missing) and not root with apt: the image build test will be skipped"; fi

# Debian's PostgreSQL for the test that boots the production instance (the test starts its own throwaway server).
test-services:
	@if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing PostgreSQL"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null) \
		|| echo "could not install PostgreSQL; the production instance test will be skipped"; \
	else echo "PostgreSQL missing and not root with apt: the production instance test will be skipped"; fi

# Two pytest workers: the suite is CPU-bound on a 2-core machine only part of the time (servers starting,
# debootstrap downloading, one-core imports), so a second worker fills the gaps: 18 -> 12.5 minutes. Each test
# module runs whole on one worker, so a module's fixtures (the image build, a trained graph) are built once.
# `make test PYTEST_WORKERS=0` runs them in this process, one after the other.
PYTEST_WORKERS ?= 2

test: install lint image-tools test-services ## the whole test suite (installs the image tools and PostgreSQL first when it can)
	$(PY) -m pytest -n $(PYTEST_WORKERS) --dist loadscope

# The unit tier: every test not marked e2e, image or integration (pyproject.toml's markers), i.e. nothing that fits
# full-size models, materializes a graph, serves a Bento or starts a server.
test-fast: install ## the unit tests, in well under 2 minutes: the loop while you work
	$(PY) -m pytest -n $(PYTEST_WORKERS) --dist load -m "not (e2e or image or integration)"

lint: install ## ruff, the format check and mypy over the package (part of `make test`)
	$(VENV)/bin/ruff check energy_pipeline energy_pipeline_tests bench
	$(VENV)/bin/ruff format --check energy_pipeline energy_pipeline_tests bench
	$(VENV)/bin/mypy

format: install
	$(VENV)/bin/ruff check --fix energy_pipeline energy_pipeline_tests bench
	$(VENV)/bin/ruff format energy_pipeline energy_pipeline_tests bench

ui: install $(DAGSTER_HOME)/dagster.yaml ## Dagster UI on http://127.0.0.1:3000
	$(VENV)/bin/dagster dev -m energy_pipeline -h 127.0.0.1 -p 3000

mlflow-ui: install ## MLflow UI on the project's store: http://127.0.0.1:5000
	mkdir -p .mlflow
	$(VENV)/bin/mlflow ui --backend-store-uri sqlite:///$(CURDIR)/.mlflow/mlflow.db \
		--default-artifact-root $(CURDIR)/.mlflow/artifacts -h 127.0.0.1 -p 5000

serve: install ## the latest Bento on http://127.0.0.1:3001 (Swagger UI at /)
	$(VENV)/bin/bentoml serve energy_pipeline:latest --host 127.0.0.1 --port 3001

bench-tools:
	@command -v wrk >/dev/null && exit 0; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; \
	else echo "wrk is missing: install it (apt-get install wrk) for the serving benchmark"; exit 1; fi

bench-ingest: install ## each year's ingest steps alone (also part of `make bench`) -> bench/results/ingest.json
	$(PY) -W ignore -m bench ingest

bench: install bench-tools image-tools ## per asset, forward aims, serving under load (wrk), growth, image -> bench/results/
	$(PY) -W ignore -m bench
	$(PY) -W ignore -m bench forward
	$(PY) -W ignore -m bench serving
	$(PY) -W ignore -m bench growth
	$(PY) -W ignore -m bench image

clean:
	rm -rf $(DAGSTER_HOME) artifacts .mlflow .bentoml
