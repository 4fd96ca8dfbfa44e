"""Continuous per-frame pose features for learned tokenizers and evaluators, on any skeleton.

One frame becomes one vector (T2M-GPT's HumanML3D layout, rebuilt from FK so that it works on any
skeleton instead of one SMPL feature file):

===================  =====  ==========================================================
channel              width  what
===================  =====  ==========================================================
``height``           1      height of the trajectory joint above the origin (up axis)
``velocity``         2      its horizontal velocity per frame, in its own heading frame
``yaw_velocity``     1      change of heading per frame (radians)
``root_rotation``    6      its global rotation relative to its heading, 6D (Zhou et al.)
``rotations``        6 B    local rotation of every body joint, 6D (continuous, no pi flip)
``positions``        3 B    body joint positions relative to the trajectory joint, heading frame
===================  =====  ==========================================================

The *trajectory joint* is the first joint with more than one child (the pelvis: Bandai's ``Hips``
under ``joint_Root``, CMU's and SMPL's root). Its ancestors are a chain whose motion is folded into
it; *body joints* are all the others. Heading is the yaw of the trajectory joint's forward axis,
so the features do not depend on where a clip starts or which way it faces, and decoding integrates
the velocities back into a world trajectory (starting at the origin facing yaw 0 unless told).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.spatial.transform import Rotation

from .kinematics import global_transforms
from .motion import Motion, MotionError, Skeleton

_UP = {"x": 0, "y": 1, "z": 2}
# A horizontal axis per up axis; any horizontal axis works, yaw is only used relatively.
_FORWARD = {"x": 2, "y": 2, "z": 1}


def six_d(mat: np.ndarray) -> np.ndarray:
    """``(..., 3, 3)`` rotation matrices -> ``(..., 6)``: the first two columns."""
    return np.concatenate([mat[..., :, 0], mat[..., :, 1]], axis=-1)


def six_d_to_matrix(x: np.ndarray) -> np.ndarray:
    """``(..., 6)`` -> ``(..., 3, 3)`` by Gram-Schmidt (any 6 numbers give a rotation)."""
    x = np.asarray(x, dtype=np.float64)
    a, b = x[..., :3], x[..., 3:6]
    c0 = a / np.maximum(np.linalg.norm(a, axis=-1, keepdims=True), 1e-8)
    b = b - np.sum(c0 * b, axis=-1, keepdims=True) * c0
    c1 = b / np.maximum(np.linalg.norm(b, axis=-1, keepdims=True), 1e-8)
    c2 = np.cross(c0, c1)
    return np.stack([c0, c1, c2], axis=-1)


def _yaw_matrix(up: np.ndarray, yaw: np.ndarray) -> np.ndarray:
    return Rotation.from_rotvec(yaw[:, None] * up[None, :]).as_matrix()


def trajectory_joint(parents: Sequence[int]) -> int:
    """Index of the first joint with more than one child (joint 0 if there is none)."""
    parents = list(parents)
    for j in range(len(parents)):
        if sum(1 for p in parents if p == j) > 1:
            return j
    return 0


@dataclass
class PoseFeatureLayout:
    """The skeleton contract of :func:`encode` / :func:`decode`; saved with a processor.

    Args:
        joint_names, parents: the skeleton, in order.
        bone_offsets: ``(J, 3)`` local translations used when decoding (metres): the mean local
            translations of the reference clip, since BVH files with position channels on every
            joint (Bandai) do not use their header offsets.
        up_axis: ``"x"``, ``"y"`` or ``"z"``.
        root: the trajectory joint (see the module docstring); default: found from ``parents``.
    """

    joint_names: list[str]
    parents: list[int]
    bone_offsets: list[list[float]]
    up_axis: str = "y"
    root: int | None = None
    _body: list[int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.joint_names = [str(n) for n in self.joint_names]
        self.parents = [int(p) for p in self.parents]
        J = len(self.joint_names)
        offsets = np.asarray(self.bone_offsets, dtype=np.float64)
        if offsets.shape != (J, 3) or not np.all(np.isfinite(offsets)):
            raise MotionError(f"bone_offsets must be a finite ({J}, 3) array, got shape {offsets.shape}")
        self.bone_offsets = offsets.tolist()
        Skeleton(self.joint_names, self.parents, offsets, self.up_axis)  # validates the tree
        if self.root is None:
            self.root = trajectory_joint(self.parents)
        if not 0 <= int(self.root) < J:
            raise MotionError(f"root must be a joint index in [0, {J}), got {self.root}")
        self.root = int(self.root)
        ancestors, j = set(), self.parents[self.root]
        while j >= 0:
            ancestors.add(j)
            j = self.parents[j]
        self._body = [j for j in range(J) if j != self.root and j not in ancestors]
        if not self._body:
            raise MotionError(f"skeleton {self.joint_names} has no body joint below its trajectory joint")

    # ------------------------------------------------------------------ construction and I/O
    @classmethod
    def from_motion(cls, motion: Motion) -> PoseFeatureLayout:
        """The layout of ``motion``'s skeleton, with its mean local translations as bone offsets."""
        sk = motion.skeleton
        offsets = sk.offsets if motion.local_translations is None else motion.local_translations.mean(axis=0)
        return cls(list(sk.names), sk.parents.tolist(), np.asarray(offsets).tolist(), sk.up_axis)

    def to_dict(self) -> dict[str, Any]:
        return {
            "joint_names": list(self.joint_names),
            "parents": list(self.parents),
            "bone_offsets": [list(map(float, o)) for o in self.bone_offsets],
            "up_axis": self.up_axis,
            "root": self.root,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> PoseFeatureLayout:
        return cls(d["joint_names"], d["parents"], d["bone_offsets"], d.get("up_axis", "y"), d.get("root"))

    # ------------------------------------------------------------------ layout
    @property
    def body_joints(self) -> list[int]:
        """Indices of the joints whose rotations and positions are features."""
        return list(self._body)

    @property
    def channels(self) -> dict[str, slice]:
        """Name -> slice of the feature vector."""
        B = len(self._body)
        widths = [("height", 1), ("velocity", 2), ("yaw_velocity", 1), ("root_rotation", 6), ("rotations", 6 * B), ("positions", 3 * B)]
        out, start = {}, 0
        for name, w in widths:
            out[name] = slice(start, start + w)
            start += w
        return out

    @property
    def dim(self) -> int:
        return self.channels["positions"].stop

    def _axes(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        eye = np.eye(3)
        up, fwd = eye[_UP[self.up_axis]], eye[_FORWARD[self.up_axis]]
        return up, fwd, np.cross(up, fwd)

    def check_motion(self, motion: Motion, source: str = "motion") -> None:
        """Raise a :class:`MotionError` naming the first joint that differs from the layout."""
        names = list(motion.skeleton.names)
        if names != self.joint_names:
            missing = [n for n in self.joint_names if n not in names]
            extra = [n for n in names if n not in self.joint_names]
            raise MotionError(
                f"{source}: its skeleton does not match this feature layout ({len(names)} joints, expected "
                f"{len(self.joint_names)}); missing {missing[:8]}, unexpected {extra[:8]}. Select the layout's "
                "joints first, or fit a processor on this skeleton"
            )
        if list(motion.skeleton.parents) != self.parents:
            j = next(j for j, p in enumerate(motion.skeleton.parents) if int(p) != self.parents[j])
            raise MotionError(
                f"{source}: same joint names but another hierarchy (parents) than this feature layout: joint "
                f"{names[j]!r} has parent {int(motion.skeleton.parents[j])}, expected {self.parents[j]}"
            )
        if motion.skeleton.up_axis != self.up_axis:
            raise MotionError(f"{source}: up axis {motion.skeleton.up_axis!r}, this layout expects {self.up_axis!r}")

    # ------------------------------------------------------------------ motion -> features
    def encode(self, motion: Motion, source: str = "motion") -> np.ndarray:
        """``(T, dim)`` float32 features of ``motion`` (needs at least 1 frame)."""
        self.check_motion(motion, source)
        rot_g, pos_g = global_transforms(motion)  # (T, J, 3, 3), (T, J, 3)
        T = motion.num_frames
        up, fwd, side = self._axes()
        r, body = self.root, self._body
        G, p = rot_g[:, r], pos_g[:, r]
        v = G @ fwd
        yaw = np.arctan2(v @ side, v @ fwd)
        H = _yaw_matrix(up, yaw)  # heading of each frame
        Ht = np.swapaxes(H, -1, -2)
        step = np.diff(p, axis=0) if T > 1 else np.zeros((1, 3))
        step = np.concatenate([step, step[-1:]], axis=0)[:T]
        local_step = np.einsum("tij,tj->ti", Ht, step)
        dyaw = np.diff(yaw) if T > 1 else np.zeros(1)
        dyaw = np.concatenate([dyaw, dyaw[-1:]])[:T]
        dyaw = (dyaw + np.pi) % (2 * np.pi) - np.pi
        local_rot = Rotation.from_rotvec(motion.rotations[:, body].reshape(-1, 3)).as_matrix().reshape(T, len(body), 3, 3)
        rel_pos = np.einsum("tij,tbj->tbi", Ht, pos_g[:, body] - p[:, None])
        feats = np.concatenate(
            [
                (p @ up)[:, None],
                np.stack([local_step @ fwd, local_step @ side], axis=-1),
                dyaw[:, None],
                six_d(Ht @ G),
                six_d(local_rot).reshape(T, -1),
                rel_pos.reshape(T, -1),
            ],
            axis=-1,
        )
        return feats.astype(np.float32)

    # ------------------------------------------------------------------ features -> motion
    def positions(self, features: np.ndarray) -> np.ndarray:
        """The position channel: ``(T, B, 3)`` body joints relative to the trajectory joint (heading frame)."""
        f = self._check_features(features)
        return f[:, self.channels["positions"]].reshape(len(f), len(self._body), 3)

    def rotations(self, features: np.ndarray) -> np.ndarray:
        """The body joints' local rotations ``(T, B, 3, 3)``."""
        f = self._check_features(features)
        return six_d_to_matrix(f[:, self.channels["rotations"]].reshape(len(f), len(self._body), 6))

    def _check_features(self, features: np.ndarray) -> np.ndarray:
        f = np.asarray(features, dtype=np.float64)
        if f.ndim != 2 or f.shape[1] != self.dim:
            raise MotionError(f"features must be shaped (T, {self.dim}), got {f.shape}")
        if not np.all(np.isfinite(f)):
            raise MotionError(f"features have a non-finite value at frame {int(np.argwhere(~np.isfinite(f))[0, 0])}")
        return f

    def decode(self, features: np.ndarray, fps: float, start_position: Sequence[float] | None = None, start_yaw: float = 0.0) -> Motion:
        """A :class:`Motion` from ``(T, dim)`` features: velocities integrated from ``start_position``
        (default: the origin at the decoded height) and ``start_yaw``."""
        f = self._check_features(features)
        ch = self.channels
        T, J = len(f), len(self.joint_names)
        up, fwd, side = self._axes()
        yaw = start_yaw + np.concatenate([[0.0], np.cumsum(f[:-1, ch["yaw_velocity"]][:, 0])])
        H = _yaw_matrix(up, yaw)
        vel = f[:, ch["velocity"]]
        world_step = np.einsum("tij,tj->ti", H, vel[:, :1] * fwd + vel[:, 1:2] * side)
        p = np.concatenate([np.zeros((1, 3)), np.cumsum(world_step[:-1], axis=0)])
        if start_position is not None:
            p = p + np.asarray(start_position, dtype=np.float64)[None]
        p = p - np.outer(p @ up, up) + np.outer(f[:, ch["height"]][:, 0], up)
        G = H @ six_d_to_matrix(f[:, ch["root_rotation"]])
        rot = np.zeros((T, J, 3))
        rot[:, self._body] = Rotation.from_matrix(self.rotations(f).reshape(-1, 3, 3)).as_rotvec().reshape(T, -1, 3)
        # Ancestors of the trajectory joint stay at identity, so its local rotation is its global one.
        rot[:, self.root] = Rotation.from_matrix(G).as_rotvec()
        offsets = np.asarray(self.bone_offsets)
        skeleton = Skeleton(self.joint_names, self.parents, offsets, self.up_axis)
        if self.root == 0:
            return Motion(rot, p, skeleton, fps)
        chain, j = np.zeros(3), self.parents[self.root]
        while j >= 0:  # where the ancestors put the trajectory joint's parent (identity rotations)
            chain = chain + offsets[j] if j > 0 else chain
            j = self.parents[j]
        local = np.broadcast_to(offsets, (T, J, 3)).copy()
        local[:, self.root] = p - chain
        return Motion(rot, np.zeros((T, 3)), skeleton, fps, local_translations=local)

    def root_relative_positions(self, motion: Motion) -> np.ndarray:
        """Ground truth for the position channel: ``positions(encode(motion))``."""
        return self.positions(self.encode(motion))
