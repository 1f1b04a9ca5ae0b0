# Sidang: `make run` serves the demo, `make test` runs the whole suite. Both start from a clean clone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
VENDOR := web/static/vendor
# Two workers on a 2-core machine: browser and media tests wait on real time, so the suite
# overlaps them (each worker has its own PostgreSQL database and Redis prefix). The slowest
# tests are listed at the end, to keep the suite inside its 15-minute budget.
PYTEST_ARGS ?= -n 2 --durations=15

.PHONY: run test install assets services lint format messages bench cluster e2e clean

run: install
	$(BIN)/sidang demo

test: install services
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

install: $(STAMP) assets

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test,bench]'
	touch $(STAMP)

# npm packages land in git-ignored node_modules/ and are copied to the git-ignored vendor folder;
# then every text file under web/static is precompressed (brotli and gzip) into git-ignored
# web/compressed/, named by its content hash (server/assets.py). hls.js: the light build, which
# has LL-HLS and fMP4 and leaves out what the player never uses (alternate audio, subtitles, DRM).
assets: $(STAMP) $(VENDOR)/hls.light.min.js $(VENDOR)/leaflet/leaflet.js
	$(BIN)/python -m server.assets

$(VENDOR)/hls.light.min.js: package.json package-lock.json
	npm install --no-audit --no-fund --loglevel=error
	mkdir -p $(VENDOR)
	cp node_modules/hls.js/dist/hls.light.min.js $(VENDOR)/hls.light.min.js

# Leaflet for the complaint map, used only when SIDANG_MAP_TILES names a tile server.
$(VENDOR)/leaflet/leaflet.js: $(VENDOR)/hls.light.min.js
	mkdir -p $(VENDOR)/leaflet
	cp -r node_modules/leaflet/dist/leaflet.js node_modules/leaflet/dist/leaflet.css node_modules/leaflet/dist/images $(VENDOR)/leaflet/

# PostgreSQL, Redis and Chromium for the tests: start them, or install them from Debian's packages.
services:
	./scripts/ensure-services.sh

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format:
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Refresh the English catalogue after adding translatable text; tests fail on untranslated ids.
messages:
	mkdir -p build
	$(BIN)/pybabel -q extract -F babel.cfg -k _ -k gettext -k N_ -o build/messages.pot .
	$(BIN)/pybabel -q update -i build/messages.pot -d server/locale -l en --no-fuzzy-matching

# The docker-compose topology on loopback ports (nginx :8088, nodes :8091 and :8092), until Ctrl-C.
cluster: install services
	./scripts/cluster run

# The end-to-end suite: Playwright and Debian's Chromium against scripts/cluster.
e2e: install services
	$(BIN)/python -m pytest -q -m e2e tests/e2e

bench: install
	$(BIN)/python bench/serve.py --quick
	$(BIN)/python bench/viewers.py --quick
	$(BIN)/python bench/pipeline.py --quick
	$(BIN)/python bench/soak.py --quick
	$(BIN)/python bench/comments.py --quick
	$(BIN)/python bench/player.py --quick

clean:
	rm -rf $(VENV) node_modules $(VENDOR) web/compressed build .pytest_cache
