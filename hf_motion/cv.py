"""Grouped cross-validation for clinical-style evaluation: task declarations, folds, window
aggregation and per-fold metrics.

M5 evaluated its fine-tuned models with leave-one-patient-out cross-validation and reported
mean ± sigma over folds. Here:

* :class:`TaskSpec` / :func:`load_task_specs`: the tasks of a run (label column, kind, how the
  column maps to classes), usually from a YAML file with a ``tasks:`` list;
* :func:`task_labels`: one task's targets for a list of clips, with clear errors for a missing
  label or a task column that the data does not have;
* :func:`group_folds`: leave-one-group-out or k-fold *by group* (a patient, a recording session),
  so that no group is on both sides of a split; :func:`inner_validation_split` carves a
  validation set (for early stopping) out of a training fold, again by group, so the test fold
  is never seen;
* :func:`check_fold_classes`: what to do when a training fold holds a single class;
* :func:`aggregate_window_predictions`: clip-level predictions from sliding-window ones;
* :func:`run_feature_task`: any scikit-learn estimator on one feature row per clip, fold by fold
  (the random forest and the linear probes);
* :func:`task_metrics` / :func:`summarize_folds`: AUC, F1, accuracy, RMSE per fold and
  mean ± std over folds (plain numpy from :mod:`hf_motion.metrics`, no network).

Bad input, and what happens:

=====================================  ===============================================================
a group with only one clip             :class:`CrossValidationWarning` (the fold that tests it has one
                                       clip, so its per-fold AUC/F1 may be undefined or noisy); the
                                       split still runs.
a training fold with a single class    :class:`CrossValidationError` by default; with
                                       ``on_single_class="skip"`` a warning, and that fold is left
                                       out for that task (reported as skipped).
a test fold holding a class that its   :class:`CrossValidationWarning` naming the task, fold and
training fold lacks                    class: the model cannot predict that class, so the fold's
                                       accuracy counts those clips as errors; the fold still runs.
a label missing for a clip             :class:`CrossValidationError` naming the clip(s); with a
                                       task's ``missing: drop`` a warning, and the clip is left out
                                       of that task only.
a task whose column the data lacks     :class:`CrossValidationError` naming the task, the column and
                                       the columns that exist.
=====================================  ===============================================================
"""

from __future__ import annotations

import math
import os
import warnings
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .evaluation import metrics as _metrics

__all__ = [
    "CrossValidationError",
    "CrossValidationWarning",
    "TaskSpec",
    "TaskLabels",
    "load_task_specs",
    "task_labels",
    "CV_SCHEMES",
    "group_folds",
    "inner_validation_split",
    "check_fold_classes",
    "warn_unseen_test_classes",
    "aggregate_window_predictions",
    "task_metrics",
    "summarize_folds",
    "format_mean_std",
    "CrossValidationArguments",
    "resolve_tasks",
    "stratification_labels",
    "task_folds",
    "describe_folds",
    "fold_of_clips",
    "FoldScore",
    "OutOfFoldPrediction",
    "summarize_scores",
    "pooled_metrics",
    "FeatureTaskResult",
    "full_class_probabilities",
    "run_feature_task",
]

CV_SCHEMES = ("logo", "kfold")
TASK_KINDS = ("binary", "multiclass", "regression")


class CrossValidationError(ValueError):
    """Bad cross-validation input; the message names the task, clip, fold or column at fault."""


class CrossValidationWarning(UserWarning):
    """A documented fallback was taken (single-clip groups, skipped folds, dropped clips)."""


# ------------------------------------------------------------------ tasks
@dataclass
class TaskSpec:
    """One evaluation/fine-tuning task.

    Args:
        name: task name (letters, digits, ``_``, ``-``): used for heads, metrics and file names.
        kind: ``"binary"``, ``"multiclass"`` or ``"regression"``.
        column: the clip label holding the value (default: ``name``).
        positive: binary tasks on a non-0/1 column: the values that count as 1
            (``["elderly", "exhausted"]``).
        negative: the values that count as 0 (default: every other value). Clips whose value is
            in neither list are *not part of the task* (not an error).
        classes: multiclass tasks: the classes, in output order (default: the sorted distinct
            values). Clips with another value are not part of the task.
        weight: loss weight in a multi-task model.
        missing: ``"error"`` (default): a clip without a value is an error naming it; ``"drop"``:
            such clips are left out of this task, with a warning.
    """

    name: str
    kind: str
    column: str | None = None
    positive: list[Any] | None = None
    negative: list[Any] | None = None
    classes: list[Any] | None = None
    weight: float = 1.0
    missing: str = "error"

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name or not all(c.isalnum() or c in "_-" for c in self.name):
            raise CrossValidationError(f"task name {self.name!r}: use letters, digits, '_' or '-'")
        if self.kind not in TASK_KINDS:
            raise CrossValidationError(f"task {self.name!r}: kind must be one of {list(TASK_KINDS)}, got {self.kind!r}")
        if self.column is None:
            self.column = self.name
        for key in ("positive", "negative", "classes"):
            value = getattr(self, key)
            if value is not None and (isinstance(value, (str, bytes)) or not isinstance(value, Iterable)):
                value = [value]
            if value is not None:
                value = list(value)
                if not value:
                    raise CrossValidationError(f"task {self.name!r}: {key} is an empty list")
                setattr(self, key, value)
        if self.kind != "binary" and (self.positive is not None or self.negative is not None):
            raise CrossValidationError(f"task {self.name!r}: positive/negative only apply to binary tasks")
        if self.kind == "binary" and self.negative is not None and self.positive is None:
            raise CrossValidationError(f"task {self.name!r}: negative is given without positive")
        if self.kind != "multiclass" and self.classes is not None:
            raise CrossValidationError(f"task {self.name!r}: classes only apply to multiclass tasks")
        if self.positive is not None and self.negative is not None:
            both = {_key(v) for v in self.positive} & {_key(v) for v in self.negative}
            if both:
                raise CrossValidationError(f"task {self.name!r}: {sorted(both)} are both positive and negative")
        if isinstance(self.weight, bool) or not isinstance(self.weight, (int, float)) or not math.isfinite(self.weight) or self.weight < 0:
            raise CrossValidationError(f"task {self.name!r}: weight must be a finite number >= 0, got {self.weight!r}")
        if self.missing not in ("error", "drop"):
            raise CrossValidationError(f"task {self.name!r}: missing must be 'error' or 'drop', got {self.missing!r}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_target(self, classes: Sequence[Any] | None = None) -> dict[str, Any]:
        """The :class:`~hf_motion.MotionMultiTaskConfig` target for this task
        (``classes``: the resolved class names, from :attr:`TaskLabels.classes`)."""
        out: dict[str, Any] = {"name": self.name, "kind": self.kind, "weight": float(self.weight)}
        classes = list(classes) if classes is not None else self.classes
        if self.kind == "multiclass":
            if classes is None:
                raise CrossValidationError(
                    f"task {self.name!r}: the number of classes is only known from the data; pass the classes "
                    "found by task_labels(...).classes"
                )
            out["num_classes"] = len(classes)
        if classes is not None and self.kind != "regression":
            out["classes"] = [str(c) for c in classes]
        return out


@dataclass
class TaskLabels:
    """One task's targets over a list of clips.

    Args:
        task: the :class:`TaskSpec`.
        index: positions (into the clip list given to :func:`task_labels`) of the clips in the task.
        y: their targets: 0/1 (binary), class index (multiclass) or float (regression).
        classes: class names in index order (binary: ``[negative, positive]`` descriptions), or None.
        dropped: clip ids left out because their label was missing (``missing: drop``).
    """

    task: TaskSpec
    index: np.ndarray
    y: np.ndarray
    classes: list[Any] | None
    dropped: list[str] = field(default_factory=list)


_SPEC_KEYS = {f for f in TaskSpec.__dataclass_fields__}


def load_task_specs(source: str | os.PathLike | Sequence[Mapping[str, Any] | TaskSpec] | Mapping[str, Any]) -> list[TaskSpec]:
    """Task declarations from a YAML file (a ``tasks:`` list, or a list at top level), a mapping with a
    ``tasks`` key, or a list of dicts / :class:`TaskSpec`.

    Example YAML::

        tasks:
          - {name: style, kind: multiclass}
          - {name: screen, kind: binary, column: style, positive: [elderly, exhausted], negative: [normal]}
          - {name: updrs, kind: regression, missing: drop}

    Raises:
        CrossValidationError: unreadable file, no tasks, unknown keys, bad values or duplicate names
            (naming the file and the task).
    """
    where = "task list"
    data: Any = source
    if isinstance(source, (str, os.PathLike)):
        import yaml

        path = Path(source)
        where = str(path)
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as e:
            raise CrossValidationError(f"cannot read the task file {path}: {e}") from None
    if isinstance(data, Mapping):
        if "tasks" not in data:
            raise CrossValidationError(f"{where}: no 'tasks:' list (keys: {sorted(data)})")
        data = data["tasks"]
    if not isinstance(data, (list, tuple)) or not data:
        raise CrossValidationError(f"{where}: 'tasks' must be a non-empty list of tasks, got {data!r}")
    specs: list[TaskSpec] = []
    for i, item in enumerate(data):
        if isinstance(item, TaskSpec):
            specs.append(item)
            continue
        if not isinstance(item, Mapping):
            raise CrossValidationError(f"{where}: tasks[{i}] must be a mapping like {{name: style, kind: multiclass}}, got {item!r}")
        unknown = sorted(set(item) - _SPEC_KEYS)
        if unknown:
            raise CrossValidationError(f"{where}: task {item.get('name', i)!r} has unknown key(s) {unknown}; allowed: {sorted(_SPEC_KEYS)}")
        if "name" not in item or "kind" not in item:
            raise CrossValidationError(f"{where}: tasks[{i}] needs a name and a kind")
        try:
            specs.append(TaskSpec(**dict(item)))
        except CrossValidationError as e:
            raise CrossValidationError(f"{where}: {e}") from None
    names = [s.name for s in specs]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise CrossValidationError(f"{where}: task name(s) {dup} declared more than once")
    return specs


def _key(value: Any) -> str:
    """Comparison key for label values: 1, 1.0, "1" and True all match "1"."""
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and value.strip() == ""


def task_labels(task: TaskSpec, clip_labels: Sequence[Mapping[str, Any]], clip_ids: Sequence[str] | None = None) -> TaskLabels:
    """Targets of ``task`` for clips whose labels are ``clip_labels`` (one mapping per clip).

    Binary: with ``positive`` given, values in it -> 1, values in ``negative`` (or every other value
    when ``negative`` is not given) -> 0, the rest are left out; without it the column must hold
    0/1 (or booleans). Multiclass: class index in ``classes`` (default: the sorted distinct values;
    values outside ``classes`` are left out). Regression: the value as a float.

    Raises:
        CrossValidationError: the column exists in no clip (naming the task, the column and the
            available columns); a clip has no value (naming it) unless ``missing="drop"``; a value
            that cannot be read for the kind; fewer than two classes (classification) in the task.
    """
    n = len(clip_labels)
    ids = [str(c) for c in clip_ids] if clip_ids is not None else [f"clip #{i}" for i in range(n)]
    if len(ids) != n:
        raise CrossValidationError(f"{len(ids)} clip ids for {n} label records")
    col = task.column
    have = [col in lab for lab in clip_labels]
    if not any(have):
        available = sorted({k for lab in clip_labels for k in lab})
        raise CrossValidationError(f"task {task.name!r} uses label column {col!r}, which no clip has; available columns: {available}")
    values = [lab.get(col) for lab in clip_labels]
    missing = [i for i, v in enumerate(values) if _is_missing(v)]
    dropped: list[str] = []
    if missing:
        names = [ids[i] for i in missing]
        if task.missing == "error":
            shown = ", ".join(repr(x) for x in names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
            raise CrossValidationError(
                f"task {task.name!r}: {len(names)} clip(s) have no {col!r} label: {shown}. Fix the labels, or set "
                f"'missing: drop' on the task to leave such clips out of it"
            )
        warnings.warn(
            f"task {task.name!r}: leaving out {len(names)} clip(s) without a {col!r} label (missing: drop), e.g. {names[0]!r}",
            CrossValidationWarning,
            stacklevel=2,
        )
        dropped = names
    keep = [i for i in range(n) if not _is_missing(values[i])]
    index: list[int] = []
    y: list[float] = []
    classes: list[Any] | None
    if task.kind == "regression":
        classes = None
        for i in keep:
            v = values[i]
            try:
                f = float(v)
            except (TypeError, ValueError):
                raise CrossValidationError(f"task {task.name!r} is a regression: clip {ids[i]!r} has {col}={v!r}, not a number") from None
            if not math.isfinite(f):
                raise CrossValidationError(f"task {task.name!r}: clip {ids[i]!r} has a non-finite {col}={v!r}")
            index.append(i)
            y.append(f)
    elif task.kind == "binary":
        if task.positive is not None:
            pos = {_key(v) for v in task.positive}
            neg = None if task.negative is None else {_key(v) for v in task.negative}
            for i in keep:
                k = _key(values[i])
                if k in pos:
                    index.append(i)
                    y.append(1.0)
                elif neg is None or k in neg:
                    index.append(i)
                    y.append(0.0)
            positive_name = "/".join(map(str, task.positive))
            negative_name = "not " + positive_name if neg is None else "/".join(map(str, task.negative))
            classes = [negative_name, positive_name]
        else:
            for i in keep:
                k = _key(values[i]).lower()
                if k in ("1", "true"):
                    y.append(1.0)
                elif k in ("0", "false"):
                    y.append(0.0)
                else:
                    raise CrossValidationError(
                        f"task {task.name!r} is binary but clip {ids[i]!r} has {col}={values[i]!r}; the column must "
                        "hold 0/1, or declare which values are positive with 'positive: [...]'"
                    )
                index.append(i)
            classes = [0, 1]
    else:
        if task.classes is not None:
            classes = list(task.classes)
        else:
            distinct = {_key(values[i]): values[i] for i in keep}
            try:
                classes = sorted(distinct.values())
            except TypeError:
                classes = [distinct[k] for k in sorted(distinct)]
        lookup = {_key(c): k for k, c in enumerate(classes)}
        for i in keep:
            k = lookup.get(_key(values[i]))
            if k is not None:
                index.append(i)
                y.append(float(k))
    y_arr = np.asarray(y, dtype=np.float64)
    if task.kind != "regression":
        present = np.unique(y_arr)
        if present.size < 2:
            seen = sorted({_key(values[i]) for i in keep})[:10]
            raise CrossValidationError(
                f"task {task.name!r} has {present.size} class(es) among {len(index)} clip(s); it needs two. "
                f"Values of {col!r} in the data: {seen}"
            )
    return TaskLabels(task, np.asarray(index, dtype=np.int64), y_arr, classes, dropped)


# ------------------------------------------------------------------ folds
def _groups_array(groups: Sequence[Any], clip_ids: Sequence[str] | None) -> np.ndarray:
    groups = list(groups)
    if not groups:
        raise CrossValidationError("no clips to split (groups is empty)")
    for i, g in enumerate(groups):
        if _is_missing(g):
            who = repr(clip_ids[i]) if clip_ids is not None else f"#{i}"
            raise CrossValidationError(f"clip {who} has no group; every clip needs one (e.g. its patient or session)")
    return np.asarray([str(g) for g in groups])


def _warn_single_clip_groups(g: np.ndarray) -> None:
    names, counts = np.unique(g, return_counts=True)
    single = names[counts == 1]
    if single.size:
        warnings.warn(
            f"{single.size} of {names.size} groups have a single clip (e.g. {str(single[0])!r}); a fold that tests such a "
            "group holds one clip, so its per-fold AUC/F1 can be undefined and its metrics are noisy. The split "
            "still keeps every group on one side.",
            CrossValidationWarning,
            stacklevel=3,
        )


def group_folds(
    groups: Sequence[Any],
    scheme: str = "kfold",
    n_splits: int = 5,
    seed: int = 0,
    labels: Sequence[Any] | None = None,
    clip_ids: Sequence[str] | None = None,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Cross-validation folds in which no group is on both sides.

    Args:
        groups: one group key per clip (patient, session, ...).
        scheme: ``"logo"``: leave one group out (one fold per group; ``n_splits`` is ignored), as
            M5's leave-one-patient-out; ``"kfold"``: ``n_splits`` folds of whole groups
            (scikit-learn's ``StratifiedGroupKFold`` when ``labels`` are given, so each fold keeps
            the class balance as far as the groups allow, else ``GroupKFold``), shuffled with ``seed``.
        n_splits: number of folds for ``"kfold"`` (2 .. number of groups).
        seed: shuffling seed for ``"kfold"`` (same inputs, same folds).
        labels: optional class label per clip to stratify k-fold (ignored by ``"logo"``).
        clip_ids: optional clip ids, used in error messages.

    Returns:
        ``[(train_idx, test_idx), ...]``: sorted int arrays; the test folds partition all clips.

    Warns:
        CrossValidationWarning: some groups hold a single clip (see the module docstring).
    """
    from sklearn.model_selection import GroupKFold, LeaveOneGroupOut, StratifiedGroupKFold

    g = _groups_array(groups, clip_ids)
    n_groups = np.unique(g).size
    if scheme not in CV_SCHEMES:
        raise CrossValidationError(f"unknown cross-validation scheme {scheme!r}; choose one of {list(CV_SCHEMES)}")
    if n_groups < 2:
        raise CrossValidationError(f"cross-validation needs at least 2 groups, got {n_groups} ({g[0]!r})")
    _warn_single_clip_groups(g)
    X = np.zeros((g.size, 1))
    if scheme == "logo":
        splits = LeaveOneGroupOut().split(X, groups=g)
    else:
        if isinstance(n_splits, bool) or not isinstance(n_splits, (int, np.integer)) or n_splits < 2:
            raise CrossValidationError(f"n_splits must be an integer >= 2, got {n_splits!r}")
        if n_splits > n_groups:
            raise CrossValidationError(
                f"n_splits={n_splits} is more than the {n_groups} groups; use n_splits <= {n_groups} or scheme='logo'"
            )
        if labels is not None:
            lab = list(labels)
            if len(lab) != g.size:
                raise CrossValidationError(f"{len(lab)} stratification labels for {g.size} clips")
            for i, v in enumerate(lab):
                if _is_missing(v):
                    who = repr(clip_ids[i]) if clip_ids is not None else f"#{i}"
                    raise CrossValidationError(f"clip {who} has no stratification label")
            y = np.asarray([_key(v) for v in lab])
            with warnings.catch_warnings():
                # "The least populated class has only k members": expected with small clinical data.
                warnings.filterwarnings("ignore", message="The least populated class", category=UserWarning)
                splits = list(StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed).split(X, y, groups=g))
        else:
            splits = GroupKFold(n_splits=n_splits, shuffle=True, random_state=seed).split(X, groups=g)
    folds = [(np.sort(tr).astype(np.int64), np.sort(te).astype(np.int64)) for tr, te in splits]
    empty = [k for k, (_, te) in enumerate(folds) if te.size == 0]
    if empty:
        raise CrossValidationError(f"fold(s) {empty} have no test clips; use fewer splits")
    return folds


def inner_validation_split(
    train_idx: Sequence[int], groups: Sequence[Any], fraction: float = 0.1, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Split a training fold into (inner training, validation) by group, for early stopping.

    Only clips in ``train_idx`` are used, so the validation set never touches the test fold.
    ``ceil(fraction * number of training groups)`` groups (at least one, and at least one left
    for training) go to validation, drawn with ``seed`` (scikit-learn's ``GroupShuffleSplit``).

    Args:
        train_idx: indices (into ``groups``) of the training fold.
        groups: the group of every clip (the full list, as given to :func:`group_folds`).
        fraction: share of the training groups held out, in (0, 1).

    Returns:
        ``(inner_train_idx, validation_idx)``, sorted subsets of ``train_idx``.
    """
    from sklearn.model_selection import GroupShuffleSplit

    if not (isinstance(fraction, (int, float)) and 0.0 < fraction < 1.0):
        raise CrossValidationError(f"the validation fraction must be in (0, 1), got {fraction!r}")
    train_idx = np.asarray(train_idx, dtype=np.int64)
    g_all = _groups_array(groups, None)
    if train_idx.size and (train_idx.min() < 0 or train_idx.max() >= g_all.size):
        raise CrossValidationError(f"train_idx holds indices outside 0..{g_all.size - 1}")
    g = g_all[train_idx]
    n_groups = np.unique(g).size
    if n_groups < 2:
        raise CrossValidationError(f"the training fold has {n_groups} group(s); a validation split by group needs at least 2")
    n_val = min(max(1, math.ceil(fraction * n_groups)), n_groups - 1)
    splitter = GroupShuffleSplit(n_splits=1, test_size=n_val, random_state=seed)
    inner, val = next(splitter.split(np.zeros((g.size, 1)), groups=g))
    return np.sort(train_idx[inner]), np.sort(train_idx[val])


def check_fold_classes(
    folds: Sequence[tuple[np.ndarray, np.ndarray]],
    y: np.ndarray,
    task: str = "task",
    on_single_class: str = "error",
    class_names: Sequence[Any] | None = None,
) -> list[bool]:
    """Check that every training fold holds at least two classes of ``y`` (classification tasks).

    A training fold with one class cannot teach a classifier anything: by default that is a
    :class:`CrossValidationError` naming the task, the fold and the class (use fewer folds,
    ``kfold`` with stratification, or another grouping). With ``on_single_class="skip"`` the fold
    is reported with a :class:`CrossValidationWarning` and marked unusable for this task.

    A usable fold whose test set holds a class that its training set lacks (multiclass tasks,
    e.g. grouping by the label itself) gets a :class:`CrossValidationWarning` naming the task,
    the fold and the class: the classifier never saw that class, so its accuracy on the fold
    counts those clips as errors. The fold stays usable.

    Args:
        folds: ``(train_idx, test_idx)`` pairs indexing ``y``.
        y: the task's targets.
        class_names: names of the class indices in ``y`` (for the message).

    Returns:
        One flag per fold: True if the fold can be used for this task.
    """
    if on_single_class not in ("error", "skip"):
        raise ValueError(f"on_single_class must be 'error' or 'skip', got {on_single_class!r}")
    y = np.asarray(y)
    usable = []
    for k, (train, test) in enumerate(folds):
        y_train = y[np.asarray(train, dtype=np.int64)]
        classes = np.unique(y_train)
        if classes.size >= 2:
            usable.append(True)
            warn_unseen_test_classes(y_train, y[np.asarray(test, dtype=np.int64)], task, k, class_names)
            continue
        if classes.size:
            what = f"class {_class_name(classes[0], class_names)!r}"
        else:
            what = "no clips"
        msg = f"task {task!r}: the training set of fold {k} holds a single class ({what})"
        if on_single_class == "error":
            raise CrossValidationError(
                msg + "; use fewer folds, k-fold with stratification, a coarser grouping, or on_single_class='skip' "
                "to leave such folds out of this task"
            )
        warnings.warn(msg + "; the fold is skipped for this task", CrossValidationWarning, stacklevel=2)
        usable.append(False)
    return usable


def _class_name(value: Any, class_names: Sequence[Any] | None) -> Any:
    """A class index from ``y`` as its name (or as a plain int/str)."""
    value = value.item() if hasattr(value, "item") else value
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if class_names is not None and isinstance(value, int) and 0 <= value < len(class_names):
        value = class_names[value]
    return value


def warn_unseen_test_classes(
    train_y: np.ndarray,
    test_y: np.ndarray,
    task: str,
    fold: int,
    class_names: Sequence[Any] | None = None,
    training_set: str = "training set",
) -> list[Any]:
    """Warn (:class:`CrossValidationWarning`) if ``test_y`` holds classes that ``train_y`` lacks.

    The message names the task, the fold, each such class and its number of test clips.
    Returns the names of those classes (empty if none).
    """
    train_y, test_y = np.asarray(train_y), np.asarray(test_y)
    seen = set(np.unique(train_y).tolist())
    values, counts = np.unique(test_y, return_counts=True)
    unseen = [(v, int(n)) for v, n in zip(values.tolist(), counts.tolist()) if v not in seen]
    if not unseen:
        return []
    names = [_class_name(v, class_names) for v, _ in unseen]
    listed = ", ".join(f"class {name!r} ({n} clip{'s' if n != 1 else ''})" for name, (_, n) in zip(names, unseen))
    what = "a class" if len(unseen) == 1 else f"{len(unseen)} classes"
    warnings.warn(
        f"task {task!r}: the test set of fold {fold} holds {what} that its {training_set} never has: {listed}; "
        "the model cannot predict such a class, so the fold's accuracy counts those clips as errors (use "
        "stratified k-fold, fewer folds or a grouping that does not follow the label)",
        CrossValidationWarning,
        stacklevel=3,
    )
    return names


# ------------------------------------------------------------------ windows -> clips
def aggregate_window_predictions(
    clip_ids: Sequence[Any], window_outputs: np.ndarray, kind: str, from_logits: bool = False
) -> tuple[list[Any], np.ndarray]:
    """Clip-level predictions from sliding-window ones.

    Binary and multiclass: the mean of the windows' probabilities (class 1 probability ``(N,)``,
    or class probabilities ``(N, C)``); regression: the mean of the windows' values.

    Args:
        clip_ids: the clip of each window (``N``).
        window_outputs: ``(N,)`` or ``(N, C)`` per-window outputs.
        kind: ``"binary"``, ``"multiclass"`` or ``"regression"``.
        from_logits: the outputs are logits: apply sigmoid (binary) or softmax (multiclass) first.

    Returns:
        ``(clips, predictions)``: clips in order of first appearance, and their predictions
        (``(n_clips,)`` or ``(n_clips, C)``).
    """
    if kind not in TASK_KINDS:
        raise ValueError(f"kind must be one of {list(TASK_KINDS)}, got {kind!r}")
    out = np.asarray(window_outputs, dtype=np.float64)
    ids = list(clip_ids)
    if out.shape[0] != len(ids):
        raise ValueError(f"{len(ids)} clip ids for {out.shape[0]} window outputs")
    if not ids:
        raise ValueError("no windows to aggregate")
    if kind == "multiclass":
        if out.ndim != 2 or out.shape[1] < 2:
            raise ValueError(f"multiclass window outputs must be (windows, classes), got shape {out.shape}")
    else:
        if out.ndim == 2 and out.shape[1] == 1:
            out = out[:, 0]
        if out.ndim != 1:
            raise ValueError(f"{kind} window outputs must be (windows,), got shape {out.shape}")
    if not np.all(np.isfinite(out)):
        row = int(np.argwhere(~np.isfinite(out))[0][0])
        raise ValueError(f"window {row} (clip {ids[row]!r}) has a non-finite output")
    if from_logits:
        if kind == "binary":
            out = 1.0 / (1.0 + np.exp(-out))
        elif kind == "multiclass":
            e = np.exp(out - out.max(axis=1, keepdims=True))
            out = e / e.sum(axis=1, keepdims=True)
    elif kind == "binary" and (out.min() < 0 or out.max() > 1):
        raise ValueError("binary window outputs must be probabilities in [0, 1] (pass from_logits=True for logits)")
    elif kind == "multiclass" and (out.min() < 0 or not np.allclose(out.sum(axis=1), 1.0, atol=1e-4)):
        raise ValueError("multiclass window outputs must be probability rows summing to 1 (pass from_logits=True for logits)")
    order: OrderedDict[Any, int] = OrderedDict()
    for c in ids:
        order.setdefault(c, len(order))
    inverse = np.fromiter((order[c] for c in ids), dtype=np.int64, count=len(ids))
    counts = np.bincount(inverse, minlength=len(order)).astype(np.float64)
    sums = np.zeros((len(order),) + out.shape[1:])
    np.add.at(sums, inverse, out)
    means = sums / counts.reshape((-1,) + (1,) * (out.ndim - 1))
    return list(order), means


# ------------------------------------------------------------------ metrics
def task_metrics(kind: str, y_true: np.ndarray, prediction: np.ndarray, threshold: float = 0.5) -> dict[str, float]:
    """Metrics of one task on one fold.

    * binary (``prediction`` = probability of class 1): ``auc`` (NaN when the fold holds one
      class), ``f1`` of the positive class at ``threshold``, ``accuracy``;
    * multiclass (``prediction`` = ``(N, C)`` probabilities): ``accuracy``, ``macro_f1`` (over the
      classes present in the fold's truth or predictions);
    * regression: ``rmse``.
    """
    y = np.asarray(y_true, dtype=np.float64)
    p = np.asarray(prediction, dtype=np.float64)
    if y.ndim != 1 or y.size == 0:
        raise ValueError(f"y_true must be a non-empty 1-D array, got shape {y.shape}")
    if kind == "binary":
        if p.shape != y.shape:
            raise ValueError(f"binary predictions must be (N,) probabilities, got shape {p.shape} for {y.size} clips")
        yi = y.astype(np.int64)
        pred = (p >= threshold).astype(np.int64)
        auc = _metrics.roc_auc(yi, p) if np.unique(yi).size == 2 else float("nan")
        return {"auc": auc, "f1": _metrics.macro_f1(yi, pred, labels=[1]), "accuracy": _metrics.accuracy(yi, pred)}
    if kind == "multiclass":
        if p.ndim != 2 or p.shape[0] != y.size:
            raise ValueError(f"multiclass predictions must be (N, C) probabilities, got shape {p.shape} for {y.size} clips")
        yi = y.astype(np.int64)
        pred = p.argmax(axis=1)
        return {"accuracy": _metrics.accuracy(yi, pred), "macro_f1": _metrics.macro_f1(yi, pred)}
    if kind == "regression":
        return {"rmse": _metrics.rmse(y, p.reshape(-1))}
    raise ValueError(f"kind must be one of {list(TASK_KINDS)}, got {kind!r}")


def summarize_folds(per_fold: Sequence[Mapping[str, float]]) -> dict[str, dict[str, float]]:
    """Mean ± std over folds of every metric: ``{metric: {"mean", "std", "n_folds"}}``.

    NaN entries (a metric undefined on a fold, e.g. AUC with one class) are left out and
    ``n_folds`` says how many folds remain. ``std`` is the population standard deviation over
    folds (``ddof=0``, as scikit-learn's ``cross_val_score(...).std()``); 0 for one fold.
    """
    names: list[str] = []
    for row in per_fold:
        names.extend(k for k in row if k not in names)
    out: dict[str, dict[str, float]] = {}
    for name in names:
        vals = np.asarray([row[name] for row in per_fold if name in row], dtype=np.float64)
        vals = vals[np.isfinite(vals)]
        if vals.size == 0:
            out[name] = {"mean": float("nan"), "std": float("nan"), "n_folds": 0}
        else:
            out[name] = {"mean": float(vals.mean()), "std": float(vals.std()), "n_folds": int(vals.size)}
    return out


def format_mean_std(summary: Mapping[str, float], digits: int = 3) -> str:
    """``"0.812 ± 0.041 (5 folds)"`` from one :func:`summarize_folds` entry."""
    if not summary.get("n_folds"):
        return "n/a (0 folds)"
    n = int(summary["n_folds"])
    return f"{summary['mean']:.{digits}f} ± {summary['std']:.{digits}f} ({n} fold{'s' if n != 1 else ''})"


# ------------------------------------------------------------------ a run's options
@dataclass
class CrossValidationArguments:
    """Tasks and folds, shared by fine-tuning and the kinematic baseline (equal options give equal folds)."""

    tasks: str | None = field(
        default=None,
        metadata={
            "help": "YAML with a 'tasks:' list (default: the config's tasks; on Bandai-Namco its style/content/tired-vs-normal tasks)."
        },  # fmt: skip
    )
    cv_scheme: str = field(default="kfold", metadata={"help": f"One of {list(CV_SCHEMES)}: leave one group out, or k folds of groups."})
    n_splits: int = field(default=5, metadata={"help": "Number of folds for kfold."})
    stratify_by: str | None = field(default=None, metadata={"help": "Task whose classes stratify the k folds (StratifiedGroupKFold)."})
    single_class_folds: str = field(
        default="error",
        metadata={"help": "A training fold with one class: 'error' (default) or 'skip' the fold for that task (warned)."},
    )
    validation_fraction: float = field(
        default=0.15, metadata={"help": "Fine-tuning: share of a training fold's groups held out for early stopping."}
    )

    def __post_init__(self) -> None:
        if self.cv_scheme not in CV_SCHEMES:
            raise CrossValidationError(f"--cv_scheme must be one of {list(CV_SCHEMES)}, got {self.cv_scheme!r}")
        if self.single_class_folds not in ("error", "skip"):
            raise CrossValidationError(f"--single_class_folds must be 'error' or 'skip', got {self.single_class_folds!r}")
        if not 0.0 <= self.validation_fraction < 1.0:
            raise CrossValidationError(f"--validation_fraction must be in [0, 1), got {self.validation_fraction}")


def resolve_tasks(
    tasks: str | os.PathLike | None,
    inline: tuple[list, Any] | None = None,
    default: str | os.PathLike | None = None,
) -> list[TaskSpec]:
    """The run's tasks: a ``tasks:`` list given inline in a config (``(list, config_path)``, named in
    errors), else the YAML file ``tasks``, else ``default``.

    Raises:
        CrossValidationError: no tasks anywhere, or a bad declaration (naming the file).
    """
    if inline is not None:
        tasks_list, origin = inline
        try:
            return load_task_specs({"tasks": tasks_list})
        except CrossValidationError as e:
            raise CrossValidationError(f"{origin}: {e}") from None
    source = tasks if tasks is not None else default
    if source is None:
        raise CrossValidationError("no tasks: give a config with a 'tasks:' list or --tasks tasks.yaml")
    return load_task_specs(source)


def stratification_labels(labels: Mapping[str, TaskLabels], stratify_by: str | None, n_clips: int) -> np.ndarray | None:
    """One stratification value per clip from a classification task (``None``: no stratification)."""
    if stratify_by is None:
        return None
    if stratify_by not in labels:
        raise CrossValidationError(f"stratify_by {stratify_by!r} is not a task; tasks: {list(labels)}")
    lab = labels[stratify_by]
    if lab.task.kind == "regression":
        raise CrossValidationError(f"stratify_by {stratify_by!r} is a regression task; stratify by a classification task")
    strat = np.full(n_clips, "(not in task)", dtype=object)
    strat[lab.index] = [str(v) for v in lab.y]
    return strat


def task_folds(lab: TaskLabels, folds: Sequence[tuple[np.ndarray, np.ndarray]], n_clips: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """``folds`` restricted to the clips of one task, as positions into ``lab.y`` (what
    :func:`check_fold_classes` takes)."""
    where = np.full(n_clips, -1, dtype=np.int64)
    where[lab.index] = np.arange(lab.index.size)
    out = []
    for train, test in folds:
        tr, te = where[train], where[test]
        out.append((tr[tr >= 0], te[te >= 0]))
    return out


def describe_folds(scheme: str, n_folds: int) -> str:
    """``"5-fold grouped cross-validation"`` or ``"leave-one-group-out (9 folds)"``."""
    return f"leave-one-group-out ({n_folds} folds)" if scheme == "logo" else f"{n_folds}-fold grouped cross-validation"


def fold_of_clips(folds: Sequence[tuple[np.ndarray, np.ndarray]], n_clips: int) -> np.ndarray:
    """The test fold of every clip."""
    out = np.full(n_clips, -1, dtype=np.int64)
    for k, (_, test) in enumerate(folds):
        out[test] = k
    return out


# ------------------------------------------------------------------ typed results
@dataclass
class FoldScore:
    """One system's metrics on one task's test fold (``skipped`` says why a fold was not scored)."""

    system: str
    task: str
    fold: int
    n_train: int
    n_test: int
    metrics: dict[str, float] = field(default_factory=dict)
    skipped: str = ""

    def row(self) -> dict[str, Any]:
        """The flat row of ``metrics_per_fold.csv``."""
        return {"model": self.system, "task": self.task, "fold": self.fold, "n_train": self.n_train,
                "n_test": self.n_test, "skipped": self.skipped, **self.metrics}  # fmt: skip


@dataclass
class OutOfFoldPrediction:
    """A clip's prediction by a model that never saw it: probability of class 1 (binary), one
    probability per class (multiclass) or the value (regression)."""

    system: str
    task: str
    fold: int
    clip: int  # index into the run's clip list
    truth: float
    prediction: Any

    def as_labels(self, lab: TaskLabels) -> tuple[Any, Any, float]:
        """``(truth, prediction, score)`` as the CSVs write them: class names (multiclass; score =
        the predicted class's probability), 0/1 (binary; score = probability of 1) or values."""
        kind = lab.task.kind
        if kind == "regression":
            value = float(np.asarray(self.prediction).reshape(-1)[0])
            return float(self.truth), value, value
        if kind == "binary":
            p = float(self.prediction)
            return int(self.truth), int(p >= 0.5), p
        p = np.asarray(self.prediction, dtype=np.float64)
        k = int(np.argmax(p))
        return str(lab.classes[int(self.truth)]), str(lab.classes[k]), float(p[k])


def summarize_scores(scores: Sequence[FoldScore]) -> dict[str, dict[str, float]]:
    """:func:`summarize_folds` over the scored (not skipped) folds."""
    return summarize_folds([s.metrics for s in scores if not s.skipped])


def pooled_metrics(kind: str, predictions: Sequence[OutOfFoldPrediction]) -> dict[str, float]:
    """The task's metrics over all out-of-fold predictions pooled."""
    if not predictions:
        return {}
    y = np.array([p.truth for p in predictions])
    pred = np.stack([np.asarray(p.prediction, dtype=np.float64) for p in predictions])
    return task_metrics(kind, y, pred if kind == "multiclass" else pred.reshape(-1))


# ------------------------------------------------------------------ estimators on per-clip features
@dataclass
class FeatureTaskResult:
    """One task's per-fold estimators: scores, out-of-fold predictions and (for estimators that
    have them, e.g. forests) feature importances."""

    labels: TaskLabels
    scores: list[FoldScore]
    predictions: list[OutOfFoldPrediction]
    importances: list[np.ndarray]

    def top_features(self, names: Sequence[str], k: int = 10) -> list[tuple[str, float]]:
        """The ``k`` features with the highest mean importance over folds."""
        if not self.importances:
            return []
        mean = np.mean(self.importances, axis=0)
        return [(names[i], float(mean[i])) for i in np.argsort(mean)[::-1][:k]]


def full_class_probabilities(model, X: np.ndarray, n_classes: int) -> np.ndarray:
    """``model.predict_proba`` with a column for every class, also those absent from the training fold."""
    proba = model.predict_proba(X)
    out = np.zeros((X.shape[0], n_classes))
    out[:, np.asarray(model.classes_).astype(np.int64)] = proba
    return out


def run_feature_task(
    labels: TaskLabels,
    X: np.ndarray,
    folds: Sequence[tuple[np.ndarray, np.ndarray]],
    make_model,
    system: str,
    seed: int,
    on_single_class: str = "error",
    progress: bool = False,
) -> FeatureTaskResult:
    """Fit and evaluate one task's estimator on every fold.

    Args:
        X: one feature row per clip of the run (``labels.index`` picks the task's clips).
        make_model: ``make_model(kind, seed) -> estimator`` with scikit-learn's ``fit`` and
            ``predict`` (regression) or ``predict_proba`` (binary, multiclass); called once per
            fold with ``seed + fold``.
        system: the name the scores and predictions carry.
    """
    from tqdm.auto import tqdm

    task = labels.task
    if X.ndim != 2:
        raise ValueError(f"{system}: X must be (clips, features), got shape {X.shape}")
    per_task = task_folds(labels, folds, X.shape[0])
    usable = [True] * len(folds)
    if task.kind != "regression":
        usable = check_fold_classes(per_task, labels.y, task=task.name, on_single_class=on_single_class, class_names=labels.classes)
    Xt = X[labels.index]
    n_classes = len(labels.classes) if task.kind == "multiclass" else 2
    result = FeatureTaskResult(labels, [], [], [])
    bar = tqdm(list(enumerate(zip(per_task, usable))), desc=f"{system} {task.name}", unit="fold", disable=not progress)
    for k, ((tr, te), ok) in bar:
        score = FoldScore(system, task.name, k, int(tr.size), int(te.size))
        result.scores.append(score)
        if te.size == 0 or tr.size == 0 or not ok:
            score.skipped = "no test clips" if te.size == 0 else ("no training clips" if tr.size == 0 else "single class")
            continue
        model = make_model(task.kind, seed + k)
        model.fit(Xt[tr], labels.y[tr])
        if task.kind == "regression":
            pred = model.predict(Xt[te])
        elif task.kind == "binary":
            pred = full_class_probabilities(model, Xt[te], 2)[:, 1]
        else:
            pred = full_class_probabilities(model, Xt[te], n_classes)
        score.metrics = task_metrics(task.kind, labels.y[te], pred)
        if hasattr(model, "feature_importances_"):
            result.importances.append(model.feature_importances_)
        for i, p in zip(te, pred):
            result.predictions.append(OutOfFoldPrediction(system, task.name, k, int(labels.index[i]), float(labels.y[i]), p))
    return result
