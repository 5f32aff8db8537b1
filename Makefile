# Two commands matter: `make run` and `make test`. Both install what they need first.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
JOBS ?= 2

.PHONY: install run test check fmt bench bench-tools clean screenshots

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## Start the platform with embedded defaults (SQLite, DuckDB, embedded MQTT broker) and the simulated factory.
run: $(STAMP) $(CJK_FONT)
	$(BIN)/helan run --sim

# The console's browser tests drive Debian's Chromium (Playwright never downloads a browser here).
CHROMIUM := /usr/bin/chromium
$(CHROMIUM):
	command -v apt-get >/dev/null || { echo "install Chromium at $(CHROMIUM)"; exit 1; }
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null

# Chinese text in the console's screenshots and in PDF reports: WenQuanYi Micro Hei (TrueType
# outlines, which ReportLab embeds; Noto CJK's CFF outlines it cannot).
CJK_FONT := /usr/share/fonts/truetype/wqy/wqy-microhei.ttc
$(CJK_FONT):
	command -v apt-get >/dev/null || { echo "install a CJK font (fonts-wqy-microhei)"; exit 1; }
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-wqy-microhei >/dev/null

## The whole test suite: both storage backends, the machine's Mosquitto and PostgreSQL, and the embedded-only path.
test: $(STAMP) $(CHROMIUM) $(CJK_FONT)
	$(BIN)/python -m pytest -q -n $(JOBS) --dist loadgroup

## A PNG of every console page in zh-CN and English, in var/screenshots/ (for review).
screenshots: $(STAMP) $(CHROMIUM) $(CJK_FONT)
	$(BIN)/python -m tests.web.screenshots var/screenshots

## Lint, type-check (strict on the package) and check the layers (import-linter contracts in pyproject.toml).
check: $(STAMP)
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests
	$(BIN)/mypy
	$(BIN)/lint-imports

fmt: $(STAMP)
	$(BIN)/ruff format src tests
	$(BIN)/ruff check --fix src tests

## Every benchmark at its stated conditions (about 45 minutes); outputs in var/bench/, figures go to docs/benchmarks.md.
BENCHES := ingest-http ingest-mqtt storage query connections ident-register ident-udp ident-rest ident-hierarchy edge-modbus edge-opcua edge-outage rules console security
bench: $(STAMP) bench-tools
	mkdir -p var/bench
	for b in $(BENCHES); do echo "== helan bench $$b"; $(BIN)/helan bench $$b 2>&1 | tee var/bench/$$b.txt | tail -1; done

## wrk drives the ident-rest benchmark.
bench-tools:
	command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache
