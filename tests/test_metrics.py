"""Metric functions against hand-computable cases, scikit-learn, and the quantization bound on real clips."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.spatial.transform import Rotation
from sklearn.metrics import f1_score, mean_squared_error, roc_auc_score

from hf_motion.metrics import (
    accuracy,
    at_horizons,
    bits_per_frame,
    euler_rmse,
    joint_angle_error,
    macro_f1,
    pck,
    pck_auc,
    positional_mse,
    rmse,
    roc_auc,
)
from hf_motion.tokenizer import MotionTokenizer

DEG = math.pi / 180


def _random_rotvecs(shape, seed=0):
    rng = np.random.default_rng(seed)
    return Rotation.random(int(np.prod(shape)), random_state=rng).as_rotvec().reshape(*shape, 3)


# ------------------------------------------------------------------ identity
def test_identity_gives_zero_error_and_auc_one():
    aa = _random_rotvecs((4, 6, 5))
    pos = np.random.default_rng(1).normal(size=(4, 6, 5, 3))
    assert euler_rmse(aa, aa).shape == (4, 6)
    np.testing.assert_allclose(euler_rmse(aa, aa), 0, atol=1e-12)
    np.testing.assert_allclose(joint_angle_error(aa, aa), 0, atol=1e-7)
    np.testing.assert_array_equal(positional_mse(pos, pos), 0)
    np.testing.assert_array_equal(pck_auc(pos, pos), 1)
    np.testing.assert_array_equal(pck_auc(pos, pos, thresholds=[0.0]), 1)


# ------------------------------------------------------------------ known rotations
def test_known_rotation_gives_its_angle():
    true = _random_rotvecs((10, 4))
    # Right-multiplying each true rotation by 30 deg about a fixed axis: the relative rotation is 30 deg.
    axis = np.array([1.0, 2.0, -0.5]) / np.linalg.norm([1.0, 2.0, -0.5])
    delta = Rotation.from_rotvec(30 * DEG * axis)
    pred = (Rotation.from_rotvec(true.reshape(-1, 3)) * delta).as_rotvec().reshape(true.shape)
    np.testing.assert_allclose(joint_angle_error(pred, true), 30 * DEG, atol=1e-9)
    np.testing.assert_allclose(joint_angle_error(pred, true, joint_reduction="sum"), 4 * 30 * DEG, atol=1e-9)
    # Half the joints off by 30 deg, half exact: the mean is 15 deg.
    mixed = true.copy()
    mixed[:, :2] = pred[:, :2]
    np.testing.assert_allclose(joint_angle_error(mixed, true), 15 * DEG, atol=1e-9)


def test_euler_rmse_of_a_single_axis_rotation():
    # A pure rotation about Y: its ZXY Euler angles are (0, 0, theta); RMSE over 3 angles = theta / sqrt(3).
    pred = np.zeros((1, 2, 3))
    pred[..., 1] = 30 * DEG
    true = np.zeros((1, 2, 3))
    np.testing.assert_allclose(euler_rmse(pred, true, order="ZXY"), 30 * DEG / math.sqrt(3), rtol=1e-12)


def test_euler_rmse_wraps_around_pi():
    # +179 deg and -179 deg about Z are 2 deg apart, not 358.
    pred = np.array([[[0.0, 0.0, 179 * DEG]]])
    true = np.array([[[0.0, 0.0, -179 * DEG]]])
    np.testing.assert_allclose(euler_rmse(pred, true, order="ZXY"), 2 * DEG / math.sqrt(3), rtol=1e-9)
    np.testing.assert_allclose(joint_angle_error(pred, true), 2 * DEG, rtol=1e-9)


# ------------------------------------------------------------------ positions
def test_known_offset_gives_known_mse_and_pck():
    true = np.random.default_rng(2).normal(size=(3, 7, 10, 3))
    pred = true + np.array([0.03, 0.04, 0.0])  # every joint 5 cm away
    np.testing.assert_allclose(positional_mse(pred, true), 0.05**2, rtol=1e-9)
    thresholds = [0.01, 0.049, 0.051, 0.1]  # 5 cm is inside 2 of the 4 spheres
    np.testing.assert_allclose(pck_auc(pred, true, thresholds), 0.5)
    np.testing.assert_array_equal(pck(pred, true, 0.049), 0)
    np.testing.assert_array_equal(pck(pred, true, 0.051), 1)
    # Only 3 of 10 joints off: PCK at 1 cm is 0.7, MSE is 0.3 * 0.0025.
    part = true.copy()
    part[..., :3, :] += [0.03, 0.04, 0.0]
    np.testing.assert_allclose(pck(part, true, 0.01), 0.7)
    np.testing.assert_allclose(positional_mse(part, true), 0.3 * 0.0025, rtol=1e-9)
    # 7 exact joints lie in all 4 spheres, the 3 moved ones in 2 of 4.
    np.testing.assert_allclose(pck_auc(part, true, thresholds), 0.7 * 1.0 + 0.3 * 0.5)


def test_pck_auc_default_thresholds_stay_in_unit_interval():
    rng = np.random.default_rng(3)
    true = rng.normal(size=(50, 8, 3))
    pred = true + rng.normal(scale=0.1, size=true.shape)
    auc = pck_auc(pred, true)
    assert auc.shape == (50,) and np.all((auc >= 0) & (auc <= 1)) and 0 < auc.mean() < 1


# ------------------------------------------------------------------ horizons / bits
def test_at_horizons_picks_the_frames_at_100_to_400_ms():
    values = np.tile(np.arange(1, 13, dtype=float), (2, 1))  # frame k (1-based) has value k
    values[1] *= 3
    out = at_horizons(values, fps=30)
    # 100 ms at 30 fps is the 3rd predicted frame; mean over the 2 sequences of k and 3k is 2k.
    assert out == {100: 6.0, 200: 12.0, 300: 18.0, 400: 24.0}
    with pytest.raises(ValueError, match="needs 15 predicted frames"):
        at_horizons(values, fps=30, horizons_ms=[500])
    with pytest.raises(ValueError, match="shorter than one frame"):
        at_horizons(values, fps=30, horizons_ms=[10])


def test_bits_per_frame():
    assert bits_per_frame(math.log(2), 52) == pytest.approx(52.0)
    assert bits_per_frame(1.0, 10) == pytest.approx(10 / math.log(2))
    with pytest.raises(ValueError, match="tokens_per_frame must be positive"):
        bits_per_frame(1.0, 0)


# ------------------------------------------------------------------ classification / regression
@pytest.mark.parametrize("seed", range(4))
def test_classification_metrics_agree_with_sklearn(seed):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 4, size=60)
    p = np.where(rng.random(60) < 0.6, y, rng.integers(0, 4, size=60))
    assert accuracy(y, p) == pytest.approx(np.mean(y == p))
    assert macro_f1(y, p) == pytest.approx(f1_score(y, p, average="macro", zero_division=0))
    yb = rng.integers(0, 2, size=60)
    scores = np.round(yb * 0.5 + rng.random(60), 1)  # rounded: plenty of ties
    assert roc_auc(yb, scores) == pytest.approx(roc_auc_score(yb, scores))
    yr, pr = rng.normal(size=30), rng.normal(size=30)
    assert rmse(yr, pr) == pytest.approx(math.sqrt(mean_squared_error(yr, pr)))


def test_classification_hand_cases():
    assert roc_auc([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9]) == 1.0
    assert roc_auc([0, 0, 1, 1], [0.9, 0.8, 0.2, 0.1]) == 0.0
    assert roc_auc([0, 1], [0.5, 0.5]) == 0.5
    assert macro_f1(["a", "b"], ["a", "b"]) == 1.0
    assert rmse([0, 0], [3, 4]) == pytest.approx(math.sqrt(12.5))


# ------------------------------------------------------------------ bad input
def test_bad_input_is_named():
    a = np.zeros((2, 3, 3))
    with pytest.raises(ValueError, match=r"positional_mse: prediction has shape \(2, 3, 3\) but the truth has shape \(2, 4, 3\)"):
        positional_mse(a, np.zeros((2, 4, 3)))
    bad = a.copy()
    bad[1, 2, 0] = np.nan
    with pytest.raises(ValueError, match=r"euler_rmse: the prediction has a non-finite value nan at index \(1, 2, 0\)"):
        euler_rmse(bad, a)
    with pytest.raises(ValueError, match=r"expected arrays shaped \(\.\.\., J, 3\)"):
        joint_angle_error(np.zeros((2, 4)), np.zeros((2, 4)))
    with pytest.raises(ValueError, match="thresholds must be finite and >= 0"):
        pck_auc(a, a, thresholds=[-0.1])
    with pytest.raises(ValueError, match="only one class present"):
        roc_auc([1, 1, 1], [0.2, 0.3, 0.4])
    with pytest.raises(ValueError, match="y_true must be binary"):
        roc_auc([0, 2], [0.2, 0.3])
    with pytest.raises(ValueError, match="1-D of equal length"):
        accuracy([1, 2, 3], [1, 2])
    with pytest.raises(ValueError, match="joint_reduction"):
        joint_angle_error(a, a, joint_reduction="max")


# ------------------------------------------------------------------ real data
def test_quantized_oracle_on_real_clips_stays_within_the_quantization_bound(bandai_motions):
    tok = MotionTokenizer()
    delta = float(tok.angle_quantizer.delta.max())
    for motion in bandai_motions:
        m = motion.select_joints("bandai-core")
        true = m.rotations[:60]
        oracle = tok.decode_motion(tok.encode_motion(angles=true)).angles
        err = joint_angle_error(oracle, true)
        # Each axis-angle component is off by at most delta/2, and the rotation angle between two
        # rotation vectors is at most their Euclidean distance: sqrt(3) * delta / 2 per joint.
        assert np.all(err <= math.sqrt(3) * delta / 2 + 1e-9) and err.mean() > 0
        assert np.all(euler_rmse(true, true) == 0)
        # Positions of the oracle pose (FK) are within a few millimetres on a 1.7 m body.
        pos_true = m.slice(0, 60).positions()
        oracle_motion = m.slice(0, 60)
        oracle_motion.rotations = oracle
        mse = positional_mse(oracle_motion.positions(), pos_true)
        assert np.all(mse < 0.02**2) and mse.mean() > 0
        assert np.all(pck_auc(oracle_motion.positions(), pos_true) > 0.9)
