"""AMASS loader on generated (random, tiny) SMPL / SMPL-H / SMPL-X model files and AMASS-layout npz.

Real SMPL model files are licence-restricted, so a session fixture writes small random models with
the array shapes smplx reads (300 vertices) and checks our FK against smplx's own forward pass.
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import smplx
import torch
from smplx.utils import Struct

import hf_motion as hm
from hf_motion import forward_kinematics
from hf_motion.amass import AMASSError, SMPLBody, amass_positions, load_amass
from hf_motion.rotations import geodesic_angle
from hf_motion.skeletons import SMPL_BODY_JOINTS, SMPL_BODY_PARENTS, resolve_joint_subset

N_VERTS = 300
N_FRAMES = 48


def _hand_parents(wrist: int, first: int) -> list[int]:
    """SMPL-H/X finger chains: 5 fingers x 3 joints hanging off the wrist."""
    out = []
    for finger in range(5):
        prev = wrist
        for k in range(3):
            out.append(prev)
            prev = first + 3 * finger + k
    return out


def _model_arrays(n_joints: int, rng: np.random.Generator, n_shape: int = 10) -> dict[str, np.ndarray]:
    parents = list(SMPL_BODY_PARENTS)
    if n_joints == 24:  # SMPL: one joint per hand
        parents += [20, 21]
    elif n_joints == 52:  # SMPL-H: 15 joints per hand
        parents += _hand_parents(20, 22) + _hand_parents(21, 37)
    elif n_joints == 55:  # SMPL-X: jaw, eyes, then hands
        parents += [15, 15, 15] + _hand_parents(20, 25) + _hand_parents(21, 40)
    assert len(parents) == n_joints
    # A rough standing body: vertices spread over 1.7 m of height (Z-up like AMASS data).
    v = rng.normal(scale=[0.15, 0.1, 0.4], size=(N_VERTS, 3)) + [0, 0, 0.9]
    regressor = rng.random((n_joints, N_VERTS)) * (rng.random((n_joints, N_VERTS)) < 0.05)
    regressor[np.arange(n_joints), rng.integers(0, N_VERTS, n_joints)] += 1.0
    regressor /= regressor.sum(axis=1, keepdims=True)
    weights = rng.random((N_VERTS, n_joints))
    weights /= weights.sum(axis=1, keepdims=True)
    arrays = {
        "v_template": v,
        "shapedirs": rng.normal(scale=0.02, size=(N_VERTS, 3, n_shape)),
        "posedirs": rng.normal(scale=0.01, size=(N_VERTS, 3, 9 * (n_joints - 1))),
        "J_regressor": regressor,
        "weights": weights,
        "kintree_table": np.stack([np.array(parents), np.arange(n_joints)]),
        "f": rng.integers(0, N_VERTS, (200, 3)),
    }
    if n_joints >= 52:
        for side in "lr":
            arrays[f"hands_components{side}"] = rng.normal(size=(45, 45))
            arrays[f"hands_mean{side}"] = rng.normal(scale=0.1, size=45)
    if n_joints == 55:
        arrays["lmk_faces_idx"] = rng.integers(0, 200, 51)
        arrays["lmk_bary_coords"] = rng.random((51, 3))
    return arrays


def _smooth_poses(rng: np.random.Generator, width: int, T: int, fps: float) -> np.ndarray:
    """Plausible motion: every angle a slow sinusoid (under 0.4 rad), the root turning slowly."""
    t = np.arange(T)[:, None] / fps
    freq = rng.uniform(0.3, 1.5, width)
    phase = rng.uniform(0, 2 * np.pi, width)
    amp = rng.uniform(0.05, 0.4, width)
    return amp * np.sin(2 * np.pi * freq * t + phase)


@pytest.fixture(scope="session")
def amass_world(tmp_path_factory):
    rng = np.random.default_rng(1234)
    root = tmp_path_factory.mktemp("amass")
    models = root / "body_models"
    arrays = {}
    for folder, name, n_joints, n_shape in [
        ("smplh", "SMPLH_FEMALE.npz", 52, 10),
        ("smplh", "SMPLH_MALE.npz", 52, 10),
        ("smplx", "SMPLX_NEUTRAL.npz", 55, 20),  # 10 shape + 10 expression components
        ("smpl", "SMPL_MALE.pkl", 24, 10),
        ("smpl", "SMPL_NEUTRAL.npz", 24, 10),
    ]:
        arr = _model_arrays(n_joints, rng, n_shape)
        (models / folder).mkdir(parents=True, exist_ok=True)
        if name.endswith(".pkl"):
            with open(models / folder / name, "wb") as f:
                pickle.dump(arr, f)
        else:
            np.savez(models / folder / name, **arr)
        arrays[name] = arr
    # AMASS / human_body_prior layout: <folder>/smplh/<gender>/model.npz
    (root / "hbp" / "smplh" / "female").mkdir(parents=True)
    np.savez(root / "hbp" / "smplh" / "female" / "model.npz", **arrays["SMPLH_FEMALE.npz"])

    data = root / "ACCAD" / "Subject7"
    data.mkdir(parents=True)
    betas = np.concatenate([rng.normal(size=10), np.zeros(6)])  # AMASS stores 16
    files = {}
    specs = [
        ("smplh", 156, "female", 120.0, "mocap_framerate"),
        ("smplx", 165, "neutral", 60.0, "mocap_frame_rate"),
        ("smpl", 72, "male", 30.0, "mocap_framerate"),
    ]
    for kind, width, gender, fps, rate_key in specs:
        poses = _smooth_poses(rng, width, N_FRAMES, fps)
        trans = np.cumsum(rng.normal(scale=0.01, size=(N_FRAMES, 3)), axis=0) + [0, 0, 0.9]
        path = data / f"{kind}_walk_poses.npz"
        np.savez(path, poses=poses, trans=trans, betas=betas, gender=np.array(gender), **{rate_key: np.array(fps)})
        files[kind] = path
    return {"root": root, "models": models, "arrays": arrays, "files": files, "betas": betas}


def _write(path, **arrays):
    np.savez(path, **arrays)
    return path


def _smplx_joints(model, poses: np.ndarray, trans: np.ndarray, betas: np.ndarray, kind: str) -> np.ndarray:
    """Posed joints from smplx's forward pass (the reference our FK must reproduce)."""
    T = poses.shape[0]
    p = torch.from_numpy(poses)
    kw = dict(
        betas=torch.from_numpy(betas[: model.num_betas])[None].expand(T, -1),
        global_orient=p[:, :3],
        body_pose=p[:, 3:66] if kind != "smpl" else p[:, 3:72],
        transl=torch.from_numpy(trans),
    )
    if kind == "smplh":
        kw.update(left_hand_pose=p[:, 66:111], right_hand_pose=p[:, 111:156])
    if kind == "smplx":
        kw.update(
            jaw_pose=p[:, 66:69], leye_pose=p[:, 69:72], reye_pose=p[:, 72:75],
            left_hand_pose=p[:, 75:120], right_hand_pose=p[:, 120:165],
            expression=torch.zeros(T, model.num_expression_coeffs, dtype=torch.float64),
        )  # fmt: skip
    # Extra "joints" smplx picks from fixed vertex ids of the real 6890/10475-vertex meshes do not
    # exist on the tiny model; point them at vertex 0 (they come after the 22 we compare).
    model.vertex_joint_selector.extra_joints_idxs.zero_()
    with torch.no_grad():
        return model(**kw).joints[:, :22].numpy()


def _reference_model(world, kind: str, gender: str):
    common = dict(gender=gender, dtype=torch.float64, batch_size=N_FRAMES, use_pca=False, num_betas=10)
    if kind == "smpl":
        common.pop("use_pca")
        if gender == "neutral":  # smplx reads SMPL only from .pkl; feed the .npz arrays directly
            arrays = world["arrays"]["SMPL_NEUTRAL.npz"]
            return smplx.SMPL(str(world["models"]), data_struct=Struct(**arrays), **common)
        return smplx.create(str(world["models"]), model_type="smpl", **common)
    return smplx.create(str(world["models"]), model_type=kind, ext="npz", **common)


@pytest.mark.parametrize("kind,gender", [("smplh", "female"), ("smplx", "neutral"), ("smpl", "male")])
def test_fk_matches_smplx_forward(amass_world, kind, gender):
    path = amass_world["files"][kind]
    # The SMPL male model of this fixture is a .pkl (as SMPL's own downloads), read by opt-in.
    motion = load_amass(path, body_model=amass_world["models"], allow_pickle=kind == "smpl")
    src = np.load(path)
    assert motion.labels["gender"] == gender and motion.labels["pose_layout"] == kind
    assert motion.skeleton.names == SMPL_BODY_JOINTS and motion.skeleton.up_axis == "z"
    expected = _smplx_joints(_reference_model(amass_world, kind, gender), src["poses"], src["trans"], src["betas"], kind)
    ours = amass_positions(motion)
    assert np.abs(ours - expected).max() < 1e-5
    np.testing.assert_array_equal(ours, forward_kinematics(motion))
    # The joints really move (a constant answer would not prove anything).
    assert np.ptp(ours[:, 20], axis=0).max() > 0.05


def test_smpl_npz_model_file(amass_world):
    """smplx itself reads SMPL only from .pkl; our loader also takes SMPL_<GENDER>.npz."""
    path = amass_world["files"]["smpl"]
    motion = load_amass(path, body_model=amass_world["models"], gender="neutral")
    assert motion.labels["body_model"].endswith("SMPL_NEUTRAL.npz")
    src = np.load(path)
    expected = _smplx_joints(_reference_model(amass_world, "smpl", "neutral"), src["poses"], src["trans"], src["betas"], "smpl")
    assert np.abs(amass_positions(motion) - expected).max() < 1e-5


def test_rest_joints_equal_regressed_shaped_vertices(amass_world):
    arr = amass_world["arrays"]["SMPLH_FEMALE.npz"]
    betas = amass_world["betas"]
    body = SMPLBody(amass_world["models"], "smplh", "female")
    shaped = arr["v_template"] + arr["shapedirs"] @ betas[:10]
    expected = (arr["J_regressor"] @ shaped)[:22]
    # Computed in float64 from the file's arrays (smplx itself rounds them through float32).
    np.testing.assert_allclose(body.rest_joints(betas), expected, rtol=0, atol=1e-12)
    motion = load_amass(amass_world["files"]["smplh"], body_model=body)
    # Root translation is trans + J_rest[0]; offsets are rest-joint differences.
    trans = np.load(amass_world["files"]["smplh"])["trans"]
    np.testing.assert_allclose(motion.root_translation, trans + expected[0], rtol=0, atol=1e-6)
    parents = np.array(SMPL_BODY_PARENTS)
    np.testing.assert_allclose(motion.skeleton.offsets[1:], expected[1:] - expected[parents[1:]], rtol=0, atol=2e-6)


def test_angles_without_body_model(amass_world):
    path = amass_world["files"]["smplh"]
    src = np.load(path)
    motion = load_amass(path)
    np.testing.assert_array_equal(motion.rotations, src["poses"][:, :66].reshape(-1, 22, 3))
    np.testing.assert_array_equal(motion.root_translation, src["trans"])
    assert motion.fps == 120.0 and motion.skeleton.up_axis == "z"
    assert not motion.skeleton.offsets.any()
    assert motion.labels["body_model"] is None and motion.labels["betas"] == src["betas"].tolist()
    assert motion.labels["subject"] == "Subject7" and motion.labels["group"] == "ACCAD/Subject7"
    with pytest.raises(AMASSError, match=r"without a body model.*body_model=<folder>"):
        amass_positions(motion)
    # Generic FK refuses too, instead of silently putting every joint on the root.
    with pytest.raises(hm.MotionError, match="no rest offsets.*body_model"):
        motion.positions()
    # The same angles as with a body model: the model only changes offsets and root.
    with_model = load_amass(path, body_model=amass_world["models"])
    np.testing.assert_array_equal(with_model.rotations, motion.rotations)


def test_resampling_to_target_fps(amass_world):
    path = amass_world["files"]["smplh"]
    src = np.load(path)
    motion = load_amass(path, body_model=amass_world["models"], target_fps=30)
    assert motion.fps == 30.0 and motion.labels["mocap_fps"] == 120.0
    assert motion.num_frames == (N_FRAMES - 1) // 4 + 1  # 120 -> 30 keeps every fourth frame
    kept = src["poses"][::4]
    assert geodesic_angle(motion.rotations, kept[:, :66].reshape(-1, 22, 3)).max() < 1e-9
    expected = _smplx_joints(
        _reference_model(amass_world, "smplh", "female"),
        np.ascontiguousarray(np.repeat(kept, 4, axis=0)[:N_FRAMES]),
        np.ascontiguousarray(np.repeat(src["trans"][::4], 4, axis=0)[:N_FRAMES]),
        src["betas"],
        "smplh",
    )[::4]
    assert np.abs(amass_positions(motion) - expected).max() < 1e-5


def test_joint_subset_keeps_positions(amass_world):
    path = amass_world["files"]["smplh"]
    full = load_amass(path, body_model=amass_world["models"])
    core = load_amass(path, body_model=amass_world["models"], joints="smpl-core")
    names = resolve_joint_subset("smpl-core")
    assert core.skeleton.names == names
    idx = [SMPL_BODY_JOINTS.index(n) for n in names]
    np.testing.assert_allclose(amass_positions(core), amass_positions(full)[:, idx], atol=1e-9)


def test_gender_override_and_model_layouts(amass_world):
    path = amass_world["files"]["smplh"]
    male = load_amass(path, body_model=amass_world["models"], gender="MALE")
    assert male.labels["gender"] == "male" and male.labels["body_model"].endswith("SMPLH_MALE.npz")
    female = load_amass(path, body_model=amass_world["models"])
    assert not np.allclose(male.skeleton.offsets, female.skeleton.offsets)  # a different model file
    hbp = load_amass(path, body_model=amass_world["root"] / "hbp")
    assert hbp.labels["body_model"].endswith("female/model.npz")
    np.testing.assert_allclose(amass_positions(hbp), amass_positions(female), atol=1e-12)
    direct = load_amass(path, body_model=amass_world["models"] / "smplh" / "SMPLH_FEMALE.npz")
    np.testing.assert_allclose(direct.skeleton.offsets, female.skeleton.offsets)


def test_extra_nonzero_betas_warn(amass_world, tmp_path):
    src = dict(np.load(amass_world["files"]["smplh"]))
    src["betas"] = np.concatenate([src["betas"][:10], [0.5, 0, 0, 0, 0, 0]])
    path = _write(tmp_path / "b.npz", **src)
    with pytest.warns(UserWarning, match=r"betas\[10:\] hold 1 non-zero value"):
        load_amass(path, body_model=amass_world["models"])


# ---------------------------------------------------------------------------------- bad input
@pytest.fixture
def good(amass_world):
    return dict(np.load(amass_world["files"]["smplh"]))


def test_missing_keys(good, tmp_path):
    for key in ("poses", "trans"):
        bad = {k: v for k, v in good.items() if k != key}
        path = _write(tmp_path / f"no_{key}.npz", **bad)
        with pytest.raises(AMASSError, match=rf"no_{key}\.npz: missing key '{key}'"):
            load_amass(path)
    bad = {k: v for k, v in good.items() if k != "mocap_framerate"}
    with pytest.raises(AMASSError, match="no_rate.npz: missing key 'mocap_framerate'"):
        load_amass(_write(tmp_path / "no_rate.npz", **bad))
    shape_file = _write(tmp_path / "shape.npz", betas=good["betas"], gender=good["gender"])
    with pytest.raises(AMASSError, match="shape.npz files"):
        load_amass(shape_file)
    bad = {k: v for k, v in good.items() if k != "betas"}
    assert load_amass(_write(tmp_path / "no_betas.npz", **bad)).labels["betas"] is None  # angles need no betas


def test_missing_betas_with_model(good, amass_world, tmp_path):
    bad = {k: v for k, v in good.items() if k != "betas"}
    with pytest.raises(AMASSError, match="no_betas.npz: missing key 'betas'"):
        load_amass(_write(tmp_path / "no_betas.npz", **bad), body_model=amass_world["models"])


def test_wrong_poses_width(good, tmp_path):
    good["poses"] = good["poses"][:, :100]
    with pytest.raises(AMASSError, match=r"w100.npz: 'poses' has shape \(48, 100\).*156 \(SMPLH\)"):
        load_amass(_write(tmp_path / "w100.npz", **good))


def test_trans_frame_mismatch(good, tmp_path):
    good["trans"] = good["trans"][:-1]
    with pytest.raises(AMASSError, match=r"'trans' has shape \(47, 3\), expected \(48, 3\)"):
        load_amass(_write(tmp_path / "t.npz", **good))


def test_nan_in_poses_names_file_and_frame(good, tmp_path):
    good["poses"][7, 3 * 4 + 1] = np.nan  # joint 4 = left_knee
    with pytest.raises(AMASSError, match=r"nan.npz: 'poses' has a non-finite value at frame 7 \(joint 'left_knee'\)"):
        load_amass(_write(tmp_path / "nan.npz", **good))


def test_bad_frame_rate(good, tmp_path):
    good["mocap_framerate"] = np.array(0.0)
    with pytest.raises(AMASSError, match="'mocap_framerate' must be a positive frame rate"):
        load_amass(_write(tmp_path / "r.npz", **good))


def test_unknown_gender(good, amass_world, tmp_path):
    good["gender"] = np.array("robot")
    path = _write(tmp_path / "g.npz", **good)
    with pytest.raises(AMASSError, match=r"g.npz: key 'gender': unknown gender 'robot'"):
        load_amass(path)
    with pytest.raises(AMASSError, match="gender argument: unknown gender 'other'"):
        load_amass(amass_world["files"]["smplh"], gender="other")


def test_bytes_gender_is_accepted(good, tmp_path):
    good["gender"] = np.array(b"female")  # some AMASS releases store bytes
    assert load_amass(_write(tmp_path / "b.npz", **good)).labels["gender"] == "female"


def test_pickled_arrays_are_refused(good, tmp_path):
    good["gender"] = np.array(["female"], dtype=object)
    with pytest.raises(AMASSError, match="key 'gender' cannot be read without pickle"):
        load_amass(_write(tmp_path / "o.npz", **good))


def test_missing_model_file_lists_paths(amass_world, tmp_path):
    with pytest.raises(AMASSError, match=r"(?s)no SMPLX male body model.*smplx/SMPLX_MALE\.npz.*licence-restricted"):
        load_amass(amass_world["files"]["smplx"], body_model=amass_world["models"], gender="male")
    with pytest.raises(AMASSError, match="does not exist"):
        load_amass(amass_world["files"]["smplh"], body_model=tmp_path / "nowhere")


def test_broken_model_file(amass_world, tmp_path):
    arrays = dict(amass_world["arrays"]["SMPLH_FEMALE.npz"])
    del arrays["J_regressor"]
    (tmp_path / "smplh").mkdir()
    np.savez(tmp_path / "smplh" / "SMPLH_FEMALE.npz", **arrays)
    with pytest.raises(AMASSError, match=r"SMPLH_FEMALE.npz: missing model array\(s\) \['J_regressor'\]"):
        SMPLBody(tmp_path, "smplh", "female")


def test_missing_file_and_not_npz(tmp_path):
    with pytest.raises(AMASSError, match="does not exist"):
        load_amass(tmp_path / "absent.npz")
    (tmp_path / "junk.npz").write_text("not a zip")
    with pytest.raises(AMASSError, match="junk.npz: not a readable .npz file"):
        load_amass(tmp_path / "junk.npz")


@pytest.mark.parametrize(
    "key, value, message",
    [
        ("v_template", np.zeros((N_VERTS, 2)), r"'v_template' has shape \(300, 2\), expected \(V, 3\)"),
        ("shapedirs", np.zeros((N_VERTS - 1, 3, 10)), r"'shapedirs' has shape \(299, 3, 10\), expected \(300, 3, S\)"),
        ("J_regressor", np.zeros((52, N_VERTS + 1)), r"'J_regressor' has shape \(52, 301\), expected \(J, 300\)"),
        ("J_regressor", np.full((20, N_VERTS), 1 / N_VERTS), "the model has 20 joints, fewer than the 22 SMPL body joints"),
        ("shapedirs", np.full((N_VERTS, 3, 10), np.nan), "key 'shapedirs' holds non-finite values"),
        ("v_template", np.array(["a"] * 3), "key 'v_template' is not a numeric array"),
        ("kintree_table", np.stack([np.arange(-1, 51), np.arange(52)]), "'kintree_table' gives body joint parents"),
    ],
)
def test_unusable_model_arrays(amass_world, tmp_path, key, value, message):
    arrays = dict(amass_world["arrays"]["SMPLH_FEMALE.npz"])
    arrays[key] = value
    path = tmp_path / "SMPLH_FEMALE.npz"
    np.savez(path, **arrays)
    with pytest.raises(AMASSError, match=rf"SMPLH_FEMALE\.npz: {message}"):
        SMPLBody(path, "smplh", "female")


# ------------------------------------------------------------------------------ never unpickle
class _Payload:
    """Unpickling this writes ``marker``: what a crafted model file could do (run any code)."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (exec, (f"open({self.marker!r}, 'w').write('pwned')",))


def _payload_model_files(world, folder, marker):
    """SMPLH_FEMALE.npz with the payload as its J_regressor, and SMPLH_MALE.pkl holding it."""
    arrays = dict(world["arrays"]["SMPLH_FEMALE.npz"])
    (folder / "smplh").mkdir(parents=True)
    npz = folder / "smplh" / "SMPLH_FEMALE.npz"
    np.savez(npz, **{**arrays, "J_regressor": np.array([_Payload(marker)], dtype=object)})
    pkl = folder / "smplh" / "SMPLH_MALE.pkl"
    with open(pkl, "wb") as f:
        pickle.dump({**world["arrays"]["SMPLH_MALE.npz"], "payload": _Payload(marker)}, f)
    return npz, pkl


def test_payload_really_runs_when_unpickled(amass_world, tmp_path):
    # The check below means something only if unpickling these files does run the payload.
    npz, pkl = _payload_model_files(amass_world, tmp_path / "models", tmp_path / "marker")
    with np.load(npz, allow_pickle=True) as f:
        f["J_regressor"]
    assert (tmp_path / "marker").read_text() == "pwned"
    (tmp_path / "marker").unlink()
    with open(pkl, "rb") as f:
        pickle.load(f)
    assert (tmp_path / "marker").exists()


def test_model_files_are_never_unpickled_by_default(amass_world, tmp_path):
    marker = tmp_path / "marker"
    models = tmp_path / "models"
    npz, pkl = _payload_model_files(amass_world, models, marker)
    motion_file = amass_world["files"]["smplh"]
    calls = [
        (lambda: SMPLBody(npz, "smplh", "female"), r"SMPLH_FEMALE\.npz: key 'J_regressor' is a pickled object array"),
        (lambda: SMPLBody(models, "smplh", "female"), r"SMPLH_FEMALE\.npz: key 'J_regressor'.*allow_pickle=True"),
        (lambda: load_amass(motion_file, body_model=models), r"SMPLH_FEMALE\.npz: key 'J_regressor'.*np\.savez"),
        (lambda: SMPLBody(pkl, "smplh", "male"), r"SMPLH_MALE\.pkl: \.pkl body models are Python pickles.*arbitrary code"),
        (lambda: load_amass(motion_file, body_model=models, gender="male"), r"SMPLH_MALE\.pkl: .*allow_pickle=True"),
    ]
    for call, message in calls:
        with pytest.raises(AMASSError, match=message):
            call()
        assert not marker.exists()


def test_object_arrays_in_unused_model_keys_are_not_read(amass_world, tmp_path):
    marker = tmp_path / "marker"
    arrays = dict(amass_world["arrays"]["SMPLH_FEMALE.npz"])
    path = tmp_path / "SMPLH_FEMALE.npz"
    np.savez(path, **arrays, extra=np.array([_Payload(marker)], dtype=object))
    body = SMPLBody(path, "smplh", "female")
    np.testing.assert_allclose(body.rest_joints(), (arrays["J_regressor"] @ arrays["v_template"])[:22], atol=1e-12)
    assert not marker.exists()


def test_pickled_model_files_load_by_opt_in(amass_world, tmp_path):
    # A trusted .pkl (SMPL's own format) and an .npz needing pickle give the same body as plain arrays.
    arrays = amass_world["arrays"]["SMPLH_FEMALE.npz"]
    betas = amass_world["betas"]
    plain = SMPLBody(amass_world["models"], "smplh", "female")
    pkl = tmp_path / "SMPLH_FEMALE.pkl"
    with open(pkl, "wb") as f:
        pickle.dump(arrays, f)
    obj = tmp_path / "obj" / "SMPLH_FEMALE.npz"
    obj.parent.mkdir()
    np.savez(obj, **{**arrays, "J_regressor": np.array(arrays["J_regressor"], dtype=object)})
    for path in (pkl, obj):
        body = SMPLBody(path, "smplh", "female", allow_pickle=True)
        np.testing.assert_array_equal(body.rest_joints(betas), plain.rest_joints(betas))
    motion = load_amass(amass_world["files"]["smplh"], body_model=pkl, allow_pickle=True)
    assert motion.labels["body_model"] == str(pkl)
    # The cache keeps opt-in and default apart: the same file without the flag still refuses.
    with pytest.raises(AMASSError, match="allow_pickle=True"):
        load_amass(amass_world["files"]["smplh"], body_model=pkl)


def test_scipy_sparse_regressor_in_a_trusted_pkl(amass_world, tmp_path):
    """SMPL's .pkl files store J_regressor as a scipy sparse matrix."""
    import scipy.sparse

    arrays = dict(amass_world["arrays"]["SMPL_NEUTRAL.npz"])
    dense = arrays["J_regressor"]
    arrays["J_regressor"] = scipy.sparse.csc_matrix(dense)
    pkl = tmp_path / "SMPL_NEUTRAL.pkl"
    with open(pkl, "wb") as f:
        pickle.dump(arrays, f)
    body = SMPLBody(pkl, "smpl", "neutral", allow_pickle=True)
    np.testing.assert_allclose(body.rest_joints(), (dense @ arrays["v_template"])[:22], atol=1e-12)


def test_motion_file_that_is_a_pickle_is_refused(tmp_path):
    marker = tmp_path / "marker"
    path = tmp_path / "walk_poses.npz"
    with open(path, "wb") as f:
        pickle.dump({"poses": _Payload(marker)}, f)
    with pytest.raises(AMASSError, match=r"walk_poses\.npz: not a readable \.npz file.*pickled"):
        load_amass(path)
    with pytest.raises(AMASSError, match=r"SMPLH_FEMALE\.npz: not a readable \.npz file"):
        SMPLBody(path.rename(tmp_path / "SMPLH_FEMALE.npz"), "smplh", "female")
    assert not marker.exists()
