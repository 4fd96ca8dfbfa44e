"""Rate-distortion of motion codes: tokens per second of motion against position error.

Each code is measured as a *quantized oracle*: the ground-truth motion is encoded to tokens,
decoded back, and both are run through forward kinematics; the rate is the number of tokens the
encoder actually emitted per second of motion, the distortion the root-relative mean per-joint
position error (MPJPE, millimetres) and the mean geodesic joint-rotation error (degrees).

:func:`uniform_code_points` measures the M5 codes of :class:`~hf_motion.tokenizer.MotionTokenizer`
(uniform bins at several bin counts, the coarse/fine code, predictive / delta coding);
other codes (e.g. a learned VQ-VAE tokenizer) add their own :class:`RateDistortionPoint` s, and
:func:`rate_distortion_table` / :func:`plot_rate_distortion` show them all together.

Representation measured: the causal ``>`` angle stream (one word of ``J x 3 x digits`` angle
characters per frame). Angles plus the root translation are all forward kinematics needs;
the tokenizer's ``$`` / ``&`` forms also write a position frame per frame, which would double the
rate to carry values FK already gives. The tokenizer writes no root-translation tokens (angle
frames carry none), and root-relative MPJPE does not depend on the root translation (it cancels
when the root is subtracted), so the decoded motion keeps the original root translation and the
rate counts no tokens for it. A code that does tokenize the root trajectory counts those tokens
in its own points.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .evaluation.metrics import _pair
from .fileio import atomic_file
from .kinematics import forward_kinematics
from .motion import Motion
from .rotations import geodesic_angle
from .tokenization.tokenizer import MotionTokenizer

__all__ = [
    "RateDistortionPoint",
    "uniform_code_points",
    "root_relative_errors",
    "mpjpe_mm",
    "rate_distortion_table",
    "plot_rate_distortion",
]

DEFAULT_BINS = (16, 32, 64, 128, 256)
# Coarse/fine digit bases measured when coarse_fine=True: 16x16 = 256 levels (M5's level count at
# twice the characters per value) and 64x64 = 4096 levels (the shipped m5-fine-motion code).
DEFAULT_COARSE_FINE_BASES = (16, 64)


@dataclass
class RateDistortionPoint:
    """One code at one setting, measured on a set of motions.

    Attributes:
        method: the family of codes, e.g. ``"M5 uniform"``, ``"M5 coarse/fine"``,
            ``"M5 predictive"``, ``"VQ ..."``; one line per method in the plot.
        setting: what distinguishes this point within its method, e.g. ``"bins=256"``.
        tokens_per_second: tokens emitted for the motions divided by their total duration (s).
        mpjpe_mm: mean per-joint position error in millimetres, root-relative (the root joint's
            position is subtracted from both poses first), over all frames and joints.
        angle_error_deg: mean geodesic joint-rotation error in degrees, or None when the code
            does not reconstruct rotations.
        vocab_size: the code's vocabulary size (all ids, special tokens included), or None.
        num_frames: frames measured, over all motions.
    """

    method: str
    setting: str
    tokens_per_second: float
    mpjpe_mm: float
    angle_error_deg: float | None
    vocab_size: int | None
    num_frames: int

    def to_dict(self) -> dict[str, Any]:
        """The point as a plain dict (JSON-ready)."""
        return asdict(self)


# ------------------------------------------------------------------ errors
def root_relative_errors(pred: np.ndarray, true: np.ndarray, root: int = 0) -> np.ndarray:
    """Per-joint Euclidean errors ``(..., J)`` (units of the input) after subtracting the root.

    ``pred`` and ``true`` are ``(..., J, 3)`` global joint positions; each pose has its own root
    joint's position (``root``) subtracted before the distance, so a global offset of the whole
    body costs nothing and the root joint's own error is always 0.
    """
    pred, true = _pair(pred, true, "positions")
    J = pred.shape[-2]
    if not -J <= root < J:
        raise ValueError(f"root joint {root} is out of range for {J} joints")
    rel_pred = pred - pred[..., root : root + 1, :]
    rel_true = true - true[..., root : root + 1, :]
    return np.linalg.norm(rel_pred - rel_true, axis=-1)


def mpjpe_mm(pred: np.ndarray, true: np.ndarray, root: int = 0) -> float:
    """Root-relative mean per-joint position error in millimetres, of positions in metres.

    The mean is over every frame and every joint (the root included, whose error is 0 by
    construction), the usual MPJPE convention. See :func:`root_relative_errors`.
    """
    return float(root_relative_errors(pred, true, root).mean() * 1000.0)


# --------------------------------------------------------------- measuring
def _check_motions(motions: Any, joint_names: Sequence[str] | None) -> list[Motion]:
    if isinstance(motions, Motion):
        raise TypeError("motions must be a list of Motion objects, got a single Motion (wrap it in a list)")
    motions = list(motions)
    if not motions:
        raise ValueError("uniform_code_points needs at least one motion, got an empty list")
    for i, m in enumerate(motions):
        if not isinstance(m, Motion):
            raise TypeError(f"motions[{i}] must be a hf_motion.Motion, got {type(m).__name__}")
        if m.num_frames == 0:
            raise ValueError(f"motions[{i}] has no frames")
    # The tokenizer fixes the joint layout (names and tree); bone lengths may differ per performer,
    # since each clip runs FK on its own skeleton.
    ref = motions[0].skeleton
    for i, m in enumerate(motions[1:], start=1):
        s = m.skeleton
        if s.names != ref.names or not np.array_equal(s.parents, ref.parents):
            what = "joint names" if s.names != ref.names else "parents"
            raise ValueError(
                f"motions[{i}] has a different skeleton from motions[0] ({what} differ: {len(s.names)} joints "
                f"{s.names[:6]}... vs {len(ref.names)} joints {ref.names[:6]}...); measure one skeleton at a time"
            )
    if joint_names is not None:
        names = list(joint_names)
        if names != ref.names:
            raise ValueError(
                f"joint_names {names[:6]}... ({len(names)}) differ from the motions' joints {ref.names[:6]}... "
                f"({len(ref.names)}); select the joints (Motion.select_joints) before measuring"
            )
    _warn_static_root(motions)
    return motions


def _warn_static_root(motions: list[Motion]) -> None:
    """Warn when joint 0 never moves (a BVH reference node at the world origin, say).

    Root-relative errors are then relative to a fixed world point: the coded rotation of that
    joint (its zero falls on a bin edge for even bin counts, so it decodes to half a bin) turns
    the whole body about the origin, by an amount that grows with the distance walked.
    """
    if motions[0].num_joints < 2:
        return
    for m in motions:
        if np.any(m.rotations[:, 0]) or np.any(m.root_translation != m.root_translation[0]):
            return
    name = motions[0].skeleton.names[0]
    warnings.warn(
        f"joint 0 ({name!r}) never moves in any clip: root-relative MPJPE is then measured from a fixed point, "
        f"and the quantized rotation of {name!r} swings the whole body about it; select the moving joints "
        "(Motion.select_joints, e.g. without that joint) before measuring",
        UserWarning,
        stacklevel=4,  # the caller of uniform_code_points
    )


def _check_levels(values: Iterable[Any], what: str, minimum: int = 2) -> list[int]:
    out = []
    for v in values:
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)):
            raise ValueError(f"{what} must be integers, got {v!r}")
        if v < minimum:
            raise ValueError(f"{what} must be integers >= {minimum} (a code needs at least two levels), got {v}")
        out.append(int(v))
    return out


def _settings_list(value: bool | Sequence[int] | None, default: Sequence[int], what: str) -> list[int]:
    """``True``: ``default``; ``False``/``None``: none; a sequence: those values, checked."""
    if value is None or value is False:
        return []
    if value is True:
        return list(default)
    if isinstance(value, (int, np.integer)):
        value = [value]
    return _check_levels(value, what)


def _measure(
    tokenizer: MotionTokenizer,
    motions: list[Motion],
    true_positions: list[np.ndarray],
    method: str,
    setting: str,
) -> RateDistortionPoint:
    n_tokens, seconds, frames = 0, 0.0, 0
    pos_sum = ang_sum = 0.0
    n_pos = n_ang = 0
    for m, p_true in zip(motions, true_positions):
        # Each clip is one sequence: <bos>, the causal task token, then a separator plus the
        # frame's angle characters per frame, <eos> (delta coding: a keyframe at its frame 0).
        ids = tokenizer.encode_motion(angles=m.rotations, task=">")
        n_tokens += len(ids)
        angles = tokenizer.decode_motion(ids).angles
        # Same root translation and bone translations: only the coded rotations differ.
        decoded = Motion(angles, m.root_translation, m.skeleton, m.fps, dict(m.labels), m.local_translations)
        err = root_relative_errors(forward_kinematics(decoded), p_true)
        pos_sum += float(err.sum())
        n_pos += err.size
        ang = geodesic_angle(angles, m.rotations)
        ang_sum += float(ang.sum())
        n_ang += ang.size
        seconds += m.duration
        frames += m.num_frames
    return RateDistortionPoint(
        method=method,
        setting=setting,
        tokens_per_second=n_tokens / seconds,
        mpjpe_mm=pos_sum / n_pos * 1000.0,
        angle_error_deg=math.degrees(ang_sum / n_ang),
        vocab_size=len(tokenizer),
        num_frames=frames,
    )


def uniform_code_points(
    motions: list[Motion],
    *,
    bins: Sequence[int] = DEFAULT_BINS,
    coarse_fine: bool | Sequence[int] = True,
    predictive: bool | Sequence[int] = True,
    keyframe_interval: int | None = None,
    joint_names: Sequence[str] | None = None,
    progress: bool = True,
) -> list[RateDistortionPoint]:
    """Rate-distortion points of the M5 codes on ``motions`` (quantized oracle).

    Args:
        motions: clips on one skeleton (same joint names and tree; bone lengths may differ),
            already resampled to the frame rate and joint subset to measure. Each clip is one
            token sequence.
        bins: bin counts of plain M5 uniform bins (``"M5 uniform"``, one character per value).
        coarse_fine: the coarse/fine code (``"M5 coarse/fine"``, two characters per value,
            ``base**2`` levels): ``True`` measures bases 16 and 64 (256 and 4096 levels), a
            sequence gives the bases, ``False`` none.
        predictive: predictive (delta) coding (``"M5 predictive"``: each clip's keyframes as M5
            characters, other frames as the change from the previous decoded frame, ``max_step
            = bins - 1``, so it never saturates): ``True`` measures the bin counts of ``bins``, a
            sequence gives its own bin counts (at most 2793: the delta alphabet's limit),
            ``False`` none.
        keyframe_interval: predictive coding's keyframe interval (None: only each clip's frame 0).
        joint_names: the joints the caller means to measure; when given they must equal the
            motions' joint names (a check, the motions are not subset here). The tokenizers
            are built with the motions' joint names either way.
        progress: show a progress bar over the settings.

    Returns:
        One :class:`RateDistortionPoint` per setting, in the order uniform, coarse/fine,
        predictive.

    What is counted: ``tokens_per_second`` is the length of the ids
    :meth:`~hf_motion.tokenizer.MotionTokenizer.encode_motion` returns for every clip's angles
    (causal ``>`` form, ``add_special_tokens=True``), summed, divided by the clips' total
    duration (``num_frames / fps``). That is, per frame, one separator plus ``J x 3 x digits``
    angle characters, and per clip three framing tokens (``<bos>``, ``>``, ``<eos>``). Nothing
    is counted for the root translation: the tokenizer writes none (see the module docstring),
    and root-relative MPJPE does not depend on it. The position frames of the ``$``/``&`` forms
    are left out because FK of the angles already gives the positions. Angles are raw
    axis-angle in M5's [-pi, pi] box (no angle reference).

    Errors are pooled over all frames and joints of all clips (longer clips weigh more): the
    decoded rotations, with the clip's own root translation and bone translations, go through
    :func:`~hf_motion.kinematics.forward_kinematics` and are compared with FK of the original
    (:func:`mpjpe_mm`); angle errors are :func:`~hf_motion.rotations.geodesic_angle` per joint.

    Raises:
        ValueError: no motions, a clip without frames, clips on different skeletons (naming the
            clip's index), ``joint_names`` other than the motions', or bin counts / bases that are
            not integers >= 2.
        TypeError: something other than a list of :class:`~hf_motion.Motion`.

    Warns:
        UserWarning: joint 0 never moves in any clip (e.g. the static ``joint_Root`` of a raw
            Bandai-Namco BVH): root-relative errors are then world errors about that point, and
            its coded rotation turns the whole body; drop it with ``Motion.select_joints`` first.
    """
    motions = _check_motions(motions, joint_names)
    if isinstance(bins, (int, np.integer)):
        bins = [bins]
    bins = _check_levels(bins, "bins")
    bases = _settings_list(coarse_fine, DEFAULT_COARSE_FINE_BASES, "coarse_fine bases")
    delta_bins = _settings_list(predictive, bins, "predictive bins")
    if keyframe_interval is not None:
        _check_levels([keyframe_interval], "keyframe_interval", minimum=1)
    names = list(motions[0].skeleton.names)
    keyframes = "first frame" if keyframe_interval is None else f"every {keyframe_interval}"

    # Built lazily, so that a bad setting is reported with its name before any work.
    settings: list[tuple[str, str, Any]] = []
    for n in bins:
        settings.append(("M5 uniform", f"bins={n}", lambda n=n: MotionTokenizer.m5(n, joint_names=names)))
    for b in bases:
        settings.append(("M5 coarse/fine", f"{b}x{b}={b * b} levels", lambda b=b: MotionTokenizer.coarse_fine(b, joint_names=names)))
    for n in delta_bins:
        settings.append((
            "M5 predictive", f"bins={n}, keyframes: {keyframes}",
            lambda n=n: MotionTokenizer.m5_delta(n, keyframe_interval=keyframe_interval, joint_names=names),
        ))  # fmt: skip
    tokenizers = []
    for method, setting, build in settings:
        try:
            tokenizers.append(build())
        except ValueError as e:
            raise ValueError(f"{method} {setting}: {e}") from None

    # FK of the originals once, shared by every setting.
    true_positions = [forward_kinematics(m) for m in motions]
    from tqdm.auto import tqdm

    points = []
    for (method, setting, _), tok in tqdm(list(zip(settings, tokenizers)), desc="rate-distortion", unit="setting", disable=not progress):
        points.append(_measure(tok, motions, true_positions, method, setting))
    return points


# ---------------------------------------------------------------- reporting
def _check_points(points: Iterable[RateDistortionPoint], what: str) -> list[RateDistortionPoint]:
    points = list(points)
    if not points:
        raise ValueError(f"{what} needs at least one RateDistortionPoint, got none")
    for i, p in enumerate(points):
        if not isinstance(p, RateDistortionPoint):
            raise TypeError(f"points[{i}] must be a RateDistortionPoint, got {type(p).__name__}")
    return points


def _sorted(points: list[RateDistortionPoint]) -> list[RateDistortionPoint]:
    # Equal rates (M5 bins all cost the same tokens) fall back to the error, coarsest first.
    return sorted(points, key=lambda p: (p.method, p.tokens_per_second, -p.mpjpe_mm, p.setting))


def rate_distortion_table(points: Iterable[RateDistortionPoint]) -> str:
    """A markdown table of ``points``, one row each, sorted by method, then by rate."""
    points = _sorted(_check_points(points, "rate_distortion_table"))
    lines = [
        "| method | setting | tokens/s | MPJPE (mm) | angle error (deg) | vocab | frames |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for p in points:
        angle = "-" if p.angle_error_deg is None else f"{p.angle_error_deg:.3f}"
        vocab = "-" if p.vocab_size is None else str(p.vocab_size)
        lines.append(f"| {p.method} | {p.setting} | {p.tokens_per_second:.1f} | {p.mpjpe_mm:.3f} | {angle} | {vocab} | {p.num_frames} |")
    return "\n".join(lines) + "\n"


def plot_rate_distortion(points: Iterable[RateDistortionPoint], path: str | Path, title: str | None = None) -> Path:
    """Plot MPJPE (mm) against tokens per second (log scale), one line with markers per method.

    Each point is labelled with its setting. The figure is drawn without pyplot (no global
    state, Agg canvas) and written atomically: to a temporary file in ``path``'s folder, then
    renamed over ``path``. The format follows the suffix (PNG when there is none).

    Returns:
        ``path`` as a :class:`~pathlib.Path`.
    """
    points = _check_points(points, "plot_rate_distortion")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    path = Path(path)
    fig = Figure(figsize=(8, 5.5), dpi=120)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    by_method: dict[str, list[RateDistortionPoint]] = {}
    for p in _sorted(points):
        by_method.setdefault(p.method, []).append(p)
    markers = "osD^vP*Xh<>"
    for k, (method, pts) in enumerate(by_method.items()):
        x = [p.tokens_per_second for p in pts]
        y = [p.mpjpe_mm for p in pts]
        (line,) = ax.plot(x, y, marker=markers[k % len(markers)], label=method)
        for p in pts:
            # Methods can coincide (delta coding is lossless on the levels): stagger the labels.
            ax.annotate(
                p.setting, (p.tokens_per_second, p.mpjpe_mm), textcoords="offset points",
                xytext=(6, 4 - 10 * k), fontsize=7, color=line.get_color(),
            )  # fmt: skip
    ax.set_xscale("log")
    ax.set_xlabel("tokens per second of motion")
    ax.set_ylabel("MPJPE, root-relative (mm)")
    if title:
        ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fmt = path.suffix[1:].lower() or "png"
    with atomic_file(path) as tmp:
        fig.savefig(tmp, format=fmt)
    return path
