#!/usr/bin/env bash
# End-to-end benchmark of `arrowquant quantize`: generates a float16 model in a
# temporary folder (default 268M parameters, 512 MiB), quantizes it to 4 bits with
# 1 worker and with all workers (alternately, RUNS times each), and reports the
# median params/s of each, their ratio, and the peak anonymous memory (RssAnon:
# heap and stacks, not the memory-mapped model) of a separate run of each.
#
#   bash bench/e2e.sh [PARAMS] [LAYER] [RUNS]
#
# Not part of the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
params=${1:-268435456}
layer=${2:-4096x4096}
runs=${3:-21}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
CGO_ENABLED=0 go build -o "$tmp/arrowquant" ./cmd/arrowquant # static: no dynamic loader at start
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

clean() { # the previous output removed, and the removal on disk, before the next run
	rm -f "$tmp/out.safetensors"
	sync -f "$tmp"
}
quantize=("$tmp/arrowquant" quantize "$tmp/model.safetensors" -o "$tmp/out.safetensors" --bits 4 --quiet)

# Timed runs, 1 worker and all workers alternately so that both see the same
# noise, with nothing else running: the memory monitor below starts a process
# every 10 ms, which would take CPU from the run that uses every core.
all=$(nproc)
for run in $(seq "$runs"); do
	for workers in 1 "$all"; do
		clean
		start=${EPOCHREALTIME/./} # microseconds, without starting a process as date would
		"${quantize[@]}" --workers "$workers"
		end=${EPOCHREALTIME/./}
		echo "$workers $((end - start))" >> "$tmp/times"
	done
done
median() { # median WORKERS: median microseconds of that worker count's runs
	awk -v w="$1" '$1 == w { print $2 }' "$tmp/times" | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
for workers in 1 "$all"; do
	awk -v w="$workers" -v p="$params" -v m="$(median "$workers")" '
		$1 == w { runs = runs sprintf(" %.3f", $2 / 1e6); n++ }
		END { printf "workers=%s  median of %d: %.3f s  %.1f M params/s  (runs:%s)\n", w, n, m / 1e6, p / m, runs }' "$tmp/times"
done
awk -v one="$(median 1)" -v all="$(median "$all")" -v n="$all" 'BEGIN { printf "%s workers vs 1: %.2fx (ratio of the medians)\n", n, one / all }'
# The same from each pair of neighbouring runs, which drift in the machine's
# speed affects less than the medians above: their median and range.
awk -v n="$all" '$1 == 1 { one = $2 } $1 == n { print one / $2 }' "$tmp/times" | sort -n |
	awk -v n="$all" '{ v[NR] = $1 } END { printf "%s workers vs 1, run by run: median %.2fx, from %.2fx to %.2fx\n", n, (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2, v[1], v[NR] }'

# Peak memory, from separate monitored runs.
for workers in 1 "$all"; do
	clean
	"${quantize[@]}" --workers "$workers" &
	pid=$!
	peak=$(peak_rss_anon "$pid")
	wait "$pid"
	awk -v w="$workers" -v k="$peak" -v m="$model_bytes" 'BEGIN {
		printf "workers=%s  peak RssAnon %.1f MiB (%.1f%% of the model)\n", w, k / 1024, 100 * k * 1024 / m
	}'
done
