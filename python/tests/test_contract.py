"""The result contract: keys, types, order, layout, error bound, and
determinism (across calls, alone versus in a batch, and against Go)."""

import json
import os
import shutil
import subprocess

import numpy as np
import pytest

import arrowquant
from arrowquant import _abi
from conftest import REPO_DIR, per_column, reference_codes


def test_a_result_has_exactly_the_documented_keys_and_types(q, rng):
    x = rng.standard_normal((3, 10), dtype=np.float32)
    r = q.quantize_batch({"w": x}, bit_width=4, group_size=4)["w"]
    assert set(r) == {"quantized_data", "scales", "zero_points", "shape", "bit_width", "group_size"}
    assert type(r["quantized_data"]) is bytes
    assert type(r["scales"]) is list and all(type(s) is float for s in r["scales"])
    assert type(r["zero_points"]) is list and all(type(z) is float for z in r["zero_points"])
    assert r["shape"] == [3, 10] and all(type(d) is int for d in r["shape"])
    assert type(r["bit_width"]) is int and r["bit_width"] == 4
    assert type(r["group_size"]) is int and r["group_size"] == 4


@pytest.mark.parametrize("shape", [(10,), (3, 10), (2, 3, 5), (1, 1)])
@pytest.mark.parametrize("bits", [2, 4, 8])
def test_buffer_sizes_follow_from_the_shape(q, rng, shape, bits):
    r = q.quantize_batch({"w": rng.standard_normal(shape, dtype=np.float32)}, bit_width=bits, group_size=3)["w"]
    cols = shape[-1]
    rows = int(np.prod(shape[:-1]))
    assert len(r["quantized_data"]) == rows * -(-cols * bits // 8)
    assert len(r["scales"]) == len(r["zero_points"]) == rows * -(-cols // 3)
    assert r["shape"] == list(shape)


def test_results_are_sorted_by_layer_name(q, rng):
    names = ["layer.10", "b", "A", "layer.2", "", "é", "a"]
    weights = {n: rng.standard_normal(8, dtype=np.float32) for n in names}
    assert list(q.quantize_batch(weights)) == sorted(names)


def test_an_empty_batch_gives_an_empty_dict(q):
    assert q.quantize_batch({}) == {}
    assert q.quantize_batch_with_progress({}, progress_callback=lambda *a: pytest.fail("called")) == {}


@pytest.mark.parametrize("bits", [2, 4, 8])
def test_codes_are_packed_as_documented_bit_by_bit(q, rng, bits):
    # 5 columns: rows end inside a byte at every bit width, so padding shows.
    x = rng.standard_normal((3, 5), dtype=np.float32)
    r = q.quantize_batch({"w": x}, bit_width=bits, group_size=2)["w"]
    codes = reference_codes(r)
    assert codes.max() <= 2**bits - 1
    # Unused high bits of each row's last byte are zero.
    row_bytes = (5 * bits + 7) // 8
    used = 5 * bits - 8 * (row_bytes - 1)
    for row in range(3):
        assert r["quantized_data"][row * row_bytes + row_bytes - 1] >> used == 0
    s, z = per_column(r["scales"], r), per_column(r["zero_points"], r)
    decoded = ((codes.astype(np.float32) - z) * s).astype(np.float32)
    np.testing.assert_array_equal(arrowquant.dequantize(r), decoded)


def test_a_hand_worked_example_decodes_exactly(q):
    # Values 0..7 in groups of 4 at 2 bits: each group spans 3 steps exactly.
    x = np.arange(8, dtype=np.float32)
    r = q.quantize_batch({"w": x}, bit_width=2, group_size=4)["w"]
    codes = reference_codes(r)[0]
    assert list(codes) == [0, 1, 2, 3, 0, 1, 2, 3]
    assert r["quantized_data"] == bytes([0b11100100, 0b11100100])
    np.testing.assert_array_equal(arrowquant.dequantize(r), x)


@pytest.mark.parametrize("bits", [2, 4, 8])
@pytest.mark.parametrize("group_size", [1, 7, 128])
def test_every_element_is_within_half_a_step(q, rng, bits, group_size):
    weights = {
        "normal": rng.standard_normal((13, 300), dtype=np.float32),
        "wide": (rng.standard_normal(1000) * 1e4).astype(np.float32),
        "offset": (rng.random((2, 3, 50)) + 100).astype(np.float32),
    }
    results = q.quantize_batch(weights, bit_width=bits, group_size=group_size)
    for name, x in weights.items():
        r = results[name]
        xhat = arrowquant.dequantize(r)
        assert xhat.dtype == np.float32 and xhat.shape == x.shape
        s = per_column(r["scales"], r).reshape(x.shape)
        err = np.abs(x.astype(np.float64) - xhat.astype(np.float64))
        bound = s.astype(np.float64) / 2 * (1 + 1e-5) + 1e-6 * np.abs(x)
        assert np.all(err <= bound), f"{name}: worst excess {np.max(err - bound)}"


def test_a_group_longer_than_the_row_is_one_group_per_row(q, rng):
    x = rng.standard_normal((3, 50), dtype=np.float32)
    widest = q.quantize_batch({"w": x}, group_size=2**31 - 1)["w"]
    assert len(widest["scales"]) == 3 and widest["group_size"] == 2**31 - 1
    exact = q.quantize_batch({"w": x}, group_size=50)["w"]
    assert widest["quantized_data"] == exact["quantized_data"] and widest["scales"] == exact["scales"]
    np.testing.assert_array_equal(arrowquant.dequantize(widest), arrowquant.dequantize(exact))


def test_dequantize_uses_the_go_decoder(q, rng, monkeypatch):
    calls = []
    real = _abi.lib.aq_dequantize

    def spy(*args):
        calls.append(args)
        return real(*args)

    monkeypatch.setattr(_abi.lib, "aq_dequantize", spy)
    r = q.quantize_batch({"w": rng.standard_normal((4, 9), dtype=np.float32)})["w"]
    out = arrowquant.dequantize(r)
    assert len(calls) == 1 and out.shape == (4, 9)


def test_results_are_identical_across_calls(q, rng):
    weights = {f"l{i}": rng.standard_normal((64, 200), dtype=np.float32) for i in range(6)}
    first = q.quantize_batch(weights, bit_width=4, group_size=32)
    for _ in range(2):
        assert q.quantize_batch(weights, bit_width=4, group_size=32) == first


def test_a_layer_alone_equals_the_same_layer_in_a_batch(q, rng):
    weights = {f"l{i}": rng.standard_normal((33, 70 + i), dtype=np.float32) for i in range(5)}
    together = q.quantize_batch(weights, bit_width=2, group_size=7)
    for name, x in weights.items():
        assert q.quantize_batch({name: x}, bit_width=2, group_size=7)[name] == together[name]


def test_mode_base_quantizes_exactly_like_diffusion(rng):
    weights = {"w": rng.standard_normal((5, 40), dtype=np.float32)}
    assert arrowquant.ArrowQuantV2("base").quantize_batch(weights) == arrowquant.ArrowQuantV2().quantize_batch(weights)


@pytest.fixture(scope="module")
def gocheck(tmp_path_factory):
    """The gocheck program (python/tests/gocheck), built once."""
    go = shutil.which(os.environ.get("GO", "go")) or shutil.which("/usr/local/go/bin/go")
    if go is None:
        pytest.skip("no Go toolchain to build python/tests/gocheck (set GO)")
    exe = tmp_path_factory.mktemp("gocheck") / "gocheck"
    subprocess.run([go, "build", "-o", str(exe), "./python/tests/gocheck"], cwd=REPO_DIR, check=True)
    return exe


@pytest.mark.parametrize("bits,group_size", [(2, 7), (4, 128), (8, 1)])
def test_bytes_equal_the_go_library_on_the_same_data(q, rng, tmp_path, gocheck, bits, group_size):
    import hashlib

    weights = {
        "attn.q": rng.standard_normal((37, 300), dtype=np.float32),
        "bias": rng.standard_normal(129, dtype=np.float32),
        "conv": (rng.standard_normal((4, 3, 3, 17)) * 1e-3).astype(np.float32),
        "const": np.full((3, 10), -2.5, dtype=np.float32),
        "tiny": (rng.standard_normal((2, 64)) * 1e-30).astype(np.float32),
    }
    manifest = {"bits": bits, "group_size": group_size, "layers": []}
    for i, (name, x) in enumerate(weights.items()):
        x.tofile(tmp_path / f"{i}.f32")
        manifest["layers"].append({"name": name, "shape": list(x.shape), "file": f"{i}.f32"})
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    out = subprocess.run([str(gocheck), str(tmp_path)], capture_output=True, text=True, check=True)
    want = json.loads(out.stdout)

    got = q.quantize_batch(weights, bit_width=bits, group_size=group_size)
    assert list(got) == sorted(want)
    for name, r in got.items():
        assert hashlib.sha256(r["quantized_data"]).hexdigest() == want[name]["quantized_data"], name
        for key in ("scales", "zero_points"):
            digest = hashlib.sha256(np.asarray(r[key], dtype="<f4").tobytes()).hexdigest()
            assert digest == want[name][key], (name, key)


@pytest.mark.parametrize("with_progress", [False, True])
def test_as_numpy_returns_the_same_values_as_float32_arrays(q, rng, with_progress):
    weights = {f"l{i}": rng.standard_normal((17, 45 + i), dtype=np.float32) for i in range(3)}
    run = q.quantize_batch_with_progress if with_progress else q.quantize_batch
    lists = run(weights, bit_width=4, group_size=16)
    arrays = run(weights, bit_width=4, group_size=16, as_numpy=True)
    assert list(arrays) == list(lists)
    for name, a in arrays.items():
        want = lists[name]
        for key in ("scales", "zero_points"):
            v = a[key]
            assert isinstance(v, np.ndarray) and v.dtype == np.float32 and v.ndim == 1 and v.flags.c_contiguous
            assert v.tolist() == want[key]
        assert {k: a[k] for k in ("quantized_data", "shape", "bit_width", "group_size")} == {
            k: want[k] for k in ("quantized_data", "shape", "bit_width", "group_size")
        }
        np.testing.assert_array_equal(arrowquant.dequantize(a), arrowquant.dequantize(want))


@pytest.mark.parametrize("bad", [1, "yes", None])
def test_as_numpy_must_be_a_bool(q, bad):
    with pytest.raises(ValueError, match="as_numpy must be True or False"):
        q.quantize_batch({"w": np.ones((2, 2), np.float32)}, as_numpy=bad)
