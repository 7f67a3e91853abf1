# Two commands on a fresh machine: `make demo` and `make test`. Both create .venv when missing, install CPU torch
# first (a plain `pip install torch` would pull a multi-GB CUDA build), then the package; a second run is quick.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
TORCH := torch==2.13.0
STAMP := $(VENV)/.installed
QUESTION ?= What is the comparative efficacy of PRP micro-needling versus exosome micro-needling for facial skin improvement?
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: install demo test lint bench-ingest bench-retrieval bench-answer bench-judge bench-eval bench-api bench-scale bench-fuzz bench-generative chroma-server clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/python -m pip install -q $(TORCH)
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/rag ingest corpus/
	$(BIN)/rag stats
	$(BIN)/rag ask "$(QUESTION)"
	@echo "Web page: run \`$(BIN)/rag serve\`, then open http://127.0.0.1:8000/"

EVAL_DIR := .rag/eval-gate
GATES := --fail-under citation_validity=1.0 --fail-under section_routing=1.0 --fail-under citation_recall=0.95

# Three workers (pytest-xdist) on two cores: each worker waits about a quarter of its time on servers, child
# processes and sleeps, which a third worker fills (two workers: 239 s, three: 210 s, four: 212 s). Tests that share
# an expensive fixture run on one worker (tests/conftest.py).
# Bytecode is written during the tests even where PYTHONDONTWRITEBYTECODE is set: the tests start ~100 Python
# processes that import the project (each compiled it from source, ~0.3 s of CPU), and each worker rewrote the
# assertions of every test module (~4 s).
# The tests' files go to a RAM disk where there is one with 2 GB free (/dev/shm; a container's default is 64 MB):
# they create over a thousand SQLite and Chroma stores, whose writes waited on the disk. A passing test's folder is
# deleted when it ends (tmp_path_retention_policy=failed): the RAM disk held 400 MB at most, and nothing once the
# suite passed; a failed test's folder is kept.
TEST_WORKERS ?= 3
TEST_TMP := $(shell test -d /dev/shm -a -w /dev/shm && df -Pk /dev/shm | awk 'NR == 2 && $$4 > 2000000 {print "/dev/shm"}')
test: install
	PYTHONDONTWRITEBYTECODE= $(if $(TEST_TMP),TMPDIR=$(TEST_TMP) )$(BIN)/python -m pytest -n $(TEST_WORKERS) \
		-o tmp_path_retention_policy=failed
	$(BIN)/rag ingest corpus/ --prune --data-dir $(EVAL_DIR) --json > /dev/null
	$(BIN)/rag eval evals/datasets/starter.jsonl --data-dir $(EVAL_DIR) --out $(EVAL_DIR)/report $(GATES)

lint: install
	$(BIN)/ruff check rag api evals tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

bench-ingest: install
	$(BIN)/python bench/ingest.py

bench-retrieval: install
	$(BIN)/python bench/retrieval.py

bench-answer: install
	$(BIN)/python bench/answer.py

bench-judge: install
	$(BIN)/python bench/judge.py

bench-eval: install
	$(BIN)/python bench/eval.py

bench-api: install
	$(BIN)/python bench/api_load.py

bench-scale: install
	$(BIN)/python bench/scale.py

# Needs a model server: LLM_BASE_URL=$(../shared/tools/local-llm.sh | sed -n 's/.*base_url=\([^ ]*\).*/\1/p')
LLM_BASE_URL ?= http://127.0.0.1:8799/v1
bench-generative: install
	$(BIN)/python bench/generative.py --base-url $(LLM_BASE_URL)

bench-fuzz: install
	$(BIN)/python bench/fuzz.py $(FUZZ_ARGS)

# A Chroma server on 127.0.0.1 for server mode: then `export RAG_CHROMA_URL=http://127.0.0.1:$(CHROMA_PORT)`.
CHROMA_PORT ?= 8001
chroma-server: install
	$(BIN)/chroma run --path .rag/chroma-server --host 127.0.0.1 --port $(CHROMA_PORT)

clean:
	rm -rf .rag build *.egg-info
