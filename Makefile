# A newcomer needs two targets: `make run` and `make test`. `make help` lists the rest.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
LOCAL := DJANGO_DEBUG=1

.DEFAULT_GOAL := help
.PHONY: help run test migrations-check reset-local-db superuser messages

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

# The interface's translations: compiled from the .po whenever it changes (Babel, no
# system gettext needed); the .mo files are never committed.
CATALOGUES := $(patsubst %.po,%.mo,$(wildcard locale/*/LC_MESSAGES/django.po))

locale/%/LC_MESSAGES/django.mo: locale/%/LC_MESSAGES/django.po | $(VENV)/.runtime-installed
	$(VENV)/bin/pybabel compile --domain django --locale $* --input-file $< --output-file $@

run: $(VENV)/.runtime-installed $(CATALOGUES) ## Serve the portal with the prefecture's content on SQLite (PORT=8000)
	$(LOCAL) $(PY) manage.py migrate --noinput
	$(LOCAL) $(PY) manage.py seed_content
	$(LOCAL) $(PY) manage.py runserver 127.0.0.1:$(PORT)

test: $(VENV)/.dev-installed $(CATALOGUES) ## Run the whole test suite (DATABASE_URL= selects PostgreSQL)
	$(PY) -m pytest

migrations-check: $(VENV)/.dev-installed ## Fail if models and migrations differ
	$(LOCAL) $(PY) manage.py makemigrations --check --dry-run

reset-local-db: $(VENV)/.runtime-installed ## Delete the local SQLite database and load the prefecture's content again
	rm -f db.sqlite3
	$(LOCAL) $(PY) manage.py migrate --noinput
	$(LOCAL) $(PY) manage.py seed_content

superuser: $(VENV)/.runtime-installed ## Create an administrator account on the local database
	$(LOCAL) $(PY) manage.py createsuperuser

messages: $(VENV)/.runtime-installed ## Update the English catalogue (locale/en/…/django.po) from templates and code; needs GNU gettext
	$(LOCAL) $(PY) manage.py makemessages --locale en --add-location file \
		--ignore 'templates/admin/*' --ignore 'templates/simple_history/*' \
		--ignore 'tests/*' --ignore 'benchmarks/*' --ignore 'staticfiles/*'

# The production stack on this machine: gunicorn (gunicorn.conf.py), DJANGO_DEBUG=0, collected
# static files, plain HTTP on the loopback. DJANGO_SECRET_KEY, DATABASE_URL and REDIS_URL are
# honoured; without a secret key, one is generated once into .venv/secret-key (never committed).
SERVE = DJANGO_DEBUG=0 DJANGO_SECRET_KEY="$${DJANGO_SECRET_KEY:-$$(cat $(VENV)/secret-key)}" \
	DJANGO_ALLOWED_HOSTS="$${DJANGO_ALLOWED_HOSTS:-127.0.0.1,localhost}" DJANGO_SECURE_SSL_REDIRECT=0 \
	GUNICORN_BIND=127.0.0.1:$(PORT)

.PHONY: serve
serve: $(VENV)/.runtime-installed $(CATALOGUES) ## Run the production stack locally: gunicorn, DJANGO_DEBUG=0, collected static files (PORT=8000)
	@test -s $(VENV)/secret-key || $(PY) -c "import secrets; print(secrets.token_urlsafe(50))" > $(VENV)/secret-key
	$(SERVE) $(PY) manage.py collectstatic --noinput --verbosity 0
	$(SERVE) $(PY) manage.py migrate --noinput
	$(SERVE) $(PY) manage.py seed_content
	$(SERVE) $(VENV)/bin/gunicorn --config gunicorn.conf.py
