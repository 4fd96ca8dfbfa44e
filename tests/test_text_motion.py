"""Text + motion vocabulary merge, offline: BPE text tokenizers trained here, tiny T5 / GPT-2 built here."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
from transformers import GPT2Config, GPT2LMHeadModel, T5Config, T5ForConditionalGeneration, TokenizersBackend

from hf_motion.kinematics import canonicalize_positions
from hf_motion.text_motion import (
    FRAME_TOKEN,
    MOTION_END,
    MOTION_START,
    add_motion_tokens,
    motion_to_text,
    motion_to_text_tokens,
    resize_model_embeddings,
    text_tokens_to_motion,
)
from hf_motion.tokenizer import MotionTokenizer, MotionTokenizerError

WORDS = """
a an the person man woman child old young tired happy sad angry calm dancer athlete patient walker runner
walks runs jumps turns kicks throws catches waves bows sits stands lies crawls climbs dances spins hops skips
slowly quickly carefully gently suddenly forward backward left right up down around across along over under
then and while after before again twice once still quietly loudly proudly heavily lightly smoothly stiffly
arm arms hand hands leg legs foot feet head shoulder shoulders knee knees hip hips elbow elbows wrist back
raises lowers lifts drops bends stretches shakes nods points reaches pushes pulls grabs holds releases swings
ball box chair table door wall floor stairs step steps rope stick bag cup phone friend crowd music rhythm
circle line corner room street park stage field path hill river bridge garden window light shadow sound
with without toward away from into onto through between behind beside near far high low long short wide
small big heavy light fast slow strong weak steady shaky normal elderly exhausted graceful clumsy feminine
masculine giant childish playful formal casual relaxed nervous excited bored focused lost confident shy
looks listens speaks sings laughs cries breathes waits stops starts finishes begins continues repeats
walking running jumping turning kicking waving dancing sitting standing climbing bending stretching
""".split()


def _corpus():
    rng = np.random.default_rng(0)
    return [" ".join(rng.choice(WORDS, size=12)) for _ in range(400)]


def _text_tokenizer(style: str) -> TokenizersBackend:
    """A small BPE tokenizer trained here: GPT-2 style (byte-level) or T5 style (metaspace, NFKC)."""
    if style == "gpt2":
        backend = Tokenizer(models.BPE())
        backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        backend.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(vocab_size=600, special_tokens=["<|endoftext|>"],
                                      initial_alphabet=pre_tokenizers.ByteLevel.alphabet())  # fmt: skip
        backend.train_from_iterator(_corpus(), trainer)
        eos = "<|endoftext|>"
        return TokenizersBackend(tokenizer_object=backend, bos_token=eos, eos_token=eos, unk_token=eos, pad_token=eos)
    backend = Tokenizer(models.BPE(unk_token="<unk>"))
    backend.normalizer = normalizers.NFKC()
    backend.pre_tokenizer = pre_tokenizers.Metaspace()
    backend.decoder = decoders.Metaspace()
    trainer = trainers.BpeTrainer(vocab_size=600, special_tokens=["<pad>", "</s>", "<unk>"])
    backend.train_from_iterator(_corpus(), trainer)
    return TokenizersBackend(tokenizer_object=backend, eos_token="</s>", unk_token="<unk>", pad_token="<pad>")


MOTION_TOKENIZERS = {
    "m5": MotionTokenizer(),
    "coarse-fine": MotionTokenizer(digits=2, angle_bins=4096, position_bins=4096),
    "m5-delta": MotionTokenizer.m5_delta(256),
}


@pytest.fixture(scope="module")
def real_frames(walk_motion):
    m = walk_motion.select_joints("bandai-core").slice(0, 30, 6)  # 5 real frames, 17 joints
    return m.rotations, canonicalize_positions(m.positions(), m.skeleton.up_axis)


@pytest.mark.parametrize("style", ["gpt2", "t5"])
@pytest.mark.parametrize("mt_name", list(MOTION_TOKENIZERS))
def test_text_with_motion_round_trips(style, mt_name, real_frames):
    mt = MOTION_TOKENIZERS[mt_name]
    text_tok = _text_tokenizer(style)
    n_text = len(text_tok)
    vocab = add_motion_tokens(text_tok, mt)
    n_alphabet = 2 * mt.digits * (256 if mt.digits == 1 else 64)
    if mt.coding == "delta":
        n_alphabet += 2 * (2 * mt.max_step + 1)  # a delta alphabet per kind: changes -max_step..max_step
    assert vocab.num_added == n_alphabet + 6 and len(text_tok) == n_text + n_alphabet + 6

    angles, positions = real_frames
    span = motion_to_text(vocab, angles=angles, positions=positions, task="$")
    assert span.startswith(MOTION_START + "<task:fk>" + FRAME_TOKEN) and span.endswith(MOTION_END)
    assert " " not in span and span.count(FRAME_TOKEN) == 2 * len(angles)
    text = f"an old man walks slowly forward {span} then stops and waves"
    ids = text_tok(text, add_special_tokens=False)["input_ids"]

    # The span tokenizes to exactly the ids motion_to_text_tokens builds, one token per character.
    span_ids = motion_to_text_tokens(vocab, angles=angles, positions=positions, task="$").tolist()
    start = ids.index(vocab.motion_start_id)
    assert ids[start : start + len(span_ids)] == span_ids
    assert len(span_ids) == 3 + 2 * len(angles) * (1 + 17 * 3 * mt.digits)

    # Decode to text and back (skip_special_tokens must not drop the motion), then recover the motion.
    decoded = text_tok.decode(ids, skip_special_tokens=True)
    assert "old man walks slowly forward" in decoded and "then stops and waves" in decoded
    again = text_tok(decoded, add_special_tokens=False)["input_ids"]
    (motion,) = text_tokens_to_motion(vocab, again)
    assert motion.task == "$"
    # Within the quantization bound of the original real frames (and equal to the tokenizer's own round trip).
    assert np.all(np.abs(motion.angles - angles) <= mt.angle_quantizer.delta / 2 + 1e-9)
    assert np.all(np.abs(motion.positions - positions) <= mt.position_quantizer.delta / 2 + 1e-9)
    own = mt.decode_motion(mt.encode_motion(angles=angles, positions=positions, task="$"))
    np.testing.assert_array_equal(motion.angles, own.angles)
    np.testing.assert_array_equal(motion.positions, own.positions)


def test_several_spans_and_motion_ids_input(real_frames):
    mt = MOTION_TOKENIZERS["m5"]
    text_tok = _text_tokenizer("t5")
    vocab = add_motion_tokens(text_tok, mt)
    angles, _ = real_frames
    ids_a = motion_to_text_tokens(vocab, motion_ids=mt.encode_motion(angles=angles[:2], task=">"))
    ids_b = motion_to_text_tokens(vocab, angles=angles[2:], task=">")
    words = text_tok("the dancer spins", add_special_tokens=False)["input_ids"]
    seq = np.concatenate([words, ids_a, words, ids_b])
    first, second = text_tokens_to_motion(vocab, torch.as_tensor(seq))
    assert first.angles.shape == (2, 17, 3) and second.angles.shape == (3, 17, 3)
    np.testing.assert_allclose(np.concatenate([first.angles, second.angles]), angles, atol=mt.angle_quantizer.delta[0] / 2)


def test_merging_twice_adds_nothing():
    mt = MOTION_TOKENIZERS["m5"]
    text_tok = _text_tokenizer("gpt2")
    first = add_motion_tokens(text_tok, mt)
    n = len(text_tok)
    second = add_motion_tokens(text_tok, mt)
    assert second.num_added == 0 and len(text_tok) == n
    np.testing.assert_array_equal(first.motion_to_text_id, second.motion_to_text_id)
    # Specials without a text counterpart map to -1; every alphabet id maps to a distinct text id.
    table = first.motion_to_text_id
    assert all(table[i] == -1 for i in (mt.pad_token_id, mt.bos_token_id, mt.eos_token_id, mt.unk_token_id))
    mapped = table[table >= 0]
    assert len(set(mapped.tolist())) == len(mapped) == len(mt) - 4


def test_plain_text_is_tokenized_as_before():
    mt = MOTION_TOKENIZERS["m5"]
    for style in ("gpt2", "t5"):
        text_tok = _text_tokenizer(style)
        text = "the tired woman raises both arms, costs $5 & more > less"
        before = text_tok(text, add_special_tokens=False)["input_ids"]
        add_motion_tokens(text_tok, mt)
        assert text_tok(text, add_special_tokens=False)["input_ids"] == before


def test_resize_t5_and_gpt2(real_frames):
    mt = MOTION_TOKENIZERS["m5"]
    angles, _ = real_frames
    # T5-style tokenizer and a tiny T5 built here.
    t5_tok = _text_tokenizer("t5")
    t5 = T5ForConditionalGeneration(T5Config(
        vocab_size=len(t5_tok), d_model=32, d_kv=8, d_ff=64, num_layers=1, num_decoder_layers=1, num_heads=2,
        pad_token_id=t5_tok.pad_token_id, eos_token_id=t5_tok.eos_token_id,
        decoder_start_token_id=t5_tok.pad_token_id))  # fmt: skip
    old = t5.get_input_embeddings().weight.detach().clone()
    vocab = add_motion_tokens(t5_tok, mt)
    resize_model_embeddings(t5, t5_tok)
    emb = t5.get_input_embeddings().weight
    assert emb.shape[0] == len(t5_tok)
    torch.testing.assert_close(emb[: old.shape[0]], old)  # text rows untouched
    src = torch.as_tensor(t5_tok("describe the motion", add_special_tokens=False)["input_ids"])[None]
    tgt = torch.as_tensor(motion_to_text_tokens(vocab, angles=angles[:2]))[None]
    out = t5(input_ids=src, labels=tgt)
    assert out.logits.shape[-1] == len(t5_tok) and torch.isfinite(out.loss)

    # Never shrinks: a model with spare rows (like t5-small's 32128 for 32100 tokens) keeps them.
    spare = len(t5_tok) + 28
    t5.resize_token_embeddings(spare)
    resize_model_embeddings(t5, t5_tok)
    assert t5.get_input_embeddings().weight.shape[0] == spare

    # GPT-2 style tokenizer and a tiny GPT-2: the tied output layer grows too.
    g_tok = _text_tokenizer("gpt2")
    gpt = GPT2LMHeadModel(GPT2Config(vocab_size=len(g_tok), n_embd=32, n_layer=1, n_head=2, n_positions=512,
                                     bos_token_id=0, eos_token_id=0, pad_token_id=0))  # fmt: skip
    g_vocab = add_motion_tokens(g_tok, mt)
    resize_model_embeddings(gpt, g_tok)
    assert gpt.get_output_embeddings().weight.shape[0] == len(g_tok)
    ids = np.concatenate([g_tok("a person walks", add_special_tokens=False)["input_ids"],
                          motion_to_text_tokens(g_vocab, angles=angles[:2])])  # fmt: skip
    ids = torch.as_tensor(ids)[None]
    out = gpt(ids, labels=ids)
    assert out.logits.shape == (1, ids.shape[1], len(g_tok)) and torch.isfinite(out.loss)


def test_bad_spans_are_named():
    mt = MOTION_TOKENIZERS["m5"]
    text_tok = _text_tokenizer("gpt2")
    vocab = add_motion_tokens(text_tok, mt)
    word = text_tok("walks", add_special_tokens=False)["input_ids"]
    good = motion_to_text_tokens(vocab, angles=np.zeros((2, 2, 3)))
    with pytest.raises(MotionTokenizerError, match=r"text token .* at position 4 is not a motion token"):
        text_tokens_to_motion(vocab, np.concatenate([good[:4], word, good[4:]]))
    with pytest.raises(MotionTokenizerError, match="opened at position 0 is never closed"):
        text_tokens_to_motion(vocab, good[:-1])
    # Generation that stopped early: strict=False keeps the complete frames.
    (partial,) = text_tokens_to_motion(vocab, good[:-3], strict=False)
    assert partial.angles.shape == (1, 2, 3)
    with pytest.raises(MotionTokenizerError, match="closes no span"):
        text_tokens_to_motion(vocab, good[-1:])
    with pytest.raises(MotionTokenizerError, match="opens a span inside"):
        text_tokens_to_motion(vocab, np.concatenate([good[:3], good]))
    with pytest.raises(MotionTokenizerError, match="has no text token"):
        motion_to_text_tokens(vocab, motion_ids=[mt.unk_token_id])
    with pytest.raises(TypeError, match="must be a MotionTokenizer"):
        add_motion_tokens(text_tok, "not a tokenizer")
    with pytest.raises(TypeError, match="MotionTextVocab"):
        motion_to_text({}, angles=np.zeros((1, 1, 3)))
