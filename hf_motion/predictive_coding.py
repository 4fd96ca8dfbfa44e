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
independent of the tokenizer's alphabets.
"""

from __future__ import annotations

import numpy as np

__all__ = ["keyframe_mask", "delta_encode", "delta_decode"]


def _check_params(max_step: int, keyframe_interval: int | None) -> None:
    if isinstance(max_step, bool) or not isinstance(max_step, (int, np.integer)) or max_step < 1:
        raise ValueError(f"max_step must be an integer >= 1, got {max_step!r}")
    if keyframe_interval is not None and (
        isinstance(keyframe_interval, bool)
        or not isinstance(keyframe_interval, (int, np.integer))
        or keyframe_interval < 1
    ):
        raise ValueError(f"keyframe_interval must be None or an integer >= 1, got {keyframe_interval!r}")


def keyframe_mask(n_frames: int, keyframe_interval: int | None) -> np.ndarray:
    """``(n_frames,)`` bool: which frames are keyframes (frame 0 always; then every ``keyframe_interval``)."""
    mask = np.zeros(int(n_frames), dtype=bool)
    if n_frames:
        if keyframe_interval is None:
            mask[0] = True
        else:
            mask[:: int(keyframe_interval)] = True
    return mask


def delta_encode(
    levels: np.ndarray, max_step: int, keyframe_interval: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Predictive coding of ``levels`` ``(T, ...)``.

    Returns:
        ``(symbols, decoded)``: ``symbols`` has the shape of ``levels``; keyframe rows hold the
        absolute level, other rows ``delta + max_step`` in ``[0, 2 * max_step]``. ``decoded`` is what
        :func:`delta_decode` reconstructs from ``symbols`` (equal to ``levels`` wherever no change
        exceeded ``max_step``).
    """
    _check_params(max_step, keyframe_interval)
    levels = np.asarray(levels)
    if levels.ndim < 1 or not np.issubdtype(levels.dtype, np.integer):
        raise ValueError(f"levels must be an integer array (T, ...), got dtype {levels.dtype} shape {levels.shape}")
    levels = levels.astype(np.int64, copy=False)
    symbols = np.empty_like(levels)
    decoded = np.empty_like(levels)
    keys = keyframe_mask(levels.shape[0], keyframe_interval)
    prev = None
    for t in range(levels.shape[0]):
        if keys[t]:
            symbols[t] = levels[t]
            decoded[t] = levels[t]
        else:
            step = np.clip(levels[t] - prev, -max_step, max_step)
            symbols[t] = step + max_step
            decoded[t] = prev + step
        prev = decoded[t]
    return symbols, decoded


def delta_decode(symbols: np.ndarray, max_step: int, keyframe_interval: int | None = None) -> np.ndarray:
    """Levels from :func:`delta_encode`'s symbols (a continuation is decoded with its prompt in front)."""
    _check_params(max_step, keyframe_interval)
    symbols = np.asarray(symbols)
    if symbols.ndim < 1 or not np.issubdtype(symbols.dtype, np.integer):
        raise ValueError(f"symbols must be an integer array (T, ...), got dtype {symbols.dtype} shape {symbols.shape}")
    symbols = symbols.astype(np.int64, copy=False)
    keys = keyframe_mask(symbols.shape[0], keyframe_interval)
    bad = ~keys[:, None] & ((symbols.reshape(len(symbols), -1) < 0) | (symbols.reshape(len(symbols), -1) > 2 * max_step))
    if bad.any():
        t, c = np.argwhere(bad)[0]
        raise ValueError(f"delta symbol {symbols.reshape(len(symbols), -1)[t, c]} at frame {t}, value {c} "
                         f"is outside [0, {2 * max_step}]")  # fmt: skip
    out = np.cumsum(np.where(keys.reshape((-1,) + (1,) * (symbols.ndim - 1)), 0, symbols - max_step), axis=0)
    # Each keyframe resets the running sum: add the keyframe's level minus the sum reached there.
    base = np.zeros_like(symbols)
    key_idx = np.flatnonzero(keys)
    for i, k in enumerate(key_idx):
        end = key_idx[i + 1] if i + 1 < len(key_idx) else len(symbols)
        base[k:end] = symbols[k] - out[k]
    return out + base
