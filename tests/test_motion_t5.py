"""Text and motion in one vocabulary (hf_motion.models.motion_t5), offline: the text tokenizer is
trained here, tiny T5 / GPT-2 models and a tiny VQ-VAE are built here, clips are real Bandai-Namco ones."""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file
from tokenizers import Tokenizer, models, pre_tokenizers
from transformers import AddedToken, AutoModelForSeq2SeqLM, AutoTokenizer, PreTrainedTokenizerFast, T5Config, T5ForConditionalGeneration

import hf_motion
from hf_motion import Motion
from hf_motion.kinematics import canonicalize_positions
from hf_motion.models.motion_t5 import (
    MotionSpanLogitsProcessor,
    TextMotionProcessor,
    build_prompt,
    build_text_motion_model,
    build_text_motion_tokenizer,
    check_embedding_tying,
    code_vectors,
    continue_motion_codes,
    generate_motion_codes,
    generate_text,
    inbetween_codes,
    init_motion_embeddings_from_codebook,
    merge_motion_vocabulary,
    motion_to_text,
    motion_vocabulary_tokens,
    text_to_motion,
    train_text_tokenizer,
)
from hf_motion.models.motion_vq import MotionVQConfig, MotionVQProcessor, MotionVQVAE
from hf_motion.pose_features import PoseFeatureLayout
from hf_motion.text_motion import add_motion_tokens, text_tokens_to_motion
from hf_motion.text_motion import motion_to_text as m5_span
from hf_motion.tokenizer import MotionTokenizer

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FPS, K, L = 20, 8, 2
# No digits on purpose: the tokenizer's alphabet must cover "1.5" anyway.
TEXTS = [
    "a person walks forward slowly", "someone runs in a circle then stops", "the man waves his right hand",
    "an old woman bows politely", "a child jumps up and down", "the dancer spins around and raises both arms",
    "generate motion: a person walks", "generate a second motion: someone dances", "describe the motion",
    "fill in the masked part of this motion", "predict how this motion continues", "a tired man sits down",
    "someone kicks a ball with the left foot", "a woman walks backward carefully", "the athlete turns left",
]  # fmt: skip
T5_SIZE = dict(d_model=32, d_ff=64, num_layers=2, num_decoder_layers=2, num_heads=2, d_kv=16)
GPT2_SIZE = dict(n_embd=32, n_layer=2, n_head=2, n_positions=256)


def _code_strings(codes: np.ndarray) -> list[str]:
    """The motion tokens of ``(S, L)`` codes, written from the documented rule (layer l: id l*K + c)."""
    return [f"<motion_id_{layer * K + int(c)}>" for step in codes for layer, c in enumerate(step)]


def _parse_span(text: str) -> list[int]:
    """Code token numbers of the first span, parsed by regex (spaces may sit anywhere)."""
    inner = text.split("<motion_start>", 1)[1].split("<motion_end>", 1)[0]
    return [int(x) for x in re.findall(r"<motion_id_(\d+)>", inner)]


@pytest.fixture(scope="module")
def vq(walk_motion):
    layout = PoseFeatureLayout.from_motion(walk_motion)
    cfg = MotionVQConfig(
        input_dim=layout.dim, hidden_size=16, depth=1, downsample=4, codebook_size=K, codebook_dim=16,
        quantizer="residual", num_quantizers=L, quantize_dropout=0.0, kmeans_init=False,
    )  # fmt: skip
    torch.manual_seed(0)
    return MotionVQVAE(cfg).eval()


@pytest.fixture(scope="module")
def vq_processor(walk_motion, vq):
    return MotionVQProcessor.from_motion(walk_motion, fps=FPS, config=vq.config)


@pytest.fixture(scope="module")
def tokenizer(vq_processor):
    return build_text_motion_tokenizer(TEXTS, vq_processor=vq_processor, vocab_size=300)


@pytest.fixture(scope="module")
def processor(tokenizer, vq_processor, vq):
    return TextMotionProcessor(tokenizer, vq_processor, vq, max_motion_steps=12, default_motion_steps=5)


@pytest.fixture(scope="module")
def t5(tokenizer):
    torch.manual_seed(0)
    return build_text_motion_model(tokenizer, **T5_SIZE)


@pytest.fixture(scope="module")
def gpt2(tokenizer):
    torch.manual_seed(0)
    return build_text_motion_model(tokenizer, architecture="gpt2", **GPT2_SIZE)


# ---------------------------------------------------------------------------------------------
# 1. tokenizer


@pytest.mark.parametrize("kind", ["unigram", "bpe"])
def test_text_tokenizer_follows_t5_conventions(tmp_path, kind):
    tok = train_text_tokenizer(TEXTS, vocab_size=300, model=kind)
    assert tok.convert_ids_to_tokens([0, 1, 2]) == ["<pad>", "</s>", "<unk>"]
    assert (tok.pad_token_id, tok.eos_token_id, tok.unk_token_id) == (0, 1, 2)
    assert type(tok.backend_tokenizer.pre_tokenizer).__name__ == "Metaspace"
    ids = tok("Walk for 1.5 seconds!")["input_ids"]
    assert ids[-1] == 1 and ids.count(1) == 1  # eos appended once
    assert 2 not in ids, tok.convert_ids_to_tokens(ids)  # digits and punctuation are in the alphabet
    assert tok("A PERSON Walks")["input_ids"] == tok("a person walks")["input_ids"]
    assert tok.convert_ids_to_tokens(tok("person", add_special_tokens=False)["input_ids"])[0].startswith("▁")
    assert tok.decode(tok("a person walks")["input_ids"], skip_special_tokens=True) == "a person walks"
    tok.save_pretrained(tmp_path)
    assert sorted(os.listdir(tmp_path)) == ["tokenizer.json", "tokenizer_config.json"]
    assert json.loads((tmp_path / "tokenizer_config.json").read_text())["tokenizer_class"] == "TokenizersBackend"
    again = AutoTokenizer.from_pretrained(tmp_path)
    assert again("someone runs 2 laps")["input_ids"] == tok("someone runs 2 laps")["input_ids"]


def test_text_tokenizer_errors():
    with pytest.raises(ValueError, match="vocab_size"):
        train_text_tokenizer(TEXTS, vocab_size=10)
    with pytest.raises(ValueError, match="model must be one of"):
        train_text_tokenizer(TEXTS, model="wordpiece")
    with pytest.raises(TypeError, match="not one string"):
        train_text_tokenizer("a person walks")
    with pytest.raises(ValueError, match="at least one"):
        train_text_tokenizer(["", "  "])


def test_merged_vocabulary_round_trip(tokenizer, processor, vq_processor, tmp_path):
    tokens = motion_vocabulary_tokens(vq_processor)
    assert tokens == ["<motion_start>", "<motion_end>", "<motion_mask>"] + [f"<motion_id_{i}>" for i in range(K * L)]
    text_only = train_text_tokenizer(TEXTS, vocab_size=300)
    assert len(tokenizer) == len(text_only) + len(tokens)
    for t in tokens:  # appended after the text vocabulary, as plain non-normalized added tokens
        tid = tokenizer.convert_tokens_to_ids(t)
        assert tid >= len(text_only)
        added = tokenizer.added_tokens_decoder[tid]
        assert (added.content, added.normalized, added.special) == (t, False, False)

    rng = np.random.default_rng(0)
    codes = rng.integers(0, K, size=(5, L))
    span = "<motion_start>" + "".join(_code_strings(codes)) + "<motion_end>"
    assert processor.codes_to_span(codes) == span
    text = "Describe the MOTION " + span + " Please."
    ids = tokenizer(text)["input_ids"]
    motion_ids = set(tokenizer.convert_tokens_to_ids(tokens))
    # The span is one token per motion token, in order; the text around it is lower-cased text.
    assert [i for i in ids if i in motion_ids] == tokenizer.convert_tokens_to_ids(["<motion_start>", *_code_strings(codes), "<motion_end>"])
    decoded = tokenizer.decode(ids, skip_special_tokens=True)
    assert "</s>" not in decoded and decoded.startswith("describe the motion") and decoded.rstrip().endswith("please.")
    assert _parse_span(decoded) == [int(s[11:-1]) for s in _code_strings(codes)]
    np.testing.assert_array_equal(processor.span_to_codes(decoded), codes)
    # Spaces that decoding puts around added tokens do not matter.
    np.testing.assert_array_equal(processor.span_to_codes(" ".join(re.findall(r"<[^>]+>", span))), codes)
    two = tokenizer.decode(tokenizer(f"first {span} then {processor.codes_to_span(codes[::-1])}")["input_ids"])
    assert _parse_span(two.split("then", 1)[1]) == [int(s[11:-1]) for s in _code_strings(codes[::-1])]

    n = len(tokenizer)
    assert merge_motion_vocabulary(tokenizer, tokens) is tokenizer and len(tokenizer) == n  # merging again adds nothing

    tokenizer.save_pretrained(tmp_path)
    tj = json.loads((tmp_path / "tokenizer.json").read_text())
    tc = json.loads((tmp_path / "tokenizer_config.json").read_text())
    by_content = {a["content"]: a for a in tj["added_tokens"]}
    for t in tokens:
        a = by_content[t]
        assert a["id"] == tokenizer.convert_tokens_to_ids(t) and a["normalized"] is False and a["special"] is False
    for name, tid in (("pad_token", 0), ("eos_token", 1), ("unk_token", 2)):
        assert by_content[tc[name]]["id"] == tid and by_content[tc[name]]["special"] is True
    # tokenizer_config.json must not contradict tokenizer.json (transformers 5 keeps the added tokens only there).
    for tid, entry in tc.get("added_tokens_decoder", {}).items():
        a = by_content[entry["content"]]
        assert a["id"] == int(tid) and a["normalized"] == entry["normalized"] and a["special"] == entry["special"]
    extra = set(tc.get("extra_special_tokens", []) or []) | set(tc.get("additional_special_tokens", []) or [])
    assert not extra & set(tokens)
    again = AutoTokenizer.from_pretrained(tmp_path)
    assert again(text)["input_ids"] == ids and again.decode(ids, skip_special_tokens=True) == decoded
    assert all(not again.added_tokens_decoder[i].normalized and not again.added_tokens_decoder[i].special for i in motion_ids)


def test_merge_names_a_token_the_text_vocabulary_already_has(vq_processor):
    vocab = {"<pad>": 0, "</s>": 1, "<unk>": 2, "walk": 3, "<motion_id_3>": 4}
    backend = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok = PreTrainedTokenizerFast(tokenizer_object=backend, pad_token="<pad>", eos_token="</s>", unk_token="<unk>")
    with pytest.raises(ValueError, match=r"'<motion_id_3>'.*already in the text vocabulary"):
        merge_motion_vocabulary(tok, motion_vocabulary_tokens(vq_processor))
    other = train_text_tokenizer(TEXTS, vocab_size=300)
    other.add_tokens([AddedToken("<motion_mask>", normalized=True)])  # added before, with other settings
    with pytest.raises(ValueError, match="<motion_mask>"):
        merge_motion_vocabulary(other, motion_vocabulary_tokens(vq_processor))
    with pytest.raises(ValueError, match="listed twice"):
        merge_motion_vocabulary(train_text_tokenizer(TEXTS, vocab_size=300), ["<a>", "<a>"])


def test_m5_motion_vocabulary(walk_motion):
    mt = MotionTokenizer()
    tok = build_text_motion_tokenizer(TEXTS, motion_vocabulary="m5", motion_tokenizer=mt, vocab_size=300)
    vocab = add_motion_tokens(tok, mt)
    assert vocab.num_added == 0  # the build merged them already
    m = walk_motion.select_joints("bandai-core").slice(0, 30, 6)  # 5 real frames, 17 joints
    angles, positions = m.rotations, canonicalize_positions(m.positions(), m.skeleton.up_axis)
    text = "Describe the motion " + m5_span(vocab, angles=angles, positions=positions)
    decoded = tok.decode(tok(text)["input_ids"], skip_special_tokens=True)
    (motion,) = text_tokens_to_motion(vocab, tok(decoded, add_special_tokens=False)["input_ids"])
    own = mt.decode_motion(mt.encode_motion(angles=angles, positions=positions, task=">"))
    np.testing.assert_array_equal(motion.angles, own.angles)
    np.testing.assert_array_equal(motion.positions, own.positions)
    with pytest.raises(ValueError, match="motion_tokenizer"):
        build_text_motion_tokenizer(TEXTS, motion_vocabulary="m5")
    with pytest.raises(ValueError, match="motion_vocabulary must be one of"):
        build_text_motion_tokenizer(TEXTS, motion_vocabulary="chars")


# ---------------------------------------------------------------------------------------------
# 2. model construction and embedding tying


@pytest.mark.parametrize("tie", [True, False])
def test_tying_survives_resize_and_reload(tmp_path, vq_processor, tie):
    """The Hub path on a tiny stand-in: a text-only T5 checkpoint (with spare rows, as T5's), tied
    or with its own trained lm_head (as t5-v1.1 / flan-t5), merged, resized, saved, reloaded."""
    text_tok = train_text_tokenizer(TEXTS, vocab_size=300)
    old_rows = len(text_tok) + 5
    cfg = T5Config(vocab_size=old_rows, pad_token_id=0, eos_token_id=1, decoder_start_token_id=0,
                   tie_word_embeddings=tie, dropout_rate=0.0, **T5_SIZE)  # fmt: skip
    torch.manual_seed(1)
    T5ForConditionalGeneration(cfg).save_pretrained(tmp_path / "base")
    weights = tmp_path / "base" / "model.safetensors"
    state = load_file(weights)
    if not tie:  # an output layer trained apart from the input embeddings
        state["lm_head.weight"] = torch.randn_like(state["shared.weight"]) * 0.05
        save_file(state, weights, metadata={"format": "pt"})
    base = AutoModelForSeq2SeqLM.from_pretrained(tmp_path / "base").eval()
    assert (base.lm_head.weight.data_ptr() == base.shared.weight.data_ptr()) == tie

    merged = merge_motion_vocabulary(train_text_tokenizer(TEXTS, vocab_size=300), motion_vocabulary_tokens(vq_processor))
    assert len(merged) > old_rows
    model = build_text_motion_model(merged, base_model=str(tmp_path / "base")).eval()
    rows = len(merged)
    assert model.shared.weight.shape[0] == model.lm_head.weight.shape[0] == model.config.vocab_size == rows
    assert (model.lm_head.weight.data_ptr() == model.shared.weight.data_ptr()) == tie
    assert model.encoder.embed_tokens.weight.data_ptr() == model.shared.weight.data_ptr()
    head = state["shared.weight"] if tie else state["lm_head.weight"]
    torch.testing.assert_close(model.lm_head.weight[:old_rows].detach(), head, rtol=0, atol=0)
    torch.testing.assert_close(model.shared.weight[:old_rows].detach(), state["shared.weight"], rtol=0, atol=0)
    check_embedding_tying(model, merged)

    enc = merged(["a person walks forward", "the man waves"], padding=True, return_tensors="pt")
    dec = torch.tensor([[0, 5, 9, 4], [0, 7, 7, 3]])
    with torch.no_grad():
        before = base(**enc, decoder_input_ids=dec).logits
        logits = model(**enc, decoder_input_ids=dec).logits
    # The text predictions of the base model are unchanged by the merge.
    torch.testing.assert_close(logits[..., :old_rows], before, rtol=1e-5, atol=1e-5)

    model.save_pretrained(tmp_path / "merged")
    again = AutoModelForSeq2SeqLM.from_pretrained(tmp_path / "merged").eval()
    assert (again.lm_head.weight.data_ptr() == again.shared.weight.data_ptr()) == tie
    check_embedding_tying(again, merged)
    with torch.no_grad():
        torch.testing.assert_close(again(**enc, decoder_input_ids=dec).logits, logits, rtol=0, atol=0)

    # transformers' own resize: on an untied T5 head it re-ties (the quirk); the check must say so.
    plain = AutoModelForSeq2SeqLM.from_pretrained(tmp_path / "base")
    plain.resize_token_embeddings(rows)
    if not tie and plain.lm_head.weight.data_ptr() == plain.shared.weight.data_ptr():
        with pytest.raises(ValueError, match="re-tied"):
            check_embedding_tying(plain, merged)
    else:
        check_embedding_tying(plain, merged)
    small = AutoModelForSeq2SeqLM.from_pretrained(tmp_path / "base")
    with pytest.raises(ValueError, match="tokenizer has"):
        check_embedding_tying(small, merged)


def test_code_vectors_add_up_to_the_quantizer_output(vq):
    vectors = code_vectors(vq)
    assert vectors.shape == (L, K, vq.config.codebook_dim)
    codes = torch.randint(0, K, (1, 7, L), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        out = vq.quantized_from_codes(codes)[0].numpy()
        base = vq.quantized_from_codes(torch.zeros((1, 1, L), dtype=torch.long))[0, 0].numpy()
    summed = base + sum(vectors[layer, codes[0, :, layer].numpy()] for layer in range(L))
    np.testing.assert_allclose(summed, out, atol=1e-5)


def test_codebook_initialisation_keeps_code_geometry_and_text_rows(tokenizer, vq):
    torch.manual_seed(0)
    model = build_text_motion_model(tokenizer, **T5_SIZE)  # d_model 32 > codebook_dim 16
    before = model.get_input_embeddings().weight.detach().clone()
    init_motion_embeddings_from_codebook(model, tokenizer, vq)
    after = model.get_input_embeddings().weight.detach()
    vocab = tokenizer.get_vocab()
    code_ids = [[vocab[f"<motion_id_{layer * K + c}>"] for c in range(K)] for layer in range(L)]
    rows = np.array(code_ids).reshape(-1)
    others = np.setdiff1d(np.arange(len(before)), rows)
    torch.testing.assert_close(after[others], before[others])  # text rows and motion markers untouched
    assert model.lm_head.weight.data_ptr() == model.shared.weight.data_ptr()
    check_embedding_tying(model, tokenizer)
    # All 16 principal axes of the code vectors fit in the width: distances between codes are kept
    # up to one scale (the remaining columns are random fill).
    vectors = code_vectors(vq).reshape(L * K, -1)
    emb = after[rows].numpy()[:, : vectors.shape[1]].astype(np.float64)
    d_codes = np.linalg.norm(vectors[:, None] - vectors[None], axis=-1)
    d_emb = np.linalg.norm(emb[:, None] - emb[None], axis=-1)
    ratio = d_emb[d_codes > 1e-6] / d_codes[d_codes > 1e-6]
    assert ratio.std() / ratio.mean() < 1e-3
    assert abs(float(after[rows].std()) - float(before.std())) < 0.3 * float(before.std())


def test_build_from_config(tokenizer, tmp_path):
    t5 = build_text_motion_model(tokenizer)  # the default small size
    c = t5.config
    assert (c.d_model, c.d_ff, c.num_layers, c.num_decoder_layers, c.num_heads, c.d_kv) == (256, 512, 3, 3, 4, 64)
    assert (c.dropout_rate, c.feed_forward_proj, c.vocab_size) == (0.1, "relu", len(tokenizer))
    assert (c.pad_token_id, c.eos_token_id, c.decoder_start_token_id) == (0, 1, 0)
    g = t5.generation_config
    assert (g.pad_token_id, g.eos_token_id, g.decoder_start_token_id) == (0, 1, 0)
    assert t5.lm_head.weight.data_ptr() == t5.shared.weight.data_ptr()

    gpt = build_text_motion_model(tokenizer, architecture="gpt2", n_embd=48, n_layer=1, n_head=2)
    assert (gpt.config.n_embd, gpt.config.n_layer, gpt.config.vocab_size) == (48, 1, len(tokenizer))
    assert gpt.config.pad_token_id == 0 and gpt.config.eos_token_id == 1 and gpt.config.bos_token_id == 1
    assert gpt.generation_config.pad_token_id != gpt.generation_config.eos_token_id
    untied = build_text_motion_model(tokenizer, architecture="gpt2", tie_word_embeddings=False, **GPT2_SIZE)
    assert untied.lm_head.weight.data_ptr() != untied.transformer.wte.weight.data_ptr()
    check_embedding_tying(untied, tokenizer)

    with pytest.raises(ValueError, match=r"architecture must be one of \['t5', 'gpt2'\], got 'bert'"):
        build_text_motion_model(tokenizer, architecture="bert")
    t5.save_pretrained(tmp_path)
    with pytest.raises(ValueError, match="decoder-only"):
        build_text_motion_model(tokenizer, base_model=str(tmp_path), architecture="gpt2")
    with pytest.raises(ValueError, match="only without base_model"):
        build_text_motion_model(tokenizer, base_model=str(tmp_path), d_model=8)
    same = train_text_tokenizer(TEXTS, vocab_size=300)
    same.pad_token = same.eos_token
    with pytest.raises(ValueError, match="must differ from eos"):
        build_text_motion_model(same, architecture="gpt2")


# ---------------------------------------------------------------------------------------------
# 3. constrained generation


def _constrained_generate(model, processor, prompts, mode, steps=None, **kwargs):
    """model.generate with the logits processor, outside generate_motion_codes."""
    seq2seq = model.config.is_encoder_decoder
    enc = processor(text=prompts, causal=not seq2seq)
    plen = 1 if seq2seq else enc["input_ids"].shape[1]
    lp = [MotionSpanLogitsProcessor(processor, mode, steps=steps, prompt_length=plen)] if mode else []
    out = model.generate(**enc, logits_processor=lp, pad_token_id=0, eos_token_id=1, **kwargs)
    return out[:, plen:]


@pytest.mark.parametrize("arch", ["t5", "gpt2"])
def test_motion_mode_always_decodes(request, processor, tokenizer, arch):
    model = request.getfixturevalue(arch).eval()
    steps = [1, 4, 2, 6]
    prompts = ["Generate motion: a person walks", "hi", "Generate a 1.5 second motion: the dancer spins around", "x y"]
    for seed, top_k in ((0, None), (1, 3), (2, None)):
        torch.manual_seed(seed)
        new = _constrained_generate(model, processor, prompts, "motion", steps, do_sample=True, temperature=3.0,
                                    top_k=top_k or 0, max_new_tokens=max(steps) * L + 3)  # fmt: skip
        for row, s in zip(new.tolist(), steps):
            n = s * L
            toks = tokenizer.convert_ids_to_tokens(row)
            assert toks[0] == "<motion_start>" and toks[n + 1] == "<motion_end>" and toks[n + 2] == "</s>"
            assert all(t == "<pad>" for t in toks[n + 3 :])
            numbers = _parse_span(tokenizer.decode(row, skip_special_tokens=True))
            assert len(numbers) == n
            assert [x // K for x in numbers] == [k % L for k in range(n)]  # layer order
        out = generate_motion_codes(model, processor, prompts, steps, temperature=3.0, seed=seed, top_k=top_k)
        assert [o.shape for o in out] == [(s, L) for s in steps]
        assert all(o.dtype == np.int64 and o.min() >= 0 and o.max() < K for o in out)


@pytest.mark.parametrize("arch", ["t5", "gpt2"])
def test_text_mode_never_emits_motion_tokens(request, processor, tokenizer, arch):
    model = request.getfixturevalue(arch).eval()
    span = processor.codes_to_span(np.arange(6).reshape(3, 2) % K)
    prompts = ["Describe the motion " + span, "describe the motion " + span + " please", "a person"]
    motion_ids = set(tokenizer.convert_tokens_to_ids(motion_vocabulary_tokens(processor.motion_processor)))
    kw = dict(do_sample=True, temperature=3.0, top_k=0, max_new_tokens=12, min_new_tokens=12)
    torch.manual_seed(0)
    free = _constrained_generate(model, processor, prompts, None, **kw)
    assert motion_ids & set(free.flatten().tolist()), "control: an untrained model emits motion tokens unconstrained"
    for seed in range(3):
        torch.manual_seed(seed)
        new = _constrained_generate(model, processor, prompts, "text", **kw)
        assert not motion_ids & set(new.flatten().tolist())
        for text in generate_text(model, processor, prompts, greedy=False, temperature=3.0, seed=seed, max_new_tokens=12):
            assert "<motion" not in text and "</s>" not in text


@pytest.mark.parametrize("arch", ["t5", "gpt2"])
def test_batched_greedy_equals_one_at_a_time(request, processor, arch):
    model = request.getfixturevalue(arch)
    prompts = ["Generate motion: a person walks forward slowly", "hi", "Generate motion: someone runs"]
    steps = [3, 5, 2]
    batched = generate_motion_codes(model, processor, prompts, steps, greedy=True)
    alone = [generate_motion_codes(model, processor, [p], [s], greedy=True)[0] for p, s in zip(prompts, steps)]
    for a, b in zip(batched, alone):
        np.testing.assert_array_equal(a, b)
    texts = generate_text(model, processor, prompts, max_new_tokens=6)
    assert texts == [generate_text(model, processor, [p], max_new_tokens=6)[0] for p in prompts]


def test_seeds_reproduce_and_leave_the_global_rng_alone(t5, processor):
    prompts, steps = ["Generate motion: a person walks"] * 3, [6, 6, 6]
    state = torch.random.get_rng_state()
    a = generate_motion_codes(t5, processor, prompts, steps, temperature=3.0, seed=5)
    assert torch.equal(torch.random.get_rng_state(), state)
    b = generate_motion_codes(t5, processor, prompts, steps, temperature=3.0, seed=5)
    c = generate_motion_codes(t5, processor, prompts, steps, temperature=3.0, seed=6)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not all(np.array_equal(x, y) for x, y in zip(a, c))
    assert not all(np.array_equal(a[0], x) for x in a[1:])  # rows of one batch are sampled apart


_FRESH = textwrap.dedent(
    """
    import json, sys, torch
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer
    d, prompt = sys.argv[1], sys.argv[2]
    tok = AutoTokenizer.from_pretrained(d)
    model = AutoModelForSeq2SeqLM.from_pretrained(d).eval()
    ids = tok(prompt, return_tensors="pt")
    kw = dict(max_new_tokens=10, min_new_tokens=10, pad_token_id=0, eos_token_id=1)
    greedy = model.generate(**ids, do_sample=False, **kw)
    torch.manual_seed(3)
    sampled = model.generate(**ids, do_sample=True, top_k=0, **kw)
    out = dict(cls=type(tok).__name__, n=len(tok), ids=ids["input_ids"][0].tolist(), greedy=greedy[0].tolist(),
               sampled=sampled[0].tolist(), decoded=tok.decode(ids["input_ids"][0], skip_special_tokens=True),
               clean="hf_motion" not in sys.modules)
    from hf_motion.models.motion_t5 import TextMotionProcessor, generate_motion_codes
    proc = TextMotionProcessor.from_pretrained(d)
    codes = generate_motion_codes(model, proc, [prompt, "Generate motion: someone runs"], [3, 4], seed=7)
    out["codes"] = [c.tolist() for c in codes]
    print(json.dumps(out))
    """
)


def test_reload_in_a_fresh_process_generates_the_same(t5, processor, tokenizer, tmp_path):
    t5.save_pretrained(tmp_path)
    processor.save_pretrained(tmp_path)
    prompt = "Describe the motion " + processor.codes_to_span(np.array([[1, 2], [3, 4], [5, 6]]))
    env = dict(os.environ, OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1", TRANSFORMERS_VERBOSITY="error")
    run = subprocess.run([sys.executable, "-c", _FRESH, str(tmp_path), prompt], capture_output=True, text=True,
                         env=env, cwd=REPO, timeout=120)  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    got = json.loads(run.stdout.strip().splitlines()[-1])
    assert got["clean"], "the tokenizer and model must load without importing hf_motion"
    assert got["cls"] == "TokenizersBackend" and got["n"] == len(tokenizer)
    ids = tokenizer(prompt, return_tensors="pt")
    assert got["ids"] == ids["input_ids"][0].tolist()
    np.testing.assert_array_equal(processor.span_to_codes(got["decoded"]), [[1, 2], [3, 4], [5, 6]])
    t5.eval()
    kw = dict(max_new_tokens=10, min_new_tokens=10, pad_token_id=0, eos_token_id=1)
    with torch.no_grad():
        assert got["greedy"] == t5.generate(**ids, do_sample=False, **kw)[0].tolist()
        with torch.random.fork_rng():
            torch.manual_seed(3)
            assert got["sampled"] == t5.generate(**ids, do_sample=True, top_k=0, **kw)[0].tolist()
    mine = generate_motion_codes(t5, processor, [prompt, "Generate motion: someone runs"], [3, 4], seed=7)
    assert got["codes"] == [c.tolist() for c in mine]


# ---------------------------------------------------------------------------------------------
# 4. processor


def test_processor_save_reload_and_missing_files(processor, walk_motion, tmp_path):
    d = tmp_path / "model"
    processor.save_pretrained(d)
    processor.save_pretrained(d)  # saving over a saved folder works
    assert sorted(os.listdir(d)) == ["motion_tokenizer", "text_motion_config.json", "tokenizer.json", "tokenizer_config.json"]
    cfg = json.loads((d / "text_motion_config.json").read_text())
    assert cfg["motion_vocabulary"] == "vq" and (cfg["codebook_size"], cfg["tokens_per_step"]) == (K, L)
    assert (cfg["fps"], cfg["downsample"], cfg["max_motion_steps"]) == (FPS, 4, 12)
    assert (cfg["motion_start"], cfg["motion_end"], cfg["motion_mask"]) == ("<motion_start>", "<motion_end>", "<motion_mask>")
    again = TextMotionProcessor.from_pretrained(d)
    assert again.to_config() == processor.to_config() and again.default_motion_steps == 5
    assert again.tokenizer.get_vocab() == processor.tokenizer.get_vocab()
    codes = processor.motion_to_codes(walk_motion)
    np.testing.assert_array_equal(again.motion_to_codes(walk_motion), codes)
    np.testing.assert_allclose(again.span_to_motion(processor.codes_to_span(codes)).rotations,
                               processor.codes_to_motion(codes).rotations, atol=1e-6)  # fmt: skip
    assert (
        AutoTokenizer.from_pretrained(d)(processor.codes_to_span(codes))["input_ids"]
        == processor.tokenizer(processor.codes_to_span(codes))["input_ids"]
    )

    for missing in ("text_motion_config.json", "tokenizer.json", "motion_tokenizer/model.safetensors",
                    "motion_tokenizer/preprocessor_config.json"):  # fmt: skip
        broken = tmp_path / "broken"
        shutil.rmtree(broken, ignore_errors=True)
        shutil.copytree(d, broken)
        os.remove(broken / missing)
        with pytest.raises(FileNotFoundError, match=re.escape(missing) + ".*save_pretrained"):
            TextMotionProcessor.from_pretrained(broken)
    with pytest.raises(FileNotFoundError, match="not a folder"):
        TextMotionProcessor.from_pretrained(tmp_path / "nowhere")
    (broken / "motion_tokenizer" / "preprocessor_config.json").write_text((d / "motion_tokenizer" / "preprocessor_config.json").read_text())
    (broken / "text_motion_config.json").write_text(json.dumps({**cfg, "codebook_size": 16}))
    with pytest.raises(ValueError, match="codebook_size=16"):
        TextMotionProcessor.from_pretrained(broken)
    (broken / "text_motion_config.json").write_text(json.dumps({**cfg, "motion_vocabulary": "m5"}))
    with pytest.raises(ValueError, match="'m5'"):
        TextMotionProcessor.from_pretrained(broken)


def test_processor_tokenizes_like_a_transformers_processor(processor, tokenizer):
    span = processor.codes_to_span(np.array([[0, 1], [2, 3]]))
    texts, targets = ["a person walks", "Describe the motion " + span], ["generate motion: " + span, "someone bows"]
    enc = processor(text=texts, text_target=targets)
    prompt_ids = [tokenizer(t)["input_ids"] for t in texts]  # the tokenizer's own post-processor adds </s>
    target_ids = [tokenizer(t)["input_ids"] for t in targets]
    width = max(map(len, prompt_ids))
    assert enc["input_ids"].tolist() == [p + [0] * (width - len(p)) for p in prompt_ids]
    assert enc["attention_mask"].sum(1).tolist() == [len(p) for p in prompt_ids]
    lw = max(map(len, target_ids))
    assert enc["labels"].tolist() == [t + [-100] * (lw - len(t)) for t in target_ids]

    causal = processor(text=texts, text_target=targets, causal=True)
    for i in range(2):
        n = len(prompt_ids[i]) + len(target_ids[i])
        assert causal["input_ids"][i, :n].tolist() == prompt_ids[i] + target_ids[i]
        assert causal["labels"][i, :n].tolist() == [-100] * len(prompt_ids[i]) + target_ids[i]
        assert (causal["labels"][i, n:] == -100).all() and causal["attention_mask"][i].sum() == n
    left = processor(text=texts, causal=True)
    assert left["input_ids"][0].tolist()[-len(prompt_ids[0]) :] == prompt_ids[0] and left["attention_mask"][0, 0] == 0
    with pytest.raises(ValueError, match="2 texts but 1 targets"):
        processor(text=texts, text_target=targets[:1])


def test_lengths_spans_and_errors(processor):
    assert processor.steps_for_seconds(1.0) == 5  # 20 frames / 4
    assert processor.steps_for_seconds(0.6) == 3 and processor.steps_for_seconds(0.61) == 4 and processor.steps_for_seconds(0.01) == 1
    assert processor.steps_for_seconds(3 * 0.2) == 3  # 3.0000000000000004 steps in floating point
    assert processor.frames_for_seconds(1.5) == 30 and processor.frames_for_seconds(0.01) == 1
    assert processor.steps_for_seconds(2.4) == 12
    with pytest.raises(ValueError, match=r"max_motion_steps=12 \(2.4 s\)"):
        processor.steps_for_seconds(2.5)
    for bad in (0, -1.0, float("nan"), "2"):
        with pytest.raises(ValueError, match="seconds"):
            processor.steps_for_seconds(bad)
    codes = np.array([[0, 1], [2, 3], [4, 5], [6, 7]])
    masked = processor.masked_span(codes, 1, 3)
    expected = (
        "<motion_start>" + "".join(_code_strings(codes[:1])) + "<motion_mask>" * 2 + "".join(_code_strings(codes[3:])) + "<motion_end>"
    )
    assert masked == expected
    for start, stop in ((2, 2), (3, 1), (0, 5), (-1, 2)):
        with pytest.raises(ValueError, match="start < stop"):
            processor.masked_span(codes, start, stop)
    with pytest.raises(ValueError, match="not a code token"):
        processor.span_to_codes(masked)
    with pytest.raises(ValueError, match="no <motion_start>"):
        processor.span_to_codes("a person walks")
    with pytest.raises(ValueError, match="layer order"):
        processor.span_to_codes("<motion_start><motion_id_9><motion_id_1><motion_end>")
    with pytest.raises(ValueError, match="outside this vocabulary"):
        processor.span_to_codes("<motion_start><motion_id_16><motion_id_9><motion_end>")
    with pytest.raises(ValueError, match=r"\[0, 8\)"):
        processor.codes_to_span(np.array([[0, 8]]))
    with pytest.raises(ValueError, match=r"shaped \(steps, 2\)"):
        processor.codes_to_span(np.array([0, 1, 2]))


def test_generation_errors(t5, processor):
    with pytest.raises(ValueError, match="seconds or steps, not both"):
        text_to_motion(t5, processor, "a person walks", seconds=1.0, steps=3)
    with pytest.raises(ValueError, match="max_motion_steps"):
        text_to_motion(t5, processor, "a person walks", seconds=30)
    with pytest.raises(ValueError, match=r"steps must be an integer in \[1, max_motion_steps=12\]"):
        generate_motion_codes(t5, processor, ["x"], [0])
    with pytest.raises(ValueError, match="2 prompts but 1 step counts"):
        generate_motion_codes(t5, processor, ["x", "y"], [3])
    with pytest.raises(ValueError, match="temperature"):
        generate_motion_codes(t5, processor, ["x"], 3, temperature=0.0)
    with pytest.raises(ValueError, match="mode must be one of"):
        MotionSpanLogitsProcessor(processor, mode="codes", steps=3)
    with pytest.raises(ValueError, match="needs steps"):
        MotionSpanLogitsProcessor(processor, mode="motion")
    with pytest.raises(ValueError, match="unknown instruction task 'dance'"):
        build_prompt("dance", {})
    with pytest.raises(ValueError, match=r"needs the fields \['caption'\]"):
        build_prompt("text_to_motion", {"text": "a person walks"})
    assert build_prompt("motion_to_text", {"motion": "<motion_start><motion_end>"}) == "Describe the motion <motion_start><motion_end>"
    with pytest.raises(ValueError, match=r"fields \['mood'\]"):
        text_to_motion(t5, processor, "a person walks", prompt="Make it {mood}: {caption}")


# ---------------------------------------------------------------------------------------------
# 5. tasks on a real clip


def test_real_clip_span_and_text_to_motion(t5, processor, vq_processor, vq, walk_motion, tokenizer):
    span = processor.motion_to_span(walk_motion)
    codes = vq_processor.encode(vq, walk_motion)
    assert codes.shape == (math.ceil(hf_motion.resample_motion(walk_motion, FPS).num_frames / 4), L)
    np.testing.assert_array_equal(processor.span_to_codes(span), codes)
    decoded = tokenizer.decode(tokenizer("Describe the motion " + span)["input_ids"], skip_special_tokens=True)
    np.testing.assert_array_equal(processor.span_to_codes(decoded), codes)

    motion = text_to_motion(t5, processor, "a person walks forward", seconds=1.5, seed=0)
    assert isinstance(motion, Motion) and motion.fps == FPS and motion.num_frames == 30
    assert motion.skeleton.names == walk_motion.skeleton.names
    assert np.isfinite(motion.rotations).all() and np.isfinite(motion.root_translation).all()
    # The seconds prompt is phrasing 0 of text_to_motion_seconds, with ceil(1.5 * 20 / 4) = 8 steps.
    (same,) = generate_motion_codes(t5, processor, ["Generate a 1.5 second motion: a person walks forward"], [8], seed=0)
    np.testing.assert_allclose(motion.rotations, processor.codes_to_motion(same, num_frames=30).rotations, atol=1e-6)
    assert text_to_motion(t5, processor, "a person walks", steps=3).num_frames == 12
    (plain,) = generate_motion_codes(t5, processor, ["Generate motion: a person walks"], [5], seed=0)
    default = text_to_motion(t5, processor, "a person walks")
    assert default.num_frames == 5 * 4
    np.testing.assert_allclose(default.rotations, processor.codes_to_motion(plain).rotations, atol=1e-6)
    custom = text_to_motion(t5, processor, "a person walks", seconds=1.0, prompt="{caption}, {seconds} s", seed=0)
    (c,) = generate_motion_codes(t5, processor, ["a person walks, 1 s"], [5], seed=0)
    np.testing.assert_allclose(custom.rotations, processor.codes_to_motion(c).rotations, atol=1e-6)

    caption = motion_to_text(t5, processor, walk_motion, max_new_tokens=6)
    assert isinstance(caption, str) and "<motion" not in caption
    assert caption == generate_text(t5, processor, ["Describe the motion " + span], max_new_tokens=6)[0]
    assert caption == motion_to_text(t5, processor, codes, max_new_tokens=6)


def test_prediction_and_inbetweening(t5, processor, walk_motion):
    codes = processor.motion_to_codes(walk_motion)[:6]
    future = continue_motion_codes(t5, processor, codes, 3, seed=1)
    assert future.shape == (3, L) and future.min() >= 0 and future.max() < K
    (same,) = generate_motion_codes(t5, processor, ["Predict how this motion continues: " + processor.codes_to_span(codes)], [3], seed=1)
    np.testing.assert_array_equal(future, same)
    batch = continue_motion_codes(t5, processor, [codes, codes[:2]], [2, 4], greedy=True)
    assert [b.shape for b in batch] == [(2, L), (4, L)]

    middle = inbetween_codes(t5, processor, codes, 2, 5, seed=2)
    assert middle.shape == (3, L)
    masked = processor.masked_span(codes, 2, 5)
    (same,) = generate_motion_codes(t5, processor, ["Fill in the masked part of this motion: " + masked], [3], seed=2)
    np.testing.assert_array_equal(middle, same)
    rows = inbetween_codes(t5, processor, [codes, codes], [1, 0], [2, 6], greedy=True)
    assert [r.shape for r in rows] == [(1, L), (6, L)]


def test_motion_embeddings_argument_is_validated():
    from hf_motion.models.motion_t5.training_motion_t5 import TextMotionModelArguments

    assert TextMotionModelArguments().motion_embeddings == "codebook"
    assert TextMotionModelArguments(motion_embeddings="random").motion_embeddings == "random"
    with pytest.raises(ValueError, match="motion_embeddings must be 'codebook' or 'random', got 'pca'"):
        TextMotionModelArguments(motion_embeddings="pca")
