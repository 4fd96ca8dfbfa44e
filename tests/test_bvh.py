"""BVH reading/writing on real Bandai-Namco clips, a CMU-style fixture and small hand-written files.

Every FK check compares against ``reference_fk`` below: an independent re-implementation that
parses the raw BVH text itself and composes one elementary scipy rotation per listed channel
(the textbook BVH definition ``R = R_c1 @ R_c2 @ R_c3``), sharing no code with ``hf_motion``.

Run ``python tests/test_bvh.py`` to regenerate ``tests/fixtures/cmu_31joint.bvh``.
"""

from __future__ import annotations

import itertools
import math
import re
import warnings
from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

import hf_motion
from hf_motion import BVHError, load_bvh, save_bvh
from hf_motion.bvh import BVH_UNITS, BVHScaleWarning, infer_bvh_unit
from hf_motion.motion import Motion

FIXTURES = Path(__file__).resolve().parent / "fixtures"
CMU_FIXTURE = FIXTURES / "cmu_31joint.bvh"
INCH = 0.0254


# ----------------------------------------------------------------------------- reference


def parse_bvh_reference(text: str) -> tuple[list[dict], np.ndarray, float]:
    """Joints (name, parent, offset, channels, end_site), the raw ``(T, C)`` motion table and frame time."""
    head, motion = text.split("MOTION", 1)
    tokens = head.split()
    joints: list[dict] = []
    stack: list = []
    pending = None
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok in ("ROOT", "JOINT"):
            joints.append({"name": tokens[i + 1], "parent": stack[-1] if stack else -1, "channels": [], "end_site": None})
            pending = len(joints) - 1
            i += 2
        elif tok == "End":
            pending = "end"
            i += 2
        elif tok == "{":
            stack.append(pending)
            i += 1
        elif tok == "}":
            stack.pop()
            i += 1
        elif tok == "OFFSET":
            off = np.array([float(v) for v in tokens[i + 1 : i + 4]])
            if stack[-1] == "end":
                joints[stack[-2]]["end_site"] = off
            else:
                joints[stack[-1]]["offset"] = off
            i += 4
        elif tok == "CHANNELS":
            n = int(tokens[i + 1])
            joints[stack[-1]]["channels"] = tokens[i + 2 : i + 2 + n]
            i += 2 + n
        else:
            i += 1
    lines = [ln for ln in motion.splitlines() if ln.strip()]
    frame_time = float(lines[1].split(":")[1])
    table = np.array([[float(v) for v in ln.split()] for ln in lines[2:]])
    return joints, table, frame_time


def reference_local(joints: list[dict], table: np.ndarray, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """Per-joint local rotation matrices ``(T, J, 3, 3)`` and translations ``(T, J, 3)`` from the raw table."""
    T, J = len(table), len(joints)
    rot = np.tile(np.eye(3), (T, J, 1, 1))
    trans = np.zeros((T, J, 3))
    col = 0
    for k, jt in enumerate(joints):
        trans[:, k] = jt["offset"] * scale
        for ch in jt["channels"]:
            axis = "XYZ".index(ch[0])
            if ch.endswith("position"):
                trans[:, k, axis] = table[:, col] * scale
            else:
                elementary = Rotation.from_euler(ch[0].lower(), table[:, col, None], degrees=True).as_matrix()
                rot[:, k] = rot[:, k] @ elementary
            col += 1
    assert col == table.shape[1]
    return rot, trans


def reference_fk(text: str, scale: float) -> np.ndarray:
    """Global joint positions ``(T, J, 3)`` straight from BVH text."""
    joints, table, _ = parse_bvh_reference(text)
    rot, trans = reference_local(joints, table, scale)
    g_rot = np.zeros_like(rot)
    g_pos = np.zeros_like(trans)
    for k, jt in enumerate(joints):
        p = jt["parent"]
        if p < 0:
            g_rot[:, k], g_pos[:, k] = rot[:, k], trans[:, k]
        else:
            g_rot[:, k] = g_rot[:, p] @ rot[:, k]
            g_pos[:, k] = g_pos[:, p] + np.einsum("tij,tj->ti", g_rot[:, p], trans[:, k])
    return g_pos


def rotvec_matrices(aa: np.ndarray) -> np.ndarray:
    return Rotation.from_rotvec(aa.reshape(-1, 3)).as_matrix().reshape(aa.shape[:-1] + (3, 3))


def geodesic(aa_a: np.ndarray, aa_b: np.ndarray) -> np.ndarray:
    """Angle between two rotations, independent of hf_motion.rotations.

    Uses ``||R_a - R_b||_F = 2 sqrt(2) sin(angle / 2)``, which stays accurate near 0 (the
    trace/arccos form has a ~1e-8 floor there).
    """
    ra, rb = rotvec_matrices(aa_a), rotvec_matrices(aa_b)
    dist = np.linalg.norm(ra - rb, axis=(-2, -1))
    return 2 * np.arcsin(np.clip(dist / (2 * np.sqrt(2)), 0, 1))


# ----------------------------------------------------------------------------- CMU fixture

# (name, parent name, offset in inches); the CMU mocap BVH conversion hierarchy (31 joints). The
# real CMU BVH files use CMU's own unit, 1/0.45 inch; ``rescale_bvh_text`` below makes such a copy.
CMU_JOINTS = [
    ("Hips", None, (0.0, 0.0, 0.0)),
    ("LHipJoint", "Hips", (0.0, 0.0, 0.0)),
    ("LeftUpLeg", "LHipJoint", (3.6, -3.4, 1.6)),
    ("LeftLeg", "LeftUpLeg", (0.0, -16.8, 0.0)),
    ("LeftFoot", "LeftLeg", (0.0, -16.2, 0.0)),
    ("LeftToeBase", "LeftFoot", (0.0, -1.8, 5.2)),
    ("RHipJoint", "Hips", (0.0, 0.0, 0.0)),
    ("RightUpLeg", "RHipJoint", (-3.6, -3.4, 1.6)),
    ("RightLeg", "RightUpLeg", (0.0, -16.8, 0.0)),
    ("RightFoot", "RightLeg", (0.0, -16.2, 0.0)),
    ("RightToeBase", "RightFoot", (0.0, -1.8, 5.2)),
    ("LowerBack", "Hips", (0.0, 0.0, 0.0)),
    ("Spine", "LowerBack", (0.0, 4.4, -0.2)),
    ("Spine1", "Spine", (0.0, 4.4, 0.0)),
    ("Neck", "Spine1", (0.0, 4.6, 0.0)),
    ("Neck1", "Neck", (0.0, 2.0, 0.2)),
    ("Head", "Neck1", (0.0, 2.2, 0.4)),
    ("LeftShoulder", "Spine1", (1.0, 3.6, 0.0)),
    ("LeftArm", "LeftShoulder", (5.8, 0.0, 0.0)),
    ("LeftForeArm", "LeftArm", (11.5, 0.0, 0.0)),
    ("LeftHand", "LeftForeArm", (10.2, 0.0, 0.0)),
    ("LeftFingerBase", "LeftHand", (1.2, 0.0, 0.0)),
    ("LeftHandIndex1", "LeftFingerBase", (1.6, 0.0, 0.0)),
    ("LThumb", "LeftHand", (0.6, 0.0, 0.9)),
    ("RightShoulder", "Spine1", (-1.0, 3.6, 0.0)),
    ("RightArm", "RightShoulder", (-5.8, 0.0, 0.0)),
    ("RightForeArm", "RightArm", (-11.5, 0.0, 0.0)),
    ("RightHand", "RightForeArm", (-10.2, 0.0, 0.0)),
    ("RightFingerBase", "RightHand", (-1.2, 0.0, 0.0)),
    ("RightHandIndex1", "RightFingerBase", (-1.6, 0.0, 0.0)),
    ("RThumb", "RightHand", (-0.6, 0.0, 0.9)),
]
CMU_END_SITES = {
    "LeftToeBase": (0.0, 0.0, 1.6), "RightToeBase": (0.0, 0.0, 1.6), "Head": (0.0, 3.8, 0.0),
    "LeftHandIndex1": (1.3, 0.0, 0.0), "LThumb": (0.0, 0.0, 1.1),
    "RightHandIndex1": (-1.3, 0.0, 0.0), "RThumb": (0.0, 0.0, 1.1),
}  # fmt: skip
CMU_FRAMES = 30
CMU_FPS = 120


def _cmu_channel_values(name: str, t: np.ndarray) -> np.ndarray:
    """Smooth made-up walking values (inches, degrees) for one joint: ``(T, 6)`` root, else ``(T, 3)`` ZYX."""
    w = 2 * math.pi * 1.0  # one gait cycle per second
    s = lambda phase=0.0: np.sin(w * t + phase)  # noqa: E731
    zeros = np.zeros_like(t)
    if name == "Hips":  # X Y Z position, then Z Y X rotation
        return np.stack([0.3 * s(), 38.5 + 0.4 * np.cos(2 * w * t), 51.0 * t, 2.0 * s(), 3.0 * s(0.5), 1.5 + 0 * t], 1)
    side = 1.0 if name.startswith(("Left", "L")) else -1.0  # the right side swings in antiphase
    phase = 0.0 if side > 0 else math.pi
    table = {
        "UpLeg": (zeros, 2.0 * s(phase), -25.0 * s(phase)),
        "Leg": (zeros, zeros, 20.0 + 15.0 * s(phase + 1.0)),
        "Foot": (zeros, zeros, -8.0 * s(phase + 0.5)),
        "ToeBase": (zeros, zeros, 10.0 * np.clip(s(phase + 2.0), 0, None)),
        "Arm": (-side * 78.0 + 0 * t, 15.0 * s(phase + math.pi), 4.0 * s(phase)),
        "ForeArm": (zeros, side * (-20.0 - 10.0 * s(phase + math.pi)), zeros),
        "Hand": (zeros, zeros, 5.0 * s(phase)),
    }
    for suffix, values in table.items():
        if name in (f"Left{suffix}", f"Right{suffix}"):
            return np.stack(values, 1)
    spine = {"LowerBack": 2.0, "Spine": 1.5, "Spine1": 1.0, "Neck": -1.0, "Neck1": -0.5, "Head": -1.0}
    if name in spine:
        return np.stack([0.5 * s(), -spine[name] * s(0.3), spine[name] + 0.5 * np.cos(2 * w * t)], 1)
    return np.zeros((len(t), 3))  # hip joints, shoulders, fingers, thumbs


def cmu_fixture_text() -> str:
    """The committed ``tests/fixtures/cmu_31joint.bvh`` (deterministic)."""
    children: dict[str | None, list[str]] = {}
    for name, parent, _ in CMU_JOINTS:
        children.setdefault(parent, []).append(name)
    offsets = {name: off for name, _, off in CMU_JOINTS}
    out = ["HIERARCHY"]
    order: list[str] = []

    def write(name: str, depth: int) -> None:
        ind = "  " * depth
        order.append(name)
        out.append(f"{ind}{'ROOT' if depth == 0 else 'JOINT'} {name}")
        out.append(f"{ind}{{")
        out.append(f"{ind}  OFFSET " + " ".join(f"{v:.5f}" for v in offsets[name]))
        if depth == 0:
            out.append(f"{ind}  CHANNELS 6 Xposition Yposition Zposition Zrotation Yrotation Xrotation")
        else:
            out.append(f"{ind}  CHANNELS 3 Zrotation Yrotation Xrotation")
        for child in children.get(name, []):
            write(child, depth + 1)
        if name in CMU_END_SITES:
            es = " ".join(f"{v:.5f}" for v in CMU_END_SITES[name])
            out.extend([f"{ind}  End Site", f"{ind}  {{", f"{ind}    OFFSET {es}", f"{ind}  }}"])
        out.append(f"{ind}}}")

    write("Hips", 0)
    t = np.arange(CMU_FRAMES) / CMU_FPS
    table = np.concatenate([_cmu_channel_values(name, t) for name in order], axis=1)
    out += ["MOTION", f"Frames: {CMU_FRAMES}", "Frame Time: 0.00833333"]
    out += [" ".join(f"{v:.4f}" for v in row) for row in table]
    return "\n".join(out) + "\n"


# ----------------------------------------------------------------------------- helpers

ONE_JOINT_HEADER = """HIERARCHY
ROOT Hips
{
  OFFSET 0 0 0
  CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation
  JOINT Spine
  {
    OFFSET 0 10 0
    CHANNELS 3 Zrotation Xrotation Yrotation
    End Site
    {
      OFFSET 0 5 0
    }
  }
}
"""


def bvh_text(header: str, rows: list[str], frames: int | None = None, frame_time: str = "0.1") -> str:
    n = len(rows) if frames is None else frames
    return header + f"MOTION\nFrames: {n}\nFrame Time: {frame_time}\n" + "\n".join(rows) + "\n"


def write(tmp_path: Path, text: str | bytes, name: str = "clip.bvh") -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


def load_toy(path: Path, scale: float = 0.01) -> Motion:
    """``load_bvh`` for the tiny hand-written skeletons (centimetres, far smaller than a person)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BVHScaleWarning)
        return load_bvh(path, scale=scale)


def line_of(text: str, needle: str) -> int:
    """1-based number of the first line of ``text`` containing ``needle``."""
    return next(n for n, ln in enumerate(text.splitlines(), 1) if needle in ln)


# ----------------------------------------------------------------------------- real Bandai clips


def test_bandai_fk_reproduces_the_file_exactly(bandai_paths, bandai_motions):
    for path, motion in zip(bandai_paths, bandai_motions):
        expected = reference_fk(path.read_text(), scale=0.01)
        got = hf_motion.forward_kinematics(motion)
        assert got.shape == expected.shape == (motion.num_frames, 22, 3)
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-9, err_msg=str(path))


def test_bandai_position_channels_are_the_local_translation(bandai_paths, bandai_motions):
    path, motion = bandai_paths[0], bandai_motions[0]
    joints, table, _ = parse_bvh_reference(path.read_text())
    _, trans = reference_local(joints, table, scale=0.01)
    offsets = np.array([jt["offset"] for jt in joints]) * 0.01

    # The Motion keeps every joint's per-frame position channels, not the OFFSETs.
    assert motion.local_translations is not None
    np.testing.assert_array_equal(motion.translations()[:, 1:], trans[:, 1:])
    np.testing.assert_array_equal(motion.skeleton.offsets, offsets)

    # In the file the channels differ from the OFFSETs: a lot for the moving Hips, slightly elsewhere.
    hips = motion.skeleton.index("Hips")
    assert np.abs(trans[:, hips] - offsets[hips]).max() > 1.0
    others = [j for j in range(1, 22) if j != hips]
    diff = np.abs(trans[:, others] - offsets[others])
    assert 0 < diff.max() < 1e-4
    # ...and the difference matters for "exactly": FK with OFFSETs instead moves joints by > 1e-9 m.
    with_offsets = trans.copy()
    with_offsets[:, others] = offsets[others]
    m_off = Motion(motion.rotations, motion.root_translation, motion.skeleton, motion.fps, {}, with_offsets)
    assert np.abs(m_off.positions() - reference_fk(path.read_text(), 0.01)).max() > 1e-8


def test_bandai_output_is_in_metres(walk_motion):
    pos = walk_motion.positions()
    names = walk_motion.skeleton.names
    up = pos[..., 1]
    hips_height = up[:, names.index("Hips")].mean()
    assert 0.8 < hips_height < 1.0
    assert 1.3 < up[:, names.index("Head")].mean() < 1.9  # the head joint sits at the top of the neck
    # LowerLeg_L -> Foot_L: the file's OFFSET is 40.9854 cm.
    shin = np.linalg.norm(pos[:, names.index("Foot_L")] - pos[:, names.index("LowerLeg_L")], axis=-1)
    np.testing.assert_allclose(shin, 0.409854, atol=1e-6)
    assert walk_motion.fps == pytest.approx(1 / 0.0333333)
    assert walk_motion.labels["source"].endswith("dataset-1_walk_normal_001.bvh")


def test_scale_multiplies_every_length(bandai_paths, walk_motion):
    # A 1.3-1.7 m actor read as metres or as decimetres is no person: both warn, naming the file.
    name = re.escape(bandai_paths[0].name)
    with pytest.warns(BVHScaleWarning, match=rf"{name}: the body is 1[1-7]\d m tall with scale=1 "):
        in_cm = load_bvh(bandai_paths[0], scale=1.0)
    np.testing.assert_allclose(in_cm.positions() * 0.01, walk_motion.positions(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(in_cm.skeleton.offsets * 0.01, walk_motion.skeleton.offsets, rtol=1e-12)
    np.testing.assert_array_equal(in_cm.rotations, walk_motion.rotations)
    with pytest.warns(BVHScaleWarning, match=rf"{name}: the body is 1\.[1-7]\de\+03 m tall"):
        in_mm = load_bvh(bandai_paths[0], scale=10.0)
    np.testing.assert_allclose(in_mm.positions(), walk_motion.positions() * 1000, rtol=1e-9)


@pytest.mark.parametrize("scale", [0, -0.01, float("nan"), float("inf")])
def test_scale_must_be_positive(bandai_paths, scale):
    with pytest.raises(ValueError, match="scale must be a positive number"):
        load_bvh(bandai_paths[0], scale=scale)


@pytest.mark.parametrize("scale", ["cm", "", True, None, [0.01]])
def test_scale_must_be_a_number_or_auto(bandai_paths, scale):
    with pytest.raises(ValueError, match="scale must be a positive number or 'auto'"):
        load_bvh(bandai_paths[0], scale=scale)


# ----------------------------------------------------------------------------- units (scale="auto")


def test_auto_scale_is_exactly_centimetres_on_the_sample_clips(bandai_paths, bandai_motions):
    # bandai_motions were loaded with the default, scale="auto".
    for path, auto in zip(bandai_paths, bandai_motions):
        cm = load_bvh(path, scale=0.01)
        np.testing.assert_array_equal(auto.rotations, cm.rotations)
        np.testing.assert_array_equal(auto.root_translation, cm.root_translation)
        np.testing.assert_array_equal(auto.local_translations, cm.local_translations)
        np.testing.assert_array_equal(auto.skeleton.offsets, cm.skeleton.offsets)
        assert auto.skeleton.end_sites == cm.skeleton.end_sites and auto.fps == cm.fps
        assert auto.labels["bvh_scale"] == 0.01 and auto.labels["bvh_unit"] == "centimetres"
        assert auto.labels["bvh_scale_inferred"] is True and cm.labels["bvh_scale_inferred"] is False


def test_auto_scale_picks_centimetres_for_every_bandai_clip_without_warning():
    from conftest import BANDAI1

    paths = sorted(BANDAI1.glob("*.bvh"))
    assert len(paths) > 100
    with warnings.catch_warnings():
        warnings.simplefilter("error", BVHScaleWarning)
        for path in paths:
            labels = load_bvh(path).labels
            assert (labels["bvh_unit"], labels["bvh_scale"]) == ("centimetres", 0.01), path
            # Head joint to toes of a standing or moving adult (not the full stature).
            assert 1.0 < labels["bvh_height"] < 2.0, path


def rescale_bvh_text(text: str, factor: float) -> str:
    """The same BVH with every length (OFFSETs, End Sites, position channels) times ``factor``."""
    joints, table, frame_time = parse_bvh_reference(text)
    head = text.split("MOTION", 1)[0]
    out = []
    for ln in head.splitlines():
        parts = ln.split()
        if parts and parts[0] == "OFFSET":
            ln = ln[: ln.index("OFFSET")] + "OFFSET " + " ".join(f"{float(v) * factor:.10g}" for v in parts[1:])
        out.append(ln)
    pos_cols = [c for c, ch in enumerate(ch for jt in joints for ch in jt["channels"]) if ch.endswith("position")]
    table = table.copy()
    table[:, pos_cols] *= factor
    rows = [" ".join(f"{v:.10g}" for v in row) for row in table]
    return "\n".join(out) + f"\nMOTION\nFrames: {len(rows)}\nFrame Time: {frame_time:.10g}\n" + "\n".join(rows) + "\n"


# One inch is exactly 0.45 CMU units (CMU's unit is 1/0.45 inch).
CMU_PER_INCH = 0.45


def test_auto_scale_reads_cmu_units(tmp_path):
    inch = load_bvh(CMU_FIXTURE, scale=INCH)
    path = write(tmp_path, rescale_bvh_text(CMU_FIXTURE.read_text(), CMU_PER_INCH), "cmu_units.bvh")
    with warnings.catch_warnings():
        warnings.simplefilter("error", BVHScaleWarning)
        motion = load_bvh(path)
    assert motion.labels["bvh_unit"] == "cmu"
    assert motion.labels["bvh_scale"] == pytest.approx(0.0254 / 0.45, rel=1e-12)
    np.testing.assert_allclose(motion.positions(), inch.positions(), rtol=0, atol=1e-9)
    # The CMU file read as centimetres (the old default) is a 27 cm person: a warning names it.
    with pytest.warns(BVHScaleWarning, match=r"cmu_units\.bvh: the body is 0\.2\d+ m tall with scale=0\.01"):
        small = load_bvh(path, scale=0.01)
    assert small.labels["bvh_height"] == pytest.approx(0.01 / (0.0254 / 0.45) * motion.labels["bvh_height"])


def test_auto_scale_reads_inches_and_metres(tmp_path):
    inch = load_bvh(CMU_FIXTURE, scale=INCH)
    auto = load_bvh(CMU_FIXTURE)  # the fixture is written in inches
    assert auto.labels["bvh_unit"] == "inches" and auto.labels["bvh_scale"] == INCH
    np.testing.assert_array_equal(auto.positions(), inch.positions())
    # The same file rescaled to metres (as some CMU re-releases are): a 1.4 cm person at 0.01.
    path = write(tmp_path, rescale_bvh_text(CMU_FIXTURE.read_text(), INCH), "metres.bvh")
    metres = load_bvh(path)
    assert metres.labels["bvh_unit"] == "metres"
    np.testing.assert_allclose(metres.positions(), inch.positions(), rtol=0, atol=1e-9)
    with pytest.warns(BVHScaleWarning, match=r"metres\.bvh: the body is 0\.01\d+ m tall"):
        load_bvh(path, scale=0.01)


def test_auto_scale_reads_millimetres(bandai_paths, walk_motion, tmp_path):
    path = write(tmp_path, rescale_bvh_text(bandai_paths[0].read_text(), 10.0), "mm.bvh")
    motion = load_bvh(path)
    assert motion.labels["bvh_unit"] == "millimetres"
    np.testing.assert_allclose(motion.positions(), walk_motion.positions(), rtol=0, atol=1e-9)


@pytest.mark.parametrize(
    "size, unit, sure",
    [
        (160.0, "centimetres", True),
        (1.6, "metres", True),
        (28.0, "cmu", True),  # 1.58 m
        (63.0, "inches", True),  # 1.60 m
        (1600.0, "millimetres", True),
        (95.0, "centimetres", False),  # 0.95 m (or 2.41 m in inches): a child? kept as cm, with a warning
        (0.8, "metres", False),
        (12.0, "cmu", False),  # 0.68 m
        (5.0, "metres", False),  # 5 m or 28 cm in CMU units: nothing plausible, closest to 0.5-3 m
    ],
)
def test_infer_bvh_unit(size, unit, sure):
    assert infer_bvh_unit(size) == (unit, BVH_UNITS[unit], sure)


@pytest.mark.parametrize("size", [0.0, -1.0, float("nan"), float("inf")])
def test_infer_bvh_unit_needs_a_size(size):
    with pytest.raises(ValueError, match="cannot infer a unit"):
        infer_bvh_unit(size)


def test_auto_scale_warns_when_unsure(tmp_path):
    # A 95-unit body: a 0.95 m child in centimetres, or 2.4 m in inches.
    path = write(tmp_path, rescale_bvh_text(CMU_FIXTURE.read_text(), 95.0 / 60.6), "child.bvh")
    with pytest.warns(BVHScaleWarning, match=r"child\.bvh: could not tell the length unit.*centimetres"):
        motion = load_bvh(path)
    assert motion.labels["bvh_unit"] == "centimetres" and motion.labels["bvh_scale"] == 0.01


def test_numeric_scale_is_recorded(tmp_path):
    m = load_bvh(CMU_FIXTURE, scale=0.02)
    assert m.labels["bvh_scale"] == 0.02 and m.labels["bvh_unit"] is None
    assert m.labels["bvh_scale_inferred"] is False
    assert load_bvh(CMU_FIXTURE, scale=np.float32(0.0254)).labels["bvh_unit"] == "inches"


def test_auto_scale_refuses_a_body_without_size(tmp_path):
    header = "HIERARCHY\nROOT Hips\n{\n  OFFSET 0 0 0\n  CHANNELS 3 Xposition Yposition Zposition\n}\n"
    path = write(tmp_path, bvh_text(header, ["1 2 3", "4 5 6"]))
    with pytest.raises(BVHError, match=r"clip\.bvh: cannot infer the length unit.*pass scale="):
        load_bvh(path)
    assert load_toy(path).root_translation[1].tolist() == [0.04, 0.05, 0.06]


@pytest.mark.parametrize("precision", [6, 12])
def test_save_bvh_round_trip_on_real_clips(bandai_motions, tmp_path, precision):
    for k, motion in enumerate(bandai_motions[:3]):
        out = tmp_path / f"clip{k}.bvh"
        save_bvh(motion, out, precision=precision)
        back = load_bvh(out)
        assert back.skeleton == motion.skeleton
        assert back.skeleton.channels == motion.skeleton.channels
        assert back.fps == pytest.approx(motion.fps, rel=1e-7)
        assert back.num_frames == motion.num_frames
        # Six significant digits of degrees: each of 3 Euler angles is off by <= 0.5e-3 deg.
        rot_tol = np.radians(3 * 0.5e-3) if precision == 6 else 1e-9
        assert geodesic(back.rotations, motion.rotations).max() < rot_tol
        pos_tol = 1e-4 if precision == 6 else 1e-9
        np.testing.assert_allclose(back.positions(), motion.positions(), rtol=0, atol=pos_tol)
        np.testing.assert_allclose(back.translations(), motion.translations(), rtol=0, atol=pos_tol / 10)


def test_save_bvh_of_a_joint_subset_round_trips(walk_motion, tmp_path):
    core = walk_motion.slice(0, 40).select_joints("bandai-core")
    save_bvh(core, tmp_path / "core.bvh", precision=12)
    back = load_bvh(tmp_path / "core.bvh")
    assert back.skeleton.names == core.skeleton.names
    np.testing.assert_allclose(back.positions(), core.positions(), rtol=0, atol=1e-9)
    kept = [walk_motion.skeleton.index(n) for n in core.skeleton.names]
    np.testing.assert_allclose(back.positions(), walk_motion.slice(0, 40).positions()[:, kept], rtol=0, atol=1e-9)


# ----------------------------------------------------------------------------- CMU-style fixture


def test_cmu_fixture_is_committed_and_up_to_date():
    text = CMU_FIXTURE.read_text()
    assert text == cmu_fixture_text(), "regenerate with: python tests/test_bvh.py"
    assert CMU_FIXTURE.stat().st_size < 100_000


def test_cmu_31_joint_file_reads_correctly():
    text = CMU_FIXTURE.read_text()
    motion = load_bvh(CMU_FIXTURE, scale=INCH)
    assert motion.num_joints == 31
    assert motion.skeleton.names == [name for name, _, _ in CMU_JOINTS]
    names = motion.skeleton.names
    for name, parent, _ in CMU_JOINTS:
        p = motion.skeleton.parents[names.index(name)]
        assert (p == -1) if parent is None else (names[p] == parent), name
    assert motion.fps == pytest.approx(120, rel=1e-5)
    assert motion.num_frames == CMU_FRAMES
    assert motion.local_translations is None  # only the root has position channels
    assert motion.skeleton.channels[0] == ["Xposition", "Yposition", "Zposition", "Zrotation", "Yrotation", "Xrotation"]
    assert all(ch == ["Zrotation", "Yrotation", "Xrotation"] for ch in motion.skeleton.channels[1:])
    assert sorted(motion.skeleton.end_sites) == sorted(CMU_END_SITES)
    np.testing.assert_allclose(motion.skeleton.end_sites["Head"], np.array(CMU_END_SITES["Head"]) * INCH)

    pos = motion.positions()
    np.testing.assert_allclose(pos, reference_fk(text, INCH), rtol=0, atol=1e-9)
    # Plausible in metres: hips ~1 m up, head above them, toes near the floor, walking forward.
    up = pos[..., 1]
    assert 0.9 < up[:, names.index("Hips")].mean() < 1.05
    assert (up[:, names.index("Head")] > up[:, names.index("Hips")] + 0.4).all()
    assert up[:, names.index("LeftToeBase")].min() < 0.1
    assert pos[-1, 0, 2] - pos[0, 0, 2] == pytest.approx(51.0 * INCH * (CMU_FRAMES - 1) / CMU_FPS, rel=1e-3)


def test_cmu_round_trip(tmp_path):
    motion = load_bvh(CMU_FIXTURE, scale=INCH)
    save_bvh(motion, tmp_path / "cmu.bvh", scale=INCH, precision=12)
    back = load_bvh(tmp_path / "cmu.bvh", scale=INCH)
    assert back.skeleton.end_sites.keys() == motion.skeleton.end_sites.keys()
    for name, off in motion.skeleton.end_sites.items():
        np.testing.assert_allclose(back.skeleton.end_sites[name], off, atol=1e-12)
    assert geodesic(back.rotations, motion.rotations).max() < 1e-9
    np.testing.assert_allclose(back.positions(), motion.positions(), rtol=0, atol=1e-9)


# ----------------------------------------------------------------------------- small hand-written files


ORDERS = ["".join(p) for p in itertools.permutations("XYZ")]


@pytest.mark.parametrize("order", ORDERS)
def test_arbitrary_rotation_channel_orders(tmp_path, order):
    rot_channels = " ".join(f"{a}rotation" for a in order)
    header = f"""HIERARCHY
ROOT Root
{{
  OFFSET 1 2 3
  CHANNELS 6 Zposition Xposition Yposition {rot_channels}
  JOINT Upper
  {{
    OFFSET 0 20 0
    CHANNELS 3 {rot_channels}
    JOINT Lower
    {{
      OFFSET 15 0 -4
      CHANNELS 3 {rot_channels}
      End Site
      {{
        OFFSET 0 7 0
      }}
    }}
  }}
}}
"""
    rng = np.random.default_rng(ORDERS.index(order))
    table = np.round(np.concatenate([rng.uniform(-50, 50, (4, 3)), rng.uniform(-170, 170, (4, 9))], axis=1), 6)
    text = bvh_text(header, [" ".join(f"{v:.6f}" for v in row) for row in table])
    motion = load_toy(write(tmp_path, text))
    np.testing.assert_allclose(motion.positions(), reference_fk(text, 0.01), rtol=0, atol=1e-12)
    # Rotations as matrices: the product of elementary rotations in the listed order.
    for j, cols in enumerate([(3, 4, 5), (6, 7, 8), (9, 10, 11)]):
        expected = np.tile(np.eye(3), (4, 1, 1))
        for axis, c in zip(order, cols):
            expected = expected @ Rotation.from_euler(axis.lower(), table[:, c, None], degrees=True).as_matrix()
        np.testing.assert_allclose(rotvec_matrices(motion.rotations[:, j]), expected, atol=1e-12)
    # Root position channels listed Z, X, Y land on the right axes.
    np.testing.assert_allclose(motion.root_translation, table[:, [1, 2, 0]] * 0.01, atol=1e-15)
    # And save/load keeps the channel order and the motion.
    save_bvh(motion, tmp_path / "again.bvh", precision=12)
    back = load_toy(tmp_path / "again.bvh")
    assert back.skeleton.channels == motion.skeleton.channels
    np.testing.assert_allclose(back.positions(), motion.positions(), atol=1e-10)


CHAIN_HEADER = """HIERARCHY
ROOT Hips
{
  OFFSET 0 0 0
  CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation
  JOINT Spine
  {
    OFFSET 0 10 0
    CHANNELS 3 Zrotation Xrotation Yrotation
    JOINT Head
    {
      OFFSET 0 10 0
      CHANNELS 3 Zrotation Xrotation Yrotation
      End Site
      {
        OFFSET 0 5 0
      }
    }
  }
}
"""


def test_known_rotation_by_hand(tmp_path):
    # Spine turned 90 deg about Z: the Head's offset (0, 10, 0) cm then points along -X.
    text = bvh_text(CHAIN_HEADER, ["100 50 0 0 0 0 90 0 0 0 0 0"])
    motion = load_toy(write(tmp_path, text))
    np.testing.assert_allclose(motion.rotations[0, 1], [0, 0, np.pi / 2], atol=1e-15)
    np.testing.assert_allclose(motion.positions()[0], [[1.0, 0.5, 0], [1.0, 0.6, 0], [0.9, 0.6, 0]], atol=1e-12)


def test_three_channel_joints_use_their_offset(tmp_path):
    rows = ["0 90 0 10 20 30 -40 5 60", "1 91 2 0 0 0 0 0 0"]
    text = bvh_text(ONE_JOINT_HEADER, rows)
    motion = load_toy(write(tmp_path, text))
    assert motion.num_joints == 2
    assert motion.local_translations is None
    np.testing.assert_allclose(motion.translations()[:, 1], [[0, 0.1, 0]] * 2)
    np.testing.assert_allclose(motion.root_translation, [[0, 0.9, 0], [0.01, 0.91, 0.02]])
    np.testing.assert_allclose(motion.positions(), reference_fk(text, 0.01), atol=1e-12)


def test_end_sites_are_kept_but_are_not_joints(tmp_path):
    text = bvh_text(ONE_JOINT_HEADER, ["0 0 0 0 0 0 0 0 0"])
    motion = load_toy(write(tmp_path, text), 0.5)
    assert motion.skeleton.names == ["Hips", "Spine"]
    assert motion.skeleton.end_sites == {"Spine": [0.0, 2.5, 0.0]}
    save_bvh(motion, tmp_path / "out.bvh", scale=0.5)
    assert load_toy(tmp_path / "out.bvh", 0.5).skeleton.end_sites == {"Spine": [0.0, 2.5, 0.0]}


def test_partial_position_and_rotation_channels(tmp_path):
    header = """HIERARCHY
ROOT Root
{
  OFFSET 0 0 0
  CHANNELS 3 Xposition Yposition Zposition
  JOINT Slider
  {
    OFFSET 10 20 30
    CHANNELS 2 Yposition Xrotation
    JOINT Tip
    {
      OFFSET 0 0 40
      CHANNELS 0
      End Site
      {
        OFFSET 0 0 1
      }
    }
  }
}
"""
    text = bvh_text(header, ["1 2 3 5 90", "0 0 0 -7 0"])
    motion = load_toy(write(tmp_path, text))
    # Only Y comes from the channel; X and Z stay at the OFFSET.
    np.testing.assert_allclose(motion.translations()[:, 1], [[0.1, 0.05, 0.3], [0.1, -0.07, 0.3]])
    assert motion.local_translations is not None
    # One rotation channel: 90 deg about X, so the Tip's +Z offset (0.4 m) points along -Y.
    np.testing.assert_allclose(motion.rotations[0, 1], [np.pi / 2, 0, 0], atol=1e-15)
    np.testing.assert_allclose(motion.positions()[0, 2], [0.01 + 0.1, 0.02 + 0.05 - 0.4, 0.03 + 0.3], atol=1e-12)
    np.testing.assert_allclose(motion.positions(), reference_fk(text, 0.01), atol=1e-12)
    # Saving writes the one-axis joint with all three rotation channels and keeps the motion.
    save_bvh(motion, tmp_path / "out.bvh", precision=12)
    back = load_toy(tmp_path / "out.bvh")
    assert back.skeleton.channels[1] == ["Yposition", "Xrotation", "Yrotation", "Zrotation"]
    assert back.skeleton.channels[2] == []
    np.testing.assert_allclose(back.positions(), motion.positions(), atol=1e-10)


def test_windows_line_endings_tabs_and_lower_case_frame_time(tmp_path):
    text = bvh_text(ONE_JOINT_HEADER, ["0\t90 0 10 20 30 -40 5 60"]).replace("Frame Time", "Frame time")
    motion = load_toy(write(tmp_path, text.replace("\n", "\r\n").encode()))
    np.testing.assert_allclose(motion.positions(), reference_fk(text, 0.01), atol=1e-12)
    assert motion.fps == pytest.approx(10)


# ----------------------------------------------------------------------------- bad input

GOOD_ROW = "0 90 0 10 20 30 -40 5 60"


def _assert_names(err: pytest.ExceptionInfo, path: Path, *parts: str) -> None:
    msg = str(err.value)
    assert str(path) in msg, msg
    for part in parts:
        assert part in msg, f"{part!r} not in {msg!r}"


def test_truncated_file_fewer_rows_than_frames(tmp_path):
    text = bvh_text(ONE_JOINT_HEADER, [GOOD_ROW, GOOD_ROW], frames=5)
    path = write(tmp_path, text)
    with pytest.raises(BVHError) as err:
        load_bvh(path)
    _assert_names(err, path, f"line {len(text.splitlines())}", "2 motion rows", "5 frames", "truncated")


def test_truncated_mid_row(tmp_path):
    text = bvh_text(ONE_JOINT_HEADER, [GOOD_ROW, GOOD_ROW, "0 90 0 11"], frames=3)
    path = write(tmp_path, text)
    with pytest.raises(BVHError) as err:
        load_bvh(path)
    _assert_names(err, path, f"line {line_of(text, '0 90 0 11')}", "frame 2", "4 values", "9 channels")


def test_truncated_in_the_hierarchy(tmp_path):
    path = write(tmp_path, ONE_JOINT_HEADER[:120])
    with pytest.raises(BVHError) as err:
        load_bvh(path)
    _assert_names(err, path, "no MOTION")


def test_row_with_wrong_number_of_values(tmp_path):
    text = bvh_text(ONE_JOINT_HEADER, [GOOD_ROW, GOOD_ROW + " 7", GOOD_ROW])
    path = write(tmp_path, text)
    with pytest.raises(BVHError) as err:
        load_bvh(path)
    _assert_names(err, path, f"line {line_of(text, GOOD_ROW + ' 7')}", "frame 1", "10 values", "9 channels")


def test_short_row_then_long_row_is_not_silently_realigned(tmp_path):
    # Same total number of values as the header expects, but split wrongly across rows.
    text = bvh_text(ONE_JOINT_HEADER, ["0 90 0 10 20 30 -40 5", "60 " + GOOD_ROW])
    path = write(tmp_path, text)
    with pytest.raises(BVHError) as err:
        load_bvh(path)
    _assert_names(err, path, f"line {line_of(text, '0 90 0 10 20 30 -40 5')}", "frame 0", "8 values")


def test_more_rows_than_frames(tmp_path):
    text = bvh_text(ONE_JOINT_HEADER, [GOOD_ROW, GOOD_ROW, "1 2 3 4 5 6 7 8 9"], frames=2)
    path = write(tmp_path, text)
    with pytest.raises(BVHError) as err:
        load_bvh(path)
    _assert_names(err, path, f"line {line_of(text, '1 2 3 4 5 6 7 8 9')}", "more motion rows", "2 frames")


def test_non_numeric_value(tmp_path):
    text = bvh_text(ONE_JOINT_HEADER, [GOOD_ROW, "0 90 0 10 2O 30 -40 5 60"])
    path = write(tmp_path, text)
    with pytest.raises(BVHError) as err:
        load_bvh(path)
    _assert_names(err, path, f"line {line_of(text, '2O')}", "frame 1", "non-numeric", "'2O'")


@pytest.mark.parametrize("bad", ["nan", "inf", "-inf", "NaN", "1e999"])
def test_non_finite_value_in_a_row(tmp_path, bad):
    text = bvh_text(ONE_JOINT_HEADER, [GOOD_ROW, GOOD_ROW, f"0 90 0 10 20 {bad} -40 5 60"])
    path = write(tmp_path, text)
    with pytest.raises(BVHError) as err:
        load_bvh(path)
    # Column 6 is the root's sixth channel (Yrotation).
    _assert_names(err, path, f"line {line_of(text, bad)}", "frame 2", "joint 'Hips', Yrotation", "non-finite", repr(bad))


def test_nan_in_a_real_clip_names_frame_and_joint(bandai_paths, tmp_path):
    text = bandai_paths[0].read_text()
    joints, _, _ = parse_bvh_reference(text)
    columns = [(jt["name"], ch) for jt in joints for ch in jt["channels"]]
    col = next(c for c, (name, ch) in enumerate(columns) if name == "LowerArm_L" and ch == "Zrotation")
    head, body = text.split("MOTION", 1)
    lines = body.split("\n")
    row = 3 + 40  # "" (rest of the MOTION line), Frames:, Frame Time:, then frame 0
    values = lines[row].split()
    values[col] = "nan"
    lines[row] = " ".join(values)
    path = write(tmp_path, head + "MOTION" + "\n".join(lines), "nan_clip.bvh")
    with pytest.raises(BVHError) as err:
        load_bvh(path)
    _assert_names(err, path, "frame 40", "joint 'LowerArm_L', Zrotation", "non-finite value 'nan'")


@pytest.mark.parametrize("big", ["1e300", "-2e6"])
def test_absurd_rotation_angle(tmp_path, big):
    text = bvh_text(ONE_JOINT_HEADER, [GOOD_ROW, f"0 90 0 10 20 30 -40 {big} 60"])
    path = write(tmp_path, text)
    with pytest.raises(BVHError) as err:
        load_bvh(path)
    _assert_names(err, path, f"line {line_of(text, big)}", "frame 1", "joint 'Spine', Xrotation", "too large")


def test_utf8_byte_order_mark_is_accepted(bandai_paths, walk_motion, tmp_path):
    raw = bandai_paths[0].read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf")
    path = write(tmp_path, b"\xef\xbb\xbf" + raw, "bom.bvh")
    motion = load_bvh(path)
    np.testing.assert_array_equal(motion.rotations, walk_motion.rotations)
    np.testing.assert_array_equal(motion.local_translations, walk_motion.local_translations)
    assert motion.skeleton == walk_motion.skeleton and motion.skeleton.names[0] == "joint_Root"
    # With Windows line endings too.
    text = bvh_text(ONE_JOINT_HEADER, [GOOD_ROW])
    crlf = write(tmp_path, b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode(), "bom_crlf.bvh")
    np.testing.assert_allclose(load_toy(crlf).positions(), reference_fk(text, 0.01), atol=1e-12)


@pytest.mark.parametrize("value", ["1e-300", "0", "-0.0333333", "nan", "inf", "-inf", "0.00009", "10.5", "1e300"])
def test_implausible_frame_time(tmp_path, value):
    text = bvh_text(ONE_JOINT_HEADER, [GOOD_ROW, GOOD_ROW], frame_time=value)
    path = write(tmp_path, text)
    with pytest.raises(BVHError) as err:
        load_bvh(path)
    _assert_names(err, path, f"line {line_of(text, 'Frame Time')}", "frame time", repr(value))


@pytest.mark.parametrize("value, fps", [("0.0001", 10000.0), ("10", 0.1), ("0.0083333", 120.0)])
def test_frame_time_range_edges_are_accepted(tmp_path, value, fps):
    motion = load_toy(write(tmp_path, bvh_text(ONE_JOINT_HEADER, [GOOD_ROW, GOOD_ROW], frame_time=value)))
    assert motion.fps == pytest.approx(fps, rel=1e-5)


def test_tiny_frame_time_in_a_real_clip(bandai_paths, tmp_path):
    text = re.sub(r"Frame Time:\s*0\.0333333", "Frame Time: 1e-300", bandai_paths[0].read_text())
    assert "Frame Time: 1e-300" in text
    path = write(tmp_path, text, "fast.bvh")
    with pytest.raises(BVHError) as err:
        load_bvh(path)
    _assert_names(err, path, "implausible frame time '1e-300'")


def test_duplicate_joint_names(tmp_path):
    header = CHAIN_HEADER.replace("JOINT Head", "JOINT Spine")
    text = bvh_text(header, ["0 0 0 0 0 0 0 0 0 0 0 0"])
    path = write(tmp_path, text)
    with pytest.raises(BVHError) as err:
        load_bvh(path)
    first = line_of(text, "JOINT Spine")
    second = first + next(n for n, ln in enumerate(text.splitlines()[first:], 1) if "JOINT Spine" in ln)
    _assert_names(err, path, f"line {second}", "duplicate joint name 'Spine'", f"first defined on line {first}")


def test_duplicate_joint_names_in_a_real_clip(bandai_paths, tmp_path):
    text = bandai_paths[0].read_text().replace("JOINT Hand_R", "JOINT Hand_L")
    path = write(tmp_path, text, "dup.bvh")
    with pytest.raises(BVHError) as err:
        load_bvh(path)
    _assert_names(err, path, "duplicate joint name 'Hand_L'")


def test_channel_count_does_not_match_the_names(tmp_path):
    header = ONE_JOINT_HEADER.replace(
        "CHANNELS 3 Zrotation Xrotation Yrotation", "CHANNELS 6 Zrotation Xrotation Yrotation Xposition Yposition"
    )
    text = bvh_text(header, [GOOD_ROW])
    path = write(tmp_path, text)
    with pytest.raises(BVHError) as err:
        load_bvh(path)
    _assert_names(err, path, f"line {line_of(text, 'CHANNELS 6 Zrotation')}", "'Spine'", "declares 6", "lists 5")


def test_unknown_channel_name(tmp_path):
    header = ONE_JOINT_HEADER.replace("CHANNELS 3 Zrotation Xrotation Yrotation", "CHANNELS 3 Zrotation Wrotation Yrotation")
    text = bvh_text(header, [GOOD_ROW])
    path = write(tmp_path, text)
    with pytest.raises(BVHError) as err:
        load_bvh(path)
    _assert_names(err, path, f"line {line_of(text, 'Wrotation')}", "'Spine'", "unknown channels", "Wrotation")


def test_repeated_channel(tmp_path):
    header = ONE_JOINT_HEADER.replace("CHANNELS 3 Zrotation Xrotation Yrotation", "CHANNELS 3 Zrotation Xrotation Zrotation")
    text = bvh_text(header, [GOOD_ROW])
    path = write(tmp_path, text)
    with pytest.raises(BVHError) as err:
        load_bvh(path)
    _assert_names(err, path, f"line {line_of(text, 'Xrotation Zrotation')}", "'Spine'", "repeats")


def test_missing_motion_section(tmp_path):
    path = write(tmp_path, ONE_JOINT_HEADER)
    with pytest.raises(BVHError) as err:
        load_bvh(path)
    _assert_names(err, path, "no MOTION section")


def test_missing_motion_keyword_before_frames(tmp_path):
    text = bvh_text(ONE_JOINT_HEADER, [GOOD_ROW]).replace("MOTION\n", "")
    path = write(tmp_path, text)
    with pytest.raises(BVHError) as err:
        load_bvh(path)
    _assert_names(err, path, f"line {line_of(text, 'Frames:')}", "MOTION keyword is missing")


def test_binary_file(tmp_path):
    path = write(tmp_path, b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe\x80")
    with pytest.raises(BVHError) as err:
        load_bvh(path)
    _assert_names(err, path, "not a text BVH file")


def test_latin1_file(tmp_path):
    text = bvh_text(ONE_JOINT_HEADER.replace("Spine", "Épaule"), [GOOD_ROW])
    path = write(tmp_path, text.encode("latin-1"))
    with pytest.raises(BVHError) as err:
        load_bvh(path)
    _assert_names(err, path, "not a text BVH file")


def test_not_a_bvh_file(tmp_path):
    path = write(tmp_path, "just some text\n")
    with pytest.raises(BVHError) as err:
        load_bvh(path)
    _assert_names(err, path, "line 1", "unexpected keyword 'just'")
    empty = write(tmp_path, "", "empty.bvh")
    with pytest.raises(BVHError) as err:
        load_bvh(empty)
    _assert_names(err, empty, "no HIERARCHY")


@pytest.mark.parametrize(
    "frames_line, frame_time_line, needle, message",
    [
        ("Frames: many", "Frame Time: 0.1", "Frames:", "bad frame count 'many'"),
        ("Frames: 1", "Frame Time: fast", "Frame Time:", "bad frame time 'fast'"),
        ("Frames: 1", "Frame Time: 0", "Frame Time:", "frame time must be a positive number of seconds, got '0'"),
        ("Frames: 0", "Frame Time: 0.1", "Frames:", "no frames"),
        ("Frame Time: 0.1", "Frames: 1", "Frame Time:", "expected 'Frames:'"),
    ],
)
def test_bad_motion_header(tmp_path, frames_line, frame_time_line, needle, message):
    text = ONE_JOINT_HEADER + f"MOTION\n{frames_line}\n{frame_time_line}\n{GOOD_ROW}\n"
    path = write(tmp_path, text)
    with pytest.raises(BVHError) as err:
        load_bvh(path)
    _assert_names(err, path, f"line {line_of(text, needle)}", message)


@pytest.mark.parametrize(
    "old, new, message",
    [
        ("OFFSET 0 10 0", "OFFSET 0 10", "OFFSET needs 3 numbers"),
        ("OFFSET 0 10 0", "OFFSET 0 ten 0", "non-numeric OFFSET"),
        ("OFFSET 0 10 0", "OFFSET 0 nan 0", "non-finite OFFSET"),
        ("OFFSET 0 5 0\n    }\n  }\n}", "OFFSET 0 5 0\n    }\n  }\n}\n}", "unbalanced"),
        ("OFFSET 0 10 0", "OFFSET 0 10 0\n  }", "already has CHANNELS"),
        ("JOINT Spine", "JOINT", "JOINT without a joint name"),
    ],
)
def test_bad_hierarchy(tmp_path, old, new, message):
    text = bvh_text(ONE_JOINT_HEADER.replace(old, new, 1), [GOOD_ROW])
    path = write(tmp_path, text)
    with pytest.raises(BVHError) as err:
        load_bvh(path)
    assert str(path) in str(err.value) and message in str(err.value)
    assert "line " in str(err.value)


def test_unclosed_brace_before_motion(tmp_path):
    text = bvh_text(ONE_JOINT_HEADER.rsplit("}", 1)[0], [GOOD_ROW])
    path = write(tmp_path, text)
    with pytest.raises(BVHError) as err:
        load_bvh(path)
    _assert_names(err, path, f"line {line_of(text, 'MOTION')}", "1 unclosed")


if __name__ == "__main__":
    FIXTURES.mkdir(exist_ok=True)
    CMU_FIXTURE.write_text(cmu_fixture_text())
    print(f"wrote {CMU_FIXTURE} ({CMU_FIXTURE.stat().st_size} bytes)")
