# exactbn: `make demo` and `make test` work on a fresh machine; every step is idempotent.
SHELL := /bin/bash
PY    ?= python3
VENV  := .venv
BIN   := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: all setup demo test test-fast lint bench bench-solver bench-paths bench-sim bench-synth bench-asic bench-prove sweep fuzz clean

all: test

# Debian packages: iverilog (cocotb's second simulator, the kit's plain-Verilog bench),
# liblz4-dev (Verilator's FST waveform writer), ccache (shares Verilator build objects),
# gcc (the system C compiler that compiles the register map's C code in the tests).
APT_NEED = $(shell command -v iverilog >/dev/null || echo iverilog) \
           $(shell test -f /usr/include/lz4.h || echo liblz4-dev) \
           $(shell command -v ccache >/dev/null || echo ccache) \
           $(shell command -v cc >/dev/null || echo gcc) \
           $(shell command -v sta >/dev/null || echo opensta)
.PHONY: .deps-apt
.deps-apt:
	@if [ -n "$(strip $(APT_NEED))" ]; then \
	  echo "installing Debian packages: $(strip $(APT_NEED))"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $(APT_NEED) >/dev/null; \
	fi
	@command -v iverilog >/dev/null || { echo "iverilog is required (apt-get install iverilog)"; exit 1; }
	@command -v sta >/dev/null || { echo "OpenSTA is required (apt-get install opensta)"; exit 1; }

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev,torch,regmap,brevitas]'
	@rm -f $(VENV)/.installed-*; touch $@

# ASIC flow (synth --target asic, sim --netlist): OpenSTA (opensta, above) and the OSU
# standard cells, extracted from Debian's qflow-tech-osu* into .venv/asic with apt-get download
# + dpkg-deb -x: installing them would pull qflow and its old Yosys onto PATH.
ASIC_DIR   := $(VENV)/asic
ASIC_STAMP := $(ASIC_DIR)/.installed-osu
$(ASIC_STAMP):
	@mkdir -p $(ASIC_DIR)/deb
	@cd $(ASIC_DIR)/deb && rm -f *.deb && \
	  { apt-get download -qq qflow-tech-osu018 qflow-tech-osu035 qflow-tech-osu050 2>/dev/null || \
	    { if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; $$SUDO apt-get update -qq && \
	      apt-get download -qq qflow-tech-osu018 qflow-tech-osu035 qflow-tech-osu050; }; } && \
	  for f in *.deb; do dpkg-deb -x $$f ..; done
	@test -f $(ASIC_DIR)/usr/share/qflow/tech/osu018/osu018_stdcells.lib
	@touch $@

setup: .deps-apt $(STAMP) $(ASIC_STAMP)

demo: setup
	$(BIN)/exactbn demo -o demo

test: setup
	$(BIN)/python -m pytest -n 2 --dist loadgroup -q -ra

test-fast: setup
	$(BIN)/python -m pytest -n 2 -q -m "not sim and not formal and not synth"

lint: setup
	$(BIN)/ruff check .

bench: setup bench-solver bench-paths bench-sim
	$(BIN)/python -m bench.summary

bench-solver: setup
	$(BIN)/python -m bench.bench_solver

# exactbn solve / verify end to end (summary ON), file size, start-up: bench/results/solve.*
.PHONY: bench-solve
bench: bench-solve
bench-solve: setup
	$(BIN)/python -m bench.bench_solve

bench-paths: setup
	$(BIN)/python -m bench.bench_paths

# ResNet-18 through PT2E and onnxruntime, imported, solved, checked: bench/results/resnet18.*
.PHONY: bench-resnet18
bench: bench-resnet18
bench-resnet18: setup
	$(BIN)/python -m bench.bench_resnet18

bench-sim: setup
	$(BIN)/python -m bench.bench_sim

bench-synth: setup
	$(BIN)/python -m bench.bench_synth
	$(BIN)/python -m bench.bench_threshold

bench-asic: setup
	$(BIN)/python -m bench.bench_asic

bench-prove: setup
	$(BIN)/python -m bench.bench_prove

# sweep includes tests/fuzz/test_stress_bench.py's 1 M-beat stream stress runs (Icarus).
sweep: setup
	$(BIN)/python -m pytest -n 2 --dist loadgroup -q -ra -m slow

# Every fuzz case (mutated layer/solved/ONNX files, odd arguments; sim/prove/synth on the
# mutants they must refuse): summary and reproduction files in build/fuzz.
fuzz: setup
	$(BIN)/python -m fuzz --slow --max-generate 800 --max-slow 40 --jobs 2 -o build/fuzz

clean:
	rm -rf build sim_build .pytest_cache .ruff_cache
