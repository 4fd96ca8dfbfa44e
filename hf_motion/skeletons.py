"""Known skeletons and named joint subsets (a registry, not an if-chain).

M5 tokenizes a reduced joint set. ``Motion.select_joints("bandai-core")`` (or any registered name,
or a plain list of names) gives that reduced motion, exactly: FK of the result equals the full
skeleton's positions for the kept joints.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

__all__ = [
    "SMPL_BODY_JOINTS",
    "SMPL_BODY_PARENTS",
    "JOINT_SUBSETS",
    "register_joint_subset",
    "resolve_joint_subset",
]

# The 22 SMPL body joints (AMASS ``poses[:, :66]``), in SMPL order.
SMPL_BODY_JOINTS = [
    "pelvis", "left_hip", "right_hip", "spine1", "left_knee", "right_knee", "spine2",
    "left_ankle", "right_ankle", "spine3", "left_foot", "right_foot", "neck", "left_collar",
    "right_collar", "head", "left_shoulder", "right_shoulder", "left_elbow", "right_elbow",
    "left_wrist", "right_wrist",
]  # fmt: skip
SMPL_BODY_PARENTS = [-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19]

JOINT_SUBSETS: dict[str, list[str]] = {}


def register_joint_subset(name: str, joints: Sequence[str], exist_ok: bool = False) -> None:
    """Register a named joint subset usable in ``Motion.select_joints(name)`` and configs."""
    if name in JOINT_SUBSETS and not exist_ok:
        raise ValueError(f"joint subset {name!r} is already registered")
    JOINT_SUBSETS[name] = list(joints)


# Bandai-Namco: drop the static ``joint_Root``, the shoulders (clavicles) and the toes.
register_joint_subset(
    "bandai-core",
    ["Hips", "Spine", "Chest", "Neck", "Head",
     "UpperArm_L", "LowerArm_L", "Hand_L", "UpperArm_R", "LowerArm_R", "Hand_R",
     "UpperLeg_L", "LowerLeg_L", "Foot_L", "UpperLeg_R", "LowerLeg_R", "Foot_R"],
)  # fmt: skip
# Bandai-Namco: every moving joint (all but the static ``joint_Root``).
register_joint_subset(
    "bandai-full",
    ["Hips", "Spine", "Chest", "Neck", "Head", "Shoulder_L", "UpperArm_L", "LowerArm_L", "Hand_L",
     "Shoulder_R", "UpperArm_R", "LowerArm_R", "Hand_R", "UpperLeg_L", "LowerLeg_L", "Foot_L", "Toes_L",
     "UpperLeg_R", "LowerLeg_R", "Foot_R", "Toes_R"],
)  # fmt: skip
# SMPL: the 22 body joints, and a 17-joint core without spine1/3, collars and feet.
register_joint_subset("smpl-body", SMPL_BODY_JOINTS)
register_joint_subset(
    "smpl-core",
    ["pelvis", "left_hip", "right_hip", "left_knee", "right_knee", "spine2", "left_ankle", "right_ankle",
     "neck", "head", "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist",
     "right_wrist"],
)  # fmt: skip


def resolve_joint_subset(names: Sequence[str] | str, skeleton=None) -> list[str]:
    """A list of joint names from a registered subset name or a list; checks against ``skeleton``.

    Raises:
        MotionError (a ``ValueError``): an unknown subset name, an empty or duplicated list, or joints
            that ``skeleton`` lacks (the message lists the missing joints and the skeleton's joints).
    """
    from .motion import MotionError

    label = None
    if isinstance(names, str):
        if names not in JOINT_SUBSETS:
            raise MotionError(f"unknown joint subset {names!r}; registered: {sorted(JOINT_SUBSETS)}")
        label, names = names, JOINT_SUBSETS[names]
    names = [str(n) for n in names]
    if not names:
        raise MotionError("a joint subset needs at least one joint")
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise MotionError(f"joint subset has duplicates: {dup}")
    if skeleton is not None:
        missing = [n for n in names if n not in skeleton.names]
        if missing:
            what = f"joint subset {label!r} ({len(names)} joints) does not fit: " if label else ""
            raise MotionError(
                f"{what}joints {missing} are not in this skeleton ({len(skeleton.names)} joints: {skeleton.names}); "
                "pass a subset registered for this skeleton or a list of its joint names"
            )
    return names


def smpl_parents() -> np.ndarray:
    return np.asarray(SMPL_BODY_PARENTS, dtype=np.int64)
