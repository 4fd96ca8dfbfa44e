"""Constrained generation (MotionLogitsProcessor) and predict() on real Bandai clips."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from transformers import LogitsProcessor, LogitsProcessorList

from hf_motion import Motion
from hf_motion import skeletons as hf_skeletons
from hf_motion.generation import MotionLogitsProcessor, MotionPromptError, predict
from hf_motion.kinematics import canonicalize_positions
from hf_motion.motion import MotionError
from hf_motion.tokenizer import MotionTokenizer, MotionTokenizerError, MotionTokens

from conftest import tiny_lm

SMALL_JOINTS = ["Hips", "Spine", "Chest", "Neck", "Head"]
TOKENIZERS = {
    "m5": MotionTokenizer(),
    "coarse-fine": MotionTokenizer(digits=2, angle_bins=4096, position_bins=4096),
}


@pytest.fixture(scope="module")
def small_walk(walk_motion):
    return walk_motion.select_joints(SMALL_JOINTS)


def _model(tok, seed=0, **overrides):
    return tiny_lm(tok, seed, **overrides)


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
        assert _allowed(proc, causal[:-2]) == [angle[0]]
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
    assert torch.isinf(scores[0, len(tok) :]).all()
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
    batch[0], batch[1, len(long) - len(short) :] = long, short
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
    with pytest.raises(ValueError, match=r"more than the model's 1024 positions \(63 frames in all fit\); pass sliding=True"):
        predict(model, tok, small_walk.slice(0, 60), seconds=0.4)
    with pytest.raises(MotionPromptError, match="last frame has 5 tokens"):
        predict(model, tok, _prompt(tok, small_walk, "angles")[:-10], seconds=0.1, fps=30)
    other = small_walk.slice(0, 2)
    other = Motion(
        other.rotations[:, :3],
        other.root_translation,
        other.skeleton.__class__(other.skeleton.names[:3], other.skeleton.parents[:3], other.skeleton.offsets[:3]),
        other.fps,
    )
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


# ------------------------------------------------------------------ delta coding
class _Push(LogitsProcessor):
    """Favours the delta symbol ``max_step + change`` of both kinds (the constraint still applies after it)."""

    def __init__(self, tok, change: int):
        self.ids = [int(tok.delta_token_ids(k)[tok.max_steps[k] + change]) for k in ("angle", "position")]

    def __call__(self, input_ids, scores):
        scores = scores.clone()
        scores[:, self.ids] += 1e4
        return scores


def _delta_range(tok, kind: str, level: int) -> set[int]:
    """Delta ids whose change keeps ``level`` inside ``[0, n_bins)`` (computed from ids and bins alone)."""
    ids = tok.delta_token_ids(kind)
    M = tok.max_steps[kind]
    n = (tok.angle_quantizer if kind == "angle" else tok.position_quantizer).n_bins
    return {int(i) for s, i in enumerate(ids) if 0 <= level + s - M < n}


def test_delta_allowed_tokens_follow_keyframes_kinds_and_levels(small_walk):
    tok = MotionTokenizer.m5_delta(256, keyframe_interval=3)
    proc = MotionLogitsProcessor(tok)
    sep = tok.frame_separator_id
    angle_abs = set(tok.angle_token_ids().tolist())
    position_abs = set(tok.position_token_ids().tolist())
    m = small_walk.slice(0, 30, 10)
    la = tok.angle_quantizer.encode(m.rotations).reshape(len(m.rotations), -1)  # the levels, from the quantizer
    pos = canonicalize_positions(m.positions(), m.skeleton.up_axis)
    lp = tok.position_quantizer.encode(pos).reshape(len(pos), -1)

    causal = tok.encode_motion(angles=m.rotations[:2], task=">")[:-1]  # angle frames 0 (key), 1
    assert _allowed(proc, np.append(causal, sep)) == [_delta_range(tok, "angle", int(la[1, 0]))]
    # One value into frame 2: slot 1's range follows slot 1's level in frame 1.
    first = int(tok.delta_token_ids("angle")[255])
    assert _allowed(proc, np.append(causal, [sep, first]), generated=2) == [_delta_range(tok, "angle", int(la[1, 1]))]
    three = tok.encode_motion(angles=m.rotations[:3], task=">")[:-1]
    assert _allowed(proc, np.append(three, sep)) == [angle_abs]  # frame 3: a keyframe (interval 3)
    assert _allowed(proc, three) == [{sep, tok.eos_token_id}]

    # FK: each stream counts its own frames; IK starts with positions.
    fk = tok.encode_motion(m.rotations[:1], pos[:1], task="$")[:-1]  # A0 P0
    assert _allowed(proc, np.append(fk, sep)) == [_delta_range(tok, "angle", int(la[0, 0]))]
    ik = tok.encode_motion(m.rotations[:1], pos[:1], task="&")[:-1]  # P0 A0
    assert _allowed(proc, np.append(ik, sep)) == [_delta_range(tok, "position", int(lp[0, 0]))]
    ik3 = tok.encode_motion(m.rotations[:3], pos[:3], task="&")[:-1]  # P0 A0 P1 A1 P2 A2: next P3 is a keyframe
    assert _allowed(proc, np.append(ik3, sep)) == [position_abs]
    bare = MotionLogitsProcessor(tok, num_joints=len(SMALL_JOINTS))
    assert _allowed(bare, [tok.bos_token_id, tok.task_token_ids["&"], sep]) == [position_abs]
    assert _allowed(bare, [tok.bos_token_id, tok.task_token_ids["$"], sep]) == [angle_abs]


def test_delta_levels_follow_the_generated_tokens(small_walk):
    tok = MotionTokenizer.m5_delta(256)
    proc = MotionLogitsProcessor(tok)
    sep = tok.frame_separator_id
    m = small_walk.slice(0, 10)
    la = tok.angle_quantizer.encode(m.rotations[:1]).reshape(-1)
    W = len(la)
    prompt = tok.encode_motion(angles=m.rotations[:1], task=">")[:-1]
    # Two generated frames: +5 levels on every slot, then -2.
    plus5 = [int(tok.delta_token_ids("angle")[255 + 5])] * W
    minus2 = [int(tok.delta_token_ids("angle")[255 - 2])] * W
    gen = [sep, *plus5, sep, *minus2, sep]
    seq = np.append(prompt, gen)
    assert _allowed(proc, seq, generated=len(gen)) == [_delta_range(tok, "angle", int(la[0]) + 3)]
    assert _allowed(proc, np.append(seq, minus2[0]), generated=len(gen) + 1) == [_delta_range(tok, "angle", int(la[1]) + 3)]
    dec = tok.decode_motion(np.append(seq[:-1], tok.eos_token_id))
    np.testing.assert_array_equal(tok.angle_quantizer.encode(dec.angles[-1]).reshape(-1), la + 3)


def test_delta_prompt_with_a_broken_keyframe_schedule_is_refused(small_walk):
    tok = MotionTokenizer.m5_delta(256)
    ids = tok.encode_motion(angles=small_walk.rotations[:3], task=">")[:-1]
    bad = ids.copy()
    bad[3] = int(tok.delta_token_ids("angle")[255])  # frame 0 must be a keyframe
    with pytest.raises(MotionPromptError, match=r"row 0: frame 0 \(angle frame 0, a keyframe\)"):
        MotionLogitsProcessor(tok)(torch.as_tensor(bad)[None], torch.zeros((1, len(tok))))


@pytest.mark.parametrize("interval, max_step", [(None, None), (2, None), (None, 7)])
@pytest.mark.parametrize("layout", ["angles", "both", "ik"])
def test_delta_constrained_sampling_always_decodes(interval, max_step, layout, small_walk):
    tok = MotionTokenizer.m5_delta(256, keyframe_interval=interval, max_step=max_step)
    model = _model(tok)
    m = small_walk.slice(0, 30, 10)
    pos = canonicalize_positions(m.positions(), m.skeleton.up_axis)
    if layout == "angles":
        prompt = tok.encode_motion(angles=m.rotations, task=">")[:-1]
    else:
        prompt = tok.encode_motion(m.rotations, pos, task="$" if layout == "both" else "&")[:-1]
    prompt = torch.as_tensor(prompt)[None].repeat(6, 1)
    new_frames = 5
    n_new = new_frames * (len(SMALL_JOINTS) * 3 + 1)
    kw = dict(max_new_tokens=n_new, min_new_tokens=n_new, do_sample=True, top_k=0,
              attention_mask=torch.ones_like(prompt))  # fmt: skip
    failures = 0
    for seed in range(2):
        torch.manual_seed(seed)
        out = model.generate(prompt, logits_processor=LogitsProcessorList([MotionLogitsProcessor(tok)]), **kw)
        for row in out.numpy():
            dec = tok.decode_motion(np.append(row, tok.eos_token_id), strict=True)
            frames = sum(len(x) for x in (dec.angles, dec.positions) if x is not None)
            assert frames == 3 * (1 if layout == "angles" else 2) + new_frames
            # The prompt's frames decode unchanged in front of the continuation.
            np.testing.assert_array_equal(dec.angles[:3], tok.angle_quantizer.round_trip(m.rotations))
            new = row[prompt.shape[1] :]
            n_abs = int(np.sum(tok.token_codings[new] == 1))
            keys = 0
            for f in range(new_frames):  # which new frames are keyframes, counted per stream from the task token
                if layout == "angles":
                    t = 3 + f
                else:
                    t = 3 + f // 2
                keys += (t == 0) if interval is None else (t % interval == 0)
            assert n_abs == keys * len(SMALL_JOINTS) * 3
        torch.manual_seed(seed)
        for row in model.generate(prompt, **kw).numpy():
            try:
                tok.decode_motion(np.append(row, tok.eos_token_id), strict=True)
            except MotionTokenizerError:
                failures += 1
    assert failures >= 0.75 * 12


def test_delta_cached_equals_uncached_and_the_prompt_is_scanned_once(small_walk, monkeypatch):
    tok = MotionTokenizer.m5_delta(256, keyframe_interval=4)
    model = _model(tok, initializer_range=0.3)
    m = small_walk.slice(0, 20, 10)
    pos = canonicalize_positions(m.positions(), m.skeleton.up_axis)
    prompt = torch.as_tensor(tok.encode_motion(m.rotations, pos, task="$")[:-1])[None]
    calls = {"layout": 0, "levels": 0}
    layout, levels = MotionLogitsProcessor.prompt_layout, MotionLogitsProcessor._prompt_levels

    def count_layout(self, ids):
        calls["layout"] += 1
        return layout(self, ids)

    def count_levels(self, ids, lay):
        calls["levels"] += 1
        return levels(self, ids, lay)

    monkeypatch.setattr(MotionLogitsProcessor, "prompt_layout", count_layout)
    monkeypatch.setattr(MotionLogitsProcessor, "_prompt_levels", count_levels)
    kw = dict(max_new_tokens=64, do_sample=False, attention_mask=torch.ones_like(prompt))
    a = model.generate(prompt, use_cache=True, logits_processor=LogitsProcessorList([MotionLogitsProcessor(tok)]), **kw)
    assert calls == {"layout": 1, "levels": 1}  # 64 steps, one scan: each step folds in one token
    b = model.generate(prompt, use_cache=False, logits_processor=LogitsProcessorList([MotionLogitsProcessor(tok)]), **kw)
    assert torch.equal(a, b)
    tok.decode_motion(a[0], strict=False)


@pytest.mark.parametrize("interval", [None, 3])
def test_predict_with_a_delta_tokenizer_end_to_end(bandai_motions, interval):
    tok = MotionTokenizer.m5_delta(256, keyframe_interval=interval)
    model = _model(tok)
    context = bandai_motions[1].select_joints("bandai-core").slice(0, 4)
    torch.manual_seed(0)
    pred = predict(model, tok, context, seconds=0.2, do_sample=True)
    assert isinstance(pred, Motion) and pred.num_frames == 6 and pred.skeleton == context.skeleton
    np.testing.assert_allclose(tok.angle_quantizer.round_trip(pred.rotations), pred.rotations)
    if interval is not None:
        return
    # Zero velocity, said with "no change" tokens: the prediction repeats the last context frame's levels.
    last = tok.angle_quantizer.round_trip(context.rotations[-1:])
    still = predict(model, tok, context, seconds=0.2, logits_processor=[_Push(tok, 0)])
    np.testing.assert_array_equal(still.rotations, np.repeat(last, 6, axis=0))
    with_ctx = predict(model, tok, context, seconds=0.1, include_context=True, logits_processor=[_Push(tok, 0)])
    np.testing.assert_array_equal(with_ctx.rotations[:4], context.rotations)
    np.testing.assert_array_equal(with_ctx.rotations[4:], np.repeat(last, 3, axis=0))
    # A constant change of +2 levels per frame accumulates from the context's last frame.
    levels = tok.angle_quantizer.encode(context.rotations[-1])
    assert levels.max() + 2 * 3 < 256  # the push stays inside the range on this clip
    climb = predict(model, tok, context, seconds=0.1, logits_processor=[_Push(tok, 2)])
    for k in range(3):
        np.testing.assert_array_equal(tok.angle_quantizer.encode(climb.rotations[k]), levels + 2 * (k + 1))
    # FK text: the root comes from the predicted root position, held still by "no change".
    both = predict(model, tok, context, seconds=0.1, representation="both", canonicalize="first",
                   logits_processor=[_Push(tok, 0)])  # fmt: skip
    root = context.positions()[:, 0]
    offset = root[0].copy()
    offset[1] = 0.0  # y is up: heights are not shifted
    canon_last = tok.position_quantizer.round_trip(root[-1] - offset)
    np.testing.assert_allclose(both.root_translation, np.repeat((canon_last + offset)[None], 3, axis=0), atol=1e-12)
    np.testing.assert_array_equal(both.rotations, np.repeat(last, 3, axis=0))
    positions = predict(model, tok, context, seconds=0.1, representation="positions", logits_processor=[_Push(tok, 0)])
    assert isinstance(positions, MotionTokens) and positions.positions.shape == (3, 17, 3)
    # From prompt ids: the new frames only, decoded after the prompt.
    ids = tok.encode_motion(angles=context.rotations, task=">")
    out = predict(model, tok, ids, seconds=0.1, fps=context.fps, logits_processor=[_Push(tok, 0)])
    assert out.task == ">" and out.positions is None
    np.testing.assert_array_equal(out.angles, np.repeat(last, 3, axis=0))
    text = tok.motion_to_text(angles=context.rotations)
    out = predict(model, tok, text, seconds=0.1, fps=context.fps, logits_processor=[_Push(tok, 0)])
    np.testing.assert_array_equal(out.angles, np.repeat(last, 3, axis=0))


def test_delta_generation_with_left_padding_and_eos(small_walk):
    tok = MotionTokenizer.m5_delta(256, keyframe_interval=2)
    model = _model(tok, seed=3)
    long = _prompt(tok, small_walk, "both", frames=3)
    short = _prompt(tok, small_walk, "both", frames=2)
    batch = np.zeros((2, len(long)), dtype=np.int64)
    batch[0], batch[1, len(long) - len(short) :] = long, short
    ids = torch.as_tensor(batch)
    for seed in range(3):
        torch.manual_seed(seed)
        out = model.generate(ids, attention_mask=(ids != 0).long(), max_new_tokens=80, do_sample=True, top_k=0,
                             logits_processor=LogitsProcessorList([MotionLogitsProcessor(tok)]))  # fmt: skip
        for row, n_prompt in zip(out.numpy(), (3, 2)):
            dec = tok.decode_motion(row, strict=True)  # rows may stop early with <eos> + padding
            assert dec.angles.shape[1:] == (len(SMALL_JOINTS), 3) and len(dec.angles) >= n_prompt
            np.testing.assert_array_equal(dec.angles[:n_prompt], tok.decode_motion(np.append(long if n_prompt == 3 else short, 2)).angles)


# ------------------------------------------------------------------ expected-value decoding
def test_expected_value_processor_picks_the_token_nearest_the_mean(small_walk):
    from hf_motion.generation import ExpectedValueLogitsProcessor

    tok = MotionTokenizer.m5_delta(256)
    # Three frames and the separator that opens a fourth: the next slot takes a delta token.
    ids = tok.encode_motion(angles=small_walk.rotations[:3], task=">")[:-1]
    ids = torch.as_tensor(np.append(ids, tok.frame_separator_id))[None]
    constrained = MotionLogitsProcessor(tok)(ids, torch.zeros(1, len(tok)))
    delta = tok.delta_token_ids("angle")
    assert torch.isfinite(constrained[0, delta]).sum() > 10  # the next slot is a delta slot
    # A bimodal distribution: 60% on "no change", 40% on +10 levels. Greedy says no change; the mean is +4.
    # Allowed tokens (the constraint's finite scores) get a negligible logit, two of them the mass.
    scores = torch.where(torch.isfinite(constrained), torch.tensor(-40.0), torch.tensor(float("-inf")))
    step = tok.max_step
    no_change, plus_ten = delta[step], delta[step + 10]
    scores[0, no_change], scores[0, plus_ten] = np.log(0.6), np.log(0.4)
    out = ExpectedValueLogitsProcessor(tok)(ids, scores.clone())
    assert int(out.argmax()) == delta[step + 4] and torch.isfinite(out).sum() == 1
    assert int(scores.argmax()) == no_change  # what greedy decoding says
    # Only allowed tokens are chosen: block +4 and the nearest allowed one (+3 or +5) wins.
    scores[0, delta[step + 4]] = float("-inf")
    probs = {no_change: 0.6, plus_ten: 0.4}
    mean = sum(p * (int(tok.token_values[i]) - step) for i, p in probs.items())
    allowed = [k for k in range(-step, step + 1) if k != 4]
    nearest = min(allowed, key=lambda k: abs(k - mean))
    assert int(ExpectedValueLogitsProcessor(tok)(ids, scores.clone()).argmax()) == delta[step + nearest]
    # A separator slot (no value token allowed) passes through untouched.
    sep_scores = torch.full((1, len(tok)), float("-inf"))
    sep_scores[0, tok.frame_separator_id] = 0.0
    np.testing.assert_array_equal(ExpectedValueLogitsProcessor(tok)(ids, sep_scores.clone()).numpy(), sep_scores.numpy())


def test_median_estimate_splits_the_mass_in_half_and_is_continuous(small_walk):
    from hf_motion.generation import ExpectedValueLogitsProcessor

    tok = MotionTokenizer.m5_delta(256)
    ids = tok.encode_motion(angles=small_walk.rotations[:3], task=">")[:-1]
    ids = torch.as_tensor(np.append(ids, tok.frame_separator_id))[None]
    constrained = MotionLogitsProcessor(tok)(ids, torch.zeros(1, len(tok)))
    delta, step = tok.delta_token_ids("angle"), tok.max_step
    # 30% on -2, 30% on "no change", 40% on +10 levels: the mean is +3.4; the median lies in the
    # "no change" bin [-0.5, 0.5], 0.2 of its 0.3 in: -0.5 + 0.2 / 0.3.
    base = torch.where(torch.isfinite(constrained), torch.tensor(-60.0), torch.tensor(float("-inf")))
    scores = base.clone()
    for change, p in ((-2, 0.3), (0, 0.3), (10, 0.4)):
        scores[0, delta[step + change]] = np.log(p)
    median = ExpectedValueLogitsProcessor(tok, estimate="median")
    out = median(ids, scores.clone())
    assert int(out.argmax()) == delta[step] and torch.isfinite(out).sum() == 1
    assert float(median.residuals[-1][0]) == pytest.approx(-0.5 + 0.2 / 0.3, abs=1e-4)
    mean = ExpectedValueLogitsProcessor(tok)
    assert int(mean(ids, scores.clone()).argmax()) == delta[step + 3]  # the mean, 3.4, rounds to +3
    assert float(mean.residuals[-1][0]) == pytest.approx(0.4, abs=1e-4)
    # All mass on +10: the median is the bin's centre, as the mean is.
    single = base.clone()
    single[0, delta[step + 10]] = 0.0
    median = ExpectedValueLogitsProcessor(tok, estimate="median")
    assert int(median(ids, single).argmax()) == delta[step + 10] and abs(float(median.residuals[-1][0])) < 1e-4
    with pytest.raises(ValueError, match="estimate must be one of"):
        ExpectedValueLogitsProcessor(tok, estimate="mode")


def test_predict_with_median_decoding_decodes_off_grid(bandai_motions):
    tok = MotionTokenizer.m5_delta(256)
    model = _model(tok, seed=3)
    context = bandai_motions[1].select_joints("bandai-core").slice(0, 4)
    median = predict(model, tok, context, seconds=0.2, decoding="median")
    assert median.num_frames == 6 and np.isfinite(median.rotations).all()  # 0.2 s at 30 fps
    off = np.abs(tok.angle_quantizer.round_trip(median.rotations) - median.rotations)
    assert off.max() <= tok.angle_quantizer.delta.max() / 2 + 1e-9 and off.mean() > 1e-4
    assert not np.allclose(median.rotations, predict(model, tok, context, seconds=0.2, decoding="mean").rotations)


def test_predict_with_mean_decoding_decodes_and_differs_from_greedy_only_in_values(bandai_motions):
    tok = MotionTokenizer.m5_delta(256)
    model = _model(tok, seed=3)
    context = bandai_motions[1].select_joints("bandai-core").slice(0, 4)
    mean = predict(model, tok, context, seconds=0.2, decoding="mean")
    greedy = predict(model, tok, context, seconds=0.2)
    assert mean.num_frames == greedy.num_frames == 6
    # Expected values: within half a level of the bin the sequence continued with, mostly off-grid.
    off = np.abs(tok.angle_quantizer.round_trip(mean.rotations) - mean.rotations)
    assert off.max() <= tok.angle_quantizer.delta.max() / 2 + 1e-9 and off.mean() > 1e-4
    assert not np.array_equal(mean.rotations, greedy.rotations)  # a random model's mean is not its mode
    with pytest.raises(ValueError, match="decoding"):
        predict(model, tok, context, seconds=0.2, decoding="mode")
    with pytest.raises(ValueError, match="constrained=True"):
        predict(model, tok, context, seconds=0.2, decoding="mean", constrained=False)


def test_sliding_context_predicts_past_the_models_positions(bandai_motions):
    """A context longer than the model's window: refused unless sliding=True, which keeps the
    most recent frames and predicts in chunks whose later ones read the earlier predictions."""
    from hf_motion import context_capacity

    tok = MotionTokenizer.m5_delta(256)
    context = bandai_motions[1].select_joints("bandai-core").slice(0, 12)
    model = _model(tok, n_positions=2 + 5 * 52)  # five frames of 17 joints
    cap = context_capacity(model, tok, 17, fps=context.fps)
    assert cap["tokens_per_frame"] == 52 and cap["frames"] == 5 and cap["tokens_per_second"] == 52 * context.fps
    with pytest.raises(ValueError, match=r"more than the model's 262 positions \(5 frames in all fit\); pass sliding=True"):
        predict(model, tok, context, seconds=0.2)
    # +1 level per frame: the climb continues across chunk boundaries (chunks of 2 frames).
    levels = tok.angle_quantizer.encode(context.rotations[-1])
    n = round(0.2 * context.fps)
    assert n > 2 and levels.max() + n < 256
    climb = predict(model, tok, context, seconds=0.2, sliding=True, logits_processor=[_Push(tok, 1)])
    assert climb.num_frames == n
    for k in range(n):
        np.testing.assert_array_equal(tok.angle_quantizer.encode(climb.rotations[k]), levels + (k + 1))
    full = predict(model, tok, context, seconds=0.2, sliding=True, include_context=True, logits_processor=[_Push(tok, 1)])
    np.testing.assert_array_equal(full.rotations[:12], context.rotations)
    np.testing.assert_array_equal(full.rotations[12:], climb.rotations)
    with pytest.raises(ValueError, match="needs representation='angles' or 'both'"):
        predict(model, tok, context, seconds=0.2, sliding=True, representation="positions")


class _Even(LogitsProcessor):
    """Equal scores on the angle changes +1 and +2 (and nothing else among them): expected +1.5."""

    def __init__(self, tok):
        self.ids = [int(tok.delta_token_ids("angle")[tok.max_step + c]) for c in (1, 2)]

    def __call__(self, input_ids, scores):
        scores = scores.clone()
        scores[:, self.ids] = 1e4
        return scores


def test_mean_decoding_returns_the_expected_value_not_the_bin(bandai_motions):
    """Mass split evenly on +1 and +2 levels: the sequence continues with +1 (nearest, first of
    the tie), but the values returned sit half a level further, at the expectation +1.5."""
    tok = MotionTokenizer.m5_delta(256)
    model = _model(tok)
    context = bandai_motions[1].select_joints("bandai-core").slice(0, 4)
    levels = tok.angle_quantizer.encode(context.rotations[-1])
    assert levels.max() + 2 * 3 < 256
    mean = predict(model, tok, context, seconds=0.1, decoding="mean", logits_processor=[_Even(tok)])
    greedy = predict(model, tok, context, seconds=0.1, logits_processor=[_Even(tok)])
    for k in range(3):
        np.testing.assert_allclose(mean.rotations[k], tok.angle_quantizer.decode(levels + (k + 1) + 0.5), atol=1e-12)
        assert set(np.unique(tok.angle_quantizer.encode(greedy.rotations[k]) - levels)) <= {k + 1, 2 * (k + 1)}


def test_sample_mean_averages_sampled_futures_where_mean_decoding_follows_one_path(bandai_motions):
    """Mass split evenly on +1 and +2 levels per frame. The true expected future climbs 1.5 levels
    a frame; mean decoding continues with +1 each frame (its path) and adds half a level only at the
    end, so it falls behind; sample-mean, the average of sampled continuations, follows the climb."""
    tok = MotionTokenizer.m5_delta(256)
    model = _model(tok)
    context = bandai_motions[1].select_joints("bandai-core").slice(0, 4)
    levels = tok.angle_quantizer.encode(context.rotations[-1])
    delta = tok.angle_quantizer.delta
    torch.manual_seed(0)
    sm = predict(model, tok, context, seconds=0.1, decoding="sample-mean", num_samples=64, batch_size=64,
                 logits_processor=[_Even(tok)])  # fmt: skip
    mean = predict(model, tok, context, seconds=0.1, decoding="mean", logits_processor=[_Even(tok)])
    assert sm.num_frames == 3
    from hf_motion.rotations import relative_rotation

    for k in range(3):  # geodesic distance: axis-angle vectors near pi may come out as their antipodes
        want = tok.angle_quantizer.decode(levels + 1.5 * (k + 1))
        gap = np.linalg.norm(relative_rotation(want, sm.rotations[k]), axis=-1)
        assert gap.max() < 0.35 * np.sqrt(3) * delta.max(), (k, gap.max() / delta.max())
    behind = (tok.angle_quantizer.decode(levels + 4.5) - mean.rotations[2]) / delta  # mean decoding: +3.5 levels
    np.testing.assert_allclose(behind, 1.0, atol=1e-6)


def test_sample_mean_of_a_certain_model_is_its_mean_decoding(bandai_motions):
    tok = MotionTokenizer.m5_delta(256)
    model = _model(tok)
    context = bandai_motions[1].select_joints("bandai-core").slice(0, 4)
    push = [_Push(tok, 1)]
    sm = predict(model, tok, [context, context.slice(1)], seconds=0.2, decoding="sample-mean", num_samples=3,
                 anchor=True, include_context=True, logits_processor=push)  # fmt: skip
    mean = predict(model, tok, [context, context.slice(1)], seconds=0.2, decoding="mean", anchor=True,
                   include_context=True, logits_processor=push)  # fmt: skip
    for a, b in zip(sm, mean):
        assert a.num_frames == b.num_frames
        np.testing.assert_allclose(a.rotations, b.rotations, atol=1e-9)
        np.testing.assert_allclose(a.root_translation, b.root_translation, atol=1e-12)
    with pytest.raises(ValueError, match="num_samples must be a positive integer"):
        predict(model, tok, context, seconds=0.1, decoding="sample-mean", num_samples=0)
    with pytest.raises(ValueError, match="needs Motion context"):
        predict(model, tok, tok.encode_motion(angles=context.rotations, task=">"), seconds=0.1, fps=context.fps,
                decoding="sample-mean")  # fmt: skip
