# Two commands do all set-up on a fresh machine: `make run` and `make test`.
VENV := .venv
PY := $(VENV)/bin/python

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q -U pip
	$(VENV)/bin/pip install -q -e '.[test]'
	touch $@

.PHONY: run test lint bench postgresql
run: $(VENV)/.installed
	$(VENV)/bin/quest-runtime serve

test: $(VENV)/.installed postgresql
	$(VENV)/bin/pytest

# tests/store/postgres start their own throwaway cluster with the installed initdb/pg_ctl
postgresql:
	@if ! ls /usr/lib/postgresql/*/bin/initdb > /dev/null 2>&1 && ! command -v initdb > /dev/null; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get > /dev/null; then \
	    echo "installing PostgreSQL (Debian's postgresql package) for the store tests"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql > /dev/null; \
	  else \
	    echo "the PostgreSQL store tests need PostgreSQL's initdb and pg_ctl: install the postgresql package" >&2; exit 1; \
	  fi; \
	fi

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy quest_runtime bridge_protocol tests bench tools
	$(VENV)/bin/pytest -q tests/test_structure.py

# The engine bench and the HTTP bench (service vs. floor), one table (~5 min; QUICK=1 ~3 min)
bench: $(VENV)/.installed
	$(PY) bench/report.py $(if $(QUICK),--quick)
