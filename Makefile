# Every target but `clean` runs hack/bootstrap.sh first: it creates .venv, installs what is
# missing and installs the collection into build/collections, and is safe to re-run.
VENV := .venv
PY := $(VENV)/bin/python
BOOTSTRAP := bash hack/bootstrap.sh

.PHONY: help demo test sanity units integration system bench reliability changelog docs lint galaxy ee matrix matrix-ci clean

help:
	@echo "make demo         local etcd + APIG simulator: refresh, sync, drift check"
	@echo "make test         everything CI runs (sanity, units, integration, system, changelog lint, ...)"
	@echo "make sanity       ansible-test sanity on a copy of the collection"
	@echo "make units        unit tests"
	@echo "make integration  ansible-test integration: the smoke targets in tests/integration/targets"
	@echo "make system       the system suites (pytest, tests/system: without the slow ones; WORKERS=3)"
	@echo "make bench        benchmarks (ARGS=\"--report\": the before/after report; ARGS=\"--list\")"
	@echo "make reliability  the slow suites (large data sets, repeated faults)"
	@echo "make changelog    lint the fragments and preview the next release's notes"
	@echo "make docs         the HTML docs site (modules, role, guides) in build/docs/build/html"
	@echo "make lint         ansible-lint --profile production on the collection and its built tarball"
	@echo "make galaxy       galaxy-importer (Galaxy's own import checks) on a freshly built tarball"
	@echo "make ee           ansible-builder: the execution environment's build context and requirements"
	@echo "make matrix       the tested matrix (noxfile.py): ansible-core 2.16-2.19, target Pythons, module hosts, sanity"
	@echo "make clean        remove .venv, build/ and caches"

demo:
	$(BOOTSTRAP)
	bash hack/demo.sh

# hack/test.sh runs bootstrap as its first stage.
test:
	bash hack/test.sh

sanity:
	$(BOOTSTRAP)
	bash hack/sanity.sh

units:
	$(BOOTSTRAP)
	$(PY) -m pytest tests/unit

integration:
	$(BOOTSTRAP)
	bash hack/integration.sh $(ARGS)

# pytest-xdist workers: the suites mostly wait on servers and ansible-playbook start-up, so
# more workers than cores pay off. WORKERS=0 runs them in this process, one after the other.
WORKERS ?= 3
system:
	$(BOOTSTRAP)
	$(PY) -m pytest -n $(WORKERS) --dist loadgroup tests/support/tests tests/system -m "not slow" $(ARGS)

bench:
	$(BOOTSTRAP)
	bash hack/bench.sh $(ARGS)

reliability:
	$(BOOTSTRAP)
	$(PY) -m pytest -m slow

# The preview runs `antsibull-changelog release` on a throw-away copy, so nothing here
# changes; it finds plugins with ansible-doc, hence the venv on PATH.
changelog:
	$(BOOTSTRAP)
	$(VENV)/bin/antsibull-changelog lint
	@set -e; root=$$PWD; tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	dest=$$tmp/ansible_collections/apigw/router; mkdir -p "$$dest"; \
	for p in galaxy.yml changelogs meta plugins roles; do if [ -e "$$p" ]; then cp -r "$$p" "$$dest"/; fi; done; \
	cd "$$dest"; PATH="$$root/$(VENV)/bin:$$PATH" "$$root/$(VENV)/bin/antsibull-changelog" release; \
	echo "--- release preview (nothing in the checkout changed) ---"; cat CHANGELOG.md

# The judges run from their own venv (build/venv-judges, requirements-judges.txt); the
# tarball they judge is built from the checkout by hack/judges.sh itself.
lint:
	bash hack/judges.sh lint

galaxy:
	bash hack/judges.sh galaxy

ee:
	$(BOOTSTRAP)
	$(PY) -m pytest tests/system/test_execution_environment.py

# Every cell uses the collection that bootstrap installed into build/collections.
# `make matrix NOX_ARGS="-s smoke-2.16"` runs one session; `nox -l` lists them.
matrix:
	$(BOOTSTRAP)
	$(VENV)/bin/nox -f noxfile.py $(NOX_ARGS)

# What CI runs of the matrix: the oldest cell, ansible-core 2.16 with the modules on RHEL 9's
# Python and packages (the newest is the main suite).
matrix-ci:
	$(BOOTSTRAP)
	$(VENV)/bin/nox -f noxfile.py -s host-rhel9

# hack/docs.sh bootstraps, installs requirements-docs.txt and builds with antsibull-docs + Sphinx.
docs:
	bash hack/docs.sh build

clean:
	bash hack/sanity.sh --clean
	rm -rf $(VENV) build tests/output .pytest_cache .hypothesis .ansible changelogs/.plugin-cache.yaml
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
