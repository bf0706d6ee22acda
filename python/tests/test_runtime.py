"""How the binding lives in a process: GIL released, arrays read in place,
fork refused, spawn working, a missing library explained, the raw ABI."""

import ctypes
import multiprocessing
import os
import pathlib
import shutil
import subprocess
import sys
import threading
import time
import tracemalloc
import warnings

import numpy as np
import pytest

import arrowquant
from arrowquant import _abi, _quantize
from conftest import PYTHON_DIR


class Ticker:
    """A Python thread that counts while it can get the GIL."""

    def __init__(self):
        self.ticks, self._stop = 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            self.ticks += 1
            time.sleep(0.001)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def test_the_library_is_loaded_without_holding_the_gil():
    assert type(_abi.lib) is ctypes.CDLL  # PyDLL would keep the GIL during calls


def test_the_gil_is_released_during_the_go_call_itself(big):
    # Run the raw Go call on this thread: only a released GIL lets the ticker run.
    call = _quantize._Call([(f"l{i}", big) for i in range(40)], 4, 128, False)
    with Ticker() as ticker:
        start = time.perf_counter()
        code = call.run()
        seconds = time.perf_counter() - start
        ticks = ticker.ticks
    assert code == _abi.OK
    assert ticks >= min(20, seconds * 200), f"{ticks} ticks in {seconds:.3f}s"


def test_other_threads_run_during_quantize_batch(q, big):
    with Ticker() as ticker:
        start = time.perf_counter()
        q.quantize_batch({f"l{i}": big for i in range(40)})
        seconds = time.perf_counter() - start
        ticks = ticker.ticks
    assert ticks >= min(20, seconds * 200), f"{ticks} ticks in {seconds:.3f}s"


def test_calls_from_several_threads_at_once_give_the_same_bytes(q, rng):
    weights = {f"l{i}": rng.standard_normal((200, 300), dtype=np.float32) for i in range(8)}
    want = q.quantize_batch(weights)
    got = [None] * 4

    def work(i):
        got[i] = q.quantize_batch(weights)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(g == want for g in got)


def test_arrays_are_read_in_place_without_a_copy(q):
    x = np.arange(4096 * 4096, dtype=np.float32).reshape(4096, 4096)  # 64 MiB
    x %= 251
    tracemalloc.start()
    try:
        result = q.quantize_batch({"w": x}, bit_width=2, group_size=512)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # The outputs are 4 MiB of codes and a few KiB of scales; any copy of the
    # input would show 64 MiB more.
    assert len(result["w"]["quantized_data"]) == 4096 * 1024
    assert peak < x.nbytes / 8, f"peak {peak / 2**20:.1f} MiB traced for a {x.nbytes / 2**20:.0f} MiB input"


def test_read_only_and_memory_mapped_arrays_work_in_place(q, rng, tmp_path):
    x = rng.standard_normal((300, 257), dtype=np.float32)
    want = q.quantize_batch({"w": x})["w"]
    ro = x.copy()
    ro.setflags(write=False)
    assert q.quantize_batch({"w": ro})["w"] == want
    x.tofile(tmp_path / "w.f32")
    mm = np.memmap(tmp_path / "w.f32", dtype=np.float32, mode="r", shape=x.shape)
    assert q.quantize_batch({"w": mm})["w"] == want
    del mm


def test_a_forked_child_is_refused_with_advice(q):
    x = np.ones(8, np.float32)
    r = q.quantize_batch({"w": x})["w"]
    with warnings.catch_warnings():
        # Python 3.12+ warns that forking a multi-threaded process may deadlock:
        # that is the point of the test.
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # the child must never return into pytest
        code = 1
        try:
            try:
                q.quantize_batch({"w": x})
            except RuntimeError as e:
                code = 0 if "spawn" in str(e) and "forkserver" in str(e) else 2
            try:
                arrowquant.dequantize(r)
                code = 3
            except RuntimeError:
                pass
        finally:
            os._exit(code)
    deadline = time.monotonic() + 20
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            pytest.fail("the forked child hung")
        time.sleep(0.01)
    assert os.waitstatus_to_exitcode(status) == 0
    assert q.quantize_batch({"w": x})["w"] == r  # the parent is unaffected


def test_a_spawned_worker_gives_identical_bytes(q, rng):
    x = rng.standard_normal((20, 300), dtype=np.float32)
    want = q.quantize_batch({"w": x}, bit_width=2, group_size=7)
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        got = pool.apply(q.quantize_batch, ({"w": x},), {"bit_width": 2, "group_size": 7})
    assert got == want


def test_a_missing_library_says_to_run_make_python(tmp_path):
    pkg = tmp_path / "arrowquant"
    pkg.mkdir()
    for f in (PYTHON_DIR / "arrowquant").glob("*.py"):
        shutil.copy(f, pkg)
    out = subprocess.run(
        [sys.executable, "-c", "import arrowquant"],
        capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(tmp_path)},
    )
    assert out.returncode != 0
    assert "ImportError" in out.stderr and "make python" in out.stderr


# The raw ABI: what the Python layer never sends, the library still refuses cleanly.

def raw_call(**change):
    x = np.ones((4, 10), np.float32)
    call = _quantize._Call([("w", x)], 4, 8, False)
    for field, value in change.items():
        setattr(call.descs[0], field, value)
    return call, call.run(), _abi.message(call.message)


def test_the_abi_reports_its_version():
    assert _abi.lib.aq_abi_version() == _abi.ABI_VERSION


def test_the_abi_refuses_a_wrong_buffer_size():
    call, code, msg = raw_call(codes_len=19)
    assert code == _abi.ERR_ARGUMENT and "needs 20 code bytes" in msg
    assert call.descs[0].status == _abi.LAYER_NOT_DONE


def test_the_abi_refuses_null_pointers_and_negative_lengths():
    call, code, msg = raw_call(scales=None)
    assert (code, msg) == (_abi.ERR_ARGUMENT, 'layer 0 ("w"): scales: NULL pointer for 8 values')
    assert call.descs[0].status == _abi.LAYER_NOT_DONE and call.descs[0].error_index == -1
    assert raw_call(nbytes=-1)[1] == _abi.ERR_ARGUMENT
    assert _abi.lib.aq_quantize(None, 1, 4, 8, 0, None, None, 0) == _abi.ERR_ARGUMENT


def test_the_abi_refuses_unknown_flags_and_invalid_options():
    call = _quantize._Call([("w", np.ones(4, np.float32))], 4, 8, False)
    call.flags = 6
    assert call.run() == _abi.ERR_ARGUMENT and "unknown flags 0x6" in _abi.message(call.message)
    call = _quantize._Call([("w", np.ones(4, np.float32))], 4, 8, False)
    call.group_size = 0
    assert call.run() == _abi.ERR_OPTION and "group size 0" in _abi.message(call.message)


def test_the_abi_reports_a_layer_whose_shape_disagrees_with_its_data():
    call, code, _ = raw_call(nbytes=12)
    assert code == _abi.ERR_LAYERS and call.descs[0].status == _abi.LAYER_SHAPE
    assert "does not match the data" in call.layer_error(0)


def test_a_call_cancelled_before_it_starts_returns_cancelled(big):
    call = _quantize._Call([("w", big)], 4, 128, False)
    assert _abi.lib.aq_cancel(ctypes.addressof(call.control)) == _abi.OK
    assert call.run() == _abi.ERR_CANCELLED and call.descs[0].status == _abi.LAYER_NOT_DONE
    assert _abi.lib.aq_cancel(None) == _abi.ERR_ARGUMENT
    assert _abi.lib.aq_published(None) == -1


def test_python_dir_is_where_the_package_is():
    assert pathlib.Path(arrowquant.__file__).parent == PYTHON_DIR / "arrowquant"
