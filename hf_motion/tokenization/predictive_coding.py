"""Closed-loop predictive (delta) coding of quantized motion levels.

After a keyframe, each frame is written as the change from the previously *decoded* frame, in
quantizer levels, clipped to ``[-max_step, max_step]``. Because the encoder tracks what the decoder
will reconstruct, errors never accumulate: whenever a change fits in ``max_step`` levels the decoded
level equals the quantized level exactly (so the error stays within half a bin), and a change that
does not fit is caught up over the next frames instead of drifting. Keyframes (absolute levels)
come every ``keyframe_interval`` frames, so decoding can start at any keyframe.

Under this coding "no change" is the single symbol ``max_step`` (a delta of 0): repeating the last
frame, the zero-velocity baseline, is the easiest thing for a language model to say.

The functions work on integer level arrays ``(T, ...)`` (frames first, any trailing shape) and are
independent of the tokenizer's alphabets. ``sequence_length`` (optional) says that the ``T`` frames
are several sequences of that many frames back to back: each restarts with a keyframe, so the
sequences are coded independently (as if each were coded alone).
"""

from __future__ import annotations

import numpy as np

__all__ = ["delta_decode", "delta_encode", "first_out_of_range", "keyframe_mask"]


def _check_int(name: str, value, allow_none: bool) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < 1:
        what = "None or an integer >= 1" if allow_none else "an integer >= 1"
        raise ValueError(f"{name} must be {what}, got {value!r}")


def _check_params(max_step: int, keyframe_interval: int | None, sequence_length: int | None = None) -> None:
    _check_int("max_step", max_step, allow_none=False)
    _check_int("keyframe_interval", keyframe_interval, allow_none=True)
    _check_int("sequence_length", sequence_length, allow_none=True)


def keyframe_mask(n_frames: int, keyframe_interval: int | None, sequence_length: int | None = None) -> np.ndarray:
    """``(n_frames,)`` bool: which frames are keyframes.

    Frame ``t`` (counted from the start of its sequence: ``t % sequence_length`` when
    ``sequence_length`` is given) is a keyframe iff it is ``0 (mod keyframe_interval)``; with
    ``keyframe_interval=None`` only each sequence's first frame is.
    """
    _check_int("keyframe_interval", keyframe_interval, allow_none=True)
    _check_int("sequence_length", sequence_length, allow_none=True)
    t = np.arange(int(n_frames))
    if sequence_length is not None:
        t = t % int(sequence_length)
    return t == 0 if keyframe_interval is None else t % int(keyframe_interval) == 0


def _as_levels(x: np.ndarray, what: str) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim < 1 or not np.issubdtype(x.dtype, np.integer):
        raise ValueError(f"{what} must be an integer array (T, ...), got dtype {x.dtype} shape {x.shape}")
    return x.astype(np.int64, copy=False)


def delta_encode(
    levels: np.ndarray, max_step: int, keyframe_interval: int | None = None, *, sequence_length: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Predictive coding of ``levels`` ``(T, ...)``.

    Returns:
        ``(symbols, decoded)``: ``symbols`` has the shape of ``levels``; keyframe rows hold the
        absolute level, other rows ``delta + max_step`` in ``[0, 2 * max_step]``. ``decoded`` is what
        :func:`delta_decode` reconstructs from ``symbols`` (equal to ``levels`` wherever no change
        exceeded ``max_step``; every decoded value lies between two levels, so within their range).
    """
    _check_params(max_step, keyframe_interval, sequence_length)
    levels = _as_levels(levels, "levels")
    T = levels.shape[0]
    keys = keyframe_mask(T, keyframe_interval, sequence_length)
    keys_b = keys.reshape((-1,) + (1,) * (levels.ndim - 1))
    # Open loop first (vectorised): exact up to the first change that does not fit in max_step.
    diff = np.zeros_like(levels)
    diff[1:] = levels[1:] - levels[:-1]
    symbols = np.where(keys_b, levels, diff + max_step)
    decoded = levels.copy()
    too_big = ~keys & (np.abs(diff).reshape(T, -1) > max_step).any(axis=1)
    if not too_big.any():
        return symbols, decoded
    # Closed loop from the first saturated frame on.
    prev = None
    for t in range(int(np.flatnonzero(too_big)[0]), T):
        if keys[t]:
            symbols[t] = decoded[t] = levels[t]
        else:
            prev = decoded[t - 1]
            step = np.clip(levels[t] - prev, -max_step, max_step)
            symbols[t] = step + max_step
            decoded[t] = prev + step
    return symbols, decoded


def _check_symbols(symbols: np.ndarray, keys: np.ndarray, max_step: int) -> None:
    flat = symbols.reshape(len(symbols), -1)
    bad = ~keys[:, None] & ((flat < 0) | (flat > 2 * max_step))
    if bad.any():
        t, c = np.argwhere(bad)[0]
        raise ValueError(f"delta symbol {flat[t, c]} at frame {t}, value {c} is outside [0, {2 * max_step}]")


def _open_loop_decode(symbols: np.ndarray, keys: np.ndarray, max_step: int) -> np.ndarray:
    keys_b = keys.reshape((-1,) + (1,) * (symbols.ndim - 1))
    out = np.cumsum(np.where(keys_b, 0, symbols - max_step), axis=0)
    # Each keyframe resets the running sum: add the keyframe's level minus the sum reached there.
    key_idx = np.flatnonzero(keys)
    seg = np.cumsum(keys) - 1  # index of each frame's keyframe
    return out + (symbols[key_idx] - out[key_idx])[seg]


def delta_decode(
    symbols: np.ndarray,
    max_step: int,
    keyframe_interval: int | None = None,
    *,
    sequence_length: int | None = None,
    n_levels: int | None = None,
) -> np.ndarray:
    """Levels from :func:`delta_encode`'s symbols (a continuation is decoded with its prompt in front).

    With ``n_levels``, decoding saturates: a delta that would leave ``[0, n_levels)`` stops at its
    edge (symbols made by :func:`delta_encode` from levels in that range never do, so for them
    this changes nothing). Without it, the running sum is returned as is (see
    :func:`first_out_of_range` to find where it leaves a range).
    """
    _check_params(max_step, keyframe_interval, sequence_length)
    _check_int("n_levels", n_levels, allow_none=True)
    symbols = _as_levels(symbols, "symbols")
    keys = keyframe_mask(symbols.shape[0], keyframe_interval, sequence_length)
    _check_symbols(symbols, keys, max_step)
    out = _open_loop_decode(symbols, keys, max_step)
    if n_levels is None or not out.size or (out.min() >= 0 and out.max() < n_levels):
        return out
    # Saturating decode from the first frame that leaves the range (everything before is exact).
    flat = out.reshape(len(out), -1)
    t0 = int(np.flatnonzero(((flat < 0) | (flat >= n_levels)).any(axis=1))[0])
    for t in range(t0, len(out)):
        if keys[t]:
            out[t] = np.clip(symbols[t], 0, n_levels - 1)
        else:
            out[t] = np.clip(out[t - 1] + symbols[t] - max_step, 0, n_levels - 1)
    return out


def first_out_of_range(levels: np.ndarray, n_levels: int) -> tuple[int, int] | None:
    """``(frame, flat value index)`` of the first level outside ``[0, n_levels)`` (frame-major), or None.

    On :func:`delta_decode`'s output without ``n_levels`` this is where decoding would first saturate.
    """
    flat = np.asarray(levels).reshape(len(levels), -1)
    bad = (flat < 0) | (flat >= n_levels)
    if not bad.any():
        return None
    t, c = np.argwhere(bad)[0]
    return int(t), int(c)
