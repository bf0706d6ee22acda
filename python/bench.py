"""Benchmark of the Python binding: 100 layers of 1000x1000 float32 through
ArrowQuantV2.quantize_batch, against (a) a vectorised numpy implementation of
the same group quantization and (b) quantize_batch called one layer at a time;
both with scales as lists (the contract) and as arrays (as_numpy=True).

    make python && /usr/bin/python3 python/bench.py [--layers 100] [--runs 5]

Prints the median wall time of each over several runs and the ratios. The
numpy version does the same work per group (min and max, scale, zero point,
codes, bit packing, results as bytes and lists) but stores its scales in
float32 rather than rounding them to float16 where possible, so its codes
differ from Go's in a few places; it is checked against the same error bound.
"""

import argparse
import os
import pathlib
import platform
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import arrowquant  # noqa: E402


def numpy_quantize(x, bits, group_size, as_numpy=False):
    """Quantize a 2-D float32 array like arrowquant, vectorised with numpy;
    scales and zero points as lists, or as arrays with as_numpy."""
    rows, cols = x.shape
    groups = -(-cols // group_size)
    pad = groups * group_size - cols
    # Repeating a row's last value fills its last group without changing its range.
    g = (np.pad(x, ((0, 0), (0, pad)), mode="edge") if pad else x).reshape(rows, groups, group_size)
    mn, mx = g.min(axis=2), g.max(axis=2)
    qmax = np.float32(2**bits - 1)
    scale = (mx - mn) / qmax
    constant = scale == 0
    scale[constant] = np.abs(mn[constant])
    scale[scale == 0] = 1
    zero = qmax / 2 - (mx + mn) / (2 * scale)
    zero[constant] = np.where(mn[constant] < 0, 1, -1)
    zero[constant & (mn == 0)] = 0
    q = g * (1 / scale)[..., None]
    q += (zero + np.float32(0.5))[..., None]
    np.clip(q, 0, qmax, out=q)
    codes = q.astype(np.uint8).reshape(rows, groups * group_size)[:, :cols]
    per_byte = 8 // bits
    cpad = -cols % per_byte
    if cpad:
        codes = np.pad(codes, ((0, 0), (0, cpad)))
    codes = codes.reshape(rows, -1, per_byte)
    packed = codes[..., 0].copy()
    for k in range(1, per_byte):
        packed |= codes[..., k] << np.uint8(k * bits)
    return {
        "quantized_data": packed.tobytes(),
        "scales": scale.ravel() if as_numpy else scale.ravel().tolist(),
        "zero_points": zero.ravel() if as_numpy else zero.ravel().tolist(),
        "shape": [rows, cols],
        "bit_width": bits,
        "group_size": group_size,
    }


def numpy_batch(weights, bits, group_size, as_numpy=False):
    return {name: numpy_quantize(weights[name], bits, group_size, as_numpy) for name in sorted(weights)}


def decode(r):
    """Decode a result in numpy, following the documented layout."""
    rows, cols = r["shape"]
    bits, gs = r["bit_width"], r["group_size"]
    raw = np.frombuffer(r["quantized_data"], np.uint8).reshape(rows, -1)
    per_byte = 8 // bits
    codes = np.stack([(raw >> (k * bits)) & (2**bits - 1) for k in range(per_byte)], axis=2).reshape(rows, -1)[:, :cols]
    s = np.repeat(np.asarray(r["scales"], np.float32).reshape(rows, -1), gs, axis=1)[:, :cols]
    z = np.repeat(np.asarray(r["zero_points"], np.float32).reshape(rows, -1), gs, axis=1)[:, :cols]
    return (codes.astype(np.float32) - z) * s, s


def median_time(f, runs):
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        f()
        times.append(time.perf_counter() - start)
    return statistics.median(times), times


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--layers", type=int, default=100)
    ap.add_argument("--rows", type=int, default=1000)
    ap.add_argument("--cols", type=int, default=1000)
    ap.add_argument("--bits", type=int, default=4)
    ap.add_argument("--group-size", type=int, default=128)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()

    rng = np.random.default_rng(0)
    weights = {f"layer.{i:03d}": rng.standard_normal((args.rows, args.cols), dtype=np.float32) for i in range(args.layers)}
    q = arrowquant.ArrowQuantV2()
    bits, gs = args.bits, args.group_size
    elements = args.layers * args.rows * args.cols

    # Both implementations must honour the bound |x - x_hat| <= s/2.
    first = next(iter(weights))
    x = weights[first]
    for name, r in (("arrowquant", q.quantize_batch({first: x}, bits, group_size=gs)[first]),
                    ("numpy", numpy_quantize(x, bits, gs))):
        xhat, s = decode(r)
        assert np.all(np.abs(x - xhat) <= s / 2 * (1 + 1e-5) + 1e-6 * np.abs(x)), name
    np.testing.assert_array_equal(decode(q.quantize_batch({first: x}, bits, group_size=gs)[first])[0],
                                  arrowquant.dequantize(q.quantize_batch({first: x}, bits, group_size=gs)[first]))

    print(f"python {platform.python_version()}, numpy {np.__version__}, {platform.machine()}, "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}")
    print(f"{args.layers} layers of {args.rows}x{args.cols} float32 ({elements * 4 / 2**20:.0f} MiB), "
          f"{bits} bits, groups of {gs}, median of {args.runs} runs\n")

    rows = []
    batch, _ = median_time(lambda: q.quantize_batch(weights, bits, group_size=gs), args.runs)
    rows.append(("arrowquant quantize_batch (one call)", batch))
    arrays, _ = median_time(lambda: q.quantize_batch(weights, bits, group_size=gs, as_numpy=True), args.runs)
    rows.append(("arrowquant quantize_batch, as_numpy=True", arrays))
    single, _ = median_time(
        lambda: [q.quantize_batch({n: a}, bits, group_size=gs) for n, a in weights.items()], args.runs)
    rows.append(("arrowquant quantize_batch (one layer per call)", single))
    ref, _ = median_time(lambda: numpy_batch(weights, bits, gs), args.runs)
    rows.append(("numpy, vectorised per layer", ref))
    ref_arrays, _ = median_time(lambda: numpy_batch(weights, bits, gs, as_numpy=True), args.runs)
    rows.append(("numpy, vectorised per layer, scales as arrays", ref_arrays))
    # What the list form costs both sides: turning every scale and zero
    # point into a Python float.
    params = [np.empty(2 * len(r["scales"]), np.float32) for r in q.quantize_batch(weights, bits, group_size=gs).values()]
    lists, _ = median_time(lambda: [p.tolist() for p in params], args.runs)
    rows.append(("(scales and zero points to lists alone)", lists))
    # The floor any implementation reads against: touching every input byte once.
    scratch = np.empty_like(x)
    floor, _ = median_time(lambda: [np.copyto(scratch, a) for a in weights.values()], args.runs)
    rows.append(("(memory floor: numpy copy of every layer)", floor))

    for name, t in rows:
        print(f"{name:48s} {t * 1e3:9.1f} ms  {t * 1e9 / elements:6.2f} ns/element")
    print()
    print(f"numpy / quantize_batch (lists, the contract): {ref / batch:6.1f}x  "
          f"(target >= 10x: {'met' if ref / batch >= 10 else 'NOT met'}; lists alone allow at most {ref / lists:.1f}x)")
    print(f"numpy / quantize_batch (as_numpy=True):       {ref_arrays / arrays:6.1f}x  "
          f"(target >= 10x: {'met' if ref_arrays / arrays >= 10 else 'NOT met'})")
    print(f"one layer per call / quantize_batch:          {single / batch:6.2f}x")
    print(f"numpy / memory floor:                         {ref / floor:6.1f}x  (the most any implementation could gain)")

if __name__ == "__main__":
    main()
