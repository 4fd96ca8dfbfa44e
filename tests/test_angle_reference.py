"""Angles written relative to a reference pose (``angle_reference``), on real Bandai clips.

Oracles independent of the code under test: scipy's ``Rotation`` for compositions and means,
the quantizer's own round trip, and raw axis-angle differences computed with numpy.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

import hf_motion as hm
from hf_motion import MotionTokenizer, MotionTokenizerError, predict
from hf_motion.datasets import MotionDatasetBuilder, MotionDatasetConfig, bandai_namco
from hf_motion.rotations import compose_rotation, mean_rotation, relative_rotation

from conftest import tiny_lm

CORE = hm.skeletons.resolve_joint_subset("bandai-core")


@pytest.fixture(scope="module")
def core_motion(bandai_motions):
    return hm.resample_motion(bandai_motions[1], 10).select_joints("bandai-core")


@pytest.fixture(scope="module")
def reference(bandai_motions):
    """The mean pose of a few clips, by scipy's own chordal mean (independent of mean_rotation)."""
    rot = np.concatenate([hm.resample_motion(m, 10).select_joints("bandai-core").rotations for m in bandai_motions[:4]])
    return np.stack([Rotation.from_rotvec(rot[:, j]).mean().as_rotvec() for j in range(rot.shape[1])])


def test_relative_and_compose_are_inverse_and_match_scipy():
    ref = Rotation.random(5, random_state=1).as_rotvec()
    aa = Rotation.random(40 * 5, random_state=2).as_rotvec().reshape(40, 5, 3)
    rel = relative_rotation(ref, aa)
    expect = (Rotation.from_rotvec(np.tile(ref, (40, 1))).inv() * Rotation.from_rotvec(aa.reshape(-1, 3))).as_rotvec()
    np.testing.assert_allclose(rel.reshape(-1, 3), expect, atol=1e-12)
    back = compose_rotation(ref, rel)
    assert Rotation.from_rotvec((Rotation.from_rotvec(back.reshape(-1, 3)).inv()
                                 * Rotation.from_rotvec(aa.reshape(-1, 3))).as_rotvec()).magnitude().max() < 1e-9  # fmt: skip
    # The chordal mean equals scipy's Rotation.mean on each joint.
    mats = Rotation.from_rotvec(aa.reshape(-1, 3)).as_matrix().reshape(40, 5, 3, 3)
    ours = mean_rotation(mats.sum(axis=0))
    for j in range(5):
        theirs = Rotation.from_rotvec(aa[:, j]).mean()
        assert (theirs.inv() * Rotation.from_rotvec(ours[j])).magnitude() < 1e-6


@pytest.mark.parametrize("coding", ["absolute", "delta"])
def test_round_trip_error_is_the_quantizer_error_of_the_relative_angles(core_motion, reference, coding, tmp_path):
    base = MotionTokenizer.m5_delta(256) if coding == "delta" else MotionTokenizer.m5(256)
    tok = base.with_angle_reference(reference, CORE)
    ids = tok.encode_motion(angles=core_motion.rotations)
    dec = tok.decode_motion(ids).angles
    # The oracle: quantize log(R_ref^T R) with the quantizer alone, then compose with scipy.
    rel = (Rotation.from_rotvec(np.tile(reference, (core_motion.num_frames, 1))).inv()
           * Rotation.from_rotvec(core_motion.rotations.reshape(-1, 3)))  # fmt: skip
    oracle = Rotation.from_rotvec(np.tile(reference, (core_motion.num_frames, 1))) * Rotation.from_rotvec(
        tok.angle_quantizer.round_trip(rel.as_rotvec().reshape(core_motion.rotations.shape)).reshape(-1, 3)
    )
    err = (oracle.inv() * Rotation.from_rotvec(dec.reshape(-1, 3))).magnitude()
    assert err.max() < 1e-9
    # Saved and loaded, the reference (and so the ids) survive, also through AutoTokenizer.
    tok.save_pretrained(tmp_path)
    saved = json.loads((tmp_path / "tokenizer_config.json").read_text())["quantization"]["angle_reference"]
    np.testing.assert_allclose(saved, reference)
    from transformers import AutoTokenizer

    for loaded in (MotionTokenizer.from_pretrained(tmp_path), AutoTokenizer.from_pretrained(tmp_path)):
        np.testing.assert_array_equal(loaded.encode_motion(angles=core_motion.rotations), ids)
    # Without a reference the saved config is unchanged (no angle_reference key).
    assert "angle_reference" not in base.quantization


def test_reference_makes_frame_changes_small_where_raw_axis_angle_flips(core_motion, reference):
    """Bandai's arms sit near a rotation of pi: raw axis-angle components jump by ~2 pi between
    frames; relative to the mean pose the same motion changes by a few degrees."""
    raw = np.abs(np.diff(core_motion.rotations, axis=0))
    rel = np.abs(np.diff(relative_rotation(reference, core_motion.rotations), axis=0))
    assert raw.max() > 3.0  # a sign flip: the same rotation written from the other side of pi
    assert rel.max() < 2.0  # fast motion at 10 fps, but no flip
    assert np.mean(rel) < 0.75 * np.mean(raw)


def test_bad_references_are_refused():
    with pytest.raises(MotionTokenizerError, match="needs joint_names"):
        MotionTokenizer(angle_reference=np.zeros((3, 3)))
    with pytest.raises(MotionTokenizerError, match="has 3 joints, joint_names 2"):
        MotionTokenizer(angle_reference=np.zeros((3, 3)), joint_names=["a", "b"])
    with pytest.raises(MotionTokenizerError, match=r"shape \(J, 3\)"):
        MotionTokenizer(angle_reference=np.zeros((3, 2)), joint_names=["a", "b", "c"])
    with pytest.raises(MotionTokenizerError, match=r"joint 1 \(b\).*at most pi"):
        MotionTokenizer(angle_reference=[[0, 0, 0], [4, 0, 0]], joint_names=["a", "b"])
    with pytest.raises(MotionTokenizerError, match="either quantization or angle_reference"):
        MotionTokenizer(quantization=MotionTokenizer.m5().quantization, angle_reference=[[0, 0, 0]])
    tok = MotionTokenizer.m5().with_angle_reference(np.zeros((2, 3)), ["a", "b"])
    with pytest.raises(MotionTokenizerError, match="expected 2 joints"):
        tok.encode_motion(angles=np.zeros((4, 3, 3)))


def test_builder_fits_the_reference_on_the_training_split_only(tmp_path):
    clips = bandai_namco(subsets="dataset-1")[:12]
    cfg = MotionDatasetConfig(window=10, stride=10, fps=10, angle_reference="train-mean", tasks="acm=1",
                              splits={"train": 0.5, "test": 0.5})  # fmt: skip
    build = MotionDatasetBuilder(cfg, MotionTokenizer.m5_delta(256)).build(clips, num_proc=1, cache_dir=tmp_path, progress=False)
    tok = build.tokenizer
    assert tok.joint_names == build.stats.joint_names == CORE
    # The oracle: scipy's mean over the training split's frames, found from the dataset's groups.
    groups = set(build.dataset["train"].unique("group"))
    assert groups and not groups & set(build.dataset["test"].unique("group"))
    rots = {c.clip_id: hm.resample_motion(c.load(), 10).select_joints("bandai-core").rotations for c in clips}
    train = np.concatenate([rots[c.clip_id] for c in clips if c.group in groups])
    every = np.concatenate(list(rots.values()))
    off_all = []
    for j in range(len(CORE)):
        fitted = Rotation.from_rotvec(tok.angle_reference[j])
        assert (Rotation.from_rotvec(train[:, j]).mean().inv() * fitted).magnitude() < 1e-6
        off_all.append((Rotation.from_rotvec(every[:, j]).mean().inv() * fitted).magnitude())
    assert max(off_all) > 1e-3  # the held-out frames did not enter the fit
    # The ids are the fitted tokenizer's: a row decodes to the clips' frames within its quantizer error.
    row = np.asarray(build.dataset["train"][0]["input_ids"])
    start = int(np.flatnonzero(row == tok.bos_token_id)[0])
    end = start + int(np.flatnonzero(row[start:] == tok.eos_token_id)[0])
    assert tok.decode_motion(row[start : end + 1]).angles.shape[1:] == (len(CORE), 3)
    # From the cache, the same tokenizer comes back.
    again = MotionDatasetBuilder(cfg, MotionTokenizer.m5_delta(256)).build(clips, num_proc=1, cache_dir=tmp_path, progress=False)
    assert again.stats.from_cache
    np.testing.assert_allclose(again.tokenizer.angle_reference, tok.angle_reference)
    with pytest.raises(ValueError, match="angle_reference must be one of"):
        MotionDatasetConfig(angle_reference="mean")


class _Still:
    """Favours the "no change" angle token (a model that predicts zero velocity); the layout
    constraint, applied after it, still puts the separators in place."""

    def __init__(self, tok):
        self.zero = int(tok.delta_token_ids("angle")[tok.max_step])

    def __call__(self, input_ids, scores):
        scores = scores.clone()
        scores[:, self.zero] += 1e4
        return scores


def test_anchored_prediction_of_no_change_is_exactly_zero_velocity(core_motion, reference):

    tok = MotionTokenizer.m5_delta(256).with_angle_reference(reference, CORE)
    model = tiny_lm(tok, n_positions=512)
    context = core_motion.slice(0, 5)
    plain = predict(model, tok, context, seconds=0.3, logits_processor=[_Still(tok)])
    anchored = predict(model, tok, context, seconds=0.3, anchor=True, logits_processor=[_Still(tok)])
    truth = np.repeat(context.rotations[-1:], 3, axis=0)
    gap = lambda a: Rotation.from_rotvec((Rotation.from_rotvec(a.reshape(-1, 3)).inv()  # noqa: E731
                                          * Rotation.from_rotvec(truth.reshape(-1, 3))).as_rotvec()).magnitude()  # fmt: skip
    assert gap(anchored.rotations).max() < 1e-9  # the exact last frame, repeated
    assert gap(plain.rotations).max() > 1e-4  # the decoded last frame: off by its quantization error


def test_relative_and_compose_rotation_take_a_single_frame():
    """One frame against a reference of the same shape (the broadcast is then a read-only view,
    which scipy refuses unless it is copied)."""
    from scipy.spatial.transform import Rotation

    from hf_motion.rotations import compose_rotation, relative_rotation

    rng = np.random.default_rng(0)
    ref, aa = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    rel = relative_rotation(ref, aa)
    want = (Rotation.from_rotvec(ref).inv() * Rotation.from_rotvec(aa)).as_rotvec()
    np.testing.assert_allclose(rel, want, atol=1e-12)
    back = Rotation.from_rotvec(compose_rotation(ref, rel))
    assert np.allclose((back.inv() * Rotation.from_rotvec(aa)).magnitude(), 0.0, atol=1e-9)
