# The one command that runs every test: make test
GO ?= go
# Debian's interpreter has numpy and pytest from apt; another python3 earlier
# on PATH may not.
PYTHON ?= /usr/bin/python3

.PHONY: all build test vet gotest bench bench-e2e bench-python clean

all: build

# Static (no cgo): the binary starts without the dynamic loader, ≈ 1 ms sooner.
build:
	CGO_ENABLED=0 $(GO) build -o bin/arrowquant ./cmd/arrowquant

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { gofmt -l .; echo "gofmt: files above need formatting"; exit 1; }
	$(GO) vet ./...

gotest:
	$(GO) test -race ./...
	$(GO) test -tags purego ./quant   # the portable kernels, which amd64 does not run by default

# Parts of the project add their own test targets to TEST_TARGETS in the
# fragments included below (the Python binding, the JavaScript readers).
TEST_TARGETS := vet gotest
-include python/python.mk
-include interop/interop.mk

test: $(TEST_TARGETS)

# The benchmarks of docs/BENCHMARKS.md, with the commands recorded there.
bench:
	$(GO) test -run '^$$' -bench 'QuantizeBlock|EncodeBlock|EncodeFloat16|Memcpy' -benchtime 100x -count 5 ./quant
	$(GO) test -run '^$$' -bench 'HundredLayers|OneBigLayer|Memcpy' -benchtime 5x -count 3 ./batch
	$(GO) test -run '^$$' -bench . -benchtime 3x -count 3 ./arrowio

bench-e2e:
	bash bench/e2e.sh

bench-python: python
	$(PYTHON) python/bench.py --runs 5

clean:
	rm -rf bin
