"""Grouped cross-validation: folds disjoint by group, inner validation splits, task labels, bad
input (single-clip groups, single-class training folds, missing labels, unknown task columns),
window aggregation and fold summaries."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from hf_motion.cv import (
    CrossValidationError,
    CrossValidationWarning,
    TaskSpec,
    aggregate_window_predictions,
    check_fold_classes,
    format_mean_std,
    group_folds,
    inner_validation_split,
    load_task_specs,
    summarize_folds,
    task_labels,
    task_metrics,
)

from conftest import REPO


@pytest.fixture(scope="module")
def bandai1():
    """Dataset-1 as a lazy collection (labels and groups only; no motion is read)."""
    from hf_motion.datasets import bandai_namco

    col = bandai_namco(subsets="dataset-1", progress=False)
    return list(col)


def _check_partition(folds, groups):
    groups = np.asarray(groups)
    n = groups.size
    seen = np.zeros(n, dtype=int)
    for train, test in folds:
        assert set(groups[train]).isdisjoint(groups[test])
        assert np.intersect1d(train, test).size == 0
        assert np.union1d(train, test).size == n
        seen[test] += 1
    assert np.all(seen == 1)  # every clip is tested exactly once


@pytest.mark.parametrize("scheme, stratify", [("kfold", False), ("kfold", True), ("logo", False)])
def test_folds_are_disjoint_by_group_and_cover_everything(bandai1, scheme, stratify):
    groups = [c.group for c in bandai1]
    labels = [c.labels["style"] for c in bandai1] if stratify else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CrossValidationWarning)  # some Bandai sessions have one take
        folds = group_folds(groups, scheme, n_splits=4, seed=3, labels=labels)
    _check_partition(folds, groups)
    if scheme == "logo":
        assert len(folds) == len(set(groups))
        assert all(len(set(np.asarray(groups)[test])) == 1 for _, test in folds)
    else:
        assert len(folds) == 4
    if stratify:
        # Every style that has at least 4 groups should appear in every test fold.
        styles = np.asarray(labels)
        g = np.asarray(groups)
        common = [s for s in set(labels) if len(set(g[styles == s])) >= 4]
        assert common
        for _, test in folds:
            assert set(common) <= set(styles[test])


def test_kfold_is_seeded(bandai1):
    groups = [c.group for c in bandai1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CrossValidationWarning)
        a = group_folds(groups, "kfold", 5, seed=0)
        b = group_folds(groups, "kfold", 5, seed=0)
        c = group_folds(groups, "kfold", 5, seed=1)
    assert all(np.array_equal(x[1], y[1]) for x, y in zip(a, b))
    assert not all(np.array_equal(x[1], y[1]) for x, y in zip(a, c))


def test_inner_validation_split_is_by_group_and_inside_the_training_fold(bandai1):
    groups = np.asarray([c.group for c in bandai1])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CrossValidationWarning)
        folds = group_folds(groups, "kfold", 5, seed=0)
    for k, (train, test) in enumerate(folds):
        inner, val = inner_validation_split(train, groups, fraction=0.2, seed=k)
        assert np.intersect1d(val, test).size == 0 and np.intersect1d(inner, test).size == 0
        assert np.array_equal(np.union1d(inner, val), train) and np.intersect1d(inner, val).size == 0
        assert set(groups[inner]).isdisjoint(groups[val])
        n_train_groups = len(set(groups[train]))
        assert len(set(groups[val])) == math.ceil(0.2 * n_train_groups)


def test_inner_validation_split_errors():
    groups = ["a", "a", "b", "b"]
    with pytest.raises(CrossValidationError, match="needs at least 2"):
        inner_validation_split([0, 1], groups, 0.5)
    with pytest.raises(CrossValidationError, match=r"in \(0, 1\)"):
        inner_validation_split([0, 1, 2, 3], groups, 1.0)


def test_single_clip_groups_warn(bandai1):
    groups = [c.group for c in bandai1]
    singles = [g for g in set(groups) if groups.count(g) == 1]
    assert singles  # real data: several sessions were recorded once
    with pytest.warns(CrossValidationWarning, match=rf"{len(singles)} of {len(set(groups))} groups have a single clip"):
        group_folds(groups, "kfold", 3)


def test_group_folds_bad_input():
    with pytest.raises(CrossValidationError, match="at least 2 groups"):
        group_folds(["a", "a"], "logo")
    with pytest.raises(CrossValidationError, match="more than the 2 groups"):
        group_folds(["a", "a", "b", "b"], "kfold", n_splits=3)
    with pytest.raises(CrossValidationError, match="unknown cross-validation scheme"):
        group_folds(["a", "b"], "random")
    with pytest.raises(CrossValidationError, match="clip 'walk_02' has no group"):
        group_folds(["a", None, "b"], "logo", clip_ids=["walk_01", "walk_02", "walk_03"])
    with pytest.raises(CrossValidationError, match="clip 'c' has no stratification label"):
        group_folds(["a", "a", "b", "b"], "kfold", 2, labels=["x", "y", None, "y"], clip_ids=list("abcd"))


def test_single_class_training_fold_errors_or_skips():
    # Leaving patient p2 (the only positives) out leaves a training fold of class 0 only.
    groups = ["p1", "p1", "p2", "p2", "p3", "p3"]
    y = np.array([0, 0, 1, 1, 0, 0])
    folds = group_folds(groups, "logo")  # folds in group order: p1, p2, p3
    with pytest.raises(CrossValidationError, match=r"task 'screen': the training set of fold 1 holds a single class \(class 0\)"):
        check_fold_classes(folds, y, task="screen")
    with pytest.warns(CrossValidationWarning, match="fold 1 .* skipped"):
        usable = check_fold_classes(folds, y, task="screen", on_single_class="skip")
    assert usable == [True, False, True]
    with pytest.raises(CrossValidationError, match=r"fold 1 holds a single class \(class 'normal'\)"):
        check_fold_classes(folds, y.astype(float), task="screen", class_names=["normal", "pd"])


def test_test_class_missing_from_its_training_fold_warns():
    # Three classes; patient p3 holds every clip of class 2, so leaving p3 out tests a class never trained on.
    groups = ["p1", "p1", "p2", "p2", "p3", "p3", "p4", "p4"]
    y = np.array([0, 1, 0, 1, 2, 2, 0, 1])
    folds = group_folds(groups, "logo")  # folds in group order
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        usable = check_fold_classes(folds, y, task="gait", class_names=["normal", "pd", "ataxia"])
    assert usable == [True] * 4  # still usable: the warning explains the fold's accuracy
    msgs = [str(w.message) for w in caught if issubclass(w.category, CrossValidationWarning)]
    assert len(msgs) == 1
    assert "task 'gait': the test set of fold 2 holds a class that its training set never has: class 'ataxia' (2 clips)" in msgs[0]
    # Without class names the index is named; every fold with all classes in training is silent.
    with pytest.warns(CrossValidationWarning, match=r"fold 2 .*class 2 \(2 clips\)"):
        check_fold_classes(folds, y.astype(float), task="gait")
    with warnings.catch_warnings():
        warnings.simplefilter("error", CrossValidationWarning)
        check_fold_classes(folds[:2], y, task="gait")


# ------------------------------------------------------------------ tasks
def test_task_labels_binary_from_style_values(bandai1):
    labels = [c.labels for c in bandai1]
    ids = [c.clip_id for c in bandai1]
    spec = TaskSpec(name="tired", kind="binary", column="style", positive=["old", "tired"], negative=["normal"])
    got = task_labels(spec, labels, ids)
    expected = {i: (1.0 if lab["style"] in ("old", "tired") else 0.0)
                for i, lab in enumerate(labels) if lab["style"] in ("old", "tired", "normal")}  # fmt: skip
    assert got.index.tolist() == sorted(expected)
    assert got.y.tolist() == [expected[i] for i in sorted(expected)]
    assert got.classes == ["normal", "old/tired"]
    assert 0 < got.y.sum() < got.y.size


def test_task_labels_multiclass_and_regression():
    labels = [{"dx": "pd"}, {"dx": "normal"}, {"dx": "lid"}, {"dx": "pd"}, {"dx": "other"}]
    got = task_labels(TaskSpec(name="dx", kind="multiclass", classes=["normal", "pd", "lid"]), labels)
    assert got.index.tolist() == [0, 1, 2, 3] and got.y.tolist() == [1, 0, 2, 1]  # "other" is not in the task
    default = task_labels(TaskSpec(name="dx", kind="multiclass"), labels)
    assert default.classes == ["lid", "normal", "other", "pd"]
    reg = task_labels(TaskSpec(name="updrs", kind="regression"), [{"updrs": 3}, {"updrs": "4.5"}])
    assert reg.y.tolist() == [3.0, 4.5]
    with pytest.raises(CrossValidationError, match="clip 'b' has updrs='high', not a number"):
        task_labels(TaskSpec(name="updrs", kind="regression"), [{"updrs": 1}, {"updrs": "high"}], ["a", "b"])
    with pytest.raises(CrossValidationError, match="must hold 0/1"):
        task_labels(TaskSpec(name="flag", kind="binary"), [{"flag": 1}, {"flag": "maybe"}])


def test_missing_label_names_the_clip(bandai1):
    labels = [dict(c.labels) for c in bandai1[:6]]
    ids = [c.clip_id for c in bandai1[:6]]
    del labels[4]["style"]
    labels[2]["style"] = None
    spec = TaskSpec(name="style", kind="multiclass")
    with pytest.raises(CrossValidationError, match=rf"2 clip\(s\) have no 'style' label: '{ids[2]}', '{ids[4]}'"):
        task_labels(spec, labels, ids)
    with pytest.warns(CrossValidationWarning, match="leaving out 2 clip"):
        got = task_labels(TaskSpec(name="style", kind="multiclass", missing="drop"), labels, ids)
    assert got.index.tolist() == [0, 1, 3, 5] and got.dropped == [ids[2], ids[4]]


def test_task_missing_from_data_names_task_and_columns(bandai1):
    labels = [c.labels for c in bandai1]
    with pytest.raises(CrossValidationError, match=r"task 'updrs' uses label column 'updrs', which no clip has; "
                                                   r"available columns: \[.*'content'.*'style'.*\]"):  # fmt: skip
        task_labels(TaskSpec(name="updrs", kind="regression"), labels)


def test_single_class_task_is_an_error(bandai1):
    labels = [c.labels for c in bandai1]
    with pytest.raises(CrossValidationError, match="task 'x' has 1 class"):
        task_labels(TaskSpec(name="x", kind="binary", column="style", positive=["no-such-style"]), labels)


def test_load_task_specs_from_yaml(tmp_path):
    specs = load_task_specs(REPO / "recipes" / "baseline_kinematic.yaml")
    assert [s.name for s in specs] == ["style", "content", "tired_vs_normal"]
    assert specs[2].positive == ["old", "tired", "elderly", "exhausted"] and specs[2].column == "style"
    assert specs[2].to_target() == {"name": "tired_vs_normal", "kind": "binary", "weight": 1.0}
    assert specs[0].to_target(["a", "b", "c"])["num_classes"] == 3

    bad = tmp_path / "bad.yaml"
    for text, message in [
        ("tasks:\n  - {name: a, kind: binary, colour: red}\n", "unknown key"),
        ("tasks:\n  - {name: a, kind: ordinal}\n", "kind must be one of"),
        ("tasks:\n  - {name: a, kind: binary}\n  - {name: a, kind: regression}\n", "more than once"),
        ("tasks: []\n", "non-empty list"),
        ("other: 1\n", "no 'tasks:' list"),
        ("tasks:\n  - {name: a, kind: regression, positive: [x]}\n", "only apply to binary"),
    ]:
        bad.write_text(text)
        with pytest.raises(CrossValidationError, match=message):
            load_task_specs(bad)
    with pytest.raises(CrossValidationError, match="cannot read the task file"):
        load_task_specs(tmp_path / "missing.yaml")


# ------------------------------------------------------------------ windows and metrics
def test_aggregate_window_predictions_hand_case():
    clips = ["b", "a", "b", "b", "a"]
    order, p = aggregate_window_predictions(clips, np.array([0.2, 0.9, 0.4, 0.6, 0.7]), "binary")
    assert order == ["b", "a"]
    np.testing.assert_allclose(p, [0.4, 0.8])

    probs = np.array([[0.5, 0.5, 0.0], [0.1, 0.1, 0.8], [0.3, 0.3, 0.4], [0.1, 0.8, 0.1], [0.3, 0.3, 0.4]])
    order, p = aggregate_window_predictions(clips, probs, "multiclass")
    np.testing.assert_allclose(p, [[0.9 / 3, 1.6 / 3, 0.5 / 3], [0.2, 0.2, 0.6]])

    _, p = aggregate_window_predictions(clips, np.array([1.0, 10.0, 2.0, 6.0, 20.0]), "regression")
    np.testing.assert_allclose(p, [3.0, 15.0])

    # logits: sigmoid(0) = 0.5 and sigmoid(ln 3) = 0.75 -> mean 0.625
    _, p = aggregate_window_predictions(["x", "x"], np.array([0.0, math.log(3.0)]), "binary", from_logits=True)
    np.testing.assert_allclose(p, [0.625])
    _, p = aggregate_window_predictions(["x"], np.array([[0.0, math.log(3.0)]]), "multiclass", from_logits=True)
    np.testing.assert_allclose(p, [[0.25, 0.75]])


@pytest.mark.parametrize(
    "clips, outputs, kind, message",
    [
        (["a", "b"], np.array([0.5]), "binary", "2 clip ids for 1 window outputs"),
        (["a"], np.array([1.5]), "binary", r"probabilities in \[0, 1\]"),
        (["a"], np.array([[0.5, 0.6]]), "multiclass", "summing to 1"),
        (["a"], np.array([0.5]), "multiclass", r"\(windows, classes\)"),
        (["a", "b"], np.array([0.5, np.nan]), "regression", "window 1 \\(clip 'b'\\) has a non-finite output"),
        (["a"], np.array([0.5]), "ordinal", "kind must be one of"),
    ],
)
def test_aggregate_window_predictions_errors(clips, outputs, kind, message):
    with pytest.raises(ValueError, match=message):
        aggregate_window_predictions(clips, outputs, kind)


def test_task_metrics_and_summary_hand_cases():
    m = task_metrics("binary", np.array([0, 0, 1, 1]), np.array([0.1, 0.6, 0.4, 0.9]))
    # ranks: one of four positive/negative pairs is mis-ordered -> AUC 0.75; at 0.5: TP 1, FP 1, FN 1
    assert m == {"auc": 0.75, "f1": 0.5, "accuracy": 0.5}
    assert math.isnan(task_metrics("binary", np.array([1, 1]), np.array([0.3, 0.8]))["auc"])
    mc = task_metrics("multiclass", np.array([0, 1, 2]), np.array([[0.9, 0.1, 0], [0.2, 0.7, 0.1], [0.6, 0.3, 0.1]]))
    assert mc["accuracy"] == pytest.approx(2 / 3)
    assert task_metrics("regression", np.array([1.0, 3.0]), np.array([2.0, 1.0]))["rmse"] == pytest.approx(math.sqrt(2.5))

    s = summarize_folds([{"auc": 0.5, "f1": 1.0}, {"auc": float("nan"), "f1": 0.0}, {"auc": 1.0, "f1": 0.5}])
    assert s["auc"] == {"mean": 0.75, "std": 0.25, "n_folds": 2}
    assert s["f1"]["mean"] == pytest.approx(0.5) and s["f1"]["std"] == pytest.approx(math.sqrt(1 / 6))
    assert format_mean_std(s["auc"]) == "0.750 ± 0.250 (2 folds)"
    assert format_mean_std({"mean": float("nan"), "std": float("nan"), "n_folds": 0}) == "n/a (0 folds)"
