"""Keypoint layouts, loaders for every file type, and M5's 2D -> 3D percentile mapping."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from hf_motion.keypoints import (
    KEYPOINT_LAYOUTS,
    KeypointError,
    KeypointLayout,
    Keypoints,
    PositionReference,
    get_keypoint_layout,
    keypoints_to_positions,
    load_keypoints,
    reference_position_percentiles,
    register_keypoint_layout,
)

# ------------------------------------------------------------------------------------- layouts


def _reaches_root(layout: KeypointLayout) -> bool:
    for i in range(len(layout)):
        seen, j = set(), i
        while layout.parents[j] != -1:
            if j in seen:
                return False
            seen.add(j)
            j = layout.parents[j]
    return True


@pytest.mark.parametrize("name,size", [("coco17", 17), ("mediapipe33", 33)])
def test_builtin_layouts_are_trees(name, size):
    layout = KEYPOINT_LAYOUTS[name]
    assert len(layout.names) == len(layout.parents) == size == len(set(layout.names))
    assert layout.parents.count(-1) == 1 and _reaches_root(layout)
    assert len(layout.bones) == size - 1

    # Left/right names pair up, and a left keypoint's parent is the mirrored right one's parent.
    def mirror(n):
        return n.replace("left", "@").replace("right", "left").replace("@", "right")

    for i, n in enumerate(layout.names):
        assert mirror(n) in layout.names
        p = layout.parents[i]
        if p >= 0:
            assert layout.names[layout.parents[layout.index(mirror(n))]] == mirror(layout.names[p])


def test_layout_indices_follow_the_published_orders():
    coco = KEYPOINT_LAYOUTS["coco17"]
    # COCO keypoint order (cocodataset.org person_keypoints): spot checks across the list.
    assert [coco.names[i] for i in (0, 1, 4, 5, 10, 11, 16)] == [
        "nose", "left_eye", "right_ear", "left_shoulder", "right_wrist", "left_hip", "right_ankle",
    ]  # fmt: skip
    # The COCO annotation "skeleton" (1-based) has 19 links; every tree bone is one of them.
    coco_skeleton_1based = [[16, 14], [14, 12], [17, 15], [15, 13], [12, 13], [6, 12], [7, 13], [6, 7], [6, 8],
                            [7, 9], [8, 10], [9, 11], [2, 3], [1, 2], [1, 3], [2, 4], [3, 5], [4, 6], [5, 7]]  # fmt: skip
    links = {frozenset((a - 1, b - 1)) for a, b in coco_skeleton_1based}
    assert {frozenset(e) for e in coco.edges} == links
    assert all(frozenset(b) in links for b in coco.bones)
    mp = KEYPOINT_LAYOUTS["mediapipe33"]
    # MediaPipe Pose landmark indices.
    assert [mp.names[i] for i in (0, 7, 9, 11, 12, 15, 22, 23, 24, 29, 32)] == [
        "nose", "left_ear", "mouth_left", "left_shoulder", "right_shoulder", "left_wrist", "right_thumb",
        "left_hip", "right_hip", "left_heel", "right_foot_index",
    ]  # fmt: skip
    assert len(mp.edges) == 35
    # Only the documented links (nose -> shoulders, nose -> mouth corners) are outside MediaPipe's own.
    extra = {frozenset(b) for b in mp.bones} - {frozenset(e) for e in mp.edges}
    assert extra == {frozenset((0, 11)), frozenset((0, 12)), frozenset((0, 9)), frozenset((0, 10))}


def test_bad_layouts():
    with pytest.raises(KeypointError, match="exactly one root"):
        KeypointLayout("two", ["a", "b"], [-1, -1])
    with pytest.raises(KeypointError, match="form a cycle"):
        KeypointLayout("cyc", ["r", "a", "b"], [-1, 2, 1])
    with pytest.raises(KeypointError, match="duplicate keypoint names"):
        KeypointLayout("dup", ["a", "a"], [-1, 0])
    with pytest.raises(KeypointError, match="2 parents for 3 keypoints"):
        KeypointLayout("short", ["a", "b", "c"], [-1, 0])
    with pytest.raises(KeypointError, match="unknown keypoint layout 'nope'"):
        get_keypoint_layout("nope")
    with pytest.raises(ValueError, match="already registered"):
        register_keypoint_layout(KeypointLayout("coco17", ["a"], [-1]))


def test_user_layout():
    arm = KeypointLayout("arm3", ["shoulder", "elbow", "wrist"], [-1, 0, 1])
    data = np.random.default_rng(0).random((5, 3, 2))
    kp = load_keypoints(data, layout=arm, fps=25)
    assert kp.layout is arm and kp.fps == 25 and arm.bones == [(0, 1), (1, 2)]
    np.testing.assert_array_equal(kp.data, data)
    register_keypoint_layout(arm, exist_ok=True)
    assert load_keypoints(data, layout="arm3").layout is arm


# --------------------------------------------------------------------------------------- files
@pytest.fixture
def track():
    rng = np.random.default_rng(7)
    return rng.uniform(0, 640, (6, 17, 2)), rng.uniform(0.2, 1.0, (6, 17))


def test_array_and_last_column_confidence(track):
    data, conf = track
    kp = load_keypoints(np.concatenate([data, conf[..., None]], axis=-1), confidence="last")
    np.testing.assert_array_equal(kp.data, data)
    np.testing.assert_array_equal(kp.confidence, conf)
    assert kp.dims == 2 and kp.fps == 30.0 and kp.num_keypoints == 17
    mp = load_keypoints(np.zeros((4, 33, 4)), layout="mediapipe33", confidence="last")
    assert mp.dims == 3 and mp.confidence.shape == (4, 33)


def test_npy_and_npz(track, tmp_path):
    data, conf = track
    np.save(tmp_path / "k.npy", data)
    np.testing.assert_array_equal(load_keypoints(tmp_path / "k.npy").data, data)
    np.savez(tmp_path / "k.npz", keypoints=data, confidence=conf, fps=np.array(50.0))
    kp = load_keypoints(tmp_path / "k.npz")
    np.testing.assert_array_equal(kp.data, data)
    np.testing.assert_array_equal(kp.confidence, conf)
    assert kp.fps == 50.0 and kp.labels["source"].endswith("k.npz")
    assert load_keypoints(tmp_path / "k.npz", fps=24).fps == 24.0


def test_csv(track, tmp_path):
    data, conf = track
    names = KEYPOINT_LAYOUTS["coco17"].names
    header = ["frame"] + [f"{n}_{c}" for n in names for c in ("x", "y", "confidence")]
    with open(tmp_path / "k.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        for t in range(len(data)):
            w.writerow([t] + [repr(float(v)) for k in range(17) for v in (data[t, k, 0], data[t, k, 1], conf[t, k])])
    kp = load_keypoints(tmp_path / "k.csv")
    np.testing.assert_array_equal(kp.data, data)
    np.testing.assert_array_equal(kp.confidence, conf)
    # 3D columns, columns in another order, no confidence.
    xyz = np.random.default_rng(1).random((3, 17, 3))
    cols = [f"{n}_{c}" for n in names for c in "zyx"]
    with open(tmp_path / "k3.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(cols)
        for t in range(3):
            w.writerow([repr(float(xyz[t, k, "xyz".index(c)])) for k in range(17) for c in "zyx"])
    kp3 = load_keypoints(tmp_path / "k3.csv")
    assert kp3.dims == 3 and kp3.confidence is None
    np.testing.assert_array_equal(kp3.data, xyz)


def test_json(track, tmp_path):
    data, conf = track
    (tmp_path / "k.json").write_text(json.dumps({"keypoints": data.tolist(), "confidence": conf.tolist(), "fps": 60, "layout": "coco17"}))
    kp = load_keypoints(tmp_path / "k.json")
    np.testing.assert_array_equal(kp.data, data)
    np.testing.assert_array_equal(kp.confidence, conf)
    assert kp.fps == 60.0
    (tmp_path / "bare.json").write_text(json.dumps(data.tolist()))
    np.testing.assert_array_equal(load_keypoints(tmp_path / "bare.json").data, data)
    with pytest.raises(KeypointError, match="file says layout 'coco17' but layout 'mediapipe33'"):
        load_keypoints(tmp_path / "k.json", layout="mediapipe33")


def test_resample_keypoints(track):
    data, conf = track
    kp = load_keypoints(data, confidence=conf).resample(60)
    assert kp.num_frames == 11 and kp.fps == 60.0
    np.testing.assert_allclose(kp.data[1], (data[0] + data[1]) / 2)
    np.testing.assert_allclose(kp.confidence[2], conf[1])


# ----------------------------------------------------------------------------------- bad input
def test_wrong_keypoint_count_and_dims(tmp_path):
    with pytest.raises(KeypointError, match="layout 'coco17' expects 17 keypoints, got 15"):
        load_keypoints(np.zeros((4, 15, 2)))
    np.save(tmp_path / "mp.npy", np.zeros((4, 17, 2)))
    with pytest.raises(KeypointError, match=r"mp.npy: layout 'mediapipe33' expects 33 keypoints, got 17"):
        load_keypoints(tmp_path / "mp.npy", layout="mediapipe33")
    with pytest.raises(KeypointError, match=r"shape \(4, 17, 4\); expected \(T, K, 2\) or \(T, K, 3\)"):
        load_keypoints(np.zeros((4, 17, 4)))
    with pytest.raises(KeypointError, match=r"shape \(17, 2\)"):
        load_keypoints(np.zeros((17, 2)))
    with pytest.raises(KeypointError, match=r"confidence has shape \(4, 16\), expected \(4, 17\)"):
        load_keypoints(np.zeros((4, 17, 2)), confidence=np.ones((4, 16)))
    with pytest.raises(KeypointError, match="confidence='last' needs"):
        load_keypoints(np.zeros((4, 17, 2)), confidence="last")


def test_nan_is_named_or_filled(track):
    data, conf = track
    data = data.copy()
    data[3, 9, 1] = np.nan  # frame 3, left_wrist
    with pytest.raises(KeypointError, match=r"keypoint 'left_wrist' is missing .* at frame 3.*fill_missing=True"):
        load_keypoints(data)
    kp = load_keypoints(data, fill_missing=True)
    assert kp.labels["filled"] == 1
    np.testing.assert_allclose(kp.data[3, 9], (data[2, 9] + data[4, 9]) / 2)
    np.testing.assert_array_equal(np.delete(kp.data, 3, axis=0), np.delete(data, 3, axis=0))


def test_low_confidence_fill_and_edges():
    data = np.zeros((5, 17, 2))
    data[:, 0, 0] = [10.0, 20.0, 99.0, 40.0, 99.0]
    conf = np.ones((5, 17))
    conf[[2, 4], 0] = 0.1
    kp = load_keypoints(data, confidence=conf, fill_missing=True, min_confidence=0.5)
    # frame 2 between 20 and 40; the last frame holds the nearest good value.
    np.testing.assert_allclose(kp.data[:, 0, 0], [10, 20, 30, 40, 40])
    with pytest.raises(KeypointError, match="'nose' is missing .* at frame 2"):
        load_keypoints(data, confidence=conf, min_confidence=0.5)
    with pytest.raises(KeypointError, match="min_confidence needs confidences"):
        load_keypoints(data, min_confidence=0.5)
    data[:, 16] = np.nan
    with pytest.raises(KeypointError, match="'right_ankle' is missing in every frame"):
        load_keypoints(data, fill_missing=True)


def test_bad_files(tmp_path):
    names = KEYPOINT_LAYOUTS["coco17"].names
    header = [f"{n}_{c}" for n in names for c in "xy"]
    rows = [["1.0"] * len(header), ["2.0"] * len(header)]
    rows[1][header.index("left_knee_y")] = "abc"
    with open(tmp_path / "bad.csv", "w", newline="") as f:
        csv.writer(f).writerows([header] + rows)
    with pytest.raises(KeypointError, match=r"bad.csv: frame 1 \(line 3\), column 'left_knee_y': not a number: 'abc'"):
        load_keypoints(tmp_path / "bad.csv")
    with open(tmp_path / "cols.csv", "w", newline="") as f:
        csv.writer(f).writerows([header[:-2], rows[0][:-2]])
    with pytest.raises(KeypointError, match=r"cols.csv: missing column\(s\) \['right_ankle_x', 'right_ankle_y'\]"):
        load_keypoints(tmp_path / "cols.csv")
    np.savez(tmp_path / "nokey.npz", points=np.zeros((2, 17, 2)))
    with pytest.raises(KeypointError, match="nokey.npz: missing key 'keypoints'"):
        load_keypoints(tmp_path / "nokey.npz")
    (tmp_path / "k.txt").write_text("1 2")
    with pytest.raises(KeypointError, match=r"unsupported keypoint file type '.txt'"):
        load_keypoints(tmp_path / "k.txt")
    (tmp_path / "broken.json").write_text("{")
    with pytest.raises(KeypointError, match="broken.json: invalid JSON"):
        load_keypoints(tmp_path / "broken.json")
    (tmp_path / "ragged.json").write_text(json.dumps({"keypoints": [[[1, 2]], [[1]]]}))
    with pytest.raises(KeypointError, match="ragged.json: 'keypoints' must be a rectangular"):
        load_keypoints(tmp_path / "ragged.json")
    with pytest.raises(KeypointError, match="does not exist"):
        load_keypoints(tmp_path / "absent.npy")
    with pytest.raises(KeypointError, match="fps must be a positive number"):
        load_keypoints(np.zeros((2, 17, 2)), fps=0)


# ------------------------------------------------------------------------------ 2D -> 3D mapping
def test_percentile_mapping_hand_case():
    single = KeypointLayout("single", ["p"], [-1])
    frames = np.arange(11.0)
    kp = Keypoints(np.stack([frames, 2 * frames], axis=-1)[:, None, :], single)  # u = 0..10, v = 0..20 (down)
    ref = PositionReference(low=[-1, 0, 0.5], high=[1, 4, 1.5], median=[7, 8, 9])
    out = keypoints_to_positions(kp, ref, axes=("y", "z"))
    assert out.shape == (11, 1, 3)
    # u: p10 = 1, p90 = 9 -> y = 0 + (u - 1) * 4 / 8
    np.testing.assert_allclose(out[:, 0, 1], (frames - 1) / 2)
    # -v: 0 .. -20, p10 = -18, p90 = -2 -> z = 0.5 + (-v + 18) / 16; the top of the image is highest
    np.testing.assert_allclose(out[:, 0, 2], 0.5 + (-2 * frames + 18) / 16)
    assert out[0, 0, 2] == pytest.approx(1.625) and out[10, 0, 2] == pytest.approx(0.375)
    np.testing.assert_array_equal(out[:, 0, 0], 7.0)  # depth = the reference median
    # Without the flip the vertical axis keeps the image's direction.
    up = keypoints_to_positions(kp, ref, axes=("y", "z"), flip_vertical=False)
    np.testing.assert_allclose(up[:, 0, 2], 0.5 + (2 * frames - 2) / 16)


def test_reference_percentiles_hand_case():
    values = np.arange(101.0)
    pos = np.stack([values, 2 * values, -values], axis=-1)
    ref = reference_position_percentiles([pos[:50], pos[50:]])
    np.testing.assert_allclose(ref.low, [10, 20, -90])
    np.testing.assert_allclose(ref.high, [90, 180, -10])
    np.testing.assert_allclose(ref.median, [50, 100, -50])
    ref2 = reference_position_percentiles(pos, percentiles=(25, 75))
    np.testing.assert_allclose([ref2.low[0], ref2.high[0]], [25, 75])
    assert ref2.percentiles == (25.0, 75.0)


def _project(positions: np.ndarray) -> np.ndarray:
    """A side camera on Y-up data: drop depth (z), pixels = 400 per metre, image rows grow downwards."""
    return np.stack([320 + 400 * positions[..., 0], 700 - 400 * positions[..., 1]], axis=-1)


def test_real_bandai_round_trip(walk_motion):
    positions = walk_motion.positions()
    out = keypoints_to_positions(_project(positions), positions, axes=("x", "y"))
    # An axis-wise affine projection is undone exactly when the clip is its own reference.
    # (to a micrometre: the reference percentiles are pooled in float32)
    np.testing.assert_allclose(out[..., :2], positions[..., :2], rtol=0, atol=1e-6)
    np.testing.assert_allclose(out[..., 2], np.median(positions[..., 2]))
    for axis in (0, 1):
        np.testing.assert_allclose(np.percentile(out[..., axis], [10, 90]), np.percentile(positions[..., axis], [10, 90]), atol=1e-6)


def test_real_bandai_other_clips_as_reference(bandai_motions):
    walk = bandai_motions[0].positions()
    corpus = [m.positions() for m in bandai_motions[1:]]
    ref = reference_position_percentiles(corpus)
    out = keypoints_to_positions(_project(walk), ref, axes=("x", "y"))
    pooled = np.concatenate([p.reshape(-1, 3) for p in corpus])
    for axis in (0, 1):
        # float32 pooling inside the reference: micrometre agreement
        np.testing.assert_allclose(np.percentile(out[..., axis], [10, 90]), np.percentile(pooled[:, axis], [10, 90]), atol=1e-5)
    # Head above feet after the flip.
    assert (out[:, 5, 1] > out[:, 16, 1]).all()  # joint 5 = Head, 16 = Foot_L on the Bandai skeleton


def test_mapping_errors(walk_motion):
    ref = PositionReference([0, 0, 0], [1, 1, 1], [0, 0, 0])
    with pytest.raises(KeypointError, match=r"expects 2D keypoints.*already positions"):
        keypoints_to_positions(np.zeros((3, 17, 3)), ref)
    with pytest.raises(KeypointError, match="no spread"):
        keypoints_to_positions(np.ones((3, 17, 2)), ref)
    with pytest.raises(KeypointError, match=r"computed at percentiles \(10.0, 90.0\)"):
        keypoints_to_positions(np.random.default_rng(0).random((3, 17, 2)), ref, percentiles=(5, 95))
    with pytest.raises(KeypointError, match="axes must be two different"):
        keypoints_to_positions(np.random.default_rng(0).random((3, 17, 2)), ref, axes=("y", "y"))
    bad = np.random.default_rng(0).random((3, 17, 2))
    bad[1, 4] = np.nan
    kp = Keypoints(bad, "coco17")
    with pytest.raises(KeypointError, match="keypoint 'right_ear' is not finite at frame 1"):
        keypoints_to_positions(kp, ref)
    with pytest.raises(KeypointError, match="percentiles must satisfy"):
        reference_position_percentiles(walk_motion.positions(), (90, 10))
    with pytest.raises(KeypointError, match=r"shape \(4, 2\); expected \(\.\.\., 3\)"):
        reference_position_percentiles([np.zeros((4, 2))])


def test_files_needing_pickle_are_refused(tmp_path):
    marker = tmp_path / "marker"

    class Payload:
        def __reduce__(self):
            return (exec, (f"open({str(marker)!r}, 'w').write('pwned')",))

    np.save(tmp_path / "obj.npy", np.array([Payload()], dtype=object), allow_pickle=True)
    with pytest.raises(KeypointError, match=r"obj\.npy: cannot be read without pickle.*arbitrary code"):
        load_keypoints(tmp_path / "obj.npy")
    np.savez(tmp_path / "obj.npz", keypoints=np.zeros((2, 17, 2)), confidence=np.array([Payload()], dtype=object))
    with pytest.raises(KeypointError, match=r"obj\.npz: key 'confidence' cannot be read without pickle"):
        load_keypoints(tmp_path / "obj.npz")
    assert not marker.exists()


@pytest.mark.parametrize(
    "fps, message",
    [
        (np.array([30.0, 60.0]), "'fps' must be one number"),
        (np.array("fast"), "'fps' must be one number"),
        (np.array(1e-300), "the file's fps 1e-300 is outside"),
    ],
)
def test_bad_frame_rate_in_a_file(tmp_path, fps, message):
    np.savez(tmp_path / "r.npz", keypoints=np.zeros((2, 17, 2)), fps=fps)
    with pytest.raises(KeypointError, match=rf"r\.npz: {message}"):
        load_keypoints(tmp_path / "r.npz")


def test_frame_rate_range(tmp_path):
    (tmp_path / "r.json").write_text(json.dumps({"keypoints": np.zeros((2, 17, 2)).tolist(), "fps": "30"}))
    with pytest.raises(KeypointError, match=r"r\.json: 'fps' must be one number"):
        load_keypoints(tmp_path / "r.json")
    with pytest.raises(KeypointError, match=r"keypoint array: the given fps 20000 is outside the supported"):
        load_keypoints(np.zeros((2, 17, 2)), fps=20000)
    assert load_keypoints(np.zeros((2, 17, 2)), fps=10000).fps == 10000.0
