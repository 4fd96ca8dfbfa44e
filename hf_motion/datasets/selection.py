"""Which labelled clips a cross-validated run uses: a named source or a folder, filtered and capped.

:class:`ClipSelectionArguments` is declared once here and shared by fine-tuning
(:mod:`hf_motion.finetuning`) and the kinematic baseline (:mod:`hf_motion.baselines.kinematic`),
so the two pick the same clips from the same options; :func:`select_clips` applies them.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import MotionDatasetError

__all__ = ["ClipSelectionArguments", "select_clips", "cap_clips_per_group", "is_bandai_source"]

logger = logging.getLogger(__name__)


@dataclass
class ClipSelectionArguments:
    """Which clips, labels and groups."""

    data: str = field(
        default="bandai-namco:dataset-1",
        metadata={
            "help": "A folder of motion files, or a named source: bandai-namco:dataset-1, bandai-namco:dataset-2, "
            "bandai-namco:dataset-1,dataset-2."
        },  # fmt: skip
    )
    pattern: str = field(default="**/*.bvh", metadata={"help": "Glob pattern of motion files inside a folder."})
    labels: str | None = field(
        default=None, metadata={"help": "CSV/JSON of per-clip labels for a folder (key column clip/file/path/name)."}
    )
    group_by: str | None = field(
        default=None,
        metadata={
            "help": "Cross-validation group: a label name (e.g. patient), 'parent' (sub-folder), 'clip'; for Bandai "
            "'session' (default), 'style' or 'clip'. Folders default to 'clip', which leaks repeated recordings "
            "of one person across folds: set it to the patient."
        },  # fmt: skip
    )
    where: list[str] = field(
        default_factory=list, metadata={"help": "Keep only clips whose label matches: column=value1,value2 (repeatable)."}
    )
    max_clips: int | None = field(default=None, metadata={"help": "Use at most this many clips (whole groups, seeded)."})
    max_clips_per_group: int | None = field(
        default=None, metadata={"help": "Keep at most this many clips of each group (seeded draw; 0 or none: all)."}
    )

    def __post_init__(self) -> None:
        if self.max_clips_per_group == 0:  # 0 on the command line: no cap
            self.max_clips_per_group = None
        for name in ("max_clips", "max_clips_per_group"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise MotionDatasetError(f"--{name} must be >= 1, got {value}")
        for rule in self.where:
            column, sep, values = rule.partition("=")
            if not sep or not column or not values:
                raise MotionDatasetError(f"--where {rule!r}: expected column=value1,value2")


def is_bandai_source(data: str) -> bool:
    """Whether ``data`` names the Bandai-Namco source (and is not a folder of that name)."""
    return data.partition(":")[0] == "bandai-namco" and not Path(data).exists()


def cap_clips_per_group(clips: Sequence, max_per_group: int | None, seed: int) -> list:
    """At most ``max_per_group`` clips of each group, drawn with ``seed``; the original order is kept."""
    if max_per_group is None:
        return list(clips)
    by_group: dict[str, list[int]] = {}
    for i, c in enumerate(clips):
        by_group.setdefault(c.group, []).append(i)
    rng = np.random.default_rng(seed)
    keep: set[int] = set()
    for group in sorted(by_group):
        members = by_group[group]
        if len(members) > max_per_group:
            members = rng.choice(members, size=max_per_group, replace=False).tolist()
        keep.update(members)
    return [c for i, c in enumerate(clips) if i in keep]


def _cap_clips(collection, max_clips: int, seed: int):
    """Whole groups, in a seeded order, until at least ``max_clips`` clips are kept."""
    groups = collection.groups
    sizes = {g: 0 for g in groups}
    for c in collection:
        sizes[c.group] += 1
    chosen, count = set(), 0
    for k in np.random.default_rng(seed).permutation(len(groups)):
        if count >= max_clips:
            break
        chosen.add(groups[k])
        count += sizes[groups[k]]
    return collection.filter(lambda c: c.group in chosen)


def select_clips(args: ClipSelectionArguments, seed: int, progress: bool = True) -> list:
    """The clips ``args`` describe, as :class:`~hf_motion.datasets.MotionClip` objects (read lazily).

    Raises:
        MotionDatasetError: an unknown Bandai grouping, a ``where`` rule naming a label no clip has
            or leaving no clip.
    """
    from .bandai import BANDAI_GROUPINGS, bandai_namco
    from .folders import MotionFolder

    if is_bandai_source(args.data):
        group_by = args.group_by or "session"
        if group_by not in BANDAI_GROUPINGS:
            raise MotionDatasetError(f"--group_by for Bandai-Namco must be one of {list(BANDAI_GROUPINGS)}, got {group_by!r}")
        subsets = [s for s in args.data.partition(":")[2].split(",") if s] or ["dataset-1", "dataset-2"]
        collection = bandai_namco(subsets=subsets, group_by=group_by, progress=progress)
    else:
        if args.group_by is None:
            logger.warning(
                "no --group_by given: every clip is its own group, so repeated recordings of one person can land in "
                "both training and test folds; pass --group_by <patient label> for honest numbers"
            )
        collection = MotionFolder(args.data, pattern=args.pattern, labels=args.labels, group_by=args.group_by or "clip")
    for rule in args.where:
        column, _, values = rule.partition("=")
        keep = {v.strip() for v in values.split(",")}
        if not any(column in c.labels for c in collection):
            raise MotionDatasetError(f"--where {rule!r}: no clip has a {column!r} label; labels: {collection.label_keys}")
        collection = collection.filter(lambda c, col=column, keep=keep: str(c.labels.get(col)) in keep)
        if not len(collection):
            raise MotionDatasetError(f"--where {rule!r} leaves no clips")
    if args.max_clips is not None and len(collection) > args.max_clips:
        collection = _cap_clips(collection, args.max_clips, seed)
    return cap_clips_per_group(list(collection), args.max_clips_per_group, seed)
