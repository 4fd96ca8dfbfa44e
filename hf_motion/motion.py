"""Core data types: :class:`Skeleton` (a joint tree) and :class:`Motion` (a clip on a skeleton).

Conventions used everywhere in hf_motion:

* lengths are metres, angles are radians;
* rotations are *local* (relative to the parent joint) axis-angle vectors;
* joints are stored in topological order: ``parents[j] < j`` and joint 0 is the only root.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

# MotionError and the FK maths live below this module (hf_motion.errors, hf_motion.kinematics), so
# Motion uses them without an import cycle; MotionError is re-exported here for existing imports.
from .errors import MotionError
from .kinematics import forward_kinematics, global_transforms
from .rotations import matrix_to_axis_angle
from .skeletons import resolve_joint_subset

__all__ = ["Skeleton", "Motion", "MotionError"]


def _first_bad(values: np.ndarray) -> tuple[int, ...]:
    return tuple(int(i) for i in np.argwhere(~np.isfinite(values))[0])


def _real_array(value: Any, name: str) -> np.ndarray:
    """``value`` as a float64 array; complex or non-numeric input is a :class:`MotionError`, never cast."""
    if hasattr(value, "detach") and hasattr(value, "cpu"):  # a torch tensor
        value = value.detach().cpu().numpy()
    if np.iscomplexobj(value):
        raise MotionError(f"{name} must be real numbers, got a complex array ({np.asarray(value).dtype})")
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise MotionError(f"{name} must be an array of numbers: {exc}") from None
    return arr


@dataclass
class Skeleton:
    """A kinematic tree.

    Args:
        names: joint names, unique.
        parents: parent index per joint, ``-1`` for the root. Must satisfy ``parents[j] < j``.
        offsets: ``(J, 3)`` rest translation of each joint relative to its parent, in metres.
        up_axis: which axis points up in this skeleton's world (``"y"`` for BVH, ``"z"`` for AMASS).
        channels: optional per-joint BVH channel lists, kept so that :func:`hf_motion.save_bvh`
            can write a file back with the same layout.
        end_sites: optional BVH End Site offsets (metres) by joint name, kept for the same reason.
    """

    names: list[str]
    parents: np.ndarray
    offsets: np.ndarray
    up_axis: str = "y"
    channels: list[list[str]] | None = None
    end_sites: dict[str, list[float]] | None = None

    def __post_init__(self) -> None:
        if isinstance(self.names, str):
            raise MotionError(f"names must be a list of joint names, got the string {self.names!r}")
        self.names = [str(n) for n in self.names]
        raw_parents = _real_array(self.parents, "parents").reshape(-1)
        if not np.all(np.isfinite(raw_parents)) or np.any(raw_parents != np.round(raw_parents)):
            raise MotionError(f"parents must be integer joint indices, got {raw_parents.tolist()}")
        self.parents = raw_parents.astype(np.int64)
        self.offsets = _real_array(self.offsets, "offsets")
        J = len(self.names)
        if J == 0:
            raise MotionError("a skeleton needs at least one joint")
        if len(set(self.names)) != J:
            dup = sorted({n for n in self.names if self.names.count(n) > 1})
            raise MotionError(f"duplicate joint names: {dup}")
        if self.parents.shape != (J,):
            raise MotionError(f"parents has shape {self.parents.shape}, expected ({J},) for {J} joint names")
        if self.offsets.shape != (J, 3):
            raise MotionError(f"offsets has shape {self.offsets.shape}, expected ({J}, 3)")
        if self.parents[0] != -1:
            raise MotionError(f"joint 0 ({self.names[0]!r}) must be the root (parent -1)")
        for j in range(1, J):
            if not 0 <= self.parents[j] < j:
                raise MotionError(
                    f"joint {j} ({self.names[j]!r}) has parent {self.parents[j]}; joints must be in "
                    "topological order with a single root at index 0"
                )
        if not np.all(np.isfinite(self.offsets)):
            j = _first_bad(self.offsets)[0]
            raise MotionError(f"offset of joint {self.names[j]!r} is not finite: {self.offsets[j]}")
        if self.up_axis not in ("x", "y", "z"):
            raise MotionError(f"up_axis must be 'x', 'y' or 'z', got {self.up_axis!r}")

    def __len__(self) -> int:
        return len(self.names)

    @property
    def num_joints(self) -> int:
        return len(self.names)

    def index(self, name: str) -> int:
        """Index of joint ``name``; raises a :class:`MotionError` listing the known joints."""
        try:
            return self.names.index(name)
        except ValueError:
            raise MotionError(f"unknown joint {name!r}; this skeleton has {self.names}") from None

    def to_dict(self) -> dict[str, Any]:
        return {
            "names": list(self.names),
            "parents": self.parents.tolist(),
            "offsets": self.offsets.tolist(),
            "up_axis": self.up_axis,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Skeleton:
        return cls(d["names"], d["parents"], d["offsets"], d.get("up_axis", "y"))

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Skeleton)
            and self.names == other.names
            and np.array_equal(self.parents, other.parents)
            and np.allclose(self.offsets, other.offsets, atol=1e-9)
            and self.up_axis == other.up_axis
        )


@dataclass
class Motion:
    """A motion clip.

    Args:
        rotations: ``(T, J, 3)`` local joint rotations, axis-angle, radians.
        root_translation: ``(T, 3)`` translation of the root joint, metres.
        skeleton: the :class:`Skeleton` the clip lives on.
        fps: frames per second.
        labels: free-form metadata (e.g. ``{"content": "walk", "style": "elderly", "group": "take-001"}``).
        local_translations: optional ``(T, J, 3)`` time-varying local translations of every joint
            relative to its parent (metres). ``None`` means "use ``skeleton.offsets``". BVH files whose
            joints carry position channels fill it, so that forward kinematics reproduces the file
            exactly. The root's entry is ignored: ``root_translation`` is used.
    """

    rotations: np.ndarray
    root_translation: np.ndarray
    skeleton: Skeleton
    fps: float
    labels: dict[str, Any] = field(default_factory=dict)
    local_translations: np.ndarray | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.skeleton, Skeleton):
            raise MotionError(f"skeleton must be a hf_motion.Skeleton, got {type(self.skeleton).__name__}")
        self.rotations = _real_array(self.rotations, "rotations")
        self.root_translation = _real_array(self.root_translation, "root_translation")
        J = self.skeleton.num_joints
        if self.rotations.ndim != 3 or self.rotations.shape[1:] != (J, 3):
            raise MotionError(f"rotations has shape {self.rotations.shape}, expected (T, {J}, 3) for a {J}-joint skeleton")
        T = self.rotations.shape[0]
        if self.root_translation.shape != (T, 3):
            raise MotionError(f"root_translation has shape {self.root_translation.shape}, expected ({T}, 3)")
        if self.local_translations is not None:
            self.local_translations = _real_array(self.local_translations, "local_translations")
            if self.local_translations.shape != (T, J, 3):
                raise MotionError(f"local_translations has shape {self.local_translations.shape}, expected ({T}, {J}, 3)")
        for name, arr in (
            ("rotations", self.rotations),
            ("root_translation", self.root_translation),
            ("local_translations", self.local_translations),
        ):
            if arr is not None and not np.all(np.isfinite(arr)):
                idx = _first_bad(arr)
                where = f"frame {idx[0]}"
                if arr.ndim == 3:
                    where += f", joint {self.skeleton.names[idx[1]]!r}"
                raise MotionError(f"{name} has a non-finite value ({arr[idx]}) at {where}")
        try:
            fps = float(self.fps)
            ok = not isinstance(self.fps, (bool, str)) and np.isfinite(fps) and fps > 0
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise MotionError(f"fps must be a positive number (finite, > 0), got {self.fps!r}")
        self.fps = fps

    # ------------------------------------------------------------------ basics
    @property
    def num_frames(self) -> int:
        return self.rotations.shape[0]

    @property
    def num_joints(self) -> int:
        return self.skeleton.num_joints

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return self.num_frames / self.fps

    def __len__(self) -> int:
        return self.num_frames

    def __repr__(self) -> str:
        return (
            f"Motion(frames={self.num_frames}, joints={self.num_joints}, fps={self.fps:g}, "
            f"duration={self.duration:.2f}s, labels={self.labels})"
        )

    def translations(self) -> np.ndarray:
        """``(T, J, 3)`` local translation of every joint at every frame (root = ``root_translation``)."""
        if self.local_translations is not None:
            out = self.local_translations.copy()
        else:
            out = np.broadcast_to(self.skeleton.offsets, (self.num_frames, self.num_joints, 3)).copy()
        out[:, 0] = self.root_translation
        return out

    def slice(self, start: int, stop: int | None = None, step: int = 1) -> Motion:
        """Frames ``start:stop:step`` as a new Motion (``fps`` is divided by ``step``)."""
        sl = slice(start, stop, step)
        return Motion(
            self.rotations[sl],
            self.root_translation[sl],
            self.skeleton,
            self.fps / step,
            dict(self.labels),
            None if self.local_translations is None else self.local_translations[sl],
        )

    def copy(self) -> Motion:
        return copy.deepcopy(self)

    def positions(self) -> np.ndarray:
        """Global joint positions ``(T, J, 3)`` in metres (forward kinematics)."""
        return forward_kinematics(self)

    # ------------------------------------------------------------- joint subset
    def select_joints(self, names: Sequence[str] | str) -> Motion:
        """Motion on a reduced skeleton holding only ``names``.

        ``names`` is a list of joint names or the name of a registered subset (see
        :data:`hf_motion.skeletons.JOINT_SUBSETS`). Each kept joint's parent becomes its nearest
        kept ancestor, and its local rotation and translation are recomputed from the global
        transforms, so forward kinematics of the result gives *exactly* the kept joints' positions
        in the full motion. The first kept joint in topological order must be an ancestor of all the
        others (it becomes the new root).
        """
        try:
            names = resolve_joint_subset(names, self.skeleton)
        except MotionError as exc:
            src = self.labels.get("source")
            raise MotionError(f"{src}: {exc}" if src else str(exc)) from None
        idx = sorted(self.skeleton.index(n) for n in names)
        parents_full = self.skeleton.parents
        kept = set(idx)
        new_parents = []
        for j in idx:
            p = parents_full[j]
            while p != -1 and p not in kept:
                p = parents_full[p]
            new_parents.append(-1 if p == -1 else idx.index(p))
        roots = [self.skeleton.names[j] for j, p in zip(idx, new_parents) if p == -1]
        if len(roots) != 1:
            raise MotionError(f"joint subset must form one tree; these kept joints have no kept ancestor: {roots}")
        R, P = global_transforms(self)  # (T, J, 3, 3), (T, J, 3)
        Rk, Pk = R[:, idx], P[:, idx]
        local_R = Rk.copy()
        local_t = Pk.copy()
        for k, p in enumerate(new_parents):
            if p >= 0:
                Rp_T = np.swapaxes(Rk[:, p], -1, -2)
                local_R[:, k] = Rp_T @ Rk[:, k]
                local_t[:, k] = np.einsum("tij,tj->ti", Rp_T, Pk[:, k] - Pk[:, p])
        # Rest offsets: the first frame's local translations; the exact per-frame values are
        # only kept when they vary (a dropped joint in between rotated).
        skel = Skeleton([self.skeleton.names[j] for j in idx], new_parents, local_t[0], self.skeleton.up_axis)
        varying = not np.allclose(local_t[:, 1:], local_t[:1, 1:], rtol=0, atol=1e-12)
        return Motion(
            matrix_to_axis_angle(local_R),
            local_t[:, 0],
            skel,
            self.fps,
            dict(self.labels),
            local_t if varying else None,
        )
