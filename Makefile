# Two commands on a fresh machine (Python >= 3.10 and a C compiler):
#   make demo   set up .venv and run the main job on the bundled example
#   make test   set up .venv and run the whole test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test setup clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]' 'torch==2.13.0'
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	mkdir -p build
	$(BIN)/aicc inspect docs/examples/encoder.onnx
	$(BIN)/aicc import docs/examples/encoder.onnx -o build/encoder.ir
	$(BIN)/aicc opt build/encoder.ir -O2 --print-ir-after all --stats --time-passes -o build/encoder.opt.ir
	$(BIN)/aicc run build/encoder.opt.ir --seed 0


test: $(STAMP)
	$(BIN)/python -m pytest -q -n 2 tests

clean:
	rm -rf $(VENV) build *.egg-info
