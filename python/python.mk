# The Python binding (python/README.md): `make python` builds the Go shared
# library the arrowquant package loads, `make pytest` runs its tests. Included
# by the top-level Makefile, which defines GO and PYTHON first.

PYTHON_LIB := python/arrowquant/_lib/libarrowquant.so
# Everything the library is built from; a change to any of it rebuilds it.
PYTHON_LIB_SRC := $(filter-out %_test.go,$(wildcard python/capi/*.go quant/*.go quant/*.s batch/*.go batch/*.s)) go.mod go.sum

.PHONY: python pytest python-check

python: $(PYTHON_LIB)

$(PYTHON_LIB): $(PYTHON_LIB_SRC)
	$(GO) build -buildmode=c-shared -trimpath -o $@ ./python/capi

# The tests need numpy and pytest in $(PYTHON); say so plainly instead of
# failing on an import deep in a test.
python-check:
	@$(PYTHON) -c 'import numpy, pytest' 2>/dev/null || { \
		echo "python.mk: $(PYTHON) lacks numpy or pytest: install them (Debian: apt-get install python3-numpy python3-pytest) or run make PYTHON=/path/to/python3"; \
		exit 1; }

pytest: python python-check
	GO="$(GO)" $(PYTHON) -m pytest -q python/tests

TEST_TARGETS += pytest
