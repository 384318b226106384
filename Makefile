# Yhteys developer entry points. Everything runs from the repo's own .venv (made by `make setup`).
#   make setup   install Debian packages (as root), .venv and node_modules; fast when up to date
#   make run     serve on the embedded defaults (SQLite under ./var, in-process jobs);
#                first prints demo logins (one counsellor per area, a lead)
#   make test    scripts/test.sh: throwaway PostgreSQL/Redis/Dovecot, linters, pytest twice
#                (pytest arguments: make test ARGS='-x -k imap')
#   make lint    ruff, mypy and import-linter only
#   make bench   SMTP ingest benchmark
#   make messages  extract the resident pages' texts and update web/locale/*/messages.po
VENV := .venv/bin

.PHONY: setup run test lint bench messages

setup:
	bash scripts/setup.sh

run:
	bash scripts/setup.sh --run
	$(VENV)/yhteys demo
	$(VENV)/yhteys serve

test:
	bash scripts/test.sh $(ARGS)

lint: setup
	$(VENV)/ruff check .
	$(VENV)/mypy
	$(VENV)/lint-imports

bench: setup
	$(VENV)/python bench/smtp_ingest.py

messages:
	$(VENV)/pybabel extract -F babel.cfg -k N_ --no-location --omit-header -o var/messages.pot .
	for lang in fi sv en; do $(VENV)/pybabel update -i var/messages.pot -l $$lang -D messages \
	  -d web/locale --no-fuzzy-matching --width 100; done
