"""Constrained generation (MotionLogitsProcessor) and predict() on real Bandai clips."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from transformers import LogitsProcessorList

from hf_motion import Motion
from hf_motion import skeletons as hf_skeletons
from hf_motion.generation import MotionLogitsProcessor, MotionPromptError, predict
from hf_motion.kinematics import canonicalize_positions
from hf_motion.motion import MotionError
from hf_motion.modeling import MotionGPT2ForCausalLM, motion_gpt2_config
from hf_motion.tokenizer import MotionTokenizer, MotionTokenizerError, MotionTokens


SMALL_JOINTS = ["Hips", "Spine", "Chest", "Neck", "Head"]
TOKENIZERS = {
    "m5": MotionTokenizer(),
    "coarse-fine": MotionTokenizer(digits=2, angle_bins=4096, position_bins=4096),
}


@pytest.fixture(scope="module")
def small_walk(walk_motion):
    return walk_motion.select_joints(SMALL_JOINTS)


def _model(tok, seed=0, **overrides):
    torch.manual_seed(seed)
    return MotionGPT2ForCausalLM(motion_gpt2_config("tiny", tok, **overrides)).eval()


def _prompt(tok, motion, layout, frames=3):
    m = motion.slice(0, frames * 10, 10)
    pos = canonicalize_positions(m.positions(), m.skeleton.up_axis)
    if layout == "angles":
        ids = tok.encode_motion(angles=m.rotations, task=">")
    elif layout == "positions":
        ids = tok.encode_motion(positions=pos, task=">")
    else:  # FK text: angle and position frames interleave
        ids = tok.encode_motion(angles=m.rotations, positions=pos, task="$")
    return ids[:-1]  # no <eos>: generation continues the motion


def _allowed(proc, ids, generated=0):
    """Token ids the processor leaves finite after the given sequences.

    ``generated``: how many of the last tokens were generated, one per step, after the prompt.
    """
    ids = torch.as_tensor(np.atleast_2d(ids))
    proc.reset()
    zeros = torch.zeros((ids.shape[0], len(proc.tokenizer)))
    for k in range(generated, 0, -1):
        proc(ids[:, : ids.shape[1] - k], zeros)
    scores = proc(ids, zeros)
    return [set(torch.nonzero(torch.isfinite(row)).flatten().tolist()) for row in scores]


# ------------------------------------------------------------------ the masks, slot by slot
@pytest.mark.parametrize("tok_name", list(TOKENIZERS))
def test_allowed_tokens_follow_the_layout(tok_name, small_walk):
    tok = TOKENIZERS[tok_name]
    proc = MotionLogitsProcessor(tok)
    D = tok.digits
    angle = [set(tok.angle_token_ids(d).tolist()) for d in range(D)]
    position = [set(tok.position_token_ids(d).tolist()) for d in range(D)]
    sep, eos = tok.frame_separator_id, tok.eos_token_id
    W = len(SMALL_JOINTS) * 3 * D

    causal = _prompt(tok, small_walk, "angles", frames=2)  # bos > sep A sep A
    assert _allowed(proc, causal) == [{sep, eos}]  # after the last joint of a frame
    assert _allowed(proc, np.append(causal, sep)) == [angle[0]]  # causal text keeps the kind
    assert _allowed(proc, np.append(causal, sep), generated=1) == [angle[0]]
    pad = tok.pad_token_id  # a finished row gets <pad> appended by generate
    assert _allowed(proc, np.append(causal, [eos, pad]), generated=2) == [{eos}]
    assert _allowed(proc, causal[:-1]) == [angle[D - 1]]  # the last digit of the last value
    if D == 2:
        assert _allowed(proc, causal[: -2]) == [angle[0]]
    assert _allowed(proc, np.append(causal, [eos]), generated=1) == [{eos}]  # finished rows only repeat <eos>

    proc_j = MotionLogitsProcessor(tok, num_joints=len(SMALL_JOINTS))
    assert _allowed(proc_j, [tok.bos_token_id]) == [set(tok.task_token_ids.values())]
    assert _allowed(proc_j, [tok.bos_token_id, tok.task_token_ids[">"]]) == [{sep}]

    fk = _prompt(tok, small_walk, "both", frames=1)  # bos $ sep A sep P
    assert len(fk) == 2 + 2 * (W + 1)
    assert _allowed(proc, np.append(fk, sep)) == [angle[0]]  # interleaved: A P A P ...
    assert _allowed(proc, fk[: 3 + W + 1]) == [position[0]]
    # One frame of FK text: the task token says frames alternate.
    assert _allowed(proc, np.append(fk[: 3 + W], sep)) == [position[0]]
    pos_only = _prompt(tok, small_walk, "positions", frames=2)
    assert _allowed(proc, np.append(pos_only, sep)) == [position[0]]


def test_no_eos_when_disallowed(small_walk):
    tok = TOKENIZERS["m5"]
    proc = MotionLogitsProcessor(tok, allow_eos=False)
    assert _allowed(proc, _prompt(tok, small_walk, "angles")) == [{tok.frame_separator_id}]


def test_ids_beyond_the_tokenizer_are_blocked(small_walk):
    tok = TOKENIZERS["m5"]
    proc = MotionLogitsProcessor(tok)
    ids = torch.as_tensor(_prompt(tok, small_walk, "angles"))[None]
    scores = proc(ids, torch.zeros((1, len(tok) + 16)))
    assert torch.isinf(scores[0, len(tok):]).all()
    with pytest.raises(ValueError, match="resize the model's embeddings"):
        MotionLogitsProcessor(tok)(ids, torch.zeros((1, len(tok) - 1)))


# ------------------------------------------------------------------ generation always decodes
@pytest.mark.parametrize("tok_name", list(TOKENIZERS))
@pytest.mark.parametrize("layout", ["angles", "positions", "both"])
def test_constrained_sampling_always_decodes_and_unconstrained_usually_not(tok_name, layout, small_walk):
    tok = TOKENIZERS[tok_name]
    model = _model(tok)
    prompt = torch.as_tensor(_prompt(tok, small_walk, layout))[None].repeat(8, 1)
    new_frames = 4
    n_new = new_frames * (len(SMALL_JOINTS) * tok.values_per_joint + 1)
    kw = dict(max_new_tokens=n_new, min_new_tokens=n_new, do_sample=True, top_k=0,
              attention_mask=torch.ones_like(prompt))  # fmt: skip
    decoded, failures, rows = 0, 0, 0
    for seed in range(4):
        torch.manual_seed(seed)
        out = model.generate(prompt, logits_processor=LogitsProcessorList([MotionLogitsProcessor(tok)]), **kw)
        for row in out.numpy():
            dec = tok.decode_motion(np.append(row, tok.eos_token_id), strict=True)
            frames = sum(len(x) for x in (dec.angles, dec.positions) if x is not None)
            assert frames == 3 * (2 if layout == "both" else 1) + new_frames
            assert all(x.shape[1] == len(SMALL_JOINTS) for x in (dec.angles, dec.positions) if x is not None)
            decoded += 1
        torch.manual_seed(seed)
        for row in model.generate(prompt, **kw).numpy():
            rows += 1
            try:
                tok.decode_motion(np.append(row, tok.eos_token_id), strict=True)
            except MotionTokenizerError:
                failures += 1
    assert decoded == 32
    assert failures >= 0.75 * rows


def test_constrained_generation_with_eos_allowed_and_left_padding(small_walk):
    tok = TOKENIZERS["m5"]
    model = _model(tok, seed=3)
    long = _prompt(tok, small_walk, "angles", frames=3)
    short = _prompt(tok, small_walk, "angles", frames=2)
    batch = np.zeros((2, len(long)), dtype=np.int64)
    batch[0], batch[1, len(long) - len(short):] = long, short
    ids = torch.as_tensor(batch)
    torch.manual_seed(0)
    out = model.generate(ids, attention_mask=(ids != 0).long(), max_new_tokens=80, do_sample=True, top_k=0,
                         logits_processor=LogitsProcessorList([MotionLogitsProcessor(tok)]))  # fmt: skip
    for row in out.numpy():
        dec = tok.decode_motion(row, strict=True)  # rows may stop early with <eos> + padding
        assert dec.angles.shape[1:] == (len(SMALL_JOINTS), 3)


def test_constrained_generation_cached_equals_uncached(small_walk):
    tok = TOKENIZERS["m5"]
    model = _model(tok, initializer_range=0.3)
    prompt = torch.as_tensor(_prompt(tok, small_walk, "both", frames=2))[None]
    kw = dict(max_new_tokens=48, do_sample=False, attention_mask=torch.ones_like(prompt))
    a = model.generate(prompt, use_cache=True, logits_processor=LogitsProcessorList([MotionLogitsProcessor(tok)]), **kw)
    b = model.generate(prompt, use_cache=False, logits_processor=LogitsProcessorList([MotionLogitsProcessor(tok)]), **kw)
    assert torch.equal(a, b)


# ------------------------------------------------------------------ bad prompts
def test_bad_prompts_raise_clear_errors(small_walk):
    tok = TOKENIZERS["m5"]
    proc = MotionLogitsProcessor(tok)
    scores = torch.zeros((1, len(tok)))
    with pytest.raises(MotionPromptError, match="row 0 holds no complete frame.*num_joints=J"):
        proc(torch.tensor([[tok.bos_token_id, tok.task_token_ids[">"]]]), scores)
    full = tok.encode_motion(angles=small_walk.rotations[:2])
    proc.reset()
    with pytest.raises(MotionPromptError, match="row 0 contains <eos>"):
        proc(torch.as_tensor(full)[None], scores)
    # bos > sep <15 tokens> sep <12 tokens: a joint missing> sep <15 tokens>
    sep = tok.frame_separator_id
    ragged = np.concatenate([full[:3], full[3:18], [sep], full[19:31], [sep], full[19:34]])
    proc.reset()
    with pytest.raises(MotionPromptError, match="frame 1 has 12 tokens but frames here have 15"):
        proc(torch.as_tensor(ragged)[None], scores)
    with pytest.raises(ValueError, match="num_joints must be >= 1"):
        MotionLogitsProcessor(tok, num_joints=0)
    with pytest.raises(ValueError, match="first_frame_kind"):
        MotionLogitsProcessor(tok, first_frame_kind="velocity")


# ------------------------------------------------------------------ predict
def test_predict_returns_a_motion_of_the_requested_length(bandai_motions):
    tok = TOKENIZERS["m5"]
    model = _model(tok)
    context = bandai_motions[1].select_joints("bandai-core").slice(0, 4)  # a run, 17 joints
    torch.manual_seed(0)
    pred = predict(model, tok, context, seconds=0.2, do_sample=True)
    assert isinstance(pred, Motion)
    assert pred.num_frames == 6 and pred.fps == context.fps and pred.skeleton == context.skeleton
    # Angles are bin centres of the angle quantizer; the root is held at the last context frame.
    bins = tok.angle_quantizer.encode(pred.rotations)
    np.testing.assert_allclose(tok.angle_quantizer.decode(bins), pred.rotations)
    np.testing.assert_array_equal(pred.root_translation, np.repeat(context.root_translation[-1:], 6, axis=0))

    for canonicalize in ("mean", "first"):
        both = predict(model, tok, context.slice(0, 2), seconds=0.1, representation="both", canonicalize=canonicalize)
        assert both.num_frames == 3
        # The root comes from the predicted (canonical) root position, shifted back to the world frame
        # by the horizontal offset the context was canonicalised with.
        root = context.positions()[:2, 0]
        offset = root.mean(axis=0) if canonicalize == "mean" else root[0].copy()
        offset[1] = 0.0  # y is up in BVH: heights are not shifted
        canon = both.root_translation - offset
        np.testing.assert_allclose(tok.position_quantizer.decode(tok.position_quantizer.encode(canon)), canon, atol=1e-9)

    positions = predict(model, tok, context.slice(0, 2), seconds=0.1, representation="positions")
    assert isinstance(positions, MotionTokens) and positions.positions.shape == (3, 17, 3)

    with_ctx = predict(model, tok, context, seconds=0.1, include_context=True)
    assert with_ctx.num_frames == 4 + 3
    np.testing.assert_array_equal(with_ctx.rotations[:4], context.rotations)

    batch = predict(model, tok, [context, context.slice(0, 2)], seconds=0.1, batch_size=2)
    assert [m.num_frames for m in batch] == [3, 3]


def test_predict_from_ids_and_text(small_walk):
    tok = TOKENIZERS["m5"]
    model = _model(tok)
    ids = _prompt(tok, small_walk, "both", frames=2)
    out = predict(model, tok, ids, seconds=0.1, fps=30)
    assert out.task == "$" and out.angles.shape == (3, 5, 3) and out.positions.shape == (3, 5, 3)
    text = tok.motion_to_text(angles=small_walk.rotations[:2])
    out = predict(model, tok, text, seconds=0.1, fps=30)
    assert out.angles.shape == (3, 5, 3) and out.positions is None


def test_predict_bad_arguments(small_walk):
    tok = TOKENIZERS["m5"]
    model = _model(tok)
    with pytest.raises(ValueError, match="seconds must be positive"):
        predict(model, tok, small_walk.slice(0, 2), seconds=0)
    with pytest.raises(ValueError, match="canonicalize must be one of"):
        predict(model, tok, small_walk.slice(0, 2), canonicalize="median")
    with pytest.raises(ValueError, match="representation must be"):
        predict(model, tok, small_walk.slice(0, 2), representation="quaternions")
    with pytest.raises(ValueError, match="needs fps="):
        predict(model, tok, _prompt(tok, small_walk, "angles"))
    with pytest.raises(ValueError, match=r"exceeds the model's 1024 positions"):
        predict(model, tok, small_walk.slice(0, 60), seconds=0.4)
    with pytest.raises(MotionPromptError, match="last frame has 5 tokens"):
        predict(model, tok, _prompt(tok, small_walk, "angles")[:-10], seconds=0.1, fps=30)
    other = small_walk.slice(0, 2)
    other = Motion(other.rotations[:, :3], other.root_translation, other.skeleton.__class__(
        other.skeleton.names[:3], other.skeleton.parents[:3], other.skeleton.offsets[:3]), other.fps)
    with pytest.raises(ValueError, match="context motion 1 has 3 joints"):
        predict(model, tok, [small_walk.slice(0, 2), other], seconds=0.1)


def test_predict_refuses_a_clip_on_another_skeleton(bandai_motions):
    core = hf_skeletons.JOINT_SUBSETS["bandai-core"]
    tok = MotionTokenizer(joint_names=core)
    model = _model(tok)
    assert model.config.joint_names == core
    full = bandai_motions[0].slice(0, 3)
    with pytest.raises(MotionError, match=r"has 22 joints .*made for 17 joints.*select_joints\(\['Hips'"):
        predict(model, tok, full, seconds=0.1)
    # Motion 1 of a list is named, even when it sits in a later generate batch.
    ok = full.select_joints("bandai-core")
    with pytest.raises(MotionError, match=r"context motion 1 .*has 22 joints"):
        predict(model, tok, [ok, full], seconds=0.1, batch_size=1)
    pred = predict(model, tok, ok, seconds=0.1)
    assert pred.skeleton.names == core and pred.num_frames == 3
    # Joint names known to the model only (a tokenizer without names): the count and names still count.
    plain = MotionTokenizer()
    named_model = _model(plain, joint_names=core)
    with pytest.raises(MotionError, match="made for 17 joints"):
        predict(named_model, plain, full, seconds=0.1)
    # The model and the tokenizer disagree.
    with pytest.raises(ValueError, match="use the tokenizer saved with the model"):
        predict(named_model, MotionTokenizer(joint_names=core[::-1]), ok, seconds=0.1)


def test_processor_refuses_prompts_of_another_width(small_walk):
    tok = MotionTokenizer(joint_names=hf_skeletons.JOINT_SUBSETS["bandai-core"])
    with pytest.raises(ValueError, match="num_joints=5, but the tokenizer was made for 17 joints"):
        MotionLogitsProcessor(tok, num_joints=5)
    prompt = _prompt(TOKENIZERS["m5"], small_walk, "angles")  # 5 joints
    proc = MotionLogitsProcessor(tok)
    with pytest.raises(MotionPromptError, match=r"15 tokens \(5 joints\), but the tokenizer was made for 17"):
        proc(torch.as_tensor(prompt)[None], torch.zeros((1, len(tok))))
