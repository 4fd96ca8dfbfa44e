"""Closed-loop delta coding: exact where changes fit, bounded catch-up where they do not, on real motion."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import hf_motion
from hf_motion.predictive_coding import delta_decode, delta_encode, keyframe_mask


@settings(max_examples=200, deadline=None)
@given(
    levels=arrays(np.int64, st.tuples(st.integers(1, 40), st.integers(1, 5)), elements=st.integers(0, 255)),
    max_step=st.integers(1, 300),
    interval=st.one_of(st.none(), st.integers(1, 12)),
)
def test_decode_inverts_encode_and_error_never_drifts(levels, max_step, interval):
    symbols, decoded = delta_encode(levels, max_step, interval)
    np.testing.assert_array_equal(delta_decode(symbols, max_step, interval), decoded)
    keys = keyframe_mask(len(levels), interval)
    np.testing.assert_array_equal(decoded[keys], levels[keys])
    assert symbols[~keys].min(initial=max_step) >= 0 and symbols[~keys].max(initial=max_step) <= 2 * max_step
    # Closed loop: the decoded level moves towards the target by max_step, never away from it.
    prev = np.concatenate([decoded[:1], decoded[:-1]])
    gap_before, gap_after = np.abs(levels - prev), np.abs(levels - decoded)
    np.testing.assert_array_equal(gap_after[~keys], np.maximum(gap_before[~keys] - max_step, 0))


def test_real_motion_is_exact_with_a_wide_step_and_mostly_zero_deltas(walk_motion):
    q = hf_motion.UniformQuantizer.default_angles(256)
    levels = q.encode(hf_motion.resample_motion(walk_motion, 10).rotations)
    symbols, decoded = delta_encode(levels, max_step=255, keyframe_interval=None)
    np.testing.assert_array_equal(decoded, levels)
    deltas = symbols[1:] - 255
    assert np.mean(deltas == 0) > 0.3  # the point of the coding: "no change" dominates


def test_bad_symbols_and_parameters_are_refused():
    with pytest.raises(ValueError, match="frame 1"):
        delta_decode(np.array([[3], [9]]), max_step=2)
    with pytest.raises(ValueError, match="max_step"):
        delta_encode(np.zeros((2, 2), np.int64), max_step=0)
    with pytest.raises(ValueError, match="integer"):
        delta_encode(np.zeros((2, 2)), max_step=2)
