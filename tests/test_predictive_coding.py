"""Closed-loop delta coding: exact where changes fit, bounded catch-up where they do not, on real motion."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import hf_motion
from hf_motion.predictive_coding import delta_decode, delta_encode, first_out_of_range, keyframe_mask


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


@settings(max_examples=150, deadline=None)
@given(
    levels=arrays(np.int64, st.tuples(st.integers(1, 30), st.integers(1, 4)), elements=st.integers(0, 63)),
    max_step=st.integers(1, 70),
    interval=st.one_of(st.none(), st.integers(1, 5)),
    seq=st.integers(1, 8),
)
def test_sequences_are_coded_as_if_alone(levels, max_step, interval, seq):
    T = len(levels) - len(levels) % seq or len(levels)
    levels = levels[:T]
    symbols, decoded = delta_encode(levels, max_step, interval, sequence_length=seq)
    for s in range(0, T, seq):
        alone_sym, alone_dec = delta_encode(levels[s : s + seq], max_step, interval)
        np.testing.assert_array_equal(symbols[s : s + seq], alone_sym)
        np.testing.assert_array_equal(decoded[s : s + seq], alone_dec)
    np.testing.assert_array_equal(delta_decode(symbols, max_step, interval, sequence_length=seq), decoded)
    keys = keyframe_mask(T, interval, seq)
    t = np.arange(T) % seq
    np.testing.assert_array_equal(keys, (t == 0) if interval is None else (t % interval == 0))


@settings(max_examples=150, deadline=None)
@given(
    symbols=arrays(np.int64, st.tuples(st.integers(1, 25), st.integers(1, 3)), elements=st.integers(0, 20)),
    interval=st.one_of(st.none(), st.integers(1, 6)),
)
def test_saturating_decode_matches_a_clipped_running_sum(symbols, interval):
    max_step, n = 10, 16
    symbols = symbols.copy()
    keys = keyframe_mask(len(symbols), interval)
    symbols[keys] = np.minimum(symbols[keys], n - 1)
    want, running = np.empty_like(symbols), np.empty_like(symbols)
    for t in range(len(symbols)):
        want[t] = symbols[t] if keys[t] else np.clip(want[t - 1] + symbols[t] - max_step, 0, n - 1)
        running[t] = symbols[t] if keys[t] else running[t - 1] + symbols[t] - max_step
    np.testing.assert_array_equal(delta_decode(symbols, max_step, interval, n_levels=n), want)
    open_loop = delta_decode(symbols, max_step, interval)
    np.testing.assert_array_equal(open_loop, running)
    bad = np.argwhere((running < 0) | (running >= n))
    assert first_out_of_range(open_loop, n) == (None if not len(bad) else tuple(int(i) for i in bad[0]))
    if not len(bad):
        np.testing.assert_array_equal(want, running)  # in range, saturation changes nothing
