"""BVH reading and writing for any skeleton.

* any channel order, 3- or 6-channel joints (or any subset of the six channels), End Sites;
* rotation channels are intrinsic Euler angles in degrees, applied in the listed order;
* position channels on a joint *are* its local translation (they replace its OFFSET), so a
  file whose joints all carry position channels (Bandai-Namco) is reproduced exactly by FK;
* lengths are multiplied by ``scale`` (default 0.01: centimetres -> metres).

The motion block is parsed with one vectorised call; only when that fails is the file re-read
line by line, to name the offending line and frame.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .fileio import atomic_write_text
from .motion import Motion, Skeleton
from .rotations import axis_angle_to_euler, euler_to_axis_angle

__all__ = ["load_bvh", "save_bvh", "BVHError"]

_POS = {"Xposition": 0, "Yposition": 1, "Zposition": 2}
_ROT = {"Xrotation": "X", "Yrotation": "Y", "Zrotation": "Z"}


class BVHError(ValueError):
    """A malformed BVH file; the message names the file and line (and frame where relevant)."""


@dataclass
class _Joint:
    name: str
    parent: int
    offset: list[float]
    channels: list[str]
    end_site: list[float] | None = None
    channels_line: int | None = None  # 0-based line of its CHANNELS, to catch a second one


def _parse_hierarchy(lines: list[str], path: str) -> tuple[list[_Joint], int]:
    """Parse up to the ``MOTION`` line; returns joints and the index of the line after ``MOTION``."""

    def err(i: int, msg: str) -> BVHError:
        return BVHError(f"{path}, line {i + 1}: {msg}")

    joints: list[_Joint] = []
    stack: list[int] = []  # joint index per open brace; -2 marks an End Site
    pending: tuple[str, int] | None = None  # (kind, line) of a JOINT/End Site waiting for "{"
    i = 0
    seen_hierarchy = False
    while i < len(lines):
        parts = lines[i].split()
        i += 1
        if not parts:
            continue
        kw = parts[0]
        if kw == "HIERARCHY":
            seen_hierarchy = True
        elif kw in ("ROOT", "JOINT"):
            if len(parts) < 2:
                raise err(i - 1, f"{kw} without a joint name")
            if kw == "ROOT" and joints:
                raise err(i - 1, "more than one ROOT is not supported")
            if kw == "JOINT" and not stack:
                raise err(i - 1, "JOINT outside of a ROOT block")
            parent = stack[-1] if stack else -1
            if parent == -2:
                raise err(i - 1, "JOINT inside an End Site")
            joints.append(_Joint(" ".join(parts[1:]), parent, [0.0, 0.0, 0.0], []))
            pending = ("joint", i - 1)
        elif kw == "End":
            if not stack or stack[-1] < 0:
                raise err(i - 1, "End Site outside of a joint")
            pending = ("end", i - 1)
        elif kw == "{":
            if pending is None:
                raise err(i - 1, "unexpected '{'")
            stack.append(len(joints) - 1 if pending[0] == "joint" else -2)
            pending = None
        elif kw == "}":
            if not stack:
                raise err(i - 1, "unbalanced '}'")
            stack.pop()
        elif kw == "OFFSET":
            if len(parts) != 4:
                raise err(i - 1, f"OFFSET needs 3 numbers, got {len(parts) - 1}")
            try:
                off = [float(v) for v in parts[1:]]
            except ValueError:
                raise err(i - 1, f"non-numeric OFFSET {parts[1:]}") from None
            if not np.all(np.isfinite(off)):
                raise err(i - 1, f"non-finite OFFSET {parts[1:]}")
            if stack and stack[-1] == -2:
                joints[-1].end_site = off
            elif stack:
                joints[stack[-1]].offset = off
            else:
                raise err(i - 1, "OFFSET outside of a joint")
        elif kw == "CHANNELS":
            if not stack or stack[-1] < 0:
                raise err(i - 1, "CHANNELS outside of a joint")
            try:
                n = int(parts[1])
            except (IndexError, ValueError):
                raise err(i - 1, "CHANNELS needs a count") from None
            names = parts[2:]
            if len(names) != n:
                raise err(
                    i - 1,
                    f"joint {joints[stack[-1]].name!r} declares {n} channels but lists {len(names)}: {names}",
                )
            bad = [c for c in names if c not in _POS and c not in _ROT]
            if bad:
                raise err(i - 1, f"joint {joints[stack[-1]].name!r} has unknown channels {bad}")
            if len(set(names)) != len(names):
                raise err(i - 1, f"joint {joints[stack[-1]].name!r} repeats a channel: {names}")
            if joints[stack[-1]].channels_line is not None:
                raise err(
                    i - 1,
                    f"joint {joints[stack[-1]].name!r} already has CHANNELS (line "
                    f"{joints[stack[-1]].channels_line + 1}); a '}}' may be missing or misplaced",
                )
            joints[stack[-1]].channels_line = i - 1
            joints[stack[-1]].channels = names
        elif kw in ("Frames:", "Frame"):
            raise err(i - 1, f"{kw!r} before any MOTION line (the MOTION keyword is missing)")
        elif kw == "MOTION":
            if stack:
                raise err(i - 1, f"MOTION reached with {len(stack)} unclosed '{{'")
            if not joints:
                raise err(i - 1, "no joints before MOTION")
            return joints, i
        else:
            raise err(i - 1, f"unexpected keyword {kw!r}")
    if not seen_hierarchy:
        raise BVHError(f"{path}: not a BVH file (no HIERARCHY)")
    raise BVHError(f"{path}: no MOTION section (file truncated?)")


def _header_value(lines: list[str], i: int, key: str, path: str) -> tuple[str, int]:
    while i < len(lines) and not lines[i].strip():
        i += 1
    # Case-insensitive: some exporters write "Frame time:".
    if i >= len(lines) or not lines[i].strip().lower().startswith(key.lower()):
        raise BVHError(f"{path}, line {i + 1}: expected '{key}'")
    return lines[i].strip()[len(key):].strip(), i + 1


def _diagnose_rows(lines: list[str], start: int, n_frames: int, n_ch: int, path: str) -> None:
    """Slow path: find the first bad motion row and raise a precise error."""
    frame = 0
    for li in range(start, len(lines)):
        parts = lines[li].split()
        if not parts:
            continue
        if frame >= n_frames:
            raise BVHError(f"{path}, line {li + 1}: more motion rows than the {n_frames} frames in the header")
        if len(parts) != n_ch:
            raise BVHError(
                f"{path}, line {li + 1} (frame {frame}): {len(parts)} values, but the hierarchy declares "
                f"{n_ch} channels"
            )
        for v in parts:
            try:
                x = float(v)
            except ValueError:
                raise BVHError(f"{path}, line {li + 1} (frame {frame}): non-numeric value {v!r}") from None
            if not np.isfinite(x):
                raise BVHError(f"{path}, line {li + 1} (frame {frame}): non-finite value {v!r}")
        frame += 1
    if frame < n_frames:
        raise BVHError(
            f"{path}, line {len(lines)}: the file ends after {frame} motion rows, but the header says "
            f"{n_frames} frames (truncated?)"
        )


def load_bvh(path: str | os.PathLike, scale: float = 0.01, labels: dict | None = None) -> Motion:
    """Read a BVH file into a :class:`~hf_motion.Motion`.

    Args:
        path: the ``.bvh`` file.
        scale: multiplies every length in the file; the default ``0.01`` converts centimetres to
            metres (use ``1.0`` for files already in metres, ``0.0254`` for inches).
        labels: stored as ``motion.labels`` (a ``"source"`` entry with the path is always added).

    Raises:
        BVHError: naming the file and line (and frame) of anything malformed.
    """
    path = str(path)
    if not (np.isfinite(scale) and scale > 0):
        raise ValueError(f"scale must be a positive number, got {scale!r}")
    try:
        text = Path(path).read_text(encoding="utf-8", errors="strict")
    except UnicodeDecodeError as e:
        raise BVHError(f"{path}: not a text BVH file ({e})") from None
    lines = text.splitlines()
    joints, i = _parse_hierarchy(lines, path)
    value, i = _header_value(lines, i, "Frames:", path)
    try:
        n_frames = int(value)
    except ValueError:
        raise BVHError(f"{path}, line {i}: bad frame count {value!r}") from None
    value, i = _header_value(lines, i, "Frame Time:", path)
    try:
        frame_time = float(value)
    except ValueError:
        raise BVHError(f"{path}, line {i}: bad frame time {value!r}") from None
    if not (np.isfinite(frame_time) and frame_time > 0):
        raise BVHError(f"{path}, line {i}: frame time must be positive, got {frame_time}")
    if n_frames < 1:
        raise BVHError(f"{path}, line {i - 1}: the file has no frames (Frames: {n_frames})")

    n_ch = sum(len(j.channels) for j in joints)
    rows = [parts for parts in (ln.split() for ln in lines[i:]) if parts]
    data = None
    # Check every row's length, not just the total: a short row followed by a long one would
    # otherwise shift all later values into the wrong channels without any error.
    if len(rows) == n_frames and all(len(r) == n_ch for r in rows):
        try:
            data = np.array(rows, dtype=np.float64).reshape(n_frames, n_ch)
        except ValueError:
            data = None
    if data is None or not np.all(np.isfinite(data)):
        _diagnose_rows(lines, i, n_frames, n_ch, path)
        raise BVHError(f"{path}: motion block does not match the header ({n_frames} frames x {n_ch} channels)")

    J = len(joints)
    offsets = np.array([j.offset for j in joints], dtype=np.float64) * scale
    rotations = np.zeros((n_frames, J, 3))
    translations = np.broadcast_to(offsets, (n_frames, J, 3)).copy()
    any_child_pos = False
    col = 0
    for k, jt in enumerate(joints):
        cols = {c: col + n for n, c in enumerate(jt.channels)}
        col += len(jt.channels)
        for c, axis in _POS.items():
            if c in cols:
                translations[:, k, axis] = data[:, cols[c]] * scale
                any_child_pos |= k > 0
        rot = [c for c in jt.channels if c in _ROT]
        if rot:
            order = "".join(_ROT[c] for c in rot)
            eul = data[:, [cols[c] for c in rot]]
            if len(rot) < 3:  # pad missing axes with zero rotations
                missing = [a for a in "XYZ" if a not in order]
                order += "".join(missing)
                eul = np.concatenate([eul, np.zeros((n_frames, 3 - len(rot)))], axis=1)
            rotations[:, k] = euler_to_axis_angle(eul, order, degrees=True)

    skeleton = Skeleton(
        [j.name for j in joints],
        [j.parent for j in joints],
        offsets,
        up_axis="y",
        channels=[list(j.channels) for j in joints],
        end_sites={j.name: [v * scale for v in j.end_site] for j in joints if j.end_site is not None},
    )
    out_labels = {"source": path}
    out_labels.update(labels or {})
    return Motion(
        rotations,
        translations[:, 0].copy(),
        skeleton,
        fps=1.0 / frame_time,
        labels=out_labels,
        local_translations=translations if any_child_pos else None,
    )


_DEFAULT_ROOT_CHANNELS = ["Xposition", "Yposition", "Zposition", "Zrotation", "Xrotation", "Yrotation"]
_DEFAULT_CHANNELS = ["Zrotation", "Xrotation", "Yrotation"]


def save_bvh(motion: Motion, path: str | os.PathLike, scale: float = 0.01, precision: int = 6) -> None:
    """Write ``motion`` as BVH (lengths divided by ``scale``: centimetres by default).

    Channel layouts kept from :func:`load_bvh` are reused; otherwise the root gets 6 channels and
    other joints 3 (ZXY), plus position channels on every joint if the motion has
    ``local_translations``. Joints with one or two rotation channels are written with all three.
    The write is atomic (temporary file, then rename).
    """
    sk = motion.skeleton
    J = sk.num_joints
    channels = sk.channels
    if channels is None or len(channels) != J:
        with_pos = motion.local_translations is not None
        channels = [
            _DEFAULT_ROOT_CHANNELS if (j == 0 or with_pos) else _DEFAULT_CHANNELS for j in range(J)
        ]
    if motion.local_translations is not None:
        # Joints whose translation departs from their OFFSET at some frame need position channels.
        local = motion.local_translations
        missing = [
            j
            for j in range(1, J)
            if not any(c in _POS for c in channels[j]) and not np.all(local[:, j] == sk.offsets[j])
        ]
        if missing:
            channels = [list(c) for c in channels]
            for j in missing:
                channels[j] = ["Xposition", "Yposition", "Zposition"] + [c for c in channels[j] if c in _ROT]
    # A joint read with fewer than three rotation channels is written with all three (the same
    # rotation, missing axes appended as the reader pads them), so any rotation the motion holds
    # is representable; a joint without rotation channels keeps that layout while it never rotates.
    for j in range(J):
        rot = [c for c in channels[j] if c in _ROT]
        if len(rot) == 3 or (not rot and not np.any(motion.rotations[:, j])):
            continue
        missing = [f"{a}rotation" for a in "XYZ" if f"{a}rotation" not in rot]
        channels = [list(c) for c in channels]
        channels[j] = [c for c in channels[j] if c in _POS] + rot + missing
    children = [[] for _ in range(J)]
    for j in range(1, J):
        children[sk.parents[j]].append(j)
    end_sites = sk.end_sites or {}

    fmt = f"{{:.{precision}g}}"
    out: list[str] = ["HIERARCHY"]

    def write_joint(j: int, depth: int) -> None:
        ind = "  " * depth
        out.append(f"{ind}{'ROOT' if j == 0 else 'JOINT'} {sk.names[j]}")
        out.append(f"{ind}{{")
        off = sk.offsets[j] / scale
        out.append(f"{ind}  OFFSET {' '.join(fmt.format(v) for v in off)}")
        out.append(f"{ind}  CHANNELS {len(channels[j])} {' '.join(channels[j])}")
        for c in children[j]:
            write_joint(c, depth + 1)
        if not children[j]:
            es = np.asarray(end_sites.get(sk.names[j], np.zeros(3))) / scale
            es_text = " ".join(fmt.format(v) for v in es)
            out.extend([f"{ind}  End Site", f"{ind}  {{", f"{ind}    OFFSET {es_text}", f"{ind}  }}"])
        out.append(f"{ind}}}")

    write_joint(0, 0)
    T = motion.num_frames
    trans = motion.translations() / scale
    cols = []
    for j in range(J):
        rot = [c for c in channels[j] if c in _ROT]
        eul = None
        if rot:
            order = "".join(_ROT[c] for c in rot)
            with warnings.catch_warnings():
                # At gimbal lock scipy still returns a valid decomposition; the warning is noise here.
                warnings.filterwarnings("ignore", message="Gimbal lock detected")
                eul = axis_angle_to_euler(motion.rotations[:, j], order, degrees=True)
        r = 0
        for c in channels[j]:
            if c in _POS:
                cols.append(trans[:, j, _POS[c]])
            else:
                cols.append(eul[:, r])
                r += 1
    data = np.stack(cols, axis=1) if cols else np.zeros((T, 0))
    out += ["MOTION", f"Frames: {T}", f"Frame Time: {1.0 / motion.fps:.8g}"]
    body = "\n".join(" ".join(fmt.format(v) for v in row) for row in data)
    atomic_write_text(path, "\n".join(out) + "\n" + body + "\n")
