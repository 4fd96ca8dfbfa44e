"""Linear probes (hf_motion.probing): per-slot hidden-state statistics against a token-by-token
loop, pose statistics against the decoded angles, clip means, and the probe estimator."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from transformers import AutoTokenizer

from hf_motion.cv import CrossValidationWarning, TaskSpec, full_class_probabilities, run_feature_task, task_labels
from hf_motion.finetuning import WindowSpec, motion_windows
from hf_motion.probing import clip_means, linear_head_parameters, make_linear_probe, pose_statistics, probe_model, slot_statistics

from conftest import REPO, tiny_lm


@pytest.fixture(scope="module")
def m5():
    return AutoTokenizer.from_pretrained(REPO / "tokenizer_configs" / "m5-motion")


@pytest.fixture(scope="module")
def windows(m5, bandai_motions):
    """Real windows of unequal length: 4-frame windows of two clips and a 2-frame one."""
    spec = WindowSpec(10.0, "bandai-core", 4, 4, 2)
    out = []
    for motion in bandai_motions[:2]:
        out += motion_windows(motion, m5, spec)[0]
    short = motion_windows(bandai_motions[2], m5, WindowSpec(10.0, "bandai-core", 2, 2, 1))[0]
    return out + short


def frame_width(m5, windows) -> int:
    sep = m5.convert_tokens_to_ids(" ")
    ids = list(windows[0])
    first = ids.index(sep)
    return ids.index(sep, first + 1) - first - 1


def test_slot_statistics_equal_a_token_by_token_loop(m5, windows):
    model = tiny_lm(m5, seed=3, n_positions=256)
    width = frame_width(m5, windows)
    features = slot_statistics(model, windows, width, m5.pad_token_id, batch_size=3)  # batches mix lengths: padding
    sep = m5.convert_tokens_to_ids(" ")
    specials = set(model.config.special_token_ids)
    for i, w in enumerate(windows):
        with torch.no_grad():
            hidden = model.transformer(input_ids=torch.as_tensor(w, dtype=torch.long)[None], output_hidden_states=True).hidden_states[1:]
        per_slot = [[] for _ in range(width)]
        slot = -1
        for t, token in enumerate(w):
            if token == sep:
                slot = 0
                continue
            if int(token) in specials:
                continue
            per_slot[slot].append(t)
            slot += 1
        assert all(len(p) == len(per_slot[0]) > 0 for p in per_slot)  # every slot seen once per frame
        expected = []
        for h in hidden:
            x = h[0].numpy().astype(np.float64)
            expected += [np.stack([x[p].mean(0) for p in per_slot]).ravel(), np.stack([x[p].std(0) for p in per_slot]).ravel()]
        np.testing.assert_allclose(features[i], np.concatenate(expected), rtol=1e-4, atol=1e-5)
    assert features.shape == (len(windows), 2 * model.config.n_layer * width * model.config.n_embd)


def test_slot_statistics_refuse_a_narrower_frame_and_restore_train_mode(m5, windows):
    model = tiny_lm(m5, n_positions=256).train()
    width = frame_width(m5, windows)
    with pytest.raises(ValueError, match=rf"window 0 has frames wider than frame_width={width - 1} tokens"):
        slot_statistics(model, windows, width - 1, m5.pad_token_id)
    slot_statistics(model, windows[:1], width, m5.pad_token_id)
    assert model.training and model.transformer.training


def test_pose_statistics_are_the_decoded_angles_statistics(m5, windows):
    stats = pose_statistics(m5, windows)
    for i in (0, len(windows) - 1):
        a = np.asarray(m5.decode_motion(windows[i]).angles, dtype=np.float64)
        a = a.reshape(a.shape[0], -1)
        expected = np.concatenate([a.mean(0), a.std(0), np.abs(np.diff(a, axis=0)).mean(0)])
        np.testing.assert_allclose(stats[i], expected, rtol=1e-5, atol=1e-6)
    still = m5.encode_motion(angles=np.full((1, 17, 3), 0.3, np.float32), task=">")
    one_frame = pose_statistics(m5, [np.asarray(still)])[0]
    assert np.all(one_frame[2 * 51 :] == 0) and np.all(one_frame[51 : 2 * 51] == 0)


def test_clip_means_average_each_clips_windows_and_name_an_empty_clip():
    X = np.array([[1.0, 2.0], [3.0, 4.0], [10.0, 0.0]], np.float32)
    np.testing.assert_array_equal(clip_means(X, [1, 1, 0], 2), [[10.0, 0.0], [2.0, 3.0]])
    with pytest.raises(ValueError, match="clip 1 has no window"):
        clip_means(X, [0, 0, 2], 3)


def test_linear_probe_separates_classes_and_predicts_every_class_column():
    rng = np.random.default_rng(0)
    classes = np.repeat([0, 1, 2], 10)
    X = rng.normal(size=(30, 5)) + 3.0 * np.eye(5)[classes]
    spec = TaskSpec(name="gait", kind="multiclass")
    labels = task_labels(spec, [{"gait": f"g{c}"} for c in classes])
    # fold 0 trains without class 2 and tests on it: its column must exist and be 0
    folds = [(np.arange(20), np.arange(20, 30)), (np.arange(0, 30, 2), np.arange(1, 30, 2))]
    with pytest.warns(CrossValidationWarning, match="fold 0 holds a class that its training set never has: class 'g2'"):
        result = run_feature_task(labels, X, folds, lambda kind, seed: make_linear_probe(kind, 1.0, seed), "probe", 0, "error")
    fold0 = [p for p in result.predictions if p.fold == 0]
    assert all(np.asarray(p.prediction).shape == (3,) and p.prediction[2] == 0 for p in fold0)
    assert result.scores[1].metrics["accuracy"] == 1.0  # the classes are separable
    assert result.scores[0].metrics["accuracy"] == 0.0  # it cannot name a class it never saw
    with pytest.raises(ValueError, match="C must be > 0"):
        make_linear_probe("binary", 0.0, 0)
    ridge = make_linear_probe("regression", 2.0, 0).fit(X, classes.astype(float))
    assert ridge[-1].alpha == 0.5


def test_target_checks_compare_each_pretrained_system_with_its_twin_and_the_forest():
    from hf_motion.finetuning import target_checks

    def system(style_acc, screen_auc):
        return {"tasks": {"style": {"metrics": {"accuracy": {"mean": style_acc}, "macro_f1": {"mean": 0.0}}},
                          "screen": {"metrics": {"auc": {"mean": screen_auc}, "accuracy": {"mean": 0.0}}}}}  # fmt: skip

    summary = {
        "tasks": {"style": {"kind": "multiclass", "classes": ["a", "b", "c", "d"]}, "screen": {"kind": "binary", "classes": None}},
        "systems": {
            "pretrained": system(0.50, 0.70),
            "from scratch": system(0.20, 0.75),  # style below chance (1/4); screen above chance and better than pretrained
            "pretrained probe": system(0.90, 0.95),
            "from scratch probe": system(0.80, 0.90),
            "random forest": system(0.60, 0.80),
        },
    }
    lines = target_checks(summary)
    assert lines == [
        "target: pretrained beats from scratch on every task: False (1 of 2; not: screen)",
        "target: from scratch is above chance on every task: False (1 of 2; not: style)",
        "target: pretrained beats the random forest on at least two tasks: False (0 of 2; not: style, screen)",
        "target: pretrained probe beats from scratch probe on every task: True (2 of 2)",
        "target: from scratch probe is above chance on every task: True (2 of 2)",
        "target: pretrained probe beats the random forest on at least two tasks: True (2 of 2)",
    ]
    del summary["systems"]["from scratch probe"], summary["systems"]["random forest"]
    assert len(target_checks(summary)) == 2  # no forest line, no probe pair


@pytest.mark.parametrize(
    "kind, y",
    [
        ("binary", np.array([0, 1] * 12)),
        ("multiclass", np.repeat([0, 1, 3], 8)),  # class 2 of 4 never seen: probability 0
        ("multiclass", np.repeat([1, 2], 12)),  # two classes of a multiclass task: scikit-learn's one-logit case
        ("regression", np.linspace(-1.0, 2.0, 24)),
    ],
)
def test_linear_head_parameters_reproduce_the_fitted_probe(kind, y):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(24, 6)) * rng.uniform(0.1, 5.0, size=6) + rng.normal(size=6) * 3  # unequal scales and offsets
    X[:, 4] = 2.5  # a constant feature: scikit-learn's scale 1
    X[:, :3] += np.eye(4)[y.astype(int) % 4][:, :3] if kind != "regression" else 0.0
    estimator = make_linear_probe(kind, 0.5, 0).fit(X, y)
    test = rng.normal(size=(5, 6)) * 2
    weight, bias = linear_head_parameters(estimator, kind, 4)
    logits = torch.as_tensor(test @ weight.T.astype(np.float64) + bias)
    if kind == "regression":
        np.testing.assert_allclose(logits[:, 0].numpy(), estimator.predict(test), rtol=1e-4, atol=1e-4)
    elif kind == "binary":
        np.testing.assert_allclose(torch.sigmoid(logits[:, 0]).numpy(), estimator.predict_proba(test)[:, 1], rtol=1e-4, atol=1e-5)
    else:
        np.testing.assert_allclose(torch.softmax(logits, -1).numpy(), full_class_probabilities(estimator, test, 4), rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match=r"a binary probe needs classes 0 and 1 in its training data, got classes \[.*1.*, .*2.*\]"):
        linear_head_parameters(make_linear_probe("binary", 1.0, 0).fit(X, np.arange(24) % 2 + 1), "binary", 1)  # classes 1, 2


def test_probe_model_pools_slot_statistics_and_serves_the_probe(m5, windows, tmp_path):
    from transformers import AutoModelForSequenceClassification

    backbone = tiny_lm(m5, seed=5, n_positions=256)
    width = frame_width(m5, windows)
    X = slot_statistics(backbone, windows, width, m5.pad_token_id)
    y = np.arange(len(windows)) % 3
    targets = [{"name": "gait", "kind": "multiclass", "num_classes": 3}, {"name": "score", "kind": "regression"}]
    estimators = {
        "gait": make_linear_probe("multiclass", 0.1, 0).fit(X, y),
        "score": make_linear_probe("regression", 0.1, 0).fit(X, y * 0.5),
    }
    model = probe_model(backbone, targets, estimators, width)
    model.save_pretrained(tmp_path)
    reloaded = AutoModelForSequenceClassification.from_pretrained(tmp_path).eval()
    assert reloaded.config.pooling == "slot-statistics" and reloaded.config.pooled_width == X.shape[1]
    from hf_motion.finetuning import window_logits

    logits = window_logits(reloaded, windows, m5.pad_token_id, batch_size=4)  # padded batches of mixed lengths
    pred = reloaded.predictions(logits)
    np.testing.assert_allclose(pred["gait"], estimators["gait"].predict_proba(X), rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(pred["score"], estimators["score"].predict(X), rtol=1e-3, atol=1e-3)
    with pytest.raises(ValueError, match="needs frame_width"):
        type(reloaded.config).from_backbone_config(backbone.config, targets=targets, pooling="slot-statistics")
    with pytest.raises(ValueError, match="no fitted probe for target"):
        probe_model(backbone, targets, {"gait": estimators["gait"]}, width)
