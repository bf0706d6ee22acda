"""arrowquant: asymmetric group quantization of float32 weights to 2, 4 or 8
bits, computed by the Go library of this repository through a small C ABI.

    import numpy as np
    import arrowquant

    q = arrowquant.ArrowQuantV2()
    out = q.quantize_batch({"w": np.random.randn(256, 512).astype(np.float32)}, bit_width=4)
    w_hat = arrowquant.dequantize(out["w"])

Arrays are read in place (no copy), on all cores, with the GIL released.
Processes: the package refuses to run in a child made by fork(); use the
multiprocessing 'spawn' or 'forkserver' start methods. One Go shared library
per process. See python/README.md.
"""

from . import _quantize

__all__ = ["ArrowQuantV2", "dequantize"]

MODES = ("diffusion", "base")


class ArrowQuantV2:
    """A quantizer. It holds no state but its mode.

    mode is accepted for compatibility with earlier versions of this API:
    "diffusion" (the default) and "base" are accepted and both quantize in
    exactly the same way, because there is one quantizer; any other string is
    a ValueError and any other type a TypeError, rather than being ignored.
    """

    def __init__(self, mode="diffusion"):
        if not isinstance(mode, str):
            raise TypeError(f"mode must be a str, got {type(mode).__name__}")
        if mode not in MODES:
            raise ValueError(f"Invalid mode: {mode!r}. Must be one of {', '.join(map(repr, MODES))}")
        self.mode = mode

    def __repr__(self):
        return f"ArrowQuantV2(mode={self.mode!r})"

    def quantize_batch(self, weights_dict, bit_width=4, continue_on_error=False, group_size=128, *, as_numpy=False):
        """Quantize every array of weights_dict (layer name -> C-contiguous
        float32 numpy.ndarray of rank >= 1) and return a dict sorted by name:

            {name: {"quantized_data": bytes, "scales": [float], "zero_points": [float],
                    "shape": [int], "bit_width": int, "group_size": int}}

        Each row (last dimension) is cut into groups of group_size columns;
        every group has a scale s and zero point z, and x is stored as the code
        q = clamp(round(x/s + z), 0, 2**bit_width - 1), which decodes to
        (q - z)*s with |x - (q - z)*s| <= s/2. quantized_data packs the codes
        row by row, every row starting on a byte, column c at bit c*bit_width
        of the row, least significant bits first. scales and zero_points are
        row-major [rows, ceil(cols/group_size)].

        as_numpy=True returns scales and zero_points as flat float32
        numpy.ndarrays holding the same values, the very buffers Go filled:
        building Python lists of millions of floats costs as much as the
        quantization itself, and most callers turn them back into arrays.

        Raises ValueError for an invalid bit_width (2, 4 or 8) or group_size
        (>= 1), and, naming every bad layer at once, for keys that are not
        str, values that are not numpy arrays, dtypes other than float32,
        arrays that are not C-contiguous, empty or 0-d arrays and NaN or Inf
        (with its flat index). With continue_on_error=True bad layers are
        skipped instead, with one warning that lists them.

        Ctrl-C cancels the Go work within milliseconds and raises
        KeyboardInterrupt. Arrays must not be modified during the call.
        """
        return _quantize.quantize_batch(weights_dict, bit_width, group_size, continue_on_error, None, as_numpy, 3)

    def quantize_batch_with_progress(
        self, weights_dict, bit_width=4, progress_callback=None, continue_on_error=False, group_size=128, *,
        as_numpy=False,
    ):
        """quantize_batch, calling progress_callback(layer_name, fraction) on
        the calling thread once per layer the engine settles (quantized, or
        failed in Go: NaN, Inf, empty, 0-d), in completion order. Fractions
        count elements, never decrease, and the last is exactly 1.0. Layers
        refused before the engine (wrong type, dtype or layout) are not
        reported. An exception raised by the callback becomes a RuntimeWarning
        and the batch goes on; KeyboardInterrupt cancels it. The results are
        identical to quantize_batch's.
        """
        return _quantize.quantize_batch(
            weights_dict, bit_width, group_size, continue_on_error, progress_callback, as_numpy, 3
        )


def dequantize(result):
    """Decode one layer's result dict (as returned by quantize_batch) to a
    float32 numpy.ndarray of the original shape, with the Go decoder: element
    (r, c) is (q - z)*s computed in float32, the group g = c // group_size."""
    return _quantize.dequantize(result)
