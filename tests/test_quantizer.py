import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import hf_motion as hm
from hf_motion import QuantizationRangeError, UniformQuantizer


def test_bins_follow_the_m5_formula_on_hand_values():
    q = UniformQuantizer(0.0, 1.0, n_bins=4)  # delta 0.25
    x = np.array([0.0, 0.1, 0.25, 0.49, 0.5, 0.99, 1.0])
    assert q.encode(x).tolist() == [0, 0, 1, 1, 2, 3, 3]  # 1.0 is the closed upper edge
    assert q.decode(np.arange(4)).tolist() == [0.125, 0.375, 0.625, 0.875]


@settings(max_examples=60, deadline=None)
@given(
    n_bins=st.sampled_from([2, 7, 64, 256, 1024, 4096]),
    x=hnp.arrays(np.float64, (20, 3), elements=st.floats(-np.pi, np.pi, allow_nan=False)),
)
def test_round_trip_error_is_at_most_half_a_bin(n_bins, x):
    q = UniformQuantizer.default_angles(n_bins)
    err = np.abs(q.round_trip(x) - x)
    assert np.all(err <= q.delta / 2 + 1e-12)


@settings(max_examples=30, deadline=None)
@given(n_bins=st.integers(2, 5000), k=st.data())
def test_decode_then_encode_is_identity_on_bins(n_bins, k):
    q = UniformQuantizer(np.array([-1.0, 0.0, 5.0]), np.array([1.0, 2.0, 9.0]), n_bins)
    bins = k.draw(hnp.arrays(np.int64, (10, 3), elements=st.integers(0, n_bins - 1)))
    assert np.array_equal(q.encode(q.decode(bins)), bins)


def test_real_angles_and_positions_within_bound(bandai_motions):
    for m in bandai_motions:
        q = UniformQuantizer.default_angles(256)
        assert np.all(np.abs(q.round_trip(m.rotations) - m.rotations) <= q.delta / 2 + 1e-12)
        pos = hm.canonicalize_positions(m.positions()[:60])
        qp = UniformQuantizer.fit(pos, n_bins=1024)
        inside = (pos >= qp.low) & (pos <= qp.high)
        assert np.all(np.abs(qp.round_trip(pos) - pos)[inside] <= np.broadcast_to(qp.delta, pos.shape)[inside] / 2 + 1e-12)


def test_out_of_range_is_clipped_with_a_counting_warning():
    q = UniformQuantizer(0.0, 1.0, n_bins=10)
    with pytest.warns(UserWarning, match=r"2 of 4 values fall outside"):
        k = q.encode(np.array([-5.0, 0.5, 3.0, 0.2]))
    assert k.tolist() == [0, 5, 9, 2]


def test_strict_mode_raises():
    q = UniformQuantizer(0.0, 1.0, n_bins=10, strict=True)
    with pytest.raises(QuantizationRangeError, match="1 of 2"):
        q.encode(np.array([0.5, 1.5]))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_values_raise_with_index(bad):
    q = UniformQuantizer.default_angles(64)
    x = np.zeros((4, 2, 3))
    x[2, 1, 0] = bad
    with pytest.raises(ValueError, match=r"non-finite.*\(2, 1, 0\)"):
        q.encode(x)


def test_shape_mismatch_and_bad_config_raise():
    q = UniformQuantizer(np.zeros(3), np.ones(3), 8)
    with pytest.raises(ValueError, match="does not match"):
        q.encode(np.zeros((5, 4)))
    with pytest.raises(ValueError, match="exceed"):
        UniformQuantizer(1.0, 0.0, 8)
    with pytest.raises(ValueError, match="n_bins"):
        UniformQuantizer(0.0, 1.0, 1)
    with pytest.raises(ValueError, match="outside"):
        q.decode(np.array([[0, 8, 0]]))


def test_fit_from_percentiles_covers_data_and_serialises():
    rng = np.random.default_rng(0)
    data = rng.normal(size=(1000, 5, 3)) * np.array([1.0, 2.0, 0.5])
    q = UniformQuantizer.fit(data, n_bins=128, percentiles=(0, 100), margin=0.0)
    assert np.allclose(q.low, data.reshape(-1, 3).min(0)) and np.allclose(q.high, data.reshape(-1, 3).max(0))
    qj = UniformQuantizer.fit(data, per="joint")
    assert qj.low.shape == (5, 3)
    assert UniformQuantizer.from_dict(q.to_dict()) == q
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        q.encode(data)  # every value inside the fitted range: no warning


@pytest.mark.parametrize(
    "d, fragment",
    [
        ({"low": 0.0, "high": 1.0}, r"lacks \['n_bins'\]"),
        ({"low": 0.0, "high": 1.0, "n_bins": 12.7}, "n_bins must be an integer, got 12.7"),  # not truncated to 12
        ({"low": 0.0, "high": 1.0, "n_bins": True}, "n_bins must be an integer"),
        ({"low": "abc", "high": 1.0, "n_bins": 8}, "low must be real numbers"),
        ({"low": 0.0, "high": [1.0, None], "n_bins": 8}, "high must be real numbers"),
        ({"low": 0.0, "high": 1.0, "n_bins": 8, "strict": "yes"}, "strict must be True or False"),
        ({"low": 0.0, "high": 1.0, "n_bins": 8, "nbins": 8}, r"unknown fields \['nbins'\]"),
        ([0.0, 1.0, 8], "must be a dict"),
    ],
)
def test_from_dict_names_the_bad_field(d, fragment):
    with pytest.raises(ValueError, match=rf"^quantization\.angle.*{fragment}"):
        UniformQuantizer.from_dict(d, name="quantization.angle")


def test_complex_and_non_numeric_values_raise():
    q = UniformQuantizer.default_angles(64)
    with pytest.raises(ValueError, match="angles must be real numbers, got dtype complex128"):
        q.encode(np.zeros((2, 3)) + 0.5j, name="angles")  # the imaginary part used to be dropped
    with pytest.raises(ValueError, match="got dtype <U1"):
        q.encode(np.full((2, 3), "a"))
    assert q.encode(np.zeros((2, 3), dtype=np.int64)).tolist() == [[32, 32, 32]] * 2  # integers are fine
