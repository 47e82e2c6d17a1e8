# The two set-up commands: `make run` serves the project, `make test` runs the whole suite.
# Both create .venv and install what they need on their own.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed
NODE_INSTALLED := node_modules/.installed
# The browser tests drive Debian's Chromium (Playwright's own download is never used).
CHROMIUM := /usr/bin/chromium

# The suite runs twice: on the embedded default (SQLite, files, ORM broker) and on the
# services a deployment uses (PostgreSQL, Redis as startup cache and django-q2 broker).
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/test
TEST_REDIS_URL ?= redis://127.0.0.1:6379/7

# The newest Django line runs on Python 3.12 or newer, in a venv of its own.
VENV_NEW ?= .venv-django6
PYTHON_NEW ?= $(shell for v in python3.13 python3.12; do $$v -V >/dev/null 2>&1 && { echo $$v; exit; }; done; ls -d $$HOME/.pyenv/versions/3.1[23]*/bin/python3 2>/dev/null | tail -n 1)

.PHONY: run test test-sqlite test-services test-django6 lint bench clean

$(INSTALLED): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

$(VENV_NEW)/.installed: pyproject.toml
	test -n "$(PYTHON_NEW)" || { echo "no Python 3.12+ found: set PYTHON_NEW"; exit 2; }
	test -x $(VENV_NEW)/bin/python || $(PYTHON_NEW) -m venv $(VENV_NEW)
	$(VENV_NEW)/bin/python -m pip install --quiet --upgrade pip
	$(VENV_NEW)/bin/python -m pip install --quiet 'django>=6,<6.2' -e '.[dev]'
	touch $@

$(NODE_INSTALLED): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(CHROMIUM):
	apt-get update -qq && apt-get install -y -qq chromium

run: $(INSTALLED)
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(VENV)/bin/honcho start --procfile Procfile

lint: $(INSTALLED)
	$(VENV)/bin/ruff check .

test: lint test-sqlite test-services

test-sqlite: $(INSTALLED) $(NODE_INSTALLED) $(CHROMIUM)
	VAR_DIR=$(CURDIR)/var/test-sqlite $(VENV)/bin/pytest --ignore=tests/deployment $(PYTEST_ARGS)

test-services: $(INSTALLED) $(NODE_INSTALLED) $(CHROMIUM)
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) VAR_DIR=$(CURDIR)/var/test-services \
		$(VENV)/bin/pytest $(PYTEST_ARGS)

test-django6: $(VENV_NEW)/.installed $(NODE_INSTALLED) $(CHROMIUM)
	VAR_DIR=$(CURDIR)/var/test-django6 $(VENV_NEW)/bin/pytest --ignore=tests/deployment $(PYTEST_ARGS)

bench: $(INSTALLED) $(NODE_INSTALLED)
	$(PY) -m bench

clean:
	rm -rf $(VENV) $(VENV_NEW) node_modules var
