"""hf_motion.baselines.continuous on real Bandai clips (10 fps, bandai-core): the flip-free
representation round-trips, the DCT is the orthonormal DCT-II, and both regressors beat
zero-velocity on frames they were not fitted on (the ridge regression also on unseen clips)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.fft import dct as scipy_dct
from scipy.spatial.transform import Rotation

from hf_motion import continuous_baselines as cb
from hf_motion.rotations import geodesic_angle

from conftest import BANDAI1

# The longest dataset-1 takes (walks in every direction, kicks, slashes): about 1,260 training windows.
TRAIN = [
    "walk_not-confident_001", "slash_normal_002", "walk_sad_002", "slash_normal_001", "walk-back_sad_001",
    "walk-back_proud_001", "walk-back_not-confident_001", "kick_normal_001", "walk_sad_001", "walk-left_sad_001",
    "walk_proud_001", "walk-back_feminine_001",
]  # fmt: skip
TEST = ["walk-right_sad_001", "walk_old_001", "punch_normal_002"]
P, H = 20, 4


def _clip(name: str):
    import hf_motion

    m = hf_motion.load_bvh(BANDAI1 / f"dataset-1_{name}.bvh")
    return hf_motion.resample_motion(m, 10.0).select_joints("bandai-core").rotations


@pytest.fixture(scope="module")
def data():
    train = [_clip(n) for n in TRAIN]
    test = [_clip(n) for n in TEST]
    tp, tf, ti = cb.sliding_windows(train, P, H, stride=1)
    vp, vf, _ = cb.sliding_windows(test, P, H, stride=2)
    # Unseen frames of the same takes: the first 70% of every clip to fit, the rest to test.
    cut = [int(len(c) * 0.7) for c in train + test]
    hp, hf, hi = cb.sliding_windows([c[:k] for c, k in zip(train + test, cut)], P, H, stride=1)
    lp, lf, _ = cb.sliding_windows([c[k:] for c, k in zip(train + test, cut)], P, H, stride=2)
    return {"train": (tp, tf, ti), "test": (vp, vf), "head": (hp, hf, hi), "tail": (lp, lf), "clips": train}


def _geodesic(pred, true):
    """Mean joint-angle error per horizon, (H,)."""
    return geodesic_angle(pred, true).sum(axis=-1).mean(axis=0)


# ------------------------------------------------------------------ representation
def test_offsets_round_trip_and_avoid_the_axis_angle_flip(data):
    past, future, _ = data["train"]
    last = past[:, -1]
    d = cb.future_offsets(last, future)
    back = cb.apply_offsets(last, d)
    assert geodesic_angle(back, future).max() < 1e-9
    # An offset's length is the angle the joint turned, never more (log of R_t^T R_{t+k}).
    moved = geodesic_angle(future, np.repeat(last[:, None], H, axis=1))
    np.testing.assert_allclose(np.linalg.norm(d, axis=-1), moved, atol=1e-9)
    # Bandai's rest pose puts joints at a rotation near pi, where the axis-angle vector jumps to
    # its antipode although the joint barely turns: there the raw difference is large, the offset small.
    raw = np.linalg.norm(future - last[:, None], axis=-1)
    flipped = (raw > 2.0) & (moved < 0.5)
    assert flipped.sum() > 10
    assert np.linalg.norm(d, axis=-1)[flipped].max() < 0.5
    # Zero offsets are the zero-velocity prediction.
    zero = cb.apply_offsets(last, np.zeros_like(d))
    assert geodesic_angle(zero, np.repeat(last[:, None], H, axis=1)).max() < 1e-9


def test_encode_past_is_relative_to_the_last_frame_and_continuous(data):
    past = data["train"][0][:50]
    rel, pose = cb.encode_past(past)
    assert rel.shape == past.shape[:3] + (6,) and pose.shape == (len(past), past.shape[2], 6)
    np.testing.assert_allclose(rel[:, -1], 0.0, atol=1e-12)
    R = Rotation.from_rotvec(past[:, -1].reshape(-1, 3)).as_matrix().reshape(len(past), -1, 3, 3)
    np.testing.assert_allclose(pose[..., :3], R[..., :, 0], atol=1e-12)
    np.testing.assert_allclose(pose[..., 3:], R[..., :, 1], atol=1e-12)
    # One frame apart, the 6D features move a little even where the axis-angle input flips.
    jump_aa = np.linalg.norm(np.diff(past, axis=1), axis=-1).max()
    jump_6d = np.linalg.norm(np.diff(rel, axis=1), axis=-1).max()
    assert jump_aa > 2.0 and jump_6d < 1.5


def test_dct_matrix_is_the_orthonormal_dct_ii():
    D = cb.dct_matrix(20)
    np.testing.assert_allclose(D @ D.T, np.eye(20), atol=1e-12)
    x = np.random.default_rng(0).normal(size=(20, 5))
    np.testing.assert_allclose(D @ x, scipy_dct(x, type=2, norm="ortho", axis=0), atol=1e-12)


def test_sliding_windows_are_the_clips_own_frames(data):
    clips = data["clips"]
    past, future, index = data["train"]
    assert len(past) == sum(len(c) - P - H + 1 for c in clips if len(c) >= P + H)
    k = 30
    c = clips[index[k]]
    s = k - np.flatnonzero(index == index[k])[0]
    np.testing.assert_array_equal(past[k], c[s : s + P])
    np.testing.assert_array_equal(future[k], c[s + P : s + P + H])
    with pytest.raises(ValueError, match="no clip has the 30 frames"):
        cb.sliding_windows([clips[0][:29]], 26, 4)
    # Capped: a seeded draw of the same windows, in order.
    a = cb.sliding_windows(clips, P, H, max_windows=100, seed=5)
    b = cb.sliding_windows(clips, P, H, max_windows=100, seed=5)
    c = cb.sliding_windows(clips, P, H, max_windows=100, seed=6)
    assert len(a[0]) == 100 and np.all(np.diff(a[2]) >= 0)
    np.testing.assert_array_equal(a[0], b[0])
    assert not np.array_equal(a[0], c[0])
    full = {(i, w.tobytes()) for i, w in zip(index, past)}
    assert all((i, w.tobytes()) in full for i, w in zip(a[2], a[0]))


# ------------------------------------------------------------------ regressors
def test_ridge_beats_zero_velocity_on_unseen_frames_and_clips(data):
    for fit_on, test_on in (("head", "tail"), ("train", "test")):
        past, future, groups = data[fit_on]
        vp, vf = data[test_on]
        ridge = cb.RidgeBaseline(n_past=5, threads=1).fit(past, future, groups=groups)
        assert ridge.n_features_ == 4 * 17 * 6 + 17 * 6
        assert set(ridge.cv_mse_) == set(ridge.alphas) and np.all(np.isin(ridge.alpha_, ridge.alphas))
        pred = ridge.predict(vp)
        assert pred.shape == vf.shape
        err, err0 = _geodesic(pred, vf), _geodesic(np.repeat(vp[:, -1:], H, axis=1), vf)
        assert np.all(err < err0), (fit_on, err, err0)
        # The cross-validated penalties sit inside the grid: the smallest and the largest do worse.
        cv = ridge.cv_mse_
        assert min(cv.values()) < cv[min(cv)] and min(cv.values()) < cv[max(cv)]


def test_simlpe_beats_zero_velocity_on_unseen_frames(data):
    past, future, _ = data["head"]
    vp, vf = data["tail"]
    m = cb.DCTMLPBaseline(steps=150, threads=1).fit(past, future)
    assert m.loss_history_[-1] < m.loss_history_[0]
    err, err0 = _geodesic(m.predict(vp), vf), _geodesic(np.repeat(vp[:, -1:], H, axis=1), vf)
    assert np.all(err < err0), (err, err0)


def test_simlpe_is_seeded_and_leaves_torch_rng_alone(data):
    past, future, _ = data["train"]
    past, future, vp = past[:300], future[:300], data["test"][0]
    state = torch.random.get_rng_state()
    a = cb.DCTMLPBaseline(steps=20, seed=3).fit(past, future)
    assert torch.equal(state, torch.random.get_rng_state())
    b = cb.DCTMLPBaseline(steps=20, seed=3).fit(past, future)
    c = cb.DCTMLPBaseline(steps=20, seed=4).fit(past, future)
    pa, pb, pc = a.predict(vp), b.predict(vp), c.predict(vp)
    np.testing.assert_array_equal(pa, pb)
    assert np.abs(pa - pc).max() > 1e-6
    # threads= limits torch only while fitting.
    before = torch.get_num_threads()
    cb.DCTMLPBaseline(steps=2, threads=1).fit(past, future)
    assert torch.get_num_threads() == before


def test_untrained_simlpe_is_zero_velocity(data):
    """The last layer starts at zero: one step at learning rate ~0 predicts the last frame."""
    past, future, _ = data["train"]
    vp, _ = data["test"]
    m = cb.DCTMLPBaseline(steps=1, lr=1e-30).fit(past[:64], future[:64])
    pred = m.predict(vp)
    assert geodesic_angle(pred, np.repeat(vp[:, -1:], H, axis=1)).max() < 1e-6


def test_bad_use_is_named(data):
    past, future, _ = data["train"]
    with pytest.raises(RuntimeError, match="call fit"):
        cb.RidgeBaseline().predict(past[:2])
    ridge = cb.RidgeBaseline(n_past=5, threads=1).fit(past[:200], future[:200])
    with pytest.raises(ValueError, match="fitted on windows of 20 past frames of 17 joints, got 20 frames of 16"):
        ridge.predict(past[:2, :, :16])
    with pytest.raises(ValueError, match="n_past=30 but the windows have 20 past frames"):
        cb.RidgeBaseline(n_past=30).fit(past[:50], future[:50])
    with pytest.raises(ValueError, match="fewer than the 25 to predict"):
        cb.DCTMLPBaseline(steps=1).fit(past[:10, :5], np.concatenate([future[:10]] * 7, axis=1)[:, :25])
    with pytest.raises(ValueError, match="steps must be an integer >= 1"):
        cb.DCTMLPBaseline(steps=0)
    with pytest.raises(ValueError, match="non-finite"):
        bad = past[:4].copy()
        bad[1, 2, 3, 0] = np.nan
        cb.encode_past(bad)
