"""The level path of MotionGPT2 (``use_level_embeddings``): the level of the slot being predicted, from the ids."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from transformers import AutoModel, AutoModelForCausalLM

from hf_motion.modeling import (
    MotionGPT2Config,
    MotionGPT2ForCausalLM,
    motion_gpt2_config,
    previous_frame_source,
    slot_levels,
)
from hf_motion.models.motion_gpt2.configuration_motion_gpt2 import value_alphabets
from hf_motion.tokenizer import MotionTokenizer

JOINTS = ["Hips", "Spine", "Chest", "Neck", "Head"]


@pytest.fixture(scope="module")
def clip(walk_motion):
    m = walk_motion.select_joints(JOINTS).slice(0, 90, 10)  # 9 frames at 3 fps
    positions = m.positions()
    return m.rotations, positions - positions[:, :1]  # root-relative: inside the default position box


def _model(tok, seed=0, std=0.3, **overrides):
    torch.manual_seed(seed)
    cfg = motion_gpt2_config("tiny", tok, initializer_range=std, use_level_embeddings=True, **overrides)
    return MotionGPT2ForCausalLM(cfg).eval()


def _expected_rows(delta_tok, ids, absolute_ids, n_angle):
    """What position i should see: the level (from the *absolute* tokenizer's encoding of the same
    motion) at token i + 1's slot in the previous frame of its stream, or none."""
    kinds = np.asarray(delta_tok.token_kinds)
    levels = np.asarray(MotionTokenizer.m5().token_values)
    seps = np.flatnonzero(ids == delta_tok.frame_separator_id)
    expected = np.full(len(ids), -1)  # the last position (<eos>) predicts nothing of a frame
    seen, previous = {1: 0, 2: 0}, {}
    for k, s in enumerate(seps):
        end = seps[k + 1] if k + 1 < len(seps) else len(ids) - 1  # the last frame ends at <eos>
        kind = kinds[ids[s + 1]]
        for j in range(s + 1, end):
            if seen[kind]:
                expected[j - 1] = (0 if kind == 1 else n_angle) + previous[kind][j - s - 1]
        previous[kind] = levels[absolute_ids[s + 1 : end]]
        seen[kind] += 1
    return expected


@pytest.mark.parametrize("keyframe_interval", [None, 3])
@pytest.mark.parametrize("task", [">", "$", "&"])
def test_levels_from_delta_ids_equal_the_absolute_coding_of_real_motion(clip, keyframe_interval, task):
    angles, positions = clip
    delta_tok = MotionTokenizer.m5_delta(keyframe_interval=keyframe_interval)
    kw = {"angles": angles, "positions": None if task == ">" else positions, "task": task}
    ids, absolute = delta_tok.encode_motion(**kw), MotionTokenizer.m5().encode_motion(**kw)
    assert len(ids) == len(absolute)
    model = _model(delta_tok, n_positions=2048)
    rows = model.transformer.previous_frame_level_ids(torch.as_tensor(ids)[None])[0].numpy()
    expected = _expected_rows(delta_tok, ids, absolute, delta_tok.angle_quantizer.n_bins)
    none = model.transformer.level_none_id
    np.testing.assert_array_equal(rows, np.where(expected >= 0, expected, none))
    assert (rows != none).sum() > len(ids) // 2
    # The motion moves: the levels the model is told are not one constant per slot.
    assert len(np.unique(rows[rows != none])) > 20


def test_a_row_that_starts_without_its_keyframe_has_no_levels(clip):
    delta_tok = MotionTokenizer.m5_delta()
    ids = delta_tok.encode_motion(angles=clip[0], task=">")
    seps = np.flatnonzero(ids == delta_tok.frame_separator_id)
    tail = torch.as_tensor(ids[seps[3] :])[None]  # frames 3.. of a document: deltas with no keyframe before
    model = _model(delta_tok)
    rows = model.transformer.previous_frame_level_ids(tail)[0]
    assert (rows == model.transformer.level_none_id).all()
    # The same frames behind their keyframe do get levels.
    assert (model.transformer.previous_frame_level_ids(torch.as_tensor(ids)[None]) != model.transformer.level_none_id).any()


def test_slot_levels_marks_sums_outside_the_range():
    # One stream, absolute ids 10..13 (4 levels), delta ids 20..26 (max_step 3): level 3, then +3.
    alphabets, levels = [[10, 14, 0, -1], [20, 27, 0, 3]], [4, 4]
    ids = torch.tensor([[13, 26, 22]])
    source, valid = torch.tensor([[0, 0, 1]]), torch.tensor([[False, True, True]])
    got, stream = slot_levels(ids, source, valid, alphabets, levels)
    assert got.tolist() == [[3, -1, -1]]  # 3 + 3 = 6 is outside [0, 4), and so is what follows it
    assert stream.tolist() == [[0, 0, 0]]
    got, _ = slot_levels(torch.tensor([[13, 22, 21]]), source, valid, alphabets, levels)
    assert got.tolist() == [[3, 2, 0]]


def test_previous_frame_source_points_one_frame_back():
    # <bos> > | a b | c d <eos>: c's source is a, d's is b.
    ids = torch.tensor([[1, 7, 4, 10, 11, 4, 12, 13, 2]])
    q, valid = previous_frame_source(ids, 4, [0, 1, 2, 3, 4, 5, 6, 7], bos_token_id=1, eos_token_id=2)
    assert valid.tolist() == [[False] * 6 + [True, True, False]]
    assert q[0, 6:8].tolist() == [3, 4]


def test_cached_forward_and_generation_use_the_levels_of_the_whole_history(clip):
    delta_tok = MotionTokenizer.m5_delta()
    model = _model(delta_tok)
    ids = torch.as_tensor(delta_tok.encode_motion(angles=clip[0][:4], task=">")[:-1])[None]
    k = 30  # inside the third frame
    with torch.no_grad():
        full = model(ids).logits
        j, f = model.transformer.motion_position_indices(ids)
        prev = model.transformer.previous_frame_token_ids(ids)
        lv = model.transformer.previous_frame_level_ids(ids)
        step_inputs = {"joint_ids": j[:, k:], "frame_ids": f[:, k:], "previous_token_ids": prev[:, k:]}
        cache = model(ids[:, :k], use_cache=True).cache
        with pytest.raises(ValueError, match="needs level_ids"):
            model(ids[:, k:], cache=cache, **step_inputs)
        step = model(ids[:, k:], cache=cache, level_ids=lv[:, k:], **step_inputs).logits
        torch.testing.assert_close(step, full[:, k:], rtol=1e-4, atol=1e-4)
        none = torch.full_like(lv, model.transformer.level_none_id)
        assert (model(ids, level_ids=none).logits - full).abs().max() > 1e-2  # the levels matter
        with pytest.raises(ValueError, match="level_ids holds"):
            model(ids, level_ids=none + 1)
        kw = {"max_new_tokens": 30, "do_sample": False, "attention_mask": torch.ones_like(ids)}
        cached = model.generate(ids, use_cache=True, **kw)
        plain = model.generate(ids, use_cache=False, **kw)
    assert torch.equal(cached, plain)


def test_config_flag_is_validated_saved_and_must_match_the_weights(clip, tmp_path):
    delta_tok = MotionTokenizer.m5_delta()
    cfg = motion_gpt2_config("tiny", delta_tok, use_level_embeddings=True)
    assert cfg.stream_levels == [256, 256]
    assert [a[:3] for a in cfg.value_alphabets] == [[8, 264, 0], [520, 1031, 0], [264, 520, 1], [1031, 1542, 1]]
    assert motion_gpt2_config("tiny", delta_tok).use_level_embeddings is False
    with pytest.raises(ValueError, match="use_level_embeddings=True needs value_alphabets"):
        MotionGPT2Config(use_level_embeddings=True)
    with pytest.raises(ValueError, match="overlap another alphabet"):
        motion_gpt2_config("tiny", delta_tok, use_level_embeddings=True,
                           value_alphabets=[[8, 264, 0, -1], [200, 300, 1, -1]])  # fmt: skip
    with pytest.raises(ValueError, match="writes 2 digits per value"):
        value_alphabets(MotionTokenizer(digits=2))

    model = _model(delta_tok, std=0.02)
    model.save_pretrained(tmp_path / "level")
    ids = torch.as_tensor(delta_tok.encode_motion(angles=clip[0][:3], task=">"))[None]
    loaded = AutoModelForCausalLM.from_pretrained(tmp_path / "level").eval()
    assert loaded.config.value_alphabets == cfg.value_alphabets
    with torch.no_grad():
        torch.testing.assert_close(loaded(ids).logits, model(ids).logits)
    name = "level_embeddings.weight"
    assert torch.equal(AutoModel.from_pretrained(tmp_path / "level").state_dict()[name], model.transformer.state_dict()[name])
    with pytest.raises(ValueError, match="level_embeddings differ: check use_level_embeddings=False"):
        AutoModelForCausalLM.from_pretrained(tmp_path / "level", use_level_embeddings=False)


def test_sequence_classification_reads_levels_the_same_with_left_or_right_padding(clip):
    from hf_motion.modeling import MotionGPT2ForSequenceClassification

    delta_tok = MotionTokenizer.m5_delta()
    torch.manual_seed(0)
    cfg = motion_gpt2_config("tiny", delta_tok, num_labels=3, use_level_embeddings=True, initializer_range=0.3)
    model = MotionGPT2ForSequenceClassification(cfg).eval()
    seq = torch.as_tensor(delta_tok.encode_motion(angles=clip[0][:4], task=">"))
    pad = torch.zeros(5, dtype=torch.long)
    left, right = torch.cat([pad, seq])[None], torch.cat([seq, pad])[None]
    with torch.no_grad():
        ref = model(seq[None]).logits
        torch.testing.assert_close(model(left, attention_mask=(left != 0).long()).logits, ref, rtol=1e-4, atol=1e-4)
        torch.testing.assert_close(model(right, attention_mask=(right != 0).long()).logits, ref, rtol=1e-4, atol=1e-4)
        none = torch.full_like(seq[None], model.transformer.level_none_id)
        assert (model(seq[None], level_ids=none).logits - ref).abs().max() > 1e-3
