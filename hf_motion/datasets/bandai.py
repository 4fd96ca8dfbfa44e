"""The Bandai-Namco-Research-Motiondataset (CC BY-NC 4.0, Kobayashi et al. 2023, arXiv:2306.08861).

Layout (as in the public download; ``dataset-N`` may also be named
``Bandai-Namco-Research-Motiondataset-N``, optionally under a ``dataset/`` folder)::

    <root>/dataset-1/data/dataset-1_{content}_{style}_{take}.bvh  (+ .json {"content": i, "style": j})
    <root>/dataset-1/cfg/content_label.txt, style_label.txt      (one "dataset-1_<name>" per line)
    <root>/dataset-2/dataset-2_data.tar.xz                       (or data/ already unpacked, or a .zip)
    <root>/dataset-2/cfg/...

Clips are read in place; an archive is unpacked once into a cache folder outside the repository.
Labels per clip: ``content`` and ``style`` (names, ``dataset-N_`` prefix stripped), their indices
``content_id`` / ``style_id``, ``dataset`` and ``take`` (the trailing number).

Grouping for leakage-free splits. The data were recorded by three professional actors, but the
files do not say which actor performed which clip, so a per-person split is impossible. What
certainly leaks is a *session*: the repeated takes of one content in one style
(``dataset-1_walk_proud_001`` and ``_002``) are near-duplicates performed by the same actor one
after the other. The default ``group_by="session"`` therefore keys clips by
``dataset-N_{content}_{style}``, so all takes of a session stay on one side of a split. Use
``group_by="style"`` (``dataset-N_{style}``) for the stricter split where a style, and with it
most likely its performer, is never seen in training, or ``"clip"`` for one group per file.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .archive import default_cache_dir, unpack_archive_cached
from .folders import MotionCollection, MotionDatasetError, MotionFolder

__all__ = ["bandai_namco", "find_bandai_root", "BANDAI_SUBSETS", "BANDAI_GROUPINGS"]

logger = logging.getLogger(__name__)

BANDAI_DIRNAME = "bandai-namco-motion"
BANDAI_SUBSETS = ("dataset-1", "dataset-2")
BANDAI_GROUPINGS = ("session", "style", "clip")
_ARCHIVE_SUFFIXES = (".tar.xz", ".txz", ".tar.gz", ".tgz", ".tar.bz2", ".tar", ".zip")


def _repo_root(start: Path) -> Path:
    """The nearest folder at or above ``start`` holding ``.git`` or ``pyproject.toml`` (else ``start``)."""
    for d in (start, *start.parents):
        if (d / ".git").exists() or (d / "pyproject.toml").is_file():
            return d
    return start


def _default_roots() -> list[Path]:
    env = os.environ.get("HF_MOTION_DATA")
    if env:
        return [Path(env).expanduser() / BANDAI_DIRNAME]
    cands = [_repo_root(Path.cwd()), _repo_root(Path(__file__).resolve().parent)]
    out: list[Path] = []
    for c in cands:
        p = (c.parent / "shared" / "data" / BANDAI_DIRNAME).resolve()
        if p not in out:
            out.append(p)
    return out


def find_bandai_root(root: str | os.PathLike | None = None) -> Path:
    """The Bandai-Namco data folder: ``root`` if given, else ``$HF_MOTION_DATA/bandai-namco-motion``,
    else ``../shared/data/bandai-namco-motion`` beside the current repository (or the installed
    package's repository).

    Raises:
        MotionDatasetError: nothing found, with the paths tried and how to point at a download.
    """
    cands = [Path(root).expanduser()] if root is not None else _default_roots()
    for c in cands:
        if c.is_dir():
            return c.resolve()
    tried = ", ".join(str(c) for c in cands)
    raise MotionDatasetError(
        f"Bandai-Namco motion data not found (looked in: {tried}). Download it from "
        "https://github.com/BandaiNamcoResearchInc/Bandai-Namco-Research-Motiondataset and pass "
        "bandai_namco(root='/path/to/it'), or set HF_MOTION_DATA to the folder that contains "
        f"'{BANDAI_DIRNAME}/'."
    )


def _subset_dir(root: Path, subset: str) -> Path:
    number = subset.rsplit("-", 1)[-1]
    for cand in (
        root / subset,
        root / f"Bandai-Namco-Research-Motiondataset-{number}",
        root / "dataset" / f"Bandai-Namco-Research-Motiondataset-{number}",
    ):
        if cand.is_dir():
            return cand
    raise MotionDatasetError(f"Bandai-Namco subset {subset!r} not found under {root} (expected {root / subset})")


def _data_dir(subset_dir: Path, subset: str, cache_dir: Path, progress: bool) -> Path:
    """The folder holding the subset's BVH files: in place, or unpacked from its archive."""
    data = subset_dir / "data"
    if data.is_dir() and any(data.glob("*.bvh")):
        return data
    archives = sorted(p for p in subset_dir.iterdir() if p.is_file() and p.name.lower().endswith(_ARCHIVE_SUFFIXES))
    if not archives:
        raise MotionDatasetError(f"{subset_dir}: neither a data/ folder with BVH files nor an archive ({_ARCHIVE_SUFFIXES})")
    unpacked = unpack_archive_cached(archives[0], cache_dir, progress=progress)
    folders = sorted({p.parent for p in unpacked.rglob("*.bvh")})
    if not folders:
        raise MotionDatasetError(f"{archives[0]} (unpacked in {unpacked}) holds no BVH files")
    if len(folders) > 1:
        raise MotionDatasetError(f"{archives[0]}: BVH files in several folders ({folders[:3]}...); expected one data/ folder")
    return folders[0]


def _read_names(path: Path, prefix: str) -> list[str]:
    if not path.is_file():
        raise MotionDatasetError(f"label names file {path} is missing")
    names = [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]
    return [n[len(prefix) :] if n.startswith(prefix) else n for n in names]


def _label_names(subset_dir: Path, data_dir: Path, subset: str) -> tuple[list[str], list[str]]:
    for cfg in (subset_dir / "cfg", data_dir.parent / "cfg"):
        if (cfg / "content_label.txt").is_file():
            prefix = f"{subset}_"
            return _read_names(cfg / "content_label.txt", prefix), _read_names(cfg / "style_label.txt", prefix)
    raise MotionDatasetError(f"{subset_dir}: cfg/content_label.txt not found (needed to name the labels)")


class _BandaiLabels:
    """Label decoding for one subset: JSON indices -> names, checked against the file name.

    A class (not a closure) so that collections stay picklable for worker processes.
    """

    def __init__(self, subset: str, contents: list[str], styles: list[str]) -> None:
        self.subset, self.contents, self.styles = subset, contents, styles

    def __call__(self, path: Path, raw: dict[str, Any]) -> dict[str, Any]:
        parts = path.stem.split("_")
        if len(parts) != 4 or parts[0] != self.subset:
            raise MotionDatasetError(f"{path}: expected a file name '{self.subset}_{{content}}_{{style}}_{{take}}', got {path.stem!r}")
        _, content, style, take = parts
        if "content" in raw and "style" in raw:
            ci, si = raw["content"], raw["style"]
            for what, idx, names in (("content", ci, self.contents), ("style", si, self.styles)):
                if not isinstance(idx, int) or not 0 <= idx < len(names):
                    raise MotionDatasetError(f"{path.with_suffix('.json')}: {what} index {idx!r} is not in 0..{len(names) - 1}")
            if (self.contents[ci], self.styles[si]) != (content, style):
                raise MotionDatasetError(
                    f"{path}: labels disagree: the JSON says content={self.contents[ci]!r}, style={self.styles[si]!r} "
                    f"but the file name says content={content!r}, style={style!r}"
                )
        else:
            # No JSON: the file name alone names the labels.
            if content not in self.contents or style not in self.styles:
                raise MotionDatasetError(f"{path}: no label JSON and {content!r}/{style!r} are not in the cfg label lists")
            ci, si = self.contents.index(content), self.styles.index(style)
        out = {k: v for k, v in raw.items() if k not in ("content", "style")}
        out.update(
            dataset=self.subset,
            content=content,
            style=style,
            content_id=int(ci),
            style_id=int(si),
            take=int(take) if take.isdigit() else take,
        )
        return out


class _BandaiGroup:
    def __init__(self, group_by: str) -> None:
        self.group_by = group_by

    def __call__(self, clip) -> str:
        lab = clip.labels
        if self.group_by == "session":
            return f"{lab['dataset']}_{lab['content']}_{lab['style']}"
        if self.group_by == "style":
            return f"{lab['dataset']}_{lab['style']}"
        return clip.clip_id


def bandai_namco(
    root: str | os.PathLike | None = None,
    subsets: Sequence[str] | str = BANDAI_SUBSETS,
    cache_dir: str | os.PathLike | None = None,
    group_by: str = "session",
    progress: bool = True,
    on_error: str = "raise",
) -> MotionCollection:
    """The Bandai-Namco motion dataset as a lazy :class:`MotionCollection` (3,076 clips, 30 fps).

    Args:
        root: the data folder (see :func:`find_bandai_root` for the default).
        subsets: ``"dataset-1"``, ``"dataset-2"`` or both.
        cache_dir: where archives are unpacked (once): default ``$HF_MOTION_CACHE/bandai-namco-motion``
            or ``~/.cache/hf_motion/bandai-namco-motion``. Never inside the data folder.
        group_by: ``"session"`` (default: all takes of one content+style), ``"style"`` or ``"clip"``;
            see the module docstring for why.
        progress: show a progress bar while unpacking.
        on_error: ``"raise"`` or ``"skip"`` for clips whose labels are inconsistent.

    Clip ids are the file stems (``dataset-1_walk_normal_001``); labels: ``content``, ``style``,
    ``content_id``, ``style_id``, ``dataset``, ``take``.
    """
    if isinstance(subsets, str):
        subsets = [subsets]
    unknown = [s for s in subsets if s not in BANDAI_SUBSETS]
    if unknown or not subsets:
        raise ValueError(f"unknown Bandai-Namco subsets {unknown or subsets}; choose from {list(BANDAI_SUBSETS)}")
    if group_by not in BANDAI_GROUPINGS:
        raise ValueError(f"group_by must be one of {list(BANDAI_GROUPINGS)}, got {group_by!r}")
    base = find_bandai_root(root)
    cache = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir() / BANDAI_DIRNAME
    folders = []
    for subset in subsets:
        sdir = _subset_dir(base, subset)
        data = _data_dir(sdir, subset, cache, progress)
        contents, styles = _label_names(sdir, data, subset)
        folders.append(
            MotionFolder(
                data,
                pattern=f"{subset}_*.bvh",
                label_transform=_BandaiLabels(subset, contents, styles),
                group_by=_BandaiGroup(group_by),
                name=None,
                on_error=on_error,
            )
        )
    return MotionCollection.concat(folders, name=BANDAI_DIRNAME)
