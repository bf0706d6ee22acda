"""quantize_batch and dequantize: argument checks, the call into Go on a
helper thread, progress and cancellation on the calling thread."""

import ctypes
import numbers
import threading
import warnings
from collections.abc import Mapping

import numpy as np

from . import _abi

# PyBytes_FromStringAndSize(NULL, n) makes a bytes object whose contents the
# creator fills before anyone else sees it: Go writes the codes straight into
# the bytes returned as quantized_data, saving a copy of every layer's codes.
_new_bytes = ctypes.pythonapi.PyBytes_FromStringAndSize
_new_bytes.argtypes = (ctypes.c_void_p, ctypes.c_ssize_t)
_new_bytes.restype = ctypes.py_object

_ERROR_CAP = 512  # bytes of error message per layer
_POLL_SECONDS = 0.005  # how often the calling thread looks for progress
# Without a callback the calling thread only waits; it wakes now and then so a
# Ctrl-C that the kernel delivered to another thread is still seen promptly.
_WAIT_SECONDS = 0.1


def check_bit_width(bit_width):
    if isinstance(bit_width, bool) or not isinstance(bit_width, numbers.Integral) or bit_width not in (2, 4, 8):
        raise ValueError(f"Invalid bit_width: {bit_width!r}. Must be 2, 4, or 8")
    return int(bit_width)


MAX_GROUP_SIZE = 2**31 - 1  # the Go library's limit (python/capi/run.go)


def check_group_size(group_size):
    if (isinstance(group_size, bool) or not isinstance(group_size, numbers.Integral)
            or not 1 <= group_size <= MAX_GROUP_SIZE):
        raise ValueError(f"Invalid group_size: {group_size!r}. Must be an integer of at least 1 (and at most 2**31-1)")
    return int(group_size)


def _sort_key(key):
    # Layer names sort as str; keys that are not str (an error) after them.
    return (0, key, "") if isinstance(key, str) else (1, "", repr(key))


def _check_layer(key, value):
    """Return why the layer cannot go to Go, or None. Go checks the rest
    (shape, emptiness, NaN and Inf) and names the layer itself."""
    if not isinstance(key, str):
        return f"layer key {key!r} ({type(key).__name__}) is not a str: layer names must be str"
    if not isinstance(value, np.ndarray):
        return (
            f"layer {key!r}: expected a numpy.ndarray, got {type(value).__name__}; "
            "convert it with np.asarray(value, dtype=np.float32)"
        )
    if value.dtype != np.float32:
        return (
            f"layer {key!r}: dtype is {value.dtype}, but arrowquant quantizes (native-endian) "
            "float32 only; convert it with arr.astype(np.float32)"
        )
    if not value.flags.c_contiguous:
        return (
            f"layer {key!r}: the array is not C-contiguous (a transposed or strided view); "
            "make it contiguous with np.ascontiguousarray(arr)"
        )
    return None


class _Call:
    """One aq_quantize call: descriptors pointing at the caller's arrays and at
    output buffers allocated here. Everything Go touches is referenced by
    this object, which outlives the call."""

    def __init__(self, layers, bits, group_size, continue_on_error):
        n = len(layers)
        self.layers = layers  # [(name, array)], keeps the arrays alive
        self.bits, self.group_size = bits, group_size
        self.flags = _abi.CONTINUE_ON_ERROR if continue_on_error else 0
        self.descs = (_abi.Layer * n)()
        self.errors = ctypes.create_string_buffer(_ERROR_CAP * max(n, 1))
        self.entries = (_abi.Progress * max(n, 1))()
        self.control = _abi.Control(entries=ctypes.addressof(self.entries))
        self.message = ctypes.create_string_buffer(1024)
        self.outputs, self.keep = [], []
        errors_at = ctypes.addressof(self.errors)
        for i, (name, arr) in enumerate(layers):
            encoded = name.encode("utf-8", "surrogatepass")
            shape = (ctypes.c_int64 * max(arr.ndim, 1))(*arr.shape)
            codes_len, params_len = _sizes(arr.shape, bits, group_size)
            codes = _new_bytes(None, codes_len) if codes_len else b""
            scales = np.empty(params_len, np.float32)
            zero_points = np.empty(params_len, np.float32)
            self.keep += (encoded, shape)
            self.outputs.append((codes, scales, zero_points))
            d = self.descs[i]
            d.name, d.name_len = ctypes.cast(ctypes.c_char_p(encoded), ctypes.c_void_p).value, len(encoded)
            d.shape, d.ndim = ctypes.addressof(shape), arr.ndim
            d.data, d.nbytes = arr.ctypes.data, arr.nbytes
            d.codes, d.codes_len = ctypes.cast(codes, ctypes.c_void_p).value, codes_len
            d.scales, d.zero_points, d.params_len = scales.ctypes.data, zero_points.ctypes.data, params_len
            d.error, d.error_cap = errors_at + i * _ERROR_CAP, _ERROR_CAP

    def run(self):
        """Call Go on this thread (ctypes releases the GIL meanwhile); return its code."""
        return _abi.lib.aq_quantize(
            ctypes.addressof(self.descs), len(self.layers), self.bits, self.group_size, self.flags,
            ctypes.addressof(self.control), self.message, len(self.message),
        )

    def cancel(self):
        _abi.lib.aq_cancel(ctypes.addressof(self.control))

    def published(self):
        return _abi.lib.aq_published(ctypes.addressof(self.control))

    def layer_error(self, i):
        raw = ctypes.string_at(ctypes.addressof(self.errors) + i * _ERROR_CAP)  # Go NUL-terminates it
        return raw.decode("utf-8", errors="replace")


def _sizes(shape, bits, group_size):
    """Bytes of codes and number of scales of a tensor (0, 0 for one Go refuses)."""
    if len(shape) == 0 or any(d <= 0 for d in shape):
        return 0, 0
    cols = shape[-1]
    rows = 1
    for d in shape[:-1]:
        rows *= d
    return rows * ((cols * bits + 7) // 8), rows * (-(-cols // group_size))


def _run_in_thread(call, callback, warn_stacklevel):
    """Run call on a helper thread while this thread reports progress; on any
    exception here (KeyboardInterrupt included) cancel Go, wait for it and re-raise."""
    outcome = []

    def target():
        try:
            outcome.append(call.run())
        except BaseException as e:  # noqa: BLE001 - handed to the calling thread
            outcome.append(e)

    thread = threading.Thread(target=target, name="arrowquant-go", daemon=True)
    seen = 0
    try:
        thread.start()
        while True:
            # join returns as soon as Go is done, and raises KeyboardInterrupt on Ctrl-C.
            thread.join(_POLL_SECONDS if callback is not None else _WAIT_SECONDS)
            finished = not thread.is_alive()
            if callback is not None:
                published = call.published()
                while seen < published:
                    entry = call.entries[seen]
                    seen += 1
                    name = call.layers[entry.layer][0]
                    try:
                        callback(name, float(entry.fraction))
                    except Exception as e:  # noqa: BLE001 - a broken callback must not break the batch
                        warnings.warn(
                            f"progress_callback raised {type(e).__name__}: {e} (layer {name!r}); "
                            "the batch continues",
                            RuntimeWarning,
                            stacklevel=warn_stacklevel,
                        )
            if finished:
                break
    except BaseException:
        call.cancel()
        _join_until_done(thread)
        raise
    if isinstance(outcome[0], BaseException):
        raise outcome[0]
    return outcome[0]


def _join_until_done(thread):
    # Go writes into buffers this frame owns: never leave before it returns.
    # Cancellation makes that a matter of milliseconds.
    while thread.is_alive():
        try:
            thread.join()
        except KeyboardInterrupt:
            pass


def quantize_batch(weights, bit_width, group_size, continue_on_error, progress_callback, as_numpy, warn_stacklevel):
    _abi.check_process()
    bits = check_bit_width(bit_width)
    group_size = check_group_size(group_size)
    if not isinstance(weights, Mapping):
        raise ValueError(f"weights_dict must be a dict of layer name to numpy.ndarray, got {type(weights).__name__}")
    if progress_callback is not None and not callable(progress_callback):
        raise ValueError(f"progress_callback must be callable or None, got {type(progress_callback).__name__}")
    if not isinstance(as_numpy, bool):
        raise ValueError(f"as_numpy must be True or False, got {type(as_numpy).__name__}")

    problems = []  # (sort key, message)
    good = []
    for key, value in weights.items():
        problem = _check_layer(key, value)
        if problem is None:
            good.append((key, value))
        else:
            problems.append((_sort_key(key), problem))
    good.sort(key=lambda item: item[0])

    results = {}
    if good:
        call = _Call(good, bits, group_size, continue_on_error)
        code = _run_in_thread(call, progress_callback, warn_stacklevel + 1)
        if code not in (_abi.OK, _abi.ERR_LAYERS):
            text = _abi.message(call.message)
            if code == _abi.ERR_OPTION:
                raise ValueError(text)
            raise RuntimeError(f"arrowquant: the Go library failed (code {code}): {text}")
        for i, (name, arr) in enumerate(good):
            status = call.descs[i].status
            if status == _abi.LAYER_OK:
                codes, scales, zero_points = call.outputs[i]
                results[name] = {
                    "quantized_data": codes,
                    "scales": scales if as_numpy else scales.tolist(),
                    "zero_points": zero_points if as_numpy else zero_points.tolist(),
                    "shape": list(arr.shape),
                    "bit_width": bits,
                    "group_size": group_size,
                }
            elif status != _abi.LAYER_NOT_DONE:
                problems.append((_sort_key(name), f"layer {name!r}: {call.layer_error(i)}"))

    if problems:
        problems.sort(key=lambda p: p[0])
        n = len(problems)
        lines = "\n".join("  " + message for _, message in problems)
        if not continue_on_error:
            raise ValueError(f"{n} layer{'s' if n > 1 else ''} cannot be quantized:\n{lines}")
        warnings.warn(
            f"skipped {n} layer{'s' if n > 1 else ''} that cannot be quantized:\n{lines}",
            UserWarning,
            stacklevel=warn_stacklevel,
        )
    return results


def dequantize(result):
    _abi.check_process()
    if not isinstance(result, Mapping):
        raise ValueError(f"dequantize takes one layer's result dict, got {type(result).__name__}")
    missing = [k for k in ("quantized_data", "scales", "zero_points", "shape", "bit_width", "group_size") if k not in result]
    if missing:
        raise ValueError(f"dequantize: the result dict lacks {', '.join(missing)}")
    bits = check_bit_width(result["bit_width"])
    group_size = check_group_size(result["group_size"])
    shape = tuple(result["shape"])
    if not all(isinstance(d, numbers.Integral) and not isinstance(d, bool) and d >= 0 for d in shape):
        raise ValueError(f"dequantize: shape {list(shape)} must be a list of non-negative integers")
    try:
        codes = np.frombuffer(result["quantized_data"], dtype=np.uint8)  # a view, not a copy
    except TypeError:
        raise ValueError(
            f"dequantize: quantized_data must be bytes, got {type(result['quantized_data']).__name__}"
        ) from None
    scales = np.ascontiguousarray(result["scales"], dtype=np.float32)
    zero_points = np.ascontiguousarray(result["zero_points"], dtype=np.float32)
    if scales.ndim != 1 or zero_points.ndim != 1 or len(scales) != len(zero_points):
        raise ValueError("dequantize: scales and zero_points must be flat lists of the same length")
    out = np.empty(shape, dtype=np.float32)
    dims = (ctypes.c_int64 * max(len(shape), 1))(*shape)
    message = ctypes.create_string_buffer(1024)
    code = _abi.lib.aq_dequantize(
        ctypes.addressof(dims), len(shape), bits, group_size,
        codes.ctypes.data, codes.size, scales.ctypes.data, zero_points.ctypes.data, scales.size,
        out.ctypes.data, out.size, message, len(message),
    )
    if code != _abi.OK:
        raise ValueError(f"dequantize: {_abi.message(message)}")
    return out
