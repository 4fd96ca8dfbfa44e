"""Motion collections and M5 multi-task training data built with the Hugging Face ``datasets`` library.

* :class:`MotionFolder` / :class:`MotionCollection`: folders of motion files plus labels, read lazily
  through a reader registry keyed by file extension;
* :func:`bandai_namco`: the Bandai-Namco-Research-Motiondataset through the same code path;
* :class:`MotionDatasetConfig` / :func:`build_motion_dataset`: windowed ACM / PCM / FK / IK token
  sequences as a ``datasets.DatasetDict`` split by group.

Note: inside this package ``import datasets`` still means the Hugging Face library.
"""

from .archive import default_cache_dir, unpack_archive_cached
from .bandai import BANDAI_SUBSETS, bandai_namco, find_bandai_root
from .folders import (
    MOTION_READERS,
    MotionClip,
    MotionCollection,
    MotionDatasetError,
    MotionFolder,
    file_digest,
    load_motion,
    register_motion_reader,
)
from .builder import (
    MOTION_SOURCES,
    MOTION_TASKS,
    BuildStats,
    MotionDatasetBuild,
    MotionDatasetBuilder,
    MotionDatasetConfig,
    MotionTask,
    as_collection,
    assign_splits,
    build_motion_dataset,
    tokenizer_fingerprint,
)
