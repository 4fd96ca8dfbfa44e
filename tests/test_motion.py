"""Skeleton/Motion validation, joint subsets, forward kinematics (numpy and torch) and rotation conversions."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from hf_motion import forward_kinematics
from hf_motion.kinematics import fk_tensors, global_transforms
from hf_motion.motion import Motion, MotionError, Skeleton
from hf_motion.rotations import (
    axis_angle_to_euler,
    axis_angle_to_matrix,
    axis_angle_to_matrix_torch,
    axis_angle_to_quaternion,
    euler_to_axis_angle,
    euler_to_matrix,
    geodesic_angle,
    matrix_to_axis_angle,
    matrix_to_euler,
    quaternion_to_axis_angle,
)

# ----------------------------------------------------------------------------- independent maths


def rodrigues(aa: np.ndarray) -> np.ndarray:
    """Rotation matrices from axis-angle by Rodrigues' formula (no scipy/roma)."""
    aa = np.asarray(aa, dtype=np.float64)
    theta = np.linalg.norm(aa, axis=-1, keepdims=True)
    axis = np.divide(aa, theta, out=np.zeros_like(aa), where=theta > 0)
    x, y, z = axis[..., 0], axis[..., 1], axis[..., 2]
    zero = np.zeros_like(x)
    K = np.stack([np.stack([zero, -z, y], -1), np.stack([z, zero, -x], -1), np.stack([-y, x, zero], -1)], -2)
    th = theta[..., None]
    return np.eye(3) + np.sin(th) * K + (1 - np.cos(th)) * (K @ K)


def angle_between(ra: np.ndarray, rb: np.ndarray) -> np.ndarray:
    """Angle between rotation matrices, accurate near 0: ``||Ra - Rb||_F = 2 sqrt(2) sin(angle / 2)``."""
    dist = np.linalg.norm(ra - rb, axis=(-2, -1))
    return 2 * np.arcsin(np.clip(dist / (2 * np.sqrt(2)), 0, 1))


def numpy_fk(rotmats: np.ndarray, translations: np.ndarray, parents) -> np.ndarray:
    """Textbook FK loop over joints on ``(T, J, 3, 3)`` local matrices."""
    g_rot = np.zeros_like(rotmats)
    g_pos = np.zeros_like(translations)
    for j, p in enumerate(parents):
        if p < 0:
            g_rot[:, j], g_pos[:, j] = rotmats[:, j], translations[:, j]
        else:
            g_rot[:, j] = g_rot[:, p] @ rotmats[:, j]
            g_pos[:, j] = g_pos[:, p] + np.einsum("tij,tj->ti", g_rot[:, p], translations[:, j])
    return g_pos


def chain_skeleton(n: int = 3) -> Skeleton:
    return Skeleton([f"j{i}" for i in range(n)], [-1] + list(range(n - 1)), [[0, 0, 0]] + [[0, 1, 0]] * (n - 1))


# ----------------------------------------------------------------------------- Skeleton validation


@pytest.mark.parametrize(
    "names, parents, offsets, match",
    [
        (["a", "b"], [-1, 0], np.zeros((3, 3)), r"offsets has shape \(3, 3\), expected \(2, 3\)"),
        (["a", "b"], [-1, 0], np.zeros((2, 2)), r"offsets has shape \(2, 2\), expected \(2, 3\)"),
        (["a", "b"], [-1, 0, 1], np.zeros((2, 3)), r"parents has shape \(3,\), expected \(2,\)"),
        (["a", "a"], [-1, 0], np.zeros((2, 3)), r"duplicate joint names: \['a'\]"),
        (["a", "b"], [0, -1], np.zeros((2, 3)), r"joint 0 \('a'\) must be the root"),
        (["a", "b", "c"], [-1, 2, 0], np.zeros((3, 3)), r"joint 1 \('b'\) has parent 2"),
        (["a", "b", "c"], [-1, 0, -1], np.zeros((3, 3)), r"joint 2 \('c'\) has parent -1"),
        (["a", "b"], [-1, 0], [[0, 0, 0], [0, np.nan, 0]], r"offset of joint 'b' is not finite"),
        ([], [], np.zeros((0, 3)), "at least one joint"),
    ],
)
def test_skeleton_rejects_bad_input(names, parents, offsets, match):
    with pytest.raises(MotionError, match=match):
        Skeleton(names, parents, offsets)


def test_skeleton_rejects_bad_up_axis():
    with pytest.raises(MotionError, match="up_axis must be 'x', 'y' or 'z', got 'up'"):
        Skeleton(["a"], [-1], [[0, 0, 0]], up_axis="up")


def test_skeleton_index_and_dict_round_trip(walk_motion):
    sk = walk_motion.skeleton
    assert sk.index("Hips") == 1 and sk.names[sk.index("Foot_L")] == "Foot_L"
    with pytest.raises(MotionError, match="unknown joint 'Tail'"):
        sk.index("Tail")
    assert Skeleton.from_dict(sk.to_dict()) == sk
    other = Skeleton.from_dict({**sk.to_dict(), "up_axis": "z"})
    assert other != sk


# ----------------------------------------------------------------------------- Motion validation


def test_motion_rejects_wrong_shapes():
    sk = chain_skeleton(3)
    with pytest.raises(MotionError, match=r"rotations has shape \(4, 2, 3\), expected \(T, 3, 3\)"):
        Motion(np.zeros((4, 2, 3)), np.zeros((4, 3)), sk, 30)
    with pytest.raises(MotionError, match=r"rotations has shape \(4, 9\)"):
        Motion(np.zeros((4, 9)), np.zeros((4, 3)), sk, 30)
    with pytest.raises(MotionError, match=r"root_translation has shape \(5, 3\), expected \(4, 3\)"):
        Motion(np.zeros((4, 3, 3)), np.zeros((5, 3)), sk, 30)
    with pytest.raises(MotionError, match=r"local_translations has shape \(4, 2, 3\), expected \(4, 3, 3\)"):
        Motion(np.zeros((4, 3, 3)), np.zeros((4, 3)), sk, 30, local_translations=np.zeros((4, 2, 3)))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_motion_rejects_non_finite_values_naming_frame_and_joint(bad):
    sk = chain_skeleton(3)
    rot = np.zeros((5, 3, 3))
    rot[3, 2, 1] = bad
    with pytest.raises(MotionError, match=r"rotations has a non-finite value .* at frame 3, joint 'j2'"):
        Motion(rot, np.zeros((5, 3)), sk, 30)
    root = np.zeros((5, 3))
    root[4, 0] = bad
    with pytest.raises(MotionError, match=r"root_translation has a non-finite value .* at frame 4"):
        Motion(np.zeros((5, 3, 3)), root, sk, 30)
    local = np.zeros((5, 3, 3))
    local[1, 1, 2] = bad
    with pytest.raises(MotionError, match=r"local_translations has a non-finite value .* at frame 1, joint 'j1'"):
        Motion(np.zeros((5, 3, 3)), np.zeros((5, 3)), sk, 30, local_translations=local)


@pytest.mark.parametrize("fps", [0, -30, np.nan, np.inf])
def test_motion_rejects_bad_fps(fps):
    with pytest.raises(MotionError, match="fps must be a positive number"):
        Motion(np.zeros((2, 3, 3)), np.zeros((2, 3)), chain_skeleton(3), fps)


def test_motion_slice_and_translations(walk_motion):
    part = walk_motion.slice(10, 50, 2)
    assert part.num_frames == 20 and part.fps == pytest.approx(walk_motion.fps / 2)
    np.testing.assert_array_equal(part.positions(), walk_motion.positions()[10:50:2])
    tr = walk_motion.translations()
    np.testing.assert_array_equal(tr[:, 0], walk_motion.root_translation)
    np.testing.assert_array_equal(tr[:, 1:], walk_motion.local_translations[:, 1:])


# ----------------------------------------------------------------------------- joint subsets


@pytest.mark.parametrize("subset", ["bandai-core", "bandai-full"])
def test_select_joints_keeps_positions_exactly(bandai_motions, subset):
    from hf_motion.skeletons import JOINT_SUBSETS

    for motion in bandai_motions:
        sub = motion.select_joints(subset)
        assert sub.skeleton.names == JOINT_SUBSETS[subset]
        idx = [motion.skeleton.index(n) for n in sub.skeleton.names]
        np.testing.assert_allclose(sub.positions(), motion.positions()[:, idx], rtol=0, atol=1e-9)


def test_select_joints_custom_list_skipping_joints(walk_motion):
    names = ["Foot_L", "Hips", "Hand_R", "Head"]  # any order; skips most of the chain in between
    sub = walk_motion.select_joints(names)
    assert sub.skeleton.names == ["Hips", "Head", "Hand_R", "Foot_L"]  # topological order of the file
    assert sub.skeleton.parents.tolist() == [-1, 0, 0, 0]
    idx = [walk_motion.skeleton.index(n) for n in sub.skeleton.names]
    np.testing.assert_allclose(sub.positions(), walk_motion.positions()[:, idx], rtol=0, atol=1e-9)
    # The kept bones change length as the skipped joints bend, so translations must vary per frame.
    assert sub.local_translations is not None
    foot = np.linalg.norm(sub.local_translations[:, 3], axis=-1)
    assert foot.max() - foot.min() > 0.01


def test_select_joints_rejects_a_forest_and_unknown_joints(walk_motion):
    with pytest.raises(MotionError, match=r"one tree.*\['UpperLeg_L', 'UpperLeg_R'\]"):
        walk_motion.select_joints(["UpperLeg_L", "UpperLeg_R", "Foot_L"])
    with pytest.raises(ValueError, match=r"joints \['Tail'\] are not in this skeleton"):
        walk_motion.select_joints(["Hips", "Tail"])
    with pytest.raises(ValueError, match="unknown joint subset 'bandai-tiny'"):
        walk_motion.select_joints("bandai-tiny")
    with pytest.raises(ValueError, match="at least one joint"):
        walk_motion.select_joints([])


# ----------------------------------------------------------------------------- forward kinematics


def test_fk_matches_a_textbook_loop(walk_motion):
    expected = numpy_fk(rodrigues(walk_motion.rotations), walk_motion.translations(), walk_motion.skeleton.parents)
    np.testing.assert_allclose(forward_kinematics(walk_motion), expected, rtol=0, atol=1e-12)
    R, P = global_transforms(walk_motion)
    np.testing.assert_allclose(P, expected, atol=1e-12)
    # Global rotations are proper rotations.
    np.testing.assert_allclose(R @ np.swapaxes(R, -1, -2), np.broadcast_to(np.eye(3), R.shape), atol=1e-12)


def test_fk_on_batched_tensors_equals_per_item(bandai_motions):
    T = 40
    clips = [m.slice(0, T) for m in bandai_motions[:3]]
    rot = torch.from_numpy(np.stack([m.rotations for m in clips]))  # (3, T, J, 3)
    tr = torch.from_numpy(np.stack([m.translations() for m in clips]))
    parents = clips[0].skeleton.parents.tolist()
    batched = forward_kinematics(rot, tr, parents)
    assert batched.shape == (3, T, 22, 3) and batched.dtype == torch.float64
    for k, m in enumerate(clips):
        np.testing.assert_allclose(batched[k].numpy(), forward_kinematics(m), rtol=0, atol=1e-12)
    # Two batch dimensions and float32 work too.
    R2, P2 = fk_tensors(rot.float().reshape(3, 4, 10, 22, 3), tr.float().reshape(3, 4, 10, 22, 3), parents)
    assert R2.shape == (3, 4, 10, 22, 3, 3)
    np.testing.assert_allclose(P2.reshape(3, T, 22, 3).numpy(), batched.numpy(), atol=1e-4)


def test_fk_is_differentiable(walk_motion):
    clip = walk_motion.slice(0, 2).select_joints(["Hips", "UpperLeg_L", "LowerLeg_L", "Foot_L"])
    rot = torch.from_numpy(clip.rotations).requires_grad_(True)
    tr = torch.from_numpy(clip.translations()).requires_grad_(True)
    parents = clip.skeleton.parents.tolist()
    pos = forward_kinematics(rot, tr, parents)
    pos[..., -1, 1].sum().backward()  # foot height
    assert torch.isfinite(rot.grad).all() and rot.grad.abs().sum() > 0
    assert rot.grad[:, -1].abs().max() == 0  # the foot's own rotation cannot move the foot joint
    np.testing.assert_allclose(tr.grad[:, 0].numpy(), [[0, 1, 0]] * 2)  # d(foot y)/d(root translation)
    assert torch.autograd.gradcheck(
        lambda r, t: forward_kinematics(r, t, parents), (rot.detach().requires_grad_(), tr.detach().requires_grad_())
    )


def test_fk_input_errors():
    with pytest.raises(TypeError, match="needs translations and parents"):
        forward_kinematics(torch.zeros(2, 3, 3))
    with pytest.raises(MotionError, match=r"FK expects \(\.\.\., 3, 3\)"):
        fk_tensors(torch.zeros(2, 4, 3), torch.zeros(2, 4, 3), [-1, 0, 1])


def test_fk_on_numpy_and_mixed_dtypes_matches_the_float64_path(walk_motion):
    clip = walk_motion.slice(0, 5)
    rot, tr, parents = clip.rotations, clip.translations(), clip.skeleton.parents.tolist()
    expected = numpy_fk(rodrigues(rot), tr, parents)
    out = forward_kinematics(rot, tr, parents)  # numpy in, numpy out
    assert isinstance(out, np.ndarray) and out.dtype == np.float64
    np.testing.assert_allclose(out, expected, rtol=0, atol=1e-12)
    mixed = forward_kinematics(torch.from_numpy(rot).float(), torch.from_numpy(tr), parents)
    assert mixed.dtype == torch.float64  # promoted to the wider type
    ref32 = numpy_fk(rodrigues(rot.astype(np.float32).astype(np.float64)), tr, parents)
    np.testing.assert_allclose(mixed.numpy(), ref32, rtol=0, atol=1e-12)
    # A numpy array beside a tensor follows the tensor.
    assert isinstance(forward_kinematics(rot, torch.from_numpy(tr), parents), torch.Tensor)


@pytest.mark.parametrize(
    "parents, match",
    [
        ([-1, 2, 0], r"joint 1 has parent 2: parents must be in topological order"),
        ([-1, 0, 5], r"joint 2 has parent 5"),
        ([-1, 0, -1], r"joint 2 has parent -1"),
        ([0, -1, 1], r"joint 0 must be the root \(parent -1\), got parent 0"),
        ([-1, 0.5, 1], r"parents must be integer joint indices"),
    ],
)
def test_fk_rejects_bad_parents(parents, match):
    with pytest.raises(MotionError, match=match):
        forward_kinematics(torch.zeros(2, 3, 3), torch.zeros(2, 3, 3), parents)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_fk_rejects_non_finite_and_complex_values(bad, walk_motion):
    rot = torch.zeros(2, 4, 3, 3, dtype=torch.float64)
    rot[1, 2, 1, 0] = bad
    with pytest.raises(MotionError, match=r"rotations has a non-finite value .* at batch index \(1,\), frame 2, joint 1"):
        forward_kinematics(rot, torch.zeros(2, 4, 3, 3), [-1, 0, 1])
    with pytest.raises(MotionError, match="rotations must be real, got a complex tensor"):
        fk_tensors(torch.zeros(4, 3, 3, dtype=torch.complex128), torch.zeros(4, 3, 3), [-1, 0, 1])
    with pytest.raises(MotionError, match="translations must be real, got a complex array"):
        forward_kinematics(np.zeros((4, 3, 3)), np.zeros((4, 3, 3), dtype=complex), [-1, 0, 1])
    # A Motion edited after it was built is checked again, naming the file and the joint.
    clip = walk_motion.slice(0, 3).copy()
    clip.rotations[1, clip.skeleton.index("Head"), 2] = bad
    with pytest.raises(MotionError, match=r"walk_normal_001\.bvh: rotations .* frame 1, joint 5 \('Head'\)"):
        clip.positions()


def test_motion_rejects_complex_and_non_numeric_values():
    sk = chain_skeleton(3)
    with pytest.raises(MotionError, match=r"rotations must be real numbers, got a complex array"):
        Motion(np.zeros((2, 3, 3), dtype=complex), np.zeros((2, 3)), sk, 30)
    with pytest.raises(MotionError, match=r"root_translation must be an array of numbers"):
        Motion(np.zeros((2, 3, 3)), [["a", "b", "c"]] * 2, sk, 30)
    with pytest.raises(MotionError, match="skeleton must be a hf_motion.Skeleton"):
        Motion(np.zeros((2, 3, 3)), np.zeros((2, 3)), {"names": ["a"]}, 30)
    with pytest.raises(MotionError, match="fps must be a positive number"):
        Motion(np.zeros((2, 3, 3)), np.zeros((2, 3)), sk, "30")
    with pytest.raises(MotionError, match="names must be a list of joint names"):
        Skeleton("abc", [-1, 0, 1], np.zeros((3, 3)))


def test_select_joints_on_another_skeleton_names_file_missing_and_available_joints():
    from pathlib import Path

    from hf_motion import load_bvh

    cmu = load_bvh(Path(__file__).parent / "fixtures" / "cmu_31joint.bvh")
    with pytest.raises(MotionError) as info:
        cmu.select_joints("bandai-core")
    msg = str(info.value)
    assert "cmu_31joint.bvh" in msg and "'bandai-core'" in msg
    from hf_motion.skeletons import JOINT_SUBSETS

    missing = [n for n in JOINT_SUBSETS["bandai-core"] if n not in cmu.skeleton.names]
    assert f"joints {missing} are not in this skeleton" in msg
    assert str(cmu.skeleton.names) in msg


def test_rotation_helpers_refuse_complex_and_accept_numpy():
    with pytest.raises(ValueError, match="must be real"):
        axis_angle_to_matrix(np.zeros((2, 3), dtype=complex))
    with pytest.raises(ValueError, match="must be real"):
        axis_angle_to_matrix_torch(torch.zeros(2, 3, dtype=torch.complex64))
    with pytest.raises(ValueError, match=r"rotation matrix at index \(1,\) has a non-finite entry"):
        matrix_to_axis_angle(np.stack([np.eye(3), np.full((3, 3), np.nan)]))
    aa = np.array([[0.1, -0.2, 0.3], [0.0, 0.0, 0.0]])
    np.testing.assert_allclose(axis_angle_to_matrix_torch(aa).numpy(), rodrigues(aa), atol=1e-12)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")
def test_fk_on_cuda_matches_cpu(walk_motion):
    on_gpu = forward_kinematics(walk_motion, device="cuda")
    assert isinstance(on_gpu, np.ndarray)
    np.testing.assert_allclose(on_gpu, forward_kinematics(walk_motion), rtol=0, atol=1e-9)
    rot = torch.from_numpy(walk_motion.rotations).cuda()
    tr = torch.from_numpy(walk_motion.translations()).cuda()
    out = forward_kinematics(rot, tr, walk_motion.skeleton.parents.tolist())
    assert out.device.type == "cuda"
    np.testing.assert_allclose(out.cpu().numpy(), forward_kinematics(walk_motion), rtol=0, atol=1e-9)


# ----------------------------------------------------------------------------- rotations


@st.composite
def axis_angles(draw, regime: str):
    """Batched axis-angle arrays of a random leading shape, with angles near 0, near pi, or anywhere."""
    shape = tuple(draw(st.lists(st.integers(1, 3), min_size=0, max_size=3)))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    axis = rng.normal(size=shape + (3,))
    axis /= np.linalg.norm(axis, axis=-1, keepdims=True)
    eps = 10.0 ** draw(st.integers(-15, -3))
    if regime == "zero":
        angle = rng.uniform(0, eps, size=shape + (1,))
    elif regime == "pi":
        angle = np.pi - rng.uniform(0, eps, size=shape + (1,))
    else:
        angle = rng.uniform(0, np.pi, size=shape + (1,))
    return axis * angle


REGIMES = ["zero", "pi", "any"]


@pytest.mark.parametrize("regime", REGIMES)
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_axis_angle_matrix_round_trip(regime, data):
    aa = data.draw(axis_angles(regime))
    mat = axis_angle_to_matrix(aa)
    assert mat.shape == aa.shape[:-1] + (3, 3)
    np.testing.assert_allclose(mat, rodrigues(aa), atol=1e-12)
    back = matrix_to_axis_angle(mat)
    assert back.shape == aa.shape
    assert (np.linalg.norm(back, axis=-1) <= np.pi + 1e-12).all()
    # As rotations (at exactly pi the vector may flip sign, which is the same rotation).
    assert (angle_between(rodrigues(back), rodrigues(aa)) < 1e-9).all()
    if regime == "zero":
        np.testing.assert_allclose(back, aa, atol=1e-15)


@pytest.mark.parametrize("regime", REGIMES)
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_axis_angle_quaternion_round_trip(regime, data):
    aa = data.draw(axis_angles(regime))
    q = axis_angle_to_quaternion(aa)
    theta = np.linalg.norm(aa, axis=-1, keepdims=True)
    # Half-angle formula, written out: q = (sin(theta/2) * axis, cos(theta/2)) = (sinc-scaled aa, cos).
    half_sinc = 0.5 * np.sinc(theta / (2 * np.pi))  # sin(theta/2)/theta, safe at 0
    expected = np.concatenate([aa * half_sinc, np.cos(theta / 2)], axis=-1)
    sign = np.where(np.sum(q * expected, axis=-1, keepdims=True) < 0, -1.0, 1.0)
    np.testing.assert_allclose(q * sign, expected, atol=1e-12)
    back = quaternion_to_axis_angle(q)
    assert (angle_between(rodrigues(back), rodrigues(aa)) < 1e-9).all()
    # Unnormalised quaternions are normalised.
    np.testing.assert_allclose(quaternion_to_axis_angle(3.0 * q), back, atol=1e-12)


@pytest.mark.parametrize("order", ["XYZ", "ZXY", "ZYX", "YXZ", "xyz", "zxy"])
@pytest.mark.parametrize("regime", REGIMES)
@settings(max_examples=15, deadline=None)
@given(data=st.data())
def test_euler_round_trip(order, regime, data):
    aa = data.draw(axis_angles(regime))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scipy warns at gimbal lock; the decomposition is still valid
        eul = axis_angle_to_euler(aa, order)
        again = matrix_to_euler(rodrigues(aa), order)
    assert eul.shape == aa.shape
    back = euler_to_axis_angle(eul, order)
    assert (angle_between(rodrigues(back), rodrigues(aa)) < 1e-9).all()
    np.testing.assert_allclose(euler_to_matrix(eul, order), rodrigues(aa), atol=1e-9)
    np.testing.assert_allclose(euler_to_matrix(again, order), rodrigues(aa), atol=1e-9)


def test_euler_orders_by_hand():
    # Upper case = intrinsic: "ZXY" is Rz @ Rx @ Ry; lower case = extrinsic: "zxy" is Ry @ Rx @ Rz.
    a, b, c = 0.3, -1.1, 2.0
    Rz = rodrigues(np.array([0, 0, a]))
    Rx = rodrigues(np.array([b, 0, 0]))
    Ry = rodrigues(np.array([0, c, 0]))
    np.testing.assert_allclose(euler_to_matrix(np.array([a, b, c]), "ZXY"), Rz @ Rx @ Ry, atol=1e-14)
    np.testing.assert_allclose(euler_to_matrix(np.array([a, b, c]), "zxy"), Ry @ Rx @ Rz, atol=1e-14)
    np.testing.assert_allclose(euler_to_axis_angle(np.array([90.0, 0, 0]), "ZXY", degrees=True), [0, 0, np.pi / 2])


@pytest.mark.parametrize("regime", REGIMES)
@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_torch_axis_angle_matches_numpy(regime, data):
    aa = data.draw(axis_angles(regime))
    out = axis_angle_to_matrix_torch(torch.from_numpy(aa))
    assert out.shape == aa.shape[:-1] + (3, 3) and out.dtype == torch.float64
    np.testing.assert_allclose(out.numpy(), rodrigues(aa), atol=1e-12)


def test_torch_axis_angle_gradient_is_finite_at_zero():
    aa = torch.zeros(4, 3, dtype=torch.float64, requires_grad=True)
    axis_angle_to_matrix_torch(aa).sum().backward()
    assert torch.isfinite(aa.grad).all()


def test_geodesic_angle_by_hand():
    a = np.array([[0.0, 0.0, 0.5], [0.0, 0.0, 3.0], [1e-9, 0, 0]])
    b = np.array([[0.0, 0.0, -0.25], [0.0, 0.0, -3.0], [0, 0, 0]])
    # About one axis angles subtract, wrapping through pi: |3 - (-3)| = 6 -> 2*pi - 6.
    np.testing.assert_allclose(geodesic_angle(a, b), [0.75, 2 * np.pi - 6.0, 1e-9], rtol=1e-6, atol=1e-15)
    with pytest.raises(ValueError, match="shape mismatch"):
        geodesic_angle(a, b[:2])


def test_conversions_reject_wrong_trailing_shape():
    with pytest.raises(ValueError, match=r"expected trailing shape \(3,\), got array of shape \(2, 4\)"):
        axis_angle_to_matrix(np.zeros((2, 4)))
    with pytest.raises(ValueError, match=r"expected trailing shape \(3, 3\)"):
        matrix_to_axis_angle(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"expected trailing shape \(4,\)"):
        quaternion_to_axis_angle(np.zeros((5, 3)))
