"""Clinical-style fine-tuning under grouped cross-validation (M5 section 5), with the comparison report.

    accelerate launch recipes/finetune.py                         # defaults: recipes/finetune.yaml (Bandai dataset-2)
    accelerate launch recipes/finetune.py --compare               # pretrained vs from scratch vs random forest, same folds
    python recipes/finetune.py --config my.yaml --from_scratch    # M5-fs only
    python recipes/finetune.py --data /path/to/clips --labels labels.csv --group_by patient --tasks tasks.yaml

What a run does:

1. clips and labels: a named source (``bandai-namco:dataset-2``) or any folder of motion files with a
   label CSV/JSON and a group column (:func:`baseline_kinematic.load_clips`), optionally capped to
   ``max_clips_per_group`` clips per group (seeded); every task of the YAML (``tasks:`` list, see
   :func:`hf_motion.cv.load_task_specs`) is resolved *before* any motion is read, so a missing label
   or an unknown column fails at once;
2. folds: :func:`hf_motion.cv.group_folds` (``kfold`` by group, stratified by ``stratify_by``, or
   ``logo``), with the same arguments as ``recipes/baseline_kinematic.py`` so the folds match;
   every training fold is checked for single-class tasks (:func:`hf_motion.cv.check_fold_classes`),
   and a test fold holding a class that its training clips lack (in the whole training fold, or
   after the early-stopping validation split) is warned about, naming the fold and the class;
3. windows: each clip is resampled to the pretrained model's frame rate, reduced to its joint
   subset and cut into windows of ``window`` frames every ``stride`` frames (read from the model
   folder's ``pretrain_summary.json``); a clip shorter than the window gives one shorter window;
   at most ``max_windows_per_clip`` evenly spaced windows are kept. Each window is written as
   pretraining's ACM text (joint angles, task token ``>``);
4. training: one :class:`~hf_motion.multitask.MotionGPT2ForMultiTask` per fold, all tasks at once
   plus the LM loss (``lm_loss_weight``), started from the pretrained backbone (or from random
   init with ``--from_scratch``, M5-fs); ``transformers``' ``EarlyStoppingCallback`` watches the
   weighted task loss on a validation split of whole groups drawn from the *training* fold
   (:func:`hf_motion.cv.inner_validation_split`); the test fold is never seen;
5. evaluation: window probabilities averaged per clip (:func:`hf_motion.cv.aggregate_window_predictions`),
   AUC / F1 / accuracy / RMSE per fold as the task kind calls for, mean ± std over folds;
6. the released model: after cross-validation the same procedure is run once on all clips; it is
   saved with its tokenizer and a model card that fills itself from the run (safetensors only).

``--compare`` runs the pretrained model, the same architecture from scratch and the random forest of
``recipes/baseline_kinematic.py`` (its :func:`run_task`, on the folds computed here) in one run.

Outputs in ``output_dir``: ``results.md`` (one table: task × metric rows, one column per system, mean
± std over folds with the number of folds), ``predictions.csv`` (clip, group, fold, model, task,
truth, prediction, score), ``metrics_per_fold.csv``, ``folds.csv``, ``confusion_<task>.png`` per
multiclass task (pooled out-of-fold predictions, one panel per system), ``summary.json``, and
``model/`` (the released model, tokenizer and ``README.md`` card).

CPU budget. On a 2-core CPU the default ``--compare`` run on Bandai dataset-2 takes about 12 minutes
(11.8 measured, one torch thread); the knobs that get it there are in ``recipes/finetune.yaml`` and printed at the top of
``results.md``: at most 4 clips per session (280 of 2,902 clips, seeded), at most 3 windows per clip,
5 folds, at most 5 epochs with early stopping, batch 8, the tiny pretrained model. Attention dropout
is off by default: with it, PyTorch's CPU attention falls back from the fused kernel to the
unfused one, which is several times slower at these sequence lengths (residual and embedding
dropout stay on).
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import io
import json
import logging
import math
import os
import shutil
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from transformers import TrainingArguments

HERE = Path(__file__).resolve().parent
DEFAULT_CONFIG = HERE / "finetune.yaml"

logger = logging.getLogger("finetune")


def _load_recipe(name: str):
    """Another recipe (``recipes/<name>.py``) as a module."""
    from hf_motion.recipe_args import import_recipe

    return import_recipe(HERE / f"{name}.py")


baseline = _load_recipe("baseline_kinematic")
ForestArguments = baseline.ForestArguments

PRETRAINED, SCRATCH, FOREST = "pretrained", "from scratch", "random forest"


# ------------------------------------------------------------------ arguments
@dataclass
class DataArguments:
    """Which clips, labels and groups, and how clips become windows."""

    data: str = field(
        default="bandai-namco:dataset-2",
        metadata={"help": "A folder of motion files, or a named source: bandai-namco:dataset-1, bandai-namco:dataset-2."},
    )
    pattern: str = field(default="**/*.bvh", metadata={"help": "Glob pattern of motion files inside a folder."})
    labels: str | None = field(default=None, metadata={"help": "CSV/JSON of per-clip labels for a folder (key column clip/file/path/name)."})
    group_by: str | None = field(
        default="session",
        metadata={"help": "Cross-validation group: a label name (e.g. patient), 'parent', 'clip'; for Bandai 'session', "
                  "'style' or 'clip'."},  # fmt: skip
    )
    where: list[str] = field(default_factory=list, metadata={"help": "Keep only clips whose label matches: column=v1,v2 (repeatable)."})
    max_clips: int | None = field(default=None, metadata={"help": "Use at most this many clips (whole groups, seeded)."})
    max_clips_per_group: int | None = field(
        default=4, metadata={"help": "Keep at most this many clips of each group (seeded draw; 0: all); the CPU budget knob."}
    )
    max_windows_per_clip: int | None = field(
        default=3, metadata={"help": "Keep at most this many windows per clip, evenly spaced over the clip (0: all)."}
    )
    window: int | None = field(default=None, metadata={"help": "Frames per window (default: the pretraining window)."})
    stride: int | None = field(default=None, metadata={"help": "Frames between window starts (default: the pretraining stride)."})
    fps: float | None = field(default=None, metadata={"help": "Resample clips to this rate (default: the pretraining rate)."})
    joints: str | None = field(
        default="auto",
        metadata={"help": "Joint subset: 'auto' (default: the joints the model was pretrained on - its tokenizer's "
                  "joint_names, else pretrain_summary.json's - else each skeleton's core body joints found by name), "
                  "'all', a registered subset or comma-separated joint names."},
    )
    forest_joints: str | None = field(
        default=None,
        metadata={"help": "Joint subset of the forest's kinematic features (default: all): 'all', 'auto', a registered "
                  "subset or comma-separated joint names."},
    )


@dataclass
class CVArguments:
    """Tasks and folds (the same options as recipes/baseline_kinematic.py)."""

    tasks: str | None = field(default=None, metadata={"help": "YAML with a 'tasks:' list (default: the config's tasks)."})
    cv_scheme: str = field(default="kfold", metadata={"help": "kfold (k folds of whole groups) or logo (leave one group out)."})
    n_splits: int = field(default=5, metadata={"help": "Number of folds for kfold."})
    stratify_by: str | None = field(default="style", metadata={"help": "Task whose classes stratify the k folds."})
    single_class_folds: str = field(
        default="error", metadata={"help": "A training fold with one class: 'error' or 'skip' the fold for that task (warned)."}
    )
    validation_fraction: float = field(
        default=0.15, metadata={"help": "Share of a training fold's groups held out for early stopping."}
    )


@dataclass
class ModelArguments:
    model_name_or_path: str = field(
        default="runs/pretrain-tiny", metadata={"help": "Pretraining output folder (model, tokenizer, pretrain_summary.json)."}
    )
    from_scratch: bool = field(default=False, metadata={"help": "Train the same architecture from random init (M5-fs)."})
    compare: bool = field(default=False, metadata={"help": "Pretrained, from scratch and the random forest on the same folds."})
    lm_loss_weight: float = field(default=0.5, metadata={"help": "Weight of the autoregressive LM loss beside the task losses."})
    head_dropout: float = field(default=0.1, metadata={"help": "Dropout in front of the task heads."})
    attention_dropout: float = field(
        default=0.0, metadata={"help": "Attention dropout while fine-tuning (0 keeps PyTorch's fused CPU attention kernel)."}
    )
    early_stopping_patience: int = field(
        default=2, metadata={"help": "Stop after this many epochs without a better validation task loss (0: no early stopping)."}
    )
    save_model: bool = field(default=True, metadata={"help": "Train the released model on all clips and save it with its card."})
    model_name: str | None = field(default=None, metadata={"help": "Name of the released model (card, Hub)."})
    num_threads: int | None = field(
        default=None, metadata={"help": "torch CPU threads (default: the idle cores now, shared among the processes)."}
    )


@dataclass
class FinetuneTrainingArguments(TrainingArguments):
    """``TrainingArguments`` with defaults for small clinical-style data on a CPU."""

    output_dir: str = field(default="runs/finetune")
    num_train_epochs: float = field(default=5.0)
    per_device_train_batch_size: int = field(default=8)
    per_device_eval_batch_size: int = field(default=32)
    learning_rate: float = field(default=3e-3)
    weight_decay: float = field(default=0.01)
    warmup_steps: float = field(default=0.1)
    lr_scheduler_type: str = field(default="linear")
    eval_strategy: str = field(default="epoch")
    save_strategy: str = field(default="epoch")
    logging_strategy: str = field(default="epoch")
    load_best_model_at_end: bool = field(default=True)
    metric_for_best_model: str | None = field(default="target_loss")
    greater_is_better: bool | None = field(default=False)
    save_total_limit: int | None = field(default=1)
    save_only_model: bool = field(default=True)
    disable_tqdm: bool | None = field(default=True)
    dataloader_pin_memory: bool = field(default=torch.cuda.is_available())
    # Full windows batch together, so padding (and the slower masked attention) is rare.
    train_sampling_strategy: str = field(default="group_by_length")
    seed: int = field(default=0)


ARGUMENT_CLASSES = (DataArguments, CVArguments, ModelArguments, ForestArguments, FinetuneTrainingArguments)


def parse_arguments(argv: Sequence[str] | None = None):
    """``(data, cv, model, forest, training, inline_tasks)`` from ``--config YAML`` (default
    ``recipes/finetune.yaml``) plus command-line flags, which win."""
    from hf_motion.recipe_args import recipe_parser

    parser, argv, extracted, config_path = recipe_parser(ARGUMENT_CLASSES, argv, DEFAULT_CONFIG, extract=("tasks",))
    inline_tasks = None
    if config_path is not None:
        tasks = extracted.get("tasks")
        if isinstance(tasks, list):
            inline_tasks = (tasks, config_path)
        elif tasks is not None:
            parser.set_defaults(tasks=tasks)
    data, cv, model, forest, train = parser.parse_args_into_dataclasses(args=argv)
    if cv.tasks is not None:
        inline_tasks = None
    if cv.single_class_folds not in ("error", "skip"):
        raise SystemExit(f"--single_class_folds must be 'error' or 'skip', got {cv.single_class_folds!r}")
    if model.compare and model.from_scratch:
        raise SystemExit("--compare already trains the from-scratch model beside the pretrained one; drop --from_scratch")
    for name in ("max_clips_per_group", "max_windows_per_clip"):
        if getattr(data, name) == 0:  # 0 on the command line: no cap
            setattr(data, name, None)
    for name in ("max_clips_per_group", "max_windows_per_clip", "window", "stride"):
        value = getattr(data, name)
        if value is not None and value < 1:
            raise SystemExit(f"--{name} must be >= 1, got {value}")
    return data, cv, model, forest, train, inline_tasks


# ------------------------------------------------------------------ clips, labels, folds
def cap_clips_per_group(clips: list, max_per_group: int | None, seed: int) -> list:
    """At most ``max_per_group`` clips of each group, drawn with ``seed``; the original order is kept."""
    if max_per_group is None:
        return list(clips)
    by_group: dict[str, list[int]] = {}
    for i, c in enumerate(clips):
        by_group.setdefault(c.group, []).append(i)
    rng = np.random.default_rng(seed)
    keep: set[int] = set()
    for group in sorted(by_group):
        members = by_group[group]
        if len(members) > max_per_group:
            members = rng.choice(members, size=max_per_group, replace=False).tolist()
        keep.update(members)
    return [c for i, c in enumerate(clips) if i in keep]


def resolve_tasks(cv_args: CVArguments, inline):
    from hf_motion.cv import CrossValidationError, load_task_specs

    if inline is not None:
        tasks_list, origin = inline
        try:
            return load_task_specs({"tasks": tasks_list})
        except CrossValidationError as e:
            raise CrossValidationError(f"{origin}: {e}") from None
    if cv_args.tasks is None:
        raise SystemExit(f"no tasks: give a config with a 'tasks:' list (like {DEFAULT_CONFIG}) or --tasks tasks.yaml")
    return load_task_specs(cv_args.tasks)


def stratification_labels(labels: dict, stratify_by: str | None, n_clips: int):
    """One stratification value per clip from a classification task (``None``: no stratification)."""
    from hf_motion.cv import CrossValidationError

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


def task_folds(lab, folds, n_clips: int):
    """``folds`` restricted to the clips of one task, as positions into ``lab.y`` (what
    :func:`hf_motion.cv.check_fold_classes` takes)."""
    where = np.full(n_clips, -1, dtype=np.int64)
    where[lab.index] = np.arange(lab.index.size)
    out = []
    for train, test in folds:
        tr, te = where[train], where[test]
        out.append((tr[tr >= 0], te[te >= 0]))
    return out


def clip_targets(labels: dict, task_names: list[str], n_clips: int) -> np.ndarray:
    """``(n_clips, n_tasks)`` targets; NaN where a clip is not part of a task."""
    y = np.full((n_clips, len(task_names)), np.nan, dtype=np.float32)
    for k, name in enumerate(task_names):
        y[labels[name].index, k] = labels[name].y
    return y


# ------------------------------------------------------------------ windows
@dataclass
class WindowSpec:
    """How clips become model inputs: the pretraining rate, joints and window."""

    fps: float
    joints: str | list[str] | None
    window: int
    stride: int
    max_windows_per_clip: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _joint_spec(value: Any) -> Any:
    """A ``--joints`` value as WindowSpec holds it: ``None`` for every joint, a list for ``a,b,c``."""
    if isinstance(value, str):
        text = value.strip()
        if text.lower() == "all":
            return None
        if text.lower() == "auto":
            return "auto"
        if "," in text:
            return [n.strip() for n in text.split(",") if n.strip()]
        return text
    return value


def window_spec(data_args: DataArguments, model_dir: str, tokenizer=None) -> tuple[WindowSpec, dict[str, Any]]:
    """Window settings: command line first, then the model folder's ``pretrain_summary.json``, then
    pretraining's defaults (10 fps, ``auto`` joints, 24 frames, stride 12) with a warning.

    ``--joints auto`` (the default) means the joints the model was pretrained on: ``tokenizer``'s
    ``joint_names`` (pretraining saves them), else the summary's record, else ``"auto"`` (each
    skeleton's core body joints found by name)."""
    summary_path = Path(model_dir) / "pretrain_summary.json"
    dataset: dict[str, Any] = {}
    summary: dict[str, Any] = {}
    if summary_path.is_file():
        try:
            summary = json.loads(summary_path.read_text(encoding="utf-8"))
            dataset = dict(summary.get("dataset") or {})
        except (OSError, json.JSONDecodeError) as e:
            raise SystemExit(f"cannot read {summary_path}: {e}")
    fallback = {"fps": 10.0, "joints": "auto", "window": 24, "stride": 12}
    values = {}
    missing = []
    for key in fallback:
        given = getattr(data_args, key)
        if key == "joints":
            given = _joint_spec(given)
            if given == "auto":  # the model's joints where it records them
                recorded = getattr(tokenizer, "joint_names", None)
                if recorded is not None:
                    values[key] = list(recorded)
                    continue
                given = None if dataset.get(key) is not None else "auto"
            elif given is None and data_args.joints is not None:  # --joints all
                values[key] = None
                continue
        if given is not None:
            values[key] = given
        elif dataset.get(key) is not None:
            values[key] = dataset[key]
        else:
            values[key] = fallback[key]
            missing.append(key)
    if missing:
        logger.warning(
            "%s has no pretraining record of %s; using %s (pass --fps/--joints/--window/--stride to match how the model "
            "was pretrained)", summary_path, missing, {k: fallback[k] for k in missing},
        )
    from hf_motion.skeletons import resolve_joint_subset

    joints = _joint_spec(values["joints"])
    if joints is not None:
        try:  # an unknown subset name fails here, before any clip is read
            resolve_joint_subset(joints)
        except ValueError as e:
            raise SystemExit(f"--joints {values['joints']!r}: {e}") from None
    spec = WindowSpec(float(values["fps"]), joints, int(values["window"]), int(values["stride"]), data_args.max_windows_per_clip)
    return spec, summary


def motion_windows(motion, tokenizer, spec: WindowSpec) -> tuple[list[np.ndarray], list[int]]:
    """A motion's windows as ACM token ids (angles, task ``>``) and their start frames.

    The motion is resampled to ``spec.fps`` and reduced to ``spec.joints``; windows of
    ``spec.window`` frames start every ``spec.stride`` frames, and a motion shorter than one
    window gives a single window of all its frames. With ``spec.max_windows_per_clip``, that many
    evenly spaced windows are kept.
    """
    from hf_motion import resample_motion
    from hf_motion.skeletons import resolve_joint_subset

    if not math.isclose(motion.fps, spec.fps, rel_tol=1e-4):
        motion = resample_motion(motion, spec.fps)
    if spec.joints is not None:
        names = resolve_joint_subset(spec.joints, motion.skeleton)  # "auto": this skeleton's core body joints
        if names != motion.skeleton.names:
            motion = motion.select_joints(names)
    T = motion.num_frames
    if T == 0:
        raise ValueError(f"clip {motion.labels.get('clip', '?')!r} has no frames at {spec.fps:g} fps")
    W = min(spec.window, T)
    starts = np.arange(0, T - W + 1, spec.stride)
    if spec.max_windows_per_clip is not None and starts.size > spec.max_windows_per_clip:
        pick = np.unique(np.round(np.linspace(0, starts.size - 1, spec.max_windows_per_clip)).astype(np.int64))
        starts = starts[pick]
    rot = motion.rotations
    windows = [np.asarray(tokenizer.encode_motion(angles=rot[s : s + W], task=">"), dtype=np.int32) for s in starts]
    return windows, [int(s) for s in starts]


@dataclass
class ClipData:
    """Every clip's windows (and forest features) after one pass over the files."""

    windows: list[list[np.ndarray]]
    starts: list[list[int]]
    features: np.ndarray | None
    feature_names: list[str] | None

    def flat(self, clip_indices: Sequence[int]) -> tuple[list[np.ndarray], np.ndarray]:
        """The windows of ``clip_indices`` and, for each window, the index of its clip."""
        wins, owner = [], []
        for i in clip_indices:
            wins.extend(self.windows[i])
            owner.extend([int(i)] * len(self.windows[i]))
        return wins, np.asarray(owner, dtype=np.int64)


def prepare_clips(
    clips: list, tokenizer, spec: WindowSpec, forest_joints=None, with_features: bool = False, progress: bool = True
) -> ClipData:
    """Read every clip once: its windows and, for the forest, its kinematic features."""
    from tqdm.auto import tqdm

    from hf_motion.features import FeatureError, clip_features
    from hf_motion.skeletons import resolve_joint_subset

    windows, starts, rows = [], [], []
    names: list[str] | None = None
    first: tuple[str, list[str]] | None = None  # the first clip's path and model joints
    model_joints = getattr(tokenizer, "joint_names", None)
    for clip in tqdm(clips, desc="reading and tokenizing clips", unit="clip", disable=not progress):
        try:
            motion = clip.load()
        except Exception as e:  # noqa: BLE001 - re-raised naming the file
            raise ValueError(f"cannot read {clip.path}: {e}") from e
        try:
            joints = list(motion.skeleton.names) if spec.joints is None else resolve_joint_subset(spec.joints, motion.skeleton)
            w, s = motion_windows(motion, tokenizer, spec)
        except ValueError as e:
            raise ValueError(f"{clip.path}: {e}") from None
        # Every window must hold the same joints in the same order (the model's joint slots).
        if first is None:
            first = (clip.path, joints)
            if model_joints is not None and joints != list(model_joints):
                logger.warning(
                    "the model was pretrained on joints %s, but --joints %r gives %s for %s: make sure they are the "
                    "same body joints in the same order", model_joints, spec.joints, joints, clip.path,
                )  # fmt: skip
        elif joints != first[1]:
            raise ValueError(
                f"--joints {spec.joints!r} gives {len(first[1])} joints ({', '.join(first[1][:6])}, ...) for {first[0]} "
                f"but {len(joints)} joints ({', '.join(joints[:6])}, ...) for {clip.path}: clips need the same joints; "
                "pass comma-separated joint names that every clip has, or use clips of one skeleton"
            )
        windows.append(w)
        starts.append(s)
        if with_features:
            values, feature_names = clip_features(motion, joints=forest_joints)
            if names is None:
                names = feature_names
            elif feature_names != names:
                raise FeatureError(
                    f"{clip.clip_id}: its kinematic features differ from the first clip's; clips need the same joints "
                    "(--forest_joints)"
                )
            rows.append(values)
    return ClipData(windows, starts, np.stack(rows) if with_features else None, names)


class WindowDataset(torch.utils.data.Dataset):
    """Token windows, with their clip's targets (``(n_targets,)``, NaN = not in the task) when given."""

    def __init__(self, windows: list[np.ndarray], targets: np.ndarray | None = None) -> None:
        if targets is not None and len(targets) != len(windows):
            raise ValueError(f"{len(targets)} target rows for {len(windows)} windows")
        self.windows, self.targets = windows, targets

    def __len__(self) -> int:
        return len(self.windows)

    def __getitem__(self, i: int) -> dict[str, Any]:
        row = {"input_ids": self.windows[i]}
        if self.targets is not None:
            row["labels"] = self.targets[i]
        return row


class WindowCollator:
    """Right-pads windows with the pad token (a clip shorter than the window gives a shorter row)."""

    def __init__(self, pad_token_id: int) -> None:
        self.pad_token_id = int(pad_token_id)

    def __call__(self, rows: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        length = max(len(r["input_ids"]) for r in rows)
        ids = torch.full((len(rows), length), self.pad_token_id, dtype=torch.long)
        mask = torch.zeros((len(rows), length), dtype=torch.long)
        for i, r in enumerate(rows):
            n = len(r["input_ids"])
            ids[i, :n] = torch.as_tensor(r["input_ids"], dtype=torch.long)
            mask[i, :n] = 1
        batch = {"input_ids": ids, "attention_mask": mask}
        if "labels" in rows[0]:
            batch["labels"] = torch.as_tensor(np.stack([r["labels"] for r in rows]), dtype=torch.float32)
        return batch


@torch.no_grad()
def window_logits(model, windows: list[np.ndarray], pad_token_id: int, batch_size: int = 32) -> np.ndarray:
    """``(n_windows, model.config.num_outputs)`` logits, in eval mode."""
    was_training = model.training
    model.eval()
    collate = WindowCollator(pad_token_id)
    out = []
    try:
        for start in range(0, len(windows), batch_size):
            batch = collate([{"input_ids": w} for w in windows[start : start + batch_size]])
            batch = {k: v.to(model.device) for k, v in batch.items()}
            out.append(model(**batch).logits.float().cpu().numpy())
    finally:
        model.train(was_training)
    return np.concatenate(out) if out else np.zeros((0, model.config.num_outputs), np.float32)


def predict_clips(
    model, windows: list[np.ndarray], window_clip: Sequence[Any], pad_token_id: int, batch_size: int = 32
) -> dict[str, tuple[list, np.ndarray]]:
    """Clip-level predictions of a multi-task model: ``{task: (clips, predictions)}``.

    Each window's probabilities (binary: class 1; multiclass: every class) or value (regression)
    come from :meth:`~hf_motion.multitask.MotionGPT2ForMultiTask.predictions`; a clip's prediction
    is their mean over its windows (:func:`hf_motion.cv.aggregate_window_predictions`).
    """
    from hf_motion.cv import aggregate_window_predictions

    per_window = model.predictions(window_logits(model, windows, pad_token_id, batch_size))
    kinds = {t["name"]: t["kind"] for t in model.config.targets}
    return {name: aggregate_window_predictions(list(window_clip), p, kinds[name]) for name, p in per_window.items()}


# ------------------------------------------------------------------ models and training
def multitask_config(model_dir: str, targets: list[dict], model_args: ModelArguments):
    """The multi-task config: the pretrained backbone's architecture plus the targets."""
    from transformers import AutoConfig

    from hf_motion.modeling import MotionGPT2Config
    from hf_motion.multitask import MotionMultiTaskConfig

    backbone = AutoConfig.from_pretrained(model_dir)
    if not isinstance(backbone, MotionGPT2Config):
        raise SystemExit(f"{model_dir} holds a {type(backbone).__name__}, not a motion_gpt2 model (pretrain with recipes/pretrain.py)")
    return MotionMultiTaskConfig.from_backbone_config(
        backbone,
        targets=targets,
        lm_loss_weight=model_args.lm_loss_weight,
        head_dropout=model_args.head_dropout,
        attn_pdrop=model_args.attention_dropout,
    )


def initial_model(variant: str, model_dir: str, config, seed: int):
    """A fresh multi-task model: the pretrained backbone with new heads, or (``"from scratch"``) the
    same architecture from random init. Heads are initialised from ``seed`` in both cases."""
    from transformers import set_seed

    from hf_motion.multitask import MotionGPT2ForMultiTask

    set_seed(seed)
    if variant == SCRATCH:
        return MotionGPT2ForMultiTask(config)
    if variant != PRETRAINED:
        raise ValueError(f"unknown model variant {variant!r}")
    with quiet_transformers():  # "newly initialized heads" is expected here, every fold
        return MotionGPT2ForMultiTask.from_pretrained(model_dir, config=config)


@contextlib.contextmanager
def quiet_transformers():
    """Errors only and no per-checkpoint progress bars from ``transformers`` inside a fold: the
    expected messages (new heads, the tied LM head absent from a checkpoint) would repeat every fold."""
    from transformers.utils import logging as hf_logging

    verbosity = hf_logging.get_verbosity()
    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        hf_logging.set_verbosity(verbosity)
        if bars:
            hf_logging.enable_progress_bar()


def _target_loss_metric(model):
    """``compute_metrics`` for early stopping: the weighted task loss (no LM term) on the validation windows."""
    weights = {t["name"]: t["weight"] for t in model.config.targets}

    def compute(prediction) -> dict[str, float]:
        logits = prediction.predictions[0] if isinstance(prediction.predictions, tuple) else prediction.predictions
        losses = model.target_losses(torch.as_tensor(logits).float(), torch.as_tensor(prediction.label_ids).float())
        out = {f"loss_{name}": float(v) for name, v in losses.items()}
        out["target_loss"] = float(sum(weights[name] * float(v) for name, v in losses.items()))
        return out

    return compute


def train_model(model, train_set, val_set, train_args, checkpoint_dir: Path, patience: int, seed: int, pad_token_id: int):
    """Fine-tune ``model`` with ``Trainer``; early stopping on ``val_set`` when given. Returns
    ``(model, info)`` where ``model`` holds the best validation checkpoint."""
    from transformers import EarlyStoppingCallback, PrinterCallback, Trainer

    use_val = val_set is not None and len(val_set) and patience > 0
    overrides: dict[str, Any] = dict(output_dir=str(checkpoint_dir), seed=seed, push_to_hub=False)
    if not use_val:
        overrides.update(eval_strategy="no", save_strategy="no", load_best_model_at_end=False)
    args = dataclasses.replace(train_args, **overrides)
    trainer = Trainer(
        model=model,
        args=args,
        train_dataset=train_set,
        eval_dataset=val_set if use_val else None,
        data_collator=WindowCollator(pad_token_id),
        compute_metrics=_target_loss_metric(model) if use_val else None,
        callbacks=[EarlyStoppingCallback(early_stopping_patience=patience)] if use_val else None,
    )
    trainer.remove_callback(PrinterCallback)  # one line per fold from us instead of a dict per epoch
    try:
        with quiet_transformers():
            result = trainer.train()
    finally:
        trainer.accelerator.wait_for_everyone()
        if trainer.is_world_process_zero():
            shutil.rmtree(checkpoint_dir, ignore_errors=True)
    evals = [h for h in trainer.state.log_history if "eval_target_loss" in h]
    best = min(evals, key=lambda h: h["eval_target_loss"]) if evals else None
    info = {
        "epochs_run": round(float(trainer.state.epoch or 0.0), 3),
        "steps": int(trainer.state.global_step),
        "train_windows": len(train_set),
        "validation_windows": len(val_set) if use_val else 0,
        "best_epoch": best["epoch"] if best else None,
        "best_validation_target_loss": best["eval_target_loss"] if best else None,
        "validation_target_loss": [round(h["eval_target_loss"], 4) for h in evals],
        "stopped_early": bool(use_val and trainer.state.epoch is not None and trainer.state.epoch < args.num_train_epochs - 1e-6),
        "train_loss": result.training_loss,
    }
    return trainer.model, info


# ------------------------------------------------------------------ reporting
def _csv_text(header: list[str], rows: list[list[Any]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue()


def _fmt(x: Any) -> Any:
    return f"{x:.6g}" if isinstance(x, float) else x


def prediction_row(lab, position: int, prediction) -> tuple[Any, Any, float]:
    """``(truth, prediction, score)`` for the CSV: class names (multiclass), 0/1 (binary, score =
    probability of 1) or values (regression)."""
    kind = lab.task.kind
    truth = lab.y[position]
    if kind == "regression":
        value = float(np.asarray(prediction).reshape(-1)[0])
        return float(truth), value, value
    if kind == "binary":
        p = float(prediction)
        return int(truth), int(p >= 0.5), p
    p = np.asarray(prediction, dtype=np.float64)
    k = int(np.argmax(p))
    return str(lab.classes[int(truth)]), str(lab.classes[k]), float(p[k])


def confusion_counts(truth: Sequence[str], pred: Sequence[str], classes: list[str]) -> np.ndarray:
    """``(C, C)`` counts, rows = truth, columns = prediction."""
    index = {c: i for i, c in enumerate(classes)}
    out = np.zeros((len(classes), len(classes)), dtype=np.int64)
    for t, p in zip(truth, pred):
        out[index[t], index[p]] += 1
    return out


def plot_confusion(task: str, classes: list[str], matrices: dict[str, np.ndarray], path: Path) -> None:
    """One panel per system: row-normalised colours, counts written in the cells."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from hf_motion.fileio import atomic_write_bytes

    n = len(matrices)
    size = max(3.2, 0.5 * len(classes) + 1.6)
    fig, axes = plt.subplots(1, n, figsize=(size * n, size + 1.2), squeeze=False)
    for ax, (system, m) in zip(axes[0], matrices.items()):
        rows = m.sum(axis=1, keepdims=True)
        share = np.divide(m, rows, out=np.zeros(m.shape, dtype=np.float64), where=rows > 0)
        ax.imshow(share, cmap="Blues", vmin=0.0, vmax=1.0)
        for i in range(m.shape[0]):
            for j in range(m.shape[1]):
                if m[i, j]:
                    ax.text(j, i, str(m[i, j]), ha="center", va="center", fontsize=7, color="white" if share[i, j] > 0.6 else "black")
        acc = np.trace(m) / max(1, m.sum())
        ax.set_title(f"{system}\naccuracy {acc:.2f} ({m.sum()} clips)", fontsize=9)
        ax.set_xticks(range(len(classes)), classes, rotation=60, ha="right", fontsize=7)
        ax.set_yticks(range(len(classes)), classes, fontsize=7)
        ax.set_xlabel("predicted", fontsize=8)
    axes[0][0].set_ylabel("true", fontsize=8)
    fig.suptitle(f"{task}: out-of-fold predictions pooled over folds", fontsize=10)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    atomic_write_bytes(path, buf.getvalue())


def results_markdown(summary: dict[str, Any]) -> str:
    """The comparison table (rows: task × metric; columns: systems) with the run's settings on top."""
    from hf_motion.cv import format_mean_std

    systems = list(summary["systems"])
    s = summary["settings"]
    lines = [
        f"# Fine-tuning results: {', '.join(systems)}",
        "",
        f"- **Data:** `{summary['data']}`: {summary['n_clips']} clips in {summary['n_groups']} groups (group by "
        f"`{s['group_by']}`; at most {s['max_clips_per_group'] or 'all'} clips per group, seed {s['seed']}).",
        f"- **Folds:** {summary['cv']['description']}"
        + (f", stratified by `{summary['cv']['stratify_by']}`" if summary["cv"].get("stratify_by") else "")
        + "; every system uses the same folds (`folds.csv`). Cells: mean ± std over folds (number of folds).",
        f"- **Windows:** {s['window']} frames at {s['fps']:g} fps ({s['window'] / s['fps']:.1f} s), stride {s['stride']}, "
        f"joints `{s['joints']}`, at most {s['max_windows_per_clip'] or 'all'} per clip ({summary['n_windows']} windows); "
        "a clip's prediction is the mean over its windows.",
    ]
    if any(v != FOREST for v in systems):
        lines.append(
            f"- **Transformers:** `{s['model_name_or_path']}` ({s['parameters']:,} parameters) fine-tuned on every task at once"
            f" with LM loss weight {s['lm_loss_weight']:g}; from scratch = same architecture, random init. At most "
            f"{s['num_train_epochs']:g} epochs, batch {s['batch_size']}, learning rate {s['learning_rate']:g}, early stopping "
            f"(patience {s['early_stopping_patience']}) on the task loss of a {s['validation_fraction']:.0%} by-group "
            "validation split of each training fold."
        )
    if FOREST in systems:
        lines.append(
            f"- **Random forest:** {s['n_estimators']} trees on {s['n_features']} kinematic features per clip "
            "(`recipes/baseline_kinematic.py`)."
        )
    threads = f"{s['torch_threads']} torch thread{'s' if s['torch_threads'] != 1 else ''}"
    lines.append(f"- **Wall time:** {summary['wall_s'] / 60:.1f} min on {summary['device']} ({threads}).")
    lines += ["", "| task | metric | " + " | ".join(systems) + " |", "|---|---|" + "---|" * len(systems)]
    for name, t in summary["tasks"].items():
        size = f"{t['n_clips']} clips" + (f", {len(t['classes'])} classes" if t["kind"] == "multiclass" else "")
        metrics: list[str] = []
        for system in systems:
            metrics.extend(m for m in summary["systems"][system]["tasks"][name]["metrics"] if m not in metrics)
        for metric in metrics:
            cells = [format_mean_std(summary["systems"][v]["tasks"][name]["metrics"].get(metric, {})) for v in systems]
            lines.append(f"| {name} ({t['kind']}, {size}) | {metric} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------ the run
@dataclass
class FinetuneResult:
    """What :func:`main` returns: the summary written to ``summary.json``, and the released model."""

    summary: dict[str, Any]
    output_dir: Path
    model: Any = None
    tokenizer: Any = None


def main(argv: Sequence[str] | None = None) -> FinetuneResult:
    """Run fine-tuning (and with ``--compare`` the comparison); see the module docstring."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    from accelerate import PartialState
    from tqdm.auto import tqdm
    import hf_motion  # registers the Auto classes
    from hf_motion import MotionTokenizer
    from hf_motion.cv import (
        check_fold_classes,
        group_folds,
        inner_validation_split,
        summarize_folds,
        task_labels,
        task_metrics,
        warn_unseen_test_classes,
    )
    from hf_motion.fileio import atomic_write_text
    from hf_motion.model_card import model_card_from_summary, save_for_hub
    from hf_motion.modeling import count_parameters
    from hf_motion.training import set_cpu_threads

    start = time.perf_counter()
    data_args, cv_args, model_args, forest_args, train_args, inline = parse_arguments(argv)
    state = PartialState()
    main_process = state.is_main_process
    threads = set_cpu_threads(model_args.num_threads)
    seed = train_args.seed
    specs = resolve_tasks(cv_args, inline)

    # Clips and labels first: every label problem fails before a motion file is read.
    collection = baseline.load_clips(
        baseline.DataArguments(
            data=data_args.data, pattern=data_args.pattern, labels=data_args.labels, group_by=data_args.group_by,
            where=list(data_args.where), max_clips=data_args.max_clips,
        ),
        seed,
    )  # fmt: skip
    clips = cap_clips_per_group(list(collection), data_args.max_clips_per_group, seed)
    clip_ids = [c.clip_id for c in clips]
    groups = [c.group for c in clips]
    labels = {s.name: task_labels(s, [c.labels for c in clips], clip_ids) for s in specs}
    task_names = [s.name for s in specs]
    strat = stratification_labels(labels, cv_args.stratify_by, len(clips))
    folds = group_folds(groups, cv_args.cv_scheme, cv_args.n_splits, seed, labels=strat, clip_ids=clip_ids)
    usable: dict[str, list[bool]] = {}
    for s in specs:
        lab = labels[s.name]
        usable[s.name] = (
            [True] * len(folds)
            if s.kind == "regression"
            else check_fold_classes(
                task_folds(lab, folds, len(clips)), lab.y, task=s.name, on_single_class=cv_args.single_class_folds,
                class_names=lab.classes,
            )
        )
    cv_description = (
        f"leave-one-group-out ({len(folds)} folds)" if cv_args.cv_scheme == "logo" else f"{len(folds)}-fold grouped cross-validation"
    )
    logger.info("%d clips in %d groups from %s; %s", len(clips), len(set(groups)), data_args.data, cv_description)

    model_dir = model_args.model_name_or_path
    if not Path(model_dir).is_dir():
        raise SystemExit(
            f"pretrained model folder {model_dir} not found: run `accelerate launch recipes/pretrain.py` first, or pass "
            "--model_name_or_path"
        )
    tokenizer = MotionTokenizer.from_pretrained(model_dir)
    if not hasattr(tokenizer, "encode_motion"):
        raise SystemExit(f"{model_dir} does not hold a MotionTokenizer")
    spec, pretrain_summary = window_spec(data_args, model_dir, tokenizer)
    targets = [s.to_target(labels[s.name].classes) for s in specs]
    config = multitask_config(model_dir, targets, model_args)
    # [bos, >] + per frame (separator + J joints x values) + eos
    n_joints = None  # 'auto' / all joints: known once a clip is read (checked after prepare_clips)
    if spec.joints is not None and not hf_motion.skeletons.is_skeleton_dependent(spec.joints):
        n_joints = len(hf_motion.skeletons.resolve_joint_subset(spec.joints))
    tokens_per_window = spec.window * (n_joints * tokenizer.values_per_joint + 1) + 3 if n_joints else None
    if tokens_per_window is not None and tokens_per_window > config.n_positions:
        raise SystemExit(
            f"a {spec.window}-frame window of joints {spec.joints!r} is {tokens_per_window} tokens, more than the model's "
            f"n_positions={config.n_positions}; use a shorter --window"
        )
    from hf_motion.multitask import MotionGPT2ForMultiTask

    n_parameters = count_parameters(MotionGPT2ForMultiTask(config))
    variants = [PRETRAINED, SCRATCH] if model_args.compare else [SCRATCH if model_args.from_scratch else PRETRAINED]
    systems = variants + ([FOREST] if model_args.compare else [])

    forest_joints = _joint_spec(data_args.forest_joints)
    data = prepare_clips(clips, tokenizer, spec, forest_joints=forest_joints, with_features=model_args.compare)
    longest = max((len(x) for w in data.windows for x in w), default=0)
    if longest > config.n_positions:
        raise SystemExit(
            f"a {spec.window}-frame window of joints {spec.joints!r} is {longest} tokens, more than the model's "
            f"n_positions={config.n_positions}; use a shorter --window or fewer --joints"
        )
    n_windows = sum(len(w) for w in data.windows)
    logger.info("%d windows (%s)", n_windows, spec.to_dict())
    y_clip = clip_targets(labels, task_names, len(clips))

    out_dir = Path(train_args.output_dir)
    if main_process:
        out_dir.mkdir(parents=True, exist_ok=True)
    fold_of = np.empty(len(clips), dtype=np.int64)
    for k, (_, test) in enumerate(folds):
        fold_of[test] = k

    predictions: list[list[Any]] = []  # clip, group, fold, model, task, truth, prediction, score
    metric_rows: list[dict[str, Any]] = []
    training_log: list[dict[str, Any]] = []
    pad = tokenizer.pad_token_id

    def inner_split(train_idx: np.ndarray, k_seed: int) -> tuple[np.ndarray, np.ndarray]:
        """The clips trained on and the early-stopping validation clips of a training fold."""
        if model_args.early_stopping_patience > 0:
            return inner_validation_split(train_idx, groups, cv_args.validation_fraction, seed=k_seed)
        return np.asarray(train_idx), np.zeros(0, np.int64)

    def warn_classes_only_in_validation(k: int, inner: np.ndarray, train_idx: np.ndarray, test_idx: np.ndarray) -> None:
        """Warn when the validation split took every training clip of a class the test fold holds
        (classes missing from the whole training fold were warned about by check_fold_classes)."""
        for j, s in enumerate(specs):
            if s.kind == "regression" or not usable[s.name][k]:
                continue
            col = y_clip[:, j]
            fold_train, trained, test = (col[i][~np.isnan(col[i])] for i in (train_idx, inner, test_idx))
            warn_unseen_test_classes(
                trained, test[np.isin(test, fold_train)], s.name, k, labels[s.name].classes,
                training_set="training clips (its training fold has them only in the early-stopping validation split)",
            )  # fmt: skip

    def train_on(variant: str, train_idx: np.ndarray, k_seed: int, name: str, skip_tasks: Sequence[str] = ()):
        """Inner split, targets (tasks in ``skip_tasks`` hidden), model, training."""
        inner, val = inner_split(train_idx, k_seed)
        y = y_clip.copy()
        for t in skip_tasks:
            y[:, task_names.index(t)] = np.nan
        tr_w, tr_owner = data.flat(inner)
        va_w, va_owner = data.flat(val)
        model = initial_model(variant, model_dir, config, k_seed)
        return train_model(
            model, WindowDataset(tr_w, y[tr_owner]), WindowDataset(va_w, y[va_owner]) if len(va_w) else None,
            train_args, out_dir / ".checkpoints" / name, model_args.early_stopping_patience, k_seed, pad,
        )  # fmt: skip

    runs = [(v, k) for k in range(len(folds)) for v in variants]
    bar = tqdm(runs, desc="cross-validation", unit="run", disable=not main_process)
    for variant, k in bar:
        bar.set_postfix_str(f"{variant}, fold {k + 1}/{len(folds)}")
        train_idx, test_idx = folds[k]
        if variant == variants[0]:
            warn_classes_only_in_validation(k, inner_split(train_idx, seed + k)[0], train_idx, test_idx)
        skip = [t for t in task_names if not usable[t][k]]
        model, info = train_on(variant, train_idx, seed + k, f"{variant.replace(' ', '-')}-fold{k}", skip)
        te_w, te_owner = data.flat(test_idx)
        clip_preds = predict_clips(model, te_w, te_owner, pad, train_args.per_device_eval_batch_size)
        scores = []
        for s in specs:
            lab = labels[s.name]
            position = {int(c): p for p, c in enumerate(lab.index)}
            clips_k, pred_k = clip_preds[s.name]
            in_task = [(j, position[c]) for j, c in enumerate(clips_k) if c in position]
            n_train = int(sum(1 for c in train_idx if int(c) in position))
            row: dict[str, Any] = {"model": variant, "task": s.name, "fold": k, "n_train": n_train, "n_test": len(in_task)}
            if not in_task or not usable[s.name][k]:
                row["skipped"] = "no test clips" if not in_task else "single class"
                metric_rows.append(row)
                continue
            truth = lab.y[[p for _, p in in_task]]
            pred = np.stack([pred_k[j] for j, _ in in_task]) if s.kind == "multiclass" else np.asarray([pred_k[j] for j, _ in in_task])
            row.update(task_metrics(s.kind, truth, pred))
            row["skipped"] = ""
            metric_rows.append(row)
            main_metric = next(iter(m for m in row if m in ("accuracy", "auc", "rmse")), None)
            if main_metric:
                scores.append(f"{s.name} {main_metric} {row[main_metric]:.2f}")
            for (j, p), prediction in zip(in_task, pred):
                c = int(lab.index[p])
                t_val, p_val, score = prediction_row(lab, p, prediction)
                predictions.append([clip_ids[c], groups[c], k, variant, s.name, t_val, p_val, _fmt(score)])
        training_log.append({"model": variant, "fold": k, **info})
        if main_process:
            bar.write(
                f"fold {k + 1}/{len(folds)} {variant}: {info['epochs_run']:g} epochs"
                + (f" (best {info['best_epoch']:g})" if info["best_epoch"] else "")
                + f", {info['train_windows']} train / {len(te_w)} test windows; " + ", ".join(scores)
            )
        del model

    if model_args.compare:
        forest_rows = []
        for s in specs:
            lab = labels[s.name]
            result = baseline.run_task(lab, data.features, folds, forest_args, seed, cv_args.single_class_folds, progress=False)
            for row in result["rows"]:
                metric_rows.append({"model": FOREST, **row})
            for k, clip_index, truth, p in result["predictions"]:
                position = int(np.searchsorted(lab.index, clip_index))
                t_val, p_val, score = prediction_row(lab, position, p)
                forest_rows.append([clip_ids[clip_index], groups[clip_index], k, FOREST, s.name, t_val, p_val, _fmt(score)])
        predictions.extend(sorted(forest_rows, key=lambda r: (r[4], r[2], r[0])))

    # Summaries per system and task.
    metric_keys = ("model", "task", "fold", "n_train", "n_test", "skipped")
    system_tasks: dict[str, dict[str, Any]] = {v: {} for v in systems}
    for system in systems:
        for s in specs:
            rows = [r for r in metric_rows if r["model"] == system and r["task"] == s.name]
            scored = [r for r in rows if not r.get("skipped")]
            system_tasks[system][s.name] = {
                "metrics": summarize_folds([{m: v for m, v in r.items() if m not in metric_keys} for r in scored]),
                "skipped_folds": [{"fold": r["fold"], "reason": r["skipped"]} for r in rows if r.get("skipped")],
            }
    tasks_info = {}
    for s in specs:
        lab = labels[s.name]
        tasks_info[s.name] = {
            "kind": s.kind, "column": s.column, "positive": s.positive, "negative": s.negative,
            "classes": None if lab.classes is None else [str(c) for c in lab.classes], "n_clips": int(lab.index.size),
            "dropped": lab.dropped,
        }  # fmt: skip

    summary: dict[str, Any] = {
        "data": data_args.data,
        "n_clips": len(clips),
        "n_groups": len(set(groups)),
        "n_windows": n_windows,
        "cv": {"scheme": cv_args.cv_scheme, "n_folds": len(folds), "seed": seed, "description": cv_description,
               "stratify_by": cv_args.stratify_by},  # fmt: skip
        "settings": {
            "group_by": data_args.group_by, "max_clips_per_group": data_args.max_clips_per_group, "seed": seed,
            **spec.to_dict(), "model_name_or_path": model_dir, "parameters": n_parameters,
            "lm_loss_weight": model_args.lm_loss_weight, "attention_dropout": model_args.attention_dropout,
            "num_train_epochs": train_args.num_train_epochs, "batch_size": train_args.per_device_train_batch_size,
            "learning_rate": train_args.learning_rate, "early_stopping_patience": model_args.early_stopping_patience,
            "validation_fraction": cv_args.validation_fraction, "n_estimators": forest_args.n_estimators,
            "n_features": None if data.features is None else int(data.features.shape[1]), "torch_threads": threads,
        },  # fmt: skip
        "pretraining": (
            {k: pretrain_summary.get(k) for k in ("preset", "sources", "steps", "final_eval_bits_per_frame")}
            if pretrain_summary else None
        ),
        "tasks": tasks_info,
        "systems": {v: {"tasks": system_tasks[v]} for v in systems},
        "training": training_log,
        "device": f"{state.device}" + ("" if torch.cuda.is_available() else f" ({os.cpu_count()} cores)"),
    }

    # The released model: the same procedure on every clip.
    final_model = None
    main_variant = variants[0]
    if model_args.save_model:
        logger.info("training the released %s model on all %d clips", main_variant, len(clips))
        final_model, info = train_on(main_variant, np.arange(len(clips)), seed, f"{main_variant.replace(' ', '-')}-all")
        summary["released_model"] = {"variant": main_variant, **info}

    summary["wall_s"] = round(time.perf_counter() - start, 1)
    if main_process:
        shutil.rmtree(out_dir / ".checkpoints", ignore_errors=True)
    if not main_process:
        return FinetuneResult(summary, out_dir, final_model, tokenizer)

    # Files.
    fold_rows = [[c, g, int(f)] for c, g, f in zip(clip_ids, groups, fold_of)]
    atomic_write_text(out_dir / "folds.csv", _csv_text(["clip", "group", "fold"], fold_rows))
    atomic_write_text(
        out_dir / "predictions.csv",
        _csv_text(["clip", "group", "fold", "model", "task", "truth", "prediction", "score"], predictions),
    )
    all_metrics: list[str] = []
    for r in metric_rows:
        all_metrics.extend(m for m in r if m not in metric_keys and m not in all_metrics)
    header = list(metric_keys) + all_metrics
    atomic_write_text(out_dir / "metrics_per_fold.csv", _csv_text(header, [[_fmt(r.get(h, "")) for h in header] for r in metric_rows]))
    for s in specs:
        if s.kind != "multiclass":
            continue
        classes = tasks_info[s.name]["classes"]
        matrices = {}
        for system in systems:
            rows = [r for r in predictions if r[3] == system and r[4] == s.name]
            matrices[system] = confusion_counts([r[5] for r in rows], [r[6] for r in rows], classes)
        plot_confusion(s.name, classes, matrices, out_dir / f"confusion_{s.name}.png")

    if final_model is not None:
        released = summary["released_model"]
        comparisons = {v: {t: system_tasks[v][t]["metrics"] for t in task_names} for v in systems if v != main_variant}
        card_summary = {**summary, "tasks": {t: {**tasks_info[t], "metrics": system_tasks[main_variant][t]["metrics"]} for t in task_names}}
        name = model_args.model_name or f"{Path(model_dir).name}-{'scratch-' if main_variant == SCRATCH else ''}multitask"
        card = model_card_from_summary(
            card_summary,
            name,
            model=final_model,
            tokenizer=tokenizer,
            base_model=None if main_variant == SCRATCH else model_dir,
            comparisons=comparisons,
            early_stopping=model_args.early_stopping_patience > 0,
            training={
                "released weights": f"trained on all {len(clips)} clips after cross-validation; the table estimates this procedure",
                "input": f"ACM text (joint angles, task `>`), {spec.window}-frame windows at {spec.fps:g} fps, joints `{spec.joints}`",
                "clip prediction": "mean of the window predictions",
                "epochs (at most)": train_args.num_train_epochs,
                "learning rate": train_args.learning_rate,
                "LM loss weight": model_args.lm_loss_weight,
                **({"released model's training": (
                    f"{released['epochs_run']:g} epochs, best validation epoch {released['best_epoch']:g} "
                    f"(validation task loss {released['best_validation_target_loss']:.3f})"
                )} if released.get("best_epoch") else {}),
            },
        )
        save_for_hub(final_model, tokenizer, card, out_dir / "model", overwrite=True)
        summary["model_dir"] = str(out_dir / "model")
        if train_args.push_to_hub:
            from hf_motion.model_card import push_to_hub

            if not train_args.hub_model_id:
                raise SystemExit("--push_to_hub needs --hub_model_id owner/name")
            push_to_hub(out_dir / "model", train_args.hub_model_id, token=train_args.hub_token, private=train_args.hub_private_repo)

    summary["wall_s"] = round(time.perf_counter() - start, 1)
    table = results_markdown(summary)
    atomic_write_text(out_dir / "results.md", table)
    atomic_write_text(out_dir / "summary.json", json.dumps(summary, indent=2, default=str) + "\n")
    print("\n" + table)
    print(f"wrote {out_dir}/results.md, predictions.csv, metrics_per_fold.csv, folds.csv, summary.json"
          + (", confusion_<task>.png" if any(s.kind == "multiclass" for s in specs) else "")
          + (", model/" if final_model is not None else ""))  # fmt: skip
    return FinetuneResult(summary, out_dir, final_model, tokenizer)


if __name__ == "__main__":
    from hf_motion.cv import CrossValidationError, CrossValidationWarning

    with warnings.catch_warnings():
        warnings.simplefilter("always", CrossValidationWarning)
        try:
            main()
        except CrossValidationError as e:
            raise SystemExit(f"finetune: {e}") from None
