"""Uniform per-dimension quantization (M5): ``k = floor((x - low) / delta)``, decoded to bin centres."""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["UniformQuantizer", "QuantizationRangeError", "DEFAULT_ANGLE_RANGE", "DEFAULT_POSITION_RANGE"]

DEFAULT_ANGLE_RANGE = (-np.pi, np.pi)
# Positions are canonicalised per window (root's horizontal start position subtracted), so a
# 4 m box on every axis holds a person walking or jumping for a few seconds.
DEFAULT_POSITION_RANGE = (-2.0, 2.0)


class QuantizationRangeError(ValueError):
    """Raised by a strict quantizer when values fall outside its range."""


@dataclass
class UniformQuantizer:
    """Uniform quantizer with one range per trailing dimension.

    Args:
        low, high: range per dimension; scalars or arrays broadcastable against the trailing
            dimensions of the data (e.g. shape ``(3,)`` for x/y/z, or ``(J, 3)`` per joint).
        n_bins: number of bins (2 .. 2**24).
        strict: if True, out-of-range values raise :class:`QuantizationRangeError`; otherwise they
            are clipped to the first/last bin with a warning that counts them.

    Decoding returns bin centres, so inside the range the reconstruction error is at most
    ``delta / 2`` where ``delta = (high - low) / n_bins``.
    """

    low: Any
    high: Any
    n_bins: int = 256
    strict: bool = False

    def __post_init__(self) -> None:
        for field in ("low", "high"):
            try:
                value = np.asarray(getattr(self, field))
                if value.dtype.kind not in "iuf":
                    raise TypeError(f"dtype {value.dtype}")
            except (TypeError, ValueError) as e:
                raise ValueError(f"{field} must be real numbers, got {getattr(self, field)!r} ({e})") from None
            setattr(self, field, value.astype(np.float64))
        if isinstance(self.n_bins, (bool, np.bool_)) or not isinstance(self.n_bins, (int, np.integer)):
            raise ValueError(f"n_bins must be an integer, got {self.n_bins!r}")
        if not isinstance(self.strict, (bool, np.bool_)):
            raise ValueError(f"strict must be True or False, got {self.strict!r}")
        self.n_bins, self.strict = int(self.n_bins), bool(self.strict)
        if not 2 <= self.n_bins <= 2**24:
            raise ValueError(f"n_bins must be in [2, 2**24], got {self.n_bins}")
        if self.low.shape != self.high.shape:
            raise ValueError(f"low {self.low.shape} and high {self.high.shape} must have the same shape")
        if not (np.all(np.isfinite(self.low)) and np.all(np.isfinite(self.high))):
            raise ValueError("quantizer range must be finite")
        if np.any(self.high <= self.low):
            raise ValueError(f"every high must exceed its low (low={self.low.tolist()}, high={self.high.tolist()})")
        self.delta = (self.high - self.low) / self.n_bins
        # float32 copies: encoding float32 data is the hot path.
        self._low32 = self.low.astype(np.float32)
        self._inv = 1.0 / self.delta
        self._inv32 = self._inv.astype(np.float32)

    # ----------------------------------------------------------------- coding
    def encode(self, x: np.ndarray, name: str = "values") -> np.ndarray:
        """Bin indices (``int32``, same shape as ``x``) of ``x``.

        Non-finite values always raise (naming the first bad index), as do complex and
        non-numeric arrays. Out-of-range values are clipped with a warning, or raise in strict mode.
        """
        x = np.asarray(x)
        if x.dtype.kind != "f":
            if x.dtype.kind not in "iu":
                raise ValueError(f"{name} must be real numbers, got dtype {x.dtype}")
            x = x.astype(np.float64)
        try:
            np.broadcast_shapes(x.shape, self.low.shape)
        except ValueError:
            raise ValueError(f"{name} of shape {x.shape} does not match the quantizer's range shape {self.low.shape}") from None
        # In-place arithmetic on one temporary: this is the tokenizer's hot path.
        if x.dtype == np.float32:
            k = np.subtract(x, self._low32)
            k *= self._inv32
        else:
            k = np.subtract(x, self.low, dtype=np.float64)
            k *= self._inv
        np.floor(k, out=k)
        # Fast check via reductions; NaN makes min/max NaN and fails both comparisons.
        if k.size and not (k.min() >= 0 and k.max() < self.n_bins):
            self._handle_out_of_range(x, name)
            np.clip(k, 0, self.n_bins - 1, out=k)
        return k.astype(np.int32)

    def _handle_out_of_range(self, x: np.ndarray, name: str) -> None:
        finite = np.isfinite(x)
        if not finite.all():
            idx = tuple(int(i) for i in np.argwhere(~finite)[0])
            raise ValueError(f"{name} contains a non-finite value {x[idx]} at index {idx}")
        # A value exactly at ``high`` lands one past the last bin: that is in range, not an error.
        bad = (x < self.low) | (x > self.high)
        n_bad = int(bad.sum())
        if n_bad == 0:
            return
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        msg = (
            f"{n_bad} of {x.size} {name} fall outside the quantizer range "
            f"[{self.low.min():g}, {self.high.max():g}] (first at index {idx}: {x[idx]:g})"
        )
        if self.strict:
            raise QuantizationRangeError(msg)
        warnings.warn(msg + "; clipped to the edge bins", stacklevel=3)

    def decode(self, k: np.ndarray, dtype=np.float64) -> np.ndarray:
        """Bin centres for indices ``k``; raises on indices outside ``[0, n_bins)``."""
        k = np.asarray(k)
        if k.size and (k.min() < 0 or k.max() >= self.n_bins):
            bad = tuple(int(i) for i in np.argwhere((k < 0) | (k >= self.n_bins))[0])
            raise ValueError(f"bin index {k[bad]} at {bad} is outside [0, {self.n_bins})")
        return (self.low + (k + 0.5) * self.delta).astype(dtype, copy=False)

    def round_trip(self, x: np.ndarray) -> np.ndarray:
        """``decode(encode(x))``: the "quantized oracle"."""
        return self.decode(self.encode(x))

    # ------------------------------------------------------------ construction
    @classmethod
    def fit(
        cls,
        data: np.ndarray | Iterable[np.ndarray],
        n_bins: int = 256,
        percentiles: tuple[float, float] = (0.5, 99.5),
        margin: float = 0.05,
        per: str = "dim",
        strict: bool = False,
    ) -> UniformQuantizer:
        """Fit ranges from data percentiles.

        Args:
            data: an array ``(..., D)`` (e.g. ``(T, J, 3)``) or an iterable of such arrays.
            percentiles: lower/upper percentile per dimension.
            margin: widen each range by this fraction of its width on both sides.
            per: ``"dim"`` -> one range per last-axis dimension (shape ``(D,)``);
                ``"joint"`` -> one range per joint and dimension (shape ``(J, D)``).
        """
        if isinstance(data, np.ndarray):
            arrays = [data]
        else:
            arrays = [np.asarray(a) for a in data]
        if not arrays:
            raise ValueError("cannot fit a quantizer to no data")
        keep = 1 if per == "dim" else 2 if per == "joint" else None
        if keep is None:
            raise ValueError(f"per must be 'dim' or 'joint', got {per!r}")
        flat = np.concatenate([a.reshape((-1,) + a.shape[-keep:]) for a in arrays], axis=0)
        if not np.all(np.isfinite(flat)):
            raise ValueError("cannot fit a quantizer: data contains NaN or inf")
        lo, hi = np.percentile(flat, percentiles, axis=0)
        width = np.maximum(hi - lo, 1e-6)
        return cls(lo - margin * width, hi + margin * width, n_bins, strict)

    @classmethod
    def default_angles(cls, n_bins: int = 256, strict: bool = False) -> UniformQuantizer:
        """Axis-angle components in [-pi, pi]."""
        return cls(np.full(3, DEFAULT_ANGLE_RANGE[0]), np.full(3, DEFAULT_ANGLE_RANGE[1]), n_bins, strict)

    @classmethod
    def default_positions(cls, n_bins: int = 256, strict: bool = False) -> UniformQuantizer:
        """Canonicalised positions in a [-2, 2] m box on every axis."""
        return cls(np.full(3, DEFAULT_POSITION_RANGE[0]), np.full(3, DEFAULT_POSITION_RANGE[1]), n_bins, strict)

    def to_dict(self) -> dict[str, Any]:
        return {"low": self.low.tolist(), "high": self.high.tolist(), "n_bins": self.n_bins, "strict": self.strict}

    @classmethod
    def from_dict(cls, d: dict[str, Any], name: str = "quantizer") -> UniformQuantizer:
        """The inverse of :meth:`to_dict`; bad or missing fields raise, naming ``name.field``."""
        if not isinstance(d, dict):
            raise ValueError(f"{name} must be a dict with low, high, n_bins, got {type(d).__name__}")
        missing = [k for k in ("low", "high", "n_bins") if k not in d]
        if missing:
            raise ValueError(f"{name} lacks {missing} (it needs low, high and n_bins)")
        unknown = sorted(set(d) - {"low", "high", "n_bins", "strict"})
        if unknown:
            raise ValueError(f"{name} has unknown fields {unknown}")
        try:
            return cls(d["low"], d["high"], d["n_bins"], d.get("strict", False))
        except ValueError as e:
            raise ValueError(f"{name}: {e}") from None

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, UniformQuantizer)
            and self.n_bins == other.n_bins
            and self.strict == other.strict
            and np.array_equal(self.low, other.low)
            and np.array_equal(self.high, other.high)
        )
