# `make demo` and `make test` work on a fresh machine: each creates .venv and installs first.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
# npm ci again only when node_modules is gone or package-lock.json changed since.
NODE_STAMP := node_modules/.installed-stamp
CHROMIUM := /usr/bin/chromium
# `make report PACK=reports/demo/...` picks a pack; empty means the newest under reports/.
PACK ?=

.PHONY: demo test test-setup report install clean

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[test]"
	touch $(STAMP)

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $(NODE_STAMP)

# The demo organization is non-compliant on purpose: pytest exits 1 because it found
# failures, which is the suite working. Any other non-zero code is a real problem.
demo: $(STAMP)
	@$(PY) -m pytest --profile demo $(ARGS); code=$$?; \
	if [ $$code -eq 1 ]; then echo "make demo: findings reported as expected (pytest exit code 1 = non-compliant accounts found)"; exit 0; fi; \
	exit $$code

# Allure's single-file HTML report of a pack, built with the Allure 3 command line from package.json.
report: $(STAMP) $(NODE_STAMP)
	$(VENV)/bin/rootguard report $(PACK)

# What rootguard's own tests use besides Python: the Allure command line (tests/test_allure.py)
# and Debian's headless Chromium (tests/test_report_html.py). CI runs as root on a fresh Debian
# machine, so both get installed; elsewhere the tests say what is missing (and fail when CI=true).
test-setup:
	@if command -v npm >/dev/null; then $(MAKE) -s --no-print-directory $(NODE_STAMP); \
	else echo "make test-setup: npm is missing; the Allure report test needs node and npm"; fi
	@if [ -x $(CHROMIUM) ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "make test-setup: installing chromium (Debian package) for tests/test_report_html.py"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null; \
	else \
		echo "make test-setup: $(CHROMIUM) is missing and cannot be installed here (needs root and apt-get)"; \
	fi

# Two workers: the tests are mostly whole suite runs on moto, CPU-bound, and CI has two cores.
# Their lengths differ a hundredfold (a wheel built and installed, a sweep in four modes), so
# an idle worker takes tests from the other's share (worksteal) instead of waiting.
test: $(STAMP) test-setup
	$(PY) -m pytest tests -p pytester -n 2 --dist worksteal $(ARGS)

clean:
	rm -rf $(VENV) reports node_modules

# The scale benchmark (benchmarks/scale.py, minutes per size): a measurement, not a test, so
# `make test` never runs it. `make bench ARGS="--accounts 10,100"` picks the sizes.
.PHONY: bench
bench: $(STAMP)
	$(PY) benchmarks/scale.py $(ARGS)

# What pytest with its reports, botocore and the moto server cost alone for an organization of
# N accounts (benchmarks/floor.py): the least wall time any sweep can take on this machine.
.PHONY: bench-floor
bench-floor: $(STAMP)
	$(PY) benchmarks/floor.py $(ARGS)

# Mutation testing of the controls' rules and the facts' readers against the flat rule tests
# (pyproject.toml [tool.mutmut]): a measurement of the tests, not a test, so CI never runs it.
# tests/README.md keeps the last result and why each surviving mutant is left.
.PHONY: mutation
mutation: $(STAMP)
	$(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[test,mutation]"
	rm -rf mutants
	$(VENV)/bin/mutmut run || true
	$(VENV)/bin/mutmut results
