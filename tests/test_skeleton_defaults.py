"""``joints="auto"``: the core body joints of whatever skeleton is given, found by joint name.

Expected joint lists are written by hand from each skeleton's names (never computed by the code
under test); every auto subset must also be accepted by ``Motion.select_joints`` with FK exact.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import hf_motion
from hf_motion import Motion, MotionTokenizer, Skeleton
from hf_motion.datasets import (
    MotionDatasetBuilder,
    MotionDatasetConfig,
    MotionDatasetError,
)
from hf_motion.motion import MotionError
from hf_motion.skeletons import (
    JOINT_SUBSETS,
    SMPL_BODY_JOINTS,
    SMPL_BODY_PARENTS,
    auto_joint_subset,
    match_joint_roles,
    resolve_joint_subset,
)

from conftest import BANDAI1

CMU = Path(__file__).parent / "fixtures" / "cmu_31joint.bvh"

# Bandai-Namco's core, typed out (not read from the registry) so that the registry is checked too.
BANDAI_CORE = [
    "Hips", "Spine", "Chest", "Neck", "Head", "UpperArm_L", "LowerArm_L", "Hand_L", "UpperArm_R", "LowerArm_R",
    "Hand_R", "UpperLeg_L", "LowerLeg_L", "Foot_L", "UpperLeg_R", "LowerLeg_R", "Foot_R",
]  # fmt: skip
# From the fixture's HIERARCHY: LHipJoint/RHipJoint and LowerBack are zero-length helpers, Neck1 a
# second neck joint, LeftShoulder the clavicle, fingers/thumbs and toes are dropped like Bandai's.
CMU_ROLES = {
    "pelvis": "Hips", "spine": "Spine", "chest": "Spine1", "neck": "Neck", "head": "Head",
    "left_upper_arm": "LeftArm", "left_forearm": "LeftForeArm", "left_hand": "LeftHand",
    "right_upper_arm": "RightArm", "right_forearm": "RightForeArm", "right_hand": "RightHand",
    "left_thigh": "LeftUpLeg", "left_shin": "LeftLeg", "left_foot": "LeftFoot",
    "right_thigh": "RightUpLeg", "right_shin": "RightLeg", "right_foot": "RightFoot",
}  # fmt: skip
CMU_DROPPED = [
    "LHipJoint", "LeftToeBase", "RHipJoint", "RightToeBase", "LowerBack", "Neck1", "LeftShoulder", "LeftFingerBase",
    "LeftHandIndex1", "LThumb", "RightShoulder", "RightFingerBase", "RightHandIndex1", "RThumb",
]  # fmt: skip


def _skeleton(tree: list[tuple[str, str | None]]) -> Skeleton:
    """A skeleton from (name, parent name) pairs in topological order, with unit-ish offsets."""
    names = [n for n, _ in tree]
    parents = [-1 if p is None else names.index(p) for _, p in tree]
    rng = np.random.default_rng(0)
    return Skeleton(names, parents, rng.uniform(-0.2, 0.2, size=(len(names), 3)))


def _random_motion(skeleton: Skeleton, frames: int = 5) -> Motion:
    rng = np.random.default_rng(1)
    J = skeleton.num_joints
    return Motion(rng.uniform(-0.5, 0.5, (frames, J, 3)), rng.uniform(-1, 1, (frames, 3)), skeleton, 30.0)


def _assert_exact_subset(motion: Motion, names: list[str]) -> None:
    """select_joints accepts ``names`` (one tree) and its FK equals the full FK of those joints."""
    sub = motion.select_joints(names)
    assert sub.skeleton.names == names
    keep = [motion.skeleton.index(n) for n in names]
    np.testing.assert_allclose(sub.positions(), motion.positions()[:, keep], atol=1e-9)


def _mixamo_tree(prefix: str = "mixamorig:") -> list[tuple[str, str | None]]:
    """Mixamo's standard humanoid (fingers cut to one per hand), with its ``*_End`` leaf joints."""
    t = [("Hips", None), ("Spine", "Hips"), ("Spine1", "Spine"), ("Spine2", "Spine1"), ("Neck", "Spine2"),
         ("Head", "Neck"), ("HeadTop_End", "Head")]  # fmt: skip
    for side in ("Left", "Right"):
        t += [(f"{side}Shoulder", "Spine2"), (f"{side}Arm", f"{side}Shoulder"), (f"{side}ForeArm", f"{side}Arm"),
              (f"{side}Hand", f"{side}ForeArm"), (f"{side}HandIndex1", f"{side}Hand"),
              (f"{side}HandIndex4", f"{side}HandIndex1")]  # fmt: skip
    for side in ("Left", "Right"):
        t += [(f"{side}UpLeg", "Hips"), (f"{side}Leg", f"{side}UpLeg"), (f"{side}Foot", f"{side}Leg"),
              (f"{side}ToeBase", f"{side}Foot"), (f"{side}Toe_End", f"{side}ToeBase")]  # fmt: skip
    return [(prefix + n, None if p is None else prefix + p) for n, p in t]


MIXAMO_CORE = [
    "Hips", "Spine1", "Spine2", "Neck", "Head", "LeftArm", "LeftForeArm", "LeftHand", "RightArm", "RightForeArm",
    "RightHand", "LeftUpLeg", "LeftLeg", "LeftFoot", "RightUpLeg", "RightLeg", "RightFoot",
]  # fmt: skip


# ----------------------------------------------------------------- Bandai-Namco: unchanged


def test_auto_is_bandai_core_on_bandai(bandai_motions):
    assert JOINT_SUBSETS["bandai-core"] == BANDAI_CORE
    for motion in bandai_motions:
        assert auto_joint_subset(motion.skeleton) == BANDAI_CORE
        assert resolve_joint_subset("auto", motion.skeleton) == BANDAI_CORE
    walk = bandai_motions[0].slice(0, 20)
    a, b = walk.select_joints("auto"), walk.select_joints("bandai-core")
    assert a.skeleton == b.skeleton
    np.testing.assert_array_equal(a.rotations, b.rotations)


def test_default_build_on_bandai_gives_bandai_core(tmp_path):
    clip = BANDAI1 / "dataset-1_walk_normal_001.bvh"
    tok = MotionTokenizer()
    assert MotionDatasetConfig().joints == "auto"
    default = MotionDatasetBuilder(MotionDatasetConfig(window=30, tasks="acm=1"), tok).build(
        [clip], num_proc=1, cache_dir=False, progress=False
    )
    core = MotionDatasetBuilder(MotionDatasetConfig(window=30, tasks="acm=1", joints="bandai-core"), tok).build(
        [clip], num_proc=1, cache_dir=False, progress=False
    )
    assert default.stats.joint_names == BANDAI_CORE
    for split in core.dataset:
        assert default.dataset[split]["input_ids"][:] == core.dataset[split]["input_ids"][:]


# ----------------------------------------------------------------- other conventions


def test_auto_on_the_cmu_fixture():
    motion = hf_motion.load_bvh(CMU)
    names = motion.skeleton.names
    assert len(names) == 31 and sorted(list(CMU_ROLES.values()) + CMU_DROPPED) == sorted(names)  # the lists cover the file
    match = match_joint_roles(motion.skeleton)
    assert match.roles == CMU_ROLES and match.missing == [] and match.convention == "cmu"
    auto = auto_joint_subset(motion.skeleton)
    # The found joints, in the skeleton's (file's) order.
    assert auto == [n for n in names if n in set(CMU_ROLES.values())]
    assert len(auto) == 17
    _assert_exact_subset(motion, auto)
    assert motion.select_joints("auto").skeleton.names == auto


@pytest.mark.parametrize(
    "prefix, spell",
    [
        ("mixamorig:", str),  # Mixamo's FBX-to-BVH names
        ("mixamorig1_", str),  # a second Mixamo character in one scene
        ("", str.lower),  # no namespace, lower case
        ("Character1_", str),  # a common prefix shared by every joint
    ],
)
def test_auto_on_mixamo_names(prefix, spell):
    tree = [(spell(n), None if p is None else spell(p)) for n, p in _mixamo_tree(prefix)]
    skel = _skeleton(tree)
    expected = [spell(prefix + n) for n in MIXAMO_CORE]
    auto = auto_joint_subset(skel)
    assert sorted(auto) == sorted(expected)
    assert auto == [n for n in skel.names if n in set(expected)]  # skeleton order
    _assert_exact_subset(_random_motion(skel), auto)


def test_auto_on_smpl_names():
    skel = Skeleton(SMPL_BODY_JOINTS, SMPL_BODY_PARENTS, np.random.default_rng(2).uniform(-0.2, 0.2, (22, 3)))
    # SMPL calls the upper arm "shoulder", the clavicle "collar", the ankle joint "ankle" and the toes "foot".
    expected = {
        "pelvis": "pelvis", "spine": "spine2", "chest": "spine3", "neck": "neck", "head": "head",
        "left_upper_arm": "left_shoulder", "left_forearm": "left_elbow", "left_hand": "left_wrist",
        "right_upper_arm": "right_shoulder", "right_forearm": "right_elbow", "right_hand": "right_wrist",
        "left_thigh": "left_hip", "left_shin": "left_knee", "left_foot": "left_ankle",
        "right_thigh": "right_hip", "right_shin": "right_knee", "right_foot": "right_ankle",
    }  # fmt: skip
    match = match_joint_roles(skel)
    assert match.roles == expected and match.convention == "smpl"
    auto = auto_joint_subset(skel)
    assert auto == [n for n in SMPL_BODY_JOINTS if n in set(expected.values())]
    assert "left_foot" not in auto and "left_collar" not in auto
    _assert_exact_subset(_random_motion(skel), auto)


def test_auto_finds_an_unnamed_pelvis_by_the_hierarchy():
    # Unreal-like names whose pelvis joint is called "CoG": it is the common ancestor of what matched.
    tree = [("root", None), ("CoG", "root"), ("spine_01", "CoG"), ("spine_02", "spine_01"), ("neck_01", "spine_02"),
            ("head", "neck_01")]  # fmt: skip
    for s in ("l", "r"):
        tree += [(f"clavicle_{s}", "spine_02"), (f"upperarm_{s}", f"clavicle_{s}"), (f"lowerarm_{s}", f"upperarm_{s}"),
                 (f"hand_{s}", f"lowerarm_{s}"), (f"thigh_{s}", "CoG"), (f"calf_{s}", f"thigh_{s}"),
                 (f"foot_{s}", f"calf_{s}"), (f"ball_{s}", f"foot_{s}")]  # fmt: skip
    skel = _skeleton(tree)
    auto = auto_joint_subset(skel)
    expected = ["CoG", "spine_01", "spine_02", "neck_01", "head"] + [
        f"{p}_{s}" for s in ("l", "r") for p in ("upperarm", "lowerarm", "hand", "thigh", "calf", "foot")
    ]
    assert sorted(auto) == sorted(expected) and "root" not in auto
    match = match_joint_roles(skel)
    assert match.by_structure == ["pelvis"] and match.roles["pelvis"] == "CoG"
    _assert_exact_subset(_random_motion(skel), auto)


# ----------------------------------------------------------------- refusals


def test_unrelated_names_raise_saying_what_to_pass():
    skel = _skeleton([("root", None)] + [(f"bone{i}", "root" if i == 0 else f"bone{i - 1}") for i in range(9)])
    with pytest.raises(MotionError) as info:
        auto_joint_subset(skel)
    msg = str(info.value)
    assert "--joints all" in msg and "comma-separated joint names" in msg and "--joints root,bone0,bone1" in msg
    assert "bandai-core" in msg  # the registered subsets are listed
    assert "root, bone0, bone1" in msg  # the skeleton's joints are listed
    with pytest.raises(MotionError, match="--joints all"):
        _random_motion(skel).select_joints("auto")


def test_too_few_roles_raise_listing_what_matched():
    # A legs-only rig: pelvis and 6 leg joints match, 10 roles do not.
    tree = [("Hips", None)]
    for side in ("Left", "Right"):
        tree += [(f"{side}UpLeg", "Hips"), (f"{side}Leg", f"{side}UpLeg"), (f"{side}Foot", f"{side}Leg")]
    skel = _skeleton(tree)
    with pytest.raises(MotionError) as info:
        auto_joint_subset(skel)
    msg = str(info.value)
    assert "needs at least 12 of the 17 core body roles" in msg
    assert "pelvis=Hips" in msg and "left_thigh=LeftUpLeg" in msg and "not found: spine, chest, neck, head" in msg
    assert "--joints all" in msg
    # The same rig works with a lower threshold (the found joints form one tree).
    assert sorted(auto_joint_subset(skel, min_roles=7)) == sorted(skel.names)


def test_names_that_contradict_the_hierarchy_are_not_trusted():
    # LeftForeArm above LeftArm: a naming accident, not an arm.
    left_arm = ("LeftArm", "LeftForeArm", "LeftHand", "LeftHandIndex1", "LeftHandIndex4")
    tree = [(n, p) for n, p in _mixamo_tree("") if n not in left_arm]
    tree += [("LeftForeArm", "LeftShoulder"), ("LeftArm", "LeftForeArm"), ("LeftHand", "LeftArm")]
    skel = _skeleton(tree)
    with pytest.raises(MotionError) as info:
        auto_joint_subset(skel)
    msg = str(info.value)
    assert "hierarchy contradicts" in msg and "LeftArm (as left_upper_arm)" in msg and "--joints all" in msg


def test_subset_spec_forms_and_unknown_names():
    motion = hf_motion.load_bvh(CMU)
    skel = motion.skeleton
    assert resolve_joint_subset("all", skel) == skel.names
    assert resolve_joint_subset(" Hips, Spine ,Spine1", skel) == ["Hips", "Spine", "Spine1"]
    assert resolve_joint_subset("Hips", skel) == ["Hips"]
    # Without a skeleton, 'auto' and 'all' stand for themselves (records stay stable).
    assert resolve_joint_subset("auto") == ["auto"] and resolve_joint_subset("ALL") == ["all"]
    with pytest.raises(MotionError) as info:
        resolve_joint_subset("Hips,Chest", skel)
    assert "['Chest'] are not in this skeleton" in str(info.value) and "LHipJoint" in str(info.value)
    with pytest.raises(MotionError) as info:
        resolve_joint_subset("cmu-core", skel)
    msg = str(info.value)
    assert "unknown joint subset 'cmu-core'" in msg and "'auto'" in msg and "LHipJoint" in msg
    with pytest.raises(ValueError, match="reserved"):
        hf_motion.register_joint_subset("auto", ["Hips"])


# ----------------------------------------------------------------- the dataset builder


def _build(sources, tok=None, **cfg):
    cfg.setdefault("splits", {"train": 1.0})
    return MotionDatasetBuilder(MotionDatasetConfig(**cfg), tok or MotionTokenizer()).build(
        sources, num_proc=1, cache_dir=False, progress=False
    )


def test_builder_default_on_cmu_and_config_forms():
    res = _build([CMU], window=10, fps=None, tasks="acm=1")
    cmu_names = hf_motion.load_bvh(CMU).skeleton.names
    assert res.stats.joint_names == [n for n in cmu_names if n in set(CMU_ROLES.values())]
    assert MotionDatasetConfig(joints="all").joints is None
    assert MotionDatasetConfig(joints="Hips, Spine").joints == ["Hips", "Spine"]
    assert MotionDatasetConfig(joints="AUTO").joints == "auto"
    with pytest.raises(ValueError, match="unknown joint subset 'cmu-core'.*'auto'"):
        MotionDatasetConfig(joints="cmu-core")
    # 'auto' and 'all' are different builds: different cache keys.
    from hf_motion.datasets import as_collection

    col = as_collection([CMU])
    keys = {MotionDatasetBuilder(MotionDatasetConfig(joints=j)).cache_key(col) for j in ("auto", "all", "bandai-core")}
    assert len(keys) == 3


def test_builder_auto_refuses_mixed_skeletons_and_unknown_rigs(tmp_path):
    bandai = BANDAI1 / "dataset-1_walk_normal_001.bvh"
    for skip_bad in (False, True):
        with pytest.raises(MotionDatasetError) as info:
            MotionDatasetBuilder(MotionDatasetConfig(window=4, tasks="acm=1")).build(
                [bandai, CMU], num_proc=1, cache_dir=False, progress=False, skip_bad=skip_bad
            )
        msg = str(info.value)
        assert msg.startswith("cannot mix skeletons") and "joints='auto'" in msg
    # A rig whose names 'auto' does not know: a config error naming the file and what to pass.
    m = hf_motion.load_bvh(CMU)
    renamed = Skeleton([f"bone{i}" for i in range(m.num_joints)], m.skeleton.parents, m.skeleton.offsets)
    odd = tmp_path / "odd.bvh"
    hf_motion.save_bvh(Motion(m.rotations, m.root_translation, renamed, m.fps), odd, scale=0.0254)
    for skip_bad in (False, True):
        with pytest.raises(MotionDatasetError) as info:
            MotionDatasetBuilder(MotionDatasetConfig(window=4, fps=None)).build(
                [odd], num_proc=1, cache_dir=False, progress=False, skip_bad=skip_bad
            )
        msg = str(info.value)
        assert "odd.bvh" in msg and "joints='auto'" in msg and "--joints all" in msg
    assert _build([odd], window=4, fps=None, joints="all", tasks="acm=1").stats.joint_names == renamed.names


def test_builder_auto_prefers_the_tokenizers_joints():
    full = JOINT_SUBSETS["bandai-full"]
    tok = MotionTokenizer(joint_names=full)
    res = _build([BANDAI1 / "dataset-1_walk_normal_001.bvh"], tok, window=30, tasks="acm=1")
    assert res.stats.joint_names == full


@pytest.mark.parametrize(
    "value, expected",
    [("all", None), (" ALL ", None), (None, None), ("auto", "auto"), ("bandai-core", "bandai-core"), ("Hips", "Hips"),
     ("Hips, Spine,", ["Hips", "Spine"]), (["Hips", "Spine"], ["Hips", "Spine"])],
)  # fmt: skip
def test_joints_option_parses_every_spelling(value, expected):
    from hf_motion.skeletons import parse_joints_option

    assert parse_joints_option(value) == expected


@pytest.mark.parametrize("value, message", [("", "empty"), (" , ", "names no joint"), ("Hips,Spine,Hips", r"repeats \['Hips'\]")])
def test_joints_option_refuses_empty_and_repeated(value, message):
    from hf_motion.motion import MotionError
    from hf_motion.skeletons import parse_joints_option

    with pytest.raises(MotionError, match=message):
        parse_joints_option(value)
