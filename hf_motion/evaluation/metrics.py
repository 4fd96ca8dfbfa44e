"""Evaluation metrics (numpy): motion prediction (M5 appendix C, after Aksan et al.) and plain
classification/regression metrics for fine-tuning.

Motion-prediction metrics take arrays shaped ``(..., J, 3)`` (any leading shape, typically
``(sequences, frames)``) and return one value per leading index, shape ``(...)``, so that
:func:`at_horizons` can pick the frames at 100/200/300/400 ms and average over sequences.

Units: angles in radians (axis-angle inputs), positions in metres, so ``positional_mse`` is in m²,
``euler_rmse`` and ``joint_angle_error`` in radians, ``pck_auc`` is a share in [0, 1].

The classification/regression functions call scikit-learn (offline, unlike ``evaluate.load``) and
only add what it lacks: inputs are checked and named (1-D, equal length, non-empty), ROC AUC
refuses non-binary labels and a single class with a message, and non-finite scores or
regression values give NaN (an undefined metric that :func:`hf_motion.cv.summarize_folds` drops)
rather than scikit-learn's error.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from sklearn.metrics import accuracy_score, f1_score, mean_squared_error, roc_auc_score

from ..rotations import axis_angle_to_euler, geodesic_angle

__all__ = [
    "euler_rmse",
    "joint_angle_error",
    "positional_mse",
    "pck",
    "pck_auc",
    "DEFAULT_PCK_THRESHOLDS",
    "at_horizons",
    "bits_per_frame",
    "accuracy",
    "macro_f1",
    "roc_auc",
    "rmse",
]

# 20 radii from 1 cm to 20 cm: a hand-sized sphere at the small end, a body part at the large end.
DEFAULT_PCK_THRESHOLDS = np.linspace(0.01, 0.20, 20)


def _pair(pred: np.ndarray, true: np.ndarray, what: str) -> tuple[np.ndarray, np.ndarray]:
    pred = np.asarray(pred, dtype=np.float64)
    true = np.asarray(true, dtype=np.float64)
    if pred.shape != true.shape:
        raise ValueError(f"{what}: prediction has shape {pred.shape} but the truth has shape {true.shape}")
    if pred.ndim < 2 or pred.shape[-1] != 3:
        raise ValueError(f"{what}: expected arrays shaped (..., J, 3), got {pred.shape}")
    for name, arr in (("prediction", pred), ("truth", true)):
        if not np.all(np.isfinite(arr)):
            idx = tuple(int(i) for i in np.argwhere(~np.isfinite(arr))[0])
            raise ValueError(f"{what}: the {name} has a non-finite value {arr[idx]} at index {idx}")
    return pred, true


def _wrap(angle: np.ndarray) -> np.ndarray:
    """Angles wrapped to [-pi, pi)."""
    return (angle + np.pi) % (2 * np.pi) - np.pi


def euler_rmse(pred_aa: np.ndarray, true_aa: np.ndarray, order: str = "ZXY") -> np.ndarray:
    """Euler-angle RMSE (radians) per leading index.

    Both axis-angle inputs ``(..., J, 3)`` are converted to Euler angles in ``order`` (upper case =
    intrinsic, the BVH convention); each difference is wrapped to [-pi, pi) so that 179° vs -179°
    counts as 2°, then ``sqrt(mean over joints and the 3 angles of diff²)``.
    """
    pred, true = _pair(pred_aa, true_aa, "euler_rmse")
    diff = _wrap(axis_angle_to_euler(pred, order) - axis_angle_to_euler(true, order))
    return np.sqrt(np.mean(diff**2, axis=(-2, -1)))


def joint_angle_error(pred_aa: np.ndarray, true_aa: np.ndarray, joint_reduction: str = "mean") -> np.ndarray:
    """Geodesic joint-angle error (radians): the angle of the rotation taking the truth to the
    prediction, per joint, then averaged (``joint_reduction="mean"``) or summed (``"sum"``, as in
    Aksan et al.) over joints.
    """
    pred, true = _pair(pred_aa, true_aa, "joint_angle_error")
    angle = geodesic_angle(pred, true)  # (..., J)
    if joint_reduction == "mean":
        return angle.mean(axis=-1)
    if joint_reduction == "sum":
        return angle.sum(axis=-1)
    raise ValueError(f"joint_reduction must be 'mean' or 'sum', got {joint_reduction!r}")


def positional_mse(pred_pos: np.ndarray, true_pos: np.ndarray) -> np.ndarray:
    """Mean over joints of the squared Euclidean distance between predicted and true positions (m²)."""
    pred, true = _pair(pred_pos, true_pos, "positional_mse")
    return np.sum((pred - true) ** 2, axis=-1).mean(axis=-1)


def _thresholds(thresholds: Sequence[float] | np.ndarray | float) -> np.ndarray:
    th = np.atleast_1d(np.asarray(thresholds, dtype=np.float64))
    if th.ndim != 1 or th.size == 0:
        raise ValueError(f"thresholds must be a non-empty 1-D list of radii in metres, got shape {th.shape}")
    if not np.all(np.isfinite(th)) or np.any(th < 0):
        raise ValueError(f"thresholds must be finite and >= 0 (metres), got {th.tolist()}")
    return th


def pck(pred_pos: np.ndarray, true_pos: np.ndarray, threshold: float) -> np.ndarray:
    """Percentage of correct keypoints: share of joints within ``threshold`` metres (inclusive) of the truth."""
    pred, true = _pair(pred_pos, true_pos, "pck")
    th = _thresholds(threshold)
    if th.size != 1:
        raise ValueError("pck takes one threshold; use pck_auc for several")
    return (np.linalg.norm(pred - true, axis=-1) <= th[0]).mean(axis=-1)


def pck_auc(
    pred_pos: np.ndarray,
    true_pos: np.ndarray,
    thresholds: Sequence[float] | np.ndarray = DEFAULT_PCK_THRESHOLDS,
) -> np.ndarray:
    """Area under the PCK curve: :func:`pck` averaged over ``thresholds`` (metres), in [0, 1].

    A perfect prediction gives 1 for any thresholds.
    """
    pred, true = _pair(pred_pos, true_pos, "pck_auc")
    th = _thresholds(thresholds)
    dist = np.linalg.norm(pred - true, axis=-1)  # (..., J)
    return (dist[..., None] <= th).mean(axis=(-2, -1))


def at_horizons(values: np.ndarray, fps: float, horizons_ms: Sequence[float] = (100, 200, 300, 400)) -> dict[int, float]:
    """Mean of a per-frame metric at prediction horizons.

    Args:
        values: ``(frames,)`` or ``(sequences, frames)``: a metric for predicted frames 1, 2, ...
            (index 0 is the first predicted frame, ``1 / fps`` seconds after the context).
        fps: frames per second of the prediction.
        horizons_ms: horizons in milliseconds; the frame at ``h`` ms is number ``round(h * fps / 1000)``.

    Returns:
        ``{horizon_ms: mean over sequences of the metric at that frame}``.
    """
    v = np.asarray(values, dtype=np.float64)
    if v.ndim == 1:
        v = v[None]
    if v.ndim != 2:
        raise ValueError(f"values must be (frames,) or (sequences, frames), got shape {v.shape}")
    if not (np.isfinite(fps) and fps > 0):
        raise ValueError(f"fps must be positive, got {fps}")
    out = {}
    for h in horizons_ms:
        k = int(round(h * fps / 1000.0))
        if k < 1:
            raise ValueError(f"horizon {h} ms is shorter than one frame at {fps:g} fps")
        if k > v.shape[1]:
            raise ValueError(f"horizon {h} ms needs {k} predicted frames at {fps:g} fps, got {v.shape[1]}")
        out[int(h) if float(h).is_integer() else h] = float(v[:, k - 1].mean())
    return out


def bits_per_frame(mean_token_nll_nats: float, tokens_per_frame: float) -> float:
    """Cross-entropy in bits per frame: mean token negative log-likelihood (nats, e.g. the HF loss)
    times tokens per frame (separator included), divided by ln 2."""
    if tokens_per_frame <= 0:
        raise ValueError(f"tokens_per_frame must be positive, got {tokens_per_frame}")
    return float(mean_token_nll_nats) * float(tokens_per_frame) / math.log(2.0)


# ------------------------------------------------------------------ classification
def _labels_pair(y_true, y_pred, what: str) -> tuple[np.ndarray, np.ndarray]:
    y_true = np.asarray(y_true)
    y_pred = np.asarray(y_pred)
    if y_true.ndim != 1 or y_true.shape != y_pred.shape:
        raise ValueError(f"{what}: y_true and y_pred must be 1-D of equal length, got {y_true.shape} and {y_pred.shape}")
    if y_true.size == 0:
        raise ValueError(f"{what}: no samples")
    return y_true, y_pred


def accuracy(y_true, y_pred) -> float:
    """Share of exact matches."""
    y_true, y_pred = _labels_pair(y_true, y_pred, "accuracy")
    return float(accuracy_score(y_true, y_pred))


def macro_f1(y_true, y_pred, labels: Sequence | None = None) -> float:
    """F1 averaged over classes (``labels``, default: every class in ``y_true`` or ``y_pred``).

    A class with no true and no predicted samples scores 0 (scikit-learn's ``zero_division=0``).
    """
    y_true, y_pred = _labels_pair(y_true, y_pred, "macro_f1")
    labels = None if labels is None else list(labels)
    return float(f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0))


def roc_auc(y_true, scores) -> float:
    """Binary ROC AUC: the probability that a random positive scores above a random negative
    (ties count one half). ``y_true`` holds 0/1 (or booleans); NaN if a score is not finite."""
    y_true, scores = _labels_pair(y_true, scores, "roc_auc")
    y = np.asarray(y_true)
    if not np.all(np.isin(y, [0, 1])):
        raise ValueError(f"roc_auc: y_true must be binary 0/1, got values {np.unique(y).tolist()}")
    y = y.astype(bool)
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        # scikit-learn only warns and returns NaN here; an AUC of one class is a caller's mistake.
        raise ValueError(f"roc_auc is undefined with only one class present ({n_pos} positives, {n_neg} negatives)")
    s = np.asarray(scores, dtype=np.float64)
    if not np.all(np.isfinite(s)):
        return float("nan")
    return float(roc_auc_score(y, s))


def rmse(y_true, y_pred) -> float:
    """Root mean squared error; NaN if a value is not finite (e.g. a diverged model's predictions)."""
    y_true, y_pred = _labels_pair(y_true, y_pred, "rmse")
    y_true, y_pred = np.asarray(y_true, np.float64), np.asarray(y_pred, np.float64)
    if not (np.all(np.isfinite(y_true)) and np.all(np.isfinite(y_pred))):
        return float("nan")
    return math.sqrt(mean_squared_error(y_true, y_pred))
