# Two entry points for a fresh machine (see README): `make book` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin

.PHONY: book test chapters benchmark clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# the HTML book from the chapters' stored outputs (no data needed)
book: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[book]"
	$(BIN)/jupyter-book build . --path-output .
	@echo "book: open _build/html/index.html"

# unit tests, then every chapter re-executed by nbval on the configured data root
test: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test]"
	$(BIN)/python -m pytest --nbval-lax tests book

# re-execute every chapter in place on $$FSER_DATA with the book's training profile
chapters: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[book]"
	FSER_EMBED_AUDIO=0 FSER_PROFILE=$${FSER_PROFILE:-cpu} $(BIN)/jupyter nbconvert --to notebook --execute \
	  --inplace --ExecutePreprocessor.timeout=-1 book/*.ipynb

# needs FSER_DATA pointing at the corpora; writes benchmarks/results/*.json
benchmark: $(BIN)/python
	$(BIN)/python benchmarks/bench_features.py
	$(BIN)/python benchmarks/bench_training.py

clean:
	rm -rf _build
