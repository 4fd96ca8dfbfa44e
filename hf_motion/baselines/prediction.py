"""Motion-prediction baselines that need no training, measured beside a model in the same run
(:func:`hf_motion.prediction_benchmark.evaluate_prediction`).

All work on local joint rotations as axis-angle arrays shaped like the benchmark's windows:

* :func:`zero_velocity`: repeat the last context frame;
* :func:`constant_velocity`: continue each joint's rotation between the last two context frames
  along its geodesic in SO(3) (not a linear step in axis-angle, which is wrong near pi);
* :func:`quantized_oracle`: the *true* future encoded and decoded by the tokenizer: the error
  floor of the token representation, no prediction at all.

The trained continuous baselines (ridge regression, siMLPe) are in :mod:`hf_motion.baselines.continuous`.
"""

from __future__ import annotations

import warnings

import numpy as np

__all__ = ["zero_velocity", "constant_velocity", "quantized_oracle"]


def zero_velocity(past: np.ndarray, n_future: int) -> np.ndarray:
    """Repeat the last frame: ``(N, P, J, 3)`` -> ``(N, H, J, 3)`` with ``H = n_future``."""
    return np.repeat(past[:, -1:], n_future, axis=1)


def constant_velocity(past: np.ndarray, n_future: int) -> np.ndarray:
    """Per joint, continue the rotation from the second-last to the last frame along its SO(3)
    geodesic: ``R_{t+k} = R_t exp(k log(R_{t-1}^T R_t))``; ``(N, P >= 2, J, 3)`` -> ``(N, H, J, 3)``."""
    from scipy.spatial.transform import Rotation

    N, _, J, _ = past.shape
    prev = Rotation.from_rotvec(past[:, -2].reshape(-1, 3))
    last = Rotation.from_rotvec(past[:, -1].reshape(-1, 3))
    step = (prev.inv() * last).as_rotvec()
    out = np.empty((N, n_future, J, 3))
    for k in range(1, n_future + 1):
        out[:, k - 1] = (last * Rotation.from_rotvec(k * step)).as_rotvec().reshape(N, J, 3)
    return out


def quantized_oracle(tokenizer, future: np.ndarray) -> np.ndarray:
    """The true future ``(N, H, J, 3)`` through ``tokenizer`` (a :class:`~hf_motion.MotionTokenizer`,
    causal angle text) and back: the representation's error floor."""
    N, H, J, _ = future.shape
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # edge values clipped to the edge bins are fine here
        ids = tokenizer.encode_motion(angles=future.reshape(N * H, J, 3), task=">")
    return tokenizer.decode_motion(ids).angles.reshape(N, H, J, 3)
