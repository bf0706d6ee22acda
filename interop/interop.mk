# Included by the top-level Makefile (which defines GO): `make interop` reads
# the Parquet and Arrow IPC result files with readers this project did not
# write (hyparquet, apache-arrow, from npm) and checks their values against
# the Go decoder. It needs Node.js 20+ and npm, and fails when they are
# missing rather than skipping.

INTEROP := interop
INTEROP_STAMP := $(INTEROP)/node_modules/.package-lock.json

.PHONY: interop interop-tools

interop-tools:
	@command -v node >/dev/null 2>&1 || { echo "interop: node is not installed (Node.js 20+ and npm are required)" >&2; exit 1; }
	@command -v npm >/dev/null 2>&1 || { echo "interop: npm is not installed (Node.js 20+ and npm are required)" >&2; exit 1; }

# npm ci writes node_modules/.package-lock.json: reinstall only when it is
# missing or older than the committed lockfile.
$(INTEROP_STAMP): $(INTEROP)/package-lock.json $(INTEROP)/package.json | interop-tools
	npm ci --prefix $(INTEROP) --no-audit --no-fund
	@touch $@

interop: interop-tools $(INTEROP_STAMP)
	@dir=$$(mktemp -d) && trap 'rm -rf "$$dir"' EXIT && \
	$(GO) run ./interop/gen -out "$$dir" && \
	INTEROP_DIR="$$dir" node --test $(INTEROP)/test/

TEST_TARGETS += interop
