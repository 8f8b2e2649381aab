# Latent — the two commands a fresh Debian machine with Swift needs:
#   make demo   installs the system libraries, builds, and fits Old Faithful (bundled)
#   make test   installs the system libraries, builds, and runs the test suite
SWIFT ?= swift
ARCH := $(shell uname -m)
# Plain release builds emit SSE2 only; AVX2/FMA makes the SIMD kernels ~3x faster (DESIGN.md §4).
# Only where the CPU has AVX2 and FMA, so the binary runs on the machine that built it.
HAS_AVX2 := $(shell grep -qw avx2 /proc/cpuinfo 2>/dev/null && grep -qw fma /proc/cpuinfo && echo yes)
ifeq ($(ARCH)$(HAS_AVX2),x86_64yes)
CPU_FLAGS ?= -Xswiftc -target-cpu -Xswiftc haswell
endif
BUILD_FLAGS := -c release $(CPU_FLAGS)
LATENT := .build/release/latent
SUDO := $(shell [ "$$(id -u)" = 0 ] || command -v sudo >/dev/null 2>&1 && [ "$$(id -u)" != 0 ] && echo sudo)
SYSTEM_PACKAGES := libopenblas-dev liblapacke-dev

.PHONY: deps build demo test bench clean

deps:
	@if [ "$$(uname -s)" = Linux ] && ! dpkg -s $(SYSTEM_PACKAGES) >/dev/null 2>&1; then \
		echo "installing $(SYSTEM_PACKAGES)"; \
		$(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(SYSTEM_PACKAGES); \
	fi

build: deps
	$(SWIFT) build $(BUILD_FLAGS) --product latent

demo: build
	@echo "== Model selection on Old Faithful (Data/faithful.csv): BIC for K = 1…6, four covariance types"
	$(LATENT) select gmm --data Data/faithful.csv --components 1-6 --covariance all --restarts 3 --seed 1 --quiet
	@echo "== The two-cluster model, written to faithful-gmm.json"
	$(LATENT) fit gmm --data Data/faithful.csv --components 2 --covariance full --restarts 5 --seed 1 --quiet --output faithful-gmm.json

test: deps
	$(SWIFT) build $(BUILD_FLAGS) --build-tests
	$(SWIFT) test $(BUILD_FLAGS) --skip-build

# Side-by-side benchmarks against scikit-learn / hmmlearn / PyTorch; writes BENCHMARKS.md.
bench: build
	bench/run.sh

clean:
	rm -rf .build faithful-gmm.json
