"""Motion-prediction benchmark (M5 appendix C, after Aksan et al.): 2 s of context, predict 400 ms.

    python recipes/evaluate_prediction.py --model runs/pretrain-tiny
    python recipes/evaluate_prediction.py --config recipes/evaluate_prediction.yaml --max_windows 2000 --device cuda

What it does:

* **Held-out data.** The clips are the ``--split`` (default ``test``) groups of the dataset the
  model was pretrained on: the dataset builder is run with the pretraining config read from the
  model folder's ``pretrain_summary.json`` (sources, fps, joints, split fractions, seed; packing
  off), so the group split is the builder's own and no evaluated take was trained on. Every clip of
  a held-out group is evaluated (resampled to the model's fps, reduced to its joint subset).
* **Windows.** Every ``--window_stride`` frames of every held-out clip a window of
  ``context_seconds`` context plus the prediction horizon starts; ``--max_windows`` of them are
  drawn with ``--window_seed`` (the same seed gives the same windows).
* **Model.** :func:`hf_motion.predict` on the context angles (ACM ``>`` text, greedy, with
  :class:`hf_motion.MotionLogitsProcessor`).
* **Baselines, in the same run:** zero-velocity (repeat the last context frame), constant-velocity
  (extrapolate the rotation between the last two context frames along its geodesic in SO(3), per
  joint), and the quantized oracle (the true future encoded and decoded by the model's tokenizer:
  the error floor of the representation).
* **Metrics** at each horizon (default 100/200/300/400 ms; :mod:`hf_motion.metrics`): Euler-angle
  RMSE (rad), joint-angle geodesic error (rad, summed over joints as in Aksan et al. by default),
  positional MSE (m², mean over joints) and PCK AUC (1-20 cm).
* **Positions** are forward kinematics of each method's angles on the reduced skeleton with the bone
  vectors frozen at the last context frame and the root translation removed: root-relative
  positions that include the root's orientation. Ground truth goes through the same FK, so
  positional errors measure angle errors only (angle text carries no root translation, and the
  quantized oracle's positional error stays within its quantization bound).

Outputs in ``--output_dir`` (default ``<model>/prediction``): ``prediction.md`` (the table, also
printed), ``prediction.json`` (every number, the clips and windows), ``prediction.png`` (error
against horizon, one panel per metric).
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
    "joints": "bandai-core",
    "seed": 42,
}
_DEFAULT_SOURCES = ["bandai-namco:dataset-1"]

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
    max_clips: int | None = field(
        default=None, metadata={"help": "first N clips of the sources, as pretraining's --max_clips (default: from the summary)"}
    )
    fps: float | None = field(default=None, metadata={"help": "frame rate (default: the model's pretraining fps)"})
    joints: str | None = field(default=None, metadata={"help": "joint subset (default: the model's pretraining joints)"})
    split_seed: int | None = field(default=None, metadata={"help": "seed of the group split (default: the pretraining seed)"})
    splits: str | None = field(
        default=None, metadata={"help": "split fractions, e.g. 'train=0.8,validation=0.1,test=0.1' (default: pretraining's)"}
    )
    context_seconds: float = field(default=2.0, metadata={"help": "seconds of context given to the model"})
    horizons_ms: list[int] = field(
        default_factory=lambda: [100, 200, 300, 400], metadata={"help": "horizons (ms) at which metrics are reported"}
    )
    max_windows: int = field(default=500, metadata={"help": "evaluate at most this many windows (drawn with --window_seed)"})
    window_stride: int | None = field(
        default=None, metadata={"help": "frames between candidate window starts (default: the predicted frames)"}
    )
    window_seed: int = field(default=0, metadata={"help": "seed of the window draw"})
    batch_size: int = field(default=16, metadata={"help": "windows per generate call"})
    device: str = field(default="auto", metadata={"help": "'auto' (cuda when available), 'cpu', 'cuda', ..."})
    euler_order: str = field(default="ZXY", metadata={"help": "Euler order for the Euler RMSE (upper case = intrinsic)"})
    joint_reduction: str = field(default="sum", metadata={"help": "joint-angle error over joints: 'sum' (Aksan et al.) or 'mean'"})
    num_proc: int | None = field(default=1, metadata={"help": "worker processes for the dataset build"})
    cache_dir: str | None = field(default=None, metadata={"help": "dataset cache (default ~/.cache/hf_motion)"})
    skip_bad: bool = field(default=False, metadata={"help": "skip unreadable files (use the pretraining run's setting)"})
    progress: bool = field(default=True, metadata={"help": "show progress bars"})


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


# ------------------------------------------------------------------------ data
def read_summary(model_dir: Path) -> dict:
    path = model_dir / "pretrain_summary.json"
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise EvaluationError(f"{path}: cannot read the pretraining summary ({e})") from None


def dataset_config(args: EvaluationArguments, summary: dict):
    """The pretraining dataset config (from the summary, else pretrain.py's defaults), with the
    command line's overrides, without packing: the group split is the builder's, unchanged."""
    from hf_motion.datasets import MotionDatasetConfig

    cfg = dict(_PRETRAIN_DATA_DEFAULTS)
    cfg.update(summary.get("dataset") or {})
    for key, value in (("fps", args.fps), ("joints", args.joints), ("seed", args.split_seed), ("splits", args.splits)):
        if value is not None:
            cfg[key] = value
    cfg["context_length"] = None
    known = {f.name for f in dataclasses.fields(MotionDatasetConfig)}
    return MotionDatasetConfig.from_dict({k: v for k, v in cfg.items() if k in known})


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


def held_out_clips(args: EvaluationArguments, summary: dict, tokenizer, config):
    """The clips of the held-out groups: ``(clips, groups, build stats)``."""
    from hf_motion.datasets import MotionDatasetBuilder, as_collection

    sources = args.sources or summary.get("sources") or _DEFAULT_SOURCES
    collection = as_collection(sources, on_error="skip" if args.skip_bad else "raise")
    max_clips = args.max_clips if args.max_clips is not None else summary.get("max_clips")
    if max_clips is not None:
        collection = collection[: int(max_clips)]
    build = MotionDatasetBuilder(config, tokenizer).build(
        collection, num_proc=args.num_proc, cache_dir=args.cache_dir, skip_bad=args.skip_bad, progress=args.progress
    )
    if args.split not in build.dataset:
        raise EvaluationError(f"split {args.split!r} is not one of the dataset's splits {list(build.dataset)}")
    groups = set(build.dataset[args.split].unique("group"))
    if not groups:
        raise EvaluationError(f"the {args.split!r} split holds no group; use more clips")
    clips = [c for c in collection if c.group in groups]
    return clips, sorted(groups), build.stats


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
    """The model's greedy, constrained prediction for every window: ``(N, H, J, 3)``.

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
def _fmt(x: float) -> str:
    return f"{x:.4g}" if abs(x) < 1000 else f"{x:.0f}"


def markdown_table(results: dict, horizons: list[int], meta: dict) -> str:
    metric_head = [f"{short} {h}" for _, short, _, _ in METRICS.values() for h in horizons]
    lines = [
        f"Motion prediction on {meta['windows']} windows from {meta['clips']} held-out clips "
        f"({meta['groups']} groups, split {meta['split']!r}) at {meta['fps']:g} fps, {meta['joints']} joints: "
        f"{meta['context_seconds']:g} s of context, metrics at {', '.join(str(h) for h in horizons)} ms.",
        "",
        f"Columns: metric and horizon in ms. Euler: Euler-angle RMSE (rad); angle: joint-angle geodesic error "
        f"(rad, {meta['joint_reduction']} over joints); pos: positional MSE (m², root-relative FK positions, mean over "
        "joints); PCK: PCK AUC over 1-20 cm (higher is better; lower is better for the rest).",
        "",
        "| method | " + " | ".join(metric_head) + " |",
        "|---|" + "---:|" * len(metric_head),
    ]
    for method, by_metric in results.items():
        cells = [_fmt(by_metric[key]["at_horizons"][str(h)]) for key in METRICS for h in horizons]
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def plot(results: dict, horizons: list[int], title: str) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(10, 7.5), constrained_layout=True)
    styles = {"zero-velocity": "--", "constant-velocity": "-.", "quantized oracle": ":"}
    for ax, (key, (name, _, unit, higher)) in zip(axes.ravel(), METRICS.items()):
        for method, by_metric in results.items():
            ys = [by_metric[key]["at_horizons"][str(h)] for h in horizons]
            ax.plot(horizons, ys, styles.get(method, "-"), marker="o", label=method, lw=2 if method not in styles else 1.5)
        ax.set_title(f"{name}" + (f" ({unit})" if unit else "") + (", higher is better" if higher else ", lower is better"))
        if not higher:
            ax.set_yscale("log")  # the oracle sits orders of magnitude below the rest
        ax.set_xlabel("horizon (ms)")
        ax.set_xticks(horizons)
        ax.grid(alpha=0.3, which="both")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=len(labels), fontsize=9)
    fig.suptitle(title, fontsize=10)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    return buf.getvalue()


# ------------------------------------------------------------------------ main
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
    if not model_dir.is_dir():
        raise EvaluationError(f"model folder {model_dir} does not exist; pass --model <pretrain output_dir>")
    summary = read_summary(model_dir)
    config = dataset_config(args, summary)
    fps = float(config.fps) if config.fps is not None else None
    if fps is None:
        raise EvaluationError("the evaluation needs a fixed frame rate; pass --fps")
    n_context = frames_at(1000.0 * args.context_seconds, fps, "--context_seconds")
    n_future = max(frames_at(h, fps, "horizon") for h in args.horizons_ms)
    stride = args.window_stride or n_future

    model, tokenizer = load_model(model_dir, args.device)
    trained_fps = (summary.get("dataset") or {}).get("fps")
    if trained_fps is not None and not math.isclose(float(trained_fps), fps, rel_tol=1e-4):
        print(f"note: evaluating at {fps:g} fps, but the model was pretrained at {float(trained_fps):g} fps")
    clips, groups, stats = held_out_clips(args, summary, tokenizer, config)

    from tqdm.auto import tqdm

    motions = {}
    for clip in tqdm(clips, desc="loading held-out clips", unit="clip", disable=not args.progress):
        motions[clip.clip_id] = prepare_motion(clip.load(), fps, config.joints)
    J = next(iter(motions.values())).num_joints
    limit = getattr(model.config, "n_positions", None)
    tokens = 2 + (n_context + n_future) * (J * tokenizer.values_per_joint + 1)
    if limit is not None and tokens > limit:
        raise EvaluationError(
            f"{args.context_seconds:g} s of context plus {n_future} predicted frames of {J} joints is {tokens} tokens, "
            f"more than the model's {limit} positions; shorten --context_seconds"
        )
    windows = draw_windows(motions, n_context, n_future, stride, args.max_windows, args.window_seed)
    print(
        f"evaluating {len(windows.clip)} windows from {len(set(windows.clip))} of {len(motions)} held-out clips "
        f"({len(groups)} groups) at {fps:g} fps: {n_context} context frames, {n_future} predicted"
    )

    true_pos = root_relative_positions(windows.future, windows.bones, windows.parents)
    preset = getattr(model.config, "preset", None) or "model"
    size = f"{count_parameters(model) / 1e6:.2f}M params"
    model_name = f"{model_dir.name} ({size})" if model_dir.name == preset else f"{model_dir.name} ({preset}, {size})"
    t_pred = time.perf_counter()
    predictions = {model_name: predict_windows(model, tokenizer, windows, n_future, fps, args.batch_size, args.progress)}
    predict_s = time.perf_counter() - t_pred
    predictions["zero-velocity"] = zero_velocity(windows.past, n_future)
    predictions["constant-velocity"] = constant_velocity(windows.past, n_future)
    predictions["quantized oracle"] = quantized_oracle(tokenizer, windows.future)

    from hf_motion.metrics import at_horizons

    results = {}
    for method, pred in predictions.items():
        values = score(pred, windows, true_pos, args)
        results[method] = {
            key: {
                "at_horizons": {str(h): v for h, v in at_horizons(values[key], fps, args.horizons_ms).items()},
                "per_frame_mean": values[key].mean(axis=0).tolist(),
                "per_frame_std": values[key].std(axis=0).tolist(),
            }
            for key in METRICS
        }

    out_dir = Path(args.output_dir) if args.output_dir else model_dir / "prediction"
    out_dir.mkdir(parents=True, exist_ok=True)
    meta = {
        "windows": len(windows.clip), "clips": len(set(windows.clip)), "groups": len(groups), "split": args.split,
        "fps": fps, "joints": config.joints if isinstance(config.joints, str) else f"{J}",
        "context_seconds": args.context_seconds, "joint_reduction": args.joint_reduction,
    }  # fmt: skip
    table = markdown_table(results, list(args.horizons_ms), meta)
    report = {
        "model": str(model_dir),
        "model_name": model_name,
        "parameters": count_parameters(model),
        "arguments": dataclasses.asdict(args),
        "dataset_config": config.to_dict(),
        "sources": args.sources or summary.get("sources") or _DEFAULT_SOURCES,
        "split": args.split,
        "held_out_groups": groups,
        "split_groups": stats.split_groups,
        "evaluated_clips": sorted(set(windows.clip)),
        "held_out_clips": sorted(motions),
        "windows": [{"clip": c, "start_frame": int(s)} for c, s in zip(windows.clip, windows.start)],
        "fps": fps,
        "context_frames": n_context,
        "predicted_frames": n_future,
        "horizons_ms": list(args.horizons_ms),
        "num_joints": J,
        "angle_bin_width_rad": float(np.max(tokenizer.angle_quantizer.delta)),
        "units": {k: unit for k, (_, _, unit, _) in METRICS.items()},
        "results": results,
        "predict_seconds": predict_s,
        "wall_seconds": time.perf_counter() - t0,
        "device": str(next(model.parameters()).device),
    }
    atomic_write_text(out_dir / "prediction.md", table)
    atomic_write_text(out_dir / "prediction.json", json.dumps(report, indent=1) + "\n")
    title = f"{model_name}: {meta['windows']} held-out windows, {fps:g} fps, {args.context_seconds:g} s context"
    atomic_write_bytes(out_dir / "prediction.png", plot(results, list(args.horizons_ms), title))
    print("\n" + table)
    print(f"wrote {out_dir / 'prediction.md'}, prediction.json and prediction.png ({report['wall_seconds']:.0f} s)")
    return report


if __name__ == "__main__":
    try:
        main()
    except EvaluationError as e:
        raise SystemExit(f"error: {e}") from None
