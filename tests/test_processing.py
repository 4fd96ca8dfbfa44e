"""MotionProcessor: the model's input contract, saved beside the tokenizer and enforced on real clips."""

import json

import numpy as np
import pytest
from transformers import AutoProcessor

import hf_motion
from hf_motion import MotionProcessor, MotionProcessorError, MotionTokenizer
from hf_motion.resources import tokenizer_config_path
from hf_motion.skeletons import resolve_joint_subset

from conftest import REPO, tiny_lm


@pytest.fixture(scope="module")
def core(walk_motion):
    return resolve_joint_subset("bandai-core", walk_motion.skeleton)


@pytest.fixture(scope="module")
def processor(core):
    tok = MotionTokenizer.from_pretrained(tokenizer_config_path("m5-delta-motion"), joint_names=core)
    return MotionProcessor(tok, fps=10, window=24, stride=12)


def test_windows_follow_the_contract_on_a_real_clip(processor, walk_motion, core):
    batch = processor(walk_motion, return_tensors="pt")
    at10 = hf_motion.resample_motion(walk_motion, 10).select_joints(core)
    T = at10.num_frames
    starts = list(range(0, T - 24 + 1, 12))
    assert batch["window_start"].tolist() == starts and batch["num_frames"].tolist() == [24] * len(starts)
    # Each row is the tokenizer's own encoding of that window of the prepared clip.
    for row, s in zip(batch["input_ids"], starts):
        expected = processor.tokenizer.encode_motion(angles=at10.rotations[s : s + 24], task=">")
        assert row.tolist() == expected.tolist()
    assert batch["attention_mask"].all()
    assert processor.tokens_per_frame == len(core) * processor.tokenizer.values_per_joint + 1


def test_a_short_clip_gives_one_window_and_lists_say_which_clip(processor, walk_motion, bandai_paths):
    short = walk_motion.slice(0, 30)  # 30 frames at 30 fps: 10 frames at 10 fps, under one window
    batch = processor([short, bandai_paths[0]], max_windows=2)
    assert batch["clip_index"][0] == 0 and batch["clip_index"].count(0) == 1
    assert batch["num_frames"][0] == 10 and sum(batch["attention_mask"][0]) < len(batch["input_ids"][0])
    assert batch["clip_index"][1:] == [1, 1]  # max_windows: two evenly spaced windows of the second clip
    pad = processor.tokenizer.pad_token_id
    assert all(t == pad for t, m in zip(batch["input_ids"][0], batch["attention_mask"][0]) if not m)


def test_save_and_autoprocessor_round_trip(processor, tmp_path, walk_motion):
    processor.save_pretrained(tmp_path)
    saved = json.loads((tmp_path / "preprocessor_config.json").read_text())
    assert saved["processor_class"] == "MotionProcessor" and saved["fps"] == 10.0 and saved["window"] == 24
    # The two files agree: the tokenizer config records the same joints in the same order.
    assert json.loads((tmp_path / "tokenizer_config.json").read_text())["joint_names"] == saved["joints"]
    loaded = AutoProcessor.from_pretrained(tmp_path)
    assert isinstance(loaded, MotionProcessor) and loaded.to_dict() == processor.to_dict()
    a, b = loaded(walk_motion)["input_ids"], processor(walk_motion)["input_ids"]
    assert a == b
    # Saved overrides load: resample=False refuses what the default resamples.
    assert not MotionProcessor.from_pretrained(tmp_path, resample=False).resample


def test_another_frame_rate_is_resampled_or_refused(processor, walk_motion):
    assert processor.prepare(walk_motion).fps == pytest.approx(10.0)
    strict = MotionProcessor(processor.tokenizer, fps=10, window=24, resample=False)
    with pytest.raises(MotionProcessorError, match=r"at 30 fps; the model works at 10 fps.*resample_motion"):
        strict.prepare(walk_motion)
    # BVH frame times are rounded: a rate within 0.01% is the same rate.
    assert strict.prepare(hf_motion.resample_motion(walk_motion, 10.0005)).fps == pytest.approx(10.0005)


def test_a_skeleton_without_the_models_joints_is_refused_by_name(processor):
    cmu = hf_motion.load_bvh(REPO / "tests" / "fixtures" / "cmu_31joint.bvh")
    with pytest.raises(
        MotionProcessorError, match=r"cmu_31joint\.bvh: the skeleton lacks \d+ of the model's 17 joints \(Chest, UpperArm_L"
    ):
        processor(str(REPO / "tests" / "fixtures" / "cmu_31joint.bvh"))
    with pytest.raises(MotionProcessorError, match="skeleton lacks"):
        processor.prepare(cmu)


def test_bad_contracts_are_refused(processor, core, tmp_path):
    tok = processor.tokenizer
    with pytest.raises(MotionProcessorError, match="differ from the tokenizer's joint_names"):
        MotionProcessor(tok, fps=10, window=24, joints=list(reversed(core)))
    with pytest.raises(MotionProcessorError, match="needs the model's joints"):
        MotionProcessor(MotionTokenizer.from_pretrained(tokenizer_config_path("m5-delta-motion")), fps=10, window=24)
    with pytest.raises(MotionProcessorError, match="fps must be a positive number"):
        MotionProcessor(tok, fps=0, window=24)
    with pytest.raises(MotionProcessorError, match="window must be an integer"):
        MotionProcessor(tok, fps=10, window=0)
    with pytest.raises(MotionProcessorError, match="representation must be one of"):
        MotionProcessor(tok, fps=10, window=24, representation="quaternions")
    with pytest.raises(MotionProcessorError, match="needs the model's MotionTokenizer"):
        MotionProcessor(None, fps=10, window=24)
    # A folder without the contract: says so, and what to do when it has a pretraining summary.
    tok.save_pretrained(tmp_path)
    (tmp_path / "pretrain_summary.json").write_text("{}")
    with pytest.raises(MotionProcessorError, match=r"no preprocessor_config\.json.*MotionProcessor\(tokenizer, fps="):
        MotionProcessor.from_pretrained(tmp_path)
    processor.save_pretrained(tmp_path)
    config = json.loads((tmp_path / "preprocessor_config.json").read_text())
    (tmp_path / "preprocessor_config.json").write_text(json.dumps({**config, "frames_per_second": 10}))
    with pytest.raises(MotionProcessorError, match=r"unknown keys \['frames_per_second'\]"):
        MotionProcessor.from_pretrained(tmp_path)


def test_positions_representation_centres_each_window(core, walk_motion):
    tok = MotionTokenizer.from_pretrained(tokenizer_config_path("m5-fine-motion"), joint_names=core)
    processor = MotionProcessor(tok, fps=10, window=8, representation="positions")
    batch = processor(walk_motion, max_windows=1)
    window = hf_motion.resample_motion(walk_motion, 10).select_joints(core).slice(0, 8)
    pos = hf_motion.canonicalize_positions(window.positions(), up_axis=window.skeleton.up_axis)
    decoded = tok.decode_motion(batch["input_ids"][0])
    assert decoded.task == ">" and decoded.angles is None
    # Within half a position bin of the centred window (the raw, uncentred positions are metres off).
    half = np.max(tok.position_quantizer.delta) / 2 + 1e-9
    assert np.abs(decoded.positions - pos).max() <= half
    assert np.abs(decoded.positions - window.positions()).max() > 10 * half


def test_predict_with_the_processor_prepares_the_context(core, bandai_paths, walk_motion):
    """predict(model, processor, clip): the 30 fps, 30-joint file is brought to the model's 10 fps and 17 joints."""
    import torch

    from hf_motion import predict

    tok = MotionTokenizer.from_pretrained(tokenizer_config_path("m5-fine-motion"), joint_names=core)
    processor = MotionProcessor(tok, fps=10, window=24)
    model = tiny_lm(tok)
    clip = walk_motion.slice(0, 12)  # 0.4 s at 30 fps: 4 frames at 10 fps
    torch.manual_seed(0)
    pred = predict(model, processor, clip, seconds=0.3)
    assert pred.fps == pytest.approx(10.0) and pred.skeleton.names == core and pred.num_frames == 3
    torch.manual_seed(0)
    same = predict(model, tok, processor.prepare(clip), seconds=0.3)
    np.testing.assert_array_equal(pred.rotations, same.rotations)
    # A path works too; without the processor the raw clip is refused (30 joints, not the model's 17).
    assert predict(model, processor, [str(bandai_paths[0])], seconds=0.1, sliding=True)[0].num_frames == 1
    with pytest.raises(hf_motion.MotionError, match="17"):
        predict(model, tok, clip, seconds=0.1)
