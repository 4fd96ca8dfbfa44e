"""The prediction benchmark (hf_motion.prediction_benchmark.evaluate_prediction, its command line
hf_motion.scripts.evaluate_prediction, the baselines of hf_motion.baselines.prediction) on a tiny
model pretrained for a few steps on real Bandai clips: the benchmark runs end to end, its baselines behave, the quantized oracle stays within its
hand-derived bound, the evaluated takes never were in the training split (nor in the continuous
baselines' training windows), and --baselines_only, --test_data, --horizons and --joints work."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from hf_motion import prediction_benchmark as bench
from hf_motion.baselines import prediction as baselines
from hf_motion.processing import prepare_motion
from hf_motion.scripts import evaluate_prediction as script
from hf_motion.scripts.pretrain import cli as pretrain_cli

from conftest import BANDAI1

REPO = Path(__file__).resolve().parents[1]
# Twelve real clips with motion in them (locomotion, kicks, punches; one take per session): the
# first clips of the dataset are all bows, where a still actor barely moves in 100 ms. Given as
# files, each clip is its own group.
CLIPS = [
    "walk_normal_001", "walk-back_giant_001", "walk-left_normal_001", "walk-right_normal_001", "kick_normal_001",
    "punch_normal_001", "slash_normal_001", "run_childish_001", "walk_proud_001", "walk-back_active_001",
    "walk-left_happy_001", "walk-right_sad_001",
]  # fmt: skip
SOURCES = [str(BANDAI1 / f"dataset-1_{name}.bvh") for name in CLIPS]


def _argv(**kw) -> list[str]:
    argv = []
    for k, v in kw.items():
        argv += [f"--{k}"] + ([str(x) for x in v] if isinstance(v, (list, tuple)) else [str(v)])
    return argv


def _run(**kw) -> bench.PredictionBenchmarkResult:
    """The library function, on the options the command line would give it."""
    return bench.evaluate_prediction(*script.make_parser().parse(_argv(**kw)))


def _evaluate(**kw) -> dict:
    return _run(**kw).to_dict()


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny model pretrained for a few steps (hf_motion.scripts.pretrain) on the 12 real clips."""
    root = tmp_path_factory.mktemp("prediction")
    out, cache = root / "model", root / "cache"
    summary = pretrain_cli(_argv(
        output_dir=out, cache_dir=cache, sources=SOURCES, window=24, stride=12, fps=10, context_length=512,
        n_positions=1536, max_steps=4, per_device_train_batch_size=4, learning_rate=3e-3, warmup_steps=0,
        logging_steps=1, eval_steps=100, save_steps=100, num_proc=1, disable_tqdm=True, seed=7,
    ))  # fmt: skip
    return {"dir": out, "cache": cache, "summary": summary}


# Continuous baselines at test size: a short siMLPe run.
FAST = dict(mlp_steps=60, progress=False)
CONTINUOUS = ["ridge regression", "siMLPe (DCT + MLP)"]


@pytest.fixture(scope="module")
def result(trained):
    return _run(
        model=trained["dir"], cache_dir=trained["cache"], max_windows=10, batch_size=10,
        output_dir=trained["dir"] / "prediction", **FAST,
    )  # fmt: skip


@pytest.fixture(scope="module")
def report(result):
    return result.to_dict()


def _reference_motion(clip_id: str, fps: float, joints: str):
    """The clip read again straight from disk (not through the benchmark)."""
    import hf_motion

    m = hf_motion.load_bvh(BANDAI1 / f"{clip_id}.bvh")
    return hf_motion.resample_motion(m, fps).select_joints(joints)


# ------------------------------------------------------------------ end to end
def test_writes_table_json_and_png(report, trained):
    out = trained["dir"] / "prediction"
    table = (out / "prediction.md").read_text()
    rows = [line for line in table.splitlines() if line.startswith("| ") and not line.startswith("| method")]
    names = [r.split("|")[1].strip() for r in rows]
    assert names[1:] == ["zero-velocity", "constant-velocity", *CONTINUOUS, "quantized oracle"]
    assert names[0] == report["model_name"] and "tiny" in report["model_name"]
    for name, row in zip(names, rows):
        train_s, *cells = [c.strip() for c in row.split("|")[2:-1]]
        assert len(cells) == 16 and all(math.isfinite(float(c)) for c in cells)  # 4 metrics x 4 horizons
        # training time: the model's from its pretraining summary, the continuous baselines' measured here
        if name in CONTINUOUS:
            assert float(train_s) == pytest.approx(report["train_seconds"][name], abs=0.05) and float(train_s) > 0
        elif name == report["model_name"]:
            assert float(train_s) == pytest.approx(trained["summary"]["train_runtime_s"], abs=0.05)
        else:
            assert train_s == "-"

    saved = json.loads((out / "prediction.json").read_text())
    assert saved["horizons_ms"] == [100, 200, 300, 400] and saved["horizons_frames"] == [1, 2, 3, 4]
    assert list(saved["results"]) == names
    assert saved["context_frames"] == 20 and saved["predicted_frames"] == 4  # 2 s and 400 ms at 10 fps
    assert len(saved["windows"]) == 10
    for method in saved["results"].values():
        assert set(method) == {"euler_rmse", "joint_angle", "positional_mse", "pck_auc"}
        for metric in method.values():
            assert set(metric["at_horizons"]) == {"100", "200", "300", "400"}
            assert len(metric["per_frame_mean"]) == 4
            # the value at 100 ms is the mean of the first predicted frame
            assert metric["at_horizons"]["100"] == pytest.approx(metric["per_frame_mean"][0])

    for name in CONTINUOUS:
        info = saved["continuous_baselines"]["methods"][name]
        assert info["fit_seconds"] == saved["train_seconds"][name] and info["train_windows"] > 100
    png = (out / "prediction.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    import matplotlib.image

    image = matplotlib.image.imread(out / "prediction.png")
    assert image.shape[0] > 400 and image.shape[1] > 600
    assert image[..., :3].std() > 0.05  # not a blank canvas


def test_the_result_is_what_the_files_hold(result, report, trained):
    """The typed result: to_dict() is prediction.json, to_markdown() prediction.md; the command line
    prints that table and the must-hold verdict, and turns a bad option into one error line."""
    out = trained["dir"] / "prediction"
    assert isinstance(result, bench.PredictionBenchmarkResult) and result.output_dir == str(out)
    assert json.loads(json.dumps(report)) == json.loads((out / "prediction.json").read_text())
    assert result.to_markdown() == (out / "prediction.md").read_text()
    assert result.model_name == report["model_name"] and result.results is report["results"]
    assert result.verdict() == bench.baseline_verdict(report["results"], result.model_name, ["100", "200", "300", "400"])
    assert result.verdict().startswith(f"must-hold: {result.model_name} beats zero-velocity and constant-velocity")
    with pytest.raises(SystemExit, match="^error: --max_windows must be >= 1, got 0$"):
        script.cli(_argv(model=trained["dir"], max_windows=0))


def test_zero_velocity_is_worse_than_the_quantized_oracle_at_100ms(report):
    zero, oracle = report["results"]["zero-velocity"], report["results"]["quantized oracle"]
    for key in ("euler_rmse", "joint_angle", "positional_mse"):
        assert zero[key]["at_horizons"]["100"] > oracle[key]["at_horizons"]["100"], key
    assert zero["pck_auc"]["at_horizons"]["100"] < oracle["pck_auc"]["at_horizons"]["100"]
    # Real motion moves: zero-velocity error grows with the horizon.
    z = zero["joint_angle"]["per_frame_mean"]
    assert z[3] > z[0]


def test_quantized_oracle_stays_within_the_quantization_bound(report):
    """Bounds derived by hand from the bin width d of the angle quantizer:

    * each axis-angle component moves by at most d/2, so each joint rotation by at most
      eps = sqrt(3) d / 2 (exp is distance non-increasing on SO(3)); the joint-angle error summed
      over J joints is at most J * eps;
    * a global rotation at tree depth k moves by at most k * eps, and a bone vector b rotated by
      an angle t moves by at most t |b|, so joint j moves by at most
      B_j = sum over the bones c on its chain of depth(parent of c) * eps * |b_c|;
      positional MSE <= mean_j B_j**2, and PCK AUC >= the share of (joint, threshold) with B_j <= threshold.
    """
    d = report["angle_bin_width_rad"]
    eps = math.sqrt(3) * d / 2
    J = report["num_joints"]
    oracle = report["results"]["quantized oracle"]
    assert report["arguments"]["joint_reduction"] == "sum"
    for h in ("100", "200", "300", "400"):
        assert 0 < oracle["joint_angle"]["at_horizons"][h] <= J * eps

    fps, C = report["fps"], report["context_frames"]
    joints = report["dataset_config"]["joints"]
    thresholds = np.linspace(0.01, 0.20, 20)
    mse_bounds, auc_bounds = [], []
    motions = {}
    for w in report["windows"]:
        m = motions.setdefault(w["clip"], _reference_motion(w["clip"], fps, joints))
        bones = m.translations()[w["start_frame"] + C - 1]
        parents = m.skeleton.parents
        depth = np.zeros(J, int)
        move = np.zeros(J)
        for j in range(J):
            p = parents[j]
            depth[j] = 1 if p < 0 else depth[p] + 1
            move[j] = 0.0 if p < 0 else move[p] + depth[p] * eps * np.linalg.norm(bones[j])
        mse_bounds.append(np.mean(move**2))
        auc_bounds.append(np.mean(move[:, None] <= thresholds))
    for h in ("100", "200", "300", "400"):
        assert 0 < oracle["positional_mse"]["at_horizons"][h] <= np.mean(mse_bounds)
        assert oracle["pck_auc"]["at_horizons"][h] >= np.mean(auc_bounds)
    assert oracle["positional_mse"]["at_horizons"]["100"] < 1e-3  # under 3 cm RMS: small


def test_evaluated_takes_are_disjoint_from_the_training_split(report, trained):
    """The pretraining run's own train/validation splits (rebuilt with its config) hold none of
    the evaluated groups."""
    from transformers import AutoTokenizer

    from hf_motion.datasets import MotionDatasetBuilder, MotionDatasetConfig, as_collection

    tok = AutoTokenizer.from_pretrained(trained["dir"])
    config = MotionDatasetConfig.from_dict(trained["summary"]["dataset"])
    assert config.context_length == 512  # the packed dataset the model trained on
    assert trained["summary"]["sources"] == SOURCES
    collection = as_collection(SOURCES)
    ds = MotionDatasetBuilder(config, tok).build(collection, num_proc=1, cache_dir=trained["cache"], progress=False).dataset
    trained_on = {g for row in ds["train"]["groups"] for g in row}
    validated_on = {g for row in ds["validation"]["groups"] for g in row}
    group_of = {c.clip_id: c.group for c in collection}
    evaluated = {group_of[w["clip"]] for w in report["windows"]}
    assert evaluated and trained_on
    assert not evaluated & trained_on
    assert not evaluated & validated_on
    assert set(report["held_out_groups"]) >= evaluated
    # The continuous baselines were fitted on windows of exactly the training split's clips.
    cont = report["continuous_baselines"]
    assert set(cont["train_groups"]) == trained_on
    assert set(cont["train_clips"]) == {c.clip_id for c in collection if c.group in trained_on}
    assert not {group_of[c] for c in cont["train_clips"]} & evaluated
    assert cont["evaluated_clips_in_training_split"] == []
    # every window of every training clip (stride 1)
    motions = [_reference_motion(c, 10.0, "bandai-core") for c in cont["train_clips"]]
    assert cont["train_windows"] == sum(max(0, m.num_frames - 23) for m in motions)


def test_continuous_baselines_are_fitted(report):
    """Fitted on the fixture's few training clips, the ridge regression (penalty by cross-validation)
    already beats repeating the last frame on the held-out windows; the 60-step siMLPe has moved
    away from its zero-velocity start (tests/test_continuous_baselines.py checks that it learns).
    Neither is an oracle."""
    res = report["results"]
    zero, oracle = res["zero-velocity"], res["quantized oracle"]
    for key in ("joint_angle", "positional_mse"):
        for h in ("100", "400"):
            assert res["ridge regression"][key]["at_horizons"][h] < zero[key]["at_horizons"][h], (key, h)
    for name in CONTINUOUS:
        for key in ("joint_angle", "positional_mse"):
            assert res[name][key]["at_horizons"]["100"] > oracle[key]["at_horizons"]["100"], (name, key)
    assert res["siMLPe (DCT + MLP)"]["joint_angle"]["per_frame_mean"] != zero["joint_angle"]["per_frame_mean"]
    loss = report["continuous_baselines"]["methods"]["siMLPe (DCT + MLP)"]["loss_history"]
    assert loss[-1] < loss[0]


def test_baselines_only_needs_no_model_and_reproduces_the_baselines(trained, report, tmp_path):
    """Without the model, the same split, windows and (seeded) baseline numbers."""
    alone = _evaluate(
        model=trained["dir"], cache_dir=trained["cache"], max_windows=10, output_dir=tmp_path, baselines_only=True, **FAST,
    )  # fmt: skip
    assert alone["model_name"] is None and alone["parameters"] is None
    assert list(alone["results"]) == ["zero-velocity", "constant-velocity", *CONTINUOUS, "quantized oracle"]
    assert alone["windows"] == report["windows"]
    for method in alone["results"]:
        assert alone["results"][method] == report["results"][method], method
    assert "| zero-velocity | - |" in (tmp_path / "prediction.md").read_text()


class CopyFrameBack:
    """A logits processor that only allows the token one frame back: the model then repeats the
    last context frame, i.e. predicts zero velocity through the whole predict pipeline (absolute coding)."""

    def __init__(self, frame_tokens: int):
        self.frame_tokens = frame_tokens

    def __call__(self, input_ids, scores):
        keep = input_ids[:, -self.frame_tokens]
        out = torch.full_like(scores, float("-inf"))
        out[torch.arange(len(keep)), keep] = 0.0
        return out


class NoChange:
    """Delta coding's zero velocity: favour the "no change" symbol of both kinds (the constraint
    still applies after it, so separators and eos come where they must)."""

    def __init__(self, tok):
        self.ids = [int(tok.delta_token_ids(k)[tok.max_steps[k]]) for k in ("angle", "position")]

    def __call__(self, input_ids, scores):
        scores = scores.clone()
        scores[:, self.ids] += 1e4
        return scores


def test_model_predictions_line_up_with_the_future(trained, bandai_paths):
    """Forced to copy the last context frame, the model's row must equal the zero-velocity
    baseline quantized by the tokenizer: context, prediction and truth are aligned frame by frame."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    import hf_motion

    tok = AutoTokenizer.from_pretrained(trained["dir"])
    model = AutoModelForCausalLM.from_pretrained(trained["dir"]).eval()
    motions = {p.stem: prepare_motion(hf_motion.load_bvh(p), 10.0, "bandai-core") for p in bandai_paths[:3]}
    windows = bench.draw_windows(motions, 20, 4, 4, max_windows=6, seed=1)
    J = windows.future.shape[2]
    # The default pretraining tokenizer is delta-coded: "no change" tokens repeat the last frame.
    forced = NoChange(tok) if tok.coding == "delta" else CopyFrameBack(J * 3 + 1)
    pred = bench.predict_windows(model, tok, windows, 4, 10.0, 4, False, logits_processor=[forced])
    # The last context frame through the tokenizer (its angle reference, fitted by pretraining, included).
    last = windows.past[:, -1]
    rt = tok.decode_motion(tok.encode_motion(angles=last, task=">")).angles
    expected = np.repeat(rt[:, None], 4, axis=1)
    np.testing.assert_allclose(pred, expected, atol=1e-9)
    # Anchored (the benchmark's default): exactly the last context frame, i.e. zero velocity.
    anchored = bench.predict_windows(model, tok, windows, 4, 10.0, 4, False, logits_processor=[forced], anchor=True)
    from hf_motion.rotations import geodesic_angle

    assert geodesic_angle(anchored, np.repeat(last[:, None], 4, axis=1)).max() < 1e-9
    # ... and it is no prediction of the true future (which moves).
    assert np.abs(pred - windows.future).max() > 0.05


# ------------------------------------------------------------------ windows and baselines
def test_window_draw_is_seeded_and_capped(bandai_paths):
    import hf_motion

    motions = {p.stem: hf_motion.load_bvh(p).slice(0, 90) for p in bandai_paths}  # 30 fps, at most 3 s each
    a = bench.draw_windows(motions, 20, 4, 2, max_windows=15, seed=3)
    b = bench.draw_windows(motions, 20, 4, 2, max_windows=15, seed=3)
    c = bench.draw_windows(motions, 20, 4, 2, max_windows=15, seed=4)
    assert len(a.clip) == 15
    assert list(zip(a.clip, a.start)) == list(zip(b.clip, b.start))
    assert list(zip(a.clip, a.start)) != list(zip(c.clip, c.start))
    everything = bench.draw_windows(motions, 20, 4, 2, max_windows=10_000, seed=0)
    assert len(everything.clip) == sum((m.num_frames - 24) // 2 + 1 for m in motions.values())
    # Context and future are the clip's own frames, back to back.
    k = 7
    m = motions[a.clip[k]]
    s = int(a.start[k])
    np.testing.assert_array_equal(a.contexts[k].rotations, m.rotations[s : s + 20])
    np.testing.assert_array_equal(a.future[k], m.rotations[s + 20 : s + 24])
    np.testing.assert_array_equal(a.past[k], m.rotations[s + 18 : s + 20])
    assert np.all(a.bones[:, 0] == 0)  # root-relative


def test_no_window_fits_names_the_lengths(walk_motion):
    with pytest.raises(bench.EvaluationError, match=r"no held-out clip has the 30 frames .* the longest has 20"):
        bench.draw_windows({"walk": walk_motion.slice(0, 20)}, 26, 4, 1, 10, 0)


def test_constant_velocity_is_exact_for_constant_angular_velocity():
    rng = np.random.default_rng(0)
    A = Rotation.from_rotvec(rng.normal(size=(5, 3)))  # 5 joints, arbitrary base orientations
    w = rng.normal(size=(5, 3)) * 0.3  # rad per frame
    R = [A * Rotation.from_rotvec(t * w) for t in range(6)]
    aa = np.stack([r.as_rotvec() for r in R])  # (6, 5, 3)
    past, truth = aa[None, :2], aa[None, 2:]
    pred = baselines.constant_velocity(past, 4)
    err = (Rotation.from_rotvec(pred.reshape(-1, 3)).inv() * Rotation.from_rotvec(truth.reshape(-1, 3))).magnitude()
    assert err.max() < 1e-9
    # A linear step in axis-angle space is not the same thing here (the test can tell them apart).
    linear = past[:, 1:] + np.arange(1, 5)[None, :, None, None] * (past[:, 1:] - past[:, :1])
    lin_err = (Rotation.from_rotvec(linear.reshape(-1, 3)).inv() * Rotation.from_rotvec(truth.reshape(-1, 3))).magnitude()
    assert lin_err.max() > 0.05
    np.testing.assert_array_equal(baselines.zero_velocity(past, 3), np.repeat(past[:, 1:], 3, axis=1))


# ------------------------------------------------------------------ --test_data, --horizons, --joints
def test_test_data_evaluates_every_clip_at_horizons_in_frames(trained, report, tmp_path):
    """Any files of motion: all their clips are evaluated; the continuous baselines still train on
    the pretraining split's training clips, and a test clip that is one of them is reported."""
    inside = report["continuous_baselines"]["train_clips"][0]  # a training clip, to be flagged
    outside = "dataset-1_walk_old_001"  # not in the pretraining sources
    out = _evaluate(
        model=trained["dir"], cache_dir=trained["cache"], baselines_only=True, output_dir=tmp_path,
        test_data=[BANDAI1 / f"{inside}.bvh", BANDAI1 / f"{outside}.bvh"], horizons="1f,3f", window_stride=1,
        max_windows=10_000, **FAST,
    )  # fmt: skip
    assert out["split"] is None and out["held_out_clips"] == sorted([inside, outside])
    assert out["horizons_ms"] == [100, 300] and out["horizons_frames"] == [1, 3] and out["predicted_frames"] == 3
    n_windows = sum(_reference_motion(c, 10.0, "bandai-core").num_frames - 22 for c in (inside, outside))
    assert len(out["windows"]) == n_windows  # every start, 20 + 3 frames each
    for method in out["results"].values():
        for metric in method.values():
            assert set(metric["at_horizons"]) == {"100", "300"} and len(metric["per_frame_mean"]) == 3
            assert metric["at_horizons"]["300"] == pytest.approx(metric["per_frame_mean"][2])
    cont = out["continuous_baselines"]
    assert cont["train_clips"] == report["continuous_baselines"]["train_clips"]
    assert [Path(p).stem for p in cont["evaluated_clips_in_training_split"]] == [inside]
    table = (tmp_path / "prediction.md").read_text()
    assert "clips of --test_data" in table and "metrics at 100, 300 ms" in table and "| pos 300 |" in table


def test_horizons_accept_ms_and_frames():
    def parse(spec, fps=10.0):
        return bench.resolve_horizons(bench.PredictionBenchmarkArguments(horizons=spec), fps)

    assert parse(["100,200,300,400"]) == ([1, 2, 3, 4], [100, 200, 300, 400])
    assert parse(["100ms", "200MS"]) == ([1, 2], [100, 200])
    assert parse(["4f,1f, 2f"]) == ([1, 2, 4], [100, 200, 400])  # sorted
    assert parse(["1f,3f"], fps=30.0) == ([1, 3], [33.333, 100])
    assert parse([200, 400]) == ([2, 4], [200, 400])  # YAML numbers
    assert bench.resolve_horizons(bench.PredictionBenchmarkArguments(horizons_ms=[200]), 10.0) == ([2], [200])
    for spec, message in (
        (["150"], r"--horizons 150 ms is 1\.5 frames at 10 fps.*multiple of 100 ms"),
        (["1.5f"], r"'1\.5f' is not a whole number of frames"),
        (["0f"], r"'0f' must be positive"),
        (["100,abc"], r"cannot read 'abc'; give milliseconds \('100' or '100ms'\) or frames \('1f'\)"),
        (["1s"], r"cannot read '1s'"),
        (["200,2f"], r"frame\(s\) \[2\] at 10 fps more than once"),
        ([""], r"--horizons is empty"),
    ):
        with pytest.raises(bench.EvaluationError, match=message):
            parse(spec)


def test_joints_option_and_recorded_joint_names(trained, tmp_path):
    from hf_motion import JOINT_SUBSETS

    assert bench.joints_option("all") is None
    assert bench.joints_option("bandai-core") == "bandai-core"
    assert bench.joints_option(" Hips, Spine ,Chest") == ["Hips", "Spine", "Chest"]
    with pytest.raises(bench.EvaluationError, match=r"'lab-17' is not a registered joint subset .*comma-separated"):
        bench.joints_option("lab-17")
    with pytest.raises(bench.EvaluationError, match=r"repeats \['Hips'\]"):
        bench.joints_option("Hips,Spine,Hips")
    # A summary naming a subset this machine never registered: the folder's recorded names win.
    summary = {"dataset": {"joints": "lab-17"}, "joint_names": ["Hips", "Spine"]}
    (tmp_path / "tokenizer_config.json").write_text(json.dumps({"joint_names": ["Hips", "Chest"]}))
    args = bench.PredictionDataArguments()
    assert bench.resolve_joints(args, tmp_path, summary) == (["Hips", "Chest"], str(tmp_path / "tokenizer_config.json"))
    (tmp_path / "tokenizer_config.json").write_text(json.dumps({"joint_names": None}))
    (tmp_path / "config.json").write_text(json.dumps({"joint_names": ["Spine"]}))
    assert bench.resolve_joints(args, tmp_path, summary)[0] == ["Spine"]
    (tmp_path / "config.json").unlink()
    assert bench.resolve_joints(args, tmp_path, summary)[0] == ["Hips", "Spine"]
    with pytest.raises(bench.EvaluationError, match=r"subset 'lab-17', which is not registered here .*pass --joints"):
        bench.resolve_joints(args, tmp_path, {"dataset": {"joints": "lab-17"}})
    assert bench.resolve_joints(bench.PredictionDataArguments(joints="all"), tmp_path, summary) == (None, "--joints")
    # The pretrained fixture records its 17 joints in both files.
    names = json.loads((trained["dir"] / "tokenizer_config.json").read_text())["joint_names"]
    assert names == json.loads((trained["dir"] / "config.json").read_text())["joint_names"] == JOINT_SUBSETS["bandai-core"]


def test_a_model_whose_subset_is_not_registered_here_still_evaluates(trained, tmp_path):
    """The model folder moved to a machine without its joint subset: the joints its input contract
    (preprocessor_config.json) records are used; in a folder saved before processors existed, the
    names the tokenizer records."""
    import shutil

    model = tmp_path / "moved"
    shutil.copytree(trained["dir"], model, ignore=shutil.ignore_patterns("checkpoint-*", "prediction"))
    summary = json.loads((model / "pretrain_summary.json").read_text())
    summary["dataset"]["joints"] = "lab-subset-not-registered-here"
    (model / "pretrain_summary.json").write_text(json.dumps(summary))
    for contract in ("preprocessor_config.json", "tokenizer_config.json"):
        out = _evaluate(
            model=model, cache_dir=trained["cache"], max_windows=2, batch_size=2, continuous_baselines=False, **FAST,
        )  # fmt: skip
        assert out["joints_from"] == str(model / contract)
        assert out["joint_names"] == summary["joint_names"] and out["num_joints"] == 17
        assert "bandai-core joints" in (model / "prediction" / "prediction.md").read_text()
        assert out["continuous_baselines"] is None and len(out["results"]) == 4  # model + 3 baselines
        if contract == "preprocessor_config.json":
            (model / contract).unlink()  # now a folder from before processors: the summary's contract


def test_a_model_folder_without_an_input_contract_is_refused(trained, tmp_path):
    """Neither preprocessor_config.json nor pretrain_summary.json: the frame rate is unknown, and
    the message says what to save or pass."""
    import shutil

    model = tmp_path / "bare"
    shutil.copytree(trained["dir"], model, ignore=shutil.ignore_patterns("checkpoint-*", "prediction", "*_summary.json",
                                                                        "preprocessor_config.json"))  # fmt: skip
    with pytest.raises(bench.EvaluationError, match=r"bare records no input contract: neither preprocessor_config\.json "
                                                    r"nor pretrain_summary\.json.*MotionProcessor.*--fps"):  # fmt: skip
        _evaluate(model=model, cache_dir=trained["cache"], output_dir=tmp_path / "out", **FAST)


def test_joints_that_the_model_does_not_read_are_named(trained, tmp_path):
    with pytest.raises(
        bench.EvaluationError, match=r"the model reads 17 joints .* evaluated clips have 22 joints .*pass --joints Hips,Spine"
    ):
        _evaluate(
            model=trained["dir"], joints="all", test_data=[SOURCES[0]], continuous_baselines=False, output_dir=tmp_path, **FAST,
        )  # fmt: skip


# ------------------------------------------------------------------ bad input
def test_bad_options_are_named(trained, tmp_path):
    base = dict(model=trained["dir"], cache_dir=trained["cache"], progress=False, output_dir=tmp_path)
    with pytest.raises(bench.EvaluationError, match=r"horizon 150 ms is 1\.5 frames at 10 fps.*multiple of 100 ms"):
        _evaluate(**base, horizons_ms=[100, 150])
    with pytest.raises(bench.EvaluationError, match="--max_windows must be >= 1, got 0"):
        _evaluate(**base, max_windows=0)
    with pytest.raises(bench.EvaluationError, match=r"--num_threads must be >= 1 \(or null\), got 0"):
        _evaluate(**base, num_threads=0)
    with pytest.raises(bench.EvaluationError, match="--joint_reduction must be 'sum' or 'mean'"):
        _evaluate(**base, joint_reduction="max")
    with pytest.raises(bench.EvaluationError, match=r"--horizons: cannot read '100s'"):
        _evaluate(**base, horizons="100s")
    with pytest.raises(bench.EvaluationError, match=r"--horizons 250 ms is 2\.5 frames at 10 fps"):
        _evaluate(**base, horizons="100,250")
    with pytest.raises(bench.EvaluationError, match="--baseline_train_stride must be >= 1 frame, got 0"):
        _evaluate(**base, baseline_train_stride=0)
    with pytest.raises(bench.EvaluationError, match=r"--test_data: .*nowhere\.bvh.* neither a folder, a file"):
        _evaluate(**base, test_data=tmp_path / "nowhere.bvh")
    with pytest.raises(bench.EvaluationError, match=r"model folder .*nowhere does not exist.*or --baselines_only"):
        _evaluate(**{**base, "model": tmp_path / "nowhere"})
    (tmp_path / "empty").mkdir()
    with pytest.raises(bench.EvaluationError, match=r"empty is not a model folder \(no config.json\)"):
        _evaluate(**{**base, "model": tmp_path / "empty"})
    with pytest.raises(
        bench.EvaluationError, match=r"split 'holdout' is not one of the dataset's splits \['train', 'validation', 'test'\]"
    ):
        _evaluate(**base, split="holdout")
    # 4 s of context: 2 + 44 frames x 52 tokens > the model's 1536 positions
    with pytest.raises(bench.EvaluationError, match=r"2290 tokens, more than the model's 1536 positions"):
        _evaluate(**base, context_seconds=4)


def test_yaml_config_sets_defaults_and_flags_override(tmp_path):
    cfg = tmp_path / "eval.yaml"
    cfg.write_text("max_windows: 7\nwindow_seed: 5\n")
    args, _, _ = script.make_parser().parse(["--config", str(cfg), "--window_seed", "9"])
    assert args.max_windows == 7 and args.window_seed == 9
    cfg.write_text("max_window: 7\n")
    with pytest.raises(SystemExit, match=r"unknown option\(s\) \['max_window'\]"):
        script.make_parser().parse(["--config", str(cfg)])
    shipped = script.make_parser().parse(["--config", str(REPO / "recipes" / "evaluate_prediction.yaml")])
    defaults = (bench.PredictionBenchmarkArguments(), bench.PredictionDataArguments(), bench.ContinuousBaselineArguments())
    assert shipped == defaults  # the YAML spells out the defaults


def test_verdict_names_the_cells_a_method_loses():
    """Hand-made results: better than both baselines except Euler at 400 ms (behind zero-velocity)
    and PCK at 100 ms (a tie with constant-velocity is not a win)."""

    def row(euler, pck):
        cells = {h: v for h, v in zip(["100", "400"], euler)}
        return {
            "euler_rmse": {"at_horizons": cells}, "joint_angle": {"at_horizons": {"100": 1.0, "400": 2.0}},
            "positional_mse": {"at_horizons": {"100": 0.1, "400": 0.2}}, "pck_auc": {"at_horizons": dict(zip(["100", "400"], pck))},
        }  # fmt: skip

    results = {"zero-velocity": row([0.3, 0.5], [0.8, 0.6]), "constant-velocity": row([0.3, 0.9], [0.9, 0.5])}
    model = row([0.2, 0.6], [0.9, 0.7])
    model["joint_angle"]["at_horizons"] = {"100": 0.5, "400": 1.5}
    model["positional_mse"]["at_horizons"] = {"100": 0.05, "400": 0.1}
    for name in ("zero-velocity", "constant-velocity"):
        results[name]["joint_angle"]["at_horizons"] = {"100": 1.0, "400": 2.0}
        results[name]["positional_mse"]["at_horizons"] = {"100": 0.1, "400": 0.2}
    results["m"] = model
    assert bench.lost_cells(results, "m") == ["Euler 400 ms", "PCK 100 ms"]
    line = bench.baseline_verdict(results, "m", ["100", "400"])
    assert "every horizon: False (6 of 8 cells; lost: Euler 400 ms, PCK 100 ms)" in line


def test_sample_mean_decoding_runs_and_is_seeded(trained, tmp_path):
    base = dict(model=trained["dir"], cache_dir=trained["cache"], max_windows=3, batch_size=8, progress=False,
                continuous_baselines=False, decoding="sample-mean", num_samples=2)  # fmt: skip
    a = _evaluate(**base, output_dir=tmp_path / "a")
    b = _evaluate(**base, output_dir=tmp_path / "b")
    name = a["model_name"]
    assert a["results"][name] == b["results"][name]
    assert a["arguments"]["torch_threads"] >= 1
    before = torch.get_num_threads()
    try:
        one = _evaluate(**{**base, "max_windows": 1, "num_threads": 1}, output_dir=tmp_path / "one")
        assert one["arguments"]["torch_threads"] == 1 == torch.get_num_threads()
    finally:
        torch.set_num_threads(before)
    with pytest.raises(bench.EvaluationError, match="--num_samples must be >= 1"):
        _evaluate(**{**base, "num_samples": 0}, output_dir=tmp_path / "c")
    with pytest.raises(bench.EvaluationError, match="--decoding must be 'mean', 'median', 'sample-mean' or 'greedy'"):
        _evaluate(**{**base, "decoding": "beam"}, output_dir=tmp_path / "c")
