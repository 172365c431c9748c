# Two commands on a fresh machine (Python >= 3.10 and a C compiler):
#   make demo   set up .venv and run the main job on the bundled example
#   make test   set up .venv and run the whole test suite
#   make bench  set up .venv and write benchmarks/RESULTS.md (ours vs onnxruntime / torch / numpy)
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test bench setup clean

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
	$(BIN)/aicc opt build/encoder.ir -O2 --stats -o build/encoder.opt.ir
	$(BIN)/aicc run build/encoder.opt.ir --seed 0
	$(BIN)/aicc compile docs/examples/encoder.onnx -O2 --time-passes -o build/encoder.aicc
	$(BIN)/aicc run build/encoder.aicc --seed 0 --outputs build/encoder.out.npz --bench 50


test: $(STAMP)
	$(BIN)/python -m pytest -q -n 2 tests

bench: $(STAMP)
	$(BIN)/python -m benchmarks.run

clean:
	rm -rf $(VENV) build *.egg-info
