"""Random forest on hand-made kinematic features of whole clips, under grouped cross-validation.

The baseline M5 compared its fine-tuned models with (Li et al.'s forest, which often won):
per-clip speed / acceleration / jerk statistics, range of motion and frequency-band power of every
joint (:mod:`hf_motion.features`), one scikit-learn random forest per task per fold, on the folds
of :func:`hf_motion.cv.group_folds`. Fine-tuning (:mod:`hf_motion.finetuning`) runs
:func:`run_forest_task` on its own folds with ``compare=True``.

    from hf_motion.baselines.kinematic import run_kinematic_baseline
    from hf_motion.datasets.selection import ClipSelectionArguments
    from hf_motion.cv import CrossValidationArguments

    result = run_kinematic_baseline(ClipSelectionArguments(data="/path/to/clips", labels="labels.csv",
                                    group_by="patient"), CrossValidationArguments(tasks="tasks.yaml"))
    print(result.to_markdown())
    result.save("runs/baseline_kinematic")
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..cv import (
    CrossValidationArguments,
    FeatureTaskResult,
    TaskLabels,
    describe_folds,
    fold_of_clips,
    format_mean_std,
    group_folds,
    pooled_metrics,
    resolve_tasks,
    run_feature_task,
    stratification_labels,
    summarize_scores,
    task_labels,
)
from ..datasets.selection import ClipSelectionArguments, is_bandai_source, select_clips

__all__ = [
    "ForestArguments",
    "KinematicBaselineArguments",
    "ForestTaskResult",
    "KinematicBaselineResult",
    "make_forest",
    "run_forest_task",
    "run_kinematic_baseline",
    "default_tasks",
]

logger = logging.getLogger(__name__)

SYSTEM = "random forest"


@dataclass
class ForestArguments:
    """scikit-learn RandomForest settings and the joints its features describe."""

    n_estimators: int = field(default=300, metadata={"help": "Trees per forest."})
    max_depth: int | None = field(default=None, metadata={"help": "Maximum tree depth (default: unlimited)."})
    min_samples_leaf: int = field(default=1, metadata={"help": "Minimum clips per leaf."})
    max_features: str = field(default="sqrt", metadata={"help": "Features tried per split: sqrt, log2 or a fraction like 0.3."})
    class_weight: str | None = field(default="balanced", metadata={"help": "balanced (default) or none."})
    n_jobs: int = field(default=1, metadata={"help": "Parallel jobs per forest (-1: all cores)."})
    forest_joints: str | None = field(
        default=None,
        metadata={"help": "Joint subset of the kinematic features: 'all' (default: every joint of each clip's skeleton), "
                  "'auto' (the core body joints found by name), a registered subset or comma-separated joint names."},
    )  # fmt: skip

    def joint_subset(self) -> str | list[str] | None:
        """``forest_joints`` as :func:`hf_motion.features.clip_features` takes it (``None``: every joint)."""
        from ..skeletons import parse_joints_option

        return parse_joints_option(self.forest_joints)


@dataclass
class KinematicBaselineArguments:
    """The baseline run's seed, output folder and progress bars."""

    output_dir: str = field(default="runs/baseline_kinematic", metadata={"help": "Where the metrics and predictions go."})
    seed: int = field(default=0, metadata={"help": "Seed of the clip draws, the folds and the forests."})
    progress: bool = field(default=True, metadata={"help": "Show progress bars."})


def default_tasks(data: str):
    """The shipped task list of a named source (Bandai-Namco), else ``None``."""
    from ..resources import task_list_path

    return task_list_path("bandai-namco") if is_bandai_source(data) else None


def make_forest(kind: str, args: ForestArguments, seed: int):
    """A ``RandomForestRegressor`` (regression) or ``RandomForestClassifier`` from ``args``."""
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


# The result type is shared with the linear probes (hf_motion.cv.run_feature_task).
ForestTaskResult = FeatureTaskResult


def run_forest_task(
    labels: TaskLabels,
    X: np.ndarray,
    folds: Sequence[tuple[np.ndarray, np.ndarray]],
    forest: ForestArguments,
    seed: int,
    on_single_class: str = "error",
    progress: bool = False,
) -> ForestTaskResult:
    """Fit and evaluate one task's forest on every fold (``X``: one feature row per clip of the run)."""
    return run_feature_task(labels, X, folds, lambda kind, s: make_forest(kind, forest, s), SYSTEM, seed, on_single_class, progress)


@dataclass
class KinematicBaselineResult:
    """What :func:`run_kinematic_baseline` returns; :meth:`save` writes its files."""

    clip_ids: list[str]
    groups: list[str]
    fold_of: np.ndarray
    feature_names: list[str]
    tasks: dict[str, ForestTaskResult]
    summary: dict[str, Any]

    def to_markdown(self) -> str:
        """One table: task, kind, clips, metric, mean ± std over folds (number of folds), pooled."""
        lines = [
            f"Random forest on kinematic features, {self.summary['cv']['description']}.",
            "",
            "| task | kind | clips | metric | mean ± std over folds | pooled out-of-fold |",
            "|---|---|---:|---|---|---:|",
        ]
        for name, t in self.summary["tasks"].items():
            for metric, s in t["metrics"].items():
                pooled = t["pooled"].get(metric, float("nan"))
                lines.append(f"| {name} | {t['kind']} | {t['n_clips']} | {metric} | {format_mean_std(s)} | {pooled:.3f} |")
        return "\n".join(lines) + "\n"

    def prediction_rows(self, task: str) -> tuple[list[str], list[list[Any]]]:
        """Header and rows of ``predictions_<task>.csv``: fold, clip, group, truth, prediction (and probabilities)."""
        result = self.tasks[task]
        lab = result.labels
        kind = lab.task.kind
        header = ["fold", "clip", "group", "y_true", "y_pred"]
        if kind == "binary":
            header.append("p_1")
        elif kind == "multiclass":
            header += [f"p_{c}" for c in lab.classes]
        rows = []
        for p in sorted(result.predictions, key=lambda r: (r.fold, r.clip)):
            truth, pred, score = p.as_labels(lab)
            row = [p.fold, self.clip_ids[p.clip], self.groups[p.clip], truth, pred]
            if kind == "binary":
                row.append(score)
            elif kind == "multiclass":
                row += [float(v) for v in np.asarray(p.prediction)]
            rows.append(row)
        return header, rows

    def save(self, output_dir: str | Path) -> Path:
        """``folds.csv``, ``metrics_per_fold.csv``, ``predictions_<task>.csv``, ``summary.json`` and ``summary.md``."""
        from ..fileio import atomic_write_text
        from ..reporting import write_csv

        out = Path(output_dir)
        out.mkdir(parents=True, exist_ok=True)
        write_csv(
            out / "folds.csv", ["clip", "group", "fold"], [[c, g, int(f)] for c, g, f in zip(self.clip_ids, self.groups, self.fold_of)]
        )
        for name in self.tasks:
            write_csv(out / f"predictions_{name}.csv", *self.prediction_rows(name))
        rows = [s.row() for t in self.tasks.values() for s in t.scores]
        fixed = ["task", "fold", "n_train", "n_test", "skipped"]
        metrics: list[str] = []
        for r in rows:
            metrics.extend(m for m in r if m not in fixed and m != "model" and m not in metrics)
        write_csv(out / "metrics_per_fold.csv", fixed + metrics, [[r.get(h, "") for h in fixed + metrics] for r in rows])
        atomic_write_text(out / "summary.json", json.dumps(self.summary, indent=2, default=str) + "\n")
        atomic_write_text(out / "summary.md", self.to_markdown())
        return out


def run_kinematic_baseline(
    data_args: ClipSelectionArguments,
    cv_args: CrossValidationArguments,
    forest_args: ForestArguments | None = None,
    run_args: KinematicBaselineArguments | None = None,
    inline_tasks: tuple[list, Any] | None = None,
) -> KinematicBaselineResult:
    """Select the clips, make the folds, compute the features and cross-validate one forest per task.

    Tasks come from ``inline_tasks`` (a config's ``tasks:`` list), ``cv_args.tasks``, else the
    shipped list of a named source (:func:`default_tasks`). Every label problem fails before a
    motion file is read (:class:`~hf_motion.cv.CrossValidationError`).
    """
    from ..features import feature_matrix

    forest_args = forest_args or ForestArguments()
    run_args = run_args or KinematicBaselineArguments()
    start = time.time()
    specs = resolve_tasks(cv_args.tasks, inline_tasks, default=default_tasks(data_args.data))
    seed = run_args.seed
    clips = select_clips(data_args, seed, progress=run_args.progress)
    clip_ids = [c.clip_id for c in clips]
    groups = [c.group for c in clips]
    logger.info("%d clips in %d groups from %s", len(clips), len(set(groups)), data_args.data)

    labels = {s.name: task_labels(s, [c.labels for c in clips], clip_ids) for s in specs}
    strat = stratification_labels(labels, cv_args.stratify_by, len(clips))
    folds = group_folds(groups, cv_args.cv_scheme, cv_args.n_splits, seed, labels=strat, clip_ids=clip_ids)
    description = describe_folds(cv_args.cv_scheme, len(folds))
    logger.info("%s over %d groups", description, len(set(groups)))

    X, feature_names = feature_matrix(clips, joints=forest_args.joint_subset(), progress=run_args.progress)
    logger.info("%d kinematic features per clip", X.shape[1])
    tasks = {
        s.name: run_forest_task(labels[s.name], X, folds, forest_args, seed, cv_args.single_class_folds, run_args.progress) for s in specs
    }
    summary: dict[str, Any] = {
        "model": "random forest on kinematic features",
        "data": data_args.data,
        "n_clips": len(clips),
        "n_groups": len(set(groups)),
        "n_features": int(X.shape[1]),
        "cv": {
            "scheme": cv_args.cv_scheme,
            "n_folds": len(folds),
            "seed": seed,
            "description": description,
            "stratify_by": cv_args.stratify_by,
        },  # fmt: skip
        "arguments": {type(a).__name__: asdict(a) for a in (data_args, cv_args, forest_args, run_args)},
        "tasks": {},
    }
    for s in specs:
        result, lab = tasks[s.name], labels[s.name]
        summary["tasks"][s.name] = {
            "kind": s.kind,
            "column": s.column,
            "positive": s.positive,
            "negative": s.negative,
            "n_clips": int(lab.index.size),
            "classes": None if lab.classes is None else [str(c) for c in lab.classes],
            "metrics": summarize_scores(result.scores),
            "pooled": pooled_metrics(s.kind, result.predictions),
            "skipped_folds": [{"fold": f.fold, "reason": f.skipped} for f in result.scores if f.skipped],
            "top_features": [list(t) for t in result.top_features(feature_names)],
        }
    summary["seconds"] = round(time.time() - start, 2)
    return KinematicBaselineResult(clip_ids, groups, fold_of_clips(folds, len(clips)), feature_names, tasks, summary)
