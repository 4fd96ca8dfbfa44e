"""Known skeletons and named joint subsets (a registry, not an if-chain).

M5 tokenizes a reduced joint set. ``Motion.select_joints("bandai-core")`` (or any registered name,
or a plain list of names) gives that reduced motion, exactly: FK of the result equals the full
skeleton's positions for the kept joints.

Besides registered names, a joint subset can be given as:

* ``"auto"``: the core body joints of *whatever skeleton is in front of it*, found by joint name
  (:func:`auto_joint_subset`): pelvis, spine, chest, neck, head, and per side upper arm, forearm,
  hand, thigh, shin and foot (the 17 roles of :data:`CORE_ROLES`). Names are matched with the
  aliases of each registered naming convention (:data:`SKELETON_CONVENTIONS`: Bandai-Namco, CMU,
  Mixamo, SMPL and a generic list), ignoring case, separators, namespaces (``mixamorig:``) and
  the side's spelling (``Left``/``L``/``_l``). On Bandai-Namco it gives exactly ``bandai-core``.
* ``"all"``: every joint of the skeleton;
* ``"a,b,c"``: comma-separated joint names.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "SMPL_BODY_JOINTS",
    "SMPL_BODY_PARENTS",
    "JOINT_SUBSETS",
    "AUTO",
    "ALL",
    "BODY_ROLES",
    "CORE_ROLES",
    "MIN_AUTO_ROLES",
    "SKELETON_CONVENTIONS",
    "JointRoles",
    "register_joint_subset",
    "register_skeleton_convention",
    "resolve_joint_subset",
    "parse_joints_option",
    "match_joint_roles",
    "auto_joint_subset",
    "is_skeleton_dependent",
    "auto_rules_fingerprint",
]

#: Joint subset specs that stand for a rule applied to each skeleton, not for fixed names.
AUTO = "auto"
ALL = "all"
_DYNAMIC = (AUTO, ALL)

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
    if str(name).strip().lower() in _DYNAMIC or "," in str(name):
        raise ValueError(f"{name!r} cannot name a joint subset: 'auto', 'all' and names with commas are reserved")
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


# ------------------------------------------------------------------ body roles ("auto")

_CENTRE_PARTS = ("pelvis", "spine", "chest", "neck", "head")
_ARM_PARTS = ("clavicle", "upper_arm", "forearm", "hand")
_LEG_PARTS = ("thigh", "shin", "foot", "toe")
_PARTS = _CENTRE_PARTS + _ARM_PARTS + _LEG_PARTS

#: Every body role a naming convention may name, in canonical order.
BODY_ROLES: tuple[str, ...] = (
    _CENTRE_PARTS
    + tuple(f"{s}_{p}" for s in ("left", "right") for p in _ARM_PARTS)
    + tuple(f"{s}_{p}" for s in ("left", "right") for p in _LEG_PARTS)
)
#: The roles ``"auto"`` keeps: the body without clavicles and toes (``bandai-core`` on Bandai-Namco).
CORE_ROLES: tuple[str, ...] = tuple(r for r in BODY_ROLES if not r.endswith(("_clavicle", "_toe")))
#: ``"auto"`` refuses a skeleton where fewer of :data:`CORE_ROLES` are found by name.
MIN_AUTO_ROLES = 12

# Chains whose found joints must descend from one another in this order (the pelvis must be an
# ancestor of every found joint): a name match that contradicts the hierarchy is not trusted.
_CHAINS = [list(_CENTRE_PARTS)] + [[f"{s}_{p}" for p in parts] for parts in (_ARM_PARTS, _LEG_PARTS) for s in ("left", "right")]

#: Naming convention -> body part -> aliases, most specific first. Aliases are side-free and
#: compared after normalisation (see :func:`_joint_key`): ``UpperArm_L``, ``mixamorig:LeftArm`` and
#: ``left_shoulder`` are part ``upperarm``/``arm``/``shoulder`` on the left side.
SKELETON_CONVENTIONS: dict[str, dict[str, tuple[str, ...]]] = {}


def _norm_alias(alias: str) -> str:
    return re.sub(r"[^a-z0-9]", "", str(alias).lower())


def register_skeleton_convention(name: str, aliases: Mapping[str, Sequence[str] | str], exist_ok: bool = False) -> None:
    """Register joint-name aliases used by ``"auto"`` (:func:`auto_joint_subset`).

    Args:
        name: the convention's name (reported in messages).
        aliases: body part -> alias or aliases, most specific first. Parts: ``pelvis``, ``spine``,
            ``chest``, ``neck``, ``head``, ``clavicle``, ``upper_arm``, ``forearm``, ``hand``,
            ``thigh``, ``shin``, ``foot``, ``toe``. Limb aliases carry no side (``"UpperArm"`` matches
            ``UpperArm_L``, ``LeftUpperArm``, ``l_upperarm``, ...).
    """
    if name in SKELETON_CONVENTIONS and not exist_ok:
        raise ValueError(f"skeleton naming convention {name!r} is already registered")
    unknown = sorted(set(aliases) - set(_PARTS))
    if unknown:
        raise ValueError(f"unknown body parts {unknown}; known parts: {list(_PARTS)}")
    table = {}
    for part, names in aliases.items():
        names = [names] if isinstance(names, str) else list(names)
        table[part] = tuple(dict.fromkeys(a for a in (_norm_alias(n) for n in names) if a))
    SKELETON_CONVENTIONS[name] = table


register_skeleton_convention("bandai-namco", {
    "pelvis": "Hips", "spine": "Spine", "chest": "Chest", "neck": "Neck", "head": "Head",
    "clavicle": "Shoulder", "upper_arm": "UpperArm", "forearm": "LowerArm", "hand": "Hand",
    "thigh": "UpperLeg", "shin": "LowerLeg", "foot": "Foot", "toe": "Toes",
})  # fmt: skip
# Mixamo before CMU: a Mixamo rig (Spine, Spine1, Spine2) also fits CMU's names; CMU rigs
# (LowerBack, Spine, Spine1) lack Mixamo's Spine2, so each wins on its own rigs.
register_skeleton_convention("mixamo", {
    "pelvis": "Hips", "spine": "Spine1", "chest": "Spine2", "neck": "Neck", "head": "Head",
    "clavicle": "Shoulder", "upper_arm": "Arm", "forearm": "ForeArm", "hand": "Hand",
    "thigh": "UpLeg", "shin": "Leg", "foot": "Foot", "toe": "ToeBase",
})  # fmt: skip
# CMU (cgspeed / asf2bvh BVH): Hips, LowerBack, Spine, Spine1, Neck, Neck1, Head, LeftShoulder
# (clavicle), LeftArm, LeftForeArm, LeftHand, LHipJoint, LeftUpLeg, LeftLeg, LeftFoot, LeftToeBase.
register_skeleton_convention("cmu", {
    "pelvis": "Hips", "spine": ("Spine", "LowerBack"), "chest": "Spine1", "neck": "Neck", "head": "Head",
    "clavicle": "Shoulder", "upper_arm": "Arm", "forearm": "ForeArm", "hand": "Hand",
    "thigh": "UpLeg", "shin": "Leg", "foot": "Foot", "toe": "ToeBase",
})  # fmt: skip
# SMPL / SMPL-H / SMPL-X (AMASS): "shoulder" is the upper arm, "collar" the clavicle, "foot" the toes.
register_skeleton_convention("smpl", {
    "pelvis": "pelvis", "spine": ("spine2", "spine1"), "chest": "spine3", "neck": "neck", "head": "head",
    "clavicle": "collar", "upper_arm": "shoulder", "forearm": "elbow", "hand": ("wrist", "hand"),
    "thigh": "hip", "shin": "knee", "foot": "ankle", "toe": "foot",
})  # fmt: skip
# Other common spellings (Unreal, 3ds Max Biped, Blender/Rigify, keypoint-style joint names).
register_skeleton_convention("generic", {
    "pelvis": ("Hips", "Pelvis", "Hip", "Waist"),
    "spine": ("Spine", "Spine01", "Spine1", "LowerSpine", "SpineLower", "Abdomen", "Torso", "LowerBack"),
    "chest": ("Chest", "UpperChest", "Spine2", "Spine02", "Spine3", "Spine03", "UpperSpine", "SpineUpper", "Thorax"),
    "neck": ("Neck", "Neck01", "Neck1", "LowerNeck"),
    "head": ("Head",),
    "clavicle": ("Clavicle", "Collar", "CollarBone", "Shoulder"),
    "upper_arm": ("UpperArm", "Arm", "UpArm", "Humerus", "Shoulder"),
    "forearm": ("ForeArm", "LowerArm", "Elbow"),
    "hand": ("Wrist", "Hand"),
    "thigh": ("Thigh", "UpLeg", "UpperLeg", "Femur", "Hip"),
    "shin": ("Shin", "Calf", "LowerLeg", "Knee", "Leg", "Crus"),
    "foot": ("Ankle", "Foot"),
    "toe": ("Toe", "Toes", "ToeBase", "Ball"),
})  # fmt: skip

_NAMESPACE = re.compile(r"^.*[:|]")
_TOKEN = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")
_SIDE_TOKENS = {"l": "left", "left": "left", "lft": "left", "r": "right", "right": "right", "rt": "right"}
# Leading name tokens that are a rig's prefix, not part of the joint's name (then any digits).
_PREFIX_TOKENS = {"mixamorig", "bip", "biped", "def", "jnt", "bn", "b", "j"}


def _strip_common_prefix(names: list[str]) -> list[str]:
    """Drop a prefix every name shares up to a separator (``Character1_``, ``Bip01 ``)."""
    if len(names) < 3:
        return names
    prefix = os.path.commonprefix(names)
    cut = max(prefix.rfind(c) for c in "_- .") + 1
    if cut == 0 or _norm_alias(prefix[:cut]) in _SIDE_TOKENS:  # "left_..." on a one-sided skeleton is a side
        return names
    return [n[cut:] for n in names]


def _joint_key(name: str) -> tuple[str | None, str]:
    """``(side, part)`` of a joint name: ``"mixamorig:LeftForeArm"`` -> ``("left", "forearm")``,
    ``"UpperArm_L"`` -> ``("left", "upperarm")``, ``"Spine1"`` -> ``(None, "spine1")``."""
    text = _NAMESPACE.sub("", name)
    tokens = [t.lower() for piece in re.split(r"[^A-Za-z0-9]+", text) for t in _TOKEN.findall(piece)]
    while tokens and tokens[0] in _PREFIX_TOKENS and len(tokens) > 1:
        tokens.pop(0)
        while tokens and tokens[0].isdigit() and len(tokens) > 1:
            tokens.pop(0)
    side = None
    if len(tokens) > 1 and tokens[0] in _SIDE_TOKENS:
        side = _SIDE_TOKENS[tokens.pop(0)]
    elif len(tokens) > 1 and tokens[-1] in _SIDE_TOKENS:
        side = _SIDE_TOKENS[tokens.pop()]
    elif tokens:
        for spelled in ("left", "right"):  # all-lowercase names such as "leftarm"
            if tokens[0].startswith(spelled) and len(tokens[0]) > len(spelled):
                side, tokens[0] = spelled, tokens[0][len(spelled) :]
                break
    return side, "".join(tokens)


def _role_side_part(role: str) -> tuple[str | None, str]:
    for side in ("left", "right"):
        if role.startswith(side + "_"):
            return side, role[len(side) + 1 :]
    return None, role


@dataclass
class JointRoles:
    """Body roles found in a skeleton by :func:`match_joint_roles`.

    Attributes:
        convention: the naming convention whose aliases matched (``"bandai-namco"``, ``"cmu"``, ...).
        roles: role -> joint name, for the roles found.
        missing: the asked-for roles not found.
        problems: found joints whose place in the hierarchy contradicts their role (then the match
            is not used).
        by_structure: roles found by the hierarchy rather than by name (the pelvis as the lowest
            common ancestor of the other found joints).
    """

    convention: str
    roles: dict[str, str]
    missing: list[str]
    problems: list[str] = field(default_factory=list)
    by_structure: list[str] = field(default_factory=list)

    def describe(self) -> str:
        found = ", ".join(f"{r}={n}" for r, n in self.roles.items()) or "none"
        return f"{len(self.roles)} roles by {self.convention!r} names ({found})"


def _ancestors(parents: np.ndarray, j: int) -> set[int]:
    out = set()
    p = int(parents[j])
    while p >= 0:
        out.add(p)
        p = int(parents[p])
    return out


def _match_convention(skeleton, table: Mapping[str, tuple[str, ...]], roles: Sequence[str]) -> tuple[dict[str, int], list[str], list[str]]:
    names = list(skeleton.names)
    index: dict[tuple[str | None, str], int] = {}
    for j, key in enumerate(_joint_key(n) for n in _strip_common_prefix(names)):
        if key[1]:
            index.setdefault(key, j)  # the first of two joints with one key (in skeleton order)
    found: dict[str, int] = {}
    used: set[int] = set()
    for role in roles:
        side, part = _role_side_part(role)
        for alias in table.get(part, ()):
            j = index.get((side, alias))
            if j is not None and j not in used:
                found[role] = j
                used.add(j)
                break
    parents = skeleton.parents
    by_structure = []
    if "pelvis" in roles and "pelvis" not in found and len(found) >= 2:
        # No joint named like a pelvis: the lowest common ancestor of what was found is the pelvis.
        common = set.intersection(*({j} | _ancestors(parents, j) for j in found.values()))
        lca = max(common) if common else None  # ancestors have smaller indices (topological order)
        if lca is not None and lca not in used:
            found["pelvis"] = lca
            by_structure.append("pelvis")
    problems = []
    if "pelvis" in found:
        root = found["pelvis"]
        for role, j in found.items():
            if j != root and root not in _ancestors(parents, j):
                problems.append(f"{names[j]} (as {role}) is not below the pelvis {names[root]}")
    for chain in _CHAINS:
        present = [r for r in chain if r in found]
        for a, b in itertools.pairwise(present):
            if found[a] not in _ancestors(parents, found[b]):
                problems.append(f"{names[found[b]]} (as {b}) is not below {names[found[a]]} (as {a})")
    ordered = {r: found[r] for r in roles if r in found}
    return ordered, problems, by_structure


def match_joint_roles(skeleton, roles: Sequence[str] = CORE_ROLES, min_roles: int = MIN_AUTO_ROLES) -> JointRoles:
    """The body ``roles`` (see :data:`BODY_ROLES`) found in ``skeleton`` by joint name.

    Every registered naming convention (:data:`SKELETON_CONVENTIONS`) is tried. A usable match
    (at least ``min_roles`` roles, the pelvis among them, in a hierarchy consistent with them) beats
    any other; then more roles found by name win, then fewer contradictions, then registration order.
    """
    unknown = [r for r in roles if r not in BODY_ROLES]
    if unknown:
        raise ValueError(f"unknown body roles {unknown}; known roles: {list(BODY_ROLES)}")
    best = None
    for order, (name, table) in enumerate(SKELETON_CONVENTIONS.items()):
        found, problems, by_structure = _match_convention(skeleton, table, roles)
        usable = not problems and len(found) >= min_roles and ("pelvis" in found or "pelvis" not in roles)
        rank = (usable, len(found) - len(by_structure), len(found), -len(problems), -order)
        if best is None or rank > best[0]:
            best = (rank, name, found, problems, by_structure)
    if best is None:
        return JointRoles("none", {}, list(roles))
    _, name, found, problems, by_structure = best
    names = skeleton.names
    return JointRoles(name, {r: names[j] for r, j in found.items()}, [r for r in roles if r not in found], problems, by_structure)


def _short(names: Sequence[str], limit: int = 40) -> str:
    names = list(names)
    text = ", ".join(names[:limit])
    return text + (f", ... (+{len(names) - limit} more)" if len(names) > limit else "")


def auto_joint_subset(skeleton, min_roles: int = MIN_AUTO_ROLES, roles: Sequence[str] = CORE_ROLES) -> list[str]:
    """The ``"auto"`` joint subset of ``skeleton``: its core body joints, found by name.

    Returns the joints found for :data:`CORE_ROLES` (pelvis, spine, chest, neck, head, and per side
    upper arm, forearm, hand, thigh, shin, foot), in the skeleton's order. They form one tree under
    the pelvis, so :meth:`hf_motion.Motion.select_joints` accepts them. On Bandai-Namco this is
    ``bandai-core``; on CMU BVH ``Hips, LeftUpLeg, ..., Spine, Spine1, Neck, Head, LeftArm, ...``.

    Raises:
        MotionError (a ``ValueError``): fewer than ``min_roles`` roles were found, or the names found
            contradict the hierarchy; the message lists what was found and what to pass instead
            (``"all"``, comma-separated joint names or a registered subset).
    """
    from .errors import MotionError

    match = match_joint_roles(skeleton, roles, min_roles)
    example = ",".join(skeleton.names[:3]) + ("" if len(skeleton.names) <= 3 else ",...")
    advice = (
        f"pass joints='all' (command line: --joints all) to keep every joint, comma-separated joint names of this "
        f"skeleton (--joints {example}), or a registered subset ({', '.join(sorted(JOINT_SUBSETS))}); or teach "
        "'auto' this rig's names with hf_motion.skeletons.register_skeleton_convention"
    )
    joints = f"This skeleton has {len(skeleton.names)} joints: {_short(skeleton.names)}"
    if match.problems:
        raise MotionError(
            f"joints='auto': the joint names matched body roles ({match.describe()}) but the hierarchy contradicts "
            f"them: {'; '.join(match.problems)}. {joints}. Choose the joints yourself: {advice}"
        )
    if len(match.roles) < min_roles or "pelvis" not in match.roles:
        found = f"found {match.describe()}" if match.roles else "found none"
        raise MotionError(
            f"joints='auto' needs at least {min_roles} of the {len(roles)} core body roles, the pelvis among them, "
            f"found by joint name; {found}; not found: {', '.join(match.missing)}. {joints}. "
            f"{advice[0].upper()}{advice[1:]}"
        )
    index = {n: j for j, n in enumerate(skeleton.names)}
    return sorted(match.roles.values(), key=index.__getitem__)


def auto_rules_fingerprint() -> str:
    """A hash of what ``"auto"`` depends on (conventions, roles, threshold): cache keys include it."""
    rec = {"conventions": SKELETON_CONVENTIONS, "roles": CORE_ROLES, "min": MIN_AUTO_ROLES, "v": 1}
    return hashlib.sha256(json.dumps(rec, sort_keys=True).encode()).hexdigest()[:16]


def is_skeleton_dependent(spec) -> bool:
    """Whether a joint subset spec (``"auto"``, ``"all"``) names joints only once a skeleton is known."""
    return isinstance(spec, str) and spec.strip().lower() in _DYNAMIC


def resolve_joint_subset(names: Sequence[str] | str, skeleton=None) -> list[str]:
    """A list of joint names from a subset spec; checks against ``skeleton``.

    ``names`` is a list of joint names, a registered subset name, ``"a,b,c"`` (comma-separated
    names), ``"auto"`` (:func:`auto_joint_subset` of ``skeleton``) or ``"all"`` (every joint of
    ``skeleton``). Without a ``skeleton``, ``"auto"`` and ``"all"`` cannot name joints yet: they
    come back as the one-item list ``["auto"]`` / ``["all"]``, a stable stand-in for records (run
    settings); pass the skeleton to get the names.

    Raises:
        MotionError (a ``ValueError``): an unknown subset name, an empty or duplicated list, joints
            that ``skeleton`` lacks (the message lists the missing joints and the skeleton's joints),
            or ``"auto"`` finding too few body joints (see :func:`auto_joint_subset`).
    """
    from .errors import MotionError

    label = None
    if isinstance(names, str):
        spec = names.strip()
        if spec.lower() in _DYNAMIC:
            if skeleton is None:
                return [spec.lower()]
            return auto_joint_subset(skeleton) if spec.lower() == AUTO else list(skeleton.names)
        if spec in JOINT_SUBSETS:
            label, names = spec, JOINT_SUBSETS[spec]
        elif "," in spec:
            names = [n.strip() for n in spec.split(",") if n.strip()]
        elif skeleton is not None and spec in skeleton.names:
            names = [spec]
        else:
            where = f"; this skeleton has {len(skeleton.names)} joints: {_short(skeleton.names)}" if skeleton is not None else ""
            raise MotionError(
                f"unknown joint subset {spec!r}; registered: {sorted(JOINT_SUBSETS)}. Pass 'auto' (the core body joints "
                f"found by name), 'all' (every joint), a registered subset or comma-separated joint names{where}"
            )
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
                "pass a subset registered for this skeleton, a list of its joint names, or 'auto' / 'all'"
            )
    return names


def smpl_parents() -> np.ndarray:
    return np.asarray(SMPL_BODY_PARENTS, dtype=np.int64)


def parse_joints_option(value: str | Sequence[str] | None) -> str | list[str] | None:
    """A ``--joints`` value as the library takes it: ``"all"`` (or None) -> None (every joint),
    ``"a,b,c"`` -> ``["a", "b", "c"]``, anything else (``"auto"``, a registered subset name, one
    joint name) -> the stripped text; a list passes through.

    Raises:
        MotionError: an empty value, a comma list with no names, or a name given twice.
    """
    from .errors import MotionError

    if value is None or not isinstance(value, str):
        return None if value is None else list(value)
    text = value.strip()
    if not text:
        raise MotionError("joints '': empty; pass auto, all, a registered subset or comma-separated joint names")
    if text.lower() == "all":
        return None
    if text.lower() == "auto":
        return "auto"
    if "," not in text:
        return text
    names = [n.strip() for n in text.split(",") if n.strip()]
    dup = sorted({n for n in names if names.count(n) > 1})
    if not names or dup:
        raise MotionError(f"joints {text!r}: " + (f"repeats {dup}" if dup else "names no joint"))
    return names
