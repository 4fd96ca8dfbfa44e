"""Kinematic features (hand-made trajectories and real Bandai clips) and the random-forest
kinematic baseline (hf_motion.baselines.kinematic via its script) end to end on a small real subset."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from hf_motion.datasets.selection import ClipSelectionArguments, select_clips
from hf_motion.errors import MotionDatasetError
from hf_motion.features import DEFAULT_BANDS_HZ, FeatureError, clip_features, feature_matrix, kinematic_features
from hf_motion.scripts import baseline_kinematic as script

from conftest import REPO

FPS = 30.0


def _features(positions, fps=FPS, names=("root", "hand"), **kw):
    values, labels = kinematic_features(positions, fps, list(names), **kw)
    assert len(values) == len(labels) == len(set(labels))
    return dict(zip(labels, values))


@pytest.mark.parametrize("freq, band", [(1.0, (0.5, 1.5)), (2.5, (1.5, 3.0)), (5.0, (3.0, 7.0)), (9.0, (7.0, 12.0))])
def test_sine_puts_its_power_in_its_band(freq, band):
    amplitude = 0.05
    t = np.arange(600) / FPS
    p = np.zeros((t.size, 2, 3))
    p[:, 1, 2] = 0.3 + amplitude * np.sin(2 * np.pi * freq * t)  # hand moves along z relative to a still root
    f = _features(p)
    name = f"bandpower_{band[0]:g}-{band[1]:g}Hz/hand"
    # Parseval: a sine of amplitude A carries variance A^2/2, all of it at one frequency.
    assert f[name] == pytest.approx(amplitude**2 / 2, rel=0.02)
    others = [f[f"bandpower_{lo:g}-{hi:g}Hz/hand"] for lo, hi in DEFAULT_BANDS_HZ if (lo, hi) != band]
    assert max(others) < 0.01 * f[name]
    assert f["bandpower_0.5-1.5Hz/root"] == 0.0


def test_constant_velocity_gives_zero_acceleration_and_jerk():
    velocity = np.array([0.3, 0.0, -0.4])  # 0.5 m/s
    t = np.arange(90) / FPS
    p = np.zeros((t.size, 2, 3))
    p[:, 0] = t[:, None] * velocity
    p[:, 1] = p[:, 0] + np.array([0.0, 1.0, 0.2])  # the hand is carried along rigidly
    f = _features(p)
    for joint in ("root", "hand"):
        for stat in ("mean", "std", "p10", "p50", "p90"):
            expected = 0.0 if stat == "std" else 0.5
            assert f[f"speed_{stat}/{joint}"] == pytest.approx(expected, abs=1e-9)
            assert f[f"acceleration_{stat}/{joint}"] == pytest.approx(0.0, abs=1e-8)
            assert f[f"jerk_{stat}/{joint}"] == pytest.approx(0.0, abs=1e-6)
    # Range of motion: the root covers 89 frames at 0.5 m/s; the hand does not move relative to it.
    assert f["rom_x/root"] == pytest.approx(0.3 * 89 / FPS)
    assert f["rom_z/root"] == pytest.approx(0.4 * 89 / FPS)
    assert f["rom_x/hand"] == pytest.approx(0.0, abs=1e-12) and f["rom_y/hand"] == pytest.approx(0.0, abs=1e-12)


def test_constant_acceleration_and_range_of_motion_by_hand():
    accel = 2.0
    t = np.arange(60) / FPS
    p = np.zeros((t.size, 2, 2))  # 2-D keypoints work the same
    p[:, 1, 0] = 0.5 * accel * t**2
    p[:, 1, 1] = np.where(np.arange(t.size) % 2 == 0, 0.1, -0.1)  # zig-zag: range 0.2
    f = _features(p)
    assert "rom_z/hand" not in f
    # Second differences of a parabola are exact: |a| = sqrt(accel^2 + zig-zag part); check x alone.
    q = p.copy()
    q[:, 1, 1] = 0.0
    g = _features(q)
    assert g["acceleration_mean/hand"] == pytest.approx(accel, rel=1e-6)
    assert g["jerk_p90/hand"] == pytest.approx(0.0, abs=1e-5)
    assert f["rom_y/hand"] == pytest.approx(0.2)
    assert f["rom_x/hand"] == pytest.approx(0.5 * accel * t[-1] ** 2)


@pytest.mark.parametrize(
    "positions, kwargs, message",
    [
        (np.zeros((3, 2, 3)), {}, "walk_07: 3 frames; kinematic features need at least 4"),
        (np.zeros((10, 2)), {}, r"walk_07: positions must be \(frames, joints, 2 or 3\)"),
        (np.zeros((10, 2, 3)), {"bands_hz": [(16.0, 20.0)]}, "starts above the Nyquist frequency 15 Hz"),
        (np.zeros((10, 2, 3)), {"bands_hz": [(3.0, 1.0)]}, "need 0 <= low < high"),
    ],
)
def test_bad_input_is_named(positions, kwargs, message):
    with pytest.raises(FeatureError, match=message):
        kinematic_features(positions, FPS, ["root", "hand"], source="walk_07", **kwargs)


def test_non_finite_position_names_frame_and_joint():
    p = np.zeros((10, 2, 3))
    p[6, 1, 0] = np.nan
    with pytest.raises(FeatureError, match="walk_07: non-finite position at frame 6, joint 'hand'"):
        kinematic_features(p, FPS, ["root", "hand"], source="walk_07")


def test_short_clip_still_gets_band_power():
    # 20 frames (a Bandai "dash" is this short): the 1.5 Hz resolution is shared between bands.
    t = np.arange(20) / FPS
    p = np.zeros((t.size, 2, 3))
    p[:, 1, 0] = 0.1 * np.sin(2 * np.pi * 4.5 * t)
    f = _features(p)
    powers = np.array([f[f"bandpower_{lo:g}-{hi:g}Hz/hand"] for lo, hi in DEFAULT_BANDS_HZ])
    assert np.all(np.isfinite(powers)) and np.argmax(powers) == 2  # 4.5 Hz lies in 3-7 Hz


def test_real_walk_features(walk_motion):
    values, names = clip_features(walk_motion)
    J = walk_motion.num_joints
    assert len(names) == J * (3 * 5 + 3 + len(DEFAULT_BANDS_HZ)) and np.all(np.isfinite(values))
    f = dict(zip(names, values))
    # The root joint's position is its translation: its mean speed needs no forward kinematics.
    root = walk_motion.skeleton.names[0]
    step = np.linalg.norm(np.diff(walk_motion.root_translation, axis=0), axis=1) * walk_motion.fps
    assert f[f"speed_mean/{root}"] == pytest.approx(step.mean(), rel=1e-9)
    assert f[f"rom_y/{root}"] == pytest.approx(np.ptp(walk_motion.root_translation[:, 1]), rel=1e-9)
    # Walking: feet swing at the step rhythm (about 1-3 Hz), not at tremor frequencies.
    for foot in ("Foot_L", "Foot_R"):
        gait = f[f"bandpower_0.5-1.5Hz/{foot}"] + f[f"bandpower_1.5-3Hz/{foot}"]
        assert gait > 20 * f[f"bandpower_7-12Hz/{foot}"]
    assert f["speed_mean/Foot_L"] > f["speed_mean/Head"] * 0.5


def test_feature_matrix_on_real_clips(bandai_motions):
    X, names = feature_matrix(bandai_motions, joints="bandai-core", progress=False)
    assert X.shape == (len(bandai_motions), 17 * (3 * 5 + 3 + len(DEFAULT_BANDS_HZ)))
    assert names[0].endswith("/Hips") and np.all(np.isfinite(X))
    first, _ = clip_features(bandai_motions[1], joints="bandai-core")
    np.testing.assert_array_equal(X[1], first)
    with pytest.raises(FeatureError, match="features differ"):
        feature_matrix([bandai_motions[0], bandai_motions[1].select_joints(["Hips", "Spine", "Head"])], progress=False)


# ------------------------------------------------------------------ the baseline run
def run(argv):
    """The baseline script's main on parsed argv (library errors propagate); returns the summary."""
    args, inline = script.make_parser().parse_with_tasks(argv)
    return script.main(*args, inline_tasks=inline).summary


def _read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


SUBSET = ["--where", "style=normal,old,tired,happy", "content=walk,run,dash,bow,bye,guide"]


def test_baseline_recipe_end_to_end_on_real_clips(tmp_path):
    from hf_motion.cv import CrossValidationWarning

    out = tmp_path / "rf"
    with pytest.warns(CrossValidationWarning, match="groups have a single clip"):  # most Bandai sessions: one take
        summary = run(
            [
                "--config",
                str(REPO / "recipes" / "baseline_kinematic.yaml"),
                *SUBSET,
                "--n_splits",
                "3",
                "--n_estimators",
                "25",
                "--output_dir",
                str(out),
                "--progress",
                "false",
            ]  # fmt: skip
        )
    assert {p.name for p in out.iterdir()} == {
        "folds.csv", "metrics_per_fold.csv", "summary.json", "summary.md",
        "predictions_style.csv", "predictions_content.csv", "predictions_tired_vs_normal.csv",
    }  # fmt: skip
    assert json.loads((out / "summary.json").read_text())["tasks"].keys() == summary["tasks"].keys()

    folds = _read_csv(out / "folds.csv")
    assert len(folds) == summary["n_clips"] and 20 <= summary["n_clips"] <= 40
    fold_of_group: dict[str, set] = {}
    for row in folds:
        assert row["clip"].split("_")[2] in {"normal", "old", "tired", "happy"}
        fold_of_group.setdefault(row["group"], set()).add(row["fold"])
    assert all(len(f) == 1 for f in fold_of_group.values())  # no group in two folds
    assert {row["fold"] for row in folds} == {"0", "1", "2"}

    per_fold = _read_csv(out / "metrics_per_fold.csv")
    for task, t in summary["tasks"].items():
        rows = [r for r in per_fold if r["task"] == task and not r["skipped"]]
        assert len(rows) == 3 == t["metrics"][next(iter(t["metrics"]))]["n_folds"]
        for metric, s in t["metrics"].items():
            vals = np.array([float(r[metric]) for r in rows if r[metric] not in ("", "nan")])
            assert s["mean"] == pytest.approx(vals.mean(), abs=1e-5) and s["std"] == pytest.approx(vals.std(), abs=1e-5)
        # every clip of the task is predicted once, in the fold folds.csv gives it
        preds = _read_csv(out / f"predictions_{task}.csv")
        assert len(preds) == t["n_clips"] == len({p["clip"] for p in preds})
        fold_of = {r["clip"]: r["fold"] for r in folds}
        assert all(fold_of[p["clip"]] == p["fold"] for p in preds)
        pooled = np.mean([p["y_true"] == p["y_pred"] for p in preds])
        assert t["pooled"]["accuracy"] == pytest.approx(pooled)
    binary = _read_csv(out / "predictions_tired_vs_normal.csv")
    assert all(p["y_true"] == ("1" if p["clip"].split("_")[2] in ("old", "tired") else "0") for p in binary)
    assert "| tired_vs_normal | binary |" in (out / "summary.md").read_text()


def test_baseline_recipe_rejects_a_task_missing_from_the_data(tmp_path):
    tasks = tmp_path / "tasks.yaml"
    tasks.write_text("tasks:\n  - {name: updrs, kind: regression}\n")
    from hf_motion.cv import CrossValidationError

    with pytest.raises(CrossValidationError, match=r"task 'updrs' uses label column 'updrs', which no clip has; available columns: \["):
        run([*SUBSET, "--tasks", str(tasks), "--output_dir", str(tmp_path / "x"), "--progress", "false"])
    assert not (tmp_path / "x").exists()  # failed before writing anything


def test_baseline_recipe_config_errors(tmp_path):
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text("n_splits: 3\nnumber_of_trees: 5\n")
    with pytest.raises(SystemExit, match=r"unknown option\(s\) \['number_of_trees'\]"):
        run(["--config", str(cfg)])
    with pytest.raises(MotionDatasetError, match="--where 'style': expected column=value1,value2"):
        run(["--where", "style", "--output_dir", str(tmp_path / "y")])
    with pytest.raises(MotionDatasetError, match="no clip has a 'mood' label"):
        run(["--where", "mood=sad", "--output_dir", str(tmp_path / "y")])


def test_baseline_recipe_on_any_labelled_folder(tmp_path, bandai_paths):
    """A plain folder + a label CSV with a patient column and a regression score: the clinical layout."""
    folder = tmp_path / "clinic"
    folder.mkdir()
    rows = ["clip,patient,score,tremor"]
    names = sorted(p.name for p in bandai_paths[0].parent.glob("dataset-1_walk_*_00*.bvh"))[:12]
    for i, name in enumerate(names):
        (folder / name).symlink_to(bandai_paths[0].parent / name)  # read in place, never copied
        rows.append(f"{name[:-4]},p{i // 2},{i % 5 * 1.5},{i % 2}")
    (folder / "labels.csv").write_text("\n".join(rows) + "\n")
    tasks = tmp_path / "tasks.yaml"
    tasks.write_text("tasks:\n  - {name: score, kind: regression}\n  - {name: tremor, kind: binary}\n")
    out = tmp_path / "rf"
    summary = run(
        [
            "--data",
            str(folder),
            "--labels",
            str(folder / "labels.csv"),
            "--group_by",
            "patient",
            "--tasks",
            str(tasks),
            "--cv_scheme",
            "logo",
            "--n_estimators",
            "10",
            "--output_dir",
            str(out),
            "--progress",
            "false",
            "--single_class_folds",
            "skip",
        ]  # fmt: skip
    )
    assert summary["n_clips"] == 12 and summary["n_groups"] == 6 and summary["cv"]["n_folds"] == 6
    folds = _read_csv(out / "folds.csv")
    for patient in {r["group"] for r in folds}:
        assert len({r["fold"] for r in folds if r["group"] == patient}) == 1
    preds = _read_csv(out / "predictions_score.csv")
    truth = {line.split(",")[0]: float(line.split(",")[2]) for line in rows[1:]}
    assert len(preds) == 12 and all(float(p["y_true"]) == truth[p["clip"]] for p in preds)
    rmse = np.sqrt(np.mean([(float(p["y_true"]) - float(p["y_pred"])) ** 2 for p in preds]))
    assert summary["tasks"]["score"]["pooled"]["rmse"] == pytest.approx(rmse, rel=1e-4)
    # Each patient has one clip of each tremor class, so every LOGO test fold holds both classes.
    assert summary["tasks"]["tremor"]["metrics"]["auc"]["n_folds"] == 6


def test_max_clips_keeps_whole_groups():
    full = select_clips(ClipSelectionArguments(), seed=0)
    sub = select_clips(ClipSelectionArguments(max_clips=10), seed=0)
    assert 10 <= len(sub) < len(full)
    kept = {c.group for c in sub}
    assert sorted(c.clip_id for c in full if c.group in kept) == sorted(c.clip_id for c in sub)
    other = select_clips(ClipSelectionArguments(max_clips=10), seed=1)
    assert {c.group for c in other} != kept
