# Two commands do everything on a fresh machine (Python 3.11 and make):
#   make demo   create .venv, install, run the main job (GPU=1: with CUDA)
#   make test   create .venv, install with the test tools, run every test
#   make lab    install JupyterLab into .venv and open the notebooks
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Hold back TensorFlow's C++ log lines below errors. TensorFlow 2.21 writes its
# start-up lines (oneDNN, "Could not find cuda drivers") before this setting
# applies; the CLI and the notebooks import TensorFlow through
# tf_models.startup.import_tensorflow, which holds those back too.
export TF_CPP_MIN_LOG_LEVEL ?= 3

.PHONY: demo test lab notebooks install install-dev install-gpu install-lab clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Stamp files make reinstalling happen only when the requirements change.
$(VENV)/.installed: $(BIN)/python requirements.txt pyproject.toml
	$(BIN)/pip install --quiet -r requirements.txt -e .
	touch $@

# NVIDIA GPUs (Linux): TensorFlow's CUDA libraries as wheels. `make demo GPU=1`.
$(VENV)/.installed-gpu: $(VENV)/.installed requirements-gpu.txt
	$(BIN)/pip install --quiet -r requirements-gpu.txt
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

# The notebook tools: JupyterLab and a kernel, without the test-only packages.
$(VENV)/.installed-lab: $(VENV)/.installed requirements-lab.txt
	$(BIN)/pip install --quiet -r requirements-lab.txt
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev
install-gpu: $(VENV)/.installed-gpu
install-lab: $(VENV)/.installed-lab

demo: install $(if $(filter 1,$(GPU)),install-gpu)
	$(BIN)/python -m tf_models demo

# Opens the notebooks in JupyterLab (the kernel is this .venv's Python).
lab: install-lab
	$(BIN)/jupyter lab notebooks

# Two test processes: most test time is single-threaded graph tracing, so two
# use both cores. The notebooks run in the same two processes, with
# TF_MODELS_QUICK=1 (small settings), on copies (nbmake writes nothing back).
# Whole files go to one process (loadfile), so a file's module and session
# fixtures (the seven exports of test_export.py) are built once.
# tests/test_docs.py also builds docs/ with `mkdocs build --strict` and checks
# the pages' numbers against benchmarks/results (tools/results_blocks.py).
# `make test TEST_PATHS=tests/test_cli.py` runs some of them.
TEST_PATHS ?= tests tf_models tools notebooks
# The tests run on the CPU even where a GPU is (CUDA_VISIBLE_DEVICES=): their
# numbers and the refusals of GPU settings without a GPU are the CPU's.
# Then the layer tests again under the JAX backend (the layers and models are
# keras.ops only, for GPU machines with JAX and no TensorFlow);
# `make test JAX_TEST_PATHS=` leaves them out.
JAX_TEST_PATHS ?= tests/test_attention.py tests/test_dropout.py tests/test_embeddings.py tests/test_feed_forward.py \
	tests/test_masking.py tests/test_position.py tests/test_transformer_encoder.py tests/test_transformer_decoder.py
test: install-dev
	CUDA_VISIBLE_DEVICES= TF_MODELS_QUICK=1 $(BIN)/python -m pytest -n 2 --dist loadfile -p no:cacheprovider \
		--nbmake --nbmake-timeout=600 --durations=25 $(PYTEST_ARGS) $(TEST_PATHS)
	$(if $(strip $(JAX_TEST_PATHS)),CUDA_VISIBLE_DEVICES= KERAS_BACKEND=jax JAX_PLATFORMS=cpu $(BIN)/python -m pytest \
		-n 2 --dist loadfile -p no:cacheprovider $(PYTEST_ARGS) $(JAX_TEST_PATHS))

# Runs every notebook in full mode and saves its outputs into the committed
# file (about an hour on a 2-core CPU); NOTEBOOKS="03 05" runs some of them.
notebooks: install-dev
	$(BIN)/python notebooks/run_all.py $(NOTEBOOKS)

clean:
	rm -rf $(VENV) .pytest_cache
