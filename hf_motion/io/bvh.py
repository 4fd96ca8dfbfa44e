"""BVH reading and writing for any skeleton.

* any channel order, 3- or 6-channel joints (or any subset of the six channels), End Sites;
* rotation channels are intrinsic Euler angles in degrees, applied in the listed order;
* position channels on a joint *are* its local translation (they replace its OFFSET), so a
  file whose joints all carry position channels (Bandai-Namco) is reproduced exactly by FK;
* lengths are multiplied by ``scale``; the default ``"auto"`` infers the file's unit from the size
  of the body (see :func:`infer_bvh_unit`) and records the choice in ``motion.labels``.

The motion block is parsed with one vectorised call; only when that fails is the file re-read
line by line, to name the offending line and frame.
"""

from __future__ import annotations

import logging
import math
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

from ..fileio import atomic_write_text
from ..motion import Motion, MotionError, Skeleton
from ..rotations import axis_angle_to_euler, euler_to_axis_angle

__all__ = ["load_bvh", "save_bvh", "BVHError", "BVHScaleWarning", "infer_bvh_unit", "BVH_UNITS"]

logger = logging.getLogger(__name__)

_POS = {"Xposition": 0, "Yposition": 1, "Zposition": 2}
_ROT = {"Xrotation": "X", "Yrotation": "Y", "Zrotation": "Z"}

# Length units scale="auto" chooses from (metres per file unit), in order of preference. "cmu":
# CMU's BVH conversions (cgspeed / asf2bvh) keep the ASF/AMC unit, 1/0.45 inch (mocap.cs.cmu.edu FAQ).
BVH_UNITS: dict[str, float] = {
    "centimetres": 0.01,
    "metres": 1.0,
    "cmu": 0.0254 / 0.45,
    "inches": 0.0254,
    "millimetres": 0.001,
}
# Body size (metres) a unit must give to be chosen without doubt; the units' ranges do not overlap.
_TYPICAL_SIZE = (1.0, 2.2)
# Outside this a loaded person triggers a BVHScaleWarning, whatever the scale.
PLAUSIBLE_HEIGHT = (0.5, 3.0)
# Frame times outside this are refused (0.1 to 10000 fps).
FRAME_TIME_RANGE = (1e-4, 10.0)
_SIZE_FRAMES = 16
# Larger Euler angles have lost their precision in float64; a sign of a corrupt file.
_MAX_DEGREES = 1e6


class BVHError(ValueError):
    """A malformed BVH file; the message names the file and line (and frame where relevant)."""


class BVHScaleWarning(UserWarning):
    """The loaded body has an implausible size, or ``scale="auto"`` could not tell the unit for sure."""


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
    name_line: dict[str, int] = {}  # joint name -> 0-based line of its ROOT/JOINT
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
            name = " ".join(parts[1:])
            if name in name_line:
                raise err(i - 1, f"duplicate joint name {name!r} (first defined on line {name_line[name] + 1})")
            name_line[name] = i - 1
            joints.append(_Joint(name, parent, [0.0, 0.0, 0.0], []))
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
    return lines[i].strip()[len(key) :].strip(), i + 1


def _column_names(joints: list[_Joint]) -> list[str]:
    """``"joint 'Hips', Xposition"`` per motion column."""
    return [f"joint {j.name!r}, {c}" for j in joints for c in j.channels]


def _line_of_frame(lines: list[str], start: int, frame: int) -> int:
    """1-based line of motion row ``frame`` (blank lines skipped)."""
    for li in range(start, len(lines)):
        if lines[li].split():
            if frame == 0:
                return li + 1
            frame -= 1
    return len(lines)


def _diagnose_rows(lines: list[str], start: int, n_frames: int, joints: list[_Joint], path: str) -> None:
    """Slow path: find the first bad motion row and raise a precise error."""
    columns = _column_names(joints)
    n_ch = len(columns)
    frame = 0
    for li in range(start, len(lines)):
        parts = lines[li].split()
        if not parts:
            continue
        if frame >= n_frames:
            raise BVHError(f"{path}, line {li + 1}: more motion rows than the {n_frames} frames in the header")
        if len(parts) != n_ch:
            raise BVHError(f"{path}, line {li + 1} (frame {frame}): {len(parts)} values, but the hierarchy declares {n_ch} channels")
        for c, v in enumerate(parts):
            try:
                x = float(v)
            except ValueError:
                raise BVHError(f"{path}, line {li + 1} (frame {frame}, {columns[c]}): non-numeric value {v!r}") from None
            if not np.isfinite(x):
                raise BVHError(f"{path}, line {li + 1} (frame {frame}, {columns[c]}): non-finite value {v!r}")
        frame += 1
    if frame < n_frames:
        raise BVHError(
            f"{path}, line {len(lines)}: the file ends after {frame} motion rows, but the header says {n_frames} frames (truncated?)"
        )


def _body_size(rotations: np.ndarray, translations: np.ndarray, parents: list[int], end_sites: dict[int, list[float]]) -> float:
    """Size of the body in file units: see :func:`infer_bvh_unit`."""
    T, J = rotations.shape[:2]
    idx = np.unique(np.linspace(0, T - 1, min(_SIZE_FRAMES, T)).round().astype(np.int64))
    R = Rotation.from_rotvec(rotations[idx].reshape(-1, 3)).as_matrix().reshape(len(idx), J, 3, 3)
    gR = np.empty_like(R)
    gP = np.empty((len(idx), J, 3))
    for j, p in enumerate(parents):
        if p < 0:
            gR[:, j], gP[:, j] = R[:, j], translations[idx, j]
        else:
            gR[:, j] = gR[:, p] @ R[:, j]
            gP[:, j] = gP[:, p] + np.einsum("fij,fj->fi", gR[:, p], translations[idx, j])
    # The root is left out: it may be a helper away from the body (Bandai-Namco's joint_Root).
    points = [gP[:, 1:] if J > 1 else gP]
    for j, es in end_sites.items():
        points.append((gP[:, j] + np.einsum("fij,j->fi", gR[:, j], np.asarray(es, dtype=np.float64)))[:, None])
    pts = np.concatenate(points, axis=1)
    with np.errstate(invalid="ignore", over="ignore"):
        per_frame = (pts.max(axis=1) - pts.min(axis=1)).max(axis=1)
    return float(np.median(per_frame))


def infer_bvh_unit(body_size: float) -> tuple[str, float, bool]:
    """The length unit of a BVH file from the size of its body, as ``(unit, scale, sure)``.

    ``body_size`` is what :func:`load_bvh` measures in file units: the median, over up to 16
    evenly spaced frames, of the largest extent (max - min along x, y or z) of the posed joints
    and End Sites, the root joint left out (it may be a helper off the body). For a person that is
    roughly the height (head joint to toes, or the arm span if larger): about 1.5 m for an adult.

    The unit is the one of :data:`BVH_UNITS` (centimetres, metres, ``"cmu"``: the 1/0.45 inch of
    CMU's BVH conversions, inches, millimetres) that makes the body 1.0-2.2 m; these ranges do not
    overlap, so then ``sure`` is true. Otherwise (``sure`` false) it is the first in that order
    that gives 0.5-3 m, or failing that the one closest to that range. Real clips measured:
    Bandai-Namco 115-170 cm, CMU BVH about 24-27 units (1.4-1.5 m).

    Raises:
        ValueError: ``body_size`` is not a positive number.
    """
    if not (math.isfinite(body_size) and body_size > 0):
        raise ValueError(f"cannot infer a unit from a body size of {body_size!r}")
    sizes = {unit: body_size * f for unit, f in BVH_UNITS.items()}
    typical = [u for u, h in sizes.items() if _TYPICAL_SIZE[0] <= h <= _TYPICAL_SIZE[1]]
    if len(typical) == 1:
        return typical[0], BVH_UNITS[typical[0]], True
    plausible = [u for u, h in sizes.items() if PLAUSIBLE_HEIGHT[0] <= h <= PLAUSIBLE_HEIGHT[1]]
    if typical or plausible:
        unit = (typical or plausible)[0]
    else:
        lo, hi = PLAUSIBLE_HEIGHT
        unit = min(sizes, key=lambda u: max(math.log(lo / sizes[u]), math.log(sizes[u] / hi)))
    return unit, BVH_UNITS[unit], False


def _check_scale(scale) -> float | None:
    """``None`` for ``"auto"``, else the validated number."""
    if isinstance(scale, str):
        if scale == "auto":
            return None
        raise ValueError(f"scale must be a positive number or 'auto', got {scale!r}")
    if isinstance(scale, bool):
        raise ValueError(f"scale must be a positive number or 'auto', got {scale!r}")
    try:
        value = float(scale)
    except (TypeError, ValueError):
        raise ValueError(f"scale must be a positive number or 'auto', got {scale!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"scale must be a positive number, got {scale!r}")
    return value


def load_bvh(path: str | os.PathLike, scale: float | str = "auto", labels: dict | None = None) -> Motion:
    """Read a BVH file into a :class:`~hf_motion.Motion` (lengths in metres).

    Args:
        path: the ``.bvh`` file (UTF-8, with or without a byte-order mark).
        scale: metres per file unit, multiplying every length. ``"auto"`` (the default) infers
            it from the body's size with :func:`infer_bvh_unit`: centimetres (``0.01``, e.g.
            Bandai-Namco), metres (``1.0``), CMU's BVH unit (``0.0254 / 0.45``), inches
            (``0.0254``) or millimetres (``0.001``), and warns (:class:`BVHScaleWarning`) when it
            cannot tell for sure. Pass a number when you know the unit.
        labels: stored as ``motion.labels`` (a ``"source"`` entry with the path is always added).

    Returns:
        A Motion whose labels also record ``bvh_scale`` (the scale used), ``bvh_unit`` (its unit
        name, ``None`` for a number not in :data:`BVH_UNITS`), ``bvh_scale_inferred`` (whether
        ``"auto"`` chose it) and ``bvh_height`` (the body's size in metres as measured by
        :func:`infer_bvh_unit`: head joint to toes, a little under the person's stature).

    Warns:
        BVHScaleWarning: the body is under 0.5 m or over 3 m after scaling (a wrong unit, most
            likely), or ``"auto"`` had to guess; the message names the file and the size.

    Raises:
        BVHError: naming the file and line (and frame, joint and channel) of anything malformed:
            duplicate joint names, a frame time outside 1e-4 .. 10 s, non-finite values, ...
    """
    path = str(path)
    given = _check_scale(scale)
    try:
        # utf-8-sig: a leading byte-order mark is dropped.
        text = Path(path).read_text(encoding="utf-8-sig", errors="strict")
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
        raise BVHError(f"{path}, line {i}: frame time must be a positive number of seconds, got {value!r}")
    lo, hi = FRAME_TIME_RANGE
    if not lo <= frame_time <= hi:
        raise BVHError(f"{path}, line {i}: implausible frame time {value!r} s ({1.0 / frame_time:.6g} fps); expected {lo:g} .. {hi:g} s")
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
        _diagnose_rows(lines, i, n_frames, joints, path)
        raise BVHError(f"{path}: motion block does not match the header ({n_frames} frames x {n_ch} channels)")

    # Lengths are read in file units and multiplied by the scale at the end.
    J = len(joints)
    raw_offsets = np.array([j.offset for j in joints], dtype=np.float64)
    rotations = np.zeros((n_frames, J, 3))
    raw_translations = np.broadcast_to(raw_offsets, (n_frames, J, 3)).copy()
    any_child_pos = False
    col = 0
    for k, jt in enumerate(joints):
        cols = {c: col + n for n, c in enumerate(jt.channels)}
        col += len(jt.channels)
        for c, axis in _POS.items():
            if c in cols:
                raw_translations[:, k, axis] = data[:, cols[c]]
                any_child_pos |= k > 0
        rot = [c for c in jt.channels if c in _ROT]
        if rot:
            order = "".join(_ROT[c] for c in rot)
            eul = data[:, [cols[c] for c in rot]]
            if len(rot) < 3:  # pad missing axes with zero rotations
                missing = [a for a in "XYZ" if a not in order]
                order += "".join(missing)
                eul = np.concatenate([eul, np.zeros((n_frames, 3 - len(rot)))], axis=1)
            big = np.abs(eul) > _MAX_DEGREES
            if big.any():
                f, c = (int(v) for v in np.argwhere(big)[0])
                where = f"line {_line_of_frame(lines, i, f)} (frame {f}, joint {jt.name!r}, {rot[c]})"
                raise BVHError(f"{path}, {where}: rotation {eul[f, c]:g} degrees is beyond +-{_MAX_DEGREES:g} (too large to be an angle)")
            rotations[:, k] = euler_to_axis_angle(eul, order, degrees=True)

    end_sites_raw = {k: j.end_site for k, j in enumerate(joints) if j.end_site is not None}
    size = _body_size(rotations, raw_translations, [j.parent for j in joints], end_sites_raw)
    unit: str | None
    if given is None:
        try:
            unit, scale, sure = infer_bvh_unit(size)
        except ValueError:
            raise BVHError(
                f"{path}: cannot infer the length unit (the body's size is {size!r} file units); "
                "pass scale= (0.01 for centimetres, 1.0 for metres)"
            ) from None
    else:
        scale, sure = given, True
        unit = next((u for u, f in BVH_UNITS.items() if math.isclose(f, scale, rel_tol=1e-6)), None)
    height = size * scale
    how = f"scale={scale:g}" + (f" ({unit})" if unit else "")
    how += ", inferred by scale='auto'" if given is None else ""
    if not (np.isfinite(height) and PLAUSIBLE_HEIGHT[0] <= height <= PLAUSIBLE_HEIGHT[1]):
        warnings.warn(
            f"{path}: the body is {height:.3g} m tall with {how}, outside {PLAUSIBLE_HEIGHT[0]:g}-"
            f"{PLAUSIBLE_HEIGHT[1]:g} m for a person; is the length unit right? (pass scale=: "
            f"0.01 for centimetres, 1.0 for metres, 0.0254 for inches, {BVH_UNITS['cmu']:.6g} "
            "for CMU BVH)",
            BVHScaleWarning,
            stacklevel=2,
        )
    elif not sure:
        readings = ", ".join(f"{u} -> {size * f:.3g} m" for u, f in BVH_UNITS.items())
        warnings.warn(
            f"{path}: could not tell the length unit for sure from the body's size ({size:.4g} file units: "
            f"{readings}); using {how}, {height:.3g} m tall; pass scale= to choose",
            BVHScaleWarning,
            stacklevel=2,
        )
    logger.debug("%s: %s, body %.3g m", path, how, height)

    offsets = raw_offsets * scale
    translations = raw_translations * scale
    try:
        skeleton = Skeleton(
            [j.name for j in joints],
            [j.parent for j in joints],
            offsets,
            up_axis="y",
            channels=[list(j.channels) for j in joints],
            end_sites={j.name: [v * scale for v in j.end_site] for j in joints if j.end_site is not None},
        )
        out_labels = {
            "source": path,
            "bvh_scale": float(scale),
            "bvh_unit": unit,
            "bvh_scale_inferred": given is None,
            "bvh_height": float(height),
        }
        out_labels.update(labels or {})
        return Motion(
            rotations,
            translations[:, 0].copy(),
            skeleton,
            fps=1.0 / frame_time,
            labels=out_labels,
            local_translations=translations if any_child_pos else None,
        )
    except MotionError as e:  # e.g. lengths that overflow once scaled
        raise BVHError(f"{path}: {e}") from None


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
        channels = [_DEFAULT_ROOT_CHANNELS if (j == 0 or with_pos) else _DEFAULT_CHANNELS for j in range(J)]
    if motion.local_translations is not None:
        # Joints whose translation departs from their OFFSET at some frame need position channels.
        local = motion.local_translations
        missing = [j for j in range(1, J) if not any(c in _POS for c in channels[j]) and not np.all(local[:, j] == sk.offsets[j])]
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
