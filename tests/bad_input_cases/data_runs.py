"""Bad-input catalogue, area ``data_runs``: dataset caches, skeleton mixing, pretraining reruns,
atomic folder swaps and cross-validation folds.

Real data: Bandai-Namco dataset-1 clips are read in place (copied into ``tmp_path`` only where a
case edits one); ``tests/fixtures/cmu_31joint.bvh`` is the 31-joint skeleton.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from unittest import mock

from bad_input_cases import Case

from conftest import BANDAI1, REPO

CMU = REPO / "tests" / "fixtures" / "cmu_31joint.bvh"
# Two short real clips (195 and 172 frames at 30 fps).
SHORT = ["dataset-1_walk_normal_001.bvh", "dataset-1_bow_old_001.bvh"]


def _build(sources, cache_dir=False, **cfg):
    from hf_motion import MotionTokenizer
    from hf_motion.datasets import MotionDatasetBuilder, MotionDatasetConfig

    cfg.setdefault("splits", {"train": 1.0})
    builder = MotionDatasetBuilder(MotionDatasetConfig(**cfg), MotionTokenizer())
    return builder.build(sources, num_proc=1, cache_dir=cache_dir, progress=False)


def _reverse_frames_in_place(path: Path) -> None:
    """Rewrite a BVH with its frames in reverse order: same bytes count; mtime put back."""
    st = path.stat()
    data = path.read_bytes()
    head, sep, rest = data.partition(b"Frame Time:")
    cut = rest.index(b"\n") + 1
    rows = rest[cut:].split(b"\n")
    tail = []
    while rows and not rows[-1].strip():
        tail.insert(0, rows.pop())
    new = head + sep + rest[:cut] + b"\n".join(rows[::-1] + tail)
    assert new != data and len(new) == len(data)
    with open(path, "r+b") as fh:  # in place: same inode
        fh.write(new)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    after = path.stat()
    assert (after.st_size, after.st_mtime_ns, after.st_ino) == (st.st_size, st.st_mtime_ns, st.st_ino)


def stale_cache_after_in_place_edit(tmp_path: Path) -> None:
    src, cache = tmp_path / "src", tmp_path / "cache"
    src.mkdir()
    for name in SHORT:
        shutil.copyfile(BANDAI1 / name, src / name)
    first = _build(src, cache, window=30)
    before = first.dataset["train"]["input_ids"][:]
    again = _build(src, cache, window=30)
    assert again.stats.from_cache  # unchanged files: the cache is used
    _reverse_frames_in_place(src / SHORT[0])
    second = _build(src, cache, window=30)
    assert not second.stats.from_cache, "an in-place edit (size and mtime kept) was served from the cache"
    fresh = _build(src, False, window=30)  # no cache at all: what the edited files give
    rows = sorted(map(tuple, second.dataset["train"]["input_ids"][:]))
    assert rows == sorted(map(tuple, fresh.dataset["train"]["input_ids"][:]))
    assert rows != sorted(map(tuple, before))


def mixed_skeletons(tmp_path: Path) -> None:
    # joints=None keeps each file's skeleton: 22 Bandai joints and 31 CMU joints in one dataset.
    _build([BANDAI1 / SHORT[0], CMU], joints=None, window=4)


def subset_mismatch(tmp_path: Path) -> None:
    from hf_motion.datasets import MotionDatasetError

    try:
        _build([BANDAI1 / SHORT[0], CMU], joints="bandai-core", window=4)
    except MotionDatasetError as e:
        # Not an unreadable file: no advice to skip files (which would skip every CMU file).
        assert "skip" not in str(e).lower() and "cannot read" not in str(e), str(e)
        raise


def _pretrain_argv(out: Path, cache: Path, **over) -> list[str]:
    base = dict(
        output_dir=out, cache_dir=cache, max_clips=4, window=4, stride=4, context_length=256, max_steps=1,
        per_device_train_batch_size=2, per_device_eval_batch_size=4, learning_rate=3e-3, warmup_steps=0,
        logging_steps=1, eval_strategy="no", save_steps=1, num_proc=1, disable_tqdm=True, seed=7, report_to="none",
    )  # fmt: skip
    base.update(over)
    return [x for k, v in base.items() for x in (f"--{k}", str(v))]


def pretrain_rerun_with_other_settings(tmp_path: Path) -> None:
    from hf_motion.scripts.pretrain import cli

    out, cache = tmp_path / "run", tmp_path / "cache"
    cli(_pretrain_argv(out, cache))
    assert (out / "checkpoint-1").is_dir() and (out / "run_settings.json").is_file()
    cli(_pretrain_argv(out, cache, max_clips=3, learning_rate=1e-3))  # other data and learning rate


def crash_between_renames(tmp_path: Path) -> None:
    from hf_motion import fileio

    target = tmp_path / "entry"
    with fileio.atomic_directory(target) as d:
        (d / "v").write_text("old")
    real = os.replace
    calls = []

    def killed_after_first_rename(src, dst):
        calls.append((src, dst))
        if len(calls) > 1:  # a kill: neither the second rename nor any rollback happens
            raise KeyboardInterrupt("killed between the renames")
        return real(src, dst)

    with mock.patch.object(fileio.os, "replace", killed_after_first_rename):
        try:
            with fileio.atomic_directory(target, overwrite=True) as d:
                (d / "v").write_text("new")
        except KeyboardInterrupt:
            pass
        else:
            raise AssertionError("the simulated kill did not happen")
    assert not target.exists() and any(p.name.startswith(".old-entry-") for p in tmp_path.iterdir())
    # The next call rolls the swap back (the old copy is restored) and cleans the staging folders.
    try:
        with fileio.atomic_directory(target, overwrite=True) as d:
            raise RuntimeError("this writer fails too")
    except RuntimeError:
        pass
    assert (target / "v").read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["entry"]


def stale_staging_cleaned(tmp_path: Path) -> None:
    from hf_motion import fileio

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()  # reaped: its pid names no live process
    host = fileio._host_key()
    stale_tmp = tmp_path / f".tmp-entry-{host}-{dead.pid}-abcd1234"
    stale_old = tmp_path / f".old-entry-{host}-{dead.pid}-efgh5678"
    live = tmp_path / f".tmp-entry-{host}-{os.getppid()}-ijkl9012"  # another live process's build
    other = tmp_path / f".tmp-entry2-{host}-{dead.pid}-mnop3456"  # another target's: not this call's to judge
    for d in (stale_tmp, stale_old, live, other):
        (d / "part").mkdir(parents=True)
    with fileio.atomic_directory(tmp_path / "entry") as d:
        (d / "v").write_text("x")
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == sorted(["entry", live.name, other.name]), left


def fold_missing_class(tmp_path: Path) -> None:
    from hf_motion.cv import TaskSpec, check_fold_classes, group_folds, task_labels
    from hf_motion.datasets import bandai_namco

    # Grouped by style and classifying style: each test fold's style is absent from its training fold.
    clips = list(bandai_namco(subsets="dataset-1", group_by="style", progress=False))
    lab = task_labels(TaskSpec("style", "multiclass"), [c.labels for c in clips], [c.clip_id for c in clips])
    folds = group_folds([c.group for c in clips], "kfold", n_splits=3, seed=0)
    usable = check_fold_classes(folds, lab.y, task="style", class_names=lab.classes)
    assert all(usable)  # every training fold has several classes: the folds still run


def builder_named_tokenizer_other_skeleton(tmp_path):
    """A tokenizer saved for Bandai's 22 joints given the 31-joint CMU clip with joints 'all'."""
    from hf_motion import MotionTokenizer, load_bvh
    from hf_motion.datasets import MotionDatasetBuilder, MotionDatasetConfig

    names = list(load_bvh(BANDAI1 / SHORT[0]).skeleton.names)
    builder = MotionDatasetBuilder(MotionDatasetConfig(joints=None, splits={"train": 1.0}), MotionTokenizer(joint_names=names))
    builder.build([CMU], num_proc=1, cache_dir=False, progress=False)


def builder_named_tokenizer_other_subset(tmp_path):
    from hf_motion import MotionTokenizer
    from hf_motion.datasets import MotionDatasetBuilder, MotionDatasetConfig

    MotionDatasetBuilder(MotionDatasetConfig(joints="bandai-core"), MotionTokenizer(joint_names=["Hips", "Spine"]))


CASES = [
    Case(
        "builder-tokenizer-skeleton-mismatch",
        builder_named_tokenizer_other_skeleton,
        ValueError,
        r"cmu_31joint\.bvh: its joints .* are not the 22 joints",
        description="Python builder API: a tokenizer saved for 22 joints, a 31-joint clip, joints 'all'",
    ),
    Case(
        "builder-tokenizer-subset-mismatch",
        builder_named_tokenizer_other_subset,
        ValueError,
        r"saved for 2 joints \['Hips', 'Spine'\], but the dataset config selects 17 joints",
        description="Python builder API: a tokenizer saved for 2 joints and the 17-joint bandai-core subset",
    ),
    Case(
        "dataset-cache-stale-after-in-place-edit",
        stale_cache_after_in_place_edit,
        None,
        description="a BVH rewritten in place with its size and modification time kept is rebuilt, not served from the cache",
    ),
    Case(
        "dataset-mixed-skeletons",
        mixed_skeletons,
        ValueError,  # MotionDatasetError
        match=r"cannot mix skeletons.*dataset-1_walk_normal_001\.bvh has 22 joints \(joint_Root, Hips.*"
        r"cmu_31joint\.bvh has 31 joints \(Hips.*joint subset",
        description="--joints all over 22-joint Bandai and 31-joint CMU clips",
    ),
    Case(
        "dataset-joint-subset-mismatch",
        subset_mismatch,
        ValueError,  # MotionDatasetError
        match=r"joint subset 'bandai-core' does not fit \S*cmu_31joint\.bvh: its skeleton lacks 13 .*Chest, UpperArm_L",
        description="the bandai-core subset on a CMU skeleton: a subset mismatch naming file, subset and missing joints",
    ),
    Case(
        "pretrain-rerun-other-settings",
        pretrain_rerun_with_other_settings,
        SystemExit,
        match=r"other settings.*data\.n_clips: recorded 4, now 3.*optimisation\.learning_rate: recorded 0\.003, "
        r"now 0\.001.*--resume \S*checkpoint-1.*--overwrite_output_dir",
        description="pretrain.py rerun into a finished output_dir with other data and learning rate",
    ),
    Case(
        "atomic-directory-crash-between-renames",
        crash_between_renames,
        None,
        description="a kill between the two renames of atomic_directory(overwrite=True): the next call restores the old copy",
    ),
    Case(
        "atomic-directory-stale-staging",
        stale_staging_cleaned,
        None,
        description="staging folders of dead processes are removed; a live process's are kept",
    ),
    Case(
        "cv-test-class-missing-from-training-fold",
        fold_missing_class,
        None,
        match=r"task 'style': the test set of fold \d holds (a class|\d+ classes) that its training set never has: "
        r"class '[^']+' \(\d+ clips\)",
        warning=UserWarning,
        description="multiclass style task grouped by style: a test fold's class never appears in its training fold",
    ),
]
