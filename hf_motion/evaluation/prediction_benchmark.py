"""Motion-prediction benchmark (M5 appendix C, after Aksan et al.): 2 s of context, predict 400 ms.

:func:`evaluate_prediction` with its arguments (:class:`PredictionBenchmarkArguments`,
:class:`PredictionDataArguments`, :class:`ContinuousBaselineArguments`) returns a
:class:`PredictionBenchmarkResult`; ``hf_motion.scripts.evaluate_prediction`` (``python
recipes/evaluate_prediction.py``) is its command line. What it does:

* **Held-out data.** The clips are the ``split`` (default ``test``) groups of the dataset the
  model was pretrained on: the dataset builder is run with the pretraining config read from the
  model folder's ``pretrain_summary.json`` (sources, split fractions, seed; packing off) and its
  input contract (:class:`hf_motion.MotionProcessor`, ``preprocessor_config.json``: fps, joints,
  window), so the group split is the builder's own and no evaluated take was trained on. Every
  clip of a held-out group is evaluated (resampled to the model's fps, reduced to its joints).
  ``test_data`` (folders or files of motion) evaluates on all their clips instead.
* **Joints.** ``joints`` takes ``all``, a registered subset name or comma-separated joint names.
  Unset, the model's joints: its processor's, else the joint names the folder records
  (``tokenizer_config.json`` or ``config.json`` ``joint_names``, else the summary's
  ``joint_names``), so a subset registered only on the training machine is no obstacle; without
  any record, the summary's subset (else pretraining's default).
* **Windows.** Every ``window_stride`` frames of every held-out clip a window of
  ``context_seconds`` context plus the prediction horizon starts; ``max_windows`` of them are
  drawn with ``window_seed`` (the same seed gives the same windows).
* **Horizons.** ``horizons`` in milliseconds (``100,200,300,400`` or ``100ms,...``) or frames at
  the benchmark's fps (``1f,2f,...``); unset, ``horizons_ms``.
* **Model.** :func:`hf_motion.predict` on the context angles (ACM ``>`` text, ``decoding="mean"``
  (the token nearest the expected value of each slot), ``"median"`` (each slot's median),
  ``"sample-mean"`` or ``"greedy"``, with
  :class:`hf_motion.MotionLogitsProcessor`). ``baselines_only`` skips it (no model needed; the
  split then comes from the model folder's records if there are any, else pretraining's defaults).
* **Baselines, in the same run** (:mod:`hf_motion.baselines.prediction`): zero-velocity,
  constant-velocity (along the geodesic in SO(3), per joint) and the quantized oracle (the true
  future through the tokenizer: the error floor of the representation).
* **Continuous baselines** (``continuous_baselines``, on by default;
  :mod:`hf_motion.baselines.continuous`): trained on the windows of the pretraining split's
  *training* clips (never the evaluated ones; with ``test_data`` too), same context and horizon:
  ridge regression (the last ``ridge_past_seconds`` of context) and siMLPe (``mlp_steps`` steps,
  ``baseline_seed``). Their training time is reported.
* **Metrics** at each horizon (:mod:`hf_motion.metrics`): Euler-angle RMSE (rad), joint-angle
  geodesic error (rad, summed over joints as in Aksan et al. by default), positional MSE (m²,
  mean over joints) and PCK AUC (1-20 cm).
* **Positions** are forward kinematics of each method's angles on the reduced skeleton with the
  bone vectors frozen at the last context frame and the root translation removed: root-relative
  positions that include the root's orientation. Ground truth goes through the same FK, so
  positional errors measure angle errors only (angle text carries no root translation, and the
  quantized oracle's positional error stays within its quantization bound).

Outputs in ``output_dir`` (default ``<model>/prediction``; with ``baselines_only`` and no model
folder, ``runs/prediction-baselines``): ``prediction.md`` (:meth:`PredictionBenchmarkResult.to_markdown`),
``prediction.json`` (:meth:`PredictionBenchmarkResult.to_dict`: every number, the clips and
windows), ``prediction.png`` (error against horizon, one panel per metric).
"""

from __future__ import annotations

import dataclasses
import io
import json
import logging
import math
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..baselines.prediction import constant_velocity, quantized_oracle, zero_velocity
from ..processing import PROCESSOR_CONFIG_NAME, MotionProcessor, MotionProcessorError, prepare_motion, same_rate

logger = logging.getLogger(__name__)

__all__ = [
    "PredictionBenchmarkArguments",
    "PredictionDataArguments",
    "ContinuousBaselineArguments",
    "PredictionBenchmarkResult",
    "EvaluationError",
    "evaluate_prediction",
    "METRICS",
    "BASELINES",
    "CONTINUOUS",
    "Windows",
    "draw_windows",
    "predict_windows",
    "resolve_horizons",
    "resolve_joints",
    "joints_option",
    "load_tokenizer",
    "lost_cells",
    "baseline_verdict",
]

METRICS = {
    # key: (title, short column name, unit, higher_is_better)
    "euler_rmse": ("Euler-angle RMSE", "Euler", "rad", False),
    "joint_angle": ("joint-angle error", "angle", "rad", False),
    "positional_mse": ("positional MSE", "pos", "m²", False),
    "pck_auc": ("PCK AUC", "PCK", "", True),
}
BASELINES = ("zero-velocity", "constant-velocity", "quantized oracle")
RIDGE, MLP = "ridge regression", "siMLPe (DCT + MLP)"
CONTINUOUS = (RIDGE, MLP)
SUMMARY_NAME = "pretrain_summary.json"


# ------------------------------------------------------------------------ arguments
@dataclass
class PredictionBenchmarkArguments:
    """What to evaluate, and how (``--help`` lists the options; ``--config YAML`` sets defaults)."""

    _argument_group_name = "benchmark"

    model: str = field(default="runs/pretrain-tiny", metadata={"help": "model folder (a pretrain.py output_dir)"})
    output_dir: str | None = field(default=None, metadata={"help": "where to write the results (default <model>/prediction)"})
    baselines_only: bool = field(default=False, metadata={"help": "skip the model: baselines only (no model folder needed)"})
    context_seconds: float = field(default=2.0, metadata={"help": "seconds of context given to the model"})
    horizons: list[str] | None = field(
        default=None,
        metadata={
            "help": "horizons: milliseconds ('100,200,300,400' or '100ms,...') or frames at the benchmark's fps "
            "('1f,2f,...'); default --horizons_ms"
        },
    )
    horizons_ms: list[int] = field(
        default_factory=lambda: [100, 200, 300, 400], metadata={"help": "horizons (ms) at which metrics are reported"}
    )
    max_windows: int = field(default=500, metadata={"help": "evaluate at most this many windows (drawn with --window_seed)"})
    window_stride: int | None = field(
        default=None, metadata={"help": "frames between candidate window starts (default: the predicted frames)"}
    )
    window_seed: int = field(default=0, metadata={"help": "seed of the window draw"})
    batch_size: int = field(default=16, metadata={"help": "windows per generate call"})
    decoding: str = field(
        default="mean",
        metadata={
            "help": "'mean' (one rollout through each slot's expected value), 'median' (through each slot's "
            "median: the absolute-error estimate), 'sample-mean' (the mean of --num_samples sampled rollouts: "
            "the squared-error estimate of a multi-step forecast) or 'greedy'"
        },
    )
    num_samples: int = field(default=16, metadata={"help": "rollouts averaged by --decoding sample-mean"})
    sample_seed: int = field(default=0, metadata={"help": "torch seed of the sampled rollouts (--decoding sample-mean)"})
    anchor: bool = field(
        default=True,
        metadata={
            "help": "continue from the exact last context frame (hf_motion.predict(anchor=True)): the model's "
            "predicted change is applied to it, so the context's quantization error is not scored"
        },
    )
    device: str = field(default="auto", metadata={"help": "'auto' (cuda when available), 'cpu', 'cuda', ..."})
    num_threads: int | None = field(
        default=None, metadata={"help": "torch CPU threads for the model (default: the idle cores now; see --baseline_threads)"}
    )
    euler_order: str = field(default="ZXY", metadata={"help": "Euler order for the Euler RMSE (upper case = intrinsic)"})
    joint_reduction: str = field(default="sum", metadata={"help": "joint-angle error over joints: 'sum' (Aksan et al.) or 'mean'"})
    progress: bool = field(default=True, metadata={"help": "show progress bars"})


@dataclass
class PredictionDataArguments:
    """Which clips: the pretraining run's held-out split (rebuilt), or ``--test_data``."""

    _argument_group_name = "data"

    sources: list[str] | None = field(
        default=None, metadata={"help": "motion sources (default: the model's pretraining sources, else Bandai dataset-1)"}
    )
    split: str = field(default="test", metadata={"help": "held-out split of the builder's group split to evaluate on"})
    test_data: list[str] | None = field(
        default=None,
        metadata={
            "help": "evaluate on every clip of these folders/files of motion instead of the held-out split "
            "(continuous baselines still train on the pretraining run's training split)"
        },
    )
    max_clips: int | None = field(
        default=None, metadata={"help": "first N clips of the sources, as pretraining's --max_clips (default: from the summary)"}
    )
    fps: float | None = field(default=None, metadata={"help": "frame rate (default: the model's pretraining fps)"})
    joints: str | None = field(
        default=None,
        metadata={
            "help": "'all', a registered joint subset or comma-separated joint names (default: the model's joints, "
            "as its folder records them, else the pretraining subset)"
        },
    )
    split_seed: int | None = field(default=None, metadata={"help": "seed of the group split (default: the pretraining seed)"})
    splits: str | None = field(
        default=None, metadata={"help": "split fractions, e.g. 'train=0.8,validation=0.1,test=0.1' (default: pretraining's)"}
    )
    num_proc: int | None = field(default=1, metadata={"help": "worker processes for the dataset build"})
    cache_dir: str | None = field(default=None, metadata={"help": "dataset cache (default ~/.cache/hf_motion)"})
    skip_bad: bool = field(default=False, metadata={"help": "skip unreadable files (use the pretraining run's setting)"})


@dataclass
class ContinuousBaselineArguments:
    """The continuous baselines (:mod:`hf_motion.baselines.continuous`), fitted on the training split."""

    _argument_group_name = "continuous baselines"

    continuous_baselines: bool = field(
        default=True, metadata={"help": "also train and score ridge regression and siMLPe on the training split"}
    )
    baseline_train_stride: int = field(default=1, metadata={"help": "frames between training windows of the continuous baselines"})
    baseline_max_train_windows: int = field(
        default=20000, metadata={"help": "at most this many training windows (drawn with --baseline_seed)"}
    )
    ridge_past_seconds: float = field(default=1.0, metadata={"help": "seconds of context the ridge regression reads"})
    mlp_steps: int = field(default=1000, metadata={"help": "siMLPe training steps (batches of 128 windows)"})
    baseline_seed: int = field(default=0, metadata={"help": "seed of the continuous baselines (window draw, MLP)"})
    baseline_threads: int | None = field(
        default=1,
        metadata={
            "help": "CPU threads (BLAS, torch) for fitting the continuous baselines; their training "
            "time is then single-core time at the default 1 (null: leave as they are)"
        },
    )


class EvaluationError(ValueError):
    """Bad options or data for the benchmark (the message says which and what to change)."""


def check_args(args: PredictionBenchmarkArguments, data: PredictionDataArguments, baselines: ContinuousBaselineArguments) -> None:
    """Option checks that need no data (raises :class:`EvaluationError`)."""
    if args.max_windows < 1:
        raise EvaluationError(f"--max_windows must be >= 1, got {args.max_windows}")
    if args.batch_size < 1:
        raise EvaluationError(f"--batch_size must be >= 1, got {args.batch_size}")
    if args.decoding not in ("mean", "median", "sample-mean", "greedy"):
        raise EvaluationError(f"--decoding must be 'mean', 'median', 'sample-mean' or 'greedy', got {args.decoding!r}")
    if args.num_samples < 1:
        raise EvaluationError(f"--num_samples must be >= 1, got {args.num_samples}")
    if args.num_threads is not None and args.num_threads < 1:
        raise EvaluationError(f"--num_threads must be >= 1 (or null), got {args.num_threads}")
    if not (math.isfinite(args.context_seconds) and args.context_seconds > 0):
        raise EvaluationError(f"--context_seconds must be positive, got {args.context_seconds}")
    if not args.horizons_ms or any(h <= 0 for h in args.horizons_ms):
        raise EvaluationError(f"--horizons_ms must be positive milliseconds, got {args.horizons_ms}")
    if args.joint_reduction not in ("sum", "mean"):
        raise EvaluationError(f"--joint_reduction must be 'sum' or 'mean', got {args.joint_reduction!r}")
    if args.window_stride is not None and args.window_stride < 1:
        raise EvaluationError(f"--window_stride must be >= 1 frame, got {args.window_stride}")
    if data.fps is not None and not (math.isfinite(data.fps) and data.fps > 0):
        raise EvaluationError(f"--fps must be positive, got {data.fps}")
    if baselines.baseline_train_stride < 1:
        raise EvaluationError(f"--baseline_train_stride must be >= 1 frame, got {baselines.baseline_train_stride}")
    if baselines.baseline_max_train_windows < 2:
        raise EvaluationError(f"--baseline_max_train_windows must be >= 2, got {baselines.baseline_max_train_windows}")
    if baselines.baseline_threads is not None and baselines.baseline_threads < 1:
        raise EvaluationError(f"--baseline_threads must be >= 1 (or null), got {baselines.baseline_threads}")
    if baselines.mlp_steps < 1:
        raise EvaluationError(f"--mlp_steps must be >= 1, got {baselines.mlp_steps}")
    if not (math.isfinite(baselines.ridge_past_seconds) and baselines.ridge_past_seconds > 0):
        raise EvaluationError(f"--ridge_past_seconds must be positive, got {baselines.ridge_past_seconds}")
    if args.horizons is not None:
        horizon_specs(args.horizons)  # syntax now; whole frames once the fps is known
    if data.joints is not None:
        joints_option(data.joints)
    if data.test_data is not None and not data.test_data:
        raise EvaluationError("--test_data needs at least one folder or file")


def frames_at(ms: float, fps: float, what: str) -> int:
    """Frames in ``ms`` milliseconds at ``fps``; raises unless it is a whole number of frames."""
    frames = ms * fps / 1000.0
    k = int(round(frames))
    if k < 1 or abs(frames - k) > 1e-6:
        raise EvaluationError(
            f"{what} {ms:g} ms is {frames:g} frames at {fps:g} fps; it must be a whole number of frames (a multiple of {1000.0 / fps:g} ms)"
        )
    return k


def horizon_specs(values) -> list[tuple[float, str]]:
    """``--horizons`` values (``"100,200"``, ``["100ms", "2f"]``, YAML numbers) -> ``[(value, "ms" | "f")]``."""
    items = []
    for v in [values] if isinstance(values, (str, int, float)) else list(values):
        items += [t.strip() for t in str(v).split(",")]
    if not any(items):
        raise EvaluationError("--horizons is empty; give milliseconds (100,200 or 100ms,200ms) or frames (1f,2f)")
    out = []
    for t in items:
        m = re.fullmatch(r"(\d+(?:\.\d*)?|\.\d+)\s*(ms|f)?", t, flags=re.IGNORECASE)
        if not m:
            raise EvaluationError(f"--horizons: cannot read {t!r}; give milliseconds ('100' or '100ms') or frames ('1f'), comma-separated")
        value, unit = float(m.group(1)), (m.group(2) or "ms").lower()
        if value <= 0:
            raise EvaluationError(f"--horizons: {t!r} must be positive")
        if unit == "f" and not value.is_integer():
            raise EvaluationError(f"--horizons: {t!r} is not a whole number of frames")
        out.append((value, unit))
    return out


def resolve_horizons(args: PredictionBenchmarkArguments, fps: float) -> tuple[list[int], list[float]]:
    """The horizons as ``(frames, milliseconds)``, increasing; from ``horizons`` when set, else ``horizons_ms``."""
    specs = horizon_specs(args.horizons) if args.horizons is not None else [(float(h), "ms") for h in args.horizons_ms]
    frames = []
    for value, unit in specs:
        if unit == "f":
            frames.append(int(value))
        else:
            frames.append(frames_at(value, fps, "horizon" if args.horizons is None else "--horizons"))
    seen = sorted(set(frames))
    if len(seen) != len(frames):
        dup = sorted({f for f in frames if frames.count(f) > 1})
        raise EvaluationError(f"horizons name frame(s) {dup} at {fps:g} fps more than once ({[f'{v:g}{u}' for v, u in specs]})")
    ms = [k * 1000.0 / fps for k in seen]
    return seen, [int(round(m)) if abs(m - round(m)) < 1e-6 else round(m, 3) for m in ms]


# ------------------------------------------------------------------------ joints and the model's records
def joints_option(text: str):
    """``--joints``: ``'all'`` -> None (every joint), a registered subset name (or another spec the
    library resolves by itself, e.g. ``'auto'`` where it knows it) -> that name, comma-separated
    names -> the list."""
    from ..skeletons import JOINT_SUBSETS, parse_joints_option, resolve_joint_subset

    text = str(text).strip()
    try:
        parsed = parse_joints_option(text)
    except ValueError as e:
        raise EvaluationError(f"--{e}") from None
    if parsed is None or isinstance(parsed, list) or text in JOINT_SUBSETS:
        return parsed
    try:
        resolve_joint_subset(text)
        return text
    except ValueError:
        raise EvaluationError(
            f"--joints {text!r} is not a registered joint subset ({sorted(JOINT_SUBSETS)}); pass 'all', one of those, "
            "or comma-separated joint names (e.g. 'Hips,Spine,Chest')"
        ) from None


def recorded_joint_names(model_dir: Path, summary: dict) -> tuple[list[str] | None, str | None]:
    """The joint names a model folder records, in token order, and where they were found."""
    for name in ("tokenizer_config.json", "config.json"):
        path = model_dir / name
        if path.is_file():
            try:
                names = json.loads(path.read_text()).get("joint_names")
            except (OSError, json.JSONDecodeError, AttributeError):
                names = None
            if isinstance(names, list) and names:
                return [str(n) for n in names], str(path)
    if isinstance(summary.get("joint_names"), list) and summary["joint_names"]:
        return [str(n) for n in summary["joint_names"]], str(model_dir / SUMMARY_NAME)
    return None, None


def resolve_joints(data: PredictionDataArguments, model_dir: Path, summary: dict, processor: MotionProcessor | None = None):
    """The joint subset to evaluate on (a subset name, a list of names or None = all) and where it
    came from: ``--joints``, else the model's processor, else the names the folder records, else
    the summary's subset (else pretraining's default)."""
    from ..skeletons import JOINT_SUBSETS, resolve_joint_subset

    if data.joints is not None:
        return joints_option(data.joints), "--joints"
    if processor is not None:
        return list(processor.joints), str(model_dir / PROCESSOR_CONFIG_NAME)
    names, where = recorded_joint_names(model_dir, summary)
    if names is not None:
        return names, where
    recorded = (summary.get("dataset") or {}).get("joints", _pretraining_defaults()["joints"])
    try:
        if isinstance(recorded, str) and recorded.strip().lower() != "all":
            resolve_joint_subset(recorded)
    except ValueError:
        raise EvaluationError(
            f"the pretraining summary names the joint subset {recorded!r}, which is not registered here "
            f"({sorted(JOINT_SUBSETS)}), and {model_dir} records no joint_names; pass --joints with the joint names"
        ) from None
    return recorded, "pretraining summary" if summary else "pretrain.py's default"


def joints_label(joints, names: list[str]) -> str:
    """A short name for the evaluated joints: a registered subset's name, else the joint count."""
    from ..skeletons import JOINT_SUBSETS

    if isinstance(joints, str) and joints in JOINT_SUBSETS:
        return joints
    for key, value in JOINT_SUBSETS.items():
        if list(value) == list(names):
            return key
    return f"{len(names)}"


def read_summary(model_dir: Path) -> dict:
    """The model folder's ``pretrain_summary.json`` (``{}`` without one)."""
    path = model_dir / SUMMARY_NAME
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise EvaluationError(f"{path}: cannot read the pretraining summary ({e})") from None


def load_processor(model_dir: Path) -> MotionProcessor | None:
    """The model's input contract (``preprocessor_config.json`` and its tokenizer), ``None`` without one."""
    if not (model_dir / PROCESSOR_CONFIG_NAME).is_file():
        return None
    try:
        return MotionProcessor.from_pretrained(model_dir)
    except MotionProcessorError as e:
        raise EvaluationError(f"{model_dir}: cannot read the model's input contract ({e})") from None


def _pretraining_defaults() -> dict:
    """Pretraining's default dataset config (:class:`hf_motion.training.PretrainDataArguments`, its seed)."""
    from ..training import PretrainDataArguments, PretrainTrainingArguments, dataset_config

    seed = next(f.default for f in dataclasses.fields(PretrainTrainingArguments) if f.name == "seed")
    return dataset_config(PretrainDataArguments(), seed).to_dict()


def _sources(data: PredictionDataArguments, summary: dict) -> list[str]:
    from ..training import PretrainDataArguments

    return data.sources or summary.get("sources") or PretrainDataArguments().sources


def load_tokenizer(model_dir: Path, fallback: bool = True):
    """The model folder's tokenizer, else (``fallback``, for ``baselines_only`` without one)
    pretraining's default tokenizer."""
    from ..resources import resolve_tokenizer
    from ..tokenization.tokenizer import MotionTokenizer
    from ..training import PretrainDataArguments

    has_own = (model_dir / "tokenizer_config.json").is_file()
    path = model_dir if has_own or not fallback else resolve_tokenizer(PretrainDataArguments().tokenizer)
    tokenizer = MotionTokenizer.from_pretrained(path)
    if not hasattr(tokenizer, "encode_motion"):
        raise EvaluationError(f"{path}: the tokenizer is {type(tokenizer).__name__}, not a MotionTokenizer")
    return tokenizer


# ------------------------------------------------------------------------ data
def dataset_config(data: PredictionDataArguments, summary: dict, joints, processor: MotionProcessor | None = None):
    """The pretraining dataset config (from the summary, else pretraining's defaults; the model's
    processor's fps, window and stride), with the options' overrides and ``joints`` (see
    :func:`resolve_joints`), without packing: the group split is the builder's, unchanged (it
    depends on the clips' frame counts, not on the joints)."""
    from ..datasets import MotionDatasetConfig

    cfg = _pretraining_defaults()
    cfg.update(summary.get("dataset") or {})
    if processor is not None:
        cfg.update(fps=processor.fps, window=processor.window, stride=processor.stride, canonicalize=processor.canonicalize)
    for key, value in (("fps", data.fps), ("seed", data.split_seed), ("splits", data.splits)):
        if value is not None:
            cfg[key] = value
    cfg["joints"] = joints
    cfg["context_length"] = None
    known = {f.name for f in dataclasses.fields(MotionDatasetConfig)}
    try:
        return MotionDatasetConfig.from_dict({k: v for k, v in cfg.items() if k in known})
    except ValueError as e:
        raise EvaluationError(f"dataset config: {e}") from None


def pretraining_split(data: PredictionDataArguments, summary: dict, tokenizer, config, progress: bool = True):
    """The pretraining run's group split, rebuilt: ``(collection, {split: set of groups}, build stats)``."""
    from ..datasets import MotionDatasetBuilder, as_collection

    collection = as_collection(_sources(data, summary), on_error="skip" if data.skip_bad else "raise")
    max_clips = data.max_clips if data.max_clips is not None else summary.get("max_clips")
    if max_clips is not None:
        collection = collection[: int(max_clips)]
    build = MotionDatasetBuilder(config, tokenizer).build(
        collection, num_proc=data.num_proc, cache_dir=data.cache_dir, skip_bad=data.skip_bad, progress=progress
    )
    return collection, {split: set(ds.unique("group")) for split, ds in build.dataset.items()}, build.stats


def clips_of_test_data(data: PredictionDataArguments):
    """Every clip of ``test_data``: ``(clips, groups)``."""
    from ..datasets import as_collection

    try:
        collection = as_collection(data.test_data, on_error="skip" if data.skip_bad else "raise")
    except ValueError as e:  # MotionDatasetError
        raise EvaluationError(f"--test_data: {e}") from None
    clips = list(collection)
    if not clips:
        raise EvaluationError(f"--test_data {data.test_data}: no motion files found")
    return clips, sorted({c.group for c in clips})


@dataclass
class Windows:
    """The evaluation windows, stacked."""

    clip: list[str]  # (N,) clip id of each window
    start: np.ndarray  # (N,) first context frame
    contexts: list  # N context Motions
    past: np.ndarray  # (N, 2, J, 3) the last two context frames (axis-angle)
    future: np.ndarray  # (N, H, J, 3) true future angles
    bones: np.ndarray  # (N, J, 3) local translations at the last context frame, root zeroed
    parents: list[int]


def draw_windows(motions: dict, n_context: int, n_future: int, stride: int, max_windows: int, seed: int) -> Windows:
    """Seeded draw of at most ``max_windows`` windows over all clips (uniform over window starts)."""
    span = n_context + n_future
    candidates = [(cid, s) for cid, m in motions.items() for s in range(0, m.num_frames - span + 1, stride)]
    if not candidates:
        longest = max((m.num_frames for m in motions.values()), default=0)
        raise EvaluationError(
            f"no held-out clip has the {span} frames one window needs ({n_context} context + {n_future} predicted); "
            f"the longest has {longest}. Shorten --context_seconds or use more clips"
        )
    rng = np.random.default_rng(seed)
    if len(candidates) > max_windows:
        pick = np.sort(rng.choice(len(candidates), size=max_windows, replace=False))
        candidates = [candidates[i] for i in pick]
    parents = None
    clip, start, contexts, past, future, bones = [], [], [], [], [], []
    for cid, s in candidates:
        m = motions[cid]
        if parents is None:
            parents = m.skeleton.parents.tolist()
        elif m.skeleton.parents.tolist() != parents:
            raise EvaluationError(f"clip {cid} has a different skeleton hierarchy from the first evaluated clip")
        last = s + n_context - 1
        clip.append(cid)
        start.append(s)
        contexts.append(m.slice(s, s + n_context))
        past.append(m.rotations[last - 1 : last + 1])
        future.append(m.rotations[last + 1 : last + 1 + n_future])
        b = m.translations()[last].copy()
        b[0] = 0.0  # root-relative
        bones.append(b)
    return Windows(clip, np.asarray(start), contexts, np.stack(past), np.stack(future), np.stack(bones), parents)


# ------------------------------------------------------------------------ metrics
def root_relative_positions(angles: np.ndarray, bones: np.ndarray, parents: list[int]) -> np.ndarray:
    """FK of ``(N, H, J, 3)`` angles with each window's bone vectors ``(N, J, 3)`` (root at the origin)."""
    import torch

    from ..kinematics import fk_tensors

    trans = np.broadcast_to(bones[:, None], angles.shape)
    return fk_tensors(torch.from_numpy(np.ascontiguousarray(angles)), torch.from_numpy(np.ascontiguousarray(trans)), parents)[1].numpy()


def score(pred: np.ndarray, windows: Windows, true_pos: np.ndarray, args: PredictionBenchmarkArguments) -> dict[str, np.ndarray]:
    """Per-window, per-frame values ``(N, H)`` of every metric."""
    from . import metrics

    pos = root_relative_positions(pred, windows.bones, windows.parents)
    return {
        "euler_rmse": metrics.euler_rmse(pred, windows.future, order=args.euler_order),
        "joint_angle": metrics.joint_angle_error(pred, windows.future, joint_reduction=args.joint_reduction),
        "positional_mse": metrics.positional_mse(pos, true_pos),
        "pck_auc": metrics.pck_auc(pos, true_pos),
    }


# ------------------------------------------------------------------------ continuous baselines
@dataclass
class TrainingWindows:
    """Windows of the training clips for the continuous baselines."""

    past: np.ndarray  # (N, C, J, 3)
    future: np.ndarray  # (N, H, J, 3)
    groups: list[str]  # (N,) group of each window's clip
    clips: list[str]  # the clips they come from
    candidates: int  # windows before the --baseline_max_train_windows draw


def training_windows(
    baselines: ContinuousBaselineArguments, clips, fps: float, joints, names: list[str], n_context: int, n_future: int,
    skip_bad: bool = False, progress: bool = True,
) -> TrainingWindows:  # fmt: skip
    """Every ``baseline_train_stride`` frames of every training clip, a window of context plus
    future (at most ``baseline_max_train_windows``, drawn with ``baseline_seed``)."""
    from tqdm.auto import tqdm

    from ..baselines.continuous import sliding_windows

    rotations, used = [], []
    for clip in tqdm(clips, desc="loading training clips", unit="clip", disable=not progress):
        try:
            m = prepare_motion(clip.load(), fps, joints)
        except Exception:
            if skip_bad:
                continue
            raise
        if m.skeleton.names != names:
            raise EvaluationError(
                f"training clip {clip.clip_id} has joints {m.skeleton.names}, the evaluated clips {names}; the continuous "
                "baselines need the same joints (pass --joints, or --continuous_baselines false)"
            )
        rotations.append(m.rotations)
        used.append(clip)
    span = n_context + n_future
    stride = baselines.baseline_train_stride
    candidates = sum(len(range(0, len(r) - span + 1, stride)) for r in rotations)
    try:
        past, future, index = sliding_windows(rotations, n_context, n_future, stride,
                                              max_windows=baselines.baseline_max_train_windows, seed=baselines.baseline_seed)  # fmt: skip
    except ValueError as e:
        raise EvaluationError(f"continuous baselines: the training split gives no window: {e}") from None
    groups = [used[i].group for i in index.tolist()]
    return TrainingWindows(past, future, groups, sorted({used[i].clip_id for i in set(index.tolist())}), candidates)


def fit_continuous(baselines: ContinuousBaselineArguments, train: TrainingWindows, fps: float) -> dict:
    """Fit the continuous baselines: ``{name: (fitted model, settings)}``."""
    from ..baselines.continuous import DCTMLPBaseline, RidgeBaseline

    threads = baselines.baseline_threads
    n_past = min(train.past.shape[1], max(2, int(round(baselines.ridge_past_seconds * fps))))
    logger.info("fitting the continuous baselines on %d windows from %d training clips", len(train.past), len(train.clips))
    ridge = RidgeBaseline(n_past=n_past, threads=threads).fit(train.past, train.future, groups=train.groups)
    logger.info("  %s: %d features, %.1f s", RIDGE, ridge.n_features_, ridge.fit_seconds_)
    mlp = DCTMLPBaseline(steps=baselines.mlp_steps, seed=baselines.baseline_seed, threads=threads)
    mlp.fit(train.past, train.future)
    logger.info("  %s: %s parameters, %d steps, %.1f s", MLP, f"{mlp.n_parameters_:,}", baselines.mlp_steps, mlp.fit_seconds_)
    alphas = np.atleast_1d(ridge.alpha_)
    return {
        RIDGE: (ridge, {
            "past_frames": n_past, "features": ridge.n_features_, "threads": threads, "alpha_median": float(np.median(alphas)),
            "alpha_range": [float(alphas.min()), float(alphas.max())], "cv_mse": ridge.cv_mse_,
        }),
        MLP: (mlp, {
            "blocks": mlp.blocks, "steps": mlp.steps, "batch_size": mlp.batch_size, "lr": mlp.lr,
            "seed": mlp.seed, "threads": threads, "parameters": mlp.n_parameters_, "loss_history": mlp.loss_history_, "device": "cpu",
        }),
    }  # fmt: skip


# ------------------------------------------------------------------------ model
def load_model(model_dir: Path, device: str):
    """The causal LM of a model folder, on ``device`` (``"auto"``: cuda when available), in eval mode."""
    import torch
    from transformers import AutoModelForCausalLM

    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    return AutoModelForCausalLM.from_pretrained(model_dir).to(device).eval()


def predict_windows(
    model, tokenizer, windows: Windows, n_future: int, fps: float, batch_size: int, progress: bool, **generate_kwargs
) -> np.ndarray:
    """The model's constrained prediction for every window: ``(N, H, J, 3)``.

    ``generate_kwargs`` go to :func:`hf_motion.predict` (e.g. extra ``logits_processor``).
    """
    from tqdm.auto import tqdm

    from ..generation import predict

    out = []
    n = len(windows.contexts)
    with tqdm(total=n, desc="predicting", unit="window", disable=not progress) as bar:
        for b in range(0, n, batch_size):
            batch = windows.contexts[b : b + batch_size]
            preds = predict(model, tokenizer, batch, seconds=n_future / fps, representation="angles",
                            constrained=True, batch_size=batch_size, do_sample=False, **generate_kwargs)  # fmt: skip
            out += [p.rotations for p in preds]
            bar.update(len(batch))
    return np.stack(out)


# ------------------------------------------------------------------------ report
def lost_cells(results: dict, method: str, baselines=("zero-velocity", "constant-velocity")) -> list[str]:
    """The (metric, horizon) cells where ``method`` is not strictly better than every baseline."""
    lost = []
    for key, (_, short, _, higher) in METRICS.items():
        for h, value in results[method][key]["at_horizons"].items():
            rivals = [results[b][key]["at_horizons"][h] for b in baselines]
            if not all(value > r if higher else value < r for r in rivals):
                lost.append(f"{short} {h} ms")
    return lost


def baseline_verdict(results: dict, method: str, horizon_keys: list[str]) -> str:
    """The issue's must-hold line: does ``method`` beat zero- and constant-velocity in every cell?"""
    lost = lost_cells(results, method)
    cells = len(METRICS) * len(horizon_keys)
    return (
        f"must-hold: {method} beats zero-velocity and constant-velocity on every metric at every horizon: "
        f"{not lost} ({cells - len(lost)} of {cells} cells" + (f"; lost: {', '.join(lost)})" if lost else ")")
    )


def _fmt(x: float) -> str:
    return f"{x:.4g}" if abs(x) < 1000 else f"{x:.0f}"


def markdown_table(results: dict, horizons: list, meta: dict, train_seconds: dict | None = None) -> str:
    """The table: one row per method, a training-time column, then every metric at every horizon (ms)."""
    train_seconds = train_seconds or {}
    keys = [str(h) for h in horizons]
    metric_head = [f"{short} {h}" for _, short, _, _ in METRICS.values() for h in keys]
    lines = [
        f"Motion prediction on {meta['windows']} windows from {meta['clips']} {meta['data']} at {meta['fps']:g} fps, "
        f"{meta['joints']} joints: {meta['context_seconds']:g} s of context, metrics at {', '.join(keys)} ms.",
        "",
        f"Columns: training time (s); metric and horizon in ms. Euler: Euler-angle RMSE (rad); angle: joint-angle "
        f"geodesic error (rad, {meta['joint_reduction']} over joints); pos: positional MSE (m², root-relative FK "
        "positions, mean over joints); PCK: PCK AUC over 1-20 cm (higher is better; lower is better for the rest).",
        "",
        "| method | train s | " + " | ".join(metric_head) + " |",
        "|---|---:|" + "---:|" * len(metric_head),
    ]
    for method, by_metric in results.items():
        t = train_seconds.get(method)
        cells = [_fmt(by_metric[key]["at_horizons"][h]) for key in METRICS for h in keys]
        lines.append(f"| {method} | {'-' if t is None else f'{t:.1f}'} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def plot(results: dict, horizons: list[int], title: str) -> bytes:
    """Error against horizon, one panel per metric, as PNG bytes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(10, 7.5), constrained_layout=True)
    styles = {"zero-velocity": "--", "constant-velocity": "-.", "quantized oracle": ":", RIDGE: (0, (5, 1)), MLP: (0, (3, 1, 1, 1))}
    for ax, (key, (name, _, unit, higher)) in zip(axes.ravel(), METRICS.items()):
        for method, by_metric in results.items():
            ys = [by_metric[key]["at_horizons"][str(h)] for h in horizons]
            ax.plot(horizons, ys, linestyle=styles.get(method, "-"), marker="o", label=method,
                    lw=2 if method not in styles else 1.5)  # fmt: skip
        ax.set_title(f"{name}" + (f" ({unit})" if unit else "") + (", higher is better" if higher else ", lower is better"))
        if not higher:
            ax.set_yscale("log")  # the oracle sits orders of magnitude below the rest
        ax.set_xlabel("horizon (ms)")
        ax.set_xticks(horizons)
        ax.grid(alpha=0.3, which="both")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=min(len(labels), 3), fontsize=9)
    fig.suptitle(title, fontsize=10)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    return buf.getvalue()


def _not_saved(default: Any = None) -> Any:
    """A result field that is not written to ``prediction.json``."""
    return field(default=default, metadata={"saved": False})


@dataclass
class PredictionBenchmarkResult:
    """What :func:`evaluate_prediction` measured. :meth:`to_dict` is ``prediction.json``,
    :meth:`to_markdown` ``prediction.md``, :meth:`to_png` ``prediction.png``."""

    model: str | None  # the model folder (None: baselines only)
    model_name: str | None  # its row in the table
    parameters: int | None
    arguments: dict  # every option, by name
    dataset_config: dict  # the rebuilt pretraining dataset config
    joint_names: list[str]
    joints_from: str | None
    sources: list[str]
    test_data: list[str] | None
    split: str | None
    held_out_groups: list[str]
    split_groups: dict | None
    evaluated_clips: list[str]
    held_out_clips: list[str]
    windows: list[dict]  # {"clip", "start_frame"} of each window
    fps: float
    context_frames: int
    predicted_frames: int
    horizons_ms: list
    horizons_frames: list[int]
    num_joints: int
    angle_bin_width_rad: float
    units: dict
    results: dict  # method -> metric -> {"at_horizons": {ms: value}, "per_frame_mean", "per_frame_std"}
    train_seconds: dict
    continuous_baselines: dict | None
    predict_seconds: float | None
    wall_seconds: float
    device: str | None
    data_description: str = _not_saved("")  # "held-out clips (...)" or "clips of --test_data (...)"
    joints_label: str = _not_saved("")  # a registered subset's name, else the joint count
    output_dir: str | None = _not_saved()

    def to_dict(self) -> dict:
        """The ``prediction.json`` record."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.metadata.get("saved", True)}

    def to_markdown(self) -> str:
        """The table of ``prediction.md``: one row per method, training time, every metric at every horizon."""
        meta = {
            "windows": len(self.windows), "clips": len(self.evaluated_clips), "data": self.data_description,
            "fps": self.fps, "joints": self.joints_label,
            "context_seconds": self.arguments["context_seconds"], "joint_reduction": self.arguments["joint_reduction"],
        }  # fmt: skip
        return markdown_table(self.results, self.horizons_ms, meta, self.train_seconds)

    def to_png(self) -> bytes:
        """The figure of ``prediction.png``."""
        title = (
            f"{self.model_name or 'baselines'}: {len(self.windows)} windows, {self.fps:g} fps, "
            f"{self.arguments['context_seconds']:g} s context"
        )
        return plot(self.results, self.horizons_ms, title)

    def verdict(self) -> str | None:
        """Whether the model beats zero- and constant-velocity everywhere (None: no model)."""
        if self.model_name is None:
            return None
        return baseline_verdict(self.results, self.model_name, [str(h) for h in self.horizons_ms])


# ------------------------------------------------------------------------ the benchmark
def evaluate_prediction(
    args: PredictionBenchmarkArguments | None = None,
    data_args: PredictionDataArguments | None = None,
    baseline_args: ContinuousBaselineArguments | None = None,
) -> PredictionBenchmarkResult:
    """Run the benchmark and write ``prediction.md``, ``prediction.json`` and ``prediction.png``
    into the output folder (see the module docstring).

    Raises:
        EvaluationError: bad options, a model folder that is not one (or records no input
            contract), or data without a window.
    """
    from tqdm.auto import tqdm

    from ..fileio import atomic_write_bytes, atomic_write_text
    from ..models.motion_gpt2.modeling_motion_gpt2 import count_parameters

    args = args or PredictionBenchmarkArguments()
    data_args = data_args or PredictionDataArguments()
    baseline_args = baseline_args or ContinuousBaselineArguments()
    check_args(args, data_args, baseline_args)
    from ..training import set_cpu_threads

    torch_threads = set_cpu_threads(args.num_threads)
    continuous = baseline_args.continuous_baselines
    t0 = time.perf_counter()
    model_dir = Path(args.model)
    if not args.baselines_only:
        if not model_dir.is_dir():
            raise EvaluationError(f"model folder {model_dir} does not exist; pass --model <pretrain output_dir> (or --baselines_only)")
        if not (model_dir / "config.json").is_file():
            raise EvaluationError(f"{model_dir} is not a model folder (no config.json); pass --model <pretrain output_dir>")
    summary = read_summary(model_dir) if model_dir.is_dir() else {}
    processor = load_processor(model_dir) if model_dir.is_dir() else None
    if not args.baselines_only and processor is None and not summary and data_args.fps is None:
        raise EvaluationError(
            f"{model_dir} records no input contract: neither {PROCESSOR_CONFIG_NAME} nor {SUMMARY_NAME}, so the frame "
            "rate and joints it was trained on are unknown. Save its MotionProcessor (hf_motion.MotionProcessor(tokenizer, "
            "fps=..., window=...).save_pretrained(folder)), or pass --fps (and --joints)"
        )
    joints, joints_from = resolve_joints(data_args, model_dir, summary, processor)
    config = dataset_config(data_args, summary, joints, processor)
    fps = float(config.fps) if config.fps is not None else None
    if fps is None:
        raise EvaluationError("the evaluation needs a fixed frame rate; pass --fps")
    n_context = frames_at(1000.0 * args.context_seconds, fps, "--context_seconds")
    horizon_frames, horizons_ms = resolve_horizons(args, fps)
    horizon_keys = [str(h) for h in horizons_ms]
    n_future = max(horizon_frames)
    stride = args.window_stride or n_future

    tokenizer = processor.tokenizer if processor is not None else load_tokenizer(model_dir, fallback=args.baselines_only)
    model = None if args.baselines_only else load_model(model_dir, args.device)
    trained_fps = processor.fps if processor is not None else (summary.get("dataset") or {}).get("fps")
    if trained_fps is not None and not same_rate(trained_fps, fps):
        logger.warning("evaluating at %g fps, but the model was pretrained at %g fps", fps, float(trained_fps))
    split_groups, stats, train_clips = None, None, None
    if data_args.test_data is not None:
        clips, groups = clips_of_test_data(data_args)
        data_desc = f"clips of --test_data ({len(groups)} groups)"
        if continuous:
            collection, split_groups, stats = pretraining_split(data_args, summary, tokenizer, config, args.progress)
    else:
        collection, split_groups, stats = pretraining_split(data_args, summary, tokenizer, config, args.progress)
        if data_args.split not in split_groups:
            raise EvaluationError(f"split {data_args.split!r} is not one of the dataset's splits {list(split_groups)}")
        groups = sorted(split_groups[data_args.split])
        if not groups:
            raise EvaluationError(f"the {data_args.split!r} split holds no group; use more clips")
        clips = [c for c in collection if c.group in split_groups[data_args.split]]
        data_desc = f"held-out clips ({len(groups)} groups, split {data_args.split!r})"
    if continuous:
        if "train" not in split_groups or not split_groups["train"]:
            raise EvaluationError(f"the pretraining split has no 'train' groups ({list(split_groups)}) to fit the continuous baselines on")
        train_clips = [c for c in collection if c.group in split_groups["train"]]

    motions = {}
    for clip in tqdm(clips, desc="loading evaluated clips", unit="clip", disable=not args.progress):
        motions[clip.clip_id] = prepare_motion(clip.load(), fps, config.joints)
    first = next(iter(motions.values()))
    J, names = first.num_joints, list(first.skeleton.names)
    if model is not None:
        recorded = tokenizer.joint_names
        if recorded is not None and list(recorded) != names:
            raise EvaluationError(
                f"the model reads {len(recorded)} joints {recorded}, but the evaluated clips have {J} joints {names} "
                f"(joints from {joints_from}); pass --joints {','.join(recorded)}"
            )
        limit = getattr(model.config, "n_positions", None)
        tokens = 2 + (n_context + n_future) * (J * tokenizer.values_per_joint + 1)
        if limit is not None and tokens > limit:
            raise EvaluationError(
                f"{args.context_seconds:g} s of context plus {n_future} predicted frames of {J} joints is {tokens} tokens, "
                f"more than the model's {limit} positions; shorten --context_seconds"
            )
    windows = draw_windows(motions, n_context, n_future, stride, args.max_windows, args.window_seed)
    logger.info(
        "evaluating %d windows from %d of %d %s at %g fps: %d context frames, %d predicted",
        len(windows.clip),
        len(set(windows.clip)),
        len(motions),
        data_desc,
        fps,
        n_context,
        n_future,
    )

    true_pos = root_relative_positions(windows.future, windows.bones, windows.parents)
    predictions, train_seconds, model_name, predict_s = {}, {}, None, None
    if model is not None:
        preset = getattr(model.config, "preset", None) or "model"
        size = f"{count_parameters(model) / 1e6:.2f}M params"
        model_name = f"{model_dir.name} ({size})" if model_dir.name == preset else f"{model_dir.name} ({preset}, {size})"
        t_pred = time.perf_counter()
        sampling = {}
        if args.decoding == "sample-mean":
            import torch

            torch.manual_seed(args.sample_seed)
            sampling = {"num_samples": args.num_samples}
        predictions[model_name] = predict_windows(
            model,
            tokenizer,
            windows,
            n_future,
            fps,
            args.batch_size,
            args.progress,
            decoding=args.decoding,
            anchor=args.anchor,
            **sampling,
        )
        predict_s = time.perf_counter() - t_pred
        if summary.get("train_runtime_s") is not None:
            train_seconds[model_name] = float(summary["train_runtime_s"])
    predictions["zero-velocity"] = zero_velocity(windows.past, n_future)
    predictions["constant-velocity"] = constant_velocity(windows.past, n_future)
    continuous_info = None
    if continuous:
        train = training_windows(baseline_args, train_clips, fps, config.joints, names, n_context, n_future,
                                 skip_bad=data_args.skip_bad, progress=args.progress)  # fmt: skip
        overlap = sorted({c.path for c in clips} & {c.path for c in train_clips})
        if overlap:
            logger.warning("%d evaluated clip(s) are in the pretraining training split, e.g. %s", len(overlap), overlap[0])
        context = np.stack([c.rotations for c in windows.contexts])
        methods = {}
        for name, (fitted, settings) in fit_continuous(baseline_args, train, fps).items():
            predictions[name] = fitted.predict(context)
            train_seconds[name] = fitted.fit_seconds_
            methods[name] = {**settings, "fit_seconds": fitted.fit_seconds_, "train_windows": len(train.past)}
        continuous_info = {
            "train_split": "train", "train_clips": train.clips, "train_windows": len(train.past),
            "train_window_candidates": train.candidates, "train_groups": sorted(set(train.groups)),
            "evaluated_clips_in_training_split": overlap, "methods": methods,
        }  # fmt: skip
    predictions["quantized oracle"] = quantized_oracle(tokenizer, windows.future)

    results = {}
    for method, pred in predictions.items():
        values = score(pred, windows, true_pos, args)
        results[method] = {
            key: {
                "at_horizons": {hk: float(values[key][:, k - 1].mean()) for hk, k in zip(horizon_keys, horizon_frames)},
                "per_frame_mean": values[key].mean(axis=0).tolist(),
                "per_frame_std": values[key].std(axis=0).tolist(),
            }
            for key in METRICS
        }

    if args.output_dir:
        out_dir = Path(args.output_dir)
    elif model_dir.is_dir():
        out_dir = model_dir / "prediction"
    else:
        out_dir = Path("runs") / "prediction-baselines"
    out_dir.mkdir(parents=True, exist_ok=True)
    result = PredictionBenchmarkResult(
        model=None if model is None else str(model_dir),
        model_name=model_name,
        parameters=None if model is None else count_parameters(model),
        arguments={
            **dataclasses.asdict(args),
            **dataclasses.asdict(data_args),
            **dataclasses.asdict(baseline_args),
            "torch_threads": torch_threads,
        },  # fmt: skip
        dataset_config=config.to_dict(),
        joint_names=names,
        joints_from=joints_from,
        sources=_sources(data_args, summary),
        test_data=data_args.test_data,
        split=None if data_args.test_data is not None else data_args.split,
        held_out_groups=groups,
        split_groups=None if stats is None else stats.split_groups,
        evaluated_clips=sorted(set(windows.clip)),
        held_out_clips=sorted(motions),
        windows=[{"clip": c, "start_frame": int(s)} for c, s in zip(windows.clip, windows.start)],
        fps=fps,
        context_frames=n_context,
        predicted_frames=n_future,
        horizons_ms=horizons_ms,
        horizons_frames=horizon_frames,
        num_joints=J,
        angle_bin_width_rad=float(np.max(tokenizer.angle_quantizer.delta)),
        units={k: unit for k, (_, _, unit, _) in METRICS.items()},
        results=results,
        train_seconds=train_seconds,
        continuous_baselines=continuous_info,
        predict_seconds=predict_s,
        wall_seconds=time.perf_counter() - t0,
        device=None if model is None else str(next(model.parameters()).device),
        data_description=data_desc,
        joints_label=joints_label(config.joints, names),
        output_dir=str(out_dir),
    )
    atomic_write_text(out_dir / "prediction.md", result.to_markdown())
    atomic_write_text(out_dir / "prediction.json", json.dumps(result.to_dict(), indent=1) + "\n")
    atomic_write_bytes(out_dir / "prediction.png", result.to_png())
    return result
