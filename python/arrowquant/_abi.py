"""The ctypes view of libarrowquant.so, the Go library built by `make python`.

python/capi/README.md is the reference of the ABI mirrored here. This module
loads the library once per process, checks its ABI version and guards every
call against use in a child created by fork().
"""

import ctypes
import os
import pathlib

LIB_PATH = pathlib.Path(__file__).resolve().parent / "_lib" / "libarrowquant.so"

ABI_VERSION = 1

# Return codes (AQ_OK, AQ_ERR_*).
OK, ERR_LAYERS, ERR_OPTION, ERR_CANCELLED, ERR_ARGUMENT, ERR_INTERNAL = range(6)

# Layer status (AQ_LAYER_*).
LAYER_OK, LAYER_NOT_DONE, LAYER_NONFINITE, LAYER_SHAPE, LAYER_EMPTY, LAYER_FAILED = range(6)

# Flags of aq_quantize.
CONTINUE_ON_ERROR = 1


class Layer(ctypes.Structure):
    """aq_layer: one layer of aq_quantize. Pointers are plain addresses; the
    caller keeps the memory behind them alive for the whole call."""

    _fields_ = [
        ("name", ctypes.c_void_p),
        ("name_len", ctypes.c_int64),
        ("shape", ctypes.c_void_p),
        ("ndim", ctypes.c_int64),
        ("data", ctypes.c_void_p),
        ("nbytes", ctypes.c_int64),
        ("codes", ctypes.c_void_p),
        ("codes_len", ctypes.c_int64),
        ("scales", ctypes.c_void_p),
        ("zero_points", ctypes.c_void_p),
        ("params_len", ctypes.c_int64),
        ("status", ctypes.c_int32),
        ("reserved", ctypes.c_int32),
        ("error_index", ctypes.c_int64),
        ("error", ctypes.c_void_p),
        ("error_cap", ctypes.c_int64),
    ]


class Progress(ctypes.Structure):
    """aq_progress: layer (an index into the Layer array) is settled."""

    _fields_ = [("layer", ctypes.c_int64), ("fraction", ctypes.c_double)]


class Control(ctypes.Structure):
    """aq_control: shared between a running aq_quantize and other threads."""

    _fields_ = [
        ("cancel", ctypes.c_int32),
        ("reserved", ctypes.c_int32),
        ("published", ctypes.c_int64),
        ("entries", ctypes.c_void_p),
    ]


def _load():
    if not LIB_PATH.exists():
        raise ImportError(
            f"arrowquant: the Go library {LIB_PATH} is missing; build it with "
            "`make python` in the arrowquant repository"
        )
    try:
        # CDLL, not PyDLL: ctypes releases the GIL for the whole of every call,
        # so other Python threads run while Go works.
        lib = ctypes.CDLL(str(LIB_PATH))
    except OSError as e:
        raise ImportError(f"arrowquant: cannot load {LIB_PATH}: {e}; rebuild it with `make python`") from e

    p, i32, i64, u32 = ctypes.c_void_p, ctypes.c_int32, ctypes.c_int64, ctypes.c_uint32
    lib.aq_abi_version.argtypes, lib.aq_abi_version.restype = [], i32
    lib.aq_quantize.argtypes = [p, i64, i32, i64, u32, p, p, i64]
    lib.aq_quantize.restype = i32
    lib.aq_dequantize.argtypes = [p, i64, i32, i64, p, i64, p, p, i64, p, i64, p, i64]
    lib.aq_dequantize.restype = i32
    lib.aq_published.argtypes, lib.aq_published.restype = [p], i64
    lib.aq_cancel.argtypes, lib.aq_cancel.restype = [p], i32

    version = lib.aq_abi_version()
    if version != ABI_VERSION:
        raise ImportError(
            f"arrowquant: {LIB_PATH} has ABI version {version}, this package needs {ABI_VERSION}; "
            "rebuild it with `make python`"
        )
    return lib


lib = _load()

_forked = False


def _mark_forked():
    global _forked
    _forked = True


# The Go runtime's threads do not survive fork(): a child that calls into Go
# hangs. The flag turns that hang into an error that says what to do.
os.register_at_fork(after_in_child=_mark_forked)


def check_process():
    """Raise RuntimeError in a child created by fork() after the library was loaded."""
    if _forked:
        raise RuntimeError(
            "arrowquant cannot be used in a process created by fork() from a parent that had "
            "imported it: the Go runtime does not survive fork() and the call would hang. "
            "Use multiprocessing.get_context('spawn') or get_context('forkserver') "
            "(without preloading arrowquant in the fork server)."
        )


def message(buf):
    """Decode a NUL-terminated message written by Go."""
    return buf.value.decode("utf-8", errors="replace")
