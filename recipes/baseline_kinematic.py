"""Random forest on hand-made kinematic features, under grouped cross-validation.

The baseline M5 compared its fine-tuned models with (Li et al.'s forest, which often won): per-clip
speed / acceleration / jerk statistics, range of motion and frequency-band power of every joint
(:mod:`hf_motion.features`), one scikit-learn random forest per task per fold, on the same
grouped folds as ``recipes/finetune.py`` (:func:`hf_motion.cv.group_folds` with the same scheme,
number of folds and seed).

Usage::

    python recipes/baseline_kinematic.py                                    # Bandai dataset-1, 5 grouped folds
    python recipes/baseline_kinematic.py recipes/baseline_kinematic.yaml --n_splits 3 --cv_scheme kfold
    python recipes/baseline_kinematic.py --data bandai-namco:dataset-2      # elderly / exhausted styles
    python recipes/baseline_kinematic.py --data /path/to/clips --labels labels.csv --group_by patient \\
        --tasks my_tasks.yaml                                               # any labelled motion folder

A YAML config (first argument) sets any option below; command-line options override it. Its
``tasks:`` list declares the tasks (see :func:`hf_motion.cv.load_task_specs`); ``--tasks`` points
at another YAML holding one. Without either, the tasks of ``recipes/baseline_kinematic.yaml`` are
used (only its tasks: the other options keep the defaults below).

Writes to ``output_dir``:

* ``metrics_per_fold.csv``: task, fold, train/test sizes, every metric;
* ``predictions_<task>.csv``: every clip's out-of-fold prediction (fold, clip, group, truth,
  prediction, class probabilities);
* ``folds.csv``: the fold of every clip (the test fold it belongs to);
* ``summary.json`` / ``summary.md``: mean ± std over folds (and the number of folds) per task and
  metric, the metric over all out-of-fold predictions pooled, and the top features.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import sys
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from hf_motion.cv import (
    CV_SCHEMES,
    CrossValidationError,
    CrossValidationWarning,
    TaskLabels,
    check_fold_classes,
    format_mean_std,
    group_folds,
    load_task_specs,
    summarize_folds,
    task_labels,
    task_metrics,
)
from hf_motion.fileio import atomic_write_text
from hf_motion.recipe_args import recipe_parser

logger = logging.getLogger("baseline_kinematic")

DEFAULT_CONFIG = Path(__file__).with_suffix(".yaml")


@dataclass
class DataArguments:
    """Which clips, labels and groups."""

    data: str = field(
        default="bandai-namco:dataset-1",
        metadata={"help": "A folder of motion files, or a named source: bandai-namco:dataset-1, bandai-namco:dataset-2, "
                  "bandai-namco:dataset-1,dataset-2."},  # fmt: skip
    )
    pattern: str = field(default="**/*.bvh", metadata={"help": "Glob pattern of motion files inside a folder."})
    labels: str | None = field(default=None, metadata={"help": "CSV/JSON of per-clip labels for a folder (key column clip/file/path/name)."})
    group_by: str | None = field(
        default=None,
        metadata={"help": "Cross-validation group: a label name (e.g. patient), 'parent' (sub-folder), 'clip'; for Bandai "
                  "'session' (default), 'style' or 'clip'. Folders default to 'clip', which leaks repeated recordings "
                  "of one person across folds: set it to the patient."},  # fmt: skip
    )
    where: list[str] = field(
        default_factory=list,
        metadata={"help": "Keep only clips whose label matches: column=value1,value2 (repeatable)."},
    )
    max_clips: int | None = field(default=None, metadata={"help": "Use at most this many clips (whole groups, seeded)."})
    joints: str | None = field(
        default=None,
        metadata={"help": "Joint subset for the features: 'all' (default: every joint of each clip's skeleton), 'auto' "
                  "(the core body joints found by name; bandai-core on Bandai-Namco), a registered subset or "
                  "comma-separated joint names."},
    )


@dataclass
class CVArguments:
    """Tasks and folds (keep them equal to the fine-tuning run's to compare)."""

    tasks: str | None = field(default=None, metadata={"help": f"YAML with a 'tasks:' list (default: the tasks in {DEFAULT_CONFIG.name})."})
    cv_scheme: str = field(default="kfold", metadata={"help": f"One of {list(CV_SCHEMES)}: leave one group out, or k folds of groups."})
    n_splits: int = field(default=5, metadata={"help": "Number of folds for kfold."})
    seed: int = field(default=0, metadata={"help": "Seed of the folds and the forests."})
    stratify_by: str | None = field(default=None, metadata={"help": "Task whose classes stratify the k folds (StratifiedGroupKFold)."})
    single_class_folds: str = field(
        default="error",
        metadata={"help": "A training fold with one class: 'error' (default) or 'skip' the fold for that task (warned)."},
    )


@dataclass
class ForestArguments:
    """scikit-learn RandomForest settings."""

    n_estimators: int = field(default=300, metadata={"help": "Trees per forest."})
    max_depth: int | None = field(default=None, metadata={"help": "Maximum tree depth (default: unlimited)."})
    min_samples_leaf: int = field(default=1, metadata={"help": "Minimum clips per leaf."})
    max_features: str = field(default="sqrt", metadata={"help": "Features tried per split: sqrt, log2 or a fraction like 0.3."})
    class_weight: str | None = field(default="balanced", metadata={"help": "balanced (default) or none."})
    n_jobs: int = field(default=1, metadata={"help": "Parallel jobs per forest (-1: all cores)."})


@dataclass
class OutputArguments:
    output_dir: str = field(default="runs/baseline_kinematic", metadata={"help": "Where the metrics and predictions go."})
    progress: bool = field(default=True, metadata={"help": "Show progress bars."})


ARGUMENT_CLASSES = (DataArguments, CVArguments, ForestArguments, OutputArguments)


# ------------------------------------------------------------------ arguments
def parse_arguments(argv: Sequence[str] | None = None):
    """``(data, cv, forest, output, inline_tasks)`` from an optional YAML config plus command-line options."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0].lower().endswith((".yaml", ".yml")):  # the older positional form: same as --config
        argv = ["--config", argv[0], *argv[1:]]
    parser, argv, extracted, config_path = recipe_parser(ARGUMENT_CLASSES, argv, extract=("tasks",))
    inline_tasks = None
    if config_path is not None:
        tasks = extracted.get("tasks")
        if isinstance(tasks, list):
            inline_tasks = (tasks, config_path)
        elif tasks is not None:
            parser.set_defaults(tasks=tasks)
    data, cv, forest, out = parser.parse_args_into_dataclasses(args=argv)
    if cv.tasks is not None:
        inline_tasks = None
    return data, cv, forest, out, inline_tasks


# ------------------------------------------------------------------ data
def load_clips(args: DataArguments, seed: int):
    """The :class:`~hf_motion.datasets.MotionCollection` the arguments describe (filtered, subsampled)."""
    from hf_motion.datasets import MotionFolder, bandai_namco
    from hf_motion.datasets.bandai import BANDAI_GROUPINGS

    name, _, options = args.data.partition(":")
    if name == "bandai-namco" and not Path(args.data).exists():
        group_by = args.group_by or "session"
        if group_by not in BANDAI_GROUPINGS:
            raise SystemExit(f"--group_by for Bandai-Namco must be one of {list(BANDAI_GROUPINGS)}, got {group_by!r}")
        subsets = [s for s in options.split(",") if s] or ["dataset-1", "dataset-2"]
        collection = bandai_namco(subsets=subsets, group_by=group_by, progress=True)
    else:
        if args.group_by is None:
            logger.warning(
                "no --group_by given: every clip is its own group, so repeated recordings of one person can land in "
                "both training and test folds; pass --group_by <patient label> for honest numbers"
            )
        collection = MotionFolder(args.data, pattern=args.pattern, labels=args.labels, group_by=args.group_by or "clip")
    for rule in args.where:
        column, sep, values = rule.partition("=")
        if not sep or not column or not values:
            raise SystemExit(f"--where {rule!r}: expected column=value1,value2")
        keep = {v.strip() for v in values.split(",")}
        if not any(column in c.labels for c in collection):
            raise SystemExit(f"--where {rule!r}: no clip has a {column!r} label; labels: {collection.label_keys}")
        collection = collection.filter(lambda c, col=column, keep=keep: str(c.labels.get(col)) in keep)
        if not len(collection):
            raise SystemExit(f"--where {rule!r} leaves no clips")
    if args.max_clips is not None and len(collection) > args.max_clips:
        groups = collection.groups
        order = np.random.default_rng(seed).permutation(len(groups))
        chosen, count = set(), 0
        sizes = {g: 0 for g in groups}
        for c in collection:
            sizes[c.group] += 1
        for k in order:
            if count >= args.max_clips:
                break
            chosen.add(groups[k])
            count += sizes[groups[k]]
        collection = collection.filter(lambda c: c.group in chosen)
    return collection


# ------------------------------------------------------------------ model
def _forest(kind: str, args: ForestArguments, seed: int):
    from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor

    max_features: Any = args.max_features
    try:
        max_features = float(max_features)
    except ValueError:
        pass
    common = dict(
        n_estimators=args.n_estimators,
        max_depth=args.max_depth,
        min_samples_leaf=args.min_samples_leaf,
        max_features=max_features,
        n_jobs=args.n_jobs,
        random_state=seed,
    )
    if kind == "regression":
        return RandomForestRegressor(**common)
    weight = None if (args.class_weight or "none").lower() == "none" else args.class_weight
    return RandomForestClassifier(class_weight=weight, **common)


def _full_proba(model, X: np.ndarray, n_classes: int) -> np.ndarray:
    """Class probabilities with a column for every class, also those absent from the training fold."""
    proba = model.predict_proba(X)
    out = np.zeros((X.shape[0], n_classes))
    out[:, model.classes_.astype(np.int64)] = proba
    return out


def run_task(
    labels: TaskLabels,
    X: np.ndarray,
    folds: list[tuple[np.ndarray, np.ndarray]],
    forest: ForestArguments,
    seed: int,
    on_single_class: str,
    progress: bool = False,
) -> dict[str, Any]:
    """Fit and evaluate one task on every fold: per-fold metrics, out-of-fold predictions, importances."""
    from tqdm.auto import tqdm

    task = labels.task
    # Position of each clip in the task (-1: not part of it).
    where = np.full(X.shape[0], -1, dtype=np.int64)
    where[labels.index] = np.arange(labels.index.size)
    task_folds = []
    for train, test in folds:
        tr, te = where[train], where[test]
        task_folds.append((tr[tr >= 0], te[te >= 0]))
    usable = [True] * len(folds)
    if task.kind != "regression":
        usable = check_fold_classes(
            task_folds, labels.y, task=task.name, on_single_class=on_single_class, class_names=labels.classes
        )
    Xt = X[labels.index]
    n_classes = len(labels.classes) if task.kind == "multiclass" else 2
    rows, predictions, importances = [], [], []
    fold_iter = tqdm(list(enumerate(zip(task_folds, usable))), desc=f"forest {task.name}", unit="fold", disable=not progress)
    for k, ((tr, te), ok) in fold_iter:
        row: dict[str, Any] = {"task": task.name, "fold": k, "n_train": int(tr.size), "n_test": int(te.size)}
        if te.size == 0 or tr.size == 0 or not ok:
            row["skipped"] = "no test clips" if te.size == 0 else ("no training clips" if tr.size == 0 else "single class")
            rows.append(row)
            continue
        model = _forest(task.kind, forest, seed + k)
        model.fit(Xt[tr], labels.y[tr])
        if task.kind == "regression":
            pred = model.predict(Xt[te])
        elif task.kind == "binary":
            pred = _full_proba(model, Xt[te], 2)[:, 1]
        else:
            pred = _full_proba(model, Xt[te], n_classes)
        row.update(task_metrics(task.kind, labels.y[te], pred))
        row["skipped"] = ""
        rows.append(row)
        importances.append(model.feature_importances_)
        for i, p in zip(te, pred):
            predictions.append((k, int(labels.index[i]), float(labels.y[i]), p))
    return {"rows": rows, "predictions": predictions, "importances": importances}


# ------------------------------------------------------------------ outputs
def _csv_text(header: list[str], rows: list[list[Any]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue()


def _fmt(x: Any) -> Any:
    return f"{x:.6g}" if isinstance(x, float) else x


def _prediction_rows(labels: TaskLabels, result, clip_ids, groups) -> tuple[list[str], list[list[Any]]]:
    task = labels.task
    if task.kind == "regression":
        header = ["fold", "clip", "group", "y_true", "y_pred"]
    elif task.kind == "binary":
        header = ["fold", "clip", "group", "y_true", "y_pred", "p_1"]
    else:
        header = ["fold", "clip", "group", "y_true", "y_pred"] + [f"p_{c}" for c in labels.classes]
    rows = []
    for fold, clip, truth, p in sorted(result["predictions"], key=lambda r: (r[0], r[1])):
        base = [fold, clip_ids[clip], groups[clip]]
        if task.kind == "regression":
            rows.append(base + [_fmt(truth), _fmt(float(p))])
        elif task.kind == "binary":
            rows.append(base + [int(truth), int(p >= 0.5), _fmt(float(p))])
        else:
            rows.append(base + [labels.classes[int(truth)], labels.classes[int(np.argmax(p))]] + [_fmt(float(v)) for v in p])
    return header, rows


def _pooled_metrics(labels: TaskLabels, result) -> dict[str, float]:
    preds = result["predictions"]
    if not preds:
        return {}
    y = np.array([r[2] for r in preds])
    p = np.stack([np.asarray(r[3], dtype=np.float64) for r in preds])
    return task_metrics(labels.task.kind, y, p if labels.task.kind == "multiclass" else p.reshape(-1))


def summary_markdown(summary: dict[str, Any]) -> str:
    """One markdown table: task, kind, clips, metric, mean ± std over folds (number of folds), pooled."""
    lines = [
        f"Random forest on kinematic features, {summary['cv']['description']}.",
        "",
        "| task | kind | clips | metric | mean ± std over folds | pooled out-of-fold |",
        "|---|---|---:|---|---|---:|",
    ]
    for name, t in summary["tasks"].items():
        for metric, s in t["metrics"].items():
            pooled = t["pooled"].get(metric, float("nan"))
            lines.append(f"| {name} | {t['kind']} | {t['n_clips']} | {metric} | {format_mean_std(s)} | {pooled:.3f} |")
    return "\n".join(lines) + "\n"


def main(args: Sequence[str] | None = None) -> dict[str, Any]:
    """Run the baseline; returns the summary written to ``summary.json``."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    from hf_motion.features import feature_matrix

    data_args, cv_args, forest_args, out_args, inline = parse_arguments(args)
    if cv_args.single_class_folds not in ("error", "skip"):
        raise SystemExit(f"--single_class_folds must be 'error' or 'skip', got {cv_args.single_class_folds!r}")
    start = time.time()
    if inline is not None:
        tasks_list, origin = inline
        try:
            specs = load_task_specs({"tasks": tasks_list})
        except CrossValidationError as e:
            raise CrossValidationError(f"{origin}: {e}") from None
    else:
        specs = load_task_specs(cv_args.tasks or DEFAULT_CONFIG)

    collection = load_clips(data_args, cv_args.seed)
    clips = list(collection)
    clip_ids = [c.clip_id for c in clips]
    groups = [c.group for c in clips]
    clip_labels = [c.labels for c in clips]
    logger.info("%d clips in %d groups from %s", len(clips), len(set(groups)), data_args.data)

    # Labels first: a bad task or a missing label fails before any feature is computed.
    labels = {s.name: task_labels(s, clip_labels, clip_ids) for s in specs}

    strat = None
    if cv_args.stratify_by is not None:
        if cv_args.stratify_by not in labels:
            raise CrossValidationError(f"--stratify_by {cv_args.stratify_by!r} is not a task; tasks: {list(labels)}")
        lab = labels[cv_args.stratify_by]
        if lab.task.kind == "regression":
            raise CrossValidationError(f"--stratify_by {cv_args.stratify_by!r} is a regression task; stratify by a classification task")
        strat = np.full(len(clips), "(not in task)", dtype=object)
        strat[lab.index] = [str(v) for v in lab.y]
    folds = group_folds(groups, cv_args.cv_scheme, cv_args.n_splits, cv_args.seed, labels=strat, clip_ids=clip_ids)
    description = (
        f"leave-one-group-out ({len(folds)} folds)" if cv_args.cv_scheme == "logo" else f"{len(folds)}-fold grouped cross-validation"
    )
    logger.info("%s over %d groups", description, len(set(groups)))

    joints = data_args.joints
    if isinstance(joints, str) and joints.strip().lower() == "all":
        joints = None  # every joint (no subset to apply)
    X, feature_names = feature_matrix(clips, joints=joints, progress=out_args.progress)
    logger.info("%d kinematic features per clip", X.shape[1])

    out_dir = Path(out_args.output_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    fold_of = np.empty(len(clips), dtype=np.int64)
    for k, (_, test) in enumerate(folds):
        fold_of[test] = k
    atomic_write_text(out_dir / "folds.csv", _csv_text(["clip", "group", "fold"], [[c, g, int(f)] for c, g, f in zip(clip_ids, groups, fold_of)]))

    summary: dict[str, Any] = {
        "model": "random forest on kinematic features",
        "data": data_args.data,
        "n_clips": len(clips),
        "n_groups": len(set(groups)),
        "n_features": int(X.shape[1]),
        "cv": {"scheme": cv_args.cv_scheme, "n_folds": len(folds), "seed": cv_args.seed, "description": description,
               "stratify_by": cv_args.stratify_by},  # fmt: skip
        "arguments": {cls.__name__: asdict(a) for cls, a in zip(ARGUMENT_CLASSES, (data_args, cv_args, forest_args, out_args))},
        "tasks": {},
    }
    metric_rows: list[dict[str, Any]] = []
    for spec in specs:
        lab = labels[spec.name]
        result = run_task(lab, X, folds, forest_args, cv_args.seed, cv_args.single_class_folds, out_args.progress)
        metric_rows.extend(result["rows"])
        scored = [r for r in result["rows"] if not r["skipped"]]
        metric_names = [m for m in scored[0] if m not in ("task", "fold", "n_train", "n_test", "skipped")] if scored else []
        header, rows = _prediction_rows(lab, result, clip_ids, groups)
        atomic_write_text(out_dir / f"predictions_{spec.name}.csv", _csv_text(header, rows))
        top = []
        if result["importances"]:
            mean_imp = np.mean(result["importances"], axis=0)
            top = [[feature_names[i], float(mean_imp[i])] for i in np.argsort(mean_imp)[::-1][:10]]
        summary["tasks"][spec.name] = {
            "kind": spec.kind,
            "column": spec.column,
            "positive": spec.positive,
            "negative": spec.negative,
            "n_clips": int(lab.index.size),
            "classes": None if lab.classes is None else [str(c) for c in lab.classes],
            "metrics": summarize_folds([{m: r[m] for m in metric_names} for r in scored]),
            "pooled": _pooled_metrics(lab, result),
            "skipped_folds": [{"fold": r["fold"], "reason": r["skipped"]} for r in result["rows"] if r["skipped"]],
            "top_features": top,
        }
    all_metrics: list[str] = []
    for r in metric_rows:
        all_metrics.extend(m for m in r if m not in ("task", "fold", "n_train", "n_test", "skipped") and m not in all_metrics)
    header = ["task", "fold", "n_train", "n_test", "skipped"] + all_metrics
    atomic_write_text(
        out_dir / "metrics_per_fold.csv",
        _csv_text(header, [[_fmt(r.get(h, "")) for h in header] for r in metric_rows]),
    )
    summary["seconds"] = round(time.time() - start, 2)
    atomic_write_text(out_dir / "summary.json", json.dumps(summary, indent=2, default=str) + "\n")
    table = summary_markdown(summary)
    atomic_write_text(out_dir / "summary.md", table)
    print(table)
    print(f"wrote {out_dir}/summary.md, summary.json, metrics_per_fold.csv, predictions_<task>.csv, folds.csv")
    return summary


if __name__ == "__main__":
    with warnings.catch_warnings():
        warnings.simplefilter("always", CrossValidationWarning)
        main()
