"""Motion-prediction benchmark (M5 appendix C, after Aksan et al.): 2 s of context, predict 400 ms.

    python recipes/evaluate_prediction.py --model runs/pretrain-tiny
    python recipes/evaluate_prediction.py --config recipes/evaluate_prediction.yaml --max_windows 2000 --device cuda
    python recipes/evaluate_prediction.py --baselines_only                 # no model needed
    python recipes/evaluate_prediction.py --model runs/pretrain-tiny --test_data my_clips/ --horizons 1f,2f,4f

What it does:

* **Held-out data.** The clips are the ``--split`` (default ``test``) groups of the dataset the
  model was pretrained on: the dataset builder is run with the pretraining config read from the
  model folder's ``pretrain_summary.json`` (sources, fps, joints, split fractions, seed; packing
  off), so the group split is the builder's own and no evaluated take was trained on. Every clip of
  a held-out group is evaluated (resampled to the model's fps, reduced to its joint subset).
  ``--test_data PATH...`` (folders or files of motion) evaluates on all their clips instead.
* **Joints.** ``--joints`` takes ``all``, a registered subset name or comma-separated joint names.
  Unset, the joint names the model folder records are used (``tokenizer_config.json`` or
  ``config.json`` ``joint_names``, else the summary's ``joint_names``), so a subset registered only
  on the training machine is no obstacle; without any record, the summary's subset (else
  ``bandai-core``).
* **Windows.** Every ``--window_stride`` frames of every held-out clip a window of
  ``context_seconds`` context plus the prediction horizon starts; ``--max_windows`` of them are
  drawn with ``--window_seed`` (the same seed gives the same windows).
* **Horizons.** ``--horizons`` in milliseconds (``100,200,300,400`` or ``100ms,...``) or frames
  at the benchmark's fps (``1f,2f,...``); unset, ``--horizons_ms``.
* **Model.** :func:`hf_motion.predict` on the context angles (ACM ``>`` text, ``--decoding mean``
  (the token nearest the expected value of each slot) or ``greedy``, with
  :class:`hf_motion.MotionLogitsProcessor`). ``--baselines_only`` skips it (no model needed; the
  split then comes from the model folder's summary if there is one, else pretrain.py's defaults).
* **Baselines, in the same run:** zero-velocity (repeat the last context frame), constant-velocity
  (extrapolate the rotation between the last two context frames along its geodesic in SO(3), per
  joint), and the quantized oracle (the true future encoded and decoded by the tokenizer: the error
  floor of the representation).
* **Continuous baselines** (``--continuous_baselines``, on by default;
  :mod:`hf_motion.continuous_baselines`): trained on the windows of the pretraining split's
  *training* clips (never the evaluated ones; with ``--test_data`` too), same context and horizon:
  ridge regression (scikit-learn; the last second of context) and siMLPe (DCT, MLP, inverse DCT,
  residual to the last frame; torch on CPU, ``--mlp_steps`` steps, ``--baseline_seed``). Both
  predict each joint's rotation offset from the last context frame (a rotation vector relative to
  it, inputs in 6D), which never meets the axis-angle flip at pi. Their training time is reported.
* **Metrics** at each horizon (default 100/200/300/400 ms; :mod:`hf_motion.metrics`): Euler-angle
  RMSE (rad), joint-angle geodesic error (rad, summed over joints as in Aksan et al. by default),
  positional MSE (m², mean over joints) and PCK AUC (1-20 cm).
* **Positions** are forward kinematics of each method's angles on the reduced skeleton with the bone
  vectors frozen at the last context frame and the root translation removed: root-relative
  positions that include the root's orientation. Ground truth goes through the same FK, so
  positional errors measure angle errors only (angle text carries no root translation, and the
  quantized oracle's positional error stays within its quantization bound).

Outputs in ``--output_dir`` (default ``<model>/prediction``; with ``--baselines_only`` and no model
folder, ``runs/prediction-baselines``): ``prediction.md`` (the table, also printed),
``prediction.json`` (every number, the clips and windows), ``prediction.png`` (error against
horizon, one panel per metric).
"""

from __future__ import annotations

import dataclasses
import io
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

# recipes/pretrain.py's defaults, for a model folder without pretrain_summary.json.
_PRETRAIN_DATA_DEFAULTS = {
    "tasks": "acm=0.25,pcm=0.25,fk=0.25,ik=0.25",
    "window": 24,
    "stride": 12,
    "fps": 10.0,
    "joints": "auto",
    "seed": 42,
}
_DEFAULT_SOURCES = ["bandai-namco:dataset-1"]
_DEFAULT_TOKENIZER = "tokenizer_configs/m5-delta-motion"  # pretrain.py's default (the packaged copy outside the repo)

METRICS = {
    # key: (title, short column name, unit, higher_is_better)
    "euler_rmse": ("Euler-angle RMSE", "Euler", "rad", False),
    "joint_angle": ("joint-angle error", "angle", "rad", False),
    "positional_mse": ("positional MSE", "pos", "m²", False),
    "pck_auc": ("PCK AUC", "PCK", "", True),
}
BASELINES = ("zero-velocity", "constant-velocity", "quantized oracle")


@dataclass
class EvaluationArguments:
    """Options of the prediction benchmark (``--help`` lists them; ``--config YAML`` sets defaults)."""

    model: str = field(default="runs/pretrain-tiny", metadata={"help": "model folder (a pretrain.py output_dir)"})
    output_dir: str | None = field(default=None, metadata={"help": "where to write the results (default <model>/prediction)"})
    sources: list[str] | None = field(
        default=None, metadata={"help": "motion sources (default: the model's pretraining sources, else Bandai dataset-1)"}
    )
    split: str = field(default="test", metadata={"help": "held-out split of the builder's group split to evaluate on"})
    test_data: list[str] | None = field(
        default=None,
        metadata={"help": "evaluate on every clip of these folders/files of motion instead of the held-out split "
                          "(continuous baselines still train on the pretraining run's training split)"},
    )
    max_clips: int | None = field(
        default=None, metadata={"help": "first N clips of the sources, as pretraining's --max_clips (default: from the summary)"}
    )
    fps: float | None = field(default=None, metadata={"help": "frame rate (default: the model's pretraining fps)"})
    joints: str | None = field(
        default=None,
        metadata={"help": "'all', a registered joint subset or comma-separated joint names (default: the joint names "
                          "the model folder records, else the pretraining subset)"},
    )
    split_seed: int | None = field(default=None, metadata={"help": "seed of the group split (default: the pretraining seed)"})
    splits: str | None = field(
        default=None, metadata={"help": "split fractions, e.g. 'train=0.8,validation=0.1,test=0.1' (default: pretraining's)"}
    )
    context_seconds: float = field(default=2.0, metadata={"help": "seconds of context given to the model"})
    horizons: list[str] | None = field(
        default=None,
        metadata={"help": "horizons: milliseconds ('100,200,300,400' or '100ms,...') or frames at the benchmark's fps "
                          "('1f,2f,...'); default --horizons_ms"},
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
        metadata={"help": "'mean' (one rollout through each slot's expected value), 'sample-mean' (the mean of "
                          "--num_samples sampled rollouts: the squared-error estimate of a multi-step forecast) or 'greedy'"},
    )
    num_samples: int = field(default=16, metadata={"help": "rollouts averaged by --decoding sample-mean"})
    sample_seed: int = field(default=0, metadata={"help": "torch seed of the sampled rollouts (--decoding sample-mean)"})
    anchor: bool = field(
        default=True,
        metadata={"help": "continue from the exact last context frame (hf_motion.predict(anchor=True)): the model's "
                          "predicted change is applied to it, so the context's quantization error is not scored"},
    )
    device: str = field(default="auto", metadata={"help": "'auto' (cuda when available), 'cpu', 'cuda', ..."})
    euler_order: str = field(default="ZXY", metadata={"help": "Euler order for the Euler RMSE (upper case = intrinsic)"})
    joint_reduction: str = field(default="sum", metadata={"help": "joint-angle error over joints: 'sum' (Aksan et al.) or 'mean'"})
    num_proc: int | None = field(default=1, metadata={"help": "worker processes for the dataset build"})
    cache_dir: str | None = field(default=None, metadata={"help": "dataset cache (default ~/.cache/hf_motion)"})
    skip_bad: bool = field(default=False, metadata={"help": "skip unreadable files (use the pretraining run's setting)"})
    progress: bool = field(default=True, metadata={"help": "show progress bars"})
    baselines_only: bool = field(default=False, metadata={"help": "skip the model: baselines only (no model folder needed)"})
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
        default=1, metadata={"help": "CPU threads (BLAS, torch) for fitting the continuous baselines; their training "
                                     "time is then single-core time at the default 1 (null: leave as they are)"}
    )


class EvaluationError(ValueError):
    """Bad options or data for the benchmark (the message says which and what to change)."""


# ------------------------------------------------------------------------ arguments
def parse_args(argv: list[str] | None = None) -> EvaluationArguments:
    """The dataclass from the command line, with an optional ``--config YAML`` supplying defaults."""
    from hf_motion.recipe_args import parse_recipe_args

    (args,) = parse_recipe_args(EvaluationArguments, argv)
    return args


def check_args(args: EvaluationArguments) -> None:
    """Option checks that need no data (raises :class:`EvaluationError`)."""
    if args.max_windows < 1:
        raise EvaluationError(f"--max_windows must be >= 1, got {args.max_windows}")
    if args.batch_size < 1:
        raise EvaluationError(f"--batch_size must be >= 1, got {args.batch_size}")
    if args.decoding not in ("mean", "sample-mean", "greedy"):
        raise EvaluationError(f"--decoding must be 'mean', 'sample-mean' or 'greedy', got {args.decoding!r}")
    if args.num_samples < 1:
        raise EvaluationError(f"--num_samples must be >= 1, got {args.num_samples}")
    if not (math.isfinite(args.context_seconds) and args.context_seconds > 0):
        raise EvaluationError(f"--context_seconds must be positive, got {args.context_seconds}")
    if not args.horizons_ms or any(h <= 0 for h in args.horizons_ms):
        raise EvaluationError(f"--horizons_ms must be positive milliseconds, got {args.horizons_ms}")
    if args.joint_reduction not in ("sum", "mean"):
        raise EvaluationError(f"--joint_reduction must be 'sum' or 'mean', got {args.joint_reduction!r}")
    if args.window_stride is not None and args.window_stride < 1:
        raise EvaluationError(f"--window_stride must be >= 1 frame, got {args.window_stride}")
    if args.fps is not None and not (math.isfinite(args.fps) and args.fps > 0):
        raise EvaluationError(f"--fps must be positive, got {args.fps}")
    if args.baseline_train_stride < 1:
        raise EvaluationError(f"--baseline_train_stride must be >= 1 frame, got {args.baseline_train_stride}")
    if args.baseline_max_train_windows < 2:
        raise EvaluationError(f"--baseline_max_train_windows must be >= 2, got {args.baseline_max_train_windows}")
    if args.baseline_threads is not None and args.baseline_threads < 1:
        raise EvaluationError(f"--baseline_threads must be >= 1 (or null), got {args.baseline_threads}")
    if args.mlp_steps < 1:
        raise EvaluationError(f"--mlp_steps must be >= 1, got {args.mlp_steps}")
    if not (math.isfinite(args.ridge_past_seconds) and args.ridge_past_seconds > 0):
        raise EvaluationError(f"--ridge_past_seconds must be positive, got {args.ridge_past_seconds}")
    if args.horizons is not None:
        horizon_specs(args.horizons)  # syntax now; whole frames once the fps is known
    if args.joints is not None:
        joints_option(args.joints)
    if args.test_data is not None and not args.test_data:
        raise EvaluationError("--test_data needs at least one folder or file")


def frames_at(ms: float, fps: float, what: str) -> int:
    """Frames in ``ms`` milliseconds at ``fps``; raises unless it is a whole number of frames."""
    frames = ms * fps / 1000.0
    k = int(round(frames))
    if k < 1 or abs(frames - k) > 1e-6:
        raise EvaluationError(
            f"{what} {ms:g} ms is {frames:g} frames at {fps:g} fps; it must be a whole number of frames "
            f"(a multiple of {1000.0 / fps:g} ms)"
        )
    return k


def horizon_specs(values) -> list[tuple[float, str]]:
    """``--horizons`` values (``"100,200"``, ``["100ms", "2f"]``, YAML numbers) -> ``[(value, "ms" | "f")]``."""
    import re

    items = []
    for v in [values] if isinstance(values, (str, int, float)) else list(values):
        items += [t.strip() for t in str(v).split(",")]
    if not any(items):
        raise EvaluationError("--horizons is empty; give milliseconds (100,200 or 100ms,200ms) or frames (1f,2f)")
    out = []
    for t in items:
        m = re.fullmatch(r"(\d+(?:\.\d*)?|\.\d+)\s*(ms|f)?", t, flags=re.IGNORECASE)
        if not m:
            raise EvaluationError(
                f"--horizons: cannot read {t!r}; give milliseconds ('100' or '100ms') or frames ('1f'), comma-separated"
            )
        value, unit = float(m.group(1)), (m.group(2) or "ms").lower()
        if value <= 0:
            raise EvaluationError(f"--horizons: {t!r} must be positive")
        if unit == "f" and not value.is_integer():
            raise EvaluationError(f"--horizons: {t!r} is not a whole number of frames")
        out.append((value, unit))
    return out


def resolve_horizons(args: EvaluationArguments, fps: float) -> tuple[list[int], list[float]]:
    """The horizons as ``(frames, milliseconds)``, increasing; from ``--horizons`` when set, else ``--horizons_ms``."""
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
        raise EvaluationError(
            f"horizons name frame(s) {dup} at {fps:g} fps more than once ({[f'{v:g}{u}' for v, u in specs]})"
        )
    ms = [k * 1000.0 / fps for k in seen]
    return seen, [int(round(m)) if abs(m - round(m)) < 1e-6 else round(m, 3) for m in ms]


def joints_option(text: str):
    """``--joints``: ``'all'`` -> None (every joint), a registered subset name (or another spec the
    library resolves by itself, e.g. ``'auto'`` where it knows it) -> that name, comma-separated
    names -> the list."""
    from hf_motion.skeletons import JOINT_SUBSETS, resolve_joint_subset

    text = str(text).strip()
    if text.lower() == "all":
        return None
    if text in JOINT_SUBSETS:
        return text
    if "," in text:
        names = [n.strip() for n in text.split(",") if n.strip()]
        dup = sorted({n for n in names if names.count(n) > 1})
        if not names or dup:
            raise EvaluationError(f"--joints {text!r}: " + (f"repeats {dup}" if dup else "names no joint"))
        return names
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
        return [str(n) for n in summary["joint_names"]], str(model_dir / "pretrain_summary.json")
    return None, None


def resolve_joints(args: EvaluationArguments, model_dir: Path, summary: dict):
    """The joint subset to evaluate on (a subset name, a list of names or None = all) and where it came from."""
    from hf_motion.skeletons import JOINT_SUBSETS, resolve_joint_subset

    if args.joints is not None:
        return joints_option(args.joints), "--joints"
    names, where = recorded_joint_names(model_dir, summary)
    if names is not None:
        return names, where
    recorded = (summary.get("dataset") or {}).get("joints", _PRETRAIN_DATA_DEFAULTS["joints"])
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
    from hf_motion.skeletons import JOINT_SUBSETS

    if isinstance(joints, str) and joints in JOINT_SUBSETS:
        return joints
    for key, value in JOINT_SUBSETS.items():
        if list(value) == list(names):
            return key
    return f"{len(names)}"


# ------------------------------------------------------------------------ data
def read_summary(model_dir: Path) -> dict:
    path = model_dir / "pretrain_summary.json"
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise EvaluationError(f"{path}: cannot read the pretraining summary ({e})") from None


def dataset_config(args: EvaluationArguments, summary: dict, joints=_PRETRAIN_DATA_DEFAULTS["joints"]):
    """The pretraining dataset config (from the summary, else pretrain.py's defaults), with the
    command line's overrides and ``joints`` (see :func:`resolve_joints`), without packing: the group
    split is the builder's, unchanged (it depends on the clips' frame counts, not on the joints)."""
    from hf_motion.datasets import MotionDatasetConfig

    cfg = dict(_PRETRAIN_DATA_DEFAULTS)
    cfg.update(summary.get("dataset") or {})
    for key, value in (("fps", args.fps), ("seed", args.split_seed), ("splits", args.splits)):
        if value is not None:
            cfg[key] = value
    cfg["joints"] = joints
    cfg["context_length"] = None
    known = {f.name for f in dataclasses.fields(MotionDatasetConfig)}
    try:
        return MotionDatasetConfig.from_dict({k: v for k, v in cfg.items() if k in known})
    except ValueError as e:
        raise EvaluationError(f"dataset config: {e}") from None


def prepare_motion(motion, fps: float, joints):
    """A clip as the dataset builder sees it: resampled to ``fps``, reduced to ``joints``."""
    from hf_motion import resample_motion
    from hf_motion.skeletons import resolve_joint_subset

    # BVH frame times are rounded (0.0333333 s): rates within 0.01% are the same rate.
    if not math.isclose(motion.fps, fps, rel_tol=1e-4):
        motion = resample_motion(motion, fps)
    if joints is not None and resolve_joint_subset(joints, motion.skeleton) != motion.skeleton.names:
        motion = motion.select_joints(joints)
    return motion


def pretraining_split(args: EvaluationArguments, summary: dict, tokenizer, config):
    """The pretraining run's group split, rebuilt: ``(collection, {split: set of groups}, build stats)``."""
    from hf_motion.datasets import MotionDatasetBuilder, as_collection

    sources = args.sources or summary.get("sources") or _DEFAULT_SOURCES
    collection = as_collection(sources, on_error="skip" if args.skip_bad else "raise")
    max_clips = args.max_clips if args.max_clips is not None else summary.get("max_clips")
    if max_clips is not None:
        collection = collection[: int(max_clips)]
    build = MotionDatasetBuilder(config, tokenizer).build(
        collection, num_proc=args.num_proc, cache_dir=args.cache_dir, skip_bad=args.skip_bad, progress=args.progress
    )
    return collection, {split: set(ds.unique("group")) for split, ds in build.dataset.items()}, build.stats


def clips_of_test_data(args: EvaluationArguments):
    """Every clip of ``--test_data``: ``(clips, groups)``."""
    from hf_motion.datasets import as_collection

    try:
        collection = as_collection(args.test_data, on_error="skip" if args.skip_bad else "raise")
    except ValueError as e:  # MotionDatasetError
        raise EvaluationError(f"--test_data: {e}") from None
    clips = list(collection)
    if not clips:
        raise EvaluationError(f"--test_data {args.test_data}: no motion files found")
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


# ------------------------------------------------------------------------ baselines and metrics
def zero_velocity(past: np.ndarray, n_future: int) -> np.ndarray:
    """Repeat the last frame: ``(N, 2, J, 3)`` -> ``(N, H, J, 3)``."""
    return np.repeat(past[:, -1:], n_future, axis=1)


def constant_velocity(past: np.ndarray, n_future: int) -> np.ndarray:
    """Per joint, continue the rotation from the second-last to the last frame along its SO(3)
    geodesic: ``R_{t+k} = R_t exp(k log(R_{t-1}^T R_t))`` (not a linear step in axis-angle)."""
    from scipy.spatial.transform import Rotation

    N, _, J, _ = past.shape
    prev = Rotation.from_rotvec(past[:, 0].reshape(-1, 3))
    last = Rotation.from_rotvec(past[:, 1].reshape(-1, 3))
    step = (prev.inv() * last).as_rotvec()
    out = np.empty((N, n_future, J, 3))
    for k in range(1, n_future + 1):
        out[:, k - 1] = (last * Rotation.from_rotvec(k * step)).as_rotvec().reshape(N, J, 3)
    return out


def quantized_oracle(tokenizer, future: np.ndarray) -> np.ndarray:
    """The true future through the tokenizer and back (the representation's error floor)."""
    import warnings

    N, H, J, _ = future.shape
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # edge values clipped to the edge bins are fine here
        ids = tokenizer.encode_motion(angles=future.reshape(N * H, J, 3), task=">")
    return tokenizer.decode_motion(ids).angles.reshape(N, H, J, 3)


def root_relative_positions(angles: np.ndarray, bones: np.ndarray, parents: list[int]) -> np.ndarray:
    """FK of ``(N, H, J, 3)`` angles with each window's bone vectors ``(N, J, 3)`` (root at the origin)."""
    import torch

    from hf_motion.kinematics import fk_tensors

    trans = np.broadcast_to(bones[:, None], angles.shape)
    return fk_tensors(torch.from_numpy(np.ascontiguousarray(angles)), torch.from_numpy(np.ascontiguousarray(trans)), parents)[1].numpy()


def score(pred: np.ndarray, windows: Windows, true_pos: np.ndarray, args: EvaluationArguments) -> dict[str, np.ndarray]:
    """Per-window, per-frame values ``(N, H)`` of every metric."""
    from hf_motion import metrics

    pos = root_relative_positions(pred, windows.bones, windows.parents)
    return {
        "euler_rmse": metrics.euler_rmse(pred, windows.future, order=args.euler_order),
        "joint_angle": metrics.joint_angle_error(pred, windows.future, joint_reduction=args.joint_reduction),
        "positional_mse": metrics.positional_mse(pos, true_pos),
        "pck_auc": metrics.pck_auc(pos, true_pos),
    }


# ------------------------------------------------------------------------ continuous baselines
RIDGE, MLP = "ridge regression", "siMLPe (DCT + MLP)"
CONTINUOUS = (RIDGE, MLP)


@dataclass
class TrainingWindows:
    """Windows of the training clips for the continuous baselines."""

    past: np.ndarray  # (N, C, J, 3)
    future: np.ndarray  # (N, H, J, 3)
    groups: list[str]  # (N,) group of each window's clip
    clips: list[str]  # the clips they come from
    candidates: int  # windows before the --baseline_max_train_windows draw


def training_windows(args: EvaluationArguments, clips, fps: float, joints, names: list[str], n_context: int, n_future: int):
    """Every ``--baseline_train_stride`` frames of every training clip, a window of context plus
    future (at most ``--baseline_max_train_windows``, drawn with ``--baseline_seed``)."""
    from tqdm.auto import tqdm

    from hf_motion.continuous_baselines import sliding_windows

    rotations, used = [], []
    for clip in tqdm(clips, desc="loading training clips", unit="clip", disable=not args.progress):
        try:
            m = prepare_motion(clip.load(), fps, joints)
        except Exception:
            if args.skip_bad:
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
    candidates = sum(len(range(0, len(r) - span + 1, args.baseline_train_stride)) for r in rotations)
    try:
        past, future, index = sliding_windows(rotations, n_context, n_future, args.baseline_train_stride,
                                              max_windows=args.baseline_max_train_windows, seed=args.baseline_seed)  # fmt: skip
    except ValueError as e:
        raise EvaluationError(f"continuous baselines: the training split gives no window: {e}") from None
    groups = [used[i].group for i in index.tolist()]
    return TrainingWindows(past, future, groups, sorted({used[i].clip_id for i in set(index.tolist())}), candidates)


def fit_continuous(args: EvaluationArguments, train: TrainingWindows, fps: float) -> dict:
    """Fit the continuous baselines: ``{name: (fitted model, settings)}``."""
    from hf_motion.continuous_baselines import DCTMLPBaseline, RidgeBaseline

    n_past = min(train.past.shape[1], max(2, int(round(args.ridge_past_seconds * fps))))
    print(f"fitting the continuous baselines on {len(train.past)} windows from {len(train.clips)} training clips")
    ridge = RidgeBaseline(n_past=n_past, threads=args.baseline_threads).fit(train.past, train.future, groups=train.groups)
    print(f"  {RIDGE}: {ridge.n_features_} features, {ridge.fit_seconds_:.1f} s")
    mlp = DCTMLPBaseline(steps=args.mlp_steps, seed=args.baseline_seed, threads=args.baseline_threads)
    mlp.fit(train.past, train.future)
    print(f"  {MLP}: {mlp.n_parameters_:,} parameters, {args.mlp_steps} steps, {mlp.fit_seconds_:.1f} s")
    alphas = np.atleast_1d(ridge.alpha_)
    return {
        RIDGE: (ridge, {
            "past_frames": n_past, "features": ridge.n_features_, "threads": args.baseline_threads, "alpha_median": float(np.median(alphas)),
            "alpha_range": [float(alphas.min()), float(alphas.max())], "cv_mse": ridge.cv_mse_,
        }),
        MLP: (mlp, {
            "blocks": mlp.blocks, "steps": mlp.steps, "batch_size": mlp.batch_size, "lr": mlp.lr,
            "seed": mlp.seed, "threads": args.baseline_threads, "parameters": mlp.n_parameters_, "loss_history": mlp.loss_history_, "device": "cpu",
        }),
    }  # fmt: skip


# ------------------------------------------------------------------------ model
def load_model(model_dir: Path, device: str):
    import torch
    from transformers import AutoModelForCausalLM

    from hf_motion import MotionTokenizer  # also registers the Auto classes

    if not (model_dir / "config.json").is_file():
        raise EvaluationError(f"{model_dir} is not a model folder (no config.json); pass --model <pretrain output_dir>")
    tokenizer = MotionTokenizer.from_pretrained(model_dir)
    if not hasattr(tokenizer, "encode_motion"):
        raise EvaluationError(f"{model_dir}: the tokenizer is {type(tokenizer).__name__}, not a MotionTokenizer")
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    model = AutoModelForCausalLM.from_pretrained(model_dir).to(device).eval()
    return model, tokenizer


def predict_windows(
    model, tokenizer, windows: Windows, n_future: int, fps: float, batch_size: int, progress: bool, **generate_kwargs
) -> np.ndarray:
    """The model's constrained prediction for every window: ``(N, H, J, 3)``.

    ``generate_kwargs`` go to :func:`hf_motion.predict` (e.g. extra ``logits_processor``).
    """
    from tqdm.auto import tqdm

    from hf_motion import predict

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


# ------------------------------------------------------------------------ main
def load_tokenizer(model_dir: Path):
    """The model folder's tokenizer, else (``--baselines_only`` without one) pretrain.py's default tokenizer."""
    from hf_motion import MotionTokenizer
    from hf_motion.resources import resolve_tokenizer

    path = model_dir if (model_dir / "tokenizer_config.json").is_file() else resolve_tokenizer(_DEFAULT_TOKENIZER)
    tokenizer = MotionTokenizer.from_pretrained(path)
    if not hasattr(tokenizer, "encode_motion"):
        raise EvaluationError(f"{path}: the tokenizer is {type(tokenizer).__name__}, not a MotionTokenizer")
    return tokenizer


def main(argv: list[str] | EvaluationArguments | None = None) -> dict:
    """Run the benchmark; returns the results written to ``output_dir/prediction.json``.

    Args:
        argv: command-line options (default ``sys.argv[1:]``), or an :class:`EvaluationArguments`.

    Raises:
        EvaluationError: bad options, a model folder that is not one, or data without a window.
    """
    args = parse_args(argv) if not isinstance(argv, EvaluationArguments) else argv
    check_args(args)
    from hf_motion.fileio import atomic_write_bytes, atomic_write_text
    from hf_motion.modeling import count_parameters

    t0 = time.perf_counter()
    model_dir = Path(args.model)
    if not args.baselines_only and not model_dir.is_dir():
        raise EvaluationError(f"model folder {model_dir} does not exist; pass --model <pretrain output_dir> (or --baselines_only)")
    summary = read_summary(model_dir) if model_dir.is_dir() else {}
    joints, joints_from = resolve_joints(args, model_dir, summary)
    config = dataset_config(args, summary, joints)
    fps = float(config.fps) if config.fps is not None else None
    if fps is None:
        raise EvaluationError("the evaluation needs a fixed frame rate; pass --fps")
    n_context = frames_at(1000.0 * args.context_seconds, fps, "--context_seconds")
    horizon_frames, horizons_ms = resolve_horizons(args, fps)
    horizon_keys = [str(h) for h in horizons_ms]
    n_future = max(horizon_frames)
    stride = args.window_stride or n_future

    if args.baselines_only:
        model, tokenizer = None, load_tokenizer(model_dir)
    else:
        model, tokenizer = load_model(model_dir, args.device)
    trained_fps = (summary.get("dataset") or {}).get("fps")
    if trained_fps is not None and not math.isclose(float(trained_fps), fps, rel_tol=1e-4):
        print(f"note: evaluating at {fps:g} fps, but the model was pretrained at {float(trained_fps):g} fps")
    split_groups, stats, train_clips = None, None, None
    if args.test_data is not None:
        clips, groups = clips_of_test_data(args)
        data_desc = f"clips of --test_data ({len(groups)} groups)"
        if args.continuous_baselines:
            collection, split_groups, stats = pretraining_split(args, summary, tokenizer, config)
    else:
        collection, split_groups, stats = pretraining_split(args, summary, tokenizer, config)
        if args.split not in split_groups:
            raise EvaluationError(f"split {args.split!r} is not one of the dataset's splits {list(split_groups)}")
        groups = sorted(split_groups[args.split])
        if not groups:
            raise EvaluationError(f"the {args.split!r} split holds no group; use more clips")
        clips = [c for c in collection if c.group in split_groups[args.split]]
        data_desc = f"held-out clips ({len(groups)} groups, split {args.split!r})"
    if args.continuous_baselines:
        if "train" not in split_groups or not split_groups["train"]:
            raise EvaluationError(f"the pretraining split has no 'train' groups ({list(split_groups)}) to fit the continuous baselines on")
        train_clips = [c for c in collection if c.group in split_groups["train"]]

    from tqdm.auto import tqdm

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
    print(
        f"evaluating {len(windows.clip)} windows from {len(set(windows.clip))} of {len(motions)} {data_desc} "
        f"at {fps:g} fps: {n_context} context frames, {n_future} predicted"
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
            model, tokenizer, windows, n_future, fps, args.batch_size, args.progress, decoding=args.decoding,
            anchor=args.anchor, **sampling,
        )
        predict_s = time.perf_counter() - t_pred
        if summary.get("train_runtime_s") is not None:
            train_seconds[model_name] = float(summary["train_runtime_s"])
    predictions["zero-velocity"] = zero_velocity(windows.past, n_future)
    predictions["constant-velocity"] = constant_velocity(windows.past, n_future)
    continuous = {}
    if args.continuous_baselines:
        train = training_windows(args, train_clips, fps, config.joints, names, n_context, n_future)
        overlap = sorted({c.path for c in clips} & {c.path for c in train_clips})
        if overlap:
            print(f"warning: {len(overlap)} evaluated clip(s) are in the pretraining training split, e.g. {overlap[0]}")
        context = np.stack([c.rotations for c in windows.contexts])
        for name, (fitted, settings) in fit_continuous(args, train, fps).items():
            predictions[name] = fitted.predict(context)
            train_seconds[name] = fitted.fit_seconds_
            continuous[name] = {**settings, "fit_seconds": fitted.fit_seconds_, "train_windows": len(train.past)}
        continuous_info = {
            "train_split": "train", "train_clips": train.clips, "train_windows": len(train.past),
            "train_window_candidates": train.candidates, "train_groups": sorted(set(train.groups)),
            "evaluated_clips_in_training_split": overlap, "methods": continuous,
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
    meta = {
        "windows": len(windows.clip), "clips": len(set(windows.clip)), "data": data_desc,
        "fps": fps, "joints": joints_label(config.joints, names),
        "context_seconds": args.context_seconds, "joint_reduction": args.joint_reduction,
    }  # fmt: skip
    table = markdown_table(results, horizons_ms, meta, train_seconds)
    report = {
        "model": None if model is None else str(model_dir),
        "model_name": model_name,
        "parameters": None if model is None else count_parameters(model),
        "arguments": dataclasses.asdict(args),
        "dataset_config": config.to_dict(),
        "joint_names": names,
        "joints_from": joints_from,
        "sources": args.sources or summary.get("sources") or _DEFAULT_SOURCES,
        "test_data": args.test_data,
        "split": None if args.test_data is not None else args.split,
        "held_out_groups": groups,
        "split_groups": None if stats is None else stats.split_groups,
        "evaluated_clips": sorted(set(windows.clip)),
        "held_out_clips": sorted(motions),
        "windows": [{"clip": c, "start_frame": int(s)} for c, s in zip(windows.clip, windows.start)],
        "fps": fps,
        "context_frames": n_context,
        "predicted_frames": n_future,
        "horizons_ms": horizons_ms,
        "horizons_frames": horizon_frames,
        "num_joints": J,
        "angle_bin_width_rad": float(np.max(tokenizer.angle_quantizer.delta)),
        "units": {k: unit for k, (_, _, unit, _) in METRICS.items()},
        "results": results,
        "train_seconds": train_seconds,
        "continuous_baselines": continuous_info if args.continuous_baselines else None,
        "predict_seconds": predict_s,
        "wall_seconds": time.perf_counter() - t0,
        "device": None if model is None else str(next(model.parameters()).device),
    }
    atomic_write_text(out_dir / "prediction.md", table)
    atomic_write_text(out_dir / "prediction.json", json.dumps(report, indent=1) + "\n")
    who = model_name or "baselines"
    title = f"{who}: {meta['windows']} windows, {fps:g} fps, {args.context_seconds:g} s context"
    atomic_write_bytes(out_dir / "prediction.png", plot(results, horizons_ms, title))
    print("\n" + table)
    if model_name is not None:
        print(baseline_verdict(results, model_name, horizon_keys))
    print(f"wrote {out_dir / 'prediction.md'}, prediction.json and prediction.png ({report['wall_seconds']:.0f} s)")
    return report


if __name__ == "__main__":
    try:
        main()
    except EvaluationError as e:
        raise SystemExit(f"error: {e}") from None
