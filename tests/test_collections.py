"""Motion collections: MotionFolder, the reader registry, Bandai-Namco labels/groups, the archive cache,
atomic folder swaps."""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import re
import subprocess
import sys
import tarfile
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

import hf_motion
from hf_motion.datasets import (
    MOTION_READERS,
    MotionCollection,
    MotionDatasetError,
    MotionFolder,
    bandai_namco,
    file_digest,
    find_bandai_root,
    register_motion_reader,
    unpack_archive_cached,
)
from hf_motion.datasets import archive as archive_module

from conftest import BANDAI, BANDAI1, DATA_ROOT

# A dozen varied dataset-1 clips (two takes of walk_proud share a session).
CLIPS = [
    "dataset-1_walk_normal_001", "dataset-1_walk_proud_001", "dataset-1_walk_proud_002",
    "dataset-1_run_masculinity_001", "dataset-1_bye_feminine_001", "dataset-1_bow_old_001",
    "dataset-1_dash_tired_001", "dataset-1_kick_normal_001", "dataset-1_walk-back_giant_001",
    "dataset-1_respond_normal_001", "dataset-1_guide_happy_001", "dataset-1_dance-short_normal_001",
]  # fmt: skip


def _frames_in_header(path: Path) -> int:
    """The BVH 'Frames:' header value, read without hf_motion (an independent count)."""
    m = re.search(r"^Frames:\s*(\d+)", path.read_text(), flags=re.M)
    assert m, path
    return int(m.group(1))


@pytest.fixture
def bvh_folder(tmp_path):
    """Real dataset-1 clips symlinked (with their JSON) into a fresh folder, two levels deep."""
    root = tmp_path / "mocap"
    for i, name in enumerate(CLIPS):
        sub = root / ("subjectA" if i % 2 else "subjectB")
        sub.mkdir(parents=True, exist_ok=True)
        for ext in (".bvh", ".json"):
            (sub / f"{name}{ext}").symlink_to(BANDAI1 / f"{name}{ext}")
    return root


# ----------------------------------------------------------------- MotionFolder


def test_folder_lists_sorted_clips_lazily_with_json_labels(bvh_folder, monkeypatch):
    calls = []

    def counting_reader(path, **kw):
        calls.append(path)
        return hf_motion.load_bvh(path, **kw)

    monkeypatch.setitem(MOTION_READERS, ".bvh", counting_reader)
    folder = MotionFolder(bvh_folder)
    assert calls == []  # listing reads no motion file
    rel = sorted(p.relative_to(bvh_folder).as_posix() for p in bvh_folder.rglob("*.bvh"))
    assert [c.clip_id for c in folder] == [r[: -len(".bvh")] for r in rel]
    for clip in folder:
        raw = json.loads(Path(clip.path).with_suffix(".json").read_text())
        assert clip.labels == raw  # the JSON beside the file, as is
        assert clip.group == clip.clip_id  # default: each clip its own group
    motion = folder.load(3)
    assert calls == [folder[3].path]
    assert motion.num_frames == _frames_in_header(Path(folder[3].path))
    assert motion.labels["clip"] == folder[3].clip_id and motion.labels["group"] == folder[3].group


def test_folder_group_by_parent_label_and_callable(bvh_folder):
    by_parent = MotionFolder(bvh_folder, group_by="parent")
    assert {c.group for c in by_parent} == {"subjectA", "subjectB"}
    for c in by_parent:
        assert c.group == Path(c.path).parent.name
    by_label = MotionFolder(bvh_folder, group_by="style")
    for c in by_label:
        assert c.group == str(json.loads(Path(c.path).with_suffix(".json").read_text())["style"])
    by_fn = MotionFolder(bvh_folder, group_by=lambda clip: clip.clip_id.split("_")[1])
    assert {c.group for c in by_fn} == {n.split("_")[1] for n in CLIPS}
    with pytest.raises(MotionDatasetError, match=r"dataset-1_.*\.bvh.*group_by='performer'.*no such label"):
        MotionFolder(bvh_folder, group_by="performer")


def test_folder_labels_from_csv_mapping_and_callable(bvh_folder, tmp_path):
    csv_path = tmp_path / "labels.csv"
    csv_path.write_text("file,age,side,code\ndataset-1_walk_normal_001,71,left,001\nsubjectA/dataset-1_walk_proud_001.bvh,64.5,right,x\n")
    folder = MotionFolder(bvh_folder, labels=csv_path)
    by_id = {c.clip_id.split("/")[-1]: c.labels for c in folder}
    assert by_id["dataset-1_walk_normal_001"]["age"] == 71  # numbers parsed
    assert by_id["dataset-1_walk_normal_001"]["code"] == "001"  # ... but not ids with leading zeros
    assert by_id["dataset-1_walk_normal_001"]["side"] == "left"
    assert by_id["dataset-1_walk_proud_001"]["age"] == 64.5
    assert "age" not in by_id["dataset-1_run_masculinity_001"]
    assert by_id["dataset-1_walk_normal_001"]["content"] == 0  # JSON labels kept alongside

    mapping = MotionFolder(bvh_folder, labels={"dataset-1_bow_old_001": {"score": 3}}, json_labels=False)
    got = {c.clip_id.split("/")[-1]: c.labels for c in mapping}
    assert got["dataset-1_bow_old_001"] == {"score": 3}
    assert got["dataset-1_walk_normal_001"] == {}

    func = MotionFolder(bvh_folder, labels=lambda p: {"n_chars": len(p.name)}, json_labels=False)
    assert all(c.labels == {"n_chars": len(Path(c.path).name)} for c in func)


def test_label_csv_errors_name_the_file(bvh_folder, tmp_path):
    bad = tmp_path / "nokey.csv"
    bad.write_text("subject,age\nA,3\n")
    with pytest.raises(MotionDatasetError, match=r"nokey\.csv.*no key column"):
        MotionFolder(bvh_folder, labels=bad)
    dup = tmp_path / "dup.csv"
    dup.write_text("clip,age\nx,1\nx,2\n")
    with pytest.raises(MotionDatasetError, match=r"dup\.csv, line 3.*listed twice"):
        MotionFolder(bvh_folder, labels=dup)
    with pytest.raises(MotionDatasetError, match="missing.csv does not exist"):
        MotionFolder(bvh_folder, labels=tmp_path / "missing.csv")


def test_bad_json_label_raises_or_is_skipped(bvh_folder):
    target = bvh_folder / "subjectB" / "dataset-1_walk_normal_001.json"
    target.unlink()
    target.write_text("{not json")
    with pytest.raises(MotionDatasetError, match=r"dataset-1_walk_normal_001\.json: invalid JSON"):
        MotionFolder(bvh_folder)
    folder = MotionFolder(bvh_folder, on_error="skip")
    assert len(folder) == len(CLIPS) - 1
    assert [Path(p).name for p, _ in folder.skipped] == ["dataset-1_walk_normal_001.bvh"]


def test_folder_errors(tmp_path, bvh_folder):
    with pytest.raises(MotionDatasetError, match="does not exist or is not a folder"):
        MotionFolder(tmp_path / "nope")
    with pytest.raises(MotionDatasetError, match=r"no files matching \['\*\*/\*\.c3d'\]"):
        MotionFolder(bvh_folder, pattern="**/*.c3d")
    # A pattern that catches files without a reader names one of them.
    with pytest.raises(MotionDatasetError, match=r"\.json matches .* has no motion reader.*'\.bvh'"):
        MotionFolder(bvh_folder, pattern="**/*")


# scale=1.0 reads centimetres as metres on purpose (to see the reader options arrive): the height check warns.
@pytest.mark.filterwarnings("ignore:.*m tall with scale=1")
def test_reader_registry_dispatches_by_extension(bvh_folder, monkeypatch):
    # A new format is one registration, not an edit of an if-chain.
    for p in bvh_folder.rglob("*.bvh"):
        (p.parent / (p.stem + ".mocap")).symlink_to(p.resolve())
    monkeypatch.delitem(MOTION_READERS, ".mocap", raising=False)
    register_motion_reader(".mocap", _scaled_bvh_reader)
    try:
        with pytest.raises(ValueError, match="already registered"):
            register_motion_reader("mocap", _scaled_bvh_reader)
        folder = MotionFolder(bvh_folder, pattern="**/*.mocap", reader_kwargs={".mocap": {"scale": 1.0}, ".bvh": {}})
        assert folder[0].reader_kwargs == {"scale": 1.0}
        m_cm = folder.load(0)
        m_m = hf_motion.load_bvh(Path(folder[0].path).with_suffix(".bvh"))
        np.testing.assert_allclose(m_cm.root_translation, 100 * m_m.root_translation, rtol=1e-12)
        np.testing.assert_allclose(m_cm.rotations, m_m.rotations, atol=1e-12)
    finally:
        MOTION_READERS.pop(".mocap", None)


def _scaled_bvh_reader(path, scale=0.01):
    return hf_motion.load_bvh(path, scale=scale)


def test_collections_concatenate_and_reject_duplicate_ids(bvh_folder):
    a = MotionFolder(bvh_folder / "subjectA")
    b = MotionFolder(bvh_folder / "subjectB")
    both = a + b
    assert len(both) == len(CLIPS)
    assert [c.clip_id for c in both] == [c.clip_id for c in a] + [c.clip_id for c in b]
    with pytest.raises(MotionDatasetError, match="used by both"):
        a + a
    named = MotionFolder(bvh_folder / "subjectA", name="x") + MotionFolder(bvh_folder / "subjectA", name="y")
    assert len(named) == 2 * len(a)
    sub = both.filter(lambda c: "walk" in c.clip_id)
    assert isinstance(sub, MotionCollection) and {c.clip_id.split("/")[-1] for c in sub} == {n for n in CLIPS if "walk" in n}


def test_fingerprint_follows_file_content_not_mtime(bvh_folder, tmp_path):
    real = tmp_path / "copy.bvh"
    original = (BANDAI1 / f"{CLIPS[0]}.bvh").read_bytes()
    real.write_bytes(original)
    folder = MotionFolder(tmp_path, pattern="copy.bvh")
    before = folder.fingerprint()
    assert MotionFolder(tmp_path, pattern="copy.bvh").fingerprint() == before
    st = real.stat()
    os.utime(real, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))  # touched only
    assert MotionFolder(tmp_path, pattern="copy.bvh").fingerprint() == before
    # Rewritten in place, same size and modification time: the content digest tells.
    st = real.stat()
    edited = bytearray(original)
    k = original.rindex(b"\n", 0, len(original) - 1) + 1  # the last frame's line
    j = next(i for i in range(k, len(original)) if original[i] in b"123456789")
    edited[j] = ord("5") if original[j] != ord("5") else ord("6")
    with open(real, "r+b") as fh:
        fh.write(bytes(edited))
    os.utime(real, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert (real.stat().st_size, real.stat().st_mtime_ns) == (st.st_size, st.st_mtime_ns)
    assert MotionFolder(tmp_path, pattern="copy.bvh").fingerprint() != before
    assert file_digest(real) == hashlib.sha256(bytes(edited)).hexdigest()


# ----------------------------------------------------------------- Bandai-Namco


def _cfg_names(subset: str, kind: str) -> list[str]:
    lines = (BANDAI / subset / "cfg" / f"{kind}_label.txt").read_text().split()
    return [ln.removeprefix(f"{subset}_") for ln in lines]


def test_bandai_dataset1_labels_names_and_groups(caplog):
    with caplog.at_level(logging.INFO, logger="hf_motion.datasets"):
        col = bandai_namco(subsets="dataset-1")
    bvh = sorted(BANDAI1.glob("*.bvh"))
    assert len(col) == len(bvh) == 174
    assert [c.clip_id for c in col] == [p.stem for p in bvh]
    # dataset-1 ships a JSON for dance-long without its BVH: skipped with a logged note.
    assert "dataset-1_dance-long_normal_001.json has no motion file" in caplog.text
    contents, styles = _cfg_names("dataset-1", "content"), _cfg_names("dataset-1", "style")
    for clip in col:
        _, content, style, take = Path(clip.path).stem.split("_")
        raw = json.loads(Path(clip.path).with_suffix(".json").read_text())
        assert clip.labels["content"] == content == contents[raw["content"]]
        assert clip.labels["style"] == style == styles[raw["style"]]
        assert (clip.labels["content_id"], clip.labels["style_id"]) == (raw["content"], raw["style"])
        assert clip.labels["take"] == int(take) and clip.labels["dataset"] == "dataset-1"
        assert clip.group == f"dataset-1_{content}_{style}"  # the session: all takes together
    proud = [c for c in col if c.group == "dataset-1_walk_proud"]
    assert sorted(c.labels["take"] for c in proud) == [1, 2]
    by_style = bandai_namco(subsets="dataset-1", group_by="style")
    assert {c.group for c in by_style} == {f"dataset-1_{s}" for s in styles}


def test_bandai_label_disagreement_names_the_file(tmp_path):
    data = tmp_path / "bandai" / "dataset-1" / "data"
    data.mkdir(parents=True)
    (tmp_path / "bandai" / "dataset-1" / "cfg").symlink_to(BANDAI / "dataset-1" / "cfg")
    (data / "dataset-1_walk_normal_001.bvh").symlink_to(BANDAI1 / "dataset-1_walk_normal_001.bvh")
    (data / "dataset-1_walk_normal_001.json").write_text('{"content": 1, "style": 0}')  # 1 = run
    with pytest.raises(MotionDatasetError, match=r"dataset-1_walk_normal_001\.bvh: labels disagree.*'run'.*'walk'"):
        bandai_namco(tmp_path / "bandai", subsets="dataset-1")
    (data / "dataset-1_walk_normal_001.json").write_text('{"content": 99, "style": 0}')
    with pytest.raises(MotionDatasetError, match=r"\.json: content index 99 is not in 0\.\.16"):
        bandai_namco(tmp_path / "bandai", subsets="dataset-1")
    skipped = bandai_namco(tmp_path / "bandai", subsets="dataset-1", on_error="skip")
    assert len(skipped) == 0 and len(skipped.skipped) == 1


def test_bandai_root_resolution(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_MOTION_DATA", str(DATA_ROOT))
    assert find_bandai_root() == BANDAI.resolve()
    monkeypatch.setenv("HF_MOTION_DATA", str(tmp_path / "elsewhere"))
    with pytest.raises(MotionDatasetError, match=r"not found \(looked in: .*elsewhere.*HF_MOTION_DATA"):
        bandai_namco()
    with pytest.raises(MotionDatasetError, match=r"subset 'dataset-2' not found"):
        bandai_namco(tmp_path, subsets="dataset-2")
    with pytest.raises(ValueError, match="unknown Bandai-Namco subsets"):
        bandai_namco(BANDAI, subsets="dataset-3")


def test_bandai_dataset2_from_the_shared_cache():
    """dataset-2 comes from its tar.xz, unpacked once into the default cache (outside the repo)."""
    col = bandai_namco(subsets="dataset-2", progress=False)
    assert len(col) == 2902
    cache = archive_module.default_cache_dir()
    assert all(Path(c.path).is_relative_to(cache) for c in col)
    assert not any(Path(c.path).is_relative_to(Path(__file__).resolve().parents[1]) for c in col)
    contents, styles = _cfg_names("dataset-2", "content"), _cfg_names("dataset-2", "style")
    assert {c.labels["content"] for c in col} == set(contents)
    assert {c.labels["style"] for c in col} == set(styles)
    assert len(col.groups) == len(contents) * len(styles)
    m = col.load(0)
    assert m.num_joints == 22 and m.fps == pytest.approx(30, rel=1e-4)
    assert m.num_frames == _frames_in_header(Path(col[0].path))


# ----------------------------------------------------------------- archive cache


def _fake_bandai2(root: Path, archive_kind: str = "tar.xz") -> Path:
    """A Bandai-layout dataset-2 whose archive holds three real dataset-1 clips renamed as dataset-2."""
    sub = root / "dataset-2"
    (sub / "cfg").mkdir(parents=True)
    (sub / "cfg" / "content_label.txt").write_text("dataset-2_walk\ndataset-2_run\n")
    (sub / "cfg" / "style_label.txt").write_text("dataset-2_normal\ndataset-2_masculine\n")
    members = {
        "dataset-2_walk_normal_001": ("dataset-1_walk_normal_001", 0, 0),
        "dataset-2_walk_normal_002": ("dataset-1_walk_proud_001", 0, 0),
        "dataset-2_run_masculine_001": ("dataset-1_run_masculinity_001", 1, 1),
    }
    path = sub / f"dataset-2_data.{archive_kind}"
    files = {}
    for new, (old, c, s) in members.items():
        files[f"Bandai-Namco-Research-Motiondataset-2/data/{new}.bvh"] = (BANDAI1 / f"{old}.bvh").read_bytes()
        files[f"Bandai-Namco-Research-Motiondataset-2/data/{new}.json"] = json.dumps({"content": c, "style": s}).encode()
    if archive_kind == "zip":
        with zipfile.ZipFile(path, "w") as zf:
            for name, data in files.items():
                zf.writestr(name, data)
    else:
        with tarfile.open(path, "w:xz") as tar:
            for name, data in files.items():
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return path


@pytest.mark.parametrize("kind", ["tar.xz", "zip"])
def test_archive_unpacked_once_then_reused(tmp_path, monkeypatch, kind):
    _fake_bandai2(tmp_path / "root", kind)
    cache = tmp_path / "cache"
    col = bandai_namco(tmp_path / "root", subsets="dataset-2", cache_dir=cache, progress=False)
    assert [c.clip_id for c in col] == ["dataset-2_run_masculine_001", "dataset-2_walk_normal_001", "dataset-2_walk_normal_002"]
    assert all(Path(c.path).is_relative_to(cache.resolve()) for c in col)
    assert col[0].labels["content"] == "run" and col[0].labels["style"] == "masculine"
    assert col.load(0).num_frames == _frames_in_header(BANDAI1 / "dataset-1_run_masculinity_001.bvh")

    def no_extraction(*a, **k):
        raise AssertionError("the archive was unpacked a second time")

    monkeypatch.setattr(archive_module, "_extract_tar", no_extraction)
    monkeypatch.setattr(archive_module, "_extract_zip", no_extraction)
    again = bandai_namco(tmp_path / "root", subsets="dataset-2", cache_dir=cache, progress=False)
    assert [c.path for c in again] == [c.path for c in col]


def test_interrupted_extraction_is_never_trusted(tmp_path, monkeypatch):
    archive = _fake_bandai2(tmp_path / "root")
    cache = tmp_path / "cache"
    real_extract = archive_module._extract_tar

    def dies_halfway(archive, dest, progress):
        (dest / "Bandai-Namco-Research-Motiondataset-2" / "data").mkdir(parents=True)
        (dest / "Bandai-Namco-Research-Motiondataset-2" / "data" / "dataset-2_walk_normal_001.bvh").write_text("HIER")
        raise KeyboardInterrupt  # like Ctrl-C in the middle of unpacking

    monkeypatch.setattr(archive_module, "_extract_tar", dies_halfway)
    with pytest.raises(KeyboardInterrupt):
        unpack_archive_cached(archive, cache, progress=False)
    assert [p.name for p in cache.iterdir() if not p.name.endswith(".lock")] == []
    # A killed process leaves its temporary folder behind: it must be ignored (and cleaned up).
    stale = cache / f".tmp-{archive_module._archive_key(archive)}-killed"
    (stale / "junk").mkdir(parents=True)
    monkeypatch.setattr(archive_module, "_extract_tar", real_extract)
    out = unpack_archive_cached(archive, cache, progress=False)
    assert not stale.exists()
    bvhs = sorted(p.name for p in out.rglob("*.bvh"))
    assert len(bvhs) == 3
    assert (out / "Bandai-Namco-Research-Motiondataset-2" / "data" / "dataset-2_walk_normal_001.bvh").read_bytes() == (
        BANDAI1 / "dataset-1_walk_normal_001.bvh"
    ).read_bytes()


def test_corrupt_or_unsafe_archives_are_reported(tmp_path):
    archive = _fake_bandai2(tmp_path / "root")
    data = archive.read_bytes()
    archive.write_bytes(data[: len(data) // 2])  # a truncated download
    with pytest.raises(MotionDatasetError, match=r"dataset-2_data\.tar\.xz: cannot unpack.*download complete"):
        unpack_archive_cached(archive, tmp_path / "cache", progress=False)
    assert [p.name for p in (tmp_path / "cache").iterdir() if not p.name.endswith(".lock")] == []

    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as zf:
        zf.writestr("../../outside.txt", "x")
    with pytest.raises(MotionDatasetError, match="outside the cache folder"):
        unpack_archive_cached(evil, tmp_path / "cache2", progress=False)
    assert not (tmp_path / "outside.txt").exists()
    with pytest.raises(MotionDatasetError, match="unknown archive type"):
        unpack_archive_cached(BANDAI1 / "dataset-1_walk_normal_001.json", tmp_path / "cache3")


def test_archive_rewritten_in_place_is_unpacked_again(tmp_path):
    archive = _fake_bandai2(tmp_path / "root", "zip")  # stored members: same lengths, same archive size
    cache = tmp_path / "cache"
    first = unpack_archive_cached(archive, cache, progress=False)
    assert unpack_archive_cached(archive, cache, progress=False) == first  # reused
    # The archive rewritten in place with one member's bytes changed, size and mtime kept.
    st = archive.stat()
    with zipfile.ZipFile(archive) as zf:
        members = [(info, zf.read(info)) for info in zf.infolist()]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for info, data in members:
            if info.filename.endswith("walk_normal_001.bvh"):
                data = data[::-1]  # same length, other bytes
            zf.writestr(info, data)
    assert len(buf.getvalue()) == st.st_size
    with open(archive, "r+b") as fh:
        fh.write(buf.getvalue())
    os.utime(archive, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert (archive.stat().st_size, archive.stat().st_mtime_ns) == (st.st_size, st.st_mtime_ns)
    second = unpack_archive_cached(archive, cache, progress=False)
    assert second != first
    name = "Bandai-Namco-Research-Motiondataset-2/data/dataset-2_walk_normal_001.bvh"
    assert (second / name).read_bytes() == (first / name).read_bytes()[::-1]


# ----------------------------------------------------------------- atomic folders


def _killed_after_first_rename(monkeypatch, kill_rollback: bool = True):
    """Make ``os.replace`` raise after its first call (a kill between the renames of a swap);
    with ``kill_rollback=False`` only the second call raises, so the in-process rollback runs."""
    from hf_motion import fileio

    real = os.replace
    calls = []

    def fake(src, dst):
        calls.append(dst)
        if len(calls) == 2 or (kill_rollback and len(calls) > 2):
            raise KeyboardInterrupt("killed between the renames")
        return real(src, dst)

    monkeypatch.setattr(fileio.os, "replace", fake)
    return lambda: monkeypatch.setattr(fileio.os, "replace", real)


def _write(path: Path, text: str) -> None:
    from hf_motion.fileio import atomic_directory

    with atomic_directory(path, overwrite=True) as d:
        (d / "v").write_text(text)


def test_a_failed_swap_is_rolled_back_at_once(tmp_path, monkeypatch):
    target = tmp_path / "entry"
    _write(target, "old")
    restore = _killed_after_first_rename(monkeypatch, kill_rollback=False)
    with pytest.raises(KeyboardInterrupt):
        _write(target, "new")
    restore()
    assert (target / "v").read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["entry"]


def test_a_kill_between_the_renames_is_recovered_by_the_next_call(tmp_path, monkeypatch, caplog):
    from hf_motion.fileio import recover_directory

    target = tmp_path / "entry"
    _write(target, "old")
    restore = _killed_after_first_rename(monkeypatch)
    with pytest.raises(KeyboardInterrupt):
        _write(target, "new")
    restore()
    assert not target.exists()
    hidden = [p.name for p in tmp_path.iterdir()]
    assert len(hidden) == 1 and hidden[0].startswith(".old-entry-") and (tmp_path / hidden[0] / "x" / "v").is_file()
    # The next call: the old copy comes back (the swap is rolled back), then is replaced.
    with caplog.at_level(logging.WARNING, logger="hf_motion.fileio"):
        _write(target, "newer")
    assert "restored" in caplog.text and str(target) in caplog.text
    assert (target / "v").read_text() == "newer"
    assert [p.name for p in tmp_path.iterdir()] == ["entry"]
    # recover_directory alone restores too, and is a no-op when there is nothing to repair.
    restore = _killed_after_first_rename(monkeypatch)
    with pytest.raises(KeyboardInterrupt):
        _write(target, "lost")
    restore()
    assert recover_directory(target) is True and (target / "v").read_text() == "newer"
    assert recover_directory(target) is False and [p.name for p in tmp_path.iterdir()] == ["entry"]


def test_only_dead_owners_staging_folders_are_cleaned(tmp_path):
    from hf_motion import fileio

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    host = fileio._host_key()
    made = {
        "dead_tmp": f".tmp-entry-{host}-{dead.pid}-abcd1234",
        "dead_old": f".old-entry-{host}-{dead.pid}-efgh5678",
        "live": f".tmp-entry-{host}-{os.getppid()}-ijkl9012",
        "other_host_new": f".tmp-entry-0000ffff-{dead.pid}-mnop3456",
        "other_host_old": f".tmp-entry-0000ffff-{dead.pid}-qrst7890",
        "legacy_new": ".tmp-entry-k2j4h5g6",  # an older version's name: no pid
        "legacy_old": ".tmp-entry-z9y8x7w6",
        "other_target": f".tmp-entry2-{host}-{dead.pid}-uvwx1234",
    }
    for name in made.values():
        (tmp_path / name / "part").mkdir(parents=True)
    aged = time.time() - fileio.FOREIGN_STALE_AFTER_S - 60
    for key in ("other_host_old", "legacy_old"):
        os.utime(tmp_path / made[key], (aged, aged))
    # A dead owner's .old- copy is restored when the target is missing.
    (tmp_path / made["dead_old"] / "part").rename(tmp_path / made["dead_old"] / "x")
    assert fileio.recover_directory(tmp_path / "entry") is True
    assert (tmp_path / "entry").is_dir()
    left = {p.name for p in tmp_path.iterdir()}
    kept = {made[k] for k in ("live", "other_host_new", "legacy_new", "other_target")}
    assert left == kept | {"entry"}
    # This process's own staging folder is kept while in use, cleaned once abandoned.
    with fileio.atomic_directory(tmp_path / "entry", overwrite=True) as d:
        fileio.recover_directory(tmp_path / "entry")
        assert d.exists()
    fileio._release(mine := fileio._new_staging(tmp_path, "tmp", "entry"))
    fileio.recover_directory(tmp_path / "entry")
    assert not mine.exists()
