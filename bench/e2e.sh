#!/usr/bin/env bash
# End-to-end benchmark of `arrowquant quantize`: generates a float16 model in a
# temporary folder (default 268M parameters, 512 MiB), quantizes it to 4 bits with
# 1 worker and with all workers, and reports params/s and the peak anonymous
# memory (RssAnon: heap and stacks, not the memory-mapped model) of each run.
#
#   bash bench/e2e.sh [PARAMS] [LAYER] [RUNS]
#
# Not part of the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
params=${1:-268435456}
layer=${2:-4096x4096}
runs=${3:-3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/arrowquant" ./cmd/arrowquant
go run ./bench/genmodel -params "$params" -layer "$layer" -dtype F16 -o "$tmp/model.safetensors"
model_bytes=$(stat -c %s "$tmp/model.safetensors")
cat "$tmp/model.safetensors" > /dev/null # into the page cache: measure quantization, not the disk
echo "model: $params params as F16, layers $layer, $model_bytes bytes; $(nproc) cores; $(go version)"

# peak_rss_anon PID: the largest RssAnon (kB) seen while PID runs (an
# exited child stays a zombie until waited for, hence the State check).
peak_rss_anon() {
	local pid=$1 peak=0 v
	while [ "$(awk '/^State:/ {print $2}' "/proc/$pid/status" 2>/dev/null)" != Z ] && [ -e "/proc/$pid" ]; do
		v=$(awk '/^RssAnon:/ {print $2}' "/proc/$pid/status" 2>/dev/null)
		if [ -n "$v" ] && [ "$v" -gt "$peak" ]; then peak=$v; fi
		sleep 0.01
	done
	echo "$peak"
}

for workers in 1 "$(nproc)"; do
	for run in $(seq "$runs"); do
		rm -f "$tmp/out.safetensors"
		start=$(date +%s.%N)
		"$tmp/arrowquant" quantize "$tmp/model.safetensors" -o "$tmp/out.safetensors" --bits 4 --workers "$workers" --quiet &
		pid=$!
		peak=$(peak_rss_anon "$pid")
		end=$(date +%s.%N)
		wait "$pid"
		awk -v w="$workers" -v r="$run" -v s="$start" -v e="$end" -v p="$params" -v k="$peak" -v m="$model_bytes" 'BEGIN {
			t = e - s
			printf "workers=%s run=%s  %.3f s  %.1f M params/s  peak RssAnon %.1f MiB (%.1f%% of the model)\n", w, r, t, p / t / 1e6, k / 1024, 100 * k * 1024 / m
		}'
	done
done
