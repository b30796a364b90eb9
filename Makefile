# Developer commands for the connector workspace. `make` (or `make help`) lists them.
# Everything runs through uv: install it once with `pip install uv`.

.DEFAULT_GOAL := help
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
MAKEFLAGS += --no-print-directory

UV ?= uv
ARGS ?=
BENCH_ARGS ?= --quick

.PHONY: help
help: ## Show this list of commands
	@echo "Usage: make <target> (uv is needed: pip install uv)"
	@echo
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_-]+:.*## / {printf "  %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: .uv
.uv:
	@command -v $(UV) >/dev/null 2>&1 || { echo "uv is not installed: run pip install uv" >&2; exit 1; }

.PHONY: install
install: .uv ## Install every distribution and the dev tools into .venv from uv.lock
	$(UV) sync --all-packages --locked

.PHONY: format
format: .uv ## Format the code and apply ruff's safe fixes
	$(UV) run ruff format
	$(UV) run ruff check --fix

.PHONY: lint
lint: .uv ## Check style: ruff check and ruff format --check
	$(UV) run ruff check
	$(UV) run ruff format --check

.PHONY: typecheck
typecheck: .uv ## mypy strict on src, tests/ and tools/, then each package's tests on their own
	$(UV) run mypy
	@for tests in packages/*/tests; do \
		if [ -n "$$(find "$$tests" -name '*.py' -print -quit)" ]; then \
			echo "$(UV) run mypy $$tests"; $(UV) run mypy "$$tests"; \
		fi; \
	done

.PHONY: test
test: .uv ## Run every test (uv run pytest); add options with ARGS="-k zmq -x"
	$(UV) run pytest $(ARGS)

.PHONY: test-fast
test-fast: .uv ## Run the tests without the soak tests
	$(UV) run pytest -m "not soak" $(ARGS)

.PHONY: isolation
isolation: .uv ## Install each distribution alone in a fresh venv; prove no other transport came
	$(UV) run python tools/check_isolation.py

.PHONY: bench
bench: .uv ## Quick benchmark of every installed backend against its bare transport
	$(UV) run connector bench $(BENCH_ARGS)

.PHONY: bench-full
bench-full: .uv ## Full benchmark; rows also written to bench-results/bench.json
	$(UV) run connector bench --json bench-results/bench.json

.PHONY: release
release: .uv ## Bump one distribution: make release PACKAGE=connector-zmq BUMP=patch [NOTE="..."]
	@[ -n "$(PACKAGE)" ] && [ -n "$(BUMP)" ] || { echo "usage: make release PACKAGE=<distribution> BUMP=<major|minor|patch|...> [NOTE=\"what changed\"]" >&2; exit 2; }
	new=$$($(UV) version --package "$(PACKAGE)" --bump "$(BUMP)" --dry-run --short) && \
	$(UV) run python tools/release.py "$(PACKAGE)" --version "$$new" $(if $(NOTE),--note "$(NOTE)") && \
	$(UV) version --package "$(PACKAGE)" --bump "$(BUMP)"

.PHONY: ci
ci: ## Run what CI runs (.ci/run), as CI does
	CI=true bash .ci/run

.PHONY: all
all: format lint typecheck test ## format, lint, typecheck and test
