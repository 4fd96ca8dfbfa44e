"""Motion file readers by extension: ``load_motion(path)`` and ``register_motion_reader``.

BVH (``.bvh``) and AMASS/SMPL (``.npz``) are registered here; register more (``.c3d``, ...) with
:func:`register_motion_reader`. This is the readers layer: the processor and the dataset builder
both read clips through :func:`load_motion`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ..errors import MotionDatasetError
from ..motion import Motion

__all__ = ["MOTION_READERS", "MotionReader", "load_motion", "reader_kwargs_for", "register_motion_reader"]


MotionReader = Callable[..., Motion]
MOTION_READERS: dict[str, MotionReader] = {}


def register_motion_reader(extension: str, reader: MotionReader, exist_ok: bool = False) -> None:
    """Register ``reader(path, **kwargs) -> Motion`` for files ending in ``extension`` (e.g. ``".c3d"``).

    Readers must be module-level functions (they are sent to worker processes by name).
    """
    ext = extension.lower()
    if not ext.startswith("."):
        ext = "." + ext
    if ext in MOTION_READERS and not exist_ok:
        raise ValueError(f"a motion reader for {ext!r} is already registered (pass exist_ok=True to replace it)")
    MOTION_READERS[ext] = reader


def _read_bvh(path: str, **kwargs: Any) -> Motion:
    from .bvh import load_bvh

    return load_bvh(path, **kwargs)


def _read_amass(path: str, **kwargs: Any) -> Motion:
    # Imported lazily: smplx and the body model are only needed for AMASS files.
    from .amass import load_amass

    return load_amass(path, **kwargs)


register_motion_reader(".bvh", _read_bvh)
register_motion_reader(".npz", _read_amass)


def _extension_of(path: str | os.PathLike) -> str | None:
    """The registered extension ``path`` ends with (longest match), or None."""
    name = Path(path).name.lower()
    matches = [ext for ext in MOTION_READERS if name.endswith(ext)]
    return max(matches, key=len) if matches else None


def reader_kwargs_for(reader_kwargs: Mapping[str, Any] | None, extension: str) -> dict[str, Any]:
    """The reader options for ``extension``: ``reader_kwargs`` itself, or its ``extension`` entry
    when every key is an extension (``{".npz": {...}, ".bvh": {...}}``)."""
    kw = dict(reader_kwargs or {})
    if kw and all(str(k).startswith(".") for k in kw):
        return dict(kw.get(extension.lower(), {}))
    return kw


def load_motion(path: str | os.PathLike, **reader_kwargs: Any) -> Motion:
    """Read one motion file with the reader registered for its extension."""
    ext = _extension_of(path)
    if ext is None:
        raise MotionDatasetError(
            f"{path}: no motion reader for this file type; registered extensions: {sorted(MOTION_READERS)} "
            "(add one with hf_motion.datasets.register_motion_reader)"
        )
    return MOTION_READERS[ext](str(path), **reader_kwargs)
