"""Hand-made kinematic features per clip, for the random-forest baseline.

This is the kind of feature set Li et al. (2018) fed a random forest in the Parkinson's study
that M5 compared against: statistics of how fast, how jerky, how far and at what rhythm each
joint moves. From joint positions ``(T, J, D)`` (``D`` = 3 for motion capture via forward
kinematics, 2 for video keypoints) at ``fps`` frames per second, per joint:

``speed_*``, ``acceleration_*``, ``jerk_*``
    magnitude of the first, second and third finite difference of the *global* position
    (units/s, /s², /s³), summarised over time by ``mean``, ``std`` and the ``percentiles``
    (``p10``, ``p50``, ``p90`` by default).
``rom_<axis>``
    range of motion, ``max - min`` over the clip, of the position relative to the root joint
    (the root itself: its global trajectory, i.e. the distance covered along that axis).
``bandpower_<lo>-<hi>Hz``
    power of the root-relative trajectory (root: global, linearly detrended) in each frequency
    band, from Welch's method (Hann windows of ``welch_seconds``, half overlap, linear detrend
    per segment), summed over the axes; units²: the band's share of the position variance. Short
    clips (shorter than ``welch_seconds``) get one segment, so a coarser frequency resolution.

Feature names are ``"<feature>/<joint>"``. Everything is vectorised over joints and axes.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

__all__ = [
    "DEFAULT_BANDS_HZ",
    "DEFAULT_PERCENTILES",
    "FeatureError",
    "kinematic_features",
    "clip_features",
    "feature_matrix",
]

# Step/gait rhythm, fast voluntary movement, the 3-7 Hz band of Parkinsonian rest tremor,
# physiological tremor (needs >= 24 fps).
DEFAULT_BANDS_HZ: tuple[tuple[float, float], ...] = ((0.5, 1.5), (1.5, 3.0), (3.0, 7.0), (7.0, 12.0))
DEFAULT_PERCENTILES: tuple[float, ...] = (10.0, 50.0, 90.0)
_AXES = "xyz"


class FeatureError(ValueError):
    """Input the kinematic features cannot be computed from; the message names the clip."""


def _check_bands(bands_hz: Sequence[tuple[float, float]], fps: float, source: str) -> list[tuple[float, float]]:
    bands = [(float(lo), float(hi)) for lo, hi in bands_hz]
    if not bands:
        raise FeatureError("bands_hz is empty; give at least one (low, high) band in Hz")
    nyquist = fps / 2.0
    for lo, hi in bands:
        if not (0 <= lo < hi and math.isfinite(hi)):
            raise FeatureError(f"frequency band ({lo:g}, {hi:g}) Hz: need 0 <= low < high")
        if lo >= nyquist:
            raise FeatureError(
                f"{source}: frequency band ({lo:g}, {hi:g}) Hz starts above the Nyquist frequency {nyquist:g} Hz of "
                f"a {fps:g} fps clip; drop the band or use data recorded at a higher rate"
            )
    return bands


def _band_overlap(freqs: np.ndarray, bands: list[tuple[float, float]], nyquist: float) -> np.ndarray:
    """``(n_bands, n_freqs)``: the width (Hz) of each Welch bin ``[f - df/2, f + df/2)`` (cut to
    ``[0, nyquist]``) that lies inside each band, so that band power = PSD @ overlap.T. With bins
    aligned to the band edges this is the plain sum of PSD x df; with a short clip's coarse bins a
    bin's power is shared between the bands it straddles instead of being dropped."""
    df = freqs[1] - freqs[0]
    left = np.clip(freqs - df / 2, 0.0, nyquist)
    right = np.clip(freqs + df / 2, 0.0, nyquist)
    lo = np.array([b[0] for b in bands])[:, None]
    hi = np.array([b[1] for b in bands])[:, None]
    return np.clip(np.minimum(right, hi) - np.maximum(left, lo), 0.0, None)


def kinematic_features(
    positions: np.ndarray,
    fps: float,
    joint_names: Sequence[str] | None = None,
    *,
    root: int = 0,
    bands_hz: Sequence[tuple[float, float]] = DEFAULT_BANDS_HZ,
    percentiles: Sequence[float] = DEFAULT_PERCENTILES,
    welch_seconds: float = 4.0,
    source: str = "clip",
) -> tuple[np.ndarray, list[str]]:
    """Kinematic features of one clip (see the module docstring for the list).

    Args:
        positions: ``(T, J, D)`` joint positions, ``D`` in (2, 3), ``T >= 4`` frames.
        fps: frames per second.
        joint_names: ``J`` names for the feature names (default ``joint0``, ``joint1``, ...).
        root: index of the root joint (range of motion and band power of the others are
            measured relative to it).
        bands_hz: ``[(low, high), ...]`` frequency bands in Hz; each must start below the Nyquist
            frequency ``fps / 2`` (power above it is not measured). Each Welch bin
            ``[f - df/2, f + df/2)`` adds its power to the bands it overlaps, in proportion.
        percentiles: percentiles of speed, acceleration and jerk.
        welch_seconds: Welch segment length (the clip length if shorter); frequency resolution
            ``1 / welch_seconds`` Hz.
        source: clip name for error messages.

    Returns:
        ``(values, names)``: a float64 vector and one name per value.

    Raises:
        FeatureError: wrong shape, too few frames, non-finite values (naming frame and joint),
            or a band above the Nyquist frequency.
    """
    p = np.asarray(positions, dtype=np.float64)
    if p.ndim != 3 or p.shape[2] not in (2, 3):
        raise FeatureError(f"{source}: positions must be (frames, joints, 2 or 3), got shape {p.shape}")
    T, J, D = p.shape
    if T < 4:
        raise FeatureError(f"{source}: {T} frames; kinematic features need at least 4 (jerk is a third difference)")
    if not (isinstance(fps, (int, float, np.floating)) and math.isfinite(fps) and fps > 0):
        raise FeatureError(f"{source}: fps must be a positive number, got {fps!r}")
    names = [f"joint{j}" for j in range(J)] if joint_names is None else [str(n) for n in joint_names]
    if len(names) != J:
        raise FeatureError(f"{source}: {len(names)} joint names for {J} joints")
    if not 0 <= root < J:
        raise FeatureError(f"{source}: root index {root} is outside 0..{J - 1}")
    if not np.all(np.isfinite(p)):
        t, j, _ = np.argwhere(~np.isfinite(p))[0]
        raise FeatureError(f"{source}: non-finite position at frame {t}, joint {names[j]!r}")
    nperseg = int(min(T, max(4, round(welch_seconds * fps))))
    bands = _check_bands(bands_hz, float(fps), source)
    pct = [float(q) for q in percentiles]

    values: list[np.ndarray] = []
    labels: list[str] = []

    def add(block: np.ndarray, feature_names: list[str]) -> None:
        # block: (n_features_per_joint, J) -> names "<feature>/<joint>", feature-major.
        values.append(block.reshape(-1))
        labels.extend(f"{f}/{n}" for f in feature_names for n in names)

    stat_names = ["mean", "std"] + [f"p{q:g}" for q in pct]
    derivative = p
    for quantity in ("speed", "acceleration", "jerk"):
        derivative = np.diff(derivative, axis=0) * fps
        magnitude = np.linalg.norm(derivative, axis=-1)  # (T-k, J)
        stats = [magnitude.mean(axis=0), magnitude.std(axis=0)]
        if pct:
            stats.extend(np.percentile(magnitude, pct, axis=0))
        add(np.stack(stats), [f"{quantity}_{s}" for s in stat_names])

    relative = p - p[:, root : root + 1]
    relative[:, root] = p[:, root]
    add((relative.max(axis=0) - relative.min(axis=0)).T, [f"rom_{a}" for a in _AXES[:D]])

    from scipy.signal import welch

    freqs, psd = welch(relative, fs=float(fps), nperseg=nperseg, detrend="linear", axis=0)  # (F, J, D)
    psd = psd.sum(axis=-1)  # (F, J)
    power = _band_overlap(freqs, bands, fps / 2.0) @ psd  # (n_bands, J)
    add(power, [f"bandpower_{lo:g}-{hi:g}Hz" for lo, hi in bands])
    return np.concatenate(values), labels


def _positions_of(item: Any, joints: Sequence[str] | str | None) -> tuple[np.ndarray, float, list[str], int, str]:
    """(positions, fps, joint names, root index, source name) of a Motion, Keypoints or MotionClip."""
    from .motion import Motion

    if hasattr(item, "load") and hasattr(item, "clip_id"):  # a MotionClip: read it
        source = item.clip_id
        try:
            item = item.load()
        except Exception as e:  # noqa: BLE001 - re-raised with the clip named
            raise FeatureError(f"{source}: cannot read {getattr(item, 'path', '')}: {e}") from e
    if isinstance(item, Motion):
        source = str(item.labels.get("clip") or item.labels.get("source") or "motion")
        if joints is not None:
            try:
                item = item.select_joints(joints)
            except ValueError as e:
                raise FeatureError(f"{source}: {e}") from None
        return item.positions(), item.fps, list(item.skeleton.names), 0, source
    layout = getattr(item, "layout", None)
    if layout is not None and hasattr(item, "data"):  # hf_motion.keypoints.Keypoints
        source = str(item.labels.get("clip") or item.labels.get("source") or "keypoints")
        data, names = item.data, list(layout.names)
        roots = [k for k, par in enumerate(layout.parents) if par < 0]
        root = roots[0] if roots else 0
        if joints is not None:
            from .skeletons import resolve_joint_subset

            wanted = resolve_joint_subset(joints)
            missing = [n for n in wanted if n not in names]
            if missing:
                raise FeatureError(f"{source}: keypoints {missing} are not in layout {layout.name!r} ({names})")
            idx = [names.index(n) for n in wanted]
            data, names = data[:, idx], wanted
            root = idx.index(root) if root in idx else 0
        return data, item.fps, names, root, source
    raise FeatureError(f"cannot compute features from a {type(item).__name__}; pass a Motion, Keypoints or MotionClip")


def clip_features(item: Any, joints: Sequence[str] | str | None = None, **kwargs: Any) -> tuple[np.ndarray, list[str]]:
    """:func:`kinematic_features` of a :class:`~hf_motion.Motion` (joint positions by forward
    kinematics), a :class:`~hf_motion.keypoints.Keypoints` track, or a
    :class:`~hf_motion.datasets.MotionClip` (read first).

    Args:
        joints: keep only these joints (a registered subset name or a list), e.g. ``"bandai-core"``.
        **kwargs: passed to :func:`kinematic_features`.
    """
    positions, fps, names, root, source = _positions_of(item, joints)
    kwargs.setdefault("source", source)
    return kinematic_features(positions, fps, names, root=root, **kwargs)


def feature_matrix(
    items: Iterable[Any],
    joints: Sequence[str] | str | None = None,
    progress: bool = True,
    **kwargs: Any,
) -> tuple[np.ndarray, list[str]]:
    """Features of many clips as an ``(n_clips, n_features)`` matrix.

    Args:
        items: a :class:`~hf_motion.datasets.MotionCollection`, or Motions / Keypoints / clips.
        joints: joint subset for every clip (clips must end up with the same joints).
        progress: show a progress bar.
        **kwargs: passed to :func:`kinematic_features`.

    Returns:
        ``(X, feature_names)``.

    Raises:
        FeatureError: a clip whose joints differ from the first clip's (naming both), or any
            per-clip error from :func:`kinematic_features`.
    """
    from tqdm.auto import tqdm

    items = list(items)
    if not items:
        raise FeatureError("no clips to compute features for")
    rows: list[np.ndarray] = []
    names: list[str] | None = None
    first = ""
    for item in tqdm(items, desc="kinematic features", unit="clip", disable=not progress):
        values, item_names = clip_features(item, joints=joints, **kwargs)
        if names is None:
            names, first = item_names, kwargs.get("source") or getattr(item, "clip_id", "the first clip")
        elif item_names != names:
            who = getattr(item, "clip_id", None) or f"clip #{len(rows)}"
            diff = next((a for a, b in zip(item_names, names) if a != b), None) or f"{len(item_names)} vs {len(names)} features"
            raise FeatureError(
                f"{who}: its features differ from {first}'s (first difference: {diff}); clips need the same joints "
                "(pass joints=... to select a common subset)"
            )
        rows.append(values)
    return np.stack(rows), list(names or [])
