"""The code GPT (hf_motion.models.motion_code_gpt.modeling_motion_code_gpt): vocabulary layout, sequences, constrained generation, training.

Synthetic codes only: the module only sees (steps, tokens_per_step) int arrays of a VQ tokenizer.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from transformers import AutoConfig, AutoModelForCausalLM, GPT2Config

from hf_motion.models.motion_code_gpt.modeling_motion_code_gpt import (
    HEADER_LENGTH,
    CodeLogitsProcessor,
    CodeSequenceCollator,
    CodeSequenceDataset,
    MotionCodeGPTConfig,
    MotionCodeGPTForCausalLM,
    decode_codes,
    encode_sequence,
    generate_codes,
    tiny_code_gpt_config,
    train_code_gpt,
)

K = 16


@pytest.fixture(scope="module")
def config2() -> MotionCodeGPTConfig:
    return tiny_code_gpt_config(K, 2, ["walk", "run", "jump"], ["happy", "sad"], max_steps=12)


@pytest.fixture(scope="module")
def model2(config2) -> MotionCodeGPTForCausalLM:
    torch.manual_seed(0)
    return MotionCodeGPTForCausalLM(config2).eval()


# --------------------------------------------------------------------------- layout
@pytest.mark.parametrize("actions,styles,L", [([], [], 1), (["a", "b"], [], 2), (["a"], ["x", "y", "z"], 3)])
def test_layout_blocks_tile_the_vocabulary(actions, styles, L):
    cfg = tiny_code_gpt_config(7, L, actions, styles, max_steps=5)
    blocks = cfg.token_blocks()
    ids = [i for block in blocks.values() for i in block]
    assert sorted(ids) == list(range(cfg.vocab_size)), "blocks must be disjoint and cover vocab_size exactly"
    assert cfg.vocab_size == 3 + len(actions) + 1 + len(styles) + 1 + 5 + 1 + L * 7
    assert cfg.pad_token_id != cfg.eos_token_id
    assert len({cfg.pad_token_id, cfg.bos_token_id, cfg.eos_token_id}) == 3
    assert blocks["action_null"][0] == cfg.action_null_id and blocks["duration_null"][0] == cfg.duration_null_id
    assert [cfg.action_token_id(a) for a in actions] == list(blocks["actions"])
    assert [cfg.duration_token_id(n) for n in range(1, 6)] == list(blocks["durations"])
    for layer in range(L):
        assert blocks[f"codes_layer{layer}"] == range(cfg.code_offset + layer * 7, cfg.code_offset + (layer + 1) * 7)
    # The model's embedding matches the layout.
    assert MotionCodeGPTForCausalLM(cfg).get_input_embeddings().num_embeddings == cfg.vocab_size


def test_config_validation():
    with pytest.raises(ValueError, match="vocab_size=100 but the vocabulary layout gives"):
        MotionCodeGPTConfig(codebook_size=8, max_steps=4, vocab_size=100)
    MotionCodeGPTConfig(codebook_size=8, max_steps=4, vocab_size=3 + 1 + 1 + 5 + 8)  # the layout's own value is fine
    with pytest.raises(ValueError, match="eos_token_id"):
        MotionCodeGPTConfig(codebook_size=8, max_steps=4, eos_token_id=0)
    with pytest.raises(ValueError, match="n_positions=10 cannot hold"):
        MotionCodeGPTConfig(codebook_size=8, tokens_per_step=2, max_steps=4, n_positions=10)
    MotionCodeGPTConfig(codebook_size=8, tokens_per_step=2, max_steps=4, n_positions=13)  # 4 + 8 + 1 fits
    for bad, match in [
        (dict(codebook_size=0), "codebook_size"),
        (dict(tokens_per_step=-1), "tokens_per_step"),
        (dict(max_steps=0), "max_steps"),
        (dict(action_labels="walk"), "action_labels must be a list"),
        (dict(style_labels=["x", "x"]), "duplicates"),
        (dict(n_embd=30, n_head=4), "multiple of n_head"),
    ]:
        with pytest.raises(ValueError, match=match):
            MotionCodeGPTConfig(**bad)
    with pytest.raises(TypeError, match="needs a MotionCodeGPTConfig"):
        MotionCodeGPTForCausalLM(GPT2Config())


# --------------------------------------------------------------------------- sequences
@pytest.mark.parametrize("L", [1, 2])
def test_encode_decode_round_trip(L):
    cfg = tiny_code_gpt_config(K, L, ["a", "b"], ["s"], max_steps=10)
    rng = np.random.default_rng(L)
    for S in (1, 3, 10):
        codes = rng.integers(0, K, size=(S, L))
        for action, style, duration in [("b", "s", True), (None, None, None), ("a", None, False), (None, "s", 10)]:
            ids = encode_sequence(cfg, codes, action=action, style=style, duration=duration)
            assert len(ids) == HEADER_LENGTH + S * L + 1
            assert ids[0] == cfg.bos_token_id and ids[-1] == cfg.eos_token_id
            assert ids[1] == cfg.action_token_id(action) and ids[2] == cfg.style_token_id(style)
            expect_duration = {True: S, None: None, False: None, 10: 10}[duration]
            assert ids[3] == cfg.duration_token_id(expect_duration)
            # Layer l of every step lies in layer l's block.
            body = np.asarray(ids[HEADER_LENGTH:-1]).reshape(S, L)
            for layer in range(L):
                assert np.all(np.isin(body[:, layer], list(cfg.token_blocks()[f"codes_layer{layer}"])))
            np.testing.assert_array_equal(decode_codes(cfg, ids), codes)
            # Trailing padding (a batch row) decodes the same.
            np.testing.assert_array_equal(decode_codes(cfg, ids + [cfg.pad_token_id] * 3), codes)
            np.testing.assert_array_equal(decode_codes(cfg, torch.tensor(ids)), codes)


def test_encode_rejects_bad_codes():
    cfg = tiny_code_gpt_config(K, 2, ["a"], [], max_steps=4)
    with pytest.raises(ValueError, match="shape"):
        encode_sequence(cfg, np.zeros((3, 3), int))
    with pytest.raises(ValueError, match=r"codes\[1, 0\] = 16 is outside the codebook"):
        encode_sequence(cfg, [[0, 1], [16, 0]])
    with pytest.raises(ValueError, match="no steps"):
        encode_sequence(cfg, np.zeros((0, 2), int))
    with pytest.raises(ValueError, match="max_steps=4"):
        encode_sequence(cfg, np.zeros((5, 2), int))
    with pytest.raises(ValueError, match=r"unknown action 'zz'.*\['a'\]"):
        encode_sequence(cfg, np.zeros((2, 2), int), action="zz")
    with pytest.raises(ValueError, match="unknown style"):
        encode_sequence(cfg, np.zeros((2, 2), int), style="happy")


def test_decode_rejects_malformed_sequences():
    cfg = tiny_code_gpt_config(K, 2, ["a", "b"], ["s"], max_steps=6)
    good = encode_sequence(cfg, np.arange(6).reshape(3, 2), action="a", style="s")
    c0, c1 = cfg.code_offset, cfg.code_offset + K  # first code of layer 0 / layer 1

    def broken(pos, value):
        ids = list(good)
        ids[pos] = value
        return ids

    cases = [
        (broken(0, cfg.action_offset), r"position 0: expected bos"),
        (broken(1, c0), r"position 1: expected an action"),
        (broken(2, cfg.action_offset), r"position 2: expected a style"),
        (broken(3, cfg.style_null_id), r"position 3: expected a duration"),
        (broken(4, c1), r"position 4: expected a code token of layer 0"),
        (broken(5, c0), r"position 5: expected a code token of layer 1"),
        (broken(6, cfg.duration_null_id), r"position 6: expected a code token of layer 0"),
        (good[:-1], r"expected eos"),
        (good[:-2] + [cfg.eos_token_id], r"expected whole steps of 2"),
        (good[:5] + [cfg.eos_token_id] + good[6:], r"position 5: eos before the end"),
        (good[:4] + [cfg.eos_token_id], r"position 4: expected a code token"),
        (good[:3], r"too short"),
    ]
    for ids, match in cases:
        with pytest.raises(ValueError, match=match):
            decode_codes(cfg, ids)
    with pytest.raises(ValueError, match="1-D"):
        decode_codes(cfg, np.asarray([good, good]))


# --------------------------------------------------------------------------- constrained generation
def test_processor_masks_by_layer_then_eos(config2):
    L, steps, prompt_length = 2, 3, HEADER_LENGTH + 2  # one past step in the prompt
    proc = CodeLogitsProcessor(config2, prompt_length, steps)
    blocks = config2.token_blocks()
    B, V = 3, config2.vocab_size
    for k in range(steps * L + 3):
        scores = torch.randn(B, V)
        out = proc(torch.zeros(B, prompt_length + k, dtype=torch.long), scores)
        finite = [set(torch.nonzero(torch.isfinite(row)).flatten().tolist()) for row in out]
        expected = set(blocks[f"codes_layer{k % L}"]) if k < steps * L else {config2.eos_token_id}
        assert all(f == expected for f in finite), f"generated position {k}"
        kept = torch.isfinite(out)
        assert torch.equal(out[kept], scores[kept])  # allowed scores pass through unchanged
    with pytest.raises(ValueError, match="prompt of 6 tokens"):
        proc(torch.zeros(B, 5, dtype=torch.long), torch.randn(B, V))
    with pytest.raises(ValueError, match="step boundary"):
        CodeLogitsProcessor(config2, HEADER_LENGTH + 1, steps)


@pytest.mark.parametrize("with_past", [False, True])
def test_generation_always_decodes(model2, config2, with_past):
    rng = np.random.default_rng(0)
    L = config2.tokens_per_step
    cases = [(0, 1, 1.0, None, None), (1, 7, 0.3, 3, "jump"), (2, 5, 1.0, 1, None), (3, 2, 1.7, 40, "run")]
    for seed in range(4, 16):  # more seeds, random settings
        cases.append(
            (
                seed,
                int(rng.integers(1, 8)),
                float(rng.uniform(0.2, 3.0)),
                [None, 1, 2, 5, 50][seed % 5],
                [None, "walk", "run", "jump"][seed % 4],
            )
        )
    for seed, steps, temperature, top_k, action in cases:
        P = int(rng.integers(1, 5)) if with_past else 0
        past = rng.integers(0, K, size=(P, L)) if with_past else None
        n = 5
        calls = []
        original = model2.generate

        def spy(*args, **kwargs):
            calls.append(original(*args, **kwargs))
            return calls[-1]

        model2.generate = spy
        try:
            out = generate_codes(
                model2,
                action=action,
                style="sad",
                steps=steps,
                past=past,
                num_samples=n,
                temperature=temperature,
                top_k=top_k,
                seed=seed,
                batch_size=2,
            )
        finally:
            del model2.generate
        assert out.shape == (n, steps, L) and out.dtype == np.int64
        assert out.min() >= 0 and out.max() < K
        assert len(calls) == 3  # batches of 2, 2, 1
        rows = torch.cat(calls).numpy()
        assert rows.shape[1] == HEADER_LENGTH + (P + steps) * L + 1
        assert np.all(rows[:, 1] == config2.action_token_id(action))
        assert np.all(rows[:, 3] == config2.duration_token_id(P + steps))  # duration = past + future
        full = np.stack([decode_codes(config2, r) for r in rows])
        np.testing.assert_array_equal(full[:, P:], out)  # the output is the future only ...
        if with_past:
            np.testing.assert_array_equal(full[:, :P], np.broadcast_to(past, (n, P, L)))  # ... after the past
        if top_k == 1:
            assert all(np.array_equal(out[0], o) for o in out)  # top_k=1 is argmax: all samples agree


def test_generation_is_seeded_and_leaves_rng_alone(model2):
    torch.manual_seed(123)
    state = torch.get_rng_state()
    a = generate_codes(model2, steps=6, num_samples=4, seed=7)
    assert torch.equal(torch.get_rng_state(), state)
    np.testing.assert_array_equal(a, generate_codes(model2, steps=6, num_samples=4, seed=7))
    assert not np.array_equal(a, generate_codes(model2, steps=6, num_samples=4, seed=8))
    # Batching does not change which samples a seed gives (one RNG stream, same order).
    np.testing.assert_array_equal(a, generate_codes(model2, steps=6, num_samples=4, seed=7, batch_size=4))


def test_greedy_prediction_with_per_sample_past(model2, config2):
    past = np.random.default_rng(1).integers(0, K, size=(3, 2, 2))
    out = generate_codes(model2, steps=4, past=past, num_samples=3, greedy=True, duration=False)
    assert out.shape == (3, 4, 2)
    for i in range(3):  # each row continues its own past, as a single greedy prediction would
        one = generate_codes(model2, steps=4, past=past[i], num_samples=1, greedy=True, duration=False, seed=99)
        np.testing.assert_array_equal(out[i], one[0])


def test_generation_errors(model2, config2):
    with pytest.raises(ValueError, match=r"unknown action 'dance'.*\['walk', 'run', 'jump'\]"):
        generate_codes(model2, action="dance", steps=2)
    with pytest.raises(ValueError, match="unknown style"):
        generate_codes(model2, style="angry", steps=2)
    with pytest.raises(ValueError, match="exceeds max_steps=12"):
        generate_codes(model2, steps=10, past=np.zeros((3, 2), int))
    with pytest.raises(ValueError, match="temperature"):
        generate_codes(model2, steps=2, temperature=0.0)
    with pytest.raises(ValueError, match="top_k"):
        generate_codes(model2, steps=2, top_k=0)
    with pytest.raises(ValueError, match="steps"):
        generate_codes(model2, steps=0)
    with pytest.raises(ValueError, match="shape"):
        generate_codes(model2, steps=2, past=np.zeros((2, 3), int))
    with pytest.raises(ValueError, match="outside the codebook"):
        generate_codes(model2, steps=2, past=np.full((2, 2), K))


# --------------------------------------------------------------------------- save / reload
def test_save_reload_with_auto_classes(model2, config2, tmp_path):
    model2.save_pretrained(tmp_path)
    cfg = AutoConfig.from_pretrained(tmp_path)
    assert type(cfg) is MotionCodeGPTConfig
    assert cfg.token_blocks() == config2.token_blocks() and cfg.action_labels == config2.action_labels
    loaded = AutoModelForCausalLM.from_pretrained(tmp_path).eval()
    assert type(loaded) is MotionCodeGPTForCausalLM
    ids = torch.tensor([encode_sequence(config2, np.arange(10).reshape(5, 2), action="run", style="happy")])
    with torch.no_grad():
        torch.testing.assert_close(loaded(ids).logits, model2(ids).logits, rtol=0, atol=0)
    kwargs = dict(action="walk", steps=5, num_samples=6, seed=3, temperature=1.3, top_k=8)
    np.testing.assert_array_equal(generate_codes(loaded, **kwargs), generate_codes(model2, **kwargs))


# --------------------------------------------------------------------------- training
def _ab_task(n=48, seed=0):
    """Action "a" is code 3 repeated, "b" code 7 repeated (random lengths)."""
    rng = np.random.default_rng(seed)
    actions = ["a" if i % 2 == 0 else "b" for i in range(n)]
    seqs = [np.full((int(rng.integers(3, 9)), 1), 3 if a == "a" else 7) for a in actions]
    return seqs, actions


def _dominant_code_fraction(out: np.ndarray, code: int) -> float:
    return float(np.mean(out == code))


@pytest.fixture(scope="module")
def ab_config():
    return tiny_code_gpt_config(K, 1, ["a", "b"], [], max_steps=8)


def test_training_makes_the_action_matter(ab_config):
    seqs, actions = _ab_task()
    model = train_code_gpt(seqs, actions, None, ab_config, steps=150, batch_size=16, lr=3e-3, condition_dropout=0.1, progress=False)
    assert not model.training
    losses = model.train_loss_history
    assert len(losses) == 150
    assert np.mean(losses[-10:]) < 0.5 * np.mean(losses[:10])
    out_a = generate_codes(model, action="a", steps=6, num_samples=16, seed=0)
    out_b = generate_codes(model, action="b", steps=6, num_samples=16, seed=0)
    assert _dominant_code_fraction(out_a, 3) > 0.85, out_a[:, :, 0]
    assert _dominant_code_fraction(out_b, 7) > 0.85, out_b[:, :, 0]
    # Trained with some null headers, it also runs unconditioned: both modes appear.
    out_none = generate_codes(model, steps=6, num_samples=24, seed=1)
    assert 0.15 < _dominant_code_fraction(out_none, 3) < 0.85
    assert _dominant_code_fraction(out_none, 3) + _dominant_code_fraction(out_none, 7) > 0.85


def test_condition_dropout_one_is_the_unconditioned_baseline(ab_config):
    seqs, actions = _ab_task()
    data = CodeSequenceDataset(seqs, ab_config, actions, None, condition_dropout=1.0, seed=0)
    cfg = ab_config
    null_header = [cfg.bos_token_id, cfg.action_null_id, cfg.style_null_id, cfg.duration_null_id]
    items = [data[i] for i in range(len(data)) for _ in range(3)]
    assert all(item["input_ids"][:HEADER_LENGTH] == null_header for item in items)
    batch = CodeSequenceCollator(ab_config)(items[:8])
    assert torch.all(batch["input_ids"][:, 1:HEADER_LENGTH] == torch.tensor(null_header[1:]))
    # Without dropout the header carries the labels.
    plain = CodeSequenceDataset(seqs, ab_config, actions, None, condition_dropout=0.0)
    assert [plain[i]["input_ids"][1] for i in range(4)] == [ab_config.action_token_id(a) for a in actions[:4]]

    model = train_code_gpt(seqs, actions, None, ab_config, steps=120, batch_size=16, lr=3e-3, condition_dropout=1.0, progress=False)
    # It learned the codes (each sample is one of the two modes) but not the action: asking for "a"
    # still gives both 3s and 7s.
    out_a = generate_codes(model, action="a", steps=6, num_samples=24, seed=0)
    frac3 = _dominant_code_fraction(out_a, 3)
    assert frac3 + _dominant_code_fraction(out_a, 7) > 0.85
    assert 0.15 < frac3 < 0.85


def test_collator_masks_header_and_padding(ab_config):
    cfg = ab_config
    items = [
        {"input_ids": encode_sequence(cfg, [[1], [2]], action="a")},
        {"input_ids": encode_sequence(cfg, [[4], [5], [6], [7]], action="b")},
    ]
    batch = CodeSequenceCollator(cfg)(items)
    assert batch["input_ids"].shape == (2, HEADER_LENGTH + 4 + 1)
    assert batch["input_ids"][0, -2:].tolist() == [cfg.pad_token_id] * 2
    assert batch["attention_mask"].tolist() == [[1] * 7 + [0, 0], [1] * 9]
    labels = batch["labels"]
    assert torch.all(labels[:, :HEADER_LENGTH] == -100)
    assert labels[0].tolist()[HEADER_LENGTH:] == items[0]["input_ids"][HEADER_LENGTH:] + [-100, -100]
    assert labels[1].tolist()[HEADER_LENGTH:] == items[1]["input_ids"][HEADER_LENGTH:]  # codes and eos


def test_crop_steps_windows_and_duration():
    cfg = tiny_code_gpt_config(64, 2, ["a"], ["s"], max_steps=6)
    long = np.stack([np.arange(20), np.arange(20) + 30], axis=1)  # (20, 2), every step distinct
    short = np.array([[1, 2], [3, 4]])
    with pytest.raises(ValueError, match="longer than max_steps=6.*crop_steps"):
        CodeSequenceDataset([long, short], cfg, ["a", "a"], ["s", None])
    data = CodeSequenceDataset([long, short], cfg, ["a", "a"], ["s", None], crop_steps=5, seed=1)
    starts = set()
    for _ in range(20):
        ids = data[0]["input_ids"]
        codes = decode_codes(cfg, ids)
        assert codes.shape == (5, 2)
        assert ids[3] == cfg.duration_token_id(5)  # duration = crop length
        start = int(codes[0, 0])
        np.testing.assert_array_equal(codes, long[start : start + 5])  # a contiguous window
        starts.add(start)
    assert len(starts) > 3  # random windows, not always the same
    np.testing.assert_array_equal(decode_codes(cfg, data[1]["input_ids"]), short)  # short ones stay whole
    assert data[1]["input_ids"][3] == cfg.duration_token_id(2)
    # The training loop runs on cropped windows with styles (smoke: a few steps, finite losses).
    model = train_code_gpt([long, short], ["a", None], ["s", None], cfg, steps=3, batch_size=2, crop_steps=5, progress=False)
    assert len(model.train_loss_history) == 3 and np.all(np.isfinite(model.train_loss_history))
    with pytest.raises(ValueError, match="crop_steps"):
        CodeSequenceDataset([long], cfg, crop_steps=7)
    with pytest.raises(ValueError, match=r"actions\[1\]: unknown action 'b'"):
        CodeSequenceDataset([short, short], cfg, ["a", "b"])
    with pytest.raises(ValueError, match="2 actions for 1 sequences"):
        CodeSequenceDataset([short], cfg, ["a", "a"])


# --------------------------------------------------------------------------- classifier-free guidance
def test_header_dropout_nulls_the_whole_header_at_its_rate(ab_config):
    seqs, actions = _ab_task()
    cfg = ab_config
    null_header = [cfg.bos_token_id, cfg.action_null_id, cfg.style_null_id, cfg.duration_null_id]
    data = CodeSequenceDataset(seqs, cfg, actions, None, header_dropout=0.5, seed=0)
    headers = [data[i % len(data)]["input_ids"][:HEADER_LENGTH] for i in range(600)]
    null = [h == null_header for h in headers]
    assert 0.4 < np.mean(null) < 0.6
    # The other headers keep every condition (condition_dropout is 0 here).
    assert all(h[1] != cfg.action_null_id and h[3] != cfg.duration_null_id for h, n in zip(headers, null) if not n)
    with pytest.raises(ValueError, match="header_dropout"):
        CodeSequenceDataset(seqs, cfg, actions, None, header_dropout=1.5)


def test_guided_generation_decodes_and_scale_one_is_no_guidance(model2, config2):
    past = np.array([[1, 2], [3, 4]])
    plain = generate_codes(model2, action="run", style="sad", steps=5, past=past, num_samples=6, seed=3)
    same = generate_codes(model2, action="run", style="sad", steps=5, past=past, num_samples=6, seed=3, guidance_scale=1.0)
    np.testing.assert_array_equal(plain, same)
    for scale in (0.0, 2.0, 5.0):
        for guide in (("action", "style", "duration"), ("style",)):
            out = generate_codes(model2, action="walk", style="happy", steps=7, num_samples=5, seed=1,
                                 guidance_scale=scale, guide=guide)  # fmt: skip
            assert out.shape == (5, 7, 2) and out.min() >= 0 and out.max() < K
    guided = generate_codes(model2, action="run", style="sad", steps=5, past=past, num_samples=6, seed=3, guidance_scale=4.0)
    assert not np.array_equal(plain, guided)  # the unconditional branch took part
    for bad in (dict(guidance_scale=-1.0), dict(guidance_scale=float("nan")), dict(guide="style"), dict(guide=["speed"])):
        with pytest.raises(ValueError, match="guidance_scale|guide"):
            generate_codes(model2, action="run", steps=2, **bad)


def test_guidance_sharpens_a_weak_condition(ab_config):
    seqs, actions = _ab_task()
    # Briefly trained: asking for "a" gives "a"'s code only part of the time.
    model = train_code_gpt(seqs, actions, None, ab_config, steps=30, batch_size=16, lr=3e-3, condition_dropout=0.0,
                           header_dropout=0.3, progress=False)  # fmt: skip
    fractions = {s: _dominant_code_fraction(generate_codes(model, action="a", steps=6, num_samples=32, seed=0,
                                                           guidance_scale=s), 3) for s in (1.0, 3.0)}  # fmt: skip
    assert fractions[3.0] > fractions[1.0], fractions
