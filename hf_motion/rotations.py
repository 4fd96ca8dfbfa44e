"""Batched rotation conversions (numpy via scipy, torch via roma).

All functions accept arbitrary leading batch dimensions. Axis-angle vectors are in
radians; quaternions are ``(x, y, z, w)`` (scipy's scalar-last convention). Euler
orders are strings of three axis letters: upper case = intrinsic (BVH convention,
e.g. ``"ZXY"`` means ``R = Rz @ Rx @ Ry``), lower case = extrinsic.

scipy's ``Rotation`` is numerically safe near 0 and pi, so no hand-written maths here.

Complex input is refused (never silently cast to its real part). Non-finite axis-angle or Euler
values pass through as NaN (:class:`~hf_motion.Motion` then names the frame and joint); a
non-finite rotation *matrix* is refused, since scipy cannot factor it.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.spatial.transform import Rotation

__all__ = [
    "axis_angle_to_matrix",
    "matrix_to_axis_angle",
    "axis_angle_to_quaternion",
    "quaternion_to_axis_angle",
    "euler_to_axis_angle",
    "axis_angle_to_euler",
    "euler_to_matrix",
    "matrix_to_euler",
    "geodesic_angle",
    "mean_rotation",
    "relative_rotation",
    "compose_rotation",
    "axis_angle_to_matrix_torch",
]


def _flat(x: np.ndarray, tail: tuple[int, ...], finite: bool = False) -> tuple[np.ndarray, tuple[int, ...]]:
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    if np.iscomplexobj(x):
        raise ValueError(f"rotation values must be real, got a complex array ({np.asarray(x).dtype})")
    x = np.asarray(x, dtype=np.float64)
    if x.shape[x.ndim - len(tail) :] != tail:
        raise ValueError(f"expected trailing shape {tail}, got array of shape {x.shape}")
    if finite and not np.all(np.isfinite(x)):
        idx = tuple(int(i) for i in np.argwhere(~np.isfinite(x))[0])
        raise ValueError(f"rotation matrix at index {idx[: x.ndim - len(tail)]} has a non-finite entry ({x[idx]})")
    lead = x.shape[: x.ndim - len(tail)]
    return x.reshape((-1,) + tail), lead


def axis_angle_to_matrix(aa: np.ndarray) -> np.ndarray:
    """``(..., 3)`` axis-angle -> ``(..., 3, 3)`` rotation matrices."""
    flat, lead = _flat(aa, (3,))
    return Rotation.from_rotvec(flat).as_matrix().reshape(lead + (3, 3))


def matrix_to_axis_angle(mat: np.ndarray) -> np.ndarray:
    """``(..., 3, 3)`` rotation matrices -> ``(..., 3)`` axis-angle with angle in [0, pi]."""
    flat, lead = _flat(mat, (3, 3), finite=True)
    return Rotation.from_matrix(flat).as_rotvec().reshape(lead + (3,))


def axis_angle_to_quaternion(aa: np.ndarray) -> np.ndarray:
    """``(..., 3)`` axis-angle -> ``(..., 4)`` unit quaternions ``(x, y, z, w)``."""
    flat, lead = _flat(aa, (3,))
    return Rotation.from_rotvec(flat).as_quat().reshape(lead + (4,))


def quaternion_to_axis_angle(q: np.ndarray) -> np.ndarray:
    """``(..., 4)`` quaternions ``(x, y, z, w)`` (normalised here) -> ``(..., 3)`` axis-angle."""
    flat, lead = _flat(q, (4,))
    return Rotation.from_quat(flat).as_rotvec().reshape(lead + (3,))


def euler_to_matrix(angles: np.ndarray, order: str, degrees: bool = False) -> np.ndarray:
    """``(..., 3)`` Euler angles, listed in ``order`` -> ``(..., 3, 3)``."""
    flat, lead = _flat(angles, (3,))
    return Rotation.from_euler(order, flat, degrees=degrees).as_matrix().reshape(lead + (3, 3))


def matrix_to_euler(mat: np.ndarray, order: str, degrees: bool = False) -> np.ndarray:
    """``(..., 3, 3)`` -> ``(..., 3)`` Euler angles in ``order``."""
    flat, lead = _flat(mat, (3, 3), finite=True)
    return Rotation.from_matrix(flat).as_euler(order, degrees=degrees).reshape(lead + (3,))


def euler_to_axis_angle(angles: np.ndarray, order: str, degrees: bool = False) -> np.ndarray:
    """``(..., 3)`` Euler angles in ``order`` -> ``(..., 3)`` axis-angle."""
    flat, lead = _flat(angles, (3,))
    return Rotation.from_euler(order, flat, degrees=degrees).as_rotvec().reshape(lead + (3,))


def axis_angle_to_euler(aa: np.ndarray, order: str, degrees: bool = False) -> np.ndarray:
    """``(..., 3)`` axis-angle -> ``(..., 3)`` Euler angles in ``order``."""
    flat, lead = _flat(aa, (3,))
    return Rotation.from_rotvec(flat).as_euler(order, degrees=degrees).reshape(lead + (3,))


def geodesic_angle(aa_a: np.ndarray, aa_b: np.ndarray) -> np.ndarray:
    """Angle (radians, in [0, pi]) of the rotation taking ``aa_b`` to ``aa_a``, elementwise over ``(..., 3)``."""
    fa, lead = _flat(aa_a, (3,))
    fb, lead_b = _flat(aa_b, (3,))
    if lead != lead_b:
        raise ValueError(f"shape mismatch: {np.shape(aa_a)} vs {np.shape(aa_b)}")
    rel = Rotation.from_rotvec(fb).inv() * Rotation.from_rotvec(fa)
    return rel.magnitude().reshape(lead)


def mean_rotation(matrix_sum: np.ndarray) -> np.ndarray:
    """The chordal L2 mean rotation from a sum of rotation matrices ``(..., 3, 3)``, as axis-angle ``(..., 3)``.

    The mean is the rotation nearest (Frobenius norm) to the summed matrices, found by SVD; sums
    from several batches may be added before calling (the mean is streaming-friendly).
    """
    flat, lead = _flat(matrix_sum, (3, 3), finite=True)
    u, _, vt = np.linalg.svd(flat)
    d = np.ones((len(flat), 3))
    d[:, 2] = np.sign(np.linalg.det(u @ vt))
    d[d == 0] = 1.0
    return Rotation.from_matrix((u * d[:, None, :]) @ vt).as_rotvec().reshape(lead + (3,))


def relative_rotation(reference: np.ndarray, aa: np.ndarray) -> np.ndarray:
    """``log(R_ref^T R)``: the rotation ``aa`` (``(..., J, 3)``) as a change from ``reference`` (``(J, 3)``).

    Far from the reference's antipode the result is continuous, so motions whose raw axis-angle
    sits near a rotation of pi (where its sign flips) come out small and smooth.
    """
    fa, lead = _flat(aa, (3,))
    # A copy: reshaping a broadcast of the same shape gives a read-only view, which scipy refuses.
    ref = np.array(np.broadcast_to(np.asarray(reference, dtype=np.float64), lead + (3,)).reshape(-1, 3))
    return (Rotation.from_rotvec(ref).inv() * Rotation.from_rotvec(fa)).as_rotvec().reshape(lead + (3,))


def compose_rotation(reference: np.ndarray, rel: np.ndarray) -> np.ndarray:
    """``log(R_ref R_rel)``: the inverse of :func:`relative_rotation`."""
    fr, lead = _flat(rel, (3,))
    # A copy: reshaping a broadcast of the same shape gives a read-only view, which scipy refuses.
    ref = np.array(np.broadcast_to(np.asarray(reference, dtype=np.float64), lead + (3,)).reshape(-1, 3))
    return (Rotation.from_rotvec(ref) * Rotation.from_rotvec(fr)).as_rotvec().reshape(lead + (3,))


def axis_angle_to_matrix_torch(aa: torch.Tensor) -> torch.Tensor:
    """Torch version of :func:`axis_angle_to_matrix` (autograd- and GPU-friendly, via roma).

    Accepts a tensor or a numpy array / nested list (then converted with :func:`torch.as_tensor`);
    integer input is promoted to torch's default float dtype. Raises ``ValueError`` for complex input.
    """
    import roma

    if not isinstance(aa, torch.Tensor):
        if np.iscomplexobj(aa):
            raise ValueError(f"axis-angle values must be real, got a complex array ({np.asarray(aa).dtype})")
        aa = torch.as_tensor(np.asarray(aa))
    if aa.is_complex():
        raise ValueError(f"axis-angle values must be real, got a complex tensor ({aa.dtype})")
    if not aa.is_floating_point():
        aa = aa.to(torch.get_default_dtype())
    if aa.shape[-1:] != (3,):
        raise ValueError(f"expected trailing shape (3,), got tensor of shape {tuple(aa.shape)}")
    return roma.rotvec_to_rotmat(aa)
