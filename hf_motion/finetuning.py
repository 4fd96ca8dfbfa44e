"""Clinical-style fine-tuning under grouped cross-validation (M5 section 5), with the comparison.

    from hf_motion.finetuning import FinetuneDataArguments, FinetuneModelArguments, cross_validate
    from hf_motion.cv import CrossValidationArguments

    result = cross_validate(
        FinetuneDataArguments(data="/path/to/clips", labels="labels.csv", group_by="patient"),
        CrossValidationArguments(tasks="tasks.yaml"),
        FinetuneModelArguments(model_name_or_path="runs/pretrain-tiny", compare=True),
    )
    print(result.to_markdown())          # task x metric rows, one column per system
    result.save()                        # results.md, predictions.csv, ..., model/ (the released model)

What :func:`cross_validate` does:

1. clips and labels (:func:`hf_motion.datasets.selection.select_clips`): a named source
   (``bandai-namco:dataset-2``) or a folder with a label CSV/JSON and a group column, at most
   ``max_clips_per_group`` per group (seeded); every task is resolved *before* any motion is read;
2. folds (:func:`hf_motion.cv.group_folds`): ``kfold`` by group (stratified by ``stratify_by``) or
   ``logo``, the same as :mod:`hf_motion.baselines.kinematic` for equal options; single-class
   training folds and test classes unseen in training are reported, naming the fold and class;
3. windows: each clip at the pretrained model's frame rate and joints, cut into windows of
   ``window`` frames every ``stride`` frames, as the model folder's
   :class:`~hf_motion.MotionProcessor` (``preprocessor_config.json``) records (an older folder's
   ``pretrain_summary.json`` otherwise); at most ``max_windows_per_clip`` evenly spaced windows;
4. training (:func:`fit`): one :class:`~hf_motion.MotionGPT2ForMultiTask` per fold on
   every task at once plus the LM loss, from the pretrained backbone (or from random init,
   ``from_scratch``); early stopping on the task loss of a by-group validation split of the
   *training* fold; the test fold is never seen;
5. evaluation (:func:`predict_clips`): window probabilities averaged per clip (window logits for
   ``pooling="slot-statistics"``, the default); AUC / F1 / accuracy / RMSE per fold; mean ± std
   over folds;
6. with ``compare=True`` the same architecture from scratch and the kinematic random forest
   (:func:`hf_motion.baselines.kinematic.run_forest_task`) on the same folds;
   with ``linear_probe=True`` (the default) a linear probe of each transformer's frozen backbone
   (:mod:`hf_motion.probing`: per-slot hidden-state statistics, logistic regression), and with
   ``compare`` also the same classifier on the decoded pose statistics;
7. the released model (``release``): the same procedure once on all clips, saved by
   :meth:`CrossValidationResult.save` with its processor (so ``AutoProcessor`` and
   ``pipeline("motion-classification")`` load it) and a model card filled from the run. By default
   (``release="probe"``) that is the pretrained backbone's linear probe, folded into a
   :class:`~hf_motion.MotionGPT2ForMultiTask` with ``pooling="slot-statistics"``
   (:func:`hf_motion.probing.probe_model`); ``release="fine-tuned"`` trains and saves the
   fine-tuned transformer.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from transformers import TrainingArguments

from .baselines.kinematic import ForestArguments, default_tasks, run_forest_task
from .cv import (
    CrossValidationArguments,
    FoldScore,
    OutOfFoldPrediction,
    TaskLabels,
    check_fold_classes,
    describe_folds,
    fold_of_clips,
    format_mean_std,
    group_folds,
    inner_validation_split,
    resolve_tasks,
    stratification_labels,
    summarize_scores,
    task_folds,
    task_labels,
    task_metrics,
    warn_unseen_test_classes,
)
from .datasets.selection import ClipSelectionArguments, select_clips
from .probing import POSE_LINEAR, PROBE_SUFFIX, clip_means
from .skeletons import parse_joints_option
from .training import WindowCollator, WindowDataset, eval_window_batches, quiet_transformers

__all__ = [
    "FinetuneError",
    "FinetuneDataArguments",
    "FinetuneModelArguments",
    "FinetuneTrainingArguments",
    "WindowSpec",
    "window_spec",
    "motion_windows",
    "ClipData",
    "prepare_clips",
    "window_logits",
    "predict_clips",
    "multitask_config",
    "initial_model",
    "fit",
    "cross_validate",
    "CrossValidationResult",
    "results_markdown",
    "target_checks",
    "clip_predictions",
    "PRETRAINED",
    "SCRATCH",
    "FOREST",
    "POSE_LINEAR",
    "PROBE_SUFFIX",
]

logger = logging.getLogger(__name__)

PRETRAINED, SCRATCH, FOREST = "pretrained", "from scratch", "random forest"
PROBE_RELEASE, FINE_TUNED_RELEASE = "probe", "fine-tuned"
RELEASES = (PROBE_RELEASE, FINE_TUNED_RELEASE)


class FinetuneError(ValueError):
    """Bad fine-tuning options or model folder; the message says what to pass."""


# ------------------------------------------------------------------ arguments
@dataclass
class FinetuneDataArguments(ClipSelectionArguments):
    """Which clips, labels and groups, and how clips become windows."""

    data: str = field(
        default="bandai-namco:dataset-2",
        metadata={"help": "A folder of motion files, or a named source: bandai-namco:dataset-1, bandai-namco:dataset-2."},
    )
    group_by: str | None = field(
        default="session",
        metadata={
            "help": "Cross-validation group: a label name (e.g. patient), 'parent', 'clip'; for Bandai 'session', 'style' or 'clip'."
        },  # fmt: skip
    )
    max_clips_per_group: int | None = field(
        default=4, metadata={"help": "Keep at most this many clips of each group (seeded draw; 0: all); the CPU budget knob."}
    )
    max_windows_per_clip: int | None = field(
        default=3, metadata={"help": "Keep at most this many windows per clip, evenly spaced over the clip (0: all)."}
    )
    window: int | None = field(default=None, metadata={"help": "Frames per window (default: the model's, from its processor)."})
    stride: int | None = field(default=None, metadata={"help": "Frames between window starts (default: the model's)."})
    fps: float | None = field(default=None, metadata={"help": "Resample clips to this rate (default: the model's)."})
    joints: str | None = field(
        default="auto",
        metadata={"help": "Joint subset: 'auto' (default: the joints the model was pretrained on, from its processor or "
                  "tokenizer, else each skeleton's core body joints found by name), 'all', a registered subset or "
                  "comma-separated joint names."},
    )  # fmt: skip

    def __post_init__(self) -> None:
        if self.max_windows_per_clip == 0:  # 0 on the command line: no cap
            self.max_windows_per_clip = None
        super().__post_init__()
        for name in ("max_windows_per_clip", "window", "stride"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise FinetuneError(f"--{name} must be >= 1, got {value}")


@dataclass
class FinetuneModelArguments:
    """The pretrained model, which systems to train and the fine-tuning model's settings."""

    model_name_or_path: str = field(
        default="runs/pretrain-tiny", metadata={"help": "Pretraining output folder (model, tokenizer, preprocessor_config.json)."}
    )
    from_scratch: bool = field(default=False, metadata={"help": "Train the same architecture from random init (M5-fs)."})
    compare: bool = field(default=False, metadata={"help": "Pretrained, from scratch and the random forest on the same folds."})
    lm_loss_weight: float = field(default=0.5, metadata={"help": "Weight of the autoregressive LM loss beside the task losses."})
    head_dropout: float = field(default=0.1, metadata={"help": "Dropout in front of the task heads."})
    pooling: str = field(
        default="slot-statistics",
        metadata={
            "help": "What the task heads see: the last token's hidden state ('last'), the mean over tokens ('mean'), or "
            "the probe's per-layer, per-slot mean and std over frames ('slot-statistics')."
        },
    )
    attention_dropout: float = field(
        default=0.0, metadata={"help": "Attention dropout while fine-tuning (0 keeps PyTorch's fused CPU attention kernel)."}
    )
    early_stopping_patience: int = field(
        default=2, metadata={"help": "Stop after this many epochs without a better validation task loss (0: no early stopping)."}
    )
    linear_probe: bool = field(
        default=True,
        metadata={
            "help": "Also fit a linear probe on the frozen backbone's per-slot hidden-state statistics (hf_motion.probing); "
            "with --compare also on the random-init backbone and on the decoded pose statistics. Same folds; seconds on a CPU."
        },
    )
    probe_c: float = field(default=0.1, metadata={"help": "Inverse L2 strength of the probes' logistic regression (scikit-learn C)."})
    release: str = field(
        default="probe",
        metadata={
            "help": "Which system model/ holds, fitted on all clips after cross-validation: 'probe' (the linear probe "
            "on the frozen backbone, a MotionGPT2ForMultiTask with pooling='slot-statistics'; needs --linear_probe) "
            "or 'fine-tuned' (the fine-tuned transformer)."
        },
    )
    save_model: bool = field(default=True, metadata={"help": "Train the released model on all clips and save it with its card."})
    model_name: str | None = field(default=None, metadata={"help": "Name of the released model (card, Hub)."})
    num_threads: int | None = field(
        default=None, metadata={"help": "torch CPU threads (default: the idle cores now, shared among the processes)."}
    )

    def __post_init__(self) -> None:
        if self.compare and self.from_scratch:
            raise FinetuneError("--compare already trains the from-scratch model beside the pretrained one; drop --from_scratch")
        from .models.motion_gpt2.modeling_motion_gpt2_multitask import POOLINGS

        if self.pooling not in POOLINGS:
            raise FinetuneError(f"--pooling must be one of {', '.join(POOLINGS)}, got {self.pooling!r}")
        if not self.probe_c > 0:
            raise FinetuneError(f"--probe_c must be > 0, got {self.probe_c!r}")
        if self.release not in RELEASES:
            raise FinetuneError(f"--release must be one of {', '.join(RELEASES)}, got {self.release!r}")
        if self.release == PROBE_RELEASE and not self.linear_probe:
            raise FinetuneError("--release probe needs --linear_probe true (or pass --release fine-tuned)")

    @property
    def released_system(self) -> str:
        """The name of the system ``model/`` holds."""
        return self.variants[0] + (PROBE_SUFFIX if self.release == PROBE_RELEASE else "")

    @property
    def variants(self) -> list[str]:
        """The transformer systems this run trains, the released one first."""
        return [PRETRAINED, SCRATCH] if self.compare else [SCRATCH if self.from_scratch else PRETRAINED]

    @property
    def systems(self) -> list[str]:
        """Every system of the run, in table order: the fine-tuned transformers, their probes, the baselines."""
        probes = [v + PROBE_SUFFIX for v in self.variants] if self.linear_probe else []
        baselines = ([FOREST] + ([POSE_LINEAR] if self.linear_probe else [])) if self.compare else []
        return self.variants + probes + baselines


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


# ------------------------------------------------------------------ windows
@dataclass
class WindowSpec:
    """How clips become model inputs: the model's rate, joints and window."""

    fps: float
    joints: str | list[str] | None
    window: int
    stride: int
    max_windows_per_clip: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise FinetuneError(f"cannot read {path}: {e}") from None


def _recorded_contract(model_dir: str) -> tuple[dict[str, Any], dict[str, Any], str]:
    """``(fps/joints/window/stride recorded for the model, pretrain_summary, where from)``: the
    folder's ``preprocessor_config.json`` first, else its ``pretrain_summary.json``."""
    folder = Path(model_dir)
    summary_path = folder / "pretrain_summary.json"
    summary = _read_json(summary_path) if summary_path.is_file() else {}
    processor_path = folder / "preprocessor_config.json"
    if processor_path.is_file():
        config = _read_json(processor_path)
        return {k: config.get(k) for k in ("fps", "joints", "window", "stride")}, summary, str(processor_path)
    return dict(summary.get("dataset") or {}), summary, str(summary_path)


def window_spec(data_args: FinetuneDataArguments, model_dir: str, tokenizer=None) -> tuple[WindowSpec, dict[str, Any]]:
    """Window settings: the arguments first, then what the model folder records (its
    :class:`~hf_motion.MotionProcessor`, else ``pretrain_summary.json``), then pretraining's
    defaults (10 fps, ``auto`` joints, 24 frames, stride 12) with a warning.

    ``joints="auto"`` (the default) means the joints the model was pretrained on: the recorded
    list, else ``tokenizer.joint_names``, else ``"auto"`` (each skeleton's core body joints found
    by name). Returns the spec and the pretraining summary (``{}`` without one)."""
    recorded, summary, origin = _recorded_contract(model_dir)
    fallback = {"fps": 10.0, "joints": "auto", "window": 24, "stride": 12}
    values: dict[str, Any] = {}
    missing = []
    for key in fallback:
        given = getattr(data_args, key)
        if key == "joints":
            given = parse_joints_option(given)
            if given == "auto":  # the model's joints where it records them
                model_joints = recorded.get("joints")
                if not isinstance(model_joints, list):
                    model_joints = getattr(tokenizer, "joint_names", None)
                if model_joints is not None:
                    values[key] = list(model_joints)
                    continue
                given = None if recorded.get(key) is not None else "auto"
            elif given is None and data_args.joints is not None:  # --joints all
                values[key] = None
                continue
        if given is not None:
            values[key] = given
        elif recorded.get(key) is not None:
            values[key] = recorded[key]
        else:
            values[key] = fallback[key]
            missing.append(key)
    if missing:
        logger.warning(
            "%s records no %s for the model; using %s (pass --fps/--joints/--window/--stride to match how the model "
            "was pretrained)", origin, missing, {k: fallback[k] for k in missing},
        )  # fmt: skip
    from .skeletons import resolve_joint_subset

    joints = parse_joints_option(values["joints"])
    if isinstance(joints, str):
        try:  # an unknown subset name fails here, before any clip is read
            resolve_joint_subset(joints)
        except ValueError as e:
            raise FinetuneError(f"--joints {values['joints']!r}: {e}") from None
    spec = WindowSpec(float(values["fps"]), joints, int(values["window"]), int(values["stride"]), data_args.max_windows_per_clip)
    return spec, summary


def motion_windows(motion, tokenizer, spec: WindowSpec) -> tuple[list[np.ndarray], list[int]]:
    """A motion's windows as ACM token ids (angles, task ``>``) and their start frames.

    The motion is brought to ``spec.fps`` and ``spec.joints`` by
    :func:`hf_motion.processing.prepare_motion` (the processor's rule), then cut as
    :func:`hf_motion.processing.window_starts` does.
    """
    from .processing import prepare_motion, window_starts

    source = str(motion.labels.get("clip") or motion.labels.get("source") or "motion")
    motion = prepare_motion(motion, spec.fps, spec.joints, source=source)
    T = motion.num_frames
    if T == 0:
        raise FinetuneError(f"clip {source!r} has no frames at {spec.fps:g} fps")
    W = min(spec.window, T)
    starts = window_starts(T, spec.window, spec.stride, spec.max_windows_per_clip)
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
    joints: list[str] | None = None  # the model joints every clip was reduced to, in token order

    def flat(self, clip_indices: Sequence[int]) -> tuple[list[np.ndarray], np.ndarray]:
        """The windows of ``clip_indices`` and, for each window, the index of its clip."""
        wins, owner = [], []
        for i in clip_indices:
            wins.extend(self.windows[i])
            owner.extend([int(i)] * len(self.windows[i]))
        return wins, np.asarray(owner, dtype=np.int64)

    @property
    def n_windows(self) -> int:
        return sum(len(w) for w in self.windows)


def prepare_clips(
    clips: list, tokenizer, spec: WindowSpec, forest_joints=None, with_features: bool = False, progress: bool = True
) -> ClipData:
    """Read every clip once: its windows and, for the forest, its kinematic features.

    Raises:
        FinetuneError: a clip cannot be read, or its joints differ from the first clip's (the
            model's joint slots must mean the same joints in every window).
    """
    from tqdm.auto import tqdm

    from .features import FeatureError, clip_features
    from .skeletons import resolve_joint_subset

    windows, starts, rows = [], [], []
    names: list[str] | None = None
    first: tuple[str, list[str]] | None = None  # the first clip's path and model joints
    model_joints = getattr(tokenizer, "joint_names", None)
    for clip in tqdm(clips, desc="reading and tokenizing clips", unit="clip", disable=not progress):
        try:
            motion = clip.load()
        except Exception as e:  # noqa: BLE001 - re-raised naming the file
            raise FinetuneError(f"cannot read {clip.path}: {e}") from e
        try:
            if spec.joints is None:
                joints = list(motion.skeleton.names)
            elif isinstance(spec.joints, str):
                joints = resolve_joint_subset(spec.joints, motion.skeleton)
            else:
                joints = list(spec.joints)
            w, s = motion_windows(motion, tokenizer, dataclasses.replace(spec, joints=joints))  # resolved once
        except ValueError as e:
            raise FinetuneError(f"{clip.path}: {e}") from None
        if first is None:
            first = (clip.path, joints)
            if model_joints is not None and joints != list(model_joints):
                logger.warning(
                    "the model was pretrained on joints %s, but --joints %r gives %s for %s: make sure they are the "
                    "same body joints in the same order", model_joints, spec.joints, joints, clip.path,
                )  # fmt: skip
        elif joints != first[1]:
            raise FinetuneError(
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
                    f"{clip.clip_id}: its kinematic features differ from the first clip's; clips need the same joints (--forest_joints)"
                )
            rows.append(values)
    return ClipData(windows, starts, np.stack(rows) if with_features else None, names, None if first is None else first[1])


# ------------------------------------------------------------------ models, training, prediction
@torch.no_grad()
def window_logits(model, windows: list[np.ndarray], pad_token_id: int, batch_size: int = 32) -> np.ndarray:
    """``(n_windows, model.config.num_outputs)`` logits, in eval mode."""
    out = [model(**batch).logits.float().cpu().numpy() for batch in eval_window_batches(model, windows, pad_token_id, batch_size)]
    return np.concatenate(out) if out else np.zeros((0, model.config.num_outputs), np.float32)


def clip_predictions(model, logits, window_clip: Sequence[Any]) -> dict[str, tuple[list, np.ndarray]]:
    """Clip-level predictions of a multi-task model from its window logits: ``{task: (clips,
    predictions)}``, clips in order of first appearance. Cross-validation and
    ``pipeline("motion-classification")`` both score clips here.

    Each window's probabilities (binary: class 1; multiclass: every class) or value (regression)
    come from :meth:`~hf_motion.MotionGPT2ForMultiTask.predictions`; a clip's prediction is their
    mean over its windows (:func:`hf_motion.cv.aggregate_window_predictions`). A model whose
    ``config.averages_window_logits`` (``pooling="slot-statistics"``: linear heads, as the probe's
    clip-mean features) averages the windows' logits instead.
    """
    from .cv import aggregate_window_predictions

    logits = torch.as_tensor(logits).detach().float().cpu().numpy()
    ids = list(window_clip)
    if model.config.averages_window_logits:
        clips = list(dict.fromkeys(ids))
        position = {c: i for i, c in enumerate(clips)}
        clip_logits = clip_means(logits, [position[c] for c in ids], len(clips))
        return {name: (clips, p) for name, p in model.predictions(clip_logits).items()}
    kinds = {t["name"]: t["kind"] for t in model.config.targets}
    return {name: aggregate_window_predictions(ids, p, kinds[name]) for name, p in model.predictions(logits).items()}


def predict_clips(
    model, windows: list[np.ndarray], window_clip: Sequence[Any], pad_token_id: int, batch_size: int = 32
) -> dict[str, tuple[list, np.ndarray]]:
    """Clip-level predictions of a multi-task model on token windows (:func:`clip_predictions`)."""
    return clip_predictions(model, window_logits(model, windows, pad_token_id, batch_size), window_clip)


def multitask_config(model_dir: str, targets: list[dict], model_args: FinetuneModelArguments, frame_width: int | None = None):
    """The multi-task config: the pretrained backbone's architecture plus the targets
    (``frame_width``: tokens per frame of the windows, which ``pooling="slot-statistics"`` needs)."""
    from transformers import AutoConfig

    from .models.motion_gpt2.modeling_motion_gpt2 import MotionGPT2Config
    from .models.motion_gpt2.modeling_motion_gpt2_multitask import MotionMultiTaskConfig

    backbone = AutoConfig.from_pretrained(model_dir)
    if not isinstance(backbone, MotionGPT2Config):
        raise FinetuneError(f"{model_dir} holds a {type(backbone).__name__}, not a motion_gpt2 model (pretrain with `hf-motion pretrain`)")
    return MotionMultiTaskConfig.from_backbone_config(
        backbone,
        targets=targets,
        lm_loss_weight=model_args.lm_loss_weight,
        head_dropout=model_args.head_dropout,
        pooling=model_args.pooling,
        frame_width=frame_width,
        attn_pdrop=model_args.attention_dropout,
    )


def initial_model(variant: str, model_dir: str, config, seed: int):
    """A fresh multi-task model: the pretrained backbone with new heads, or (``"from scratch"``) the
    same architecture from random init. Heads are initialised from ``seed`` in both cases."""
    from transformers import set_seed

    from .models.motion_gpt2.modeling_motion_gpt2_multitask import MotionGPT2ForMultiTask

    set_seed(seed)
    if variant == SCRATCH:
        return MotionGPT2ForMultiTask(config)
    if variant != PRETRAINED:
        raise ValueError(f"unknown model variant {variant!r}; expected {PRETRAINED!r} or {SCRATCH!r}")
    with quiet_transformers():  # "newly initialized heads" is expected here, every fold
        return MotionGPT2ForMultiTask.from_pretrained(model_dir, config=config)


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


def fit(model, train_set, val_set, train_args, checkpoint_dir: Path, patience: int, seed: int, pad_token_id: int, callbacks: Sequence = ()):
    """Fine-tune ``model`` with ``Trainer``; early stopping on ``val_set`` when given; ``callbacks``
    are extra ``TrainerCallback`` objects (the released model's card callback). Returns
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
        callbacks=[*([EarlyStoppingCallback(early_stopping_patience=patience)] if use_val else []), *callbacks],
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


# ------------------------------------------------------------------ the result
def results_markdown(summary: dict[str, Any]) -> str:
    """The comparison table (rows: task × metric; columns: systems) with the run's settings on top."""
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
    if any(v in (PRETRAINED, SCRATCH) for v in systems):
        lines.append(
            f"- **Transformers:** `{s['model_name_or_path']}` ({s['parameters']:,} parameters) fine-tuned on every task at once"
            f" with LM loss weight {s['lm_loss_weight']:g}, pooling `{s.get('pooling', 'last')}`; from scratch = same architecture, random init. At most "
            f"{s['num_train_epochs']:g} epochs, batch {s['batch_size']}, learning rate {s['learning_rate']:g}, early stopping "
            f"(patience {s['early_stopping_patience']}) on the task loss of a {s['validation_fraction']:.0%} by-group "
            "validation split of each training fold."
        )
    if any(v.endswith(PROBE_SUFFIX) for v in systems):
        lines.append(
            f"- **Linear probes:** the backbone frozen (pretrained, or the from-scratch random init); per window, the mean and "
            f"std over frames of every layer's hidden state at each frame slot; a clip's mean over its windows "
            f"({s.get('probe_features', 0):,} features); standardised, class-balanced logistic regression, C = "
            f"{s.get('probe_c', 0):g} (`hf_motion.probing`)."
        )
    if POSE_LINEAR in systems:
        lines.append(
            "- **Pose-statistics linear:** the same logistic regression on the decoded angles of the same windows (mean, std "
            "and mean absolute frame-to-frame change of every joint component): what the transformer adds over its input."
        )
    if FOREST in systems:
        lines.append(
            f"- **Random forest:** {s['n_estimators']} trees on {s['n_features']} kinematic features per clip "
            "(`hf_motion.baselines.kinematic`)."
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


def _main_metric(metrics: dict[str, Any]) -> tuple[str, float, bool] | None:
    """``(name, mean over folds, higher is better)`` of a task's headline metric (the first of
    accuracy, AUC or RMSE that its metrics list: AUC for binary tasks), or None."""
    for name, summary in metrics.items():
        if name in ("accuracy", "auc", "rmse") and "mean" in summary:
            return name, float(summary["mean"]), name != "rmse"
    return None


def target_checks(summary: dict[str, Any]) -> list[str]:
    """The fine-tuning targets, one line each, on every task's headline metric (accuracy, else
    AUC, else RMSE; mean over folds): for each pretrained system and its from-scratch twin (the
    fine-tuned model, the probe), whether pretrained beats from scratch on every task, whether
    from scratch is above chance (1 / classes accuracy, AUC 0.5) and whether pretrained beats the
    random forest on at least two tasks (all of them when there are fewer). Empty without the pairs."""
    systems, tasks = summary["systems"], summary["tasks"]
    lines = []
    for pre, scratch in ((PRETRAINED, SCRATCH), (PRETRAINED + PROBE_SUFFIX, SCRATCH + PROBE_SUFFIX)):
        if pre not in systems or scratch not in systems:
            continue
        beats_scratch, above_chance, beats_forest = [], [], []
        for name, task in tasks.items():
            a = _main_metric(systems[pre]["tasks"][name]["metrics"])
            b = _main_metric(systems[scratch]["tasks"][name]["metrics"])
            if a is None or b is None:
                continue
            metric, value, higher = a
            beats_scratch.append((name, (value > b[1]) if higher else (value < b[1])))
            if metric in ("accuracy", "auc"):
                chance = 1.0 / len(task["classes"]) if metric == "accuracy" and task["kind"] == "multiclass" else 0.5
                above_chance.append((name, b[1] > chance))
            if FOREST in systems:
                c = _main_metric(systems[FOREST]["tasks"][name]["metrics"])
                if c is not None:
                    beats_forest.append((name, (value > c[1]) if higher else (value < c[1])))

        def verdict(pairs: list[tuple[str, bool]], need: int) -> str:
            lost = [n for n, ok in pairs if not ok]
            won = len(pairs) - len(lost)
            return f"{won >= need and bool(pairs)} ({won} of {len(pairs)}" + (f"; not: {', '.join(lost)})" if lost else ")")

        lines.append(f"target: {pre} beats {scratch} on every task: {verdict(beats_scratch, len(beats_scratch))}")
        lines.append(f"target: {scratch} is above chance on every task: {verdict(above_chance, len(above_chance))}")
        if beats_forest:
            lines.append(f"target: {pre} beats the random forest on at least two tasks: {verdict(beats_forest, min(2, len(beats_forest)))}")
    return lines


@dataclass
class CrossValidationResult:
    """What :func:`cross_validate` returns: every system's fold scores and out-of-fold predictions,
    the summary written to ``summary.json``, and the released model with its processor."""

    summary: dict[str, Any]
    output_dir: Path
    clip_ids: list[str]
    groups: list[str]
    fold_of: np.ndarray
    labels: dict[str, TaskLabels]
    scores: list[FoldScore]
    out_of_fold: list[OutOfFoldPrediction]
    model: Any = None
    tokenizer: Any = None
    processor: Any = None
    card_data: Any = None  # MotionCardData of the released model, filled while it trained

    @property
    def card(self):
        """The released model's card (``None`` without one), rendered from :attr:`card_data` and
        the cross-validation results: the main system's scores, the others as comparisons."""
        if self.card_data is None:
            return None
        from .model_card import model_card_from_summary

        summary = self.summary
        main = summary["released_model"]["variant"]
        tasks = list(summary["tasks"])
        comparisons = {v: {t: summary["systems"][v]["tasks"][t]["metrics"] for t in tasks} for v in summary["systems"] if v != main}
        card_summary = {
            **summary,
            "tasks": {t: {**summary["tasks"][t], "metrics": summary["systems"][main]["tasks"][t]["metrics"]} for t in tasks},
        }
        return model_card_from_summary(
            card_summary,
            self.card_data.model_name,
            model=self.model,
            tokenizer=self.tokenizer,
            comparisons=comparisons,
            **self.card_data.card_arguments(),
        )

    @property
    def systems(self) -> list[str]:
        return list(self.summary["systems"])

    def to_markdown(self) -> str:
        return results_markdown(self.summary)

    def predictions(self, system: str | None = None, task: str | None = None) -> list[OutOfFoldPrediction]:
        """The out-of-fold predictions, optionally of one system and/or task."""
        return [p for p in self.out_of_fold if (system is None or p.system == system) and (task is None or p.task == task)]

    def prediction_rows(self) -> list[list[Any]]:
        """Rows of ``predictions.csv``: clip, group, fold, model, task, truth, prediction, score."""
        rows = []
        for p in self.out_of_fold:
            truth, pred, score = p.as_labels(self.labels[p.task])
            rows.append([self.clip_ids[p.clip], self.groups[p.clip], p.fold, p.system, p.task, truth, pred, score])
        return rows

    def confusion(self, task: str) -> dict[str, np.ndarray]:
        """``{system: (C, C) counts}`` of a multiclass task's pooled out-of-fold predictions (rows = truth)."""
        from .reporting import confusion_counts

        lab = self.labels[task]
        if lab.task.kind != "multiclass":
            raise ValueError(f"task {task!r} is {lab.task.kind}; confusion matrices are for multiclass tasks")
        classes = [str(c) for c in lab.classes]
        out = {}
        for system in self.systems:
            pairs = [p.as_labels(lab)[:2] for p in self.predictions(system, task)]
            out[system] = confusion_counts([t for t, _ in pairs], [q for _, q in pairs], classes)
        return out

    def save(self, output_dir: str | os.PathLike | None = None) -> Path:
        """Write ``results.md``, ``predictions.csv``, ``metrics_per_fold.csv``, ``folds.csv``,
        ``confusion_<task>.png``, ``summary.json`` and ``model/`` (the released model, its
        processor and tokenizer, and the card) into ``output_dir`` (default: the run's)."""
        from .fileio import atomic_write_text
        from .model_card import save_for_hub
        from .reporting import plot_confusion, write_csv

        out = Path(output_dir or self.output_dir)
        out.mkdir(parents=True, exist_ok=True)
        write_csv(
            out / "folds.csv", ["clip", "group", "fold"], [[c, g, int(f)] for c, g, f in zip(self.clip_ids, self.groups, self.fold_of)]
        )
        write_csv(
            out / "predictions.csv", ["clip", "group", "fold", "model", "task", "truth", "prediction", "score"], self.prediction_rows()
        )
        rows = [s.row() for s in self.scores]
        fixed = ["model", "task", "fold", "n_train", "n_test", "skipped"]
        metrics: list[str] = []
        for r in rows:
            metrics.extend(m for m in r if m not in fixed and m not in metrics)
        write_csv(out / "metrics_per_fold.csv", fixed + metrics, [[r.get(h, "") for h in fixed + metrics] for r in rows])
        for name, lab in self.labels.items():
            if lab.task.kind == "multiclass":
                plot_confusion(name, [str(c) for c in lab.classes], self.confusion(name), out / f"confusion_{name}.png")
        if self.model is not None:
            save_for_hub(self.model, self.processor, self.card, out / "model", overwrite=True)
            self.summary["model_dir"] = str(out / "model")
        atomic_write_text(out / "results.md", self.to_markdown())
        atomic_write_text(out / "summary.json", json.dumps(self.summary, indent=2, default=str) + "\n")
        return out


# ------------------------------------------------------------------ the run
def _load_pretrained(model_dir: str):
    from .tokenization.tokenizer import MotionTokenizer

    if not Path(model_dir).is_dir():
        raise FinetuneError(
            f"pretrained model folder {model_dir} not found: run `accelerate launch recipes/pretrain.py` (or "
            "`hf-motion pretrain`) first, or pass --model_name_or_path"
        )
    tokenizer = MotionTokenizer.from_pretrained(model_dir)
    if not hasattr(tokenizer, "encode_motion"):
        raise FinetuneError(f"{model_dir} does not hold a MotionTokenizer")
    return tokenizer


def _released_processor(model_dir: str, tokenizer, spec: WindowSpec, joints: list[str]):
    """The released model's :class:`~hf_motion.MotionProcessor`: the windows it was fine-tuned on."""
    from .processing import MotionProcessor
    from .tokenization.tokenizer import MotionTokenizer

    if tokenizer.joint_names != list(joints):  # fine-tuned on other joints than the tokenizer records
        tokenizer = MotionTokenizer.from_pretrained(model_dir, joint_names=list(joints))
    return MotionProcessor(tokenizer, fps=spec.fps, joints=list(joints), window=spec.window, stride=spec.stride)


def cross_validate(
    data_args: FinetuneDataArguments,
    cv_args: CrossValidationArguments,
    model_args: FinetuneModelArguments,
    forest_args: ForestArguments | None = None,
    train_args: FinetuneTrainingArguments | None = None,
    inline_tasks: tuple[list, Any] | None = None,
) -> CrossValidationResult:
    """Cross-validate the fine-tuned model (and with ``compare`` the from-scratch model and the
    forest) and train the released model; see the module docstring. Files are written by
    :meth:`CrossValidationResult.save`.

    Tasks come from ``inline_tasks`` (a config's ``tasks:`` list), ``cv_args.tasks``, else the
    shipped list of a named source. Label problems raise :class:`~hf_motion.cv.CrossValidationError`
    before any motion file is read; option and model-folder problems :class:`FinetuneError`.
    """
    from accelerate import PartialState
    from tqdm.auto import tqdm

    from .model_card import ModelCardCallback
    from .models.motion_gpt2.modeling_motion_gpt2 import count_parameters
    from .models.motion_gpt2.modeling_motion_gpt2_multitask import MotionGPT2ForMultiTask
    from .training import set_cpu_threads

    forest_args = forest_args or ForestArguments()
    train_args = train_args or FinetuneTrainingArguments()
    start = time.perf_counter()
    state = PartialState()
    main_process = state.is_main_process
    threads = set_cpu_threads(model_args.num_threads)
    seed = train_args.seed
    specs = resolve_tasks(cv_args.tasks, inline_tasks, default=default_tasks(data_args.data))
    task_names = [s.name for s in specs]

    # Clips and labels first: every label problem fails before a motion file is read.
    clips = select_clips(data_args, seed, progress=main_process)
    clip_ids = [c.clip_id for c in clips]
    groups = [c.group for c in clips]
    labels = {s.name: task_labels(s, [c.labels for c in clips], clip_ids) for s in specs}
    strat = stratification_labels(labels, cv_args.stratify_by, len(clips))
    folds = group_folds(groups, cv_args.cv_scheme, cv_args.n_splits, seed, labels=strat, clip_ids=clip_ids)
    usable: dict[str, list[bool]] = {}
    for s in specs:
        lab = labels[s.name]
        usable[s.name] = [True] * len(folds) if s.kind == "regression" else check_fold_classes(
            task_folds(lab, folds, len(clips)), lab.y, task=s.name, on_single_class=cv_args.single_class_folds,
            class_names=lab.classes,
        )  # fmt: skip
    cv_description = describe_folds(cv_args.cv_scheme, len(folds))
    logger.info("%d clips in %d groups from %s; %s", len(clips), len(set(groups)), data_args.data, cv_description)

    model_dir = model_args.model_name_or_path
    tokenizer = _load_pretrained(model_dir)
    spec, pretrain_summary = window_spec(data_args, model_dir, tokenizer)
    variants = model_args.variants
    systems = model_args.systems

    data = prepare_clips(clips, tokenizer, spec, forest_args.joint_subset(), with_features=model_args.compare, progress=main_process)
    frame_width = len(data.joints or []) * tokenizer.values_per_joint
    config = multitask_config(model_dir, [s.to_target(labels[s.name].classes) for s in specs], model_args, frame_width)
    n_parameters = count_parameters(MotionGPT2ForMultiTask(config))
    longest = max((len(x) for w in data.windows for x in w), default=0)
    if longest > config.n_positions:
        raise FinetuneError(
            f"a {spec.window}-frame window of joints {spec.joints!r} is {longest} tokens, more than the model's "
            f"n_positions={config.n_positions}; use a shorter --window or fewer --joints"
        )
    logger.info("%d windows (%s)", data.n_windows, spec.to_dict())
    y_clip = np.full((len(clips), len(specs)), np.nan, dtype=np.float32)  # NaN: the clip is not in the task
    for j, s in enumerate(specs):
        y_clip[labels[s.name].index, j] = labels[s.name].y
    out_dir = Path(train_args.output_dir)
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

    def train_on(variant: str, train_idx: np.ndarray, k_seed: int, name: str, skip_tasks: Sequence[str] = (), callbacks: Sequence = ()):
        """Inner split, targets (tasks in ``skip_tasks`` hidden), model, training."""
        inner, val = inner_split(train_idx, k_seed)
        y = y_clip.copy()
        for t in skip_tasks:
            y[:, task_names.index(t)] = np.nan
        tr_w, tr_owner = data.flat(inner)
        va_w, va_owner = data.flat(val)
        model = initial_model(variant, model_dir, config, k_seed)
        return fit(
            model, WindowDataset(tr_w, y[tr_owner]), WindowDataset(va_w, y[va_owner]) if len(va_w) else None,
            train_args, out_dir / ".checkpoints" / name, model_args.early_stopping_patience, k_seed, pad, callbacks,
        )  # fmt: skip

    scores: list[FoldScore] = []
    out_of_fold: list[OutOfFoldPrediction] = []
    training_log: list[dict[str, Any]] = []
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
        notes = []
        for s in specs:
            lab = labels[s.name]
            position = {int(c): p for p, c in enumerate(lab.index)}
            clips_k, pred_k = clip_preds[s.name]
            in_task = [(j, position[c]) for j, c in enumerate(clips_k) if c in position]
            n_train = int(sum(1 for c in train_idx if int(c) in position))
            score = FoldScore(variant, s.name, k, n_train, len(in_task))
            scores.append(score)
            if not in_task or not usable[s.name][k]:
                score.skipped = "no test clips" if not in_task else "single class"
                continue
            truth = lab.y[[p for _, p in in_task]]
            pred = np.stack([pred_k[j] for j, _ in in_task]) if s.kind == "multiclass" else np.asarray([pred_k[j] for j, _ in in_task])
            score.metrics = task_metrics(s.kind, truth, pred)
            main_metric = next(iter(m for m in score.metrics if m in ("accuracy", "auc", "rmse")), None)
            if main_metric:
                notes.append(f"{s.name} {main_metric} {score.metrics[main_metric]:.2f}")
            for (_, p), prediction in zip(in_task, pred):
                out_of_fold.append(OutOfFoldPrediction(variant, s.name, k, int(lab.index[p]), float(lab.y[p]), prediction))
        training_log.append({"model": variant, "fold": k, **info})
        if main_process:
            bar.write(
                f"fold {k + 1}/{len(folds)} {variant}: {info['epochs_run']:g} epochs"
                + (f" (best {info['best_epoch']:g})" if info["best_epoch"] else "")
                + f", {info['train_windows']} train / {len(te_w)} test windows; "
                + ", ".join(notes)
            )
        del model

    probe_inputs: dict[str, np.ndarray] = {}
    if model_args.linear_probe:
        probe_inputs = _fit_probes(
            data, variants, model_dir, config, tokenizer, model_args, specs, labels, folds, seed, cv_args, scores, out_of_fold,
            clip_ids, state.device, train_args.per_device_eval_batch_size,
        )  # fmt: skip
    probe_features = int(next(iter(probe_inputs.values())).shape[1]) if probe_inputs else 0
    if model_args.compare:
        forest_predictions = []
        for s in specs:
            result = run_forest_task(labels[s.name], data.features, folds, forest_args, seed, cv_args.single_class_folds)
            scores.extend(result.scores)
            forest_predictions.extend(result.predictions)
        out_of_fold.extend(sorted(forest_predictions, key=lambda p: (p.task, p.fold, clip_ids[p.clip])))

    system_tasks = {
        v: {s.name: {
            "metrics": summarize_scores([f for f in scores if f.system == v and f.task == s.name]),
            "skipped_folds": [{"fold": f.fold, "reason": f.skipped} for f in scores if f.system == v and f.task == s.name and f.skipped],
        } for s in specs} for v in systems
    }  # fmt: skip
    tasks_info = {
        s.name: {
            "kind": s.kind, "column": s.column, "positive": s.positive, "negative": s.negative,
            "classes": None if labels[s.name].classes is None else [str(c) for c in labels[s.name].classes],
            "n_clips": int(labels[s.name].index.size), "dropped": labels[s.name].dropped,
        } for s in specs
    }  # fmt: skip
    summary: dict[str, Any] = {
        "data": data_args.data,
        "n_clips": len(clips),
        "n_groups": len(set(groups)),
        "n_windows": data.n_windows,
        "cv": {
            "scheme": cv_args.cv_scheme,
            "n_folds": len(folds),
            "seed": seed,
            "description": cv_description,
            "stratify_by": cv_args.stratify_by,
        },  # fmt: skip
        "settings": {
            "group_by": data_args.group_by,
            "max_clips_per_group": data_args.max_clips_per_group,
            "seed": seed,
            **spec.to_dict(),
            "model_joints": data.joints,
            "model_name_or_path": model_dir,
            "parameters": n_parameters,
            "lm_loss_weight": model_args.lm_loss_weight,
            "pooling": model_args.pooling,
            "attention_dropout": model_args.attention_dropout,
            "num_train_epochs": train_args.num_train_epochs,
            "batch_size": train_args.per_device_train_batch_size,
            "learning_rate": train_args.learning_rate,
            "early_stopping_patience": model_args.early_stopping_patience,
            "validation_fraction": cv_args.validation_fraction,
            "linear_probe": model_args.linear_probe,
            "probe_c": model_args.probe_c,
            "probe_features": probe_features,
            "n_estimators": forest_args.n_estimators,
            "n_features": None if data.features is None else int(data.features.shape[1]),
            "torch_threads": threads,
        },  # fmt: skip
        "pretraining": (
            {k: pretrain_summary.get(k) for k in ("preset", "sources", "steps", "final_eval_bits_per_frame")} if pretrain_summary else None
        ),
        "tasks": tasks_info,
        "systems": {v: {"tasks": system_tasks[v]} for v in systems},
        "training": training_log,
        "device": f"{state.device}" + ("" if torch.cuda.is_available() else f" ({os.cpu_count()} cores)"),
    }
    result = CrossValidationResult(
        summary, out_dir, clip_ids, groups, fold_of_clips(folds, len(clips)), labels, scores, out_of_fold, tokenizer=tokenizer
    )

    # The released model: the same procedure on every clip.
    main_variant = variants[0]
    released = model_args.released_system
    if model_args.save_model and model_args.release == PROBE_RELEASE:
        logger.info("fitting the released %s on all %d clips", released, len(clips))
        card_data = released_card_data(summary, model_args, train_args, main_variant)
        model = _release_probe(probe_inputs[released], main_variant, model_dir, config, specs, labels, model_args.probe_c, seed)
        summary["released_model"] = {"variant": released, "probe_features": probe_features}
        result.model = model
        result.processor = _released_processor(model_dir, tokenizer, spec, data.joints)
        result.tokenizer = result.processor.tokenizer
        result.card_data = card_data
    elif model_args.save_model:
        logger.info("training the released %s model on all %d clips", main_variant, len(clips))
        card_data = released_card_data(summary, model_args, train_args, main_variant)
        model, info = train_on(
            main_variant, np.arange(len(clips)), seed, f"{main_variant.replace(' ', '-')}-all",
            callbacks=[ModelCardCallback(card_data, tokenizer, write_checkpoints=False)],
        )  # fmt: skip
        summary["released_model"] = {"variant": main_variant, **info}
        if info.get("best_epoch"):
            card_data.training["best validation epoch"] = (
                f"{info['best_epoch']:g} (validation task loss {info['best_validation_target_loss']:.3f}); its weights are released"
            )
        result.model = model
        result.processor = _released_processor(model_dir, tokenizer, spec, data.joints)
        result.tokenizer = result.processor.tokenizer
        result.card_data = card_data
    summary["wall_s"] = round(time.perf_counter() - start, 1)
    if main_process:
        shutil.rmtree(out_dir / ".checkpoints", ignore_errors=True)
    return result


def _fit_probes(
    data: ClipData,
    variants,
    model_dir,
    config,
    tokenizer,
    model_args,
    specs,
    labels,
    folds,
    seed,
    cv_args,
    scores,
    out_of_fold,
    clip_ids,
    device,
    batch_size: int,
) -> dict[str, np.ndarray]:
    """The linear probes (:mod:`hf_motion.probing`) of every variant's frozen backbone, and with
    ``compare`` the pose-statistics baseline, on the run's folds; appends their scores and
    out-of-fold predictions. Returns ``{system: (clips, features)}``, the inputs each was fitted on."""
    from .cv import run_feature_task
    from .probing import clip_means, make_linear_probe, pose_statistics, slot_statistics

    n_clips = len(data.windows)
    windows, owner = data.flat(range(n_clips))
    frame_width = config.frame_width
    inputs: dict[str, np.ndarray] = {}
    for variant in variants:  # the backbone as fine-tuning starts from it: pretrained weights, or random init
        model = initial_model(variant, model_dir, config, seed).to(device)
        inputs[variant + PROBE_SUFFIX] = clip_means(
            slot_statistics(model, windows, frame_width, tokenizer.pad_token_id, batch_size), owner, n_clips
        )
        del model
    if model_args.compare:
        inputs[POSE_LINEAR] = clip_means(pose_statistics(tokenizer, windows), owner, n_clips)
    predictions = []
    for system, X in inputs.items():
        for s in specs:
            result = run_feature_task(
                labels[s.name], X, folds, lambda kind, k_seed: make_linear_probe(kind, model_args.probe_c, k_seed), system, seed,
                cv_args.single_class_folds,
            )  # fmt: skip
            scores.extend(result.scores)
            predictions.extend(result.predictions)
    out_of_fold.extend(sorted(predictions, key=lambda p: (p.system, p.task, p.fold, clip_ids[p.clip])))
    return inputs


def _release_probe(X: np.ndarray, variant: str, model_dir: str, config, specs, labels, C: float, seed: int):
    """The released probe: every task's probe fitted on all its clips, in a
    :class:`~hf_motion.MotionGPT2ForMultiTask` (:func:`hf_motion.probing.probe_model`) over the
    frozen backbone the cross-validated probe read."""
    from .probing import make_linear_probe, probe_model

    estimators = {}
    for s in specs:
        lab = labels[s.name]
        estimators[s.name] = make_linear_probe(s.kind, C, seed).fit(X[lab.index], lab.y)
    backbone = initial_model(variant, model_dir, config, seed)
    return probe_model(backbone, config.targets, estimators, config.frame_width)


def released_card_data(summary: dict[str, Any], model_args, train_args, variant: str):
    """The released model's :class:`~hf_motion.model_card.MotionCardData`: what the run knows
    before the release trains; :class:`~hf_motion.model_card.ModelCardCallback` adds the
    hyperparameters, losses, steps and epochs while it trains."""
    from .model_card import MotionCardData

    spec = summary["settings"]
    model_dir = model_args.model_name_or_path
    probe = model_args.release == PROBE_RELEASE
    inputs = f"ACM text (joint angles, task `>`), {spec['window']}-frame windows at {spec['fps']:g} fps, joints `{spec['joints']}`"
    if probe:
        training = {
            "released weights": f"the {'random-init' if variant == SCRATCH else 'pretrained'} backbone unchanged; linear heads fitted on "
            f"all {summary['n_clips']} clips after cross-validation; the table estimates this procedure",
            "input": inputs,
            "heads": f"standardised, class-balanced logistic regression (ridge for regression), C = {model_args.probe_c:g}, "
            "folded into one linear layer per task (hf_motion.probing)",
            "pooling": f"slot-statistics: per layer and frame slot, mean and std over frames ({spec.get('probe_features')} features)",
            "clip prediction": "mean of the window logits",
        }
    else:
        training = {
            "released weights": f"trained on all {summary['n_clips']} clips after cross-validation; the table estimates this procedure",
            "input": inputs,
            "clip prediction": "mean of the window predictions",
            "epochs (at most)": train_args.num_train_epochs,
            "LM loss weight": model_args.lm_loss_weight,
            "pooling": model_args.pooling,
        }
    kind = "probe" if probe else "multitask"
    return MotionCardData(
        model_name=model_args.model_name or f"{Path(model_dir).name}-{'scratch-' if variant == SCRATCH else ''}{kind}",
        template="motion_finetuned",
        base_model=None if variant == SCRATCH else model_dir,
        fps=spec["fps"],
        window=spec["window"],
        early_stopping=model_args.early_stopping_patience > 0 and not probe,
        training=training,
    )
