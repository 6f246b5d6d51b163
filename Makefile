# A newcomer needs two targets: `make run` and `make test`. `make help` lists the rest.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
LOCAL := DJANGO_DEBUG=1

.DEFAULT_GOAL := help
.PHONY: help run test migrations-check reset-local-db superuser

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.runtime-installed: requirements.txt | $(PY)
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev-installed: requirements.txt requirements-dev.txt | $(PY)
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(VENV)/.runtime-installed $@

run: $(VENV)/.runtime-installed ## Serve the portal with the prefecture's content on SQLite (PORT=8000)
	$(LOCAL) $(PY) manage.py migrate --noinput
	$(LOCAL) $(PY) manage.py seed_content
	$(LOCAL) $(PY) manage.py runserver 127.0.0.1:$(PORT)

test: $(VENV)/.dev-installed ## Run the whole test suite (DATABASE_URL= selects PostgreSQL)
	$(PY) -m pytest

migrations-check: $(VENV)/.dev-installed ## Fail if models and migrations differ
	$(LOCAL) $(PY) manage.py makemigrations --check --dry-run

reset-local-db: $(VENV)/.runtime-installed ## Delete the local SQLite database and load the prefecture's content again
	rm -f db.sqlite3
	$(LOCAL) $(PY) manage.py migrate --noinput
	$(LOCAL) $(PY) manage.py seed_content

superuser: $(VENV)/.runtime-installed ## Create an administrator account on the local database
	$(LOCAL) $(PY) manage.py createsuperuser
