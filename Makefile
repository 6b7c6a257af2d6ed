# rollbench's build. Everything cgo needs is derived from the interpreter in
# PYTHON, so the same commands build against the project's .venv here and a
# conda environment on an Ascend host: make PYTHON=/opt/conda/bin/python build
VENV_PYTHON := $(CURDIR)/.venv/bin/python
PYTHON ?= $(VENV_PYTHON)
BIN := $(CURDIR)/bin/rollbench-inproc
VERSION := $(shell git describe --always --dirty 2>/dev/null || echo dev)
PKGCONFIG := $(CURDIR)/build/pkgconfig

export PKG_CONFIG_PATH := $(PKGCONFIG)
export ROLLBENCH_PYTHON := $(PYTHON)
GO_LDFLAGS := -X main.defaultPython=$(PYTHON) -X main.version=$(VERSION)
# Read when a recipe runs, after cgo has written the file.
GO := CGO_CPPFLAGS="$$(cat $(PKGCONFIG)/cgo_cppflags)" go

# The project's own environment is built on demand; any other interpreter is
# the user's to provide.
ifeq ($(PYTHON),$(VENV_PYTHON))
SETUP := setup
endif

# The engine on a CPU host with 2 cores: see README.md.
CPU_ENV := OMP_NUM_THREADS=2 VLLM_CPU_OMP_THREADS_BIND=nobind TORCHDYNAMO_DISABLE=1 VLLM_NO_USAGE_STATS=1

.PHONY: setup cgo build build-nopython demo test test-unit test-e2e check bench-offline bench-online bench-verdict bench-mismatch bench-ray lock clean

setup:
	scripts/setup-venv.sh

cgo: $(SETUP)
	$(PYTHON) scripts/cgoflags.py $(PKGCONFIG) $(CURDIR)/pyembed/compat

build: cgo
	$(GO) build -ldflags '$(GO_LDFLAGS)' -o $(BIN) ./cmd/rollbench-inproc

# The same command without the embedded interpreter (no cgo, no libpython):
# summarize, mock-server, tiny-model and --online work; the modes that embed
# Python refuse. See README.md.
build-nopython:
	CGO_ENABLED=0 go build -tags nopython -ldflags '$(GO_LDFLAGS)' -o $(BIN)-nopython ./cmd/rollbench-inproc

# The main job on the built-in tiny model, sized to finish in minutes on a
# CPU: 4 prompts x n=2, 128 + 64 tokens.
demo: build
	$(CPU_ENV) $(BIN) --num-prompts 4 -n 2 --input-len 128 --output-len 64 --enforce-eager --kv-cache-memory 1GiB

check: cgo
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet ./...
	$(GO) vet -tags e2e ./cmd/rollbench-inproc

# Every test that needs no vLLM engine: Go (the embedded interpreter's own
# tests included) and pytest.
test-unit: build
	$(CPU_ENV) ROLLBENCH_BIN=$(BIN) $(GO) test -count=1 -timeout 10m ./...
	cd python && HF_HUB_OFFLINE=1 $(PYTHON) -m pytest -q tests

# The end-to-end runs of the built binary on real vLLM (build tag e2e);
# E2E=TestName runs the ones it matches.
E2E ?= .
test-e2e: build
	$(CPU_ENV) ROLLBENCH_BIN=$(BIN) $(GO) test -count=1 -timeout 70m -tags e2e -run '$(E2E)' -v ./cmd/rollbench-inproc

test: check test-unit test-e2e

# rollbench-inproc against `vllm bench throughput`, alternating, on the tiny
# model; writes benchmarks/offline.{md,json}.
bench-offline: build
	$(CPU_ENV) $(GO) run ./cmd/bench-offline --rollbench $(BIN) --vllm $(dir $(PYTHON))vllm

# Time to a bf16-vs-w8a8 verdict on the tiny model: --paired --repeat auto
# against the sequential matrix with --repeat 5, alternating, fresh
# processes; writes benchmarks/verdict.{md,json}.
bench-verdict: build
	$(CPU_ENV) $(GO) run ./cmd/bench-verdict --rollbench $(BIN)

# What --mismatch costs on the default workload: the scored pass and the HF
# reference's scoring over the measured generate, rollbench's default beside
# every sample scored; writes benchmarks/mismatch.{md,json}.
bench-mismatch: build
	$(CPU_ENV) $(GO) run ./cmd/bench-mismatch --rollbench $(BIN)

# What going through Ray costs a step: one engine in process against the
# same run with --data-parallel-size 1, alternating, fresh processes, on
# the tiny model; writes benchmarks/ray.{md,json}.
bench-ray: build
	$(CPU_ENV) $(GO) run ./cmd/bench-ray --rollbench $(BIN)

# rollbench's Go client against `vllm bench serve`, both driving the same
# instant server at concurrency 128 and 1024; writes benchmarks/online.{md,json}.
bench-online: build
	$(GO) run ./cmd/bench-online --rollbench $(BIN) --vllm $(dir $(PYTHON))vllm

# Re-resolve python/requirements-cpu.txt after editing requirements-cpu.in.
lock: $(SETUP)
	$(dir $(PYTHON))uv pip compile python/requirements-cpu.in \
		--override python/requirements-cpu-overrides.txt \
		--python-version 3.11 --python-platform x86_64-manylinux_2_28 \
		--no-header --no-annotate -o python/requirements-cpu.txt

clean:
	rm -rf bin build
