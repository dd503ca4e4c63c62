# Two entry points for a fresh machine (see README): `make book` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin

.PHONY: book test chapters benchmark comparison repository-url clean

# chapter 9's comparison: every model x split x seed, one `fser train` each (hours on a
# 2-core CPU; finished runs are skipped), then the small result files into results/beyond
MODELS ?= fser logmel-cnn tcn svm-egemaps svm-compare
SPLITS ?= paper speaker
SEEDS  ?= 42 1 2
# the log-mel networks ran 40 epochs in that comparison, before their recipe grew to 120
CNN_EPOCHS ?= 40

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
	FSER_EMBED_AUDIO=0 FSER_PROFILE=$${FSER_PROFILE:-quick} $(BIN)/jupyter nbconvert --to notebook --execute \
	  --inplace --ExecutePreprocessor.timeout=-1 book/*.ipynb

# needs FSER_DATA pointing at the corpora; writes benchmarks/results/*.json
benchmark: $(BIN)/python
	$(BIN)/python benchmarks/bench_features.py
	$(BIN)/python benchmarks/bench_training.py

comparison: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	for m in $(MODELS); do for s in $(SPLITS); do for n in $(SEEDS); do \
	  case $$m in logmel-cnn*) e="--epochs $(CNN_EPOCHS)";; *) e="";; esac; \
	  $(BIN)/fser train --model $$m --split $$s --seed $$n $$e --quiet || exit 1; done; done; done
	$(BIN)/python -m fser_utils.studies.compare --export

# the repository's address is set once, in pyproject.toml ([project.urls] Repository);
# `make repository-url URL=https://github.com/NAME/fser` changes it there and wherever it
# is repeated: README.md, book/intro.md, _config.yml and every chapter's set-up cell
repository-url:
	@test -n "$(URL)" || { echo "usage: make repository-url URL=https://github.com/NAME/fser"; exit 2; }
	@old=$$(sed -n 's/^Repository = "\(.*\)"/\1/p' pyproject.toml); \
	  sed -i "s|$$old|$(URL)|g" pyproject.toml README.md book/intro.md _config.yml book/*.ipynb book/src/*.md; \
	  echo "repository URL: $$old -> $(URL)"

clean:
	rm -rf _build
