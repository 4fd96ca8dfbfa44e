"""Frame-rate conversion: slerp for joint rotations, linear interpolation for translations.

Sampling convention (used by :func:`resample_motion` and :func:`resample_linear`): the first
output frame is at time 0, output frames follow every ``1 / fps`` seconds, and the last one is the
latest that does not pass the last input frame, so nothing is extrapolated. A clip of ``T`` frames
at ``src_fps`` spans ``(T - 1) / src_fps`` seconds and becomes

    ``N = floor((T - 1) * fps / src_fps) + 1`` frames,

which keeps the clip's duration to within one output frame (the floor has a relative slack of
1e-5, because frame rates read from files are rounded: a BVH ``Frame Time: 0.0333333`` is
30.00003 fps; an output frame that lands a hair past the end repeats the last input frame). With integer rate ratios a round trip
lands on the original frames: 30 -> 120 -> 30 gives back the ``T`` input frames, and 120 -> 30
keeps every fourth frame unchanged.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.spatial.transform import Rotation

from .motion import Motion, MotionError

__all__ = ["resample_motion", "resample_linear", "resample_times", "FPS_RANGE"]

# Relative slack on the output frame count: rates read from files are rounded (BVH's
# "Frame Time: 0.0333333" is 30.00003 fps), and 30 -> 120 -> 30 must still give T frames back.
_RATE_RTOL = 1e-5
_EPS = 1e-9


# Frame rates outside this are refused (BVH frame times of 1e-4 .. 10 s): a 1e-300 s frame time
# would otherwise collapse a clip to one frame, and 1e300 fps would exhaust memory.
FPS_RANGE = (0.1, 10000.0)


def _check_fps(fps: float, what: str) -> float:
    if isinstance(fps, (bool, str, bytes)):
        raise MotionError(f"{what} must be a positive number, got {fps!r}")
    try:
        fps = float(fps)
    except (TypeError, ValueError):
        raise MotionError(f"{what} must be a positive number, got {fps!r}") from None
    if not (math.isfinite(fps) and fps > 0):
        raise MotionError(f"{what} must be a positive number, got {fps}")
    if not FPS_RANGE[0] <= fps <= FPS_RANGE[1]:
        raise MotionError(f"{what} {fps:g} is outside the supported {FPS_RANGE[0]:g} .. {FPS_RANGE[1]:g} fps")
    return fps


def resample_times(num_frames: int, src_fps: float, fps: float) -> tuple[np.ndarray, np.ndarray]:
    """Where each output frame falls between the input frames.

    Returns ``(index, alpha)``: output frame ``k`` lies between input frames ``index[k]`` and
    ``index[k] + 1`` at fraction ``alpha[k]`` in ``[0, 1]`` (see the module docstring for the
    number of output frames). For a single input frame the result is ``([0], [0.0])``.
    """
    src_fps = _check_fps(src_fps, "source fps")
    fps = _check_fps(fps, "target fps")
    if num_frames < 1:
        raise MotionError(f"cannot resample a clip with {num_frames} frames")
    if num_frames == 1:
        return np.zeros(1, dtype=np.int64), np.zeros(1)
    span = (num_frames - 1) * fps / src_fps  # in output frames
    n_out = int(math.floor(span * (1.0 + _RATE_RTOL) + _EPS)) + 1
    # Position of each output frame measured in input frames.
    u = np.arange(n_out, dtype=np.float64) * (src_fps / fps)
    index = np.floor(u + _EPS).astype(np.int64)
    index = np.clip(index, 0, num_frames - 2)
    alpha = np.clip(u - index, 0.0, 1.0)
    return index, alpha


def resample_linear(values: np.ndarray, src_fps: float, fps: float) -> np.ndarray:
    """Linearly interpolate ``(T, ...)`` per-frame values from ``src_fps`` to ``fps``.

    NaNs propagate (a NaN neighbour gives a NaN output frame).
    """
    values = np.asarray(values, dtype=np.float64)
    if values.ndim < 1:
        raise MotionError("expected per-frame values of shape (T, ...), got a scalar")
    index, alpha = resample_times(values.shape[0], src_fps, fps)
    if values.shape[0] == 1:
        return values.copy()
    a = alpha.reshape((-1,) + (1,) * (values.ndim - 1))
    return (1.0 - a) * values[index] + a * values[index + 1]


def _slerp_rotvecs(rotvecs: np.ndarray, index: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Slerp ``(T, J, 3)`` axis-angle between frames ``index`` and ``index + 1``, all joints at once."""
    T, J, _ = rotvecs.shape
    r0 = Rotation.from_rotvec(rotvecs[index].reshape(-1, 3))
    r1 = Rotation.from_rotvec(rotvecs[index + 1].reshape(-1, 3))
    # The relative rotation's vector has angle in [0, pi]: slerp along the shortest arc.
    delta = (r0.inv() * r1).as_rotvec()
    step = Rotation.from_rotvec(delta * np.repeat(alpha, J)[:, None])
    return (r0 * step).as_rotvec().reshape(len(index), J, 3)


def resample_motion(motion: Motion, fps: float) -> Motion:
    """The same motion sampled at ``fps`` frames per second.

    Joint rotations are interpolated by spherical linear interpolation (slerp) per joint along the
    shortest arc, so the input must be sampled densely enough that no joint turns by more than
    180 degrees between two frames. ``root_translation`` and ``local_translations`` (if present)
    are interpolated linearly. Labels and skeleton are kept. See the module docstring for which
    frames come out (no extrapolation past the last input frame).

    Resampling to the clip's own rate returns an unchanged copy. Otherwise output rotations are
    canonical axis-angle vectors (angle in ``[0, pi]``), which may differ from equivalent input
    vectors with larger angles.

    Raises:
        MotionError: ``fps`` (or the motion's own rate) is not a number within
            :data:`FPS_RANGE` (0.1 .. 10000 fps).
    """
    fps = _check_fps(fps, "target fps")
    if not isinstance(motion, Motion):
        raise TypeError(f"resample_motion expects a Motion, got {type(motion).__name__}")
    if fps == motion.fps:
        return motion.copy()
    src = motion.labels.get("source")
    _check_fps(motion.fps, f"{src}: source fps" if src else "source fps")
    index, alpha = resample_times(motion.num_frames, motion.fps, fps)
    if motion.num_frames == 1:
        out = motion.copy()
        out.fps = fps
        return out
    rotations = _slerp_rotvecs(motion.rotations, index, alpha)
    root = resample_linear(motion.root_translation, motion.fps, fps)
    local = None
    if motion.local_translations is not None:
        local = resample_linear(motion.local_translations, motion.fps, fps)
    return Motion(rotations, root, motion.skeleton, fps, dict(motion.labels), local)
