# Latent — the two commands a fresh Debian machine with Swift needs:
#   make demo   installs the system libraries, builds, and fits Old Faithful (bundled)
#   make test   installs the system libraries, builds, and runs the test suite
SWIFT ?= swift
# A plain release build, as a package that depends on Latent gets: the hot loops are C kernels built
# for baseline x86-64, AVX2 and AVX-512 and chosen when they load (Sources/LatentKernels), so the
# binary runs on any x86-64 machine at the speed of its widest vector unit. CPU_FLAGS adds compiler
# flags if you want them (e.g. CPU_FLAGS="-Xswiftc -target-cpu -Xswiftc native"; make bench shows
# what that gains).
CPU_FLAGS ?=
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
