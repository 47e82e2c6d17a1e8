# The two set-up commands: `make run` serves the project, `make test` runs the whole suite.
# Both create .venv and install what they need on their own.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed
NODE_INSTALLED := node_modules/.installed
# The browser tests drive Debian's Chromium (Playwright's own download is never used).
CHROMIUM := /usr/bin/chromium

.PHONY: run test lint bench clean

$(INSTALLED): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

$(NODE_INSTALLED): package.json
	npm install --no-audit --no-fund --loglevel=error
	touch $@

$(CHROMIUM):
	apt-get update -qq && apt-get install -y -qq chromium

run: $(INSTALLED)
	$(VENV)/bin/honcho start --procfile Procfile

lint: $(INSTALLED)
	$(VENV)/bin/ruff check .

test: $(INSTALLED) $(NODE_INSTALLED) $(CHROMIUM) lint
	$(VENV)/bin/pytest $(PYTEST_ARGS)

bench: $(INSTALLED) $(NODE_INSTALLED)
	$(PY) -m bench

clean:
	rm -rf $(VENV) node_modules var
