"""Forward kinematics: local rotations + translations -> global joint positions.

The core works on torch tensors with any leading batch shape, on CPU or GPU, and is
differentiable. :func:`forward_kinematics` also accepts a :class:`~hf_motion.Motion` and then
returns a float64 numpy array.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from .motion import Motion, MotionError
from .rotations import axis_angle_to_matrix_torch

__all__ = ["forward_kinematics", "global_transforms", "fk_tensors", "canonicalize_positions"]


def fk_tensors(
    rotations: torch.Tensor, translations: torch.Tensor, parents: Sequence[int]
) -> tuple[torch.Tensor, torch.Tensor]:
    """Batched FK on tensors.

    Args:
        rotations: ``(..., J, 3)`` local axis-angle.
        translations: ``(..., J, 3)`` local translations (root: its global translation).
        parents: length-``J`` parent indices, ``-1`` for the root, topologically ordered.

    Returns:
        ``(global_rotmats (..., J, 3, 3), positions (..., J, 3))``.
    """
    parents = [int(p) for p in parents]
    J = len(parents)
    if rotations.shape[-2:] != (J, 3) or translations.shape[-2:] != (J, 3):
        raise MotionError(
            f"FK expects (..., {J}, 3) rotations and translations, got {tuple(rotations.shape)} "
            f"and {tuple(translations.shape)}"
        )
    local = axis_angle_to_matrix_torch(rotations)
    glob_R: list[torch.Tensor] = []
    glob_p: list[torch.Tensor] = []
    # A Python loop over joints (tens), vectorised over frames and batch.
    for j, p in enumerate(parents):
        if p < 0:
            glob_R.append(local[..., j, :, :])
            glob_p.append(translations[..., j, :])
        else:
            glob_R.append(glob_R[p] @ local[..., j, :, :])
            glob_p.append(glob_p[p] + (glob_R[p] @ translations[..., j, :, None])[..., 0])
    return torch.stack(glob_R, dim=-3), torch.stack(glob_p, dim=-2)


def _check_rest_pose(motion: Motion) -> None:
    # All-zero offsets put every joint on the root: the sign of a skeleton without a rest pose
    # (e.g. AMASS loaded without a body model), never a real one.
    if motion.num_joints > 1 and motion.local_translations is None and not np.any(motion.skeleton.offsets[1:]):
        src = motion.labels.get("source", "this motion")
        raise MotionError(
            f"{src}: the skeleton has no rest offsets (all zero), so joint positions are unknown; "
            "for AMASS, load it with body_model=<folder with SMPL model files>"
        )


def global_transforms(motion: Motion) -> tuple[np.ndarray, np.ndarray]:
    """Global rotation matrices ``(T, J, 3, 3)`` and positions ``(T, J, 3)`` of a Motion (float64)."""
    _check_rest_pose(motion)
    R, P = fk_tensors(
        torch.from_numpy(motion.rotations),
        torch.from_numpy(motion.translations()),
        motion.skeleton.parents.tolist(),
    )
    return R.numpy(), P.numpy()


def forward_kinematics(
    motion: Motion | torch.Tensor,
    translations: torch.Tensor | None = None,
    parents: Sequence[int] | None = None,
    device: str | torch.device | None = None,
):
    """Global joint positions in metres.

    ``forward_kinematics(motion)`` returns a ``(T, J, 3)`` float64 numpy array.
    ``forward_kinematics(rotations, translations, parents)`` works on tensors of shape
    ``(..., J, 3)`` (any batch shape, any device, differentiable) and returns a tensor.

    Args:
        device: for a :class:`Motion`, where to compute (e.g. ``"cuda"``); the result is
            still returned as numpy.
    """
    if isinstance(motion, Motion):
        _check_rest_pose(motion)
        rot = torch.from_numpy(motion.rotations)
        tr = torch.from_numpy(motion.translations())
        if device is not None:
            rot, tr = rot.to(device), tr.to(device)
        return fk_tensors(rot, tr, motion.skeleton.parents.tolist())[1].cpu().numpy()
    if translations is None or parents is None:
        raise TypeError("forward_kinematics(tensor, ...) needs translations and parents")
    return fk_tensors(motion, translations, parents)[1]


_AXIS = {"x": 0, "y": 1, "z": 2}


def canonicalize_positions(
    positions: np.ndarray, up_axis: str = "y", root: int = 0, frame: int | None = None
) -> np.ndarray:
    """Shift ``(T, J, 3)`` positions horizontally so the root is centred on the origin.

    Subtracts the root joint's horizontal position averaged over the frames (``frame=None``, the
    default: a window of locomotion then spans the box symmetrically) or at one ``frame``. The
    vertical coordinate is kept, so height above the floor survives. This is the frame the
    tokenizer's position box assumes.
    """
    positions = np.asarray(positions)
    if positions.ndim != 3 or positions.shape[-1] != 3:
        raise MotionError(f"positions must have shape (T, J, 3), got {positions.shape}")
    shift = positions[:, root].mean(axis=0) if frame is None else positions[frame, root].copy()
    shift[_AXIS[up_axis]] = 0.0
    return positions - shift
