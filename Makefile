# SimpleBank mesh: every command a user or CI runs. `make` alone lists them, by section.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
TOOLS := .tools/bin
export PYTHONPATH := $(CURDIR):$(CURDIR)/generated
export PATH := $(CURDIR)/$(TOOLS):$(PATH)

PROTOS := $(shell find protos -name '*.proto' | sort)
# Compose: the Docker CLI's plugin if it has one, else the pinned one `make tools` builds.
COMPOSE = $$(docker compose version >/dev/null 2>&1 && echo "docker compose" || echo $(TOOLS)/docker-compose)

##@ Try it

.PHONY: run
RUN_FLAGS ?=
run: venv tools-run ## Run the whole mesh as local processes (Ctrl-C stops it); RUN_FLAGS=--no-observability
	$(PY) tooling/run.py $(RUN_FLAGS)

.PHONY: demo
demo: venv tools-run ## With `make run` going: place a few orders and show their traces
	$(PY) tooling/cli/demo.py

.PHONY: trace
trace: venv ## Print one trace from Jaeger as a tree: make trace ID=<trace-id>
	@test -n "$(ID)" || { echo "usage: make trace ID=<trace-id> (from the x-trace-id header)"; exit 2; }
	$(PY) tooling/cli/trace.py $(ID)

##@ Operate a running mesh

.PHONY: logs
logs: venv ## Follow all services' logs (SERVICE=, LEVEL=), or TRACE=<id>
	@$(PY) tooling/cli/logs.py $(if $(SERVICE),--service '$(SERVICE)') $(if $(LEVEL),--level '$(LEVEL)') $(if $(TRACE),--trace '$(TRACE)')

.PHONY: alerts
alerts: ## Print what Alertmanager has firing now
	@$(PYTHON) tooling/cli/alerts.py

.PHONY: fault
fault: ## make fault SERVICE=accounts METHOD=ReserveHoldings CODE=UNAVAILABLE PERCENT=100 (CLEAR=1, LIST=1, EVENT=, DELAY=, SEED=)
	@$(PYTHON) tooling/cli/fault.py

.PHONY: certs
certs: venv ## Create the mesh's CA and certificates in data/certs (make run does too; FORCE=1 anew)
	$(PY) tooling/cli/certs.py $(if $(FORCE),--force)

##@ Other shapes

.PHONY: cluster
cluster: venv tools-run ## Two replicas of every service, three NATS nodes, PostgreSQL, the watchers (Ctrl-C stops it)
	$(PY) tooling/run.py --cluster $(RUN_FLAGS)

.PHONY: up
up: ## The mesh in containers: docker compose up --wait (prepares a Docker engine and images if needed)
	@eval "$$(tooling/sh/docker-engine.sh start)" && eval "$$(tooling/sh/docker-images.sh)" && \
	  $(COMPOSE) up --detach --no-build --wait

.PHONY: down
down: ## docker compose down (the volumes stay; the engine keeps running)
	@eval "$$(tooling/sh/docker-engine.sh env)" && $(COMPOSE) down

.PHONY: compose-logs
compose-logs: ## docker compose logs -f
	@eval "$$(tooling/sh/docker-engine.sh env)" && $(COMPOSE) logs -f

.PHONY: docker-stop
docker-stop: ## Stop the Docker engine `make up` started (never one it found running)
	@tooling/sh/docker-engine.sh stop

.PHONY: k8s-up
k8s-up: venv tools-run tools-k8s ## A one-node Kubernetes cluster with real pods, in its own network namespace (as root)
	@tooling/k8s_node/up.sh

.PHONY: k8s-down
k8s-down: ## Stop make k8s-up's cluster: no process, mount, namespace or rule left (WIPE=1: images too)
	@tooling/k8s_node/down.sh

.PHONY: k8s-check
k8s-check: venv tools-run tools-k8s ## The local overlay on a real node (orders, policies, probes), production's on kwok's zones
	$(PY) -m tooling.k8s_check

##@ Change it

.PHONY: protos
protos: venv ## Regenerate generated/ from protos/
	@tooling/sh/generate-protos.sh generated

.PHONY: check-protos
check-protos: venv ## Fail if generated/ is stale
	@tooling/sh/check-generated.sh

.PHONY: baseline
baseline: tools-test ## Record the current contracts as the baseline for buf breaking
	$(TOOLS)/buf build -o protos/baseline.binpb

.PHONY: fmt
fmt: venv tools-test ## Format and fix: ruff format, ruff check --fix, buf format
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .
	$(TOOLS)/buf format --write

.PHONY: lint
lint: venv tools-test ## ruff, mypy --strict, buf lint, buf breaking, promtool, amtool, actionlint, the authz policy
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(TOOLS)/buf lint
	$(TOOLS)/buf breaking --against protos/baseline.binpb
	$(TOOLS)/promtool check config --lint=all config/prometheus/prometheus.yml
	$(TOOLS)/promtool check rules --lint=all config/prometheus/rules/*.yml
	$(TOOLS)/amtool check-config config/alertmanager/alertmanager.yml
	$(PY) tooling/cli/check_authz.py config/authz.json
	$(TOOLS)/promtool check config --syntax-only --lint=all deploy/k8s/base/observability/prometheus.yml
	$(TOOLS)/amtool check-config deploy/k8s/base/observability/alertmanager.yml
	$(TOOLS)/actionlint

##@ Test and measure

.PHONY: test
test: venv tools check-protos lint ## Everything CI runs: lint, stale check, all tests, bench-quick
	$(PY) -m pytest
	$(MAKE) --no-print-directory bench-quick

.PHONY: test-unit
test-unit: venv ## Unit tests only (seconds, no servers)
	$(PY) -m pytest tests/unit

.PHONY: test-integration
test-integration: venv tools-test ## Integration tests: real nats-server, Jaeger, PostgreSQL, Docker, started by the tests
	$(PY) -m pytest tests/integration

.PHONY: test-e2e
test-e2e: venv tools ## End-to-end tests: the whole mesh as `make run` starts it, grpcurl, the commands of README.md and docs/
	$(PY) -m pytest tests/e2e

.PHONY: chaos
CHAOS_FLAGS ?=
chaos: venv tools-run ## Load, kills, freezes, restarts and faults on a mesh of its own, then the invariants; CHAOS_FLAGS="--seed 3"; CLUSTER=1: kills on make cluster's shape
	$(PY) -m tooling.chaos $(if $(CLUSTER),--cluster) $(CHAOS_FLAGS)

.PHONY: bench
BENCH_FLAGS ?=
bench: venv tools-test ## Measure throughput, the capacity within the objective, latency, tracing cost and memory (BENCH_FLAGS="--duration 10")
	$(PY) -m tooling.bench $(BENCH_FLAGS)

.PHONY: bench-quick
bench-quick: venv tools-test ## A few seconds of the benchmark, to keep the harness working
	$(PY) -m tooling.bench --quick

.PHONY: profile
PROFILE_FLAGS ?=
profile: venv tools-test ## py-spy flame graphs of each service under load into results/profiles/ (PROFILE_FLAGS="--label after --rate 100")
	$(PY) -m tooling.bench.profile $(PROFILE_FLAGS)

##@ Set up and clean

.PHONY: venv
venv: $(VENV)/.installed ## Create the virtual environment with pinned dependencies

$(VENV)/.installed: requirements.lock requirements-dev.lock
	@echo "[venv] installing pinned Python dependencies into $(VENV)"
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps -r requirements-dev.lock
	@touch $@

.PHONY: tools-run
tools-run: ## Install what make run needs: nats-server, Jaeger and its UI, grpcurl, VictoriaLogs, Prometheus, Alertmanager
	@tooling/sh/install-tools.sh --group run

.PHONY: tools-test
tools-test: ## Install what the tests need too: buf, ghz, Chromium, docker-compose, actionlint
	@tooling/sh/install-tools.sh --group test

.PHONY: tools-k8s
tools-k8s: ## Install the Kubernetes tools: control plane, kubelet, etcd, kwok, CoreDNS, kube-router, containerd (long first build)
	@tooling/sh/install-tools.sh --group k8s

.PHONY: tools
tools: ## Install every pinned tool (cached outside the checkout; JAEGER_UI_ARCHIVE=<assets.tar.gz> for the UI)
	@tooling/sh/install-tools.sh --group all

.PHONY: clean
clean: ## Remove data, untracked results and caches (keeps the venv, the tools and results/profiles)
	rm -rf data .mypy_cache .ruff_cache
	git clean -fdxq -- results

.PHONY: help
help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} \
	  /^##@ / {printf "\n\033[1m%s\033[0m\n", substr($$0, 5)} \
	  /^[a-zA-Z0-9_-]+:.*## / {printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)
