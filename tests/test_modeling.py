"""MotionGPT2 models: index embeddings, presets, generation with the KV cache, Auto-class round trip."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from transformers import AutoConfig, AutoModel, AutoModelForCausalLM, AutoModelForSequenceClassification

import hf_motion  # also registers the Auto classes
from hf_motion.modeling import (
    MODEL_PRESETS,
    MotionGPT2Config,
    MotionGPT2ForCausalLM,
    MotionGPT2ForSequenceClassification,
    MotionGPT2Model,
    count_parameters,
    motion_gpt2_config,
    motion_position_indices,
    previous_frame_token_ids,
)
from hf_motion.tokenizer import MotionTokenizer

from conftest import tiny_lm

SMALL_JOINTS = ["Hips", "Spine", "Chest", "Neck", "Head"]


@pytest.fixture(scope="module")
def walk_ids(tok, walk_motion):
    """Real walking frames (5 joints, 4 frames) as causal motion text, without <eos>."""
    m = walk_motion.select_joints(SMALL_JOINTS).slice(0, 40, 10)
    return tok.encode_motion(angles=m.rotations, task=">")[:-1]


def _random_tiny(tok, seed=0, std=0.3, **overrides):
    # A larger init than GPT-2's 0.02 makes outputs depend strongly on the context, so that a wrong
    # joint/frame index shows up in the logits.
    torch.manual_seed(seed)
    cfg = motion_gpt2_config("tiny", tok, initializer_range=std, **overrides)
    return MotionGPT2ForCausalLM(cfg).eval()


def _reference_indices(ids, sep, specials, bos, eos, vpj, max_j, max_f):
    """Plain-Python reading of the index rules, token by token."""
    joints, frames = [], []
    for row in ids:
        jr, fr = [], []
        n_sep, since = 0, 0
        for t in row:
            if t == bos:
                n_sep, since = 0, 0
            elif t in (sep, eos):
                since = 0
            else:
                since += 1
            if t == sep:
                n_sep += 1
            if t in specials:
                jr.append(0)
                fr.append(0)
            else:
                jr.append(min(max((since - 1) // vpj, 0), max_j - 1))
                fr.append(min(n_sep, max_f - 1))
        joints.append(jr)
        frames.append(fr)
    return np.array(joints), np.array(frames)


# ------------------------------------------------------------------ indices
def test_indices_hand_example(tok):
    ids = tok.encode_motion(angles=np.zeros((2, 2, 3)), task=">")  # bos > sep 6 values sep 6 values eos
    j, f = motion_position_indices(torch.as_tensor(ids)[None], 4, list(range(8)), 3, 64, 256, bos_token_id=1, eos_token_id=2)
    assert j[0].tolist() == [0, 0, 0, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 0]
    assert f[0].tolist() == [0, 0, 0, 1, 1, 1, 1, 1, 1, 0, 2, 2, 2, 2, 2, 2, 0]


@pytest.mark.parametrize("vpj,max_j,max_f", [(3, 64, 256), (6, 3, 4)])
def test_indices_match_reference_on_packed_padded_rows(tok, walk_ids, vpj, max_j, max_f):
    rng = np.random.default_rng(0)
    doc = walk_ids.tolist() + [2]
    rows = [
        [0] * 7 + doc,  # left padding
        doc + [0] * 7,  # right padding
        (doc[:30] + [2] + doc)[: len(doc) + 7],  # packed: a second document restarts the counts
        rng.integers(0, len(tok), size=len(doc) + 7).tolist(),  # arbitrary ids
    ]
    ids = torch.tensor(rows)
    specials = list(range(8))
    j, f = motion_position_indices(ids, 4, specials, vpj, max_j, max_f, bos_token_id=1, eos_token_id=2)
    rj, rf = _reference_indices(rows, 4, set(specials), 1, 2, vpj, max_j, max_f)
    np.testing.assert_array_equal(j.numpy(), rj)
    np.testing.assert_array_equal(f.numpy(), rf)
    # Padding does not change the indices of the real tokens.
    n = len(doc)
    assert torch.equal(j[0, 7:], j[1, :n]) and torch.equal(f[0, 7:], f[1, :n])


def test_index_errors_are_clear(tok):
    with pytest.raises(ValueError, match=r"\(batch, length\)"):
        motion_position_indices(torch.zeros(5, dtype=torch.long), 4, [0], 3, 8, 8)


# ------------------------------------------------------------------ presets / config
@pytest.mark.parametrize("digits", [1, 2])
def test_preset_parameter_counts_are_in_their_bands(digits):
    tok = MotionTokenizer(digits=digits, angle_bins=256 if digits == 1 else 4096, position_bins=256 if digits == 1 else 4096)
    counts = {}
    for name, preset in MODEL_PRESETS.items():
        with torch.device("meta"):  # the real model class, without allocating the 26M weights
            model = MotionGPT2ForCausalLM(motion_gpt2_config(name, tok))
        n = count_parameters(model)
        lo, hi = preset.band
        assert lo <= n <= hi, f"{name}: {n} parameters outside its band {preset.band}"
        counts[name] = n
    assert counts["m5-150k"] < counts["m5-1m"] < counts["m5-5m"] < counts["m5-26m"]


def test_config_from_tokenizer_and_defaults(tok):
    cfg = motion_gpt2_config("m5-1m", tok)
    assert (cfg.vocab_size, cfg.pad_token_id, cfg.bos_token_id, cfg.eos_token_id) == (len(tok), 0, 1, 2)
    assert cfg.pad_token_id != cfg.eos_token_id
    assert cfg.frame_separator_id == tok.frame_separator_id
    assert set(cfg.special_token_ids) == {0, 1, 2, 3, 4, *tok.task_token_ids.values()}
    assert cfg.values_per_joint == 3 and cfg.max_frames == cfg.n_positions // 4
    assert cfg._attn_implementation == "sdpa"
    assert MotionGPT2ForCausalLM(motion_gpt2_config("tiny", tok)).config._attn_implementation == "sdpa"
    tok2 = MotionTokenizer(digits=2, angle_bins=4096, position_bins=4096)
    assert motion_gpt2_config("tiny", tok2).values_per_joint == 6


def test_joint_and_frame_embeddings_can_be_switched_off(tok):
    full = MotionGPT2Model(motion_gpt2_config("tiny", tok))
    plain = MotionGPT2Model(motion_gpt2_config("tiny", tok, use_joint_embeddings=False, use_frame_embeddings=False))
    cfg = full.config
    assert plain.joint_embeddings is None and plain.frame_embeddings is None
    assert count_parameters(full) - count_parameters(plain) == (cfg.max_joints + cfg.max_frames) * cfg.n_embd


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"preset": "huge"}, "unknown model preset 'huge'"),
        ({"n_layerz": 3}, "unknown MotionGPT2Config override"),
        ({"n_embd": 30, "n_head": 4}, "multiple of n_head"),
        ({"frame_separator_id": 9999}, "frame_separator_id=9999 is outside the vocabulary"),
        ({"max_joints": 0}, "max_joints must be >= 1"),
    ],
)
def test_bad_config_raises(tok, kwargs, message):
    preset = kwargs.pop("preset", "tiny")
    with pytest.raises(ValueError, match=message):
        motion_gpt2_config(preset, tok, **kwargs)


# ------------------------------------------------------------------ forward / cache
def test_cached_forward_needs_indices_and_matches_full_forward(tok, walk_ids):
    model = _random_tiny(tok)
    ids = torch.as_tensor(walk_ids)[None]
    with torch.no_grad():
        full = model(ids).logits
        k = 20
        cache = model(ids[:, :k], use_cache=True).cache
        with pytest.raises(ValueError, match="joint_ids/frame_ids"):
            model(ids[:, k : k + 1], cache=cache)
        j, f = model.transformer.motion_position_indices(ids)
        step = model(ids[:, k:], cache=cache, joint_ids=j[:, k:], frame_ids=f[:, k:]).logits
        torch.testing.assert_close(step, full[:, k:], rtol=1e-4, atol=1e-4)
        # The indices matter: zero indices give different logits, so the equality above means something.
        cache = model(ids[:, :k], use_cache=True).cache
        wrong = model(ids[:, k:], cache=cache, joint_ids=torch.zeros_like(j[:, k:]),
                      frame_ids=torch.zeros_like(f[:, k:])).logits  # fmt: skip
        assert (wrong - full[:, k:]).abs().max() > 1e-2


def test_cached_and_uncached_greedy_generation_are_identical(tok, walk_ids):
    model = _random_tiny(tok)
    ids = torch.as_tensor(walk_ids)[None]
    kw = dict(max_new_tokens=40, do_sample=False, attention_mask=torch.ones_like(ids), output_scores=True,
              return_dict_in_generate=True)  # fmt: skip
    with torch.no_grad():
        cached = model.generate(ids, use_cache=True, **kw)
        plain = model.generate(ids, use_cache=False, **kw)
    assert torch.equal(cached.sequences, plain.sequences)
    torch.testing.assert_close(torch.stack(cached.scores), torch.stack(plain.scores), rtol=1e-4, atol=1e-4)
    assert len(set(cached.sequences[0, ids.shape[1] :].tolist())) > 1  # not a degenerate constant output


def test_left_padded_batch_generates_like_single_prompts(tok, walk_ids):
    model = _random_tiny(tok, seed=1)
    a = torch.as_tensor(walk_ids)
    b = a[: len(a) - 16]  # one frame shorter
    batch = torch.zeros((2, len(a)), dtype=torch.long)
    batch[0] = a
    batch[1, 16:] = b
    mask = (batch != 0).long()
    with torch.no_grad():
        out = model.generate(batch, attention_mask=mask, max_new_tokens=20, do_sample=False)
        single_b = model.generate(b[None], attention_mask=torch.ones_like(b[None]), max_new_tokens=20, do_sample=False)
    assert torch.equal(out[1, len(a) :], single_b[0, len(b) :])


def test_bf16_forward_is_finite(tok, walk_ids):
    model = _random_tiny(tok, std=0.02).to(torch.bfloat16)
    with torch.no_grad():
        logits = model(torch.as_tensor(walk_ids)[None]).logits
    assert logits.dtype == torch.bfloat16 and torch.isfinite(logits).all()


def test_tiny_model_trains_on_real_motion_and_loss_falls(tok, bandai_motions):
    ids = [tok.encode_motion(angles=m.select_joints(SMALL_JOINTS).rotations[:12], task=">") for m in bandai_motions]
    batch = torch.as_tensor(np.stack(ids))
    model = tiny_lm(tok).train()
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(15):
        loss = model(batch, labels=batch).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.7 * losses[0]


# ------------------------------------------------------------------ sequence classification
def test_sequence_classification_uses_last_real_token_with_left_or_right_padding(tok, walk_ids):
    torch.manual_seed(0)
    model = MotionGPT2ForSequenceClassification(motion_gpt2_config("tiny", tok, num_labels=3)).eval()
    seq = torch.as_tensor(np.append(walk_ids, 2))
    pad = 5
    left = torch.cat([torch.zeros(pad, dtype=torch.long), seq])[None]
    right = torch.cat([seq, torch.zeros(pad, dtype=torch.long)])[None]
    with torch.no_grad():
        ref = model(seq[None]).logits
        lo = model(left, attention_mask=(left != 0).long()).logits
        ro = model(right, attention_mask=(right != 0).long()).logits
    assert ref.shape == (1, 3)
    torch.testing.assert_close(lo, ref, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(ro, ref, rtol=1e-4, atol=1e-4)
    labels = torch.tensor([2])
    assert model(seq[None], labels=labels).loss.item() > 0


# ------------------------------------------------------------------ save / load
def test_save_and_load_through_auto_classes(tok, walk_ids, tmp_path):
    model = _random_tiny(tok, std=0.02)
    model.save_pretrained(tmp_path)
    files = {p.name for p in tmp_path.iterdir()}
    assert "model.safetensors" in files and not any(f.endswith(".bin") for f in files)
    cfg = AutoConfig.from_pretrained(tmp_path)
    assert isinstance(cfg, MotionGPT2Config) and cfg.model_type == "motion_gpt2"
    assert cfg.special_token_ids == model.config.special_token_ids

    ids = torch.as_tensor(walk_ids)[None]
    loaded = AutoModelForCausalLM.from_pretrained(tmp_path).eval()
    assert type(loaded) is MotionGPT2ForCausalLM
    with torch.no_grad():
        torch.testing.assert_close(loaded(ids).logits, model(ids).logits)
    assert loaded.lm_head.weight.data_ptr() == loaded.transformer.wte.weight.data_ptr()  # still tied

    base = AutoModel.from_pretrained(tmp_path)
    assert type(base) is MotionGPT2Model
    clf = AutoModelForSequenceClassification.from_pretrained(tmp_path, num_labels=4)
    assert type(clf) is MotionGPT2ForSequenceClassification
    for name in ("wte.weight", "joint_embeddings.weight", "frame_embeddings.weight", "h.1.mlp.c_fc.weight"):
        assert torch.equal(clf.transformer.state_dict()[name], model.transformer.state_dict()[name])
    assert clf.score.weight.shape == (4, model.config.n_embd)


# ------------------------------------------------------------------ bad inputs and checkpoints
def test_forward_refuses_ids_outside_the_vocabulary_and_too_long_input(tok, walk_ids):
    model = _random_tiny(tok)
    ids = torch.as_tensor(walk_ids)[None].clone()
    for bad, message in ((len(tok), rf"id {len(tok)} \(row 0, position 9\).*vocab_size={len(tok)}"),
                         (-3, r"negative id -3 \(row 0, position 9\)")):  # fmt: skip
        wrong = ids.clone()
        wrong[0, 9] = bad
        with pytest.raises(ValueError, match=message):
            model(wrong)
    n = model.config.n_positions
    long = torch.full((1, n + 1), tok.frame_separator_id)
    with pytest.raises(ValueError, match=rf"{n + 1} tokens long.*n_positions={n}"):
        model(long)
    model(long[:, :n])  # exactly n_positions is fine


def test_frames_wider_than_max_joints_raise_in_forward_and_generate(tok):
    rng = np.random.default_rng(0)
    J = 9
    ids = torch.as_tensor(tok.encode_motion(angles=rng.uniform(-1, 1, (2, J, 3)), task=">"))[None]
    narrow = _random_tiny(tok, max_joints=J - 1)
    with pytest.raises(ValueError, match=rf"a frame has {J} joints.*max_joints={J - 1}.*max_joints={J}"):
        narrow(ids)
    prompt = ids[:, :-1]
    with pytest.raises(ValueError, match=rf"max_joints={J - 1}"):
        narrow.generate(prompt, attention_mask=torch.ones_like(prompt), max_new_tokens=2, do_sample=False)
    wide = _random_tiny(tok, max_joints=J)
    j, _ = wide.transformer.motion_position_indices(ids)
    assert int(j.max()) == J - 1  # every joint has its own embedding
    out = wide.generate(prompt, attention_mask=torch.ones_like(prompt), max_new_tokens=4, do_sample=False)
    assert out.shape[1] == prompt.shape[1] + 4


def test_config_carries_the_tokenizer_joint_names(tmp_path):
    names = [f"j{i}" for i in range(5)]
    cfg = motion_gpt2_config("tiny", MotionTokenizer(joint_names=names))
    assert cfg.joint_names == names
    MotionGPT2ForCausalLM(cfg).save_pretrained(tmp_path)
    assert AutoConfig.from_pretrained(tmp_path).joint_names == names
    assert AutoModelForCausalLM.from_pretrained(tmp_path).config.joint_names == names
    with pytest.raises(ValueError, match=r"joint_names has duplicates: \['j0'\]"):
        motion_gpt2_config("tiny", joint_names=["j0", "j0"])
    with pytest.raises(ValueError, match="5 joint_names but max_joints=4"):
        motion_gpt2_config("tiny", joint_names=names, max_joints=4)


def test_from_pretrained_names_a_truncated_file_and_refuses_a_wrong_n_layer(tok, tmp_path):
    import json

    model = _random_tiny(tok, std=0.02, n_layer=3)
    model.save_pretrained(tmp_path / "good")
    loaded, info = AutoModelForCausalLM.from_pretrained(tmp_path / "good", output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"]
    # A classification head on the causal checkpoint is new, and that is fine.
    clf, info = AutoModelForSequenceClassification.from_pretrained(tmp_path / "good", output_loading_info=True)
    assert info["missing_keys"] == {"score.weight"}

    config = json.loads((tmp_path / "good" / "config.json").read_text())
    for n_layer, message in ((1, r"layer\(s\) \[1, 2\] beyond config n_layer=1"),
                             (4, r"n_layer=4 but the checkpoint lacks layer\(s\) \[3\]")):  # fmt: skip
        folder = tmp_path / f"n_layer_{n_layer}"
        folder.mkdir()
        (folder / "model.safetensors").write_bytes((tmp_path / "good" / "model.safetensors").read_bytes())
        (folder / "config.json").write_text(json.dumps({**config, "n_layer": n_layer}))
        for cls in (AutoModelForCausalLM, AutoModel, AutoModelForSequenceClassification):
            with pytest.raises(ValueError, match=message):
                cls.from_pretrained(folder)

    weights = (tmp_path / "good" / "model.safetensors").read_bytes()
    (tmp_path / "good" / "model.safetensors").write_bytes(weights[: len(weights) - 100])
    with pytest.raises(OSError, match=r"good[/\\]model\.safetensors.*truncated or corrupt"):
        AutoModelForCausalLM.from_pretrained(tmp_path / "good")


@pytest.mark.parametrize("pad", [None, 2])
def test_sequence_classification_needs_a_pad_id_distinct_from_eos(tok, pad):
    cfg = motion_gpt2_config("tiny", tok, num_labels=2, pad_token_id=pad)
    with pytest.raises(ValueError, match=rf"pad_token_id={pad}, eos_token_id=2"):
        MotionGPT2ForSequenceClassification(cfg)
    MotionGPT2ForCausalLM(cfg)  # the causal LM does not pool, so it does not care


# ------------------------------------------------------------------ previous-frame copy path
SPECIALS = list(range(8))
SEP, BOS, EOS, UNK, FK, IK, CAUSAL = 4, 1, 2, 3, 5, 6, 7
NONE = 0


def _reference_previous(ids, none=NONE, interleaved=(FK, IK)):
    """Plain-Python reading of the copy-path rule, token by token: keep the frames of the current
    document; a value's source is the same slot of the frame one back (two back in a $/& document)."""
    out = []
    for row in ids:
        res = []
        frames, current, stride = [], None, 1  # frames of the document; current frame (None: not in one)
        for t in row:
            t = int(t)
            if t == BOS:
                frames, current, stride = [], None, 1
            elif t == SEP:
                current = []
                frames.append(current)
            elif t == EOS:
                current = None
            if t in interleaved:
                stride = 2
            if t in SPECIALS or current is None:
                res.append(none)
                if current is not None and t not in (BOS, SEP, EOS):
                    current.append(t)  # an unk/pad/task token inside a frame still takes a slot
                continue
            slot = len(current)
            src = len(frames) - 1 - stride
            value = none
            if src >= 0 and slot < len(frames[src]) and frames[src][slot] not in SPECIALS:
                value = frames[src][slot]
            res.append(value)
            current.append(t)
        out.append(res)
    return np.array(out)


def _docs(tok, rng):
    """Real-layout documents: '>', '$' and '&' texts of several widths, plus ragged hand-made frames."""
    docs = []
    for J in (1, 2, 5):
        T = int(rng.integers(2, 6))
        a = rng.uniform(-3, 3, (T, J, 3))
        pos = rng.uniform(-1, 1, (T, J, 3))
        docs.append(tok.encode_motion(angles=a, task=">").tolist())
        docs.append(tok.encode_motion(angles=a, positions=pos, task="$").tolist())
        docs.append(tok.encode_motion(angles=a, positions=pos, task="&").tolist())
    for task in (CAUSAL, FK):  # frames of different lengths, an <unk> inside a frame
        doc = [BOS, task]
        for width in rng.integers(1, 8, size=6):
            frame = rng.integers(8, len(tok), size=width).tolist()
            if width > 2 and rng.random() < 0.5:
                frame[1] = UNK
            doc += [SEP, *frame]
        docs.append(doc + [EOS])
    return docs


def _rows(tok, rng, length):
    docs = _docs(tok, rng)
    rows = []
    for d in docs:  # one document, left- and right-padded
        d = d[:length]
        rows.append([0] * (length - len(d)) + d)
        rows.append(d + [0] * (length - len(d)))
    for _ in range(6):  # packed: several documents in one row, the first one cut at a random point
        row: list[int] = []
        first = docs[int(rng.integers(len(docs)))]
        row += first[int(rng.integers(1, len(first))) :]
        while len(row) < length:
            row += docs[int(rng.integers(len(docs)))]
        rows.append(row[:length])
    for _ in range(3):  # arbitrary ids: specials anywhere
        rows.append(rng.integers(0, 12 if _ % 2 else len(tok), size=length).tolist())
    return rows


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_previous_frame_ids_match_reference_on_random_rows(tok, seed):
    rng = np.random.default_rng(seed)
    rows = _rows(tok, rng, length=70)
    got = previous_frame_token_ids(torch.tensor(rows), SEP, SPECIALS, BOS, EOS, (FK, IK), none_id=NONE)
    np.testing.assert_array_equal(got.numpy(), _reference_previous(rows))
    # Another none id and no interleaved tasks: the reference follows.
    got = previous_frame_token_ids(torch.tensor(rows), SEP, SPECIALS, BOS, EOS, [], none_id=3)
    np.testing.assert_array_equal(got.numpy(), _reference_previous(rows, none=3, interleaved=()))


def test_previous_frame_ids_follow_each_stream(tok):
    rng = np.random.default_rng(5)
    T, J = 4, 2
    a, pos = rng.uniform(-3, 3, (T, J, 3)), rng.uniform(-1, 1, (T, J, 3))
    W = J * 3
    causal = tok.encode_motion(angles=a, task=">")
    fk = tok.encode_motion(angles=a, positions=pos, task="$")

    def frames(ids):  # the value tokens of each frame, from the layout [bos, task, (sep, W values)*, eos]
        return np.asarray(ids[2:-1]).reshape(-1, W + 1)[:, 1:]

    out = previous_frame_token_ids(torch.as_tensor(causal)[None], SEP, SPECIALS, BOS, EOS).numpy()[0]
    of = frames(out)
    assert (of[0] == NONE).all() and (out[[0, 1, -1]] == NONE).all()
    np.testing.assert_array_equal(of[1:], frames(causal)[:-1])  # '>': one frame back

    out = previous_frame_token_ids(torch.as_tensor(fk)[None], SEP, SPECIALS, BOS, EOS).numpy()[0]
    of, ff = frames(out), frames(fk)
    assert (of[:2] == NONE).all()
    np.testing.assert_array_equal(of[2:], ff[:-2])  # '$': angle from angle, position from position
    assert set(of[2::2].ravel()) <= set(ff[0::2].ravel()) and set(of[3::2].ravel()) <= set(ff[1::2].ravel())

    # Left/right padding and packing after another document change nothing for the real tokens.
    n, pad = len(fk), 9
    rows = torch.zeros((3, n + pad + len(causal)), dtype=torch.long)
    rows[0, pad : pad + n] = torch.as_tensor(fk)
    rows[1, :n] = torch.as_tensor(fk)
    rows[2, : len(causal)] = torch.as_tensor(causal)
    rows[2, len(causal) : len(causal) + n] = torch.as_tensor(fk)
    got = previous_frame_token_ids(rows, SEP, SPECIALS, BOS, EOS).numpy()
    np.testing.assert_array_equal(got[0, pad : pad + n], out)
    np.testing.assert_array_equal(got[1, :n], out)
    np.testing.assert_array_equal(got[2, len(causal) : len(causal) + n], out)
    assert (got[0, :pad] == NONE).all() and (got[1, n:] == NONE).all()


def test_previous_frame_ids_errors_and_empty():
    with pytest.raises(ValueError, match=r"\(batch, length\)"):
        previous_frame_token_ids(torch.zeros(5, dtype=torch.long), SEP, SPECIALS)
    assert previous_frame_token_ids(torch.zeros((2, 0), dtype=torch.long), SEP, SPECIALS).shape == (2, 0)


def test_previous_token_config_flag_is_saved_validated_and_counted(tok, tmp_path):
    import json

    cfg = motion_gpt2_config("tiny", tok, use_previous_token_embeddings=True)
    assert cfg.use_previous_token_embeddings is True and cfg.interleaved_task_ids == [5, 6]
    assert motion_gpt2_config("tiny", tok).use_previous_token_embeddings is False
    with pytest.raises(ValueError, match="use_previous_token_embeddings must be True or False"):
        motion_gpt2_config("tiny", tok, use_previous_token_embeddings="yes")
    with pytest.raises(ValueError, match=r"interleaved_task_ids \[9\] are not in special_token_ids"):
        motion_gpt2_config("tiny", tok, interleaved_task_ids=[9])
    cfg.save_pretrained(tmp_path)
    assert json.loads((tmp_path / "config.json").read_text())["use_previous_token_embeddings"] is True
    assert AutoConfig.from_pretrained(tmp_path).use_previous_token_embeddings is True
    # A config.json written before the flag existed loads with the copy path off.
    old = json.loads((tmp_path / "config.json").read_text())
    del old["use_previous_token_embeddings"], old["interleaved_task_ids"]
    (tmp_path / "config.json").write_text(json.dumps(old))
    again = AutoConfig.from_pretrained(tmp_path)
    assert again.use_previous_token_embeddings is False and again.interleaved_task_ids == [5, 6]

    plain = MotionGPT2ForCausalLM(motion_gpt2_config("tiny", tok))
    copy = MotionGPT2ForCausalLM(cfg)
    assert plain.transformer.previous_token_embeddings is None
    assert count_parameters(copy) - count_parameters(plain) == len(tok) * cfg.n_embd


def _fk_prompt(tok, walk_motion, frames=4):
    m = walk_motion.select_joints(SMALL_JOINTS).slice(0, 10 * frames, 10)
    from hf_motion.kinematics import forward_kinematics

    pos = forward_kinematics(m)
    pos = pos - pos[:, :1]  # root-relative, inside the position box
    return tok.encode_motion(angles=m.rotations, positions=pos, task="$")[:-1]


def test_copy_path_looks_up_the_history_of_the_token_being_predicted(tok):
    """Position i predicts token i + 1: its copy id is the previous frame's value at *that* token's
    slot (one frame back for '>' text), so "repeat the last frame" is a lookup of the right slot."""
    rng = np.random.default_rng(7)
    T, J = 4, 2
    W = J * 3
    ids = tok.encode_motion(angles=rng.uniform(-3, 3, (T, J, 3)), task=">")
    model = _random_tiny(tok, use_previous_token_embeddings=True)
    got = model.transformer.previous_frame_token_ids(torch.as_tensor(ids)[None]).numpy()[0]
    # Independent oracle from the layout [bos, task, (sep, W values) x T, eos].
    frames = np.asarray(ids[2:-1]).reshape(T, W + 1)[:, 1:]
    for i in range(len(ids)):
        nxt = i + 1  # the token predicted at i
        k = nxt - 2  # its offset in the frame area
        if 0 <= k < T * (W + 1) and k % (W + 1) and k // (W + 1) >= 1:
            f, slot = k // (W + 1), k % (W + 1) - 1
            assert got[i] == frames[f - 1, slot], i
        else:  # predicting a separator, eos, or a value of the first frame: nothing to copy
            assert got[i] == model.transformer.previous_none_id, i
    # At the very end (generation): the next token is frame T's first value, from frame T-1.
    open_row = torch.as_tensor(np.concatenate([ids[:-1], [tok.frame_separator_id]]))[None]
    assert model.transformer.previous_frame_token_ids(open_row)[0, -1] == frames[-1, 0]


def test_copy_path_cached_forward_needs_previous_ids_and_matches_full_forward(tok, walk_ids):
    model = _random_tiny(tok, use_previous_token_embeddings=True)
    ids = torch.as_tensor(walk_ids)[None]
    k = 27  # inside the second frame: the new tokens copy from the first
    with torch.no_grad():
        full = model(ids).logits
        j, f = model.transformer.motion_position_indices(ids)
        prev = model.transformer.previous_frame_token_ids(ids)
        assert (prev[0, k:] != NONE).any()
        cache = model(ids[:, :k], use_cache=True).cache
        with pytest.raises(ValueError, match="no previous_token_ids"):
            model(ids[:, k:], cache=cache, joint_ids=j[:, k:], frame_ids=f[:, k:])
        step = model(ids[:, k:], cache=cache, joint_ids=j[:, k:], frame_ids=f[:, k:],
                     previous_token_ids=prev[:, k:]).logits  # fmt: skip
        torch.testing.assert_close(step, full[:, k:], rtol=1e-4, atol=1e-4)
        # The previous ids matter: all-none ids give other logits where a previous frame exists.
        cache = model(ids[:, :k], use_cache=True).cache
        wrong = model(ids[:, k:], cache=cache, joint_ids=j[:, k:], frame_ids=f[:, k:],
                      previous_token_ids=torch.full_like(prev[:, k:], NONE)).logits  # fmt: skip
        assert (wrong - full[:, k:]).abs().max() > 1e-2
        # Explicit ids equal to the derived ones give the same uncached forward.
        torch.testing.assert_close(model(ids, previous_token_ids=prev).logits, full)
        with pytest.raises(ValueError, match=rf"previous_token_ids holds id {len(tok)}"):
            model(ids, previous_token_ids=torch.full_like(prev, len(tok)))
        with pytest.raises(ValueError, match="needs previous_token_ids when called with inputs_embeds"):
            model(inputs_embeds=model.transformer.wte(ids), joint_ids=j, frame_ids=f)


@pytest.mark.parametrize("task", [">", "$"])
def test_copy_path_cached_and_uncached_generation_are_identical(tok, walk_ids, walk_motion, task):
    model = _random_tiny(tok, use_previous_token_embeddings=True)
    prompt = walk_ids if task == ">" else _fk_prompt(tok, walk_motion)
    ids = torch.as_tensor(prompt)[None]
    kw = {"max_new_tokens": 40, "do_sample": False, "attention_mask": torch.ones_like(ids), "output_scores": True,
          "return_dict_in_generate": True}  # fmt: skip
    with torch.no_grad():
        cached = model.generate(ids, use_cache=True, **kw)
        plain = model.generate(ids, use_cache=False, **kw)
    assert torch.equal(cached.sequences, plain.sequences)
    torch.testing.assert_close(torch.stack(cached.scores), torch.stack(plain.scores), rtol=1e-4, atol=1e-4)
    assert len(set(cached.sequences[0, ids.shape[1] :].tolist())) > 1


def test_copy_path_left_padded_batch_generates_like_single_prompts(tok, walk_ids):
    model = _random_tiny(tok, seed=1, use_previous_token_embeddings=True)
    a = torch.as_tensor(walk_ids)
    b = a[: len(a) - 16]
    batch = torch.zeros((2, len(a)), dtype=torch.long)
    batch[0] = a
    batch[1, 16:] = b
    with torch.no_grad():
        out = model.generate(batch, attention_mask=(batch != 0).long(), max_new_tokens=20, do_sample=False)
        single = model.generate(b[None], attention_mask=torch.ones_like(b[None]), max_new_tokens=20, do_sample=False)
    assert torch.equal(out[1, len(a) :], single[0, len(b) :])


def test_copy_path_save_and_load_through_auto_classes(tok, walk_ids, tmp_path):
    model = _random_tiny(tok, std=0.02, use_previous_token_embeddings=True)
    model.save_pretrained(tmp_path / "copy")
    ids = torch.as_tensor(walk_ids)[None]
    loaded, info = AutoModelForCausalLM.from_pretrained(tmp_path / "copy", output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"]
    assert loaded.config.use_previous_token_embeddings is True
    with torch.no_grad():
        torch.testing.assert_close(loaded.eval()(ids).logits, model(ids).logits)
    name = "previous_token_embeddings.weight"
    assert torch.equal(AutoModel.from_pretrained(tmp_path / "copy").state_dict()[name],
                       model.transformer.state_dict()[name])  # fmt: skip
    clf = AutoModelForSequenceClassification.from_pretrained(tmp_path / "copy", num_labels=2)
    assert torch.equal(clf.transformer.state_dict()[name], model.transformer.state_dict()[name])

    # The flag and the weights must agree: a checkpoint without the copy path does not silently
    # grow a random one, and one with it does not silently lose it.
    _random_tiny(tok, std=0.02).save_pretrained(tmp_path / "plain")
    with pytest.raises(ValueError, match="previous_token_embeddings differ: check use_previous_token_embeddings=True"):
        AutoModelForCausalLM.from_pretrained(tmp_path / "plain", use_previous_token_embeddings=True)
    with pytest.raises(ValueError, match="previous_token_embeddings differ: check use_previous_token_embeddings=False"):
        AutoModelForCausalLM.from_pretrained(tmp_path / "copy", use_previous_token_embeddings=False)
    old = AutoModelForCausalLM.from_pretrained(tmp_path / "plain")  # old checkpoints: flag off
    assert old.transformer.previous_token_embeddings is None


def test_copy_path_sequence_classification_with_left_or_right_padding(tok, walk_ids):
    torch.manual_seed(0)
    cfg = motion_gpt2_config("tiny", tok, num_labels=3, use_previous_token_embeddings=True, initializer_range=0.3)
    model = MotionGPT2ForSequenceClassification(cfg).eval()
    seq = torch.as_tensor(np.append(walk_ids, 2))
    left = torch.cat([torch.zeros(5, dtype=torch.long), seq])[None]
    right = torch.cat([seq, torch.zeros(5, dtype=torch.long)])[None]
    with torch.no_grad():
        ref = model(seq[None]).logits
        torch.testing.assert_close(model(left, attention_mask=(left != 0).long()).logits, ref, rtol=1e-4, atol=1e-4)
        torch.testing.assert_close(model(right, attention_mask=(right != 0).long()).logits, ref, rtol=1e-4, atol=1e-4)
        prev = model.transformer.previous_frame_token_ids(seq[None])
        other = model(seq[None], previous_token_ids=torch.full_like(prev, NONE)).logits
    assert (other - ref).abs().max() > 1e-3  # the copy path reaches the pooled output


def test_copy_path_trains_on_a_real_bandai_clip(tok, bandai_paths):
    motion = hf_motion.resample_motion(hf_motion.load_bvh(bandai_paths[0]).select_joints("bandai-core"), 10)
    ids = torch.as_tensor(tok.encode_motion(angles=motion.rotations[:12], task=">"))[None]
    held_out = torch.as_tensor(tok.encode_motion(angles=motion.rotations[30:42], task=">"))[None]
    assert ids.shape[1] == 12 * (17 * 3 + 1) + 3
    torch.manual_seed(0)
    model = MotionGPT2ForCausalLM(motion_gpt2_config("tiny", tok, use_previous_token_embeddings=True)).train()
    with torch.no_grad():
        before = model.eval()(held_out, labels=held_out).loss.item()
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(12):
        loss = model(ids, labels=ids).loss
        opt.zero_grad()
        loss.backward()
        if not losses:
            grad = model.transformer.previous_token_embeddings.weight.grad
            used = model.transformer.previous_frame_token_ids(ids).unique()
            assert grad[used].abs().sum() > 0  # the copy table learns from the rows it looked up
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.85 * losses[0]
    with torch.no_grad():
        after = model.eval()(held_out, labels=held_out).loss.item()
    assert after < 0.9 * before  # later frames of the clip, not trained on


def test_config_defaults_keep_the_fused_attention_kernel():
    """Attention dropout off by default (dropout forces the unfused kernel); residual/embedding at M5's 0.1."""
    c = motion_gpt2_config("tiny")
    assert (c.attn_pdrop, c.resid_pdrop, c.embd_pdrop) == (0.0, 0.1, 0.1)
    assert motion_gpt2_config("tiny", attn_pdrop=0.2).attn_pdrop == 0.2
