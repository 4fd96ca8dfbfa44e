"""From motion collections to M5's windowed multi-task token sequences, as a ``datasets.DatasetDict``.

Per clip (in worker processes when ``num_proc > 1``): load, resample to ``config.fps``, keep
``config.joints``, cut windows of ``config.window`` frames every ``config.stride`` frames, draw one
task per window with the configured proportions, and tokenize every window of a task with *one*
vectorised :meth:`~hf_motion.MotionTokenizer.encode_motion` call. The M5 tasks:

========  ======  ==========================================================================
task      token   text
========  ======  ==========================================================================
``acm``   ``>``   angle frames (angular causal modelling: next frame of joint angles)
``pcm``   ``>``   position frames (positional causal modelling)
``fk``    ``$``   angle frame, position frame, angle frame, ... (forward kinematics)
``ik``    ``&``   position frame, angle frame, ... (inverse kinematics: position first)
========  ======  ==========================================================================

M5 uses one-second windows for FK/IK: the default ``window`` is 30 frames at 30 fps. Positions are
canonicalised per window with :func:`hf_motion.kinematics.canonicalize_positions` (the up axis comes
from the skeleton): the root's horizontal position averaged over the window (``"mean"``, the
default, so a window of locomotion spans the box symmetrically) or at the window's first frame
(``"first"``) is subtracted, so that positions fit the tokenizer's position box; values still
outside it are clipped by the quantizer and counted in the build statistics.

Clips are split into train/validation/test *by group* (:attr:`MotionClip.group`), so one group never
lands on two sides; within a split, examples are shuffled with ``config.seed``. With
``context_length`` set, each split's shuffled examples are concatenated and cut into rows of exactly
that many tokens (the remainder is dropped, as in ``transformers``' ``run_clm``).

Output columns, one example per row (``context_length=None``): ``input_ids``, ``attention_mask``,
``task``, ``clip``, ``group``, ``source`` (file), ``start_frame``, ``num_frames``, ``fps`` and one
column per label (a label named like a column gets a ``label_`` prefix). Rows are not padded: use
``DataCollatorForLanguageModeling(tokenizer, mlm=False)``, which pads and makes ``labels``.
Packed rows: ``input_ids``, ``attention_mask``, ``labels`` (a copy of ``input_ids``) and the list
columns ``tasks``, ``clips``, ``groups`` of the examples each row spans.

Every clip must end up with the same joints in the same order: a build whose clips keep
different skeletons (``joints=None`` over 22- and 31-joint files) stops with a
:class:`MotionDatasetError` naming two such files, and a joint subset that a file's skeleton
lacks stops it naming the file, the subset and the missing joints (``skip_bad`` does not skip
either: they are configuration errors, not unreadable files). The default ``joints="auto"`` finds
each file's core body joints by name (:func:`hf_motion.skeletons.auto_joint_subset`: Bandai-Namco,
CMU, Mixamo, SMPL, ... names; ``bandai-core`` on Bandai-Namco); a skeleton where too few are found
stops the build with a message listing what was found and what to pass instead. The dataset's
joints, in token order, are in :attr:`BuildStats.joint_names`.

Results are cached as Arrow under a key over the config (a joint subset by its joint names, not
its registered name), tokenizer, file list (paths, sizes and SHA-256 of each file's bytes, so an
in-place edit that keeps size and modification time is rebuilt) and labels; the cache folder is
written atomically, so an interrupted build leaves nothing a later run trusts.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import math
import multiprocessing
import os
import time
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..fileio import atomic_directory, atomic_write_text, recover_directory
from .archive import default_cache_dir
from .folders import MotionClip, MotionCollection, MotionDatasetError, MotionFolder, _extension_of, reader_kwargs_for

__all__ = [
    "MotionTask",
    "MOTION_TASKS",
    "MotionDatasetConfig",
    "BuildStats",
    "MotionDatasetBuild",
    "MotionDatasetBuilder",
    "build_motion_dataset",
    "as_collection",
    "assign_splits",
    "MOTION_SOURCES",
    "tokenizer_fingerprint",
]

logger = logging.getLogger(__name__)

# Bump when the output layout changes, so old caches are not reused (2: BuildStats.joint_names; 3: IK position-first, one sequence per window; 4: angle references; 5: text labels are ClassLabel columns).
_FORMAT_VERSION = 5
ANGLE_REFERENCES = (None, "train-mean")


@dataclass(frozen=True)
class MotionTask:
    """One training task: its task token and which streams its text holds."""

    name: str
    token: str
    angles: bool
    positions: bool
    description: str


MOTION_TASKS: dict[str, MotionTask] = {
    t.name: t
    for t in (
        MotionTask("acm", ">", True, False, "angular causal modelling: angle frames"),
        MotionTask("pcm", ">", False, True, "positional causal modelling: position frames"),
        MotionTask("fk", "$", True, True, "forward kinematics: interleaved angle and position frames"),
        MotionTask("ik", "&", True, True, "inverse kinematics: interleaved angle and position frames"),
    )
}


_CANONICALIZE = ("mean", "first", "none")


def _parse_weights(spec: str | Mapping[str, float], what: str) -> dict[str, float]:
    """``"a=0.5,b=0.5"`` or a mapping -> ``{name: float}``."""
    if isinstance(spec, str):
        out: dict[str, float] = {}
        for item in spec.split(","):
            item = item.strip()
            if not item:
                continue
            if "=" not in item:
                raise ValueError(f"{what}: expected name=weight pairs like 'acm=0.25,fk=0.75', got {item!r}")
            k, v = item.split("=", 1)
            try:
                out[k.strip()] = float(v)
            except ValueError:
                raise ValueError(f"{what}: weight for {k.strip()!r} is not a number: {v!r}") from None
        return out
    return {str(k): float(v) for k, v in dict(spec).items()}


@dataclass
class MotionDatasetConfig:
    """What to build.

    Args:
        tasks: task -> proportion of windows (``acm``, ``pcm``, ``fk``, ``ik``; normalised to sum 1),
            or a string ``"acm=0.25,pcm=0.25,fk=0.25,ik=0.25"``. FK/IK examples hold twice the
            tokens of ACM/PCM examples of the same window.
        window: frames per example (at ``fps``); M5 uses one second for FK/IK.
        stride: frames between window starts (default: ``window``, no overlap). Clips shorter
            than ``window`` give no examples; a clip of ``T >= window`` frames gives
            ``(T - window) // stride + 1`` windows.
        fps: resample every clip to this rate first (``None``: keep each clip's rate). Rates
            within 0.01% of it count as equal (BVH frame times are rounded) and are not resampled.
        joints: ``"auto"`` (the default: each clip's core body joints found by name, see
            :func:`hf_motion.skeletons.auto_joint_subset`; exactly ``bandai-core`` on Bandai-Namco; with
            a tokenizer that records ``joint_names``, those joints when the clip has them), a
            registered joint subset name (see :data:`hf_motion.JOINT_SUBSETS`), a list of joint names
            or a string of comma-separated names, or ``None`` / ``"all"`` for every joint.
        canonicalize: per window, subtract the root's horizontal position averaged over the window
            (``"mean"``), at its first frame (``"first"``), or nothing (``"none"``).
        context_length: pack examples into rows of exactly this many tokens (``None``: one
            example per row).
        splits: split name -> fraction of frames, assigned by group.
        seed: drives task draws, split assignment and shuffling (same seed, same dataset).
        angle_reference: ``"train-mean"``: before tokenizing, fit each joint's mean rotation over
            the *training* split's frames and write angles relative to it (see
            :meth:`MotionTokenizer.with_angle_reference`; the build's ``tokenizer`` carries it and
            must be saved with the model). ``None`` (default): the tokenizer as given. A tokenizer
            that already has a reference keeps it.
    """

    tasks: dict[str, float] | str = field(default_factory=lambda: {"acm": 0.25, "pcm": 0.25, "fk": 0.25, "ik": 0.25})
    window: int = 30
    stride: int | None = None
    fps: float | None = 30.0
    joints: str | list[str] | None = "auto"
    canonicalize: str = "mean"
    context_length: int | None = None
    splits: dict[str, float] | str = field(default_factory=lambda: {"train": 0.8, "validation": 0.1, "test": 0.1})
    seed: int = 0
    angle_reference: str | None = None

    def __post_init__(self) -> None:
        if self.angle_reference not in ANGLE_REFERENCES:
            raise ValueError(f"angle_reference must be one of {list(ANGLE_REFERENCES)}, got {self.angle_reference!r}")
        tasks = _parse_weights(self.tasks, "tasks")
        unknown = sorted(set(tasks) - set(MOTION_TASKS))
        if unknown:
            raise ValueError(f"unknown tasks {unknown}; known tasks: {list(MOTION_TASKS)}")
        if any(not math.isfinite(v) or v < 0 for v in tasks.values()) or sum(tasks.values()) <= 0:
            raise ValueError(f"task proportions must be non-negative with a positive sum, got {tasks}")
        total = sum(tasks.values())
        self.tasks = {k: v / total for k, v in tasks.items() if v > 0}
        splits = _parse_weights(self.splits, "splits")
        if any(not math.isfinite(v) or v < 0 for v in splits.values()) or sum(splits.values()) <= 0:
            raise ValueError(f"split fractions must be non-negative with a positive sum, got {splits}")
        total = sum(splits.values())
        self.splits = {k: v / total for k, v in splits.items() if v > 0}
        for name, value, low in (("window", self.window, 1), ("stride", self.stride, 1), ("context_length", self.context_length, 2)):
            if value is None:
                continue
            if isinstance(value, bool) or int(value) != value or value < low:
                raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
        self.window = int(self.window)
        self.stride = int(self.stride) if self.stride is not None else self.window
        self.context_length = int(self.context_length) if self.context_length is not None else None
        if self.fps is not None:
            self.fps = float(self.fps)
            if not (math.isfinite(self.fps) and self.fps > 0):
                raise ValueError(f"fps must be a positive number or None, got {self.fps}")
        if isinstance(self.joints, str):
            spec = self.joints.strip()
            if spec.lower() in ("auto", "all"):
                self.joints = None if spec.lower() == "all" else "auto"
            elif "," in spec:
                self.joints = [j.strip() for j in spec.split(",") if j.strip()]
            else:
                self.joints = spec
        if isinstance(self.joints, (list, tuple)):
            self.joints = [str(j) for j in self.joints]
            if not self.joints:
                raise ValueError("joints: an empty list; use 'all' (or None) for every joint")
        elif self.joints is not None and not isinstance(self.joints, str):
            raise ValueError(
                f"joints must be 'auto', 'all' (or None), a subset name, a list of joint names or comma-separated names, "
                f"got {self.joints!r}"
            )
        if self.joints is not None:
            from ..skeletons import resolve_joint_subset

            resolve_joint_subset(self.joints)  # unknown subset names and duplicates fail now, not per clip
        self.seed = int(self.seed)
        if isinstance(self.canonicalize, bool):
            self.canonicalize = "mean" if self.canonicalize else "none"
        if self.canonicalize not in _CANONICALIZE:
            raise ValueError(f"canonicalize must be one of {list(_CANONICALIZE)}, got {self.canonicalize!r}")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> MotionDatasetConfig:
        """From a mapping (e.g. a YAML file); unknown keys raise, listing the known ones."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"unknown dataset config keys {unknown}; known keys: {sorted(known)}")
        return cls(**dict(d))

    @classmethod
    def from_yaml(cls, path: str | os.PathLike) -> MotionDatasetConfig:
        import yaml

        try:
            data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as e:
            raise ValueError(f"cannot read dataset config {path}: {e}") from None
        if not isinstance(data, dict):
            raise ValueError(f"dataset config {path}: expected a mapping of options, got {type(data).__name__}")
        try:
            return cls.from_dict(data)
        except (TypeError, ValueError) as e:
            raise ValueError(f"dataset config {path}: {e}") from None


# ------------------------------------------------------------------ statistics


@dataclass
class BuildStats:
    """What a build produced (printed by ``hf-motion build-dataset``)."""

    clips: int = 0
    clips_used: int = 0
    clips_too_short: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    frames: int = 0
    windows: int = 0
    tokens: int = 0
    windows_per_task: dict[str, int] = field(default_factory=dict)
    tokens_per_task: dict[str, int] = field(default_factory=dict)
    split_rows: dict[str, int] = field(default_factory=dict)
    split_tokens: dict[str, int] = field(default_factory=dict)
    split_groups: dict[str, int] = field(default_factory=dict)
    split_clips: dict[str, int] = field(default_factory=dict)
    position_values: int = 0
    position_values_clipped: int = 0
    context_length: int | None = None
    dropped_tokens: int = 0
    seconds: float = 0.0
    from_cache: bool = False
    #: the joints of every example, in token order (``None`` only in stats from before this field).
    joint_names: list[str] | None = None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> BuildStats:
        d = dict(d)
        d["skipped"] = [tuple(x) for x in d.get("skipped", [])]
        return cls(**d)

    def summary(self) -> str:
        lines = [
            f"clips: {self.clips_used} used of {self.clips}"
            + (f", {len(self.skipped)} skipped (unreadable)" if self.skipped else "")
            + (f", {self.clips_too_short} shorter than the window" if self.clips_too_short else ""),
            f"frames: {self.frames:,}   windows: {self.windows:,}   tokens: {self.tokens:,}",
            *([f"joints: {len(self.joint_names)} ({_short_names(self.joint_names)})"] if self.joint_names else []),
            "per task: "
            + ", ".join(
                f"{t} {self.windows_per_task.get(t, 0):,} windows / {self.tokens_per_task.get(t, 0):,} tokens"
                for t in self.windows_per_task
            ),
            "splits: "
            + ", ".join(
                f"{s} {self.split_rows[s]:,} rows / {self.split_tokens[s]:,} tokens "
                f"({self.split_clips[s]} clips, {self.split_groups[s]} groups)"
                for s in self.split_rows
            ),
        ]
        if self.context_length:
            lines.append(f"packed to {self.context_length} tokens per row ({self.dropped_tokens:,} remainder tokens dropped)")
        if self.position_values:
            frac = self.position_values_clipped / self.position_values
            lines.append(
                f"position values outside the tokenizer box (clipped): {self.position_values_clipped:,} "
                f"of {self.position_values:,} ({100 * frac:.3f}%)"
            )
        for path, err in self.skipped:
            lines.append(f"skipped {path}: {err}")
        if self.from_cache:
            lines.append("(loaded from cache)")
        return "\n".join(lines)


def _short_names(names: Sequence[str], limit: int = 10) -> str:
    """``a, b, c, ... (+N more)`` for messages."""
    names = list(names)
    text = ", ".join(names[:limit])
    return text + (f", ... (+{len(names) - limit} more)" if len(names) > limit else "")


@dataclass
class MotionDatasetBuild:
    """The result of :meth:`MotionDatasetBuilder.build`."""

    dataset: Any  # datasets.DatasetDict
    stats: BuildStats
    cache_path: Path | None = None
    tokenizer: Any = None  # the tokenizer the ids were made with (with its fitted angle reference)


# ------------------------------------------------------------------ sources


def _bandai_source(spec: str, **kwargs: Any) -> MotionCollection:
    from .bandai import BANDAI_SUBSETS, bandai_namco

    subsets = spec.split(",") if spec else list(BANDAI_SUBSETS)
    return bandai_namco(subsets=subsets, on_error=kwargs.get("on_error", "raise"))


#: Named sources usable wherever a folder is (``"bandai-namco"`` or ``"bandai-namco:dataset-1"``).
MOTION_SOURCES = {"bandai-namco": _bandai_source}


def as_collection(
    sources: MotionCollection | str | os.PathLike | Iterable[MotionCollection | str | os.PathLike],
    pattern: str | Sequence[str] = "**/*.bvh",
    group_by: str = "clip",
    reader_kwargs: Mapping[str, Any] | None = None,
    on_error: str = "raise",
) -> MotionCollection:
    """One :class:`MotionCollection` from collections, folders, single files or named sources.

    Folders become :class:`MotionFolder` (``pattern``, ``group_by``, ``reader_kwargs`` apply);
    with several folders each one's clip ids are prefixed by its name. A named source is
    ``name[:options]`` from :data:`MOTION_SOURCES` (``bandai-namco:dataset-1,dataset-2``).
    """
    if isinstance(sources, (MotionCollection, str, os.PathLike)):
        sources = [sources]
    sources = list(sources)
    if not sources:
        raise MotionDatasetError("no motion sources given")
    folders = [s for s in sources if not isinstance(s, MotionCollection) and Path(s).is_dir()]
    prefix = len(folders) > 1
    parts: list[MotionCollection] = []
    for src in sources:
        if isinstance(src, MotionCollection):
            parts.append(src)
            continue
        text = os.fspath(src)
        name, _, opts = text.partition(":")
        path = Path(text).expanduser()
        if name in MOTION_SOURCES and not path.exists():
            parts.append(MOTION_SOURCES[name](opts, on_error=on_error))
        elif path.is_dir():
            parts.append(
                MotionFolder(
                    path,
                    pattern=pattern,
                    group_by=group_by,
                    reader_kwargs=reader_kwargs,
                    name=path.resolve().name if prefix else None,
                    on_error=on_error,
                )
            )
        elif path.is_file():
            clip_id = path.stem
            kwargs = reader_kwargs_for(reader_kwargs, _extension_of(path) or path.suffix)
            parts.append(MotionCollection([MotionClip(str(path.resolve()), clip_id, clip_id, {}, kwargs)]))
        else:
            raise MotionDatasetError(f"motion source {text!r} is neither a folder, a file nor a named source ({sorted(MOTION_SOURCES)})")
    return parts[0] if len(parts) == 1 else MotionCollection.concat(parts)


# ------------------------------------------------------------------ splits


def assign_splits(group_weights: Mapping[str, float], fractions: Mapping[str, float], seed: int = 0) -> dict[str, str]:
    """Map each group to a split so that split weights approach ``fractions``.

    Groups are visited in a seeded random order; each goes to the split that is least full
    relative to its target (so with at least as many groups as splits, none is empty).
    """
    names = list(fractions)
    targets = np.array([fractions[n] for n in names], dtype=np.float64)
    filled = np.zeros(len(names))
    groups = sorted(group_weights)
    order = np.random.default_rng(seed).permutation(len(groups))
    out: dict[str, str] = {}
    for i in order:
        k = int(np.argmin(filled / targets))
        out[groups[i]] = names[k]
        filled[k] += max(float(group_weights[groups[i]]), 1e-9)
    return out


# ------------------------------------------------------------------ per-clip work


def _stable_int(text: str) -> int:
    """A hash of ``text`` that does not change between runs (unlike ``hash``)."""
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")


@dataclass
class _Plan:
    """What a worker needs besides the clip (sent once per worker)."""

    tokenizer: Any
    window: int
    stride: int
    fps: float | None
    joints: list[str] | str | None  # resolved in the parent (workers need no subset registry); "auto": per clip
    joints_label: str  # how messages name the subset ("'bandai-core'" or "of 3 joints")
    canonicalize: str
    seed: int
    task_names: list[str]
    task_probs: np.ndarray
    auto_prefer: list[str] | None = None  # "auto": these joints (the tokenizer's) when a clip has them all
    reference_only: bool = False  # pass 1 of angle_reference="train-mean": frames and rotation sums only


def _auto_joints(motion, plan: _Plan, path: str) -> list[str]:
    """``joints="auto"`` for one clip: the tokenizer's joints if it has them all, else its core body joints."""
    names = motion.skeleton.names
    if plan.auto_prefer is not None and all(n in names for n in plan.auto_prefer):
        return list(plan.auto_prefer)
    from ..motion import MotionError
    from ..skeletons import auto_joint_subset

    try:
        return auto_joint_subset(motion.skeleton)
    except MotionError as e:
        raise _JointSubsetMismatch(f"{path}: {e}") from None


_WORKER_PLAN: _Plan | None = None


def _init_worker(plan: _Plan) -> None:
    global _WORKER_PLAN
    _WORKER_PLAN = plan
    try:
        import torch

        torch.set_num_threads(1)  # one process per core; no oversubscription
    except ImportError:  # pragma: no cover
        pass


def _prepared_motion(clip: MotionClip, plan: _Plan):
    """A clip loaded, resampled to ``plan.fps`` and cut to the plan's joints (``prepare_motion``)."""
    from ..processing import MotionProcessorError, prepare_motion

    motion = clip.load()
    joints = _auto_joints(motion, plan, clip.path) if plan.joints == "auto" else plan.joints
    if joints is not None:
        names = motion.skeleton.names
        missing = [n for n in joints if n not in names]
        if missing:
            raise _JointSubsetMismatch(
                f"joint subset {plan.joints_label} does not fit {clip.path}: its skeleton lacks {len(missing)} of the "
                f"subset's {len(joints)} joints ({_short_names(missing)}); the file has {len(names)} joints "
                f"({_short_names(names)}). Choose a subset of joints that every file has (or joints='auto'), or build "
                "the files of this skeleton separately"
            )
    try:
        return prepare_motion(motion, plan.fps, joints, source=clip.path)
    except MotionProcessorError as e:  # e.g. the kept joints do not form one tree in this skeleton
        raise _JointSubsetMismatch(f"joint subset {plan.joints_label} does not fit {e}") from None


def _encode_clip(clip: MotionClip, plan: _Plan) -> dict[str, Any]:
    """Load one clip and tokenize all its windows (one ``encode_motion`` call per task)."""
    from ..kinematics import canonicalize_positions

    tok = plan.tokenizer
    motion = _prepared_motion(clip, plan)
    if plan.reference_only:
        from ..rotations import axis_angle_to_matrix

        return {"frames": motion.num_frames, "fps": motion.fps, "error": None, "joints": list(motion.skeleton.names),
                "rotation_sum": axis_angle_to_matrix(motion.rotations).sum(axis=0)}  # fmt: skip
    T, J = motion.num_frames, motion.num_joints
    W, S = plan.window, plan.stride
    out: dict[str, Any] = {
        "frames": T, "fps": motion.fps, "error": None, "pos_values": 0, "pos_clipped": 0,
        "joints": list(motion.skeleton.names),
    }  # fmt: skip
    if T < W:
        out.update(starts=np.zeros(0, np.int32), tasks=np.zeros(0, np.int8), tokens=np.zeros(0, np.int32), lengths=np.zeros(0, np.int64))
        return out
    starts = np.arange(0, T - W + 1, S)
    # Seeded by clip id, not position in the list: the draw survives reordering and num_proc.
    rng = np.random.default_rng([plan.seed, _stable_int(clip.clip_id)])
    tasks = rng.choice(len(plan.task_names), size=len(starts), p=plan.task_probs).astype(np.int8)
    specs = [MOTION_TASKS[n] for n in plan.task_names]
    positions = motion.positions() if any(specs[k].positions for k in np.unique(tasks)) else None
    up = motion.skeleton.up_axis
    lengths = np.zeros(len(starts), np.int64)
    pieces: dict[int, np.ndarray] = {}
    bos, eos = tok.bos_token_id, tok.eos_token_id
    pq = tok.position_quantizer
    for k, spec in enumerate(specs):
        sel = np.flatnonzero(tasks == k)
        if not sel.size:
            continue
        frames = (starts[sel, None] + np.arange(W)).reshape(-1)
        angles = motion.rotations[frames] if spec.angles else None
        pos = None
        if spec.positions:
            pos = positions[frames].reshape(len(sel), W, J, 3)
            if plan.canonicalize != "none":
                frame = 0 if plan.canonicalize == "first" else None
                pos = np.stack([canonicalize_positions(p, up, frame=frame) for p in pos])
            pos = pos.reshape(-1, J, 3)
            out["pos_values"] += pos.size
            out["pos_clipped"] += int(np.count_nonzero((pos < pq.low) | (pos > pq.high)))
        with warnings.catch_warnings():
            # Clipped positions are counted above and reported once per build, not per call.
            warnings.simplefilter("ignore", UserWarning)
            # Each window is its own sequence: under delta coding every window starts on a keyframe.
            ids = tok.encode_motion(angles=angles, positions=pos, task=spec.token, frames_per_sequence=W)
        n = len(sel)
        body = ids[2:-1]
        if ids[0] != bos or ids[1] != tok.task_token_ids[spec.token] or ids[-1] != eos or body.size % n:
            raise RuntimeError(
                "MotionTokenizer.encode_motion returned an unexpected layout (expected [bos, task, frames..., eos]); "
                "the dataset builder needs updating"
            )
        rows = body.reshape(n, -1)
        ex = np.empty((n, rows.shape[1] + 3), np.int32)
        ex[:, 0], ex[:, 1], ex[:, 2:-1], ex[:, -1] = bos, ids[1], rows, eos
        pieces[k] = ex
        lengths[sel] = ex.shape[1]
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    tokens = np.empty(int(offsets[-1]), np.int32)
    for k, ex in pieces.items():
        sel = np.flatnonzero(tasks == k)
        idx = offsets[sel, None] + np.arange(ex.shape[1])
        tokens[idx] = ex
    out.update(starts=starts.astype(np.int32), tasks=tasks, tokens=tokens, lengths=lengths)
    return out


def _preload_lazy_imports() -> None:
    """Import what the per-clip work imports lazily (roma pulls in parts of torch: ~1 s), once in
    the parent, so that forked workers inherit it instead of each paying for it."""
    import importlib

    for name in ("roma", "hf_motion.resample"):
        try:
            importlib.import_module(name)
        except ImportError:  # pragma: no cover - optional
            pass


class _JointSubsetMismatch(Exception):
    """The configured joint subset is not in a clip's skeleton (a config error: never skipped)."""


def _encode_clip_safe(item: tuple[int, MotionClip]) -> tuple[int, dict[str, Any]]:
    index, clip = item
    plan = _WORKER_PLAN
    assert plan is not None, "worker not initialised"
    try:
        return index, _encode_clip(clip, plan)
    except _JointSubsetMismatch as e:
        return index, {"error": str(e), "kind": "joints"}
    except Exception as e:  # reported by file name in the parent (skipped with skip_bad)
        msg = str(e)
        if clip.path not in msg:
            msg = f"{clip.path}: {msg}"
        return index, {"error": f"{type(e).__name__}: {msg}"}


# ------------------------------------------------------------------ the builder


def tokenizer_fingerprint(tok: Any) -> str:
    """A hash of what a tokenizer's ids depend on: its class, quantization and vocabulary."""
    h = hashlib.sha256(type(tok).__name__.encode())
    h.update(json.dumps(getattr(tok, "quantization", None), sort_keys=True, default=str).encode())
    h.update(json.dumps(sorted(tok.get_vocab().items())).encode())
    h.update(json.dumps(getattr(tok, "joint_names", None)).encode())  # the saved tokenizer copy records them
    return h.hexdigest()


_tokenizer_fingerprint = tokenizer_fingerprint  # the old private name


_RESERVED_COLUMNS = (
    "input_ids", "attention_mask", "labels", "task", "clip", "group", "source", "start_frame", "num_frames", "fps",
)  # fmt: skip


class MotionDatasetBuilder:
    """Builds M5 multi-task token datasets from motion collections.

    Args:
        config: a :class:`MotionDatasetConfig` (defaults if None).
        tokenizer: a :class:`~hf_motion.MotionTokenizer` (M5 defaults if None).

    Example::

        from hf_motion.datasets import MotionDatasetBuilder, MotionDatasetConfig, bandai_namco
        build = MotionDatasetBuilder(MotionDatasetConfig(window=30, context_length=1024)).build(
            bandai_namco(), num_proc=4)
        print(build.stats.summary()); build.dataset["train"]
    """

    def __init__(self, config: MotionDatasetConfig | None = None, tokenizer: Any = None) -> None:
        if tokenizer is None:
            from ..tokenization.tokenizer import MotionTokenizer

            tokenizer = MotionTokenizer()
        if not hasattr(tokenizer, "encode_motion"):
            raise TypeError(f"tokenizer must be a MotionTokenizer (with encode_motion), got {type(tokenizer).__name__}")
        self.config = config if config is not None else MotionDatasetConfig()
        self.tokenizer = tokenizer
        expected = getattr(tokenizer, "joint_names", None)
        names = self._joint_names()
        if expected is not None and isinstance(names, list) and list(names) != list(expected):
            raise MotionDatasetError(
                f"the tokenizer {getattr(tokenizer, 'name_or_path', '') or ''} was saved for {len(expected)} joints "
                f"{list(expected)}, but the dataset config selects {len(names)} joints {list(names)}; pass "
                "joints matching the tokenizer (or a tokenizer without joint_names)"
            )

    def cache_key(self, collection: MotionCollection, skip_bad: bool = False) -> str:
        """Hash of everything the output depends on: config (a joint subset by its joint names),
        tokenizer, files (path, size and content digest), ids, groups and labels."""
        from .. import __version__

        config = self.config.to_dict()
        config["joints"] = self._joint_names()  # re-registering a subset name changes the key
        if config["joints"] == "auto":  # resolved per file (fingerprinted below) by rules that may change
            from ..skeletons import auto_rules_fingerprint

            config["joints"] = ["auto", auto_rules_fingerprint()]
        rec = {
            "format": _FORMAT_VERSION,
            "hf_motion": __version__,
            "config": config,
            "tokenizer": tokenizer_fingerprint(self.tokenizer),
            "files": collection.fingerprint(),
            "skip_bad": bool(skip_bad),
        }
        return hashlib.sha256(json.dumps(rec, sort_keys=True, default=str).encode()).hexdigest()[:24]

    def build(
        self,
        sources: Any,
        num_proc: int | None = None,
        cache_dir: str | os.PathLike | bool | None = None,
        skip_bad: bool = False,
        progress: bool = True,
    ) -> MotionDatasetBuild:
        """Build (or load from cache) the dataset.

        Args:
            sources: a :class:`MotionCollection`, folder, file, named source, or a list of them
                (see :func:`as_collection`).
            num_proc: worker processes for loading and tokenizing (default: CPU count, at most 8).
                The output does not depend on it.
            cache_dir: Arrow cache root (default ``$HF_MOTION_CACHE/datasets`` or
                ``~/.cache/hf_motion/datasets``); ``False`` disables caching.
            skip_bad: skip (and report by name) files that cannot be read; otherwise the first
                one stops the build with a :class:`MotionDatasetError` naming it. A joint subset
                that a file lacks, or files whose skeletons differ, always stop the build.
            progress: show a progress bar.
        """
        import datasets

        t0 = time.perf_counter()
        collection = as_collection(sources, on_error="skip" if skip_bad else "raise")
        if not len(collection):
            raise MotionDatasetError("the motion collection is empty")
        cache_path = None
        key = self.cache_key(collection, skip_bad)
        if cache_dir is not False:
            root = Path(cache_dir).expanduser() if cache_dir not in (None, True) else default_cache_dir() / "datasets"
            cache_path = root / key
            recover_directory(cache_path)  # a build killed while replacing this entry: put it back
            cached = self._load_cached(cache_path)
            if cached is not None:
                return cached
        dataset, stats, tokenizer = self._build_in_memory(collection, num_proc, skip_bad, progress, key)
        if cache_path is not None:
            # Written under a temporary name and renamed when complete: a crash leaves no trusted cache.
            with atomic_directory(cache_path, overwrite=True) as tmp:
                # An empty split saved with 0 shards cannot be loaded back (IndexError in datasets): give it one.
                dataset.save_to_disk(str(tmp), num_shards={s: 1 for s in dataset if len(dataset[s]) == 0})
                stats.seconds = time.perf_counter() - t0
                info = self.build_info(stats, tokenizer)
                atomic_write_text(tmp / "build_info.json", json.dumps(info, indent=1, default=str))
            dataset = datasets.load_from_disk(str(cache_path))
        stats.seconds = time.perf_counter() - t0
        return MotionDatasetBuild(dataset, stats, cache_path, tokenizer)

    def build_info(self, stats: BuildStats, tokenizer: Any = None) -> dict[str, Any]:
        """Provenance written beside a built dataset: versions, config, tokenizer settings (of the
        tokenizer the ids were made with: ``tokenizer``, default the builder's), statistics."""
        from .. import __version__

        return {
            "hf_motion": __version__,
            "config": self.config.to_dict(),
            "tokenizer": getattr(tokenizer if tokenizer is not None else self.tokenizer, "quantization", None),
            "stats": stats.to_dict(),
        }

    def _split_of_groups(self, clips: list[MotionClip], results: list, used: list[int]) -> dict[str, str]:
        """Splits by group, weighted by the frames each group's clips hold."""
        weights: dict[str, float] = {}
        for i in used:
            weights[clips[i].group] = weights.get(clips[i].group, 0.0) + results[i]["frames"]
        return assign_splits(weights, self.config.splits, self.config.seed)

    def _fits_reference(self) -> bool:
        return self.config.angle_reference == "train-mean" and getattr(self.tokenizer, "angle_reference", None) is None

    def fit_angle_reference(self, clips: list[MotionClip], results: list[dict[str, Any] | None]) -> Any:
        """The builder's tokenizer with each joint's chordal mean rotation over the training
        split's frames as its angle reference (``results``: pass 1's per-clip frames and sums)."""
        from ..rotations import mean_rotation

        used = [i for i, r in enumerate(results) if r is not None]
        if not used:
            raise MotionDatasetError("no clip could be read to fit the angle reference")
        split_of_group = self._split_of_groups(clips, results, used)
        train = [i for i in used if split_of_group[clips[i].group] == "train"]
        if not train:
            raise MotionDatasetError(f"angle_reference='train-mean' needs a 'train' split with frames; the splits are {self.config.splits}")
        total = sum(results[i]["rotation_sum"] for i in train)
        names = list(results[used[0]]["joints"])
        return self.tokenizer.with_angle_reference(mean_rotation(total), names)

    def _load_cached(self, path: Path) -> MotionDatasetBuild | None:
        import datasets

        info_file = path / "build_info.json"
        if not info_file.is_file():
            return None
        try:
            stats = BuildStats.from_dict(json.loads(info_file.read_text(encoding="utf-8"))["stats"])
            dataset = datasets.load_from_disk(str(path))
        except Exception as e:  # a damaged cache is rebuilt, never trusted
            logger.warning("ignoring damaged dataset cache %s (%s); rebuilding", path, e)
            return None
        stats.from_cache = True
        tokenizer = self.tokenizer
        if self._fits_reference():
            tokenizer = self.tokenizer.with_angle_reference(
                json.loads(info_file.read_text(encoding="utf-8"))["tokenizer"]["angle_reference"], stats.joint_names
            )
        logger.info("loaded motion dataset from cache %s", path)
        return MotionDatasetBuild(dataset, stats, path, tokenizer)

    # -------------------------------------------------------------- internals
    def _joint_names(self) -> list[str] | str | None:
        """The configured joint subset as joint names (``None``: every clip keeps all its joints;
        ``"auto"``: resolved per clip from its skeleton)."""
        from ..skeletons import resolve_joint_subset

        joints = self.config.joints
        if isinstance(joints, str) and joints.strip().lower() in ("auto", "all"):  # e.g. set after __init__
            return None if joints.strip().lower() == "all" else "auto"
        return None if joints is None else resolve_joint_subset(joints)

    def _plan(self, tokenizer: Any = None, reference_only: bool = False) -> _Plan:
        c = self.config
        names = list(c.tasks)
        joints = self._joint_names()
        label = repr(c.joints) if isinstance(c.joints, str) else f"of {len(joints or [])} joints"
        prefer = getattr(self.tokenizer, "joint_names", None) if joints == "auto" else None
        if prefer is not None:
            label = f"'auto' (the tokenizer's {len(prefer)} joints)"
        return _Plan(tokenizer if tokenizer is not None else self.tokenizer, c.window, c.stride, c.fps, joints, label,
                     c.canonicalize, c.seed, names, np.array([c.tasks[n] for n in names], dtype=np.float64), prefer,
                     reference_only)  # fmt: skip

    def _check_same_joints(self, ref: tuple[str, list[str]] | None, path: str, joints: list[str]) -> tuple[str, list[str]]:
        """Refuse a clip whose joints differ from the first clip's (``ref``: its path and joints)."""
        if ref is None or ref[1] == joints:
            return ref or (path, joints)
        a, ja = ref
        common = [j for j in ja if j in set(joints)]
        if set(ja) == set(joints):
            share = "; they hold the same joints in another order"
        elif common:
            share = f"; these two share {len(common)} joint names ({_short_names(common)})"
        else:
            share = "; these two share no joint names"
        if self.config.joints is None:
            how = "With joints=None (--joints all) every file keeps its own skeleton"
        elif self.config.joints == "auto":
            how = "joints='auto' (the default) finds each file's core body joints by name, and found different ones"
        else:
            how = f"The joint subset {self.config.joints!r} gives them their joints in different orders"
        raise MotionDatasetError(
            f"cannot mix skeletons in one dataset: {a} has {len(ja)} joints ({_short_names(ja)}) but {path} has "
            f"{len(joints)} joints ({_short_names(joints)}){share}. {how}, so token rows would "
            "mean different joints. Select a joint subset that every file has (MotionDatasetConfig(joints=[...]), --joints a,b,c "
            "or a registered subset name), or build each skeleton's files separately"
        )

    def _run_clips(
        self, clips: list[MotionClip], num_proc: int | None, skip_bad: bool, progress: bool, stats: BuildStats,
        tokenizer: Any = None, reference_only: bool = False,
    ):  # fmt: skip
        from tqdm.auto import tqdm

        plan = self._plan(tokenizer, reference_only)
        if num_proc is None:
            num_proc = min(os.cpu_count() or 1, 8)
        num_proc = max(1, min(int(num_proc), len(clips)))
        results: list[dict[str, Any] | None] = [None] * len(clips)
        items = list(enumerate(clips))
        desc = "fitting the angle reference" if reference_only else "tokenizing motion clips"
        bar = tqdm(total=len(clips), desc=desc, unit="clip", disable=not progress)
        pool = None
        try:
            if num_proc == 1:
                _init_worker(plan)
                it = map(_encode_clip_safe, items)
            else:
                method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
                if method == "fork":
                    _preload_lazy_imports()
                pool = multiprocessing.get_context(method).Pool(num_proc, initializer=_init_worker, initargs=(plan,))
                it = pool.imap(_encode_clip_safe, items, chunksize=2)
            frames = 0
            ref = None  # (path, joints) of the first clip read: every other clip must match it
            for index, res in it:
                bar.update(1)
                if res.get("kind") == "joints":
                    raise MotionDatasetError(res["error"])
                if res.get("error"):
                    if not skip_bad:
                        raise MotionDatasetError(
                            f"cannot read motion file {clips[index].path}: {res['error']}\n"
                            "(pass skip_bad=True to skip unreadable files; command line: --skip-bad for "
                            "hf-motion build-dataset, --skip_bad for the recipes)"
                        )
                    logger.warning("skipping %s: %s", clips[index].path, res["error"])
                    stats.skipped.append((clips[index].path, res["error"]))
                    continue
                ref = self._check_same_joints(ref, clips[index].path, res["joints"])
                results[index] = res
                frames += res["frames"]
                bar.set_postfix(frames=f"{frames:,}", refresh=False)
        finally:
            bar.close()
            if pool is not None:
                pool.terminate()
                pool.join()
        return results

    def _build_in_memory(self, collection: MotionCollection, num_proc: int | None, skip_bad: bool, progress: bool, key: str):
        import datasets
        import pyarrow as pa
        from datasets.table import InMemoryTable

        cfg = self.config
        clips = list(collection)
        stats = BuildStats(clips=len(clips) + len(collection.skipped), skipped=list(collection.skipped))
        tokenizer = self.tokenizer
        if self._fits_reference():  # pass 1: the training split's mean pose, before any id is made
            first = BuildStats()
            tokenizer = self.fit_angle_reference(clips, self._run_clips(clips, num_proc, skip_bad, progress, first, reference_only=True))
        results = self._run_clips(clips, num_proc, skip_bad, progress, stats, tokenizer)
        used = [i for i, r in enumerate(results) if r is not None]
        if not used:
            raise MotionDatasetError(f"no clip could be read ({len(stats.skipped)} skipped); see the errors above")
        task_names = list(cfg.tasks)

        # Example table: clip-major, window start order.
        ex_clip = np.concatenate([np.full(len(results[i]["starts"]), i, np.int64) for i in used])
        ex_start = np.concatenate([results[i]["starts"] for i in used]).astype(np.int64)
        ex_task = np.concatenate([results[i]["tasks"] for i in used]).astype(np.int64)
        ex_len = np.concatenate([results[i]["lengths"] for i in used]).astype(np.int64)
        tokens = np.concatenate([results[i]["tokens"] for i in used])
        for i in used:
            results[i]["tokens"] = None  # the copy above is the only one kept
        ex_off = np.concatenate([[0], np.cumsum(ex_len)[:-1]]).astype(np.int64)

        stats.clips_used = len(used)
        stats.joint_names = list(results[used[0]]["joints"])
        expected = getattr(tokenizer, "joint_names", None)
        if expected is not None and stats.joint_names != list(expected):
            raise MotionDatasetError(
                f"{clips[used[0]].path}: its joints {stats.joint_names} are not the {len(expected)} joints "
                f"{list(expected)} the tokenizer was saved for; select them with the config's joints"
            )
        stats.clips_too_short = sum(1 for i in used if len(results[i]["starts"]) == 0)
        stats.frames = int(sum(results[i]["frames"] for i in used))
        stats.windows = int(len(ex_clip))
        stats.tokens = int(tokens.size)
        stats.position_values = int(sum(results[i]["pos_values"] for i in used))
        stats.position_values_clipped = int(sum(results[i]["pos_clipped"] for i in used))
        for k, name in enumerate(task_names):
            stats.windows_per_task[name] = int(np.count_nonzero(ex_task == k))
            stats.tokens_per_task[name] = int(ex_len[ex_task == k].sum())
        if stats.windows == 0:
            raise MotionDatasetError(f"no windows: all {len(used)} clips are shorter than window={cfg.window} frames at fps={cfg.fps}")
        if stats.position_values_clipped:
            frac = stats.position_values_clipped / stats.position_values
            worst = max(used, key=lambda i: results[i]["pos_clipped"])
            warnings.warn(
                f"{stats.position_values_clipped} of {stats.position_values} position values ({100 * frac:.3f}%) "
                f"fell outside the tokenizer's position box and were clipped (most in {clips[worst].path}); "
                "a shorter window or a wider position quantizer keeps them",
                stacklevel=3,
            )

        split_of_group = self._split_of_groups(clips, results, used)
        clip_split = {i: split_of_group[clips[i].group] for i in used}

        # Per-clip column values, gathered per example with Arrow ``take``.
        n_clips = len(clips)
        clip_cols: dict[str, pa.Array] = {
            "clip": pa.array([c.clip_id for c in clips], pa.string()),
            "group": pa.array([c.group for c in clips], pa.string()),
            "source": pa.array([c.path for c in clips], pa.string()),
            "fps": pa.array([float(results[i]["fps"]) if results[i] else float("nan") for i in range(n_clips)], pa.float32()),
        }
        # Text labels become ClassLabel columns whose names come from every clip, so the train,
        # validation and test splits share one class list (and one integer per class).
        class_names: dict[str, list[str]] = {}
        for key in collection.label_keys:
            values = [c.labels.get(key) for c in clips]
            try:
                arr = pa.array(values)
            except (pa.ArrowInvalid, pa.ArrowTypeError):
                arr = pa.array([None if v is None else str(v) for v in values], pa.string())
            if pa.types.is_null(arr.type):
                continue
            col = key if key not in _RESERVED_COLUMNS and key not in clip_cols else f"label_{key}"
            if pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type):
                names = sorted({v for v in arr.to_pylist() if v is not None})
                index = {n: i for i, n in enumerate(names)}
                arr = pa.array([None if v is None else index[v] for v in arr.to_pylist()], pa.int64())
                class_names[col] = names
            clip_cols[col] = arr
        task_arr = pa.array(task_names, pa.string())

        splits: dict[str, datasets.Dataset] = {}
        ex_split = np.array([clip_split[c] for c in ex_clip.tolist()], dtype=object) if len(ex_clip) else np.zeros(0, object)
        for s_index, split in enumerate(cfg.splits):
            members = np.flatnonzero(ex_split == split)
            order = members[np.random.default_rng([cfg.seed, s_index]).permutation(len(members))]
            lens = ex_len[order]
            new_off = np.concatenate([[0], np.cumsum(lens)])
            # Slices, not a fancy index: an int64 index array would be twice the tokens' size.
            flat = np.concatenate([tokens[o : o + n] for o, n in zip(ex_off[order].tolist(), lens.tolist())] or [tokens[:0]])
            split_clips = sorted({int(c) for c in ex_clip[order]})
            stats.split_clips[split] = len(split_clips)
            stats.split_groups[split] = len({clips[c].group for c in split_clips})
            if cfg.context_length is None:
                table = self._example_table(flat, new_off, order, ex_clip, ex_start, ex_task, clip_cols, task_arr)
            else:
                table, dropped = self._packed_table(flat, new_off, order, ex_clip, ex_task, clip_cols, task_arr)
                stats.dropped_tokens += dropped
            stats.split_rows[split] = table.num_rows
            stats.split_tokens[split] = _count_tokens(table)
            # An explicit fingerprint: otherwise datasets hashes (and copies) the whole table.
            fingerprint = hashlib.sha256(f"{key}:{split}".encode()).hexdigest()[:16]
            features = datasets.Features.from_arrow_schema(table.schema)
            for col, names in class_names.items():
                if col in features:
                    features[col] = datasets.ClassLabel(names=names)
            splits[split] = datasets.Dataset(
                InMemoryTable(table),
                info=datasets.DatasetInfo(features=features),
                split=datasets.NamedSplit(split),
                fingerprint=fingerprint,
            )
        stats.context_length = cfg.context_length
        return datasets.DatasetDict(splits), stats, tokenizer

    def _example_table(self, flat, offsets, order, ex_clip, ex_start, ex_task, clip_cols, task_arr):
        import pyarrow as pa

        take = pa.array(ex_clip[order])
        cols = {
            "input_ids": _list_array(offsets, flat.astype(np.int32, copy=False)),
            "attention_mask": _list_array(offsets, np.ones(flat.size, np.int8)),
            "task": task_arr.take(pa.array(ex_task[order])),
        }
        for name in ("clip", "group", "source"):
            cols[name] = clip_cols[name].take(take)
        cols["start_frame"] = pa.array(ex_start[order].astype(np.int32))
        cols["num_frames"] = pa.array(np.full(len(order), self.config.window, np.int32))
        cols["fps"] = clip_cols["fps"].take(take)
        for name, arr in clip_cols.items():
            if name not in cols:
                cols[name] = arr.take(take)
        return pa.table(cols)

    def _packed_table(self, flat, offsets, order, ex_clip, ex_task, clip_cols, task_arr):
        import pyarrow as pa

        L = self.config.context_length
        n_rows = flat.size // L
        dropped = int(flat.size - n_rows * L)
        ids = flat[: n_rows * L]
        row_off = np.arange(n_rows + 1, dtype=np.int64) * L
        starts = offsets[:-1]
        # Examples overlapping row r: from the one holding token r*L to the one holding token (r+1)*L-1.
        first = np.searchsorted(starts, np.arange(n_rows) * L, side="right") - 1
        last = np.searchsorted(starts, np.arange(1, n_rows + 1) * L - 1, side="right") - 1
        counts = last - first + 1
        list_off = np.concatenate([[0], np.cumsum(counts)])
        which = np.repeat(first, counts) + (np.arange(list_off[-1]) - np.repeat(list_off[:-1], counts))
        ex = order[which]
        lo = pa.array(list_off.astype(np.int32))
        cols = {
            "input_ids": _list_array(row_off, ids),
            "attention_mask": _list_array(row_off, np.ones(ids.size, np.int8)),
            "labels": _list_array(row_off, ids.copy()),
            # Per token, the index (into the config's tasks) of the example it belongs to: what
            # per-task loss weights need, also where a row starts inside an example.
            "token_task": _list_array(row_off, np.repeat(ex_task[order].astype(np.int8), np.diff(offsets))[: n_rows * L]),
            "tasks": pa.ListArray.from_arrays(lo, task_arr.take(pa.array(ex_task[ex]))),
            "clips": pa.ListArray.from_arrays(lo, clip_cols["clip"].take(pa.array(ex_clip[ex]))),
            "groups": pa.ListArray.from_arrays(lo, clip_cols["group"].take(pa.array(ex_clip[ex]))),
        }
        return pa.table(cols), dropped


def _list_array(offsets: np.ndarray, values: np.ndarray):
    """An Arrow list column from numpy offsets and flat values (large lists past 2**31 values)."""
    import pyarrow as pa

    if offsets[-1] < 2**31:
        return pa.ListArray.from_arrays(pa.array(offsets.astype(np.int32)), pa.array(values))
    return pa.LargeListArray.from_arrays(pa.array(offsets.astype(np.int64)), pa.array(values))


def _count_tokens(table) -> int:
    import pyarrow.compute as pc

    return int(pc.sum(pc.list_value_length(table.column("input_ids"))).as_py() or 0)


def build_motion_dataset(
    sources: Any,
    config: MotionDatasetConfig | None = None,
    tokenizer: Any = None,
    **build_kwargs: Any,
):
    """Build a ``datasets.DatasetDict`` of M5 multi-task token sequences (see :class:`MotionDatasetBuilder`).

    ``build_kwargs`` go to :meth:`MotionDatasetBuilder.build` (``num_proc``, ``cache_dir``,
    ``skip_bad``, ``progress``).
    """
    return MotionDatasetBuilder(config, tokenizer).build(sources, **build_kwargs).dataset
