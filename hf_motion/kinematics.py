"""Forward kinematics: local rotations + translations -> global joint positions.

The core works on torch tensors with any leading batch shape, on CPU or GPU, and is
differentiable. :func:`forward_kinematics` also accepts a :class:`~hf_motion.Motion` (then it
returns a float64 numpy array) or numpy arrays (then it returns numpy).

Inputs are checked before any maths: parents must be topological (root ``-1`` first, every other
parent an earlier joint), values real (complex is refused, never cast) and finite (the first bad
frame and joint are named); float32 and float64 inputs are promoted to the wider type.

This module sits below :mod:`hf_motion.motion` (``Motion.positions`` calls it), so it never imports
it: a Motion is recognised by its attributes (``skeleton`` and ``translations()``), and errors come
from :mod:`hf_motion.errors`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from .errors import MotionError
from .rotations import axis_angle_to_matrix_torch

__all__ = ["forward_kinematics", "global_transforms", "fk_tensors", "canonicalize_positions"]


def _check_parents(parents: Sequence[int], names: Sequence[str] | None = None) -> list[int]:
    """``parents`` as a list of ints; raises :class:`MotionError` naming the first bad joint."""
    try:
        raw = np.asarray(torch.as_tensor(parents).cpu() if isinstance(parents, torch.Tensor) else parents)
    except Exception as exc:  # ragged lists and the like
        raise MotionError(f"parents must be a 1-D sequence of joint indices: {exc}") from None
    if raw.ndim != 1 or raw.size == 0:
        raise MotionError(f"parents must be a non-empty 1-D sequence of joint indices, got shape {raw.shape}")
    if raw.dtype.kind not in "iuf" or (raw.dtype.kind == "f" and not np.all(raw == np.round(raw))):
        raise MotionError(f"parents must be integer joint indices, got {raw.tolist()}")
    out = [int(p) for p in raw]

    def joint(j: int) -> str:
        return f"joint {j}" + (f" ({names[j]!r})" if names is not None and j < len(names) else "")

    if out[0] != -1:
        raise MotionError(f"{joint(0)} must be the root (parent -1), got parent {out[0]}")
    for j, p in enumerate(out[1:], start=1):
        if not 0 <= p < j:
            raise MotionError(
                f"{joint(j)} has parent {p}: parents must be in topological order (0 <= parent < {j}) with the "
                "single root (-1) at index 0; reorder the joints so every parent comes before its children"
            )
    return out


def _as_real_tensor(x: Any, name: str) -> torch.Tensor:
    """A tensor view of ``x`` (tensor, numpy array or nested list); complex and boolean input are refused."""
    if not isinstance(x, torch.Tensor):
        if np.iscomplexobj(x):
            raise MotionError(f"{name} must be real, got a complex array ({np.asarray(x).dtype})")
        arr = np.asarray(x)
        if arr.dtype.kind not in "iuf":
            raise MotionError(f"{name} must be an array of real numbers, got dtype {arr.dtype}")
        x = torch.from_numpy(np.ascontiguousarray(arr))
    if x.is_complex():
        raise MotionError(f"{name} must be real, got a complex tensor ({x.dtype}); pass .real if that is meant")
    if x.dtype == torch.bool:
        raise MotionError(f"{name} must be real numbers, got a boolean tensor")
    return x


def _check_finite(x: torch.Tensor, name: str, names: Sequence[str] | None) -> None:
    """Raise naming the first non-finite entry of ``(..., J, 3)`` values (one host sync when all is well)."""
    bad = ~torch.isfinite(x)
    if not bool(bad.any()):
        return
    idx = [int(i) for i in torch.nonzero(bad)[0].tolist()]
    j = idx[-2]
    where = f"joint {j}" + (f" ({names[j]!r})" if names is not None else "")
    if len(idx) >= 3:
        where = f"frame {idx[-3]}, " + where
    if len(idx) >= 4:
        where = f"batch index {tuple(idx[:-3])}, " + where
    raise MotionError(f"{name} has a non-finite value ({x[tuple(idx)].item()}) at {where}")


def _prepare(
    rotations: Any, translations: Any, parents: Sequence[int], names: Sequence[str] | None = None
) -> tuple[torch.Tensor, torch.Tensor, list[int]]:
    parents = _check_parents(parents, names)
    rot = _as_real_tensor(rotations, "rotations")
    tr = _as_real_tensor(translations, "translations")
    # An array given beside a tensor follows the tensor's device.
    if not isinstance(rotations, torch.Tensor) and isinstance(translations, torch.Tensor):
        rot = rot.to(tr.device)
    elif not isinstance(translations, torch.Tensor) and isinstance(rotations, torch.Tensor):
        tr = tr.to(rot.device)
    J = len(parents)
    if rot.shape[-2:] != (J, 3) or tr.shape[-2:] != (J, 3):
        raise MotionError(f"FK expects (..., {J}, 3) rotations and translations, got {tuple(rot.shape)} and {tuple(tr.shape)}")
    if rot.device != tr.device:
        raise MotionError(f"rotations are on {rot.device} but translations on {tr.device}; move both to one device")
    # float32 with float64 computes in float64; integers become the default float dtype.
    dtype = torch.promote_types(rot.dtype, tr.dtype)
    if not dtype.is_floating_point:
        dtype = torch.get_default_dtype()
    rot, tr = rot.to(dtype), tr.to(dtype)
    _check_finite(rot, "rotations", names)
    _check_finite(tr, "translations", names)
    return rot, tr, parents


def fk_tensors(rotations: torch.Tensor, translations: torch.Tensor, parents: Sequence[int]) -> tuple[torch.Tensor, torch.Tensor]:
    """Batched FK on tensors.

    Args:
        rotations: ``(..., J, 3)`` local axis-angle (a tensor; numpy arrays are converted).
        translations: ``(..., J, 3)`` local translations (root: its global translation).
        parents: length-``J`` parent indices, ``-1`` for the root (joint 0), topologically ordered.

    Returns:
        ``(global_rotmats (..., J, 3, 3), positions (..., J, 3))`` in the promoted dtype of the inputs.

    Raises:
        MotionError: bad parents, shapes, devices, complex or non-finite values (naming the joint and frame).
    """
    rotations, translations, parents = _prepare(rotations, translations, parents)
    return _fk(rotations, translations, parents)


def _fk(rotations: torch.Tensor, translations: torch.Tensor, parents: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
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


def _is_motion(x: Any) -> bool:
    """Whether ``x`` is a :class:`~hf_motion.Motion` (by its attributes: importing the class would be a cycle)."""
    return not isinstance(x, (torch.Tensor, np.ndarray)) and hasattr(x, "skeleton") and callable(getattr(x, "translations", None))


def _check_rest_pose(motion: Any) -> None:
    # All-zero offsets put every joint on the root: the sign of a skeleton without a rest pose
    # (e.g. AMASS loaded without a body model), never a real one.
    if motion.num_joints > 1 and motion.local_translations is None and not np.any(motion.skeleton.offsets[1:]):
        src = motion.labels.get("source", "this motion")
        raise MotionError(
            f"{src}: the skeleton has no rest offsets (all zero), so joint positions are unknown; "
            "for AMASS, load it with body_model=<folder with SMPL model files>"
        )


def _motion_fk(motion: Any, device=None) -> tuple[torch.Tensor, torch.Tensor]:
    _check_rest_pose(motion)
    rot = torch.from_numpy(np.asarray(motion.rotations))
    tr = torch.from_numpy(motion.translations())
    if device is not None:
        rot, tr = rot.to(device), tr.to(device)
    try:  # the arrays may have been edited after the Motion was built
        rot, tr, parents = _prepare(rot, tr, motion.skeleton.parents.tolist(), motion.skeleton.names)
    except MotionError as exc:
        src = motion.labels.get("source")
        raise MotionError(f"{src}: {exc}" if src else str(exc)) from None
    return _fk(rot, tr, parents)


def global_transforms(motion: Any) -> tuple[np.ndarray, np.ndarray]:
    """Global rotation matrices ``(T, J, 3, 3)`` and positions ``(T, J, 3)`` of a :class:`~hf_motion.Motion` (float64)."""
    R, P = _motion_fk(motion)
    return R.numpy(), P.numpy()


def forward_kinematics(
    motion: Any,
    translations: torch.Tensor | np.ndarray | None = None,
    parents: Sequence[int] | None = None,
    device: str | torch.device | None = None,
):
    """Global joint positions in metres.

    ``motion`` is a :class:`~hf_motion.Motion` or the ``(..., J, 3)`` rotations.
    ``forward_kinematics(motion)`` returns a ``(T, J, 3)`` float64 numpy array.
    ``forward_kinematics(rotations, translations, parents)`` works on tensors of shape
    ``(..., J, 3)`` (any batch shape, any device, differentiable) and returns a tensor; given two
    numpy arrays (or lists) it returns a numpy array. Mixed float32/float64 inputs compute in float64.

    Args:
        device: where to compute (e.g. ``"cuda"``) for a :class:`Motion` or numpy input; the result
            is still returned as numpy. Tensors are computed where they are.

    Raises:
        MotionError: bad parents (non-topological, out of range), mismatched shapes, complex or
            non-finite values (naming the frame and joint).
    """
    if _is_motion(motion):
        return _motion_fk(motion, device)[1].cpu().numpy()
    if translations is None or parents is None:
        raise TypeError("forward_kinematics(rotations, ...) needs translations and parents")
    as_numpy = not isinstance(motion, torch.Tensor) and not isinstance(translations, torch.Tensor)
    rot, tr, parents = _prepare(motion, translations, parents)
    if as_numpy:
        if device is not None:
            rot, tr = rot.to(device), tr.to(device)
        return _fk(rot, tr, parents)[1].cpu().numpy()
    return _fk(rot, tr, parents)[1]


_AXIS = {"x": 0, "y": 1, "z": 2}


def canonicalize_positions(positions: np.ndarray, up_axis: str = "y", root: int = 0, frame: int | None = None) -> np.ndarray:
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
