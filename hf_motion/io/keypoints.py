"""2D/3D keypoint tracks (e.g. from video pose estimators) and M5's 2D -> 3D position mapping.

Clinical data often comes as 2D keypoints from video. M5 fed such data to a model pretrained on
3D positions by mapping the image coordinates into the pretraining data's position frame: flip
the image's downward y axis, scale each image axis linearly so that its 10th-90th percentile
range matches the pretraining data's on two chosen world axes, and put the missing depth axis at
the pretraining data's median (:func:`keypoints_to_positions`).

Layouts (:class:`KeypointLayout`) are a registry: ``"coco17"`` and ``"mediapipe33"`` are built
in; :func:`register_keypoint_layout` adds others, or pass a layout object directly.
"""

from __future__ import annotations

import csv
import json
import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..motion import MotionError

__all__ = [
    "KeypointError",
    "KeypointLayout",
    "Keypoints",
    "KEYPOINT_LAYOUTS",
    "register_keypoint_layout",
    "get_keypoint_layout",
    "load_keypoints",
    "PositionReference",
    "reference_position_percentiles",
    "keypoints_to_positions",
]

_AXES = {"x": 0, "y": 1, "z": 2}


class KeypointError(MotionError):
    """Bad keypoint data or layout."""


@dataclass
class KeypointLayout:
    """Names and tree of a keypoint set.

    Args:
        name: registry name, e.g. ``"coco17"``.
        names: keypoint names in storage order.
        parents: parent index per keypoint (``-1`` for the single root), a tree over all
            keypoints (needed for bone lengths and drawing). Unlike a :class:`~hf_motion.Skeleton`
            it need not be topologically ordered.
        up_axis: which data axis points up: ``"-y"`` for image coordinates (y grows downwards),
            or ``"x"``, ``"y"``, ``"z"`` (optionally with ``-``) for 3D data.
        edges: the format's own drawing connections as index pairs (may contain cycles and
            links outside the tree); defaults to the tree's bones.
    """

    name: str
    names: list[str]
    parents: list[int]
    up_axis: str = "-y"
    edges: list[tuple[int, int]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.names = [str(n) for n in self.names]
        self.parents = [int(p) for p in self.parents]
        K = len(self.names)
        if K == 0:
            raise KeypointError(f"layout {self.name!r} has no keypoints")
        if len(set(self.names)) != K:
            dup = sorted({n for n in self.names if self.names.count(n) > 1})
            raise KeypointError(f"layout {self.name!r} has duplicate keypoint names: {dup}")
        if len(self.parents) != K:
            raise KeypointError(f"layout {self.name!r}: {len(self.parents)} parents for {K} keypoints")
        roots = [i for i, p in enumerate(self.parents) if p == -1]
        if len(roots) != 1:
            raise KeypointError(f"layout {self.name!r} needs exactly one root (parent -1), found {len(roots)}")
        for i, p in enumerate(self.parents):
            if not -1 <= p < K or p == i:
                raise KeypointError(f"layout {self.name!r}: keypoint {self.names[i]!r} has invalid parent {p}")
        for i in range(K):  # every chain must reach the root within K steps (no cycles)
            j, steps = i, 0
            while self.parents[j] != -1:
                j, steps = self.parents[j], steps + 1
                if steps > K:
                    raise KeypointError(f"layout {self.name!r}: the parents of {self.names[i]!r} form a cycle")
        if self.up_axis.lstrip("-") not in _AXES:
            raise KeypointError(f"layout {self.name!r}: up_axis must be x, y or z (optionally -), got {self.up_axis!r}")
        self.edges = [(int(a), int(b)) for a, b in (self.edges or self.bones)]
        for a, b in self.edges:
            if not (0 <= a < K and 0 <= b < K):
                raise KeypointError(f"layout {self.name!r}: edge ({a}, {b}) is out of range for {K} keypoints")

    def __len__(self) -> int:
        return len(self.names)

    @property
    def num_keypoints(self) -> int:
        return len(self.names)

    @property
    def bones(self) -> list[tuple[int, int]]:
        """``(parent, child)`` index pairs of the tree."""
        return [(p, i) for i, p in enumerate(self.parents) if p >= 0]

    def index(self, name: str) -> int:
        """Index of keypoint ``name``; raises a :class:`KeypointError` listing the layout's names."""
        try:
            return self.names.index(name)
        except ValueError:
            raise KeypointError(f"unknown keypoint {name!r}; layout {self.name!r} has {self.names}") from None


KEYPOINT_LAYOUTS: dict[str, KeypointLayout] = {}


def register_keypoint_layout(layout: KeypointLayout, exist_ok: bool = False) -> KeypointLayout:
    """Add ``layout`` to the registry under ``layout.name`` (usable as ``layout="<name>"``)."""
    if layout.name in KEYPOINT_LAYOUTS and not exist_ok:
        raise ValueError(f"keypoint layout {layout.name!r} is already registered")
    KEYPOINT_LAYOUTS[layout.name] = layout
    return layout


def get_keypoint_layout(layout: str | KeypointLayout) -> KeypointLayout:
    """A registered layout by name, or ``layout`` itself if it is a :class:`KeypointLayout`."""
    if isinstance(layout, KeypointLayout):
        return layout
    if layout not in KEYPOINT_LAYOUTS:
        raise KeypointError(f"unknown keypoint layout {layout!r}; registered: {sorted(KEYPOINT_LAYOUTS)}")
    return KEYPOINT_LAYOUTS[layout]


def _layout_from_names(name: str, names: list[str], parent_names: dict[str, str | None], edges, up_axis="-y"):
    parents = [-1 if parent_names[n] is None else names.index(parent_names[n]) for n in names]
    return KeypointLayout(name, names, parents, up_axis, [(names.index(a), names.index(b)) for a, b in edges])


# COCO-17 (the order of the COCO keypoint annotations). The tree hangs off the nose and follows
# COCO's own skeleton links (ear-shoulder, shoulder-hip included).
_COCO_NAMES = [
    "nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder",
    "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip", "left_knee",
    "right_knee", "left_ankle", "right_ankle",
]  # fmt: skip
_COCO_PARENTS = {
    "nose": None, "left_eye": "nose", "right_eye": "nose", "left_ear": "left_eye", "right_ear": "right_eye",
    "left_shoulder": "left_ear", "right_shoulder": "right_ear", "left_elbow": "left_shoulder",
    "right_elbow": "right_shoulder", "left_wrist": "left_elbow", "right_wrist": "right_elbow",
    "left_hip": "left_shoulder", "right_hip": "right_shoulder", "left_knee": "left_hip",
    "right_knee": "right_hip", "left_ankle": "left_knee", "right_ankle": "right_knee",
}  # fmt: skip
# COCO's "skeleton" field (1-based there), as names.
_COCO_EDGES = [
    ("left_ankle", "left_knee"), ("left_knee", "left_hip"), ("right_ankle", "right_knee"),
    ("right_knee", "right_hip"), ("left_hip", "right_hip"), ("left_shoulder", "left_hip"),
    ("right_shoulder", "right_hip"), ("left_shoulder", "right_shoulder"), ("left_shoulder", "left_elbow"),
    ("right_shoulder", "right_elbow"), ("left_elbow", "left_wrist"), ("right_elbow", "right_wrist"),
    ("left_eye", "right_eye"), ("nose", "left_eye"), ("nose", "right_eye"), ("left_eye", "left_ear"),
    ("right_eye", "right_ear"), ("left_ear", "left_shoulder"), ("right_ear", "right_shoulder"),
]  # fmt: skip

# MediaPipe Pose (BlazePose) 33 landmarks. MediaPipe's own connections do not join the face to
# the body, so the tree adds nose -> shoulders and nose -> mouth corners.
_MP_NAMES = [
    "nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner", "right_eye",
    "right_eye_outer", "left_ear", "right_ear", "mouth_left", "mouth_right", "left_shoulder",
    "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_pinky",
    "right_pinky", "left_index", "right_index", "left_thumb", "right_thumb", "left_hip", "right_hip",
    "left_knee", "right_knee", "left_ankle", "right_ankle", "left_heel", "right_heel",
    "left_foot_index", "right_foot_index",
]  # fmt: skip
_MP_PARENTS = {
    "nose": None, "left_eye_inner": "nose", "left_eye": "left_eye_inner", "left_eye_outer": "left_eye",
    "right_eye_inner": "nose", "right_eye": "right_eye_inner", "right_eye_outer": "right_eye",
    "left_ear": "left_eye_outer", "right_ear": "right_eye_outer", "mouth_left": "nose", "mouth_right": "nose",
    "left_shoulder": "nose", "right_shoulder": "nose", "left_elbow": "left_shoulder",
    "right_elbow": "right_shoulder", "left_wrist": "left_elbow", "right_wrist": "right_elbow",
    "left_pinky": "left_wrist", "right_pinky": "right_wrist", "left_index": "left_wrist",
    "right_index": "right_wrist", "left_thumb": "left_wrist", "right_thumb": "right_wrist",
    "left_hip": "left_shoulder", "right_hip": "right_shoulder", "left_knee": "left_hip",
    "right_knee": "right_hip", "left_ankle": "left_knee", "right_ankle": "right_knee",
    "left_heel": "left_ankle", "right_heel": "right_ankle", "left_foot_index": "left_ankle",
    "right_foot_index": "right_ankle",
}  # fmt: skip
# mediapipe.solutions.pose.POSE_CONNECTIONS
_MP_EDGES_IDX = [
    (0, 1), (1, 2), (2, 3), (3, 7), (0, 4), (4, 5), (5, 6), (6, 8), (9, 10), (11, 12), (11, 13),
    (13, 15), (15, 17), (15, 19), (15, 21), (17, 19), (12, 14), (14, 16), (16, 18), (16, 20), (16, 22),
    (18, 20), (11, 23), (12, 24), (23, 24), (23, 25), (24, 26), (25, 27), (26, 28), (27, 29), (28, 30),
    (29, 31), (30, 32), (27, 31), (28, 32),
]  # fmt: skip

register_keypoint_layout(_layout_from_names("coco17", _COCO_NAMES, _COCO_PARENTS, _COCO_EDGES))
register_keypoint_layout(
    _layout_from_names("mediapipe33", _MP_NAMES, _MP_PARENTS, [(_MP_NAMES[a], _MP_NAMES[b]) for a, b in _MP_EDGES_IDX])
)


# ------------------------------------------------------------------------------------- Keypoints
@dataclass
class Keypoints:
    """A keypoint track.

    Args:
        data: ``(T, K, D)`` coordinates, ``D`` = 2 (image) or 3. Units are the source's (pixels,
            normalised image coordinates or metres).
        layout: the :class:`KeypointLayout` (``K`` must match).
        fps: frames per second.
        confidence: optional ``(T, K)`` detection confidences.
        labels: free-form metadata (``"source"`` holds the file for loaded tracks).
    """

    data: np.ndarray
    layout: KeypointLayout
    fps: float = 30.0
    confidence: np.ndarray | None = None
    labels: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.layout = get_keypoint_layout(self.layout)
        self.data = np.asarray(self.data, dtype=np.float64)
        where = self.labels.get("source", "keypoints")
        if self.data.ndim != 3 or self.data.shape[2] not in (2, 3):
            raise KeypointError(f"{where}: keypoint data has shape {self.data.shape}; expected (T, K, 2) or (T, K, 3)")
        T, K, _ = self.data.shape
        if K != self.layout.num_keypoints:
            raise KeypointError(f"{where}: layout {self.layout.name!r} expects {self.layout.num_keypoints} keypoints, got {K}")
        if self.confidence is not None:
            self.confidence = np.asarray(self.confidence, dtype=np.float64)
            if self.confidence.shape != (T, K):
                raise KeypointError(f"{where}: confidence has shape {self.confidence.shape}, expected ({T}, {K})")
        try:
            fps_ok = np.isfinite(float(self.fps)) and float(self.fps) > 0
        except (TypeError, ValueError):
            fps_ok = False
        if not fps_ok:
            raise KeypointError(f"{where}: fps must be a positive number, got {self.fps!r}")
        self.fps = float(self.fps)

    @property
    def num_frames(self) -> int:
        return self.data.shape[0]

    @property
    def num_keypoints(self) -> int:
        return self.data.shape[1]

    @property
    def dims(self) -> int:
        return self.data.shape[2]

    def __len__(self) -> int:
        return self.num_frames

    def resample(self, fps: float) -> Keypoints:
        """The track at ``fps``, by linear interpolation (frames as in :mod:`hf_motion.resample`)."""
        from ..resample import resample_linear

        conf = None if self.confidence is None else resample_linear(self.confidence, self.fps, fps)
        return Keypoints(resample_linear(self.data, self.fps, fps), self.layout, fps, conf, dict(self.labels))

    def __repr__(self) -> str:
        return (
            f"Keypoints(frames={self.num_frames}, layout={self.layout.name!r}, dims={self.dims}, "
            f"fps={self.fps:g}, confidence={'yes' if self.confidence is not None else 'no'})"
        )


# --------------------------------------------------------------------------------------- loading
def _read_csv(path: Path, layout: KeypointLayout) -> tuple[np.ndarray, np.ndarray | None]:
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    if not rows:
        raise KeypointError(f"{path}: empty CSV file (expected a header row)")
    header = [h.strip() for h in rows[0]]
    col = {h: i for i, h in enumerate(header)}
    dims = 3 if all(f"{n}_z" in col for n in layout.names) else 2
    names = [f"{n}_{a}" for n in layout.names for a in "xyz"[:dims]]
    missing = [c for c in names if c not in col]
    if missing:
        raise KeypointError(
            f"{path}: missing column(s) {missing[:6]}{' ...' if len(missing) > 6 else ''} for layout "
            f"{layout.name!r} (expected <keypoint>_x, <keypoint>_y[, <keypoint>_z][, <keypoint>_confidence])"
        )
    conf_names = [f"{n}_confidence" for n in layout.names]
    has_conf = all(c in col for c in conf_names)
    wanted = names + (conf_names if has_conf else [])
    out = np.empty((len(rows) - 1, len(wanted)))
    for r, row in enumerate(rows[1:]):
        for k, c in enumerate(wanted):
            cell = row[col[c]].strip() if col[c] < len(row) else ""
            try:
                out[r, k] = float(cell) if cell else np.nan  # an empty cell is a missing detection
            except ValueError:
                raise KeypointError(f"{path}: frame {r} (line {r + 2}), column {c!r}: not a number: {cell!r}") from None
    T, K = out.shape[0], layout.num_keypoints
    data = out[:, : K * dims].reshape(T, K, dims)
    conf = out[:, K * dims :] if has_conf else None
    return data, conf


def _file_fps(value, path: Path) -> float:
    """A frame rate stored in a file: one number."""
    try:
        arr = np.asarray(value)
        if arr.size != 1 or arr.dtype.kind not in "iuf":
            raise TypeError
        return float(arr.reshape(()))
    except (TypeError, ValueError):
        raise KeypointError(f"{path}: 'fps' must be one number, got {value!r}") from None


_NO_PICKLE = "(an object array needs pickle, which is never used for data files: it can run arbitrary code)"


def _load_array_file(path: Path):
    try:
        return np.load(path, allow_pickle=False)
    except ValueError as e:
        raise KeypointError(f"{path}: cannot be read without pickle ({e}) {_NO_PICKLE}") from None
    except Exception as e:
        raise KeypointError(f"{path}: not a readable {path.suffix} file ({type(e).__name__}: {e})") from None


def _npz_key(f, key: str, path: Path) -> np.ndarray:
    try:
        return f[key]
    except ValueError:
        raise KeypointError(f"{path}: key {key!r} cannot be read without pickle {_NO_PICKLE}") from None


def _read_file(path: Path, layout: KeypointLayout) -> tuple[np.ndarray, np.ndarray | None, float | None]:
    ext = path.suffix.lower()
    if ext == ".npy":
        data = _load_array_file(path)
        if not isinstance(data, np.ndarray):
            raise KeypointError(f"{path}: expected one array in a .npy file")
        return data, None, None
    if ext == ".npz":
        f = _load_array_file(path)
        if not isinstance(f, np.lib.npyio.NpzFile):
            raise KeypointError(f"{path}: expected an .npz archive with a 'keypoints' array")
        with f:
            if "keypoints" not in f.files:
                raise KeypointError(f"{path}: missing key 'keypoints' (keys present: {sorted(f.files)})")
            data = _npz_key(f, "keypoints", path)
            conf = _npz_key(f, "confidence", path) if "confidence" in f.files else None
            fps = _file_fps(_npz_key(f, "fps", path), path) if "fps" in f.files else None
        return data, conf, fps
    if ext == ".csv":
        data, conf = _read_csv(path, layout)
        return data, conf, None
    if ext == ".json":
        try:
            obj = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as e:
            raise KeypointError(f"{path}: invalid JSON ({e})") from None
        if isinstance(obj, list):
            obj = {"keypoints": obj}
        if not isinstance(obj, dict) or "keypoints" not in obj:
            raise KeypointError(f"{path}: expected a JSON object with a 'keypoints' list (or a bare list of frames)")
        try:
            data = np.array(obj["keypoints"], dtype=np.float64)
            conf = None if obj.get("confidence") is None else np.array(obj["confidence"], dtype=np.float64)
        except (TypeError, ValueError) as e:
            raise KeypointError(f"{path}: 'keypoints' must be a rectangular (T, K, D) list of numbers ({e})") from None
        if "layout" in obj and obj["layout"] != layout.name:
            raise KeypointError(f"{path}: the file says layout {obj['layout']!r} but layout {layout.name!r} was asked for")
        return data, conf, (_file_fps(obj["fps"], path) if obj.get("fps") is not None else None)
    raise KeypointError(f"{path}: unsupported keypoint file type {ext!r} (use .npy, .npz, .csv or .json)")


def _fill_gaps(data: np.ndarray, missing: np.ndarray, layout: KeypointLayout, where: str) -> np.ndarray:
    """Linear interpolation in time over ``missing`` ``(T, K)`` points; ends hold the nearest value."""
    out = data.copy()
    t = np.arange(data.shape[0])
    for k in np.flatnonzero(missing.any(axis=0)):  # a loop over keypoints (tens), not frames
        ok = ~missing[:, k]
        if not ok.any():
            raise KeypointError(f"{where}: keypoint {layout.names[k]!r} is missing in every frame; cannot fill it")
        for d in range(data.shape[2]):
            out[~ok, k, d] = np.interp(t[~ok], t[ok], data[ok, k, d])
    return out


def load_keypoints(
    array_or_file: np.ndarray | str | os.PathLike,
    layout: str | KeypointLayout = "coco17",
    fps: float | None = None,
    confidence: np.ndarray | str | None = None,
    fill_missing: bool = False,
    min_confidence: float | None = None,
) -> Keypoints:
    """Load a keypoint track from an array or a file.

    Accepted inputs (``T`` frames, ``K`` keypoints of the layout, ``D`` = 2 or 3):

    * an array ``(T, K, D)``; with ``confidence="last"`` an array ``(T, K, D + 1)`` whose last
      column is the confidence (e.g. COCO/OpenPose ``x, y, score`` or MediaPipe
      ``x, y, z, visibility``);
    * ``.npy``: that array;
    * ``.npz``: key ``keypoints`` (the array), optional ``confidence`` ``(T, K)`` and ``fps``;
    * ``.csv``: a header row, then one row per frame with columns ``<name>_x``, ``<name>_y``,
      optionally ``<name>_z`` and ``<name>_confidence`` for every keypoint name of the layout
      (other columns such as ``frame`` or ``time`` are ignored; an empty cell is a missing point);
    * ``.json``: ``{"keypoints": [[[x, y], ...], ...], "confidence": [[...]], "fps": 30,
      "layout": "coco17"}`` (all but ``keypoints`` optional), or a bare ``(T, K, D)`` list.

    Args:
        layout: a registered layout name (``"coco17"``, ``"mediapipe33"``) or a
            :class:`KeypointLayout`.
        fps: frame rate; ``None`` takes the file's (``.npz``/``.json``) or 30.
        confidence: ``(T, K)`` confidences, ``"last"`` (see above), or ``None``.
        fill_missing: if true, NaN points (and points below ``min_confidence``) are filled by
            linear interpolation in time per keypoint, holding the nearest value at the ends;
            the result's ``labels["filled"]`` counts them. If false, a NaN raises.
        min_confidence: with ``fill_missing``, also treat points with lower confidence as missing.

    Raises:
        KeypointError: wrong dimensions, a keypoint count that does not match the layout (expected
            vs got, with the layout's name), a NaN point (naming frame and keypoint) without
            ``fill_missing``, unreadable files (naming file, frame and column), arrays that would
            need pickle (never used), a frame rate outside 0.1 .. 10000 fps.
    """
    lay = get_keypoint_layout(layout)
    labels: dict[str, Any] = {}
    file_fps = None
    if isinstance(array_or_file, (str, os.PathLike)):
        path = Path(array_or_file)
        if not path.is_file():
            raise KeypointError(f"keypoint file {path} does not exist")
        where = str(path)
        labels["source"] = where
        data, file_conf, file_fps = _read_file(path, lay)
        if confidence is None:
            confidence = file_conf
    else:
        where = "keypoint array"
        data = array_or_file
    data = np.asarray(data, dtype=np.float64)
    if isinstance(confidence, str):
        if confidence != "last":
            raise KeypointError(f"confidence must be an array, 'last' or None, got {confidence!r}")
        if data.ndim != 3 or data.shape[2] not in (3, 4):
            raise KeypointError(f"{where}: confidence='last' needs (T, K, 3) or (T, K, 4) data, got {data.shape}")
        data, confidence = data[..., :-1], data[..., -1]
    if data.ndim != 3 or data.shape[2] not in (2, 3):
        raise KeypointError(f"{where}: keypoints have shape {data.shape}; expected (T, K, 2) or (T, K, 3)")
    if data.shape[0] == 0:
        raise KeypointError(f"{where}: no frames")
    if data.shape[1] != lay.num_keypoints:
        raise KeypointError(f"{where}: layout {lay.name!r} expects {lay.num_keypoints} keypoints, got {data.shape[1]}")
    if confidence is not None:
        confidence = np.asarray(confidence, dtype=np.float64)
        if confidence.shape != data.shape[:2]:
            raise KeypointError(f"{where}: confidence has shape {confidence.shape}, expected {data.shape[:2]}")

    missing = ~np.all(np.isfinite(data), axis=2)
    if min_confidence is not None:
        if confidence is None:
            raise KeypointError(f"{where}: min_confidence needs confidences")
        missing |= ~(confidence >= min_confidence)
    if missing.any():
        if not fill_missing:
            frame, k = (int(i) for i in np.argwhere(missing)[0])
            raise KeypointError(
                f"{where}: keypoint {lay.names[k]!r} is missing (NaN or low confidence) at frame {frame} "
                f"({int(missing.sum())} missing points in all); pass fill_missing=True to interpolate them"
            )
        data = _fill_gaps(data, missing, lay, where)
        labels["filled"] = int(missing.sum())
    from_file = fps is None and file_fps is not None
    if fps is None:
        fps = file_fps if file_fps is not None else 30.0
    from ..resample import FPS_RANGE

    try:
        fps_value = float(fps)
    except (TypeError, ValueError):
        fps_value = None  # Keypoints raises its own error
    if fps_value is not None and math.isfinite(fps_value) and fps_value > 0:
        if not FPS_RANGE[0] <= fps_value <= FPS_RANGE[1]:
            origin = "the file's" if from_file else "the given"
            raise KeypointError(f"{where}: {origin} fps {fps_value:g} is outside the supported {FPS_RANGE[0]:g} .. {FPS_RANGE[1]:g} fps")
    return Keypoints(data, lay, fps, confidence, labels)


# ---------------------------------------------------------------------- 2D -> 3D (M5's mapping)
@dataclass
class PositionReference:
    """Per-axis statistics of a reference position set (e.g. the pretraining corpus).

    ``low``/``high``: ``(3,)`` values at ``percentiles`` on x, y, z; ``median``: ``(3,)``.
    """

    low: np.ndarray
    high: np.ndarray
    median: np.ndarray
    percentiles: tuple[float, float] = (10.0, 90.0)

    def __post_init__(self) -> None:
        self.low, self.high, self.median = (np.asarray(a, dtype=np.float64).reshape(3) for a in (self.low, self.high, self.median))
        self.percentiles = (float(self.percentiles[0]), float(self.percentiles[1]))


def _check_percentiles(percentiles) -> tuple[float, float]:
    lo, hi = (float(p) for p in percentiles)
    if not 0 <= lo < hi <= 100:
        raise KeypointError(f"percentiles must satisfy 0 <= low < high <= 100, got {percentiles}")
    return lo, hi


def reference_position_percentiles(
    positions: np.ndarray | Iterable[np.ndarray], percentiles: Sequence[float] = (10, 90)
) -> PositionReference:
    """Per-axis percentiles and median of 3D positions pooled over all frames and joints.

    Args:
        positions: an array ``(..., 3)`` or an iterable of them (e.g. ``motion.positions()`` for
            every clip of a corpus). Compute them on positions prepared the same way as the
            pretraining data (same up axis, same canonicalisation). All values are held in memory
            at once (float32): about 100 MB for 400K frames of 22 joints.
        percentiles: ``(low, high)``.
    """
    lo, hi = _check_percentiles(percentiles)
    if isinstance(positions, np.ndarray):
        positions = [positions]
    chunks = []
    for i, p in enumerate(positions):
        p = np.asarray(p)
        if p.shape[-1:] != (3,):
            raise KeypointError(f"reference positions #{i} have shape {p.shape}; expected (..., 3)")
        chunks.append(p.reshape(-1, 3).astype(np.float32))
    if not chunks:
        raise KeypointError("reference_position_percentiles got no positions")
    pooled = np.concatenate(chunks)
    pooled = pooled[np.all(np.isfinite(pooled), axis=1)]
    if pooled.size == 0:
        raise KeypointError("reference positions hold no finite values")
    q = np.percentile(pooled.astype(np.float64), [lo, hi, 50.0], axis=0)
    return PositionReference(q[0], q[1], q[2], (lo, hi))


def keypoints_to_positions(
    kp2d: Keypoints | np.ndarray,
    reference_positions: PositionReference | np.ndarray | Iterable[np.ndarray],
    axes: Sequence[str] = ("y", "z"),
    percentiles: Sequence[float] = (10, 90),
    flip_vertical: bool | None = None,
) -> np.ndarray:
    """Map 2D image keypoints into the 3D position frame of a reference dataset (M5's conversion).

    Image column ``u`` (rightwards) goes to world axis ``axes[0]`` and image row ``v`` to world
    axis ``axes[1]``; ``v`` is negated first when ``flip_vertical`` (image rows grow downwards,
    the world's vertical axis grows upwards). Each of the two is then scaled and shifted so that
    its ``percentiles`` (pooled over all frames and keypoints) land on the reference's
    ``percentiles`` of the target axis::

        out = ref_low + (value - value_low) * (ref_high - ref_low) / (value_high - value_low)

    The remaining (depth) axis is set to the reference's median. With the defaults this is M5's
    mapping for Z-up AMASS data; for Y-up data (e.g. Bandai-Namco BVH) use ``axes=("x", "y")``.

    Args:
        kp2d: a 2D :class:`Keypoints` or a ``(T, K, 2)`` array.
        reference_positions: a :class:`PositionReference` (from
            :func:`reference_position_percentiles`) or positions to compute it from.
        axes: ``(horizontal, vertical)`` target world axes, two different of ``"x"``, ``"y"``, ``"z"``.
        percentiles: ``(low, high)``; a :class:`PositionReference` must have been computed with
            the same ones.
        flip_vertical: negate image rows; ``None`` means true for arrays and for layouts whose
            ``up_axis`` is ``"-y"`` (image coordinates).

    Returns:
        ``(T, K, 3)`` positions in the reference's units (metres for hf_motion positions).
    """
    lo, hi = _check_percentiles(percentiles)
    names = None
    if isinstance(kp2d, Keypoints):
        if flip_vertical is None:
            flip_vertical = kp2d.layout.up_axis == "-y"
        data, names = kp2d.data, kp2d.layout.names
    else:
        data = np.asarray(kp2d, dtype=np.float64)
        if flip_vertical is None:
            flip_vertical = True
    if data.ndim != 3 or data.shape[2] != 2:
        raise KeypointError(
            f"keypoints_to_positions expects 2D keypoints (T, K, 2), got shape {data.shape}"
            + ("; 3D keypoints are already positions" if data.ndim == 3 and data.shape[2] == 3 else "")
        )
    if not np.all(np.isfinite(data)):
        frame, k = (int(i) for i in np.argwhere(~np.all(np.isfinite(data), axis=2))[0])
        name = repr(names[k]) if names is not None else str(k)
        raise KeypointError(f"keypoint {name} is not finite at frame {frame}; fill or drop missing points first")
    axes = tuple(str(a).lower() for a in axes)
    if len(axes) != 2 or not set(axes) <= set(_AXES) or axes[0] == axes[1]:
        raise KeypointError(f"axes must be two different of 'x', 'y', 'z', got {axes}")

    if isinstance(reference_positions, PositionReference):
        ref = reference_positions
        if not np.allclose(ref.percentiles, (lo, hi)):
            raise KeypointError(f"the reference was computed at percentiles {ref.percentiles}, but {(lo, hi)} were asked for")
    else:
        ref = reference_position_percentiles(reference_positions, (lo, hi))

    out = np.empty(data.shape[:2] + (3,))
    depth = ({0, 1, 2} - {_AXES[a] for a in axes}).pop()
    out[..., depth] = ref.median[depth]
    for src, axis in enumerate(axes):
        values = -data[..., src] if (src == 1 and flip_vertical) else data[..., src]
        v_lo, v_hi = np.percentile(values, [lo, hi])
        if not v_hi > v_lo:
            raise KeypointError(
                f"image {'uv'[src]} coordinates have no spread between percentiles {lo:g} and {hi:g} (both {v_lo:g}); cannot scale them"
            )
        t = _AXES[axis]
        out[..., t] = ref.low[t] + (values - v_lo) * (ref.high[t] - ref.low[t]) / (v_hi - v_lo)
    return out
