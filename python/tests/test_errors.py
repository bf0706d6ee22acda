"""Every refusal is a ValueError that says what is wrong and where, every bad
layer is named at once, and continue_on_error skips them with one warning."""

import re
import warnings

import numpy as np
import pytest

import arrowquant


def good(n=16):
    return np.linspace(-1, 1, n, dtype=np.float32)


@pytest.mark.parametrize("continue_on_error", [False, True])
@pytest.mark.parametrize("bit_width", [3, 0, 16, -4])
def test_an_invalid_bit_width_is_refused_first(q, bit_width, continue_on_error):
    weights = {"bad": np.zeros(3), "good": good()}  # a bad layer too: the bit width comes first
    with pytest.raises(ValueError) as e:
        q.quantize_batch(weights, bit_width=bit_width, continue_on_error=continue_on_error)
    assert str(e.value) == f"Invalid bit_width: {bit_width}. Must be 2, 4, or 8"


@pytest.mark.parametrize("bit_width", [4.0, "4", True, None])
def test_a_bit_width_that_is_not_an_int_is_refused(q, bit_width):
    with pytest.raises(ValueError, match=r"^Invalid bit_width: .*Must be 2, 4, or 8$"):
        q.quantize_batch({"w": good()}, bit_width=bit_width)


def test_a_numpy_integer_bit_width_is_accepted(q):
    assert q.quantize_batch({"w": good()}, bit_width=np.int64(4)) == q.quantize_batch({"w": good()}, bit_width=4)


@pytest.mark.parametrize("continue_on_error", [False, True])
@pytest.mark.parametrize("group_size", [0, -1, 2.5, None, 2**31, 2**70])
def test_an_invalid_group_size_is_refused(q, group_size, continue_on_error):
    with pytest.raises(ValueError, match=r"^Invalid group_size: .*at least 1"):
        q.quantize_batch({"w": good()}, group_size=group_size, continue_on_error=continue_on_error)


def test_progress_checks_its_arguments_like_quantize_batch(q):
    with pytest.raises(ValueError, match="Invalid bit_width: 3"):
        q.quantize_batch_with_progress({"w": good()}, bit_width=3)
    with pytest.raises(ValueError, match="progress_callback must be callable"):
        q.quantize_batch_with_progress({"w": good()}, progress_callback=42)


def test_weights_that_are_not_a_dict_are_refused(q):
    with pytest.raises(ValueError, match="weights_dict must be a dict"):
        q.quantize_batch([("w", good())])


@pytest.mark.parametrize(
    "value,expect",
    [
        ([1.0, 2.0], ["'w'", "numpy.ndarray", "got list", "np.asarray"]),
        (np.float32(1.0), ["'w'", "numpy.ndarray", "float32"]),
        (np.zeros(4, dtype=np.float64), ["'w'", "float64", "float32", "arr.astype(np.float32)"]),
        (np.zeros(4, dtype=np.float16), ["'w'", "float16", "arr.astype(np.float32)"]),
        (np.zeros(4, dtype=np.int32), ["'w'", "int32", "arr.astype(np.float32)"]),
        (np.zeros(4, dtype=">f4"), ["'w'", ">f4", "arr.astype(np.float32)"]),
        (np.zeros((4, 6), np.float32).T, ["'w'", "contiguous", "np.ascontiguousarray"]),
        (np.zeros((4, 6), np.float32)[:, ::2], ["'w'", "contiguous", "np.ascontiguousarray"]),
        (np.zeros((0, 5), np.float32), ["'w'", "empty"]),
        (np.zeros(0, np.float32), ["'w'", "empty"]),
        (np.array(1.5, dtype=np.float32), ["'w'", "rank 0"]),
    ],
    ids=["list", "numpy scalar", "float64", "float16", "int32", "big-endian", "transposed", "strided",
         "empty 2-d", "empty 1-d", "0-d"],
)
def test_a_bad_value_is_named_with_its_fix(q, value, expect):
    with pytest.raises(ValueError) as e:
        q.quantize_batch({"w": value})
    for text in expect:
        assert text in str(e.value)


@pytest.mark.parametrize(
    "value,index",
    [(np.nan, 5), (np.inf, 0), (-np.inf, 11)],
)
def test_nan_and_inf_are_named_with_the_layer_and_flat_index(q, value, index):
    x = np.ones((3, 4), dtype=np.float32)
    x.flat[index] = value
    x.flat[index + 1:] = np.nan  # only the first is reported
    with pytest.raises(ValueError) as e:
        q.quantize_batch({"model.w": x})
    msg = str(e.value)
    assert "'model.w'" in msg and f"at index {index}" in msg and "non-finite" in msg


def test_a_key_that_is_not_a_str_is_refused(q):
    with pytest.raises(ValueError, match=r"layer key 7 \(int\) is not a str"):
        q.quantize_batch({7: good()})
    with pytest.raises(ValueError, match=r"layer key b'w' \(bytes\) is not a str"):
        q.quantize_batch({b"w": good()})


BAD = {
    "nan": np.array([1, np.nan, 3], dtype=np.float32),
    "f64": np.zeros(4),
    "empty": np.zeros(0, np.float32),
    "strided": np.zeros((4, 6), np.float32)[:, ::2],
    3: good(),
    "inf": np.array([[1, 2], [np.inf, 4]], dtype=np.float32),
    "scalar": np.array(1.0, dtype=np.float32),
    "list": [1.0],
}


def test_every_bad_layer_is_named_in_one_error_in_name_order(q):
    weights = {"good.a": good(), **BAD, "good.b": good(33)}
    with pytest.raises(ValueError) as e:
        q.quantize_batch(weights)
    msg = str(e.value)
    assert msg.startswith(f"{len(BAD)} layers cannot be quantized:")
    lines = msg.splitlines()[1:]
    assert len(lines) == len(BAD)
    named = [re.search(r"layer (?:key )?(\S+?):? ", line).group(1).strip("'") for line in lines]
    assert named == sorted(k for k in BAD if isinstance(k, str)) + ["3"]
    assert "good.a" not in msg and "good.b" not in msg
    assert "at index 1" in msg and "at index 2" in msg  # the NaN and the Inf


def test_continue_on_error_skips_bad_layers_with_one_warning(q):
    weights = {"good.a": good(), **BAD, "good.b": good(33)}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        results = q.quantize_batch(weights, continue_on_error=True)
    assert list(results) == ["good.a", "good.b"]
    assert results == q.quantize_batch({"good.a": good(), "good.b": good(33)})
    assert len(caught) == 1 and issubclass(caught[0].category, UserWarning)
    text = str(caught[0].message)
    assert text.startswith(f"skipped {len(BAD)} layers")
    for k in BAD:
        assert repr(k) in text
    assert caught[0].filename == __file__  # points at the caller


def test_continue_on_error_with_only_bad_layers_gives_an_empty_dict(q):
    with pytest.warns(UserWarning, match="skipped 2 layers"):
        assert q.quantize_batch({"a": np.zeros(2), "b": np.array([np.nan], np.float32)}, continue_on_error=True) == {}


def test_continue_on_error_without_bad_layers_does_not_warn(q):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert list(q.quantize_batch({"w": good()}, continue_on_error=True)) == ["w"]


def test_mode_must_be_a_known_str():
    assert arrowquant.ArrowQuantV2().mode == "diffusion"
    assert arrowquant.ArrowQuantV2(mode="base").mode == "base"
    with pytest.raises(TypeError, match="mode must be a str"):
        arrowquant.ArrowQuantV2(mode=1)
    with pytest.raises(ValueError, match="Invalid mode: 'fast'"):
        arrowquant.ArrowQuantV2(mode="fast")


def test_dequantize_refuses_an_inconsistent_result(q):
    r = q.quantize_batch({"w": np.ones((4, 9), np.float32)}, group_size=4)["w"]
    with pytest.raises(ValueError, match="lacks scales"):
        arrowquant.dequantize({k: v for k, v in r.items() if k != "scales"})
    with pytest.raises(ValueError, match="dequantize: .*scales"):
        arrowquant.dequantize({**r, "scales": r["scales"][:-1], "zero_points": r["zero_points"][:-1]})
    with pytest.raises(ValueError, match="dequantize: .*bytes of codes"):
        arrowquant.dequantize({**r, "quantized_data": r["quantized_data"][:-1]})
    with pytest.raises(ValueError, match="Invalid bit_width: 3"):
        arrowquant.dequantize({**r, "bit_width": 3})
    with pytest.raises(ValueError, match="quantized_data must be bytes"):
        arrowquant.dequantize({**r, "quantized_data": [1, 2]})
    with pytest.raises(ValueError, match="dequantize takes one layer's result dict"):
        arrowquant.dequantize([r])
