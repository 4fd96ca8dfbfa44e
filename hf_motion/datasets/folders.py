"""Motion collections: folders of motion files plus label files, read lazily.

A :class:`MotionCollection` is an ordered list of :class:`MotionClip` records (file, clip id,
labels, group); nothing is read from a motion file until :meth:`MotionClip.load`. A
:class:`MotionFolder` builds one from a folder: every file matching a glob pattern, labels from a
JSON file beside each motion file and/or a CSV / mapping / callable, and a group key per clip for
leakage-free splits. Files are read through a registry keyed by extension
(:data:`MOTION_READERS`: ``.bvh`` -> :func:`hf_motion.load_bvh`, ``.npz`` ->
:func:`hf_motion.amass.load_amass`), so a new format is one :func:`register_motion_reader` call.
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import MotionDatasetError

# The readers live below the datasets layer (the processor reads files too); re-exported here.
from ..io.readers import MOTION_READERS, _extension_of, load_motion, reader_kwargs_for, register_motion_reader
from ..motion import Motion

__all__ = [
    "MotionDatasetError",
    "MotionClip",
    "MotionCollection",
    "MotionFolder",
    "MOTION_READERS",
    "register_motion_reader",
    "load_motion",
    "reader_kwargs_for",
    "file_digest",
]

logger = logging.getLogger(__name__)


# ---------------------------------------------------------------- content digests

# Per-process memo: (real path) -> ((size, mtime_ns, ctime_ns, inode, device), digest). A write
# updates ctime, which os.utime cannot set back, so an in-place edit that keeps size and mtime
# still misses the memo. Nothing is persisted between processes.
_DIGESTS: dict[str, tuple[tuple[int, int, int, int, int], str]] = {}
_DIGESTS_LOCK = threading.Lock()


def file_digest(path: str | os.PathLike) -> str:
    """SHA-256 of the file's bytes (hex), memoised within this process by (size, mtime, ctime, inode).

    About 0.04 s for the 40 MB of Bandai-Namco dataset-1 (174 files) with a warm page cache;
    SHA-256 is hardware-accelerated on current x86 and ARM CPUs.
    """
    real = os.path.realpath(path)
    st = os.stat(real)
    stamp = (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev)
    with _DIGESTS_LOCK:
        hit = _DIGESTS.get(real)
    if hit is not None and hit[0] == stamp:
        return hit[1]
    h = hashlib.sha256()
    with open(real, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    digest = h.hexdigest()
    with _DIGESTS_LOCK:
        _DIGESTS[real] = (stamp, digest)
    return digest


# ---------------------------------------------------------------- clips


@dataclass
class MotionClip:
    """One motion file in a collection (metadata only; :meth:`load` reads it).

    Args:
        path: the motion file.
        clip_id: identifier, unique within a collection (a folder's clips use their relative path
            without extension).
        group: split key: clips sharing a group always land in the same train/validation/test split.
        labels: label values (``{"content": "walk", "style": "normal", ...}``).
        reader_kwargs: keyword arguments for the file's reader (e.g. ``{"body_model": ...}`` for AMASS).
    """

    path: str
    clip_id: str
    group: str
    labels: dict[str, Any] = field(default_factory=dict)
    reader_kwargs: dict[str, Any] = field(default_factory=dict)

    def load(self) -> Motion:
        """The clip as a :class:`~hf_motion.Motion`; its ``labels`` gain the clip's labels, ``clip`` and ``group``."""
        motion = load_motion(self.path, **self.reader_kwargs)
        motion.labels.update(self.labels)
        motion.labels["clip"] = self.clip_id
        motion.labels["group"] = self.group
        return motion

    def file_signature(self) -> tuple[str, int, str]:
        """``(path, size, content digest)``: changes whenever the file's bytes do (used in cache keys).

        Keyed by content, not modification time: a file edited in place with its size and mtime
        kept still gets a new signature, and a file merely touched keeps its old one.
        """
        return (self.path, os.stat(self.path).st_size, file_digest(self.path))


class MotionCollection(Sequence[MotionClip]):
    """An ordered, indexable list of :class:`MotionClip` (lazy: nothing is loaded up front).

    ``collection[i]`` is a :class:`MotionClip`; ``collection.load(i)`` or ``clip.load()`` reads the
    motion. Collections concatenate with ``+`` (clip ids must stay unique).

    Args:
        clips: the clips.
        name: a display name.
    """

    def __init__(self, clips: Iterable[MotionClip], name: str | None = None) -> None:
        self.clips: list[MotionClip] = list(clips)
        self.name = name
        seen: dict[str, str] = {}
        for c in self.clips:
            if c.clip_id in seen:
                raise MotionDatasetError(
                    f"clip id {c.clip_id!r} is used by both {seen[c.clip_id]} and {c.path}; clip ids must be "
                    "unique (give each folder a distinct MotionFolder(name=...) to prefix its ids)"
                )
            seen[c.clip_id] = c.path
        #: files that were found but could not be listed (``(path, error)``), see ``on_error="skip"``.
        self.skipped: list[tuple[str, str]] = []

    def __len__(self) -> int:
        return len(self.clips)

    def __getitem__(self, index):  # type: ignore[override]
        if isinstance(index, slice):
            return MotionCollection(self.clips[index], self.name)
        return self.clips[index]

    def __iter__(self) -> Iterator[MotionClip]:
        return iter(self.clips)

    def __add__(self, other: MotionCollection) -> MotionCollection:
        out = MotionCollection(list(self.clips) + list(other.clips), self.name or other.name)
        out.skipped = list(self.skipped) + list(other.skipped)
        return out

    def __repr__(self) -> str:
        name = f"{self.name!r}, " if self.name else ""
        return f"{type(self).__name__}({name}clips={len(self)}, groups={len(self.groups)}, labels={self.label_keys})"

    @classmethod
    def concat(cls, collections: Iterable[MotionCollection], name: str | None = None) -> MotionCollection:
        """One collection holding the clips of all ``collections`` in order."""
        collections = list(collections)
        out = MotionCollection([c for col in collections for c in col.clips], name)
        out.skipped = [s for col in collections for s in col.skipped]
        return out

    def load(self, index: int) -> Motion:
        """Read clip ``index``."""
        return self.clips[index].load()

    def motions(self) -> Iterator[Motion]:
        """Read the clips one by one."""
        for clip in self.clips:
            yield clip.load()

    def filter(self, predicate: Callable[[MotionClip], bool]) -> MotionCollection:
        """The clips for which ``predicate(clip)`` is true."""
        return MotionCollection([c for c in self.clips if predicate(c)], self.name)

    @property
    def groups(self) -> list[str]:
        """Distinct group keys, sorted."""
        return sorted({c.group for c in self.clips})

    @property
    def label_keys(self) -> list[str]:
        """Label names used by any clip, sorted."""
        return sorted({k for c in self.clips for k in c.labels})

    def fingerprint(self) -> str:
        """A hash over every clip's file signature (path, size, content digest), id, group, labels
        and reader options."""
        h = hashlib.sha256()
        for c in self.clips:
            rec = [c.file_signature(), c.clip_id, c.group, c.labels, c.reader_kwargs]
            h.update(json.dumps(rec, sort_keys=True, default=str).encode())
        return h.hexdigest()


# ---------------------------------------------------------------- folders

LabelSource = Mapping[str, Mapping[str, Any]] | str | os.PathLike | Callable[[Path], Mapping[str, Any]] | None
GroupBy = str | Callable[[MotionClip], str]

# Column names accepted as the file key of a label CSV.
_CSV_KEY_COLUMNS = ("clip", "file", "path", "filename", "name")


def _parse_scalar(text: str) -> Any:
    """CSV cell -> int/float when it round-trips exactly (so "001" stays a string), else the string."""
    try:
        if str(int(text)) == text:
            return int(text)
    except ValueError:
        pass
    try:
        if repr(float(text)) == text:
            return float(text)
    except ValueError:
        pass
    return text


def _read_label_table(path: Path) -> dict[str, dict[str, Any]]:
    """A CSV (key column one of clip/file/path/filename/name) or JSON mapping of clip -> labels."""
    if not path.is_file():
        raise MotionDatasetError(f"label file {path} does not exist")
    if path.suffix.lower() == ".json":
        try:
            table = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as e:
            raise MotionDatasetError(f"label file {path}: invalid JSON ({e})") from None
        if not isinstance(table, dict) or not all(isinstance(v, dict) for v in table.values()):
            raise MotionDatasetError(f"label file {path}: expected a JSON object mapping clip -> {{label: value}}")
        return table
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        columns = reader.fieldnames or []
        key = next((c for c in columns if c.strip().lower() in _CSV_KEY_COLUMNS), None)
        if key is None:
            raise MotionDatasetError(f"label file {path}: no key column; the header {columns} needs one of {list(_CSV_KEY_COLUMNS)}")
        table: dict[str, dict[str, Any]] = {}
        for line, row in enumerate(reader, start=2):
            name = (row.pop(key) or "").strip()
            if not name:
                raise MotionDatasetError(f"label file {path}, line {line}: empty {key!r}")
            if None in row:
                raise MotionDatasetError(f"label file {path}, line {line}: more values than header columns")
            if name in table:
                raise MotionDatasetError(f"label file {path}, line {line}: {name!r} is listed twice")
            table[name] = {k.strip(): _parse_scalar(v.strip()) for k, v in row.items() if v is not None and v.strip() != ""}
        return table


def _lookup(table: Mapping[str, Mapping[str, Any]], rel: str, clip_id: str) -> Mapping[str, Any] | None:
    """Labels for a file by relative path (with or without extension), clip id or file stem."""
    stem = Path(rel).stem
    for key in (rel, clip_id, str(Path(rel).with_suffix("")), Path(rel).name, stem):
        if key in table:
            return table[key]
    return None


class MotionFolder(MotionCollection):
    """Every motion file under ``root`` matching ``pattern``, with labels and a group key per clip.

    Args:
        root: the folder.
        pattern: glob pattern(s) relative to ``root`` (``"**/*.bvh"``: every BVH file at any depth;
            ``"**/*_poses.npz"`` for AMASS). Each matched file needs a registered reader.
        labels: extra labels: a mapping ``{clip: {label: value}}``, a CSV or JSON file of the same
            (CSV key column ``clip``/``file``/``path``/``filename``/``name``; keys may be the relative
            path with or without extension, or the file stem), or a callable ``path -> dict``.
        json_labels: also read ``<file stem>.json`` beside each motion file, if present (a JSON
            object of labels). Label files without a motion file are listed in
            ``orphan_label_files`` and logged.
        label_transform: ``f(path, labels) -> labels`` applied last (dataset-specific decoding,
            e.g. Bandai-Namco's label indices -> names); may raise :class:`MotionDatasetError`.
        group_by: the split key: ``"clip"`` (each clip alone), ``"parent"`` (the file's folder,
            e.g. the subject folder in AMASS), the name of a label, or a callable ``clip -> str``.
        reader_kwargs: keyword arguments for the readers (e.g. ``{"scale": 0.01}``), or per
            extension when every key starts with a dot (``{".npz": {"body_model": "models/"}}``).
        name: prefix for clip ids (``name/relative/path``); use it to combine folders whose
            relative paths collide.
        on_error: ``"raise"`` (default) or ``"skip"``: what to do with a file whose labels
            cannot be read; skipped files are listed in ``skipped`` as ``(path, error)``.
    """

    def __init__(
        self,
        root: str | os.PathLike,
        pattern: str | Sequence[str] = "**/*.bvh",
        labels: LabelSource = None,
        json_labels: bool = True,
        label_transform: Callable[[Path, dict[str, Any]], dict[str, Any]] | None = None,
        group_by: GroupBy = "clip",
        reader_kwargs: Mapping[str, Any] | None = None,
        name: str | None = None,
        on_error: str = "raise",
    ) -> None:
        if on_error not in ("raise", "skip"):
            raise ValueError(f"on_error must be 'raise' or 'skip', got {on_error!r}")
        self.root = Path(root).expanduser().resolve()
        if not self.root.is_dir():
            raise MotionDatasetError(f"motion folder {self.root} does not exist or is not a folder")
        patterns = [pattern] if isinstance(pattern, str) else list(pattern)
        files = sorted({p for pat in patterns for p in self.root.glob(pat) if p.is_file()})
        if not files:
            raise MotionDatasetError(f"no files matching {patterns} under {self.root}")
        no_reader = [f for f in files if _extension_of(f) is None]
        if no_reader:
            raise MotionDatasetError(
                f"{no_reader[0]} matches {patterns} but has no motion reader ({len(no_reader)} such files); "
                f"registered extensions: {sorted(MOTION_READERS)}. Narrow the pattern or register a reader."
            )
        table = labels if callable(labels) or labels is None or isinstance(labels, Mapping) else _read_label_table(Path(labels))
        prefix = f"{name}/" if name else ""
        self.orphan_label_files: list[Path] = []
        clips: list[MotionClip] = []
        skipped: list[tuple[str, str]] = []
        for f in files:
            rel = f.relative_to(self.root).as_posix()
            ext = _extension_of(f) or ""
            clip_id = prefix + rel[: len(rel) - len(ext)]
            try:
                clip_labels = self._labels_for(f, rel, clip_id, table, json_labels, label_transform)
                clip = MotionClip(str(f), clip_id, "", clip_labels, reader_kwargs_for(reader_kwargs, ext))
                clip.group = self._group_for(clip, rel, group_by)
            except MotionDatasetError as e:
                if on_error == "raise":
                    raise
                logger.warning("skipping %s: %s", f, e)
                skipped.append((str(f), str(e)))
                continue
            clips.append(clip)
        if json_labels:
            have = {f.with_suffix("") for f in files}
            for d in sorted({f.parent for f in files}):
                for js in sorted(d.glob("*.json")):
                    if js.with_suffix("") not in have:
                        self.orphan_label_files.append(js)
            for js in self.orphan_label_files:
                logger.info("label file %s has no motion file beside it; ignored", js)
        super().__init__(clips, name or self.root.name)
        self.skipped = skipped

    @staticmethod
    def _labels_for(
        path: Path,
        rel: str,
        clip_id: str,
        table: LabelSource,
        json_labels: bool,
        transform: Callable[[Path, dict[str, Any]], dict[str, Any]] | None,
    ) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if json_labels:
            js = path.with_suffix(".json")
            if js.is_file():
                try:
                    data = json.loads(js.read_text(encoding="utf-8"))
                except (json.JSONDecodeError, UnicodeDecodeError) as e:
                    raise MotionDatasetError(f"label file {js}: invalid JSON ({e})") from None
                if not isinstance(data, dict):
                    raise MotionDatasetError(f"label file {js}: expected a JSON object of labels, got {type(data).__name__}")
                out.update(data)
        if callable(table):
            extra = table(path)
            if extra is not None:
                out.update(extra)
        elif table is not None:
            extra = _lookup(table, rel, clip_id)
            if extra is not None:
                out.update(extra)
        if transform is not None:
            out = dict(transform(path, out))
        return out

    @staticmethod
    def _group_for(clip: MotionClip, rel: str, group_by: GroupBy) -> str:
        if callable(group_by):
            return str(group_by(clip))
        if group_by == "clip":
            return clip.clip_id
        if group_by == "parent":
            parent = Path(rel).parent.as_posix()
            return parent if parent != "." else "."
        if group_by not in clip.labels:
            raise MotionDatasetError(
                f"{clip.path}: group_by={group_by!r} but the clip has no such label (labels: {sorted(clip.labels)}); "
                "use 'clip', 'parent', a label name or a callable"
            )
        return str(clip.labels[group_by])
