"""Bad-input catalogue rows for the readers: BVH, AMASS / SMPL body models, keypoints, resampling.

Bad files are built in ``tmp_path`` from real Bandai-Namco clips (read in place), from
``tests/fixtures/cmu_31joint.bvh`` or from tiny random body-model arrays (real SMPL files are
licence-restricted). Pickle payloads write a marker file when unpickled; every such row also
checks that the marker never appears.
"""

from __future__ import annotations

import pickle
import re
from pathlib import Path

import numpy as np

from bad_input_cases import Case
from hf_motion import BVHError, MotionError, load_bvh, resample_motion
from hf_motion.amass import AMASSError, load_amass
from hf_motion.bvh import BVHScaleWarning
from hf_motion.keypoints import KeypointError, load_keypoints
from hf_motion.skeletons import SMPL_BODY_PARENTS

from conftest import BANDAI1

WALK = BANDAI1 / "dataset-1_walk_normal_001.bvh"
CMU_FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "cmu_31joint.bvh"  # lengths in inches


# ----------------------------------------------------------------------------------- helpers
class _Payload:
    """Unpickling this runs code: it writes ``marker`` (what a crafted file could do)."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return (exec, (f"open({self.marker!r}, 'w').write('pwned')",))


def _no_payload_ran(tmp_path: Path, call):
    """Run ``call``; fail if the marker of a :class:`_Payload` in ``tmp_path`` appeared."""
    try:
        return call()
    finally:
        assert not (tmp_path / "marker").exists(), "a pickle payload ran"


def _model_arrays(seed: int = 0, n_verts: int = 100, n_joints: int = 52) -> dict[str, np.ndarray]:
    """A tiny random SMPL-H-shaped body model (shapes as the real files, values made up)."""
    rng = np.random.default_rng(seed)
    reg = rng.random((n_joints, n_verts))
    parents = list(SMPL_BODY_PARENTS) + [20] * (n_joints - len(SMPL_BODY_PARENTS))
    return {
        "v_template": rng.normal(scale=[0.15, 0.1, 0.4], size=(n_verts, 3)) + [0, 0, 0.9],
        "shapedirs": rng.normal(scale=0.02, size=(n_verts, 3, 10)),
        "J_regressor": reg / reg.sum(axis=1, keepdims=True),
        "kintree_table": np.stack([np.array(parents), np.arange(n_joints)]),
    }


def _amass_motion(tmp_path: Path, **override) -> Path:
    rng = np.random.default_rng(1)
    arrays = {
        "poses": 0.2 * rng.standard_normal((20, 156)),
        "trans": np.zeros((20, 3)),
        "betas": rng.standard_normal(16),
        "gender": np.array("female"),
        "mocap_framerate": np.array(60.0),
        **override,
    }
    path = tmp_path / "walk_poses.npz"
    np.savez(path, **arrays)
    return path


def _npz_model_with_payload(tmp_path: Path):
    models = tmp_path / "models"
    (models / "smplh").mkdir(parents=True)
    payload = np.array([_Payload(tmp_path / "marker")], dtype=object)
    np.savez(models / "smplh" / "SMPLH_FEMALE.npz", **{**_model_arrays(), "J_regressor": payload})
    return _no_payload_ran(tmp_path, lambda: load_amass(_amass_motion(tmp_path), body_model=models))


def _pkl_model_with_payload(tmp_path: Path):
    models = tmp_path / "models"
    (models / "smplh").mkdir(parents=True)
    with open(models / "smplh" / "SMPLH_FEMALE.pkl", "wb") as f:
        pickle.dump({**_model_arrays(), "payload": _Payload(tmp_path / "marker")}, f)
    return _no_payload_ran(tmp_path, lambda: load_amass(_amass_motion(tmp_path), body_model=models))


def _motion_npz_with_payload(tmp_path: Path):
    path = _amass_motion(tmp_path, gender=np.array([_Payload(tmp_path / "marker")], dtype=object))
    return _no_payload_ran(tmp_path, lambda: load_amass(path))


def _keypoints_npy_with_payload(tmp_path: Path):
    path = tmp_path / "track.npy"
    np.save(path, np.array([_Payload(tmp_path / "marker")], dtype=object), allow_pickle=True)
    return _no_payload_ran(tmp_path, lambda: load_keypoints(path))


def _edited_walk(tmp_path: Path, name: str, edit) -> Path:
    path = tmp_path / name
    path.write_text(edit(WALK.read_text()))
    return path


def _with_frame_time(value: str):
    def edit(text: str) -> str:
        out, n = re.subn(r"Frame Time:\s*\S+", f"Frame Time: {value}", text, count=1)
        assert n == 1
        return out

    return lambda tmp_path: load_bvh(_edited_walk(tmp_path, "fast.bvh", edit))


def _nan_channel(tmp_path: Path):
    def edit(text: str) -> str:
        head, body = text.split("MOTION", 1)
        # Channel column of LowerArm_L's Zrotation, counted from the header by hand-rolled parsing.
        names = re.findall(r"(?:ROOT|JOINT)\s+(\S+)", head)
        counts = [int(c) for c in re.findall(r"CHANNELS\s+(\d+)", head)]
        channels = re.findall(r"CHANNELS\s+\d+\s+([^\n]+)", head)
        k = names.index("LowerArm_L")
        col = sum(counts[:k]) + channels[k].split().index("Zrotation")
        lines = body.split("\n")
        row = 3 + 40  # the rest of the MOTION line, Frames:, Frame Time:, then frame 0
        values = lines[row].split()
        values[col] = "nan"
        lines[row] = " ".join(values)
        return head + "MOTION" + "\n".join(lines)

    return load_bvh(_edited_walk(tmp_path, "nan.bvh", edit))


def _cmu_units_text(factor: float) -> str:
    """The CMU fixture with every length times ``factor`` (only its root has position channels)."""
    head, body = CMU_FIXTURE.read_text().split("MOTION\n", 1)

    def offset(m: re.Match) -> str:
        return "OFFSET " + " ".join(f"{float(v) * factor:.8g}" for v in m[1].split())

    head = re.sub(r"OFFSET ([^\n]+)", offset, head)
    lines = body.splitlines()
    rows = []
    for ln in lines[2:]:
        v = [float(x) for x in ln.split()]
        rows.append(" ".join(f"{x:.8g}" for x in [c * factor for c in v[:3]] + v[3:]))
    return head + "MOTION\n" + "\n".join(lines[:2] + rows) + "\n"


def _cmu_file(tmp_path: Path, name: str, factor: float) -> Path:
    path = tmp_path / name
    path.write_text(_cmu_units_text(factor))
    return path


def _cmu_auto(tmp_path: Path):
    motion = load_bvh(_cmu_file(tmp_path, "cmu_units.bvh", 0.45))  # 1 inch = 0.45 CMU units
    inches = load_bvh(CMU_FIXTURE, scale=0.0254)
    assert motion.labels["bvh_unit"] == "cmu", motion.labels
    assert np.abs(motion.positions() - inches.positions()).max() < 1e-6


def _bom_accepted(tmp_path: Path):
    path = tmp_path / "bom.bvh"
    path.write_bytes(b"\xef\xbb\xbf" + WALK.read_bytes())
    motion = load_bvh(path)
    plain = load_bvh(WALK)
    assert motion.skeleton.names == plain.skeleton.names and motion.skeleton.names[0] == "joint_Root"
    assert np.array_equal(motion.positions(), plain.positions())


def _auto_is_centimetres(tmp_path: Path):
    auto, cm = load_bvh(WALK), load_bvh(WALK, scale=0.01)
    assert auto.labels["bvh_unit"] == "centimetres"
    assert np.array_equal(auto.positions(), cm.positions())


# -------------------------------------------------------------------------------------- rows
CASES = [
    Case(
        id="amass-body-model-npz-pickle-payload",
        run=_npz_model_with_payload,
        error=AMASSError,
        match=r"SMPLH_FEMALE\.npz: key 'J_regressor' is a pickled object array.*arbitrary code.*np\.savez",
        description="SMPLH_FEMALE.npz whose J_regressor is an object array holding a pickle payload",
    ),
    Case(
        id="amass-body-model-pkl-without-opt-in",
        run=_pkl_model_with_payload,
        error=AMASSError,
        match=r"SMPLH_FEMALE\.pkl: \.pkl body models are Python pickles.*arbitrary code.*allow_pickle=True",
        description="a pickled SMPLH_FEMALE.pkl (with a payload) and no allow_pickle=True",
    ),
    Case(
        id="amass-motion-npz-object-array",
        run=_motion_npz_with_payload,
        error=AMASSError,
        match=r"walk_poses\.npz: key 'gender' cannot be read without pickle",
        description="an AMASS motion .npz whose 'gender' is an object array holding a pickle payload",
    ),
    Case(
        id="keypoints-npy-object-array",
        run=_keypoints_npy_with_payload,
        error=KeypointError,
        match=r"track\.npy: cannot be read without pickle",
        description="a keypoint .npy holding a pickled object array with a payload",
    ),
    Case(
        id="bvh-cmu-units-at-cm-scale-warns",
        run=lambda tmp_path: load_bvh(_cmu_file(tmp_path, "cmu_units.bvh", 0.45), scale=0.01),
        error=None,
        warning=BVHScaleWarning,
        match=r"cmu_units\.bvh: the body is 0\.2\d+ m tall with scale=0\.01",
        description="a CMU-unit (1/0.45 inch) BVH read with the old default scale=0.01: a 27 cm person",
    ),
    Case(
        id="bvh-metres-at-cm-scale-warns",
        run=lambda tmp_path: load_bvh(_cmu_file(tmp_path, "metres.bvh", 0.0254), scale=0.01),
        error=None,
        warning=BVHScaleWarning,
        match=r"metres\.bvh: the body is 0\.01\d+ m tall",
        description="a BVH already in metres (as rescaled CMU releases) read as centimetres: 1.5 cm tall",
    ),
    Case(
        id="bvh-cmu-units-auto",
        run=_cmu_auto,
        error=None,
        description="scale='auto' reads a CMU-unit BVH as CMU units (same positions as the inch original)",
    ),
    Case(
        id="bvh-bandai-auto-is-centimetres",
        run=_auto_is_centimetres,
        error=None,
        description="scale='auto' on a real Bandai-Namco clip gives exactly scale=0.01",
    ),
    Case(
        id="bvh-utf8-bom",
        run=_bom_accepted,
        error=None,
        description="a real Bandai-Namco clip with a UTF-8 byte-order mark loads as without it",
    ),
    Case(
        id="bvh-frame-time-1e-300",
        run=_with_frame_time("1e-300"),
        error=BVHError,
        match=r"fast\.bvh, line \d+: implausible frame time '1e-300'",
        description="Frame Time: 1e-300 (used to load, then collapse to one frame on resampling)",
    ),
    Case(
        id="bvh-frame-time-zero",
        run=_with_frame_time("0"),
        error=BVHError,
        match=r"fast\.bvh, line \d+: frame time must be a positive number of seconds, got '0'",
        description="Frame Time: 0",
    ),
    Case(
        id="bvh-frame-time-negative",
        run=_with_frame_time("-0.0333333"),
        error=BVHError,
        match=r"fast\.bvh, line \d+: frame time must be a positive number of seconds, got '-0\.0333333'",
        description="a negative Frame Time",
    ),
    Case(
        id="bvh-frame-time-nan",
        run=_with_frame_time("nan"),
        error=BVHError,
        match=r"fast\.bvh, line \d+: frame time must be a positive number of seconds, got 'nan'",
        description="Frame Time: nan",
    ),
    Case(
        id="bvh-frame-time-too-long",
        run=_with_frame_time("11"),
        error=BVHError,
        match=r"fast\.bvh, line \d+: implausible frame time '11'.*0\.0001 \.\. 10 s",
        description="Frame Time: 11 s (outside 1e-4 .. 10 s)",
    ),
    Case(
        id="bvh-duplicate-joint-name",
        run=lambda tmp_path: load_bvh(_edited_walk(tmp_path, "dup.bvh", lambda t: t.replace("JOINT Hand_R", "JOINT Hand_L"))),
        error=BVHError,
        match=r"dup\.bvh, line \d+: duplicate joint name 'Hand_L' \(first defined on line \d+\)",
        description="a real clip with its Hand_R joint renamed Hand_L",
    ),
    Case(
        id="bvh-nan-channel",
        run=_nan_channel,
        error=BVHError,
        match=r"nan\.bvh, line \d+ \(frame 40, joint 'LowerArm_L', Zrotation\): non-finite value 'nan'",
        description="a real clip with 'nan' as LowerArm_L's Zrotation at frame 40",
    ),
    Case(
        id="bvh-absurd-rotation-angle",
        run=lambda tmp_path: load_bvh(_edited_walk(tmp_path, "angle.bvh", lambda t: t.replace("-60.8979", "1e300", 1))),
        error=BVHError,
        match=r"angle\.bvh, line \d+ \(frame \d+, joint '\w+', [XYZ]rotation\): rotation 1e\+300 degrees",
        description="a rotation channel of 1e300 degrees (finite, but no angle left in it)",
    ),
    Case(
        id="bvh-scale-not-a-unit",
        run=lambda tmp_path: load_bvh(WALK, scale="cm"),
        error=ValueError,
        match=r"scale must be a positive number or 'auto', got 'cm'",
        description="scale='cm' (only numbers and 'auto' are accepted)",
    ),
    Case(
        id="resample-target-fps-1e-300",
        run=lambda tmp_path: resample_motion(load_bvh(WALK), 1e-300),
        error=MotionError,
        match=r"target fps 1e-300 is outside the supported 0\.1 \.\. 10000 fps",
        description="resampling to 1e-300 fps (would collapse the clip to one frame)",
    ),
    Case(
        id="resample-target-fps-nan",
        run=lambda tmp_path: resample_motion(load_bvh(WALK), float("nan")),
        error=MotionError,
        match=r"target fps must be a positive number, got nan",
        description="resampling to NaN fps",
    ),
    Case(
        id="resample-target-fps-bool",
        run=lambda tmp_path: resample_motion(load_bvh(WALK), True),
        error=MotionError,
        match=r"target fps must be a positive number, got True",
        description="resampling to fps=True (a bool is not a rate)",
    ),
]
