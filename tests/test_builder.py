"""The multi-task dataset builder and ``hf-motion build-dataset``, on real Bandai-Namco clips."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

import datasets
import numpy as np
import pytest

import hf_motion
from hf_motion import MotionTokenizer
from hf_motion.cli import main as cli_main
from hf_motion.datasets import (
    MotionDatasetBuilder,
    MotionDatasetConfig,
    MotionDatasetError,
    MotionFolder,
    assign_splits,
    bandai_namco,
)
from hf_motion.datasets import builder as builder_module
from hf_motion.kinematics import canonicalize_positions
from hf_motion.skeletons import JOINT_SUBSETS

from conftest import BANDAI1

# 16 varied dataset-1 clips; walk_proud 001/002 are two takes of one session.
CLIPS = [
    "dataset-1_walk_normal_001", "dataset-1_walk_proud_001", "dataset-1_walk_proud_002",
    "dataset-1_run_masculinity_001", "dataset-1_bye_feminine_001", "dataset-1_bow_old_001",
    "dataset-1_dash_tired_001", "dataset-1_kick_normal_001", "dataset-1_walk-back_giant_001",
    "dataset-1_respond_normal_001", "dataset-1_guide_happy_001", "dataset-1_dance-short_normal_001",
    "dataset-1_walk-left_old_001", "dataset-1_byebye_childish_001", "dataset-1_slash_normal_001",
    "dataset-1_call_normal_001",
]  # fmt: skip
CORE = JOINT_SUBSETS["bandai-core"]


@pytest.fixture(scope="module")
def clips():
    col = bandai_namco(subsets="dataset-1")
    out = col.filter(lambda c: c.clip_id in CLIPS)
    assert len(out) == len(CLIPS)
    return out


@pytest.fixture(scope="module")
def motions(clips):
    return {c.clip_id: hf_motion.load_bvh(c.path) for c in clips}


def _build(sources, tok, num_proc=1, cache_dir=False, skip_bad=False, **cfg):
    cfg.setdefault("splits", {"train": 1.0})
    builder = MotionDatasetBuilder(MotionDatasetConfig(**cfg), tok)
    return builder.build(sources, num_proc=num_proc, cache_dir=cache_dir, skip_bad=skip_bad, progress=False)


def _frames_in_header(path) -> int:
    return int(re.search(r"^Frames:\s*(\d+)", Path(path).read_text(), flags=re.M).group(1))


def _rows(ds, *cols):
    return list(zip(*(ds[c] for c in cols)))


# ----------------------------------------------------------------- windows, tasks, splits


def test_window_counts_and_starts(clips, tok):
    W, S = 40, 15
    res = _build(clips, tok, window=W, stride=S, tasks="acm=1")
    ds = res.dataset["train"]
    starts = defaultdict(list)
    for clip, start in _rows(ds, "clip", "start_frame"):
        starts[clip].append(start)
    total = 0
    for c in clips:
        T = _frames_in_header(c.path)  # read independently of the loader
        expected = list(range(0, T - W + 1, S))
        assert sorted(starts[c.clip_id]) == expected, c.clip_id
        total += len(expected)
    assert res.stats.windows == len(ds) == total
    assert set(ds["num_frames"]) == {W}
    assert res.stats.frames == sum(_frames_in_header(c.path) for c in clips)


def test_task_proportions_lengths_and_task_tokens(clips, tok):
    W = 10
    props = {"acm": 0.4, "pcm": 0.3, "fk": 0.2, "ik": 0.1}
    res = _build(clips, tok, window=W, stride=5, tasks=props)
    ds = res.dataset["train"]
    counts = Counter(ds["task"])
    n = len(ds)
    assert n > 500
    for task, p in props.items():
        # The draw is seeded, so this either always or never holds; 4 sigma of a binomial.
        assert abs(counts[task] / n - p) < 4 * np.sqrt(p * (1 - p) / n), (task, counts)
    # Hand-derived lengths: <bos> task, then per frame a separator + 17 joints x 3 values, <eos>.
    per_frame = 1 + len(CORE) * 3
    expected_len = {"acm": 3 + W * per_frame, "pcm": 3 + W * per_frame, "fk": 3 + 2 * W * per_frame, "ik": 3 + 2 * W * per_frame}
    token = {"acm": ">", "pcm": ">", "fk": "$", "ik": "&"}
    for task, ids in _rows(ds, "task", "input_ids"):
        assert len(ids) == expected_len[task]
        assert ids[0] == tok.bos_token_id and ids[-1] == tok.eos_token_id
        assert ids[1] == tok.task_token_ids[token[task]]
    for task in props:
        assert res.stats.windows_per_task[task] == counts[task]
        assert res.stats.tokens_per_task[task] == counts[task] * expected_len[task]
    only = _build(clips, tok, window=W, stride=5, tasks={"acm": 1.0, "ik": 0.0})
    assert set(only.dataset["train"]["task"]) == {"acm"}


def test_splits_are_disjoint_by_group(clips, tok):
    res = _build(clips, tok, window=30, tasks="acm=1,fk=1", splits="train=0.6,validation=0.2,test=0.2")
    dd = res.dataset
    assert list(dd) == ["train", "validation", "test"]
    groups = {s: set(dd[s]["group"]) for s in dd}
    clip_sets = {s: set(dd[s]["clip"]) for s in dd}
    for a in dd:
        assert groups[a] and clip_sets[a], f"split {a} is empty"
        for b in dd:
            if a < b:
                assert not groups[a] & groups[b], (a, b)
                assert not clip_sets[a] & clip_sets[b], (a, b)
    assert set().union(*clip_sets.values()) == {c.clip_id for c in clips}
    # The group column is the session key; both takes of walk_proud travel together.
    home = [s for s in dd if "dataset-1_walk_proud_001" in clip_sets[s]]
    assert "dataset-1_walk_proud_002" in clip_sets[home[0]]
    for clip, group in _rows(dd["train"], "clip", "group"):
        assert group == "_".join(clip.split("_")[:3])
    assert res.stats.split_rows == {s: len(dd[s]) for s in dd}


def test_assign_splits_properties():
    rng = np.random.default_rng(0)
    weights = {f"g{i}": float(w) for i, w in enumerate(rng.integers(1, 100, 200))}
    fractions = {"train": 0.8, "validation": 0.1, "test": 0.1}
    split = assign_splits(weights, fractions, seed=3)
    assert set(split) == set(weights) and set(split.values()) == set(fractions)
    total = sum(weights.values())
    for name, frac in fractions.items():
        got = sum(w for g, w in weights.items() if split[g] == name) / total
        assert abs(got - frac) < 0.03, (name, got)
    assert assign_splits(weights, fractions, seed=3) == split
    assert assign_splits(weights, fractions, seed=4) != split
    # Few groups: still one per split.
    assert sorted(assign_splits({"a": 1, "b": 50, "c": 2}, fractions).values()) == ["test", "train", "validation"]


# ----------------------------------------------------------------- decoding back to motion


def test_decoded_sequences_give_the_source_frames(clips, motions, tok):
    W = 30
    res = _build(clips, tok, window=W, stride=45)
    ds = res.dataset["train"]
    assert set(ds["task"]) == {"acm", "pcm", "fk", "ik"}
    da, dp = tok.angle_quantizer.delta, tok.position_quantizer.delta
    lo, hi = tok.position_quantizer.low, tok.position_quantizer.high
    cache = {}
    checked = Counter()
    for row in ds:
        m = motions[row["clip"]]
        if row["clip"] not in cache:
            sel = m.select_joints("bandai-core")
            full_positions = m.positions()  # FK on the full skeleton, independent of select_joints
            cache[row["clip"]] = (sel, full_positions)
        sel, P = cache[row["clip"]]
        s = row["start_frame"]
        dec = tok.decode_motion(row["input_ids"])
        task = row["task"]
        assert dec.task == {"acm": ">", "pcm": ">", "fk": "$", "ik": "&"}[task]
        if task in ("acm", "fk", "ik"):
            ref = sel.rotations[s : s + W]
            assert dec.angles.shape == ref.shape
            assert np.all(np.abs(dec.angles - ref) <= da / 2 + 1e-9)
            # Joints whose parent is kept have their file rotation unchanged.
            for name in ("LowerArm_L", "LowerLeg_R", "Head"):
                raw = m.rotations[s : s + W, m.skeleton.index(name)]
                assert np.all(np.abs(dec.angles[:, CORE.index(name)] - raw) <= da / 2 + 1e-6)
        else:
            assert dec.angles is None
        if task in ("pcm", "fk", "ik"):
            idx = [m.skeleton.index(n) for n in CORE]
            ref = P[s : s + W][:, idx].copy()
            hips = P[s : s + W, m.skeleton.index("Hips")].mean(axis=0)  # default: window mean
            ref[..., 0] -= hips[0]  # y is up in BVH: x and z are horizontal
            ref[..., 2] -= hips[2]
            assert dec.positions.shape == ref.shape
            assert np.all(np.abs(dec.positions - np.clip(ref, lo, hi)) <= dp / 2 + 1e-9)
        else:
            assert dec.positions is None
        checked[task] += 1
    assert min(checked.values()) >= 5, checked


def test_vectorised_path_equals_per_window_encoding(clips, motions, tok):
    W = 20
    res = _build(clips[:5], tok, window=W, stride=20, canonicalize="first")
    token = {"acm": ">", "pcm": ">", "fk": "$", "ik": "&"}
    reduced = {}
    for row in res.dataset["train"]:
        if row["clip"] not in reduced:
            sel = motions[row["clip"]].select_joints("bandai-core")
            reduced[row["clip"]] = (sel.rotations, sel.positions())
        rotations, positions = reduced[row["clip"]]
        s = row["start_frame"]
        a = rotations[s : s + W]
        p = canonicalize_positions(positions[s : s + W], "y", frame=0)
        task = row["task"]
        ids = tok.encode_motion(angles=a if task != "pcm" else None, positions=p if task != "acm" else None, task=token[task])
        assert row["input_ids"] == ids.tolist()


# ----------------------------------------------------------------- determinism, packing


def test_same_seed_same_dataset_any_num_proc(clips, tok):
    cfg = dict(window=30, splits="train=0.7,test=0.3", seed=11)
    a = _build(clips, tok, **cfg).dataset
    b = _build(clips, tok, num_proc=2, **cfg).dataset
    for split in a:
        for col in ("input_ids", "clip", "start_frame", "task", "group"):
            assert a[split][col] == b[split][col], (split, col)
    c = _build(clips, tok, **{**cfg, "seed": 12}).dataset
    order = lambda d: [(r["clip"], r["start_frame"]) for s in d for r in d[s]]  # noqa: E731
    assert order(c) != order(a)


def test_packing_concatenates_shuffled_examples(clips, tok):
    cfg = dict(window=15, splits="train=0.75,test=0.25", seed=5)
    L = 700
    plain = _build(clips, tok, **cfg)
    packed = _build(clips, tok, context_length=L, **cfg)
    dropped = 0
    for split in plain.dataset:
        ex = plain.dataset[split]
        flat = [t for ids in ex["input_ids"] for t in ids]
        rows = packed.dataset[split]
        n = len(flat) // L
        assert len(rows) == n
        assert all(len(r) == L for r in rows["input_ids"])
        assert [t for r in rows["input_ids"] for t in r] == flat[: n * L]
        assert rows["labels"] == rows["input_ids"]
        assert all(set(m) == {1} for m in rows["attention_mask"])
        ends = np.cumsum([len(ids) for ids in ex["input_ids"]])
        for r in (0, n // 2, n - 1):
            first = int(np.searchsorted(ends, r * L, side="right"))
            last = int(np.searchsorted(ends, (r + 1) * L - 1, side="right"))
            assert rows[r]["tasks"] == ex["task"][first : last + 1]
            assert rows[r]["clips"] == ex["clip"][first : last + 1]
        # token_task: every token carries the task of the plain example it came from.
        names = list(MotionDatasetConfig(**cfg).tasks)  # the config's task order
        per_token = [names.index(t) for t, ids in zip(ex["task"], ex["input_ids"]) for _ in ids]
        assert [t for r in rows["token_task"] for t in r] == per_token[: n * L]
        dropped += len(flat) - n * L
    assert packed.stats.dropped_tokens == dropped
    assert set(packed.dataset["train"].column_names) == {
        "input_ids", "attention_mask", "labels", "token_task", "tasks", "clips", "groups"
    }  # fmt: skip


# ----------------------------------------------------------------- bad input, caching


def _write_corrupt_bvh(path: Path) -> None:
    """A real clip whose motion block stops halfway (a truncated copy)."""
    lines = (BANDAI1 / "dataset-1_bow_old_001.bvh").read_text().splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.startswith("Frame Time")) + 1
    path.write_text("\n".join(lines[: start + (len(lines) - start) // 2]) + "\n")


@pytest.fixture
def mixed_folder(tmp_path):
    """Four real clips (symlinked) and one corrupt BVH among them."""
    folder = tmp_path / "src"
    folder.mkdir()
    for name in CLIPS[:4]:
        (folder / f"{name}.bvh").symlink_to(BANDAI1 / f"{name}.bvh")
    _write_corrupt_bvh(folder / "broken_take.bvh")
    return folder


def test_corrupt_file_skipped_by_name_or_stops_the_build(mixed_folder, tok):
    # The advice names the library argument and both command-line spellings.
    with pytest.raises(MotionDatasetError, match=r"(?s)broken_take\.bvh: BVHError.*skip_bad=True.*--skip-bad.*--skip_bad"):
        _build(mixed_folder, tok, window=30)
    res = _build(mixed_folder, tok, window=30, skip_bad=True)
    assert [Path(p).name for p, _ in res.stats.skipped] == ["broken_take.bvh"]
    assert "broken_take.bvh" in res.stats.summary()
    assert set(res.dataset["train"]["clip"]) == set(CLIPS[:4])


def test_interrupted_build_leaves_no_trusted_cache(clips, tok, tmp_path, monkeypatch, caplog):
    cache = tmp_path / "cache"
    small = clips[:4]
    real_save = datasets.DatasetDict.save_to_disk

    def dies_while_writing(self, path, **kw):
        real_save(self, path, **kw)
        raise RuntimeError("disk full")

    monkeypatch.setattr(datasets.DatasetDict, "save_to_disk", dies_while_writing)
    with pytest.raises(RuntimeError, match="disk full"):
        _build(small, tok, window=30, cache_dir=cache)
    assert list(cache.iterdir()) == []
    monkeypatch.setattr(datasets.DatasetDict, "save_to_disk", real_save)

    # An exception in the middle of tokenizing (third clip) stops the build; nothing is cached.
    real_encode = builder_module._encode_clip
    calls = []

    def fails_on_third(clip, plan):
        calls.append(clip.clip_id)
        if len(calls) == 3:
            raise RuntimeError("simulated crash")
        return real_encode(clip, plan)

    monkeypatch.setattr(builder_module, "_encode_clip", fails_on_third)
    with pytest.raises(MotionDatasetError, match="simulated crash"):
        _build(small, tok, window=30, cache_dir=cache)
    assert list(cache.iterdir()) == []
    monkeypatch.setattr(builder_module, "_encode_clip", real_encode)

    first = _build(small, tok, window=30, cache_dir=cache)
    assert not first.stats.from_cache and first.cache_path.parent == cache
    first_ids = first.dataset["train"]["input_ids"][:]  # a copy: the dataset is memory-mapped from the cache
    second = _build(small, tok, window=30, cache_dir=cache)
    assert second.stats.from_cache and second.dataset["train"]["input_ids"][:] == first_ids
    # A damaged cache entry is rebuilt, never trusted.
    for arrow in first.cache_path.rglob("*.arrow"):
        arrow.write_bytes(arrow.read_bytes()[:100])
    third = _build(small, tok, window=30, cache_dir=cache)
    assert not third.stats.from_cache
    assert "damaged dataset cache" in caplog.text
    assert third.dataset["train"]["input_ids"][:] == first_ids
    # Other settings -> another key.
    other = _build(small, tok, window=20, cache_dir=cache)
    assert not other.stats.from_cache and other.cache_path != first.cache_path


def test_cache_key_follows_file_content_not_mtime(tmp_path, tok):
    src = tmp_path / "src"
    src.mkdir()
    for name in CLIPS[:2]:
        (src / f"{name}.bvh").write_bytes((BANDAI1 / f"{name}.bvh").read_bytes())
    builder = MotionDatasetBuilder(MotionDatasetConfig(window=30), tok)
    key = builder.cache_key(MotionFolder(src))
    assert builder.cache_key(MotionFolder(src)) == key
    target = src / f"{CLIPS[0]}.bvh"
    target.write_text(target.read_text())  # same bytes, new modification time: nothing to rebuild
    st = target.stat()
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns + 2_000_000_000))
    assert builder.cache_key(MotionFolder(src)) == key
    # One digit changed in place, size and modification time kept: another key.
    st = target.stat()
    data = bytearray(target.read_bytes())
    start = data.index(b"\n", data.index(b"Frame Time:")) + 1  # the first frame's line
    i = next(k for k in range(start, len(data)) if data[k] in b"123456789")
    data[i] = ord("5") if data[i] != ord("5") else ord("6")
    target.write_bytes(bytes(data))
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert (target.stat().st_size, target.stat().st_mtime_ns) == (st.st_size, st.st_mtime_ns)
    assert builder.cache_key(MotionFolder(src)) != key
    assert MotionDatasetBuilder(MotionDatasetConfig(window=30, seed=1), tok).cache_key(MotionFolder(src)) != key


def test_cache_key_hashes_the_subset_joints_not_its_name(tmp_path, tok):
    from hf_motion.skeletons import register_joint_subset

    col = MotionFolder(BANDAI1, pattern=f"{CLIPS[0]}.bvh")
    name = "test-builder-subset"
    register_joint_subset(name, CORE[:5], exist_ok=True)
    try:
        by_name = MotionDatasetBuilder(MotionDatasetConfig(window=30, joints=name), tok)
        key = by_name.cache_key(col)
        # The same joints as a list: the same output, the same key.
        assert MotionDatasetBuilder(MotionDatasetConfig(window=30, joints=CORE[:5]), tok).cache_key(col) == key
        first = by_name.build(col, num_proc=1, cache_dir=tmp_path, progress=False)
        assert first.stats.joint_names == CORE[:5]
        register_joint_subset(name, CORE[:7], exist_ok=True)  # the name now means other joints
        assert by_name.cache_key(col) != key
        second = by_name.build(col, num_proc=1, cache_dir=tmp_path, progress=False)
        assert not second.stats.from_cache and second.stats.joint_names == CORE[:7]
    finally:
        JOINT_SUBSETS.pop(name, None)


def test_build_killed_while_replacing_its_cache_entry_is_recovered(clips, tok, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    first = _build(clips[:2], tok, window=30, cache_dir=cache)
    ids = first.dataset["train"]["input_ids"][:]
    # A kill between the two renames of a replacement leaves the entry under a hidden name only.
    from hf_motion import fileio

    real = os.replace
    calls = []

    def killed_after_first(src, dst):
        calls.append(dst)
        if len(calls) > 1:
            raise KeyboardInterrupt("killed")
        return real(src, dst)

    monkeypatch.setattr(fileio.os, "replace", killed_after_first)
    with pytest.raises(KeyboardInterrupt):
        with fileio.atomic_directory(first.cache_path, overwrite=True) as d:
            (d / "junk").write_text("x")
    monkeypatch.setattr(fileio.os, "replace", real)
    assert not first.cache_path.exists()
    again = _build(clips[:2], tok, window=30, cache_dir=cache)  # restored, then served
    assert again.stats.from_cache and again.dataset["train"]["input_ids"][:] == ids
    assert [p.name for p in cache.iterdir()] == [first.cache_path.name]


def test_config_errors():
    with pytest.raises(ValueError, match=r"unknown tasks \['walk'\].*'acm'"):
        MotionDatasetConfig(tasks="walk=1")
    with pytest.raises(ValueError, match="name=weight pairs"):
        MotionDatasetConfig(tasks="acm")
    with pytest.raises(ValueError, match="non-negative with a positive sum"):
        MotionDatasetConfig(tasks={"acm": 0})
    with pytest.raises(ValueError, match="window must be an integer >= 1"):
        MotionDatasetConfig(window=0)
    with pytest.raises(ValueError, match="context_length must be an integer >= 2"):
        MotionDatasetConfig(context_length=1)
    with pytest.raises(ValueError, match="fps must be a positive number"):
        MotionDatasetConfig(fps=-30)
    with pytest.raises(ValueError, match="unknown joint subset 'bandai-tiny'"):
        MotionDatasetConfig(joints="bandai-tiny")
    with pytest.raises(ValueError, match=r"joint subset has duplicates: \['Hips'\]"):
        MotionDatasetConfig(joints="Hips,Spine,Hips")
    with pytest.raises(ValueError, match="joints: an empty list"):
        MotionDatasetConfig(joints=" , ")
    assert MotionDatasetConfig().joints == "auto"  # found per skeleton (bandai-core on Bandai-Namco)
    assert MotionDatasetConfig(joints="all").joints is None
    with pytest.raises(ValueError, match=r"unknown dataset config keys \['windw'\]"):
        MotionDatasetConfig.from_dict({"windw": 3})
    assert MotionDatasetConfig(window=12).stride == 12
    assert MotionDatasetConfig(tasks="acm=2,fk=2").tasks == {"acm": 0.5, "fk": 0.5}


CMU = Path(__file__).parent / "fixtures" / "cmu_31joint.bvh"


def test_joint_subset_mismatch_names_file_subset_and_missing_joints(tmp_path, tok):
    (tmp_path / "cmu.bvh").symlink_to(CMU)
    cmu_names = hf_motion.load_bvh(CMU).skeleton.names
    missing = [j for j in CORE if j not in cmu_names]
    assert missing  # the fixture really lacks some bandai-core joints
    for skip_bad in (False, True):  # a subset mismatch is a config error: never skipped
        with pytest.raises(MotionDatasetError) as info:
            _build(tmp_path, tok, window=10, joints="bandai-core", skip_bad=skip_bad)  # on a CMU skeleton
        msg = str(info.value)
        assert "joint subset 'bandai-core' does not fit" in msg and "cmu.bvh" in msg
        assert f"lacks {len(missing)} of the subset's {len(CORE)} joints ({', '.join(missing[:3])}" in msg
        assert f"the file has {len(cmu_names)} joints" in msg
        assert "skip" not in msg.lower() and "cannot read" not in msg
    res = _build(tmp_path, tok, window=10, joints=None, tasks="acm=1", fps=None)  # 30 frames at 120 fps
    assert len(res.dataset["train"]) > 0 and res.stats.joint_names == cmu_names


def test_mixed_skeletons_are_refused_unless_a_common_subset_is_chosen(clips, tok, tmp_path):
    bandai = clips[0].path
    bandai_names = hf_motion.load_bvh(bandai).skeleton.names
    cmu_names = hf_motion.load_bvh(CMU).skeleton.names
    for skip_bad in (False, True):
        with pytest.raises(MotionDatasetError) as info:
            _build([bandai, str(CMU)], tok, window=4, joints=None, skip_bad=skip_bad)
        msg = str(info.value)
        assert msg.startswith("cannot mix skeletons in one dataset")
        assert f"{bandai} has {len(bandai_names)} joints ({', '.join(bandai_names[:3])}" in msg
        assert f"{CMU} has {len(cmu_names)} joints ({', '.join(cmu_names[:3])}" in msg
    common = [j for j in bandai_names if j in cmu_names]
    assert f"share {len(common)} joint names" in msg
    # A subset both skeletons hold (in the same order) makes one dataset.
    res = _build([bandai, str(CMU)], tok, window=4, joints=common, tasks="acm=1")
    assert res.stats.joint_names == common and res.stats.clips_used == 2


# ----------------------------------------------------------------- dataset-2, AMASS


def test_dataset2_clips_build(tok):
    col = bandai_namco(subsets="dataset-2", progress=False)[:6]
    res = _build(col, tok, window=30, splits="train=0.5,test=0.5")
    rows = [r for s in res.dataset for r in res.dataset[s]]
    assert rows and all(r["clip"].startswith("dataset-2_") for r in rows)
    # Text labels are ClassLabel columns with one class list for every split.
    styles = {s: res.dataset[s].features["style"] for s in res.dataset}
    assert all(isinstance(f, datasets.ClassLabel) for f in styles.values())
    assert len({tuple(f.names) for f in styles.values()}) == 1
    names = {styles["train"].int2str(r["style"]) for r in rows}
    assert names <= {"active", "elderly", "exhausted", "feminine", "masculine", "normal", "youthful"}
    assert names == {r["clip"].split("_")[2] for r in rows}  # each row's class is its clip's style


def _write_smpl_model(folder: Path, rng) -> None:
    """A tiny random SMPL model (real ones are licence-restricted) in the layout load_amass reads."""
    from hf_motion.skeletons import SMPL_BODY_PARENTS

    V, J = 200, 24
    parents = list(SMPL_BODY_PARENTS) + [20, 21]
    reg = rng.random((J, V)) * (rng.random((J, V)) < 0.05)
    reg[np.arange(J), rng.integers(0, V, J)] += 1.0
    w = rng.random((V, J))
    arrays = dict(
        v_template=rng.normal(scale=[0.15, 0.1, 0.4], size=(V, 3)) + [0, 0, 0.9],
        shapedirs=rng.normal(scale=0.02, size=(V, 3, 10)),
        posedirs=rng.normal(scale=0.01, size=(V, 3, 9 * (J - 1))),
        J_regressor=reg / reg.sum(1, keepdims=True),
        weights=w / w.sum(1, keepdims=True),
        kintree_table=np.stack([np.array(parents), np.arange(J)]),
        f=rng.integers(0, V, (100, 3)),
    )
    (folder / "smpl").mkdir(parents=True)
    np.savez(folder / "smpl" / "SMPL_NEUTRAL.npz", **arrays)


def test_amass_npz_through_the_reader_registry(tmp_path, tok):
    from hf_motion.amass import amass_positions, load_amass
    from hf_motion.resample import resample_motion

    rng = np.random.default_rng(7)
    models = tmp_path / "models"
    _write_smpl_model(models, rng)
    subject = tmp_path / "amass" / "TEST" / "subject1"
    subject.mkdir(parents=True)
    T = 80
    t = np.arange(T)[:, None] / 60.0
    poses = 0.3 * np.sin(2 * np.pi * rng.uniform(0.3, 1.0, 72) * t + rng.uniform(0, 6, 72))
    # The model's rest pelvis is ~0.9 m up already, as in real AMASS files.
    trans = np.cumsum(rng.normal(scale=0.005, size=(T, 3)), axis=0) + [0.5, -0.3, 0.0]
    path = subject / "walk_poses.npz"
    np.savez(path, poses=poses, trans=trans, betas=rng.normal(size=10), gender=np.array("neutral"), mocap_framerate=np.array(60.0))
    np.savez(subject / "shape.npz", betas=np.zeros(10), gender=np.array("neutral"))  # AMASS's per-subject file

    W = 10
    folder = MotionFolder(
        tmp_path / "amass", pattern="**/*_poses.npz", group_by="parent", reader_kwargs={".npz": {"body_model": str(models)}}
    )
    assert [c.group for c in folder] == ["TEST/subject1"]
    res = _build(folder, tok, window=W, fps=30, joints="smpl-body", tasks="pcm=1", canonicalize="first")
    ds = res.dataset["train"]
    ref_motion = resample_motion(load_amass(path, body_model=models), 30)
    P = amass_positions(ref_motion)
    assert len(ds) == (ref_motion.num_frames - W) // W + 1
    assert res.stats.position_values_clipped == 0
    dp = tok.position_quantizer.delta
    for row in ds:
        s = row["start_frame"]
        ref = P[s : s + W].copy()
        ref[..., :2] -= P[s, 0, :2]  # first frame's root; z is up in AMASS: x and y are horizontal
        dec = tok.decode_motion(row["input_ids"])
        assert np.all(np.abs(dec.positions - np.clip(ref, -2, 2)) <= dp / 2 + 1e-9)

    no_model = MotionFolder(tmp_path / "amass", pattern="**/*_poses.npz")
    with pytest.raises(MotionDatasetError, match=r"walk_poses\.npz.*positions are unknown.*body_model"):
        _build(no_model, tok, window=W, fps=30, joints="smpl-body", tasks="pcm=1")
    angles_only = _build(no_model, tok, window=W, fps=30, joints="smpl-body", tasks="acm=1")
    assert len(angles_only.dataset["train"]) == len(ds)


# ----------------------------------------------------------------- command line


def test_cli_builds_and_load_from_disk_works(mixed_folder, tmp_path, capsys):
    (mixed_folder / "broken_take.bvh").unlink()
    out = tmp_path / "out"
    rc = cli_main([
        "build-dataset", str(mixed_folder), "--out", str(out), "--window", "20", "--tasks", "acm=0.5,fk=0.5",
        "--splits", "train=0.5,test=0.5", "--num-proc", "1", "--quiet", "--context-length", "none",
    ])  # fmt: skip
    printed = capsys.readouterr().out
    assert rc == 0
    dd = datasets.load_from_disk(str(out))
    assert set(dd) == {"train", "test"}
    assert set(dd["train"]["task"]) | set(dd["test"]["task"]) <= {"acm", "fk"}
    n_tokens = sum(len(ids) for s in dd for ids in dd[s]["input_ids"])
    assert f"tokens: {n_tokens:,}" in printed
    for s in dd:
        assert f"{s} {len(dd[s]):,} rows" in printed
    info = json.loads((out / "build_info.json").read_text())
    assert info["config"]["window"] == 20 and info["config"]["stride"] == 20
    saved_tok = MotionTokenizer.from_pretrained(str(out / "tokenizer"))
    assert saved_tok.decode_motion(dd["train"][0]["input_ids"]).angles.shape[0] == 20

    rc = cli_main(["build-dataset", str(mixed_folder), "--out", str(out), "--quiet"])
    assert rc == 2 and "already exists" in capsys.readouterr().err

    cfg = tmp_path / "cfg.yaml"
    cfg.write_text("window: 12\nseed: 5\ncontext_length: 256\n")
    rc = cli_main(["build-dataset", str(mixed_folder), "--out", str(out), "--overwrite", "--config", str(cfg),
                   "--seed", "7", "--num-proc", "1", "--quiet"])  # fmt: skip
    assert rc == 0, capsys.readouterr().err
    info = json.loads((out / "build_info.json").read_text())
    assert (info["config"]["window"], info["config"]["seed"], info["config"]["context_length"]) == (12, 7, 256)
    assert all(len(ids) == 256 for ids in datasets.load_from_disk(str(out))["train"]["input_ids"])

    cfg.write_text("windw: 12\n")
    rc = cli_main(["build-dataset", str(mixed_folder), "--out", str(tmp_path / "o2"), "--config", str(cfg), "--quiet"])
    assert rc == 1 and "unknown dataset config keys ['windw']" in capsys.readouterr().err


def test_cli_skip_bad(mixed_folder, tmp_path, capsys):
    out = tmp_path / "out"
    rc = cli_main(["build-dataset", str(mixed_folder), "--out", str(out), "--num-proc", "1", "--quiet"])
    err = capsys.readouterr().err
    assert rc == 1 and "broken_take.bvh" in err and "--skip-bad" in err
    assert not out.exists()
    rc = cli_main(["build-dataset", str(mixed_folder), "--out", str(out), "--skip-bad", "--num-proc", "2", "--quiet"])
    printed = capsys.readouterr().out
    assert rc == 0
    assert re.search(r"skipped .*broken_take\.bvh: BVHError", printed)
    assert "clips: 4 used of 5, 1 skipped" in printed
    dd = datasets.load_from_disk(str(out))
    assert set().union(*(set(dd[s]["clip"]) for s in dd)) == set(CLIPS[:4])


def test_console_script_lists_the_command():
    proc = subprocess.run([sys.executable, "-m", "hf_motion.cli", "build-dataset", "--help"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0
    assert "--skip-bad" in proc.stdout and "--context-length" in proc.stdout
