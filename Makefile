# Two commands do all set-up on a fresh machine: `make run` and `make test`.
VENV := .venv
PY := $(VENV)/bin/python

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q -U pip
	$(VENV)/bin/pip install -q -e '.[test]'
	touch $@

.PHONY: run test lint bench
run: $(VENV)/.installed
	$(VENV)/bin/quest-runtime serve

test: $(VENV)/.installed
	$(VENV)/bin/pytest

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy quest_runtime bridge_protocol tests bench tools
	$(VENV)/bin/pytest -q tests/test_structure.py

# The engine bench and the HTTP bench (service vs. floor), one table (~5 min; QUICK=1 ~3 min)
bench: $(VENV)/.installed
	$(PY) bench/report.py $(if $(QUICK),--quick)
