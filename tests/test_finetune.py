"""Fine-tuning (hf_motion.finetuning, run through hf_motion.scripts.finetune) on real Bandai clips with a tiny model: grouped folds shared by every
system, windows aggregated per clip, the comparison table / predictions CSV / confusion PNGs / model
card, the save-reload-predict round trip, --from_scratch, and bad input surfaced before any training."""

from __future__ import annotations

import csv
import json
import math
import re
import warnings
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from transformers import AutoModelForSequenceClassification, AutoTokenizer

import hf_motion
import hf_motion.finetuning as ft
from hf_motion.cv import CrossValidationError, CrossValidationWarning
from hf_motion.datasets.selection import cap_clips_per_group
from hf_motion.finetuning import FinetuneError
from hf_motion.model_card import validate_model_card
from hf_motion.modeling import MotionGPT2ForCausalLM
from hf_motion.scripts import finetune as script

from conftest import BANDAI1, REPO, tiny_lm

TASKS = [
    {"name": "style", "kind": "multiclass"},
    {"name": "content", "kind": "multiclass"},
    {"name": "tired_vs_normal", "kind": "binary", "column": "style", "positive": ["old", "tired"], "negative": ["normal"]},
]
# 12 dataset-1 clips in 9 sessions: 3 styles x walk (2 takes) / run / bow.
SUBSET = ["style=normal,old,tired", "content=walk,run,bow"]
PATTERN = "dataset-1_walk_[ah]*.bvh"  # active, angry, happy: two takes each


def run(argv):
    """The script's main on parsed argv; library errors propagate (the console script turns them into exits)."""
    args, inline = script.make_parser().parse_with_tasks(argv)
    return script.main(*args, inline_tasks=inline)


@pytest.fixture(scope="module")
def lm_dir(tmp_path_factory):
    """An (untrained) pretraining output: causal LM, tokenizer and pretrain_summary.json."""
    out = tmp_path_factory.mktemp("pretrained")
    tok = AutoTokenizer.from_pretrained(REPO / "tokenizer_configs" / "m5-motion")
    tiny_lm(tok, seed=123, n_positions=256).save_pretrained(out)
    tok.save_pretrained(out)
    summary = {"preset": "tiny", "dataset": {"fps": 10.0, "joints": "bandai-core", "window": 4, "stride": 4}}
    (out / "pretrain_summary.json").write_text(json.dumps(summary))
    return out


def write_config(path: Path, **options) -> Path:
    path.write_text(yaml.safe_dump(options, sort_keys=False))
    return path


def base_options(lm_dir, out, **over):
    opts = dict(
        data="bandai-namco:dataset-1", where=SUBSET, group_by="session", max_clips_per_group=2, max_windows_per_clip=3,
        cv_scheme="kfold", n_splits=3, stratify_by="style", seed=0, validation_fraction=0.15,
        model_name_or_path=str(lm_dir), lm_loss_weight=0.5, early_stopping_patience=1, num_train_epochs=2,
        per_device_train_batch_size=8, learning_rate=0.003, n_estimators=25, num_threads=1, output_dir=str(out),
        tasks=TASKS,
    )  # fmt: skip
    opts.update(over)
    return opts


@pytest.fixture(scope="module")
def compare_run(lm_dir, tmp_path_factory):
    root = tmp_path_factory.mktemp("compare")
    cfg = write_config(root / "config.yaml", **base_options(lm_dir, root / "run", compare=True, release="fine-tuned"))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = run(["--config", str(cfg)])
    return result, caught


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


# ------------------------------------------------------------------ the comparison run
def test_folds_are_disjoint_by_group_and_shared_by_all_systems(compare_run):
    result, _ = compare_run
    rows = read_csv(result.output_dir / "predictions.csv")
    assert {r["model"] for r in rows} == {
        "pretrained", "from scratch", "pretrained probe", "from scratch probe", "random forest", "pose-statistics linear"
    }  # fmt: skip
    fold_of_group = defaultdict(set)
    fold_of_clip = defaultdict(set)
    for r in rows:
        fold_of_group[r["group"]].add(r["fold"])
        fold_of_clip[r["clip"]].add(r["fold"])
    assert len(fold_of_group) == 9
    assert all(len(f) == 1 for f in fold_of_group.values())  # a group is tested in one fold only, by every system
    assert all(len(f) == 1 for f in fold_of_clip.values())
    folds = {r["clip"]: r["fold"] for r in read_csv(result.output_dir / "folds.csv")}
    assert len(folds) == 12 and {c: next(iter(f)) for c, f in fold_of_clip.items()} == folds
    assert len(set(folds.values())) == 3


def test_one_prediction_per_clip_task_and_model(compare_run):
    result, _ = compare_run
    rows = read_csv(result.output_dir / "predictions.csv")
    count = defaultdict(int)
    for r in rows:
        count[(r["model"], r["task"], r["clip"])] += 1
    assert set(count.values()) == {1}
    # every clip has several windows, yet one row: the windows were aggregated
    assert result.summary["n_windows"] > 12
    for model in result.systems:
        assert sum(1 for m, t, _ in count if m == model and t == "style") == 12
        # the binary screen holds the normal / old / tired clips: all 12 here
        assert sum(1 for m, t, _ in count if m == model and t == "tired_vs_normal") == 12
    truths = {(r["task"], r["clip"]): r["truth"] for r in rows if r["model"] == "pretrained"}
    for r in rows:
        assert r["truth"] == truths[(r["task"], r["clip"])]
        style = r["clip"].split("_")[2]
        if r["task"] == "style":
            assert r["truth"] == style
        if r["task"] == "tired_vs_normal":
            assert r["truth"] == ("0" if style == "normal" else "1")


def _table(result):
    lines = (result.output_dir / "results.md").read_text().splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.startswith("| task | metric |"))
    header = [c.strip() for c in lines[start].strip("|").split("|")]
    body = [[c.strip() for c in ln.strip("|").split("|")] for ln in lines[start + 2 :] if ln.startswith("|")]
    return lines[:start], header, body


def test_results_table_against_the_predictions_csv(compare_run):
    result, _ = compare_run
    head, header, body = _table(result)
    assert header == [
        "task", "metric", "pretrained", "from scratch", "pretrained probe", "from scratch probe", "random forest", "pose-statistics linear"
    ]  # fmt: skip
    assert any("**Linear probes:**" in ln and f"({result.summary['settings']['probe_features']:,} features)" in ln for ln in head)
    assert any("3-fold grouped cross-validation" in ln for ln in head)
    metrics = {(row[0].split(" ")[0], row[1]) for row in body}
    assert metrics == {("style", "accuracy"), ("style", "macro_f1"), ("content", "accuracy"), ("content", "macro_f1"),
                       ("tired_vs_normal", "auc"), ("tired_vs_normal", "f1"), ("tired_vs_normal", "accuracy")}  # fmt: skip
    for row in body:
        assert all("fold" in cell or cell.startswith("n/a") for cell in row[2:])
    # recompute accuracy per fold from the CSV (truth == prediction), then mean and population std
    rows = read_csv(result.output_dir / "predictions.csv")
    for col, model in enumerate(header[2:], start=2):
        for task in ("style", "content"):
            per_fold = defaultdict(list)
            for r in rows:
                if r["model"] == model and r["task"] == task:
                    per_fold[r["fold"]].append(r["truth"] == r["prediction"])
            acc = np.array([np.mean(v) for v in per_fold.values()])
            cell = next(r[col] for r in body if r[0].startswith(task + " ") and r[1] == "accuracy")
            assert cell == f"{acc.mean():.3f} ± {acc.std():.3f} ({len(acc)} folds)"


def test_confusion_pngs_for_multiclass_tasks(compare_run):
    import matplotlib.image as mpimg

    result, _ = compare_run
    pngs = sorted(p.name for p in result.output_dir.glob("confusion_*.png"))
    assert pngs == ["confusion_content.png", "confusion_style.png"]
    image = mpimg.imread(result.output_dir / "confusion_style.png")
    assert image.ndim == 3 and image.shape[0] > 200 and image.shape[1] > 3 * image.shape[0] // 2  # three panels side by side
    assert image[..., :3].std() > 0.05  # not a blank canvas


def test_card_fills_itself_from_the_run_and_validates(compare_run):
    result, _ = compare_run
    card = result.output_dir / "model" / "README.md"
    results = validate_model_card(card)
    summary = result.summary["systems"]["pretrained"]["tasks"]
    expected = {(t, m) for t, v in summary.items() for m, s in v["metrics"].items() if s["n_folds"] and math.isfinite(s["mean"])}
    assert {(r.dataset_config, r.metric_name.split(" ")[0]) for r in results} == expected
    for r in results:
        s = summary[r.dataset_config]["metrics"][r.metric_name.split(" ")[0]]
        assert r.metric_value == pytest.approx(round(s["mean"], 4)) and r.metric_args["n_folds"] == s["n_folds"]
    text = card.read_text()
    assert "from scratch: mean ± std (folds)" in text and "random forest: mean ± std (folds)" in text
    assert "Early stopping used a validation split" in text
    # the training table: ModelCardCallback filled it while the released model trained
    rows = dict(re.findall(r"^\| ([^|\n]+?) \| ([^|\n]+?) \|$", text, re.M))
    released = result.summary["released_model"]
    assert int(rows["steps"]) == released["steps"] > 0 and float(rows["epochs"]) == released["epochs_run"]
    assert float(rows["learning rate"]) == 0.003 and int(rows["batch size (all devices)"]) == 8 and int(rows["seed"]) == 0
    base = str(result.summary["settings"]["model_name_or_path"])  # a local folder: never written into a public card
    assert base not in text and "a local hf_motion pretraining checkpoint" in text
    assert not list((result.output_dir / "model").glob("*.bin"))
    assert (result.output_dir / "model" / "model.safetensors").is_file()
    assert not (result.output_dir / ".checkpoints").exists()


def test_saved_model_reloads_and_predicts_the_same(compare_run, walk_motion):
    result, _ = compare_run
    folder = result.output_dir / "model"
    model = AutoModelForSequenceClassification.from_pretrained(folder).eval()
    tok = AutoTokenizer.from_pretrained(folder)
    assert type(model).__name__ == "MotionGPT2ForMultiTask" and type(tok).__name__ == "MotionTokenizer"
    assert model.config.target_names == ["style", "content", "tired_vs_normal"]
    assert model.config.targets[0]["classes"] == ["normal", "old", "tired"]
    spec = ft.WindowSpec(10.0, "bandai-core", 4, 4, 3)
    windows, _ = ft.motion_windows(walk_motion, tok, spec)
    ids = torch.as_tensor(np.stack(windows), dtype=torch.long)
    original = result.model.eval()
    with torch.no_grad():
        before = original(ids).logits
        after = model(ids).logits
    torch.testing.assert_close(after, before)
    assert result.tokenizer.encode_motion(angles=walk_motion.select_joints("bandai-core").rotations[:3]).tolist() == \
        tok.encode_motion(angles=walk_motion.select_joints("bandai-core").rotations[:3]).tolist()  # fmt: skip


def test_single_clip_groups_are_warned_about(compare_run):
    _, caught = compare_run
    messages = [str(w.message) for w in caught if issubclass(w.category, CrossValidationWarning)]
    assert any("groups have a single clip" in m for m in messages)


def test_training_used_early_stopping_inside_the_training_fold(compare_run):
    result, _ = compare_run
    runs = result.summary["training"]
    assert len(runs) == 6  # 3 folds x (pretrained, from scratch)
    for run in runs:
        assert run["validation_windows"] > 0 and run["train_windows"] > 0
        assert run["best_validation_target_loss"] is not None and math.isfinite(run["best_validation_target_loss"])
    # validation + training windows are the windows of the training fold only (the test fold is left out)
    folds = {r["clip"]: int(r["fold"]) for r in read_csv(result.output_dir / "folds.csv")}
    preds = read_csv(result.output_dir / "predictions.csv")
    for run in runs:
        test_clips = {c for c, f in folds.items() if f == run["fold"]}
        assert test_clips and all(r["fold"] == str(run["fold"]) for r in preds if r["clip"] in test_clips)
        assert run["train_windows"] + run["validation_windows"] < result.summary["n_windows"]


# ------------------------------------------------------------------ clips, windows and aggregation
def test_clip_cap_per_group_is_seeded_and_keeps_order(lm_dir, tmp_path):
    from types import SimpleNamespace

    clips = [SimpleNamespace(group=g, clip_id=f"{g}{i}") for g, n in (("a", 5), ("b", 2), ("c", 3)) for i in range(n)]
    kept = cap_clips_per_group(clips, 2, seed=1)
    assert sorted(c.group for c in kept) == ["a", "a", "b", "b", "c", "c"]
    assert [clips.index(c) for c in kept] == sorted(clips.index(c) for c in kept)
    assert [c.clip_id for c in cap_clips_per_group(clips, 2, seed=1)] == [c.clip_id for c in kept]
    draws = {tuple(c.clip_id for c in cap_clips_per_group(clips, 2, seed=s) if c.group == "a") for s in range(10)}
    assert len(draws) > 1  # the seed decides which takes are kept
    assert cap_clips_per_group(clips, None, seed=1) == clips
    cfg = write_config(tmp_path / "c.yaml", **base_options(lm_dir, tmp_path / "run"))
    data = script.make_parser().parse_with_tasks(["--config", str(cfg), "--max_clips_per_group", "0", "--max_windows_per_clip", "0"])[0][0]
    assert data.max_clips_per_group is None and data.max_windows_per_clip is None


def test_motion_windows_cut_resample_and_encode(walk_motion):
    tok = hf_motion.MotionTokenizer()
    spec = ft.WindowSpec(10.0, "bandai-core", 4, 4, None)
    windows, starts = ft.motion_windows(walk_motion, tok, spec)
    low = hf_motion.resample_motion(walk_motion, 10.0).select_joints("bandai-core")
    T = low.num_frames
    assert starts == list(range(0, T - 4 + 1, 4))
    for w, s in zip(windows, starts):
        assert w.tolist() == tok.encode_motion(angles=low.rotations[s : s + 4], task=">").tolist()
        assert w[1] == tok.task_token_ids[">"]
    capped, cap_starts = ft.motion_windows(walk_motion, tok, ft.WindowSpec(10.0, "bandai-core", 4, 4, 3))
    # three evenly spaced windows: the first, the middle one (+- half a window) and the last
    assert len(starts) > 3 and len(capped) == 3
    assert cap_starts[0] == starts[0] and cap_starts[2] == starts[-1]
    assert abs(starts.index(cap_starts[1]) - (len(starts) - 1) / 2) <= 0.5
    assert [w.tolist() for w in capped] == [windows[starts.index(s)].tolist() for s in cap_starts]
    # a clip shorter than the window gives one window of all its frames
    short, short_starts = ft.motion_windows(walk_motion.slice(0, 9), tok, ft.WindowSpec(10.0, "bandai-core", 24, 12, 3))
    assert short_starts == [0] and len(short) == 1
    n_frames = hf_motion.resample_motion(walk_motion.slice(0, 9), 10.0).num_frames
    assert len(short[0]) == n_frames * (17 * 3 + 1) + 3


@pytest.mark.parametrize("pooling", ["last", "slot-statistics"])
def test_clip_predictions_are_window_means(lm_dir, walk_motion, bandai_motions, pooling):
    """Last-token pooling averages the windows' probabilities; slot statistics (linear in the
    probe's clip-mean features) average the windows' logits."""
    tok = AutoTokenizer.from_pretrained(lm_dir)
    targets = [{"name": "style", "kind": "multiclass", "num_classes": 3}, {"name": "flag", "kind": "binary"},
               {"name": "score", "kind": "regression"}]  # fmt: skip
    config = ft.multitask_config(str(lm_dir), targets, ft.FinetuneModelArguments(head_dropout=0.0, pooling=pooling), 17 * 3)
    model = ft.initial_model(ft.PRETRAINED, str(lm_dir), config, seed=3).eval()
    spec = ft.WindowSpec(10.0, "bandai-core", 4, 4, 3)
    a, _ = ft.motion_windows(walk_motion, tok, spec)
    b, _ = ft.motion_windows(bandai_motions[1].slice(0, 8), tok, spec)  # short: one padded window
    windows, owner = a + b, ["a"] * len(a) + ["b"] * len(b)
    got = ft.predict_clips(model, windows, owner, tok.pad_token_id, batch_size=2)
    # by hand: each window alone (no padding), softmax / sigmoid in numpy, mean per clip
    with torch.no_grad():
        logits = np.stack([model(torch.as_tensor(w, dtype=torch.long)[None]).logits[0].numpy() for w in windows]).astype(np.float64)

    def soft(x):
        return np.exp(x[..., :3]) / np.exp(x[..., :3]).sum(-1, keepdims=True)

    def sig(x):
        return 1 / (1 + np.exp(-x[..., 3]))

    for clip in ("a", "b"):
        rows = [i for i, c in enumerate(owner) if c == clip]
        k = got["style"][0].index(clip)
        if pooling == "last":
            style, flag = soft(logits[rows]).mean(0), sig(logits[rows]).mean()
        else:
            style, flag = soft(logits[rows].mean(0)), sig(logits[rows].mean(0))
        np.testing.assert_allclose(got["style"][1][k], style, atol=1e-5)
        np.testing.assert_allclose(got["flag"][1][k], flag, atol=1e-5)
        np.testing.assert_allclose(got["score"][1][k], logits[rows, 4].mean(), atol=1e-5)


def test_from_scratch_differs_from_the_pretrained_backbone(lm_dir):
    lm = MotionGPT2ForCausalLM.from_pretrained(lm_dir)
    targets = [{"name": "style", "kind": "multiclass", "num_classes": 3}]
    config = ft.multitask_config(str(lm_dir), targets, ft.FinetuneModelArguments(), 17 * 3)
    pre = ft.initial_model(ft.PRETRAINED, str(lm_dir), config, seed=0)
    scratch = ft.initial_model(ft.SCRATCH, str(lm_dir), config, seed=0)
    ref = lm.transformer.state_dict()
    for name, value in pre.transformer.state_dict().items():
        assert torch.equal(value, ref[name]), name
    changed = [n for n, v in scratch.transformer.state_dict().items() if v.shape == ref[n].shape and not torch.equal(v, ref[n])]
    assert "wte.weight" in changed and any(n.startswith("h.0.") for n in changed)
    assert scratch.config.n_layer == pre.config.n_layer and scratch.config.n_embd == pre.config.n_embd
    assert pre.config.attn_pdrop == 0.0  # the fused CPU attention kernel


def test_from_scratch_run_trains_and_cards_without_base_model(lm_dir, tmp_path):
    cfg = write_config(
        tmp_path / "c.yaml",
        **base_options(
            lm_dir, tmp_path / "run", from_scratch=True, n_splits=2, num_train_epochs=1, max_windows_per_clip=1, tasks=TASKS[:1]
        ),  # fmt: skip
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CrossValidationWarning)
        result = run(["--config", str(cfg)])
    assert list(result.summary["systems"]) == ["from scratch", "from scratch probe"]
    assert result.summary["released_model"]["variant"] == "from scratch probe"  # the default release
    assert "none: trained from scratch" in (tmp_path / "run" / "model" / "README.md").read_text()
    lm = MotionGPT2ForCausalLM.from_pretrained(lm_dir)
    assert not torch.equal(result.model.transformer.wte.weight, lm.transformer.wte.weight)
    _, header, _ = _table(result)
    assert header == ["task", "metric", "from scratch", "from scratch probe"]


# ------------------------------------------------------------------ bad input
def label_folder_config(tmp_path, lm_dir, labels: dict, tasks, **over):
    """A plain folder source (six dataset-1 walk clips) with a label CSV: clip, patient, + labels."""
    clips = sorted(p.stem for p in BANDAI1.glob(PATTERN))
    columns = ["clip", "patient", *labels]
    lines = [",".join(columns)]
    for i, clip in enumerate(clips):
        lines.append(",".join([clip, f"p{i // 2}", *[str(v[i]) for v in labels.values()]]))
    assert len(clips) == 6
    (tmp_path / "labels.csv").write_text("\n".join(lines) + "\n")
    opts = base_options(lm_dir, tmp_path / "run", data=str(BANDAI1), pattern=PATTERN, where=[],
                        labels=str(tmp_path / "labels.csv"), group_by="patient", stratify_by=None, tasks=tasks)  # fmt: skip
    opts.update(over)
    return write_config(tmp_path / "c.yaml", **opts), clips


def test_missing_label_names_the_clip(lm_dir, tmp_path):
    cfg, clips = label_folder_config(tmp_path, lm_dir, {"severity": [0, 1, "", 1, 0, 1]}, [{"name": "severity", "kind": "binary"}])
    with pytest.raises(CrossValidationError, match=rf"no 'severity' label: '{clips[2]}'"):
        run(["--config", str(cfg), "--max_clips_per_group", "10"])
    assert not (tmp_path / "run").exists()  # nothing was trained or written


def test_task_missing_from_the_data_names_the_column(lm_dir, tmp_path):
    cfg, _ = label_folder_config(tmp_path, lm_dir, {"severity": [0, 1, 0, 1, 0, 1]}, [{"name": "updrs", "kind": "regression"}])
    with pytest.raises(
        CrossValidationError, match=r"task 'updrs' uses label column 'updrs', which no clip has; available columns: .*'severity'"
    ):
        run(["--config", str(cfg), "--max_clips_per_group", "10"])


def test_single_class_training_fold_is_an_error(lm_dir, tmp_path):
    # only patient p0 is positive: the fold that tests p0 trains on negatives only
    cfg, _ = label_folder_config(tmp_path, lm_dir, {"flag": [1, 1, 0, 0, 0, 0]}, [{"name": "flag", "kind": "binary"}], cv_scheme="logo")
    with pytest.raises(CrossValidationError, match=r"task 'flag': the training set of fold 0 holds a single class \(class 0"):
        run(["--config", str(cfg), "--max_clips_per_group", "10"])


def test_single_class_fold_skipped_with_a_warning(lm_dir, tmp_path):
    cfg, _ = label_folder_config(
        tmp_path, lm_dir, {"flag": [1, 1, 0, 0, 0, 0]}, [{"name": "flag", "kind": "binary"}], cv_scheme="logo",
        single_class_folds="skip", num_train_epochs=1, max_windows_per_clip=1, save_model=False, early_stopping_patience=0,
    )  # fmt: skip
    with pytest.warns(CrossValidationWarning, match=r"task 'flag': the training set of fold 0 holds a single class"):
        result = run(["--config", str(cfg), "--max_clips_per_group", "10"])
    rows = read_csv(result.output_dir / "metrics_per_fold.csv")
    for system in ("pretrained", "pretrained probe"):  # the probe skips the same fold
        assert [(r["fold"], r["skipped"]) for r in rows if r["model"] == system] == [("0", "single class"), ("1", ""), ("2", "")]
    assert {r["fold"] for r in read_csv(result.output_dir / "predictions.csv")} == {"1", "2"}
    assert result.summary["systems"]["pretrained"]["tasks"]["flag"]["skipped_folds"] == [{"fold": 0, "reason": "single class"}]
    assert not (result.output_dir / "model").exists()


def test_test_fold_class_unseen_in_training_warns(lm_dir, tmp_path):
    from hf_motion.cv import inner_validation_split

    # Patients p0, p1 walk with gaits x and y; p2's two clips are the only z: the fold testing p2 never trains on z.
    gait = ["x", "y", "x", "y", "z", "z"]
    cfg, clips = label_folder_config(
        tmp_path, lm_dir, {"gait": gait}, [{"name": "gait", "kind": "multiclass"}], cv_scheme="logo",
        num_train_epochs=1, max_windows_per_clip=1, save_model=False, early_stopping_patience=1, validation_fraction=0.3,
    )  # fmt: skip
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = run(["--config", str(cfg), "--max_clips_per_group", "10"])
    msgs = [str(w.message) for w in caught if issubclass(w.category, CrossValidationWarning)]
    assert any(
        "task 'gait': the test set of fold 2 holds a class that its training set never has: class 'z' (2 clips)" in m for m in msgs
    ), msgs
    rows = read_csv(result.output_dir / "metrics_per_fold.csv")
    assert [r["skipped"] for r in rows] == ["", "", ""] * 2  # the folds still run, for the model and its probe
    # The early-stopping split can take a fold's only x/y training patient: then that is warned about too.
    groups = [f"p{i // 2}" for i in range(6)]
    exercised = 0
    for k, test_patient in enumerate(["p0", "p1"]):
        train = np.array([i for i in range(6) if groups[i] != test_patient])
        inner, _ = inner_validation_split(train, groups, 0.3, seed=0 + k)
        trained = {gait[i] for i in inner}
        unseen = sorted({"x", "y"} - trained)
        hits = [m for m in msgs if f"fold {k} holds" in m and "early-stopping validation split" in m]
        if unseen:
            exercised += 1
            assert len(hits) == 1 and all(f"class {c!r} (1 clip)" in hits[0] for c in unseen), (k, hits)
        else:
            assert hits == [], (k, hits)
    assert exercised  # with seed 0 one of these folds' validation split holds its only x/y patient


@pytest.mark.filterwarnings("ignore::hf_motion.cv.CrossValidationWarning")
def test_conflicting_flags_and_missing_model(lm_dir, tmp_path):
    cfg = write_config(tmp_path / "c.yaml", **base_options(lm_dir, tmp_path / "run"))
    with pytest.raises(FinetuneError, match="drop --from_scratch"):
        run(["--config", str(cfg), "--compare", "--from_scratch"])
    with pytest.raises(FinetuneError, match="--pooling must be one of last, mean, slot-statistics, got 'max'"):
        run(["--config", str(cfg), "--pooling", "max"])
    with pytest.raises(FinetuneError, match="--probe_c must be > 0, got 0.0"):
        run(["--config", str(cfg), "--probe_c", "0"])
    with pytest.raises(FinetuneError, match="--release must be one of probe, fine-tuned, got 'forest'"):
        run(["--config", str(cfg), "--release", "forest"])
    with pytest.raises(FinetuneError, match="--release probe needs --linear_probe true"):
        run(["--config", str(cfg), "--linear_probe", "false"])
    with pytest.raises(FinetuneError, match="run `accelerate launch recipes/pretrain.py`"):
        run(["--config", str(cfg), "--model_name_or_path", str(tmp_path / "nowhere")])


def test_window_spec_joints_default_to_the_models(lm_dir, tmp_path, walk_motion):
    """``--joints auto`` (the default): the tokenizer's joint_names, else the pretraining record,
    else each skeleton's core body joints by name; 'all', subsets and a,b,c are accepted too."""
    core = ["Hips", "Spine", "Chest", "Neck", "Head", "UpperArm_L", "LowerArm_L", "Hand_L", "UpperArm_R", "LowerArm_R",
            "Hand_R", "UpperLeg_L", "LowerLeg_L", "Foot_L", "UpperLeg_R", "LowerLeg_R", "Foot_R"]  # fmt: skip
    assert ft.FinetuneDataArguments().joints == "auto"
    named = hf_motion.MotionTokenizer(joint_names=core[:5])
    plain = hf_motion.MotionTokenizer()

    def spec(tok=plain, model_dir=lm_dir, **over):
        return ft.window_spec(ft.FinetuneDataArguments(**over), str(model_dir), tok)[0].joints

    assert spec(named) == core[:5]  # the model's recorded joints
    assert spec(plain) == "bandai-core"  # lm_dir's pretrain_summary.json
    assert spec(plain, model_dir=tmp_path) == "auto"  # no record at all
    assert spec(named, joints="all") is None and spec(named, joints="Hips,Spine") == ["Hips", "Spine"]
    assert spec(named, joints="bandai-full") == "bandai-full"
    with pytest.raises(FinetuneError, match="unknown joint subset 'cmu-core'"):
        spec(joints="cmu-core")
    # 'auto' windows on Bandai are bandai-core windows.
    tok = hf_motion.MotionTokenizer()
    auto, _ = ft.motion_windows(walk_motion, tok, ft.WindowSpec(10.0, "auto", 4, 4, 3))
    by_name, _ = ft.motion_windows(walk_motion, tok, ft.WindowSpec(10.0, core, 4, 4, 3))
    assert [w.tolist() for w in auto] == [w.tolist() for w in by_name]


def test_prepare_clips_refuses_clips_whose_auto_joints_differ(tmp_path):
    from hf_motion.datasets import as_collection

    cmu = REPO / "tests" / "fixtures" / "cmu_31joint.bvh"
    clips = list(as_collection([BANDAI1 / "dataset-1_walk_normal_001.bvh", cmu]))
    spec = ft.WindowSpec(10.0, "auto", 2, 2, 1)
    with pytest.raises(ValueError, match=r"--joints 'auto' gives 17 joints \(Hips, Spine, Chest.*for .*cmu_31joint\.bvh"):
        ft.prepare_clips(clips, hf_motion.MotionTokenizer(), spec, progress=False)


# ------------------------------------------------------------------ the library's typed result and the released contract
def test_result_confusion_and_predictions_match_the_csv(compare_run):
    result, _ = compare_run
    rows = read_csv(result.output_dir / "predictions.csv")
    for system in result.systems:
        typed = result.predictions(system, "style")
        csv_rows = [r for r in rows if r["model"] == system and r["task"] == "style"]
        assert len(typed) == len(csv_rows) > 0
        counts = result.confusion("style")[system]
        classes = result.labels["style"].classes
        for i, t in enumerate(classes):
            for j, p in enumerate(classes):
                assert counts[i, j] == sum(1 for r in csv_rows if r["truth"] == t and r["prediction"] == p)
    with pytest.raises(ValueError, match="multiclass"):
        result.confusion("tired_vs_normal")
    assert result.to_markdown() == (result.output_dir / "results.md").read_text()


def test_released_model_carries_its_processor_and_runs_in_a_pipeline(compare_run, bandai_paths):
    from transformers import AutoProcessor, pipeline

    result, _ = compare_run
    folder = result.output_dir / "model"
    processor = AutoProcessor.from_pretrained(folder)
    assert isinstance(processor, hf_motion.MotionProcessor)
    assert (processor.fps, processor.window, processor.stride) == (10.0, 4, 4)  # lm_dir's pretraining record
    assert processor.joints == result.summary["settings"]["model_joints"] == result.tokenizer.joint_names
    # The pipeline's answer is the fine-tuned model's window mean on the processor's windows: of the
    # logits under the default slot-statistics pooling (of the probabilities under last-token pooling).
    path = next(p for p in bandai_paths if "walk" in p.name)
    classify = pipeline("motion-classification", model=str(folder), device="cpu", max_windows=3)
    out = classify(str(path))
    batch = processor(str(path), max_windows=3, return_tensors="pt")
    with torch.no_grad():
        logits = result.model.eval()(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    assert result.model.config.pooling == "slot-statistics"
    probs = result.model.predictions(logits.mean(0, keepdim=True).numpy())["style"][0]
    best = int(np.argmax(probs))
    assert out["style"][0]["label"] == result.labels["style"].classes[best]
    assert out["style"][0]["score"] == pytest.approx(float(probs[best]), rel=1e-4)


def test_window_spec_prefers_the_models_processor(lm_dir, tmp_path):
    import shutil

    folder = tmp_path / "with_processor"
    shutil.copytree(lm_dir, folder)
    tok = hf_motion.MotionTokenizer.from_pretrained(folder, joint_names=["Hips", "Spine", "Chest"])
    hf_motion.MotionProcessor(tok, fps=15, window=6, stride=3).save_pretrained(folder)
    spec, summary = ft.window_spec(ft.FinetuneDataArguments(), str(folder), hf_motion.MotionTokenizer())
    assert (spec.fps, spec.joints, spec.window, spec.stride) == (15.0, ["Hips", "Spine", "Chest"], 6, 3)
    assert summary["preset"] == "tiny"  # the run log is still read for the card
    spec, _ = ft.window_spec(ft.FinetuneDataArguments(window=8, fps=10), str(folder), None)  # arguments win
    assert (spec.fps, spec.window, spec.stride) == (10.0, 8, 3)


@pytest.mark.parametrize("command", ["finetune", "baseline-kinematic"])
def test_console_script_help_lists_config(command, capsys):
    from hf_motion.cli import main

    with pytest.raises(SystemExit) as info:
        main([command, "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert f"usage: hf-motion {command}" in out and "--config FILE.yaml" in out and "--n_splits" in out


@pytest.mark.filterwarnings("ignore::hf_motion.cv.CrossValidationWarning")
def test_console_script_turns_library_errors_into_exits(lm_dir, tmp_path):
    from hf_motion.scripts.finetune import cli

    cfg = write_config(tmp_path / "c.yaml", **base_options(lm_dir, tmp_path / "run"))
    with pytest.raises(SystemExit, match=r"^error: pretrained model folder .*nowhere not found"):
        cli(["--config", str(cfg), "--model_name_or_path", str(tmp_path / "nowhere")])


# ------------------------------------------------------------------ the released probe
def test_released_probe_is_the_frozen_backbone_with_linear_heads_in_a_pipeline(lm_dir, tmp_path, bandai_paths):
    from transformers import pipeline

    cfg = write_config(tmp_path / "c.yaml", **base_options(lm_dir, tmp_path / "run", num_train_epochs=1, max_windows_per_clip=2))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CrossValidationWarning)
        result = run(["--config", str(cfg)])
    assert result.summary["released_model"]["variant"] == "pretrained probe"
    folder = result.output_dir / "model"
    model = AutoModelForSequenceClassification.from_pretrained(folder).eval()
    assert model.config.pooling == "slot-statistics" and model.config.frame_width == 17 * 3
    assert model.config.lm_loss_weight == 0.0
    lm = MotionGPT2ForCausalLM.from_pretrained(lm_dir)
    for name, weight in lm.transformer.state_dict().items():  # frozen: the pretrained backbone, bit for bit
        torch.testing.assert_close(model.transformer.state_dict()[name], weight, rtol=0, atol=0)
    # In-sample, the fitted heads separate the 12 clips they were fitted on (6,528 features).
    clips = ft.select_clips(
        ft.FinetuneDataArguments(data="bandai-namco:dataset-1", where=SUBSET, group_by="session", max_clips_per_group=2), 0
    )
    tok = AutoTokenizer.from_pretrained(folder)
    spec = ft.WindowSpec(10.0, "bandai-core", 4, 4, 2)
    data = ft.prepare_clips(clips, tok, spec, None, with_features=False)
    windows, owner = data.flat(range(len(clips)))
    _, style = ft.predict_clips(model, windows, owner, tok.pad_token_id)["style"]
    assert [int(k) for k in style.argmax(1)] == [int(y) for y in result.labels["style"].y]
    # The pipeline averages the windows' logits (the probe's features were clip means).
    path = next(p for p in bandai_paths if "walk" in p.name)
    out = pipeline("motion-classification", model=str(folder), device="cpu", max_windows=3)(str(path))
    batch = result.processor(str(path), max_windows=3, return_tensors="pt")
    with torch.no_grad():
        logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits.mean(0, keepdim=True)
    probs = model.predictions(logits)["style"][0]
    assert {d["label"]: d["score"] for d in out["style"]} == pytest.approx(
        dict(zip(result.labels["style"].classes, probs.tolist())), rel=1e-4
    )
    text = (folder / "README.md").read_text()
    assert "logistic regression" in text and "mean of the window logits" in text and "Early stopping used" not in text
    assert "the pretrained backbone unchanged" in text and str(lm_dir) not in text  # a local folder stays out of a public card
