"""Frame-rate conversion: slerp rotations, linear translations, frame counts, real clips."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.spatial.transform import Rotation, Slerp

from hf_motion import Motion, MotionError, Skeleton
from hf_motion.resample import resample_linear, resample_motion, resample_times
from hf_motion.rotations import geodesic_angle


def _chain_skeleton(J: int) -> Skeleton:
    offsets = np.zeros((J, 3))
    offsets[1:, 1] = 0.3
    return Skeleton([f"j{i}" for i in range(J)], list(range(-1, J - 1)), offsets)


def test_same_rate_is_identity(walk_motion):
    out = resample_motion(walk_motion, walk_motion.fps)
    assert out is not walk_motion
    np.testing.assert_array_equal(out.rotations, walk_motion.rotations)
    np.testing.assert_array_equal(out.root_translation, walk_motion.root_translation)
    np.testing.assert_array_equal(out.local_translations, walk_motion.local_translations)
    assert out.labels == walk_motion.labels and out.fps == walk_motion.fps


@pytest.mark.parametrize("up", [60.0, 120.0])
def test_real_clip_up_then_down_round_trip(bandai_motions, up):
    for motion in bandai_motions[:3]:
        T = motion.num_frames
        high = resample_motion(motion, up)
        # Hand count: the span (T - 1) / 30 s holds (T - 1) * up / 30 intervals at the higher rate.
        assert high.num_frames == (T - 1) * int(up // 30) + 1
        back = resample_motion(high, motion.fps)
        assert back.num_frames == T
        # The clip's rate is 1 / 0.0333333 = 30.00003 fps, so frames land a hair off the originals.
        err = np.linalg.norm(back.positions() - motion.positions(), axis=-1)
        assert err.max() < 1e-3
        assert geodesic_angle(back.rotations, motion.rotations).max() < 1e-3


def test_real_clip_downsampled_then_upsampled_interpolates_skipped_frames(walk_motion):
    half = walk_motion.slice(0, None, 2)  # 15 fps: every other real frame
    restored = resample_motion(half, walk_motion.fps)
    n = restored.num_frames
    assert n in (walk_motion.num_frames, walk_motion.num_frames - 1)
    err = np.linalg.norm(restored.positions() - walk_motion.positions()[:n], axis=-1)
    # Kept frames come back as they were; the skipped ones are interpolated (a walk moves
    # smoothly, so mid-frame errors stay around a centimetre).
    assert err[0::2].max() < 1e-3
    assert err[1::2].mean() < 0.02
    assert err[1::2].max() < 0.08


def test_slerp_matches_scipy_slerp_per_joint(bandai_motions):
    motion = bandai_motions[1]
    out = resample_motion(motion, 47.0)  # not a multiple of 30: every frame is interpolated
    t_src = np.arange(motion.num_frames) / motion.fps
    t_out = np.arange(out.num_frames) / 47.0
    assert t_out[-1] <= t_src[-1] + 1e-9
    for j in range(motion.num_joints):
        ref = Slerp(t_src, Rotation.from_rotvec(motion.rotations[:, j]))(np.minimum(t_out, t_src[-1]))
        assert geodesic_angle(out.rotations[:, j], ref.as_rotvec()).max() < 1e-9
    # Translations against numpy's interp, per coordinate.
    for c in range(3):
        expect = np.interp(t_out, t_src, motion.root_translation[:, c])
        np.testing.assert_allclose(out.root_translation[:, c], expect, atol=1e-12)
        expect = np.interp(t_out, t_src, motion.local_translations[:, 5, c])
        np.testing.assert_allclose(out.local_translations[:, 5, c], expect, atol=1e-12)
    assert out.labels == motion.labels and out.skeleton is motion.skeleton


def test_constant_angular_velocity_is_interpolated_exactly():
    src_fps, fps, T = 10.0, 25.0, 21
    axes = np.array([[0, 0, 1], [1, 0, 0], [1, 1, 1]], dtype=float)
    axes /= np.linalg.norm(axes, axis=1, keepdims=True)
    speeds = np.array([2.0, -20.0, 25.0])  # rad/s: up to 2.5 rad per input frame, wraps past pi
    t = np.arange(T) / src_fps
    rot = axes[None] * (speeds[None, :, None] * t[:, None, None])
    velocity = np.array([0.5, -1.0, 2.0])
    motion = Motion(rot, velocity * t[:, None], _chain_skeleton(3), src_fps)
    out = resample_motion(motion, fps)
    assert out.num_frames == 51  # floor(20 * 25 / 10) + 1
    t_out = np.arange(51) / fps
    exact = axes[None] * (speeds[None, :, None] * t_out[:, None, None])
    assert geodesic_angle(out.rotations, exact).max() < 1e-9
    np.testing.assert_allclose(out.root_translation, velocity * t_out[:, None], atol=1e-12)


def test_frame_counts_and_positions():
    index, alpha = resample_times(10, 30.0, 20.0)
    # 9 intervals of 1/30 s = 0.3 s; at 20 fps that is 6 intervals -> 7 frames at 0, 1.5, 3, ... input frames.
    np.testing.assert_array_equal(index, [0, 1, 3, 4, 6, 7, 8])
    np.testing.assert_allclose(alpha, [0, 0.5, 0, 0.5, 0, 0.5, 1.0])
    np.testing.assert_allclose(resample_linear(np.arange(10.0), 30, 20), np.arange(7) * 1.5)
    one = Motion(np.zeros((1, 2, 3)), np.ones((1, 3)), _chain_skeleton(2), 30.0)
    single = resample_motion(one, 60.0)
    assert single.num_frames == 1 and single.fps == 60.0


@pytest.mark.parametrize("bad", [0, -30, float("nan"), float("inf"), "fast"])
def test_bad_target_rate(walk_motion, bad):
    with pytest.raises(MotionError, match="target fps must be a positive number"):
        resample_motion(walk_motion, bad)


def test_not_a_motion():
    with pytest.raises(TypeError, match="expects a Motion"):
        resample_motion(np.zeros((4, 2, 3)), 30.0)


def test_resample_linear_rejects_scalars_and_empty():
    with pytest.raises(MotionError, match="scalar"):
        resample_linear(np.float64(1.0), 30, 60)
    with pytest.raises(MotionError, match="0 frames"):
        resample_linear(np.zeros((0, 3)), 30, 60)
    assert math.isclose(resample_linear(np.array([[1.0, 2.0]]), 30, 60)[0, 1], 2.0)


@pytest.mark.parametrize("bad", [1e-300, 0.05, 10001.0, 1e300])
def test_target_rate_outside_the_supported_range(walk_motion, bad):
    with pytest.raises(MotionError, match=r"target fps .* is outside the supported 0\.1 \.\. 10000 fps"):
        resample_motion(walk_motion, bad)


@pytest.mark.parametrize("bad", [True, "30", b"30", None, [30.0]])
def test_target_rate_must_be_a_number(walk_motion, bad):
    with pytest.raises(MotionError, match="target fps must be a positive number"):
        resample_motion(walk_motion, bad)


def test_range_edges_and_numpy_rates_are_accepted():
    motion = Motion(np.zeros((11, 2, 3)), np.zeros((11, 3)), _chain_skeleton(2), 10.0)
    assert resample_motion(motion, 0.1).num_frames == 1  # 1 s of motion, one frame per 10 s
    assert resample_motion(motion, 10000.0).num_frames == 10001
    assert resample_motion(motion, np.float32(20.0)).num_frames == 21


def test_source_rate_outside_the_supported_range_names_the_clip():
    # A Motion built by hand (a BVH with such a frame time is refused on load).
    motion = Motion(np.zeros((30, 2, 3)), np.zeros((30, 3)), _chain_skeleton(2), 1e300, {"source": "clip.bvh"})
    with pytest.raises(MotionError, match=r"clip\.bvh: source fps 1e\+300 is outside"):
        resample_motion(motion, 30.0)
    with pytest.raises(MotionError, match="source fps 1e\\+300 is outside"):
        resample_linear(np.zeros((30, 3)), 1e300, 30.0)
