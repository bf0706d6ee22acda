"""quantize_batch_with_progress: callbacks on the calling thread, in order,
ending at 1.0, robust to a broken callback; cancellation by KeyboardInterrupt."""

import os
import signal
import threading
import time
import warnings

import numpy as np
import pytest


def weights(rng, n=12):
    return {f"layer.{i:02d}": rng.standard_normal((50 + 10 * i, 130), dtype=np.float32) for i in range(n)}


def test_progress_is_reported_once_per_layer_on_the_calling_thread(q, rng):
    w = weights(rng)
    calls = []

    def callback(name, fraction):
        calls.append((name, fraction, threading.get_ident()))

    results = q.quantize_batch_with_progress(w, bit_width=4, progress_callback=callback)
    assert sorted(name for name, _, _ in calls) == sorted(w)
    assert {ident for _, _, ident in calls} == {threading.get_ident()}
    fractions = [f for _, f, _ in calls]
    assert all(type(f) is float for f in fractions)
    assert fractions == sorted(fractions) and 0 < fractions[0] and fractions[-1] == 1.0
    assert results == q.quantize_batch(w, bit_width=4)


def test_progress_fractions_count_elements(q):
    w = {"big": np.ones((300, 100), np.float32), "small": np.ones(100, np.float32)}
    calls = []
    q.quantize_batch_with_progress(w, progress_callback=lambda n, f: calls.append((n, f)))
    if calls[0][0] == "small":
        assert calls == [("small", 100 / 30100), ("big", 1.0)]
    else:
        assert calls == [("big", 30000 / 30100), ("small", 1.0)]


def test_progress_from_a_worker_thread_stays_on_that_thread(q, rng):
    w = weights(rng, 4)
    seen, done = [], []

    def work():
        q.quantize_batch_with_progress(w, progress_callback=lambda n, f: seen.append(threading.get_ident()))
        done.append(threading.get_ident())

    t = threading.Thread(target=work)
    t.start()
    t.join()
    assert len(seen) == 4 and set(seen) == set(done)


def test_a_callback_exception_becomes_a_warning_and_the_batch_goes_on(q, rng):
    w = weights(rng, 5)
    calls = []

    def callback(name, fraction):
        calls.append(name)
        raise RuntimeError(f"broken on {name}")

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        results = q.quantize_batch_with_progress(w, progress_callback=callback)
    assert len(calls) == 5 and results == q.quantize_batch(w)
    assert len(caught) == 5
    assert all(issubclass(c.category, RuntimeWarning) and "broken on" in str(c.message) for c in caught)
    assert {c.filename for c in caught} == {__file__}


def test_progress_reports_layers_that_fail_in_go_too(q, rng):
    w = {"a": np.ones(10, np.float32), "nan": np.array([np.nan], np.float32), "f64": np.ones(3)}
    calls = []
    with pytest.warns(UserWarning, match="skipped 2 layers"):
        results = q.quantize_batch_with_progress(w, progress_callback=lambda n, f: calls.append(n), continue_on_error=True)
    assert list(results) == ["a"]
    assert sorted(calls) == ["a", "nan"]  # f64 never reached the engine


def test_a_keyboard_interrupt_in_the_callback_cancels_the_batch_promptly(q, big):
    w = {f"l{i:03d}": big for i in range(300)}  # 300 M elements: seconds of work
    raised = []

    def callback(name, fraction):
        raised.append(time.perf_counter())
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        q.quantize_batch_with_progress(w, progress_callback=callback)
    elapsed = time.perf_counter() - raised[0]
    assert len(raised) == 1 and elapsed < 1.0, f"Go took {elapsed:.3f}s to stop"
    # The library still works, and gives the same bytes as before.
    small = {"w": big[:10]}
    assert q.quantize_batch(small) == q.quantize_batch({"w": np.array(big[:10])})


def test_ctrl_c_cancels_a_long_batch(q, big):
    w = {f"l{i:03d}": big for i in range(300)}
    timer = threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGINT))
    start = time.perf_counter()
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            q.quantize_batch(w)
    finally:
        timer.cancel()
    elapsed = time.perf_counter() - start
    assert elapsed < 1.5, f"took {elapsed:.3f}s to stop"
    assert list(q.quantize_batch({"w": big[:3]})) == ["w"]
