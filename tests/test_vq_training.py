"""Training pieces and evaluation of the motion VQ-VAE (``hf_motion.models.motion_vq.training_motion_vq``),
its model card, and prediction through codes (``hf_motion.evaluation.code_prediction``).

Expected values are computed here, independently of the code under test: windows are counted from
the documented rule, errors recomputed from the position channel of the features, and the
prediction anchor checked on situations whose answer is known (a decoder that returns the truth).
"""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch

import hf_motion
import hf_motion.evaluation.code_prediction as code_prediction
import hf_motion.models.motion_code_gpt.modeling_motion_code_gpt as code_gpt
from hf_motion.evaluation.code_prediction import CodePredictionResult, encode_clips, predict_with_codes
from hf_motion.models.motion_code_gpt.modeling_motion_code_gpt import MotionCodeGPTForCausalLM, tiny_code_gpt_config
from hf_motion.models.motion_vq import MotionVQConfig, MotionVQProcessor, MotionVQVAE
from hf_motion.models.motion_vq.card_motion_vq import vq_model_card
from hf_motion.models.motion_vq.training_motion_vq import (
    FeatureWindows,
    VQReconstruction,
    evaluate_reconstruction,
    feature_statistics,
    load_motions,
    split_clips,
)

REPO = Path(__file__).resolve().parents[1]
FPS = 20
D4 = 4  # downsample of every model here
K, L = 16, 2
CLIP_IDS = (
    "dataset-1_walk_normal_001",
    "dataset-1_run_masculinity_001",
    "dataset-1_bye_feminine_001",
    "dataset-1_dance-short_normal_001",
    "dataset-1_walk-left_giant_001",
)
FRACTIONS = {"train": 0.8, "validation": 0.1, "test": 0.1}


# ---------------------------------------------------------------------------------------------
# fixtures: real clips at 20 fps, a tiny VQ trained for a few steps


@pytest.fixture(scope="module")
def collection():
    return hf_motion.bandai_namco(subsets="dataset-1", progress=False)


@pytest.fixture(scope="module")
def sample_clips(collection):
    index = {clip.clip_id: clip for clip in collection}
    return [index[name] for name in CLIP_IDS]


@pytest.fixture(scope="module")
def motions(sample_clips):
    return load_motions(sample_clips, FPS, progress=False)


def _config(input_dim, pos, **over) -> MotionVQConfig:
    kw = dict(
        input_dim=input_dim, hidden_size=16, depth=1, downsample=D4, codebook_size=K, codebook_dim=16,
        quantizer="residual", num_quantizers=L, quantize_dropout=0.0, position_channel=[pos.start, pos.stop],
    )  # fmt: skip
    kw.update(over)
    return MotionVQConfig(**kw)


@pytest.fixture(scope="module")
def processor(motions) -> MotionVQProcessor:
    layout = MotionVQProcessor.from_motion(motions[0], fps=FPS).layout
    config = _config(layout.dim, layout.channels["positions"])
    return MotionVQProcessor.from_motion(motions[0], fps=FPS, config=config)


@pytest.fixture(scope="module")
def features(processor, motions) -> list[np.ndarray]:
    return [processor.features(m) for m in motions]


@pytest.fixture(scope="module")
def vq(processor, features) -> MotionVQVAE:
    """Trained for a few optimizer steps (enough for initialised codebooks and non-trivial codes)."""
    torch.manual_seed(0)
    model = MotionVQVAE(_config(processor.layout.dim, processor.layout.channels["positions"]))
    model.set_normalization(*feature_statistics(features))
    ds = FeatureWindows(features, window=16, stride=8, downsample=D4)
    loader = torch.utils.data.DataLoader(ds, batch_size=32, shuffle=True, generator=torch.Generator().manual_seed(0))
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    model.train()
    for _, batch in zip(range(8), loader):
        loss = model(**batch).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model.eval()


def _positions(layout, feats) -> np.ndarray:
    """The position channel, read straight from the feature columns."""
    feats = np.asarray(feats, dtype=np.float64)
    return feats[:, layout.channels["positions"]].reshape(len(feats), -1, 3)


def _pad(f: np.ndarray, d: int = D4) -> np.ndarray:
    T = math.ceil(len(f) / d) * d
    return np.concatenate([f, np.repeat(f[-1:], T - len(f), axis=0)])


# ---------------------------------------------------------------------------------------------
# feature_statistics


def test_feature_statistics_match_numpy_and_constant_channels_get_std_one():
    rng = np.random.default_rng(0)
    a, b = rng.normal(2.0, 3.0, size=(40, 5)), rng.normal(-1.0, 0.5, size=(7, 5))
    a[:, 3] = b[:, 3] = 4.2  # a constant channel
    a[:, 4] = 1.0 + 1e-5 * rng.normal(size=40)  # below min_std: treated as constant
    b[:, 4] = 1.0
    mean, std = feature_statistics([a, b])
    cat = np.concatenate([a, b])
    assert mean.dtype == np.float32 and std.dtype == np.float32 and mean.shape == std.shape == (5,)
    np.testing.assert_allclose(mean, cat.mean(0), rtol=1e-6)
    # Pooled over all frames (a clip of 40 frames weighs more than one of 7), not a mean of clip stds.
    np.testing.assert_allclose(std[:3], cat.std(0)[:3], rtol=1e-6)
    assert not np.allclose(std[:3], (a.std(0)[:3] + b.std(0)[:3]) / 2, rtol=1e-3)
    assert std[3] == 1.0 and std[4] == 1.0
    assert mean[3] == pytest.approx(4.2)
    # min_std is the threshold: a channel of std 0.5 is reset under min_std=0.6, one of std 0.7 is kept.
    c = np.stack([np.tile([-0.5, 0.5], 10), np.tile([-0.7, 0.7], 10)], axis=1)
    _, std2 = feature_statistics([c], min_std=0.6)
    np.testing.assert_allclose(std2, [1.0, 0.7], rtol=1e-6)
    np.testing.assert_allclose(feature_statistics([c])[1], [0.5, 0.7], rtol=1e-6)
    with pytest.raises(ValueError, match="no feature sequence"):
        feature_statistics([])


# ---------------------------------------------------------------------------------------------
# FeatureWindows


def test_feature_windows_count_content_and_masks(features):
    window, stride = 16, 12
    ds = FeatureWindows(features, window, stride, downsample=D4)
    expected = sum((len(f) - window) // stride + 1 for f in features)  # every clip is longer than a window
    assert all(len(f) > window for f in features)
    assert len(ds) == expected
    # The k-th window of a clip starts at k * stride; all frames are real.
    k = 0
    for f in features:
        for s in range(0, len(f) - window + 1, stride):
            item = ds[k]
            assert item["features"].shape == (window, f.shape[1]) and item["attention_mask"].shape == (window,)
            np.testing.assert_array_equal(item["features"].numpy(), f[s : s + window])
            assert item["attention_mask"].sum() == window
            k += 1
    assert k == len(ds)


def test_feature_windows_short_and_empty_clips():
    rng = np.random.default_rng(1)
    short = rng.normal(size=(5, 3)).astype(np.float32)
    long = rng.normal(size=(21, 3)).astype(np.float32)
    ds = FeatureWindows([short, long], window=8, stride=4, downsample=4)
    assert len(ds) == 1 + ((21 - 8) // 4 + 1)
    item = ds[0]
    f, mask = item["features"].numpy(), item["attention_mask"].numpy()
    assert f.shape == (8, 3) and mask.sum() == 5
    np.testing.assert_array_equal(mask, [1, 1, 1, 1, 1, 0, 0, 0])
    np.testing.assert_array_equal(f[:5], short)
    np.testing.assert_array_equal(f[5:], np.repeat(short[-1:], 3, axis=0))  # padding repeats the last frame
    # A clip of exactly one window gives one full window.
    exact = FeatureWindows([long[:8]], window=8, stride=4)
    assert len(exact) == 1 and exact[0]["attention_mask"].sum() == 8
    # Empty clips give no window (a window of zero real frames cannot be padded from a last frame).
    with_empty = FeatureWindows([np.zeros((0, 3), np.float32), short], window=8, stride=4)
    assert len(with_empty) == 1
    np.testing.assert_array_equal(with_empty[0]["features"].numpy()[:5], short)
    with pytest.raises(ValueError, match="every clip is empty"):
        FeatureWindows([np.zeros((0, 3), np.float32)], window=8, stride=4)


@pytest.mark.parametrize("window,stride,match", [(10, 4, "multiple of downsample"), (0, 4, "multiple"), (8, 0, "stride")])
def test_feature_windows_bad_arguments(window, stride, match):
    with pytest.raises(ValueError, match=match):
        FeatureWindows([np.zeros((20, 3), np.float32)], window=window, stride=stride, downsample=4)


# ---------------------------------------------------------------------------------------------
# split_clips, load_motions


def test_split_clips_by_group_on_dataset1(collection):
    assert len(collection) == 174
    split = split_clips(collection, FRACTIONS, seed=0)
    assert list(split) == list(FRACTIONS)
    ids = [c.clip_id for clips in split.values() for c in clips]
    assert sorted(ids) == sorted(c.clip_id for c in collection)  # every clip exactly once
    where: dict[str, set] = {}
    for name, clips in split.items():
        for c in clips:
            where.setdefault(c.group, set()).add(name)
    assert all(len(names) == 1 for names in where.values()), "a group was split across splits"
    assert len(where) == len({c.group for c in collection})
    # Some groups hold several takes, so a group split is not a clip split.
    assert max(Counter(c.group for c in collection).values()) > 1
    for name, frac in FRACTIONS.items():
        assert abs(len(split[name]) / len(collection) - frac) < 0.03, (name, len(split[name]))
    again = split_clips(collection, FRACTIONS, seed=0)
    other = split_clips(collection, FRACTIONS, seed=1)
    assert {k: [c.clip_id for c in v] for k, v in again.items()} == {k: [c.clip_id for c in v] for k, v in split.items()}
    assert {c.clip_id for c in other["test"]} != {c.clip_id for c in split["test"]}
    with pytest.raises(ValueError, match="2 groups cannot fill the 3 splits"):
        two_groups = [c for c in collection if c.group in sorted(where)[:2]]
        split_clips(two_groups, FRACTIONS)


def test_load_motions_resamples_to_the_rate(sample_clips, motions):
    native = [c.load() for c in sample_clips[:2]]
    assert all(abs(m.fps - 30) < 0.01 for m in native)
    for m, n in zip(motions[:2], native):
        assert m.fps == pytest.approx(FPS)
        assert abs(m.num_frames - n.num_frames * FPS / n.fps) <= 1.5
    same = load_motions(sample_clips[:1], native[0].fps, progress=False)[0]
    np.testing.assert_array_equal(same.rotations, native[0].rotations)  # no resampling at its own rate


# ---------------------------------------------------------------------------------------------
# evaluate_reconstruction


def test_evaluate_reconstruction_matches_an_independent_computation(vq, processor, motions, features):
    rec = evaluate_reconstruction(vq, processor, motions)
    assert isinstance(rec, VQReconstruction)
    for name, value in rec.to_dict().items():
        if isinstance(value, float):
            assert math.isfinite(value), name
    assert 0 < rec.code_usage <= 1 and len(rec.usage_per_codebook) == L
    assert rec.tokens_per_second == FPS / D4 * L
    assert rec.num_clips == len(motions) and rec.num_frames == sum(len(f) for f in features)
    # MPJPE of the position channel, frame-weighted over all clips, recomputed here.
    errs, codes_all = [], []
    with torch.no_grad():
        for f in features:
            codes = vq.encode(torch.from_numpy(_pad(f))[None])
            recon = vq.decode(codes)[0, : len(f)].numpy()
            codes_all.append(codes[0].numpy())
            true_pos = processor.layout.positions(f)
            np.testing.assert_allclose(true_pos, _positions(processor.layout, f))
            errs.append(np.linalg.norm(processor.layout.positions(recon) - true_pos, axis=-1).ravel())
    mpjpe = float(np.concatenate(errs).mean() * 1000)
    assert rec.mpjpe_mm == pytest.approx(mpjpe, rel=1e-5)
    assert mpjpe > 1.0  # a few steps of training do not reconstruct: the comparison is not 0 == 0
    codes_all = np.concatenate(codes_all)
    usage = [len(np.unique(codes_all[:, layer])) / K for layer in range(L)]
    assert rec.usage_per_codebook == pytest.approx(usage)
    assert rec.code_usage == pytest.approx(np.mean(usage))
    perps = []
    for layer in range(L):
        p = np.bincount(codes_all[:, layer], minlength=K) / len(codes_all)
        perps.append(np.exp(-np.sum(p[p > 0] * np.log(p[p > 0]))))
    assert rec.perplexity == pytest.approx(np.mean(perps), rel=1e-6)
    point = rec.rate_distortion_point("VQ", "x4", K * L)
    assert point.mpjpe_mm == rec.mpjpe_mm and point.tokens_per_second == rec.tokens_per_second
    with pytest.raises(ValueError, match="no clip"):
        evaluate_reconstruction(vq, processor, [])


def test_evaluate_reconstruction_of_a_perfect_codec_is_zero(processor, motions, monkeypatch):
    """A codec whose decode returns its input: zero position and angle error, one code in use."""
    model = MotionVQVAE(_config(processor.layout.dim, processor.layout.channels["positions"]))
    seen = {}

    def encode(x):
        seen["x"] = x.clone()
        return torch.full((x.shape[0], x.shape[1] // D4, L), 3, dtype=torch.long)

    monkeypatch.setattr(model, "encode", encode)
    monkeypatch.setattr(model, "decode", lambda codes: seen["x"])
    rec = evaluate_reconstruction(model, processor, motions[:3])
    assert rec.mpjpe_mm == 0.0
    assert rec.angle_error_deg < 1e-3
    assert rec.code_usage == pytest.approx(1 / K) and rec.perplexity == pytest.approx(1.0)
    # FK of the true rotations with the layout's mean bone offsets lands near the true positions.
    assert 0 <= rec.mpjpe_fk_mm < 20


# ---------------------------------------------------------------------------------------------
# predict_with_codes


def _windows(features, past_seconds, horizons_ms, stride_seconds, fps=FPS, d=D4):
    """The documented window rule: past of whole code steps, starts on code-step boundaries every stride."""
    n_past = round(past_seconds * fps / d) * d
    offsets = [round(h * fps / 1000) for h in horizons_ms]
    stride = max(d, round(stride_seconds * fps / d) * d)
    wins = [(i, s) for i, f in enumerate(features) for s in range(0, len(f) - n_past - max(offsets) + 1, stride)]
    return n_past, offsets, wins


def _baselines(layout, features, n_past, offsets, wins):
    zero, const = [], []
    for i, s in wins:
        pos = _positions(layout, features[i])
        last, prev = pos[s + n_past - 1], pos[s + n_past - 2]
        zero.append([np.linalg.norm(pos[s + n_past - 1 + k] - last, axis=-1).mean() * 1000 for k in offsets])
        const.append([np.linalg.norm(pos[s + n_past - 1 + k] - (last + k * (last - prev)), axis=-1).mean() * 1000 for k in offsets])
    return np.asarray(zero), np.asarray(const)


PAST, HORIZONS, STRIDE = 1.0, (100, 200, 350), 0.5


def _truth_decoder(vq, features, monkeypatch, position_offset=0.0, freeze_future=False):
    """Patch the GPT and the decoder so that decoding returns the true features of the window
    (shifted by ``position_offset`` metres on the position channel, or the past then its last frame
    held still with ``freeze_future``). The window is found from the past the VQ was asked to encode."""
    seen = {"past": None, "calls": []}
    real_encode = vq.encode

    def encode(x):
        seen["past"] = x[0].cpu().numpy()
        return real_encode(x)

    def generate_codes(gpt, *, steps, past, duration, greedy, **kw):
        seen["calls"].append(dict(steps=steps, past_steps=len(past), duration=duration, greedy=greedy))
        return np.zeros((1, steps, L), dtype=np.int64)

    def decode(vq_, codes):
        past = seen["past"]
        n = len(codes) * D4
        for f in features:
            for s in range(0, len(f) - len(past) + 1, D4):
                if np.array_equal(f[s : s + len(past)], past):
                    out = f[s : s + n].copy()  # beyond the clip's end (never scored): its last frame
                    out = np.concatenate([out, np.repeat(out[-1:], n - len(out), axis=0)])
                    if freeze_future:
                        out[len(past) :] = out[len(past) - 1]
                    out[:, vq.config.position_channel[0] : vq.config.position_channel[1]] += position_offset
                    return out
        raise AssertionError("the encoded past is no window of the clips")

    monkeypatch.setattr(vq, "encode", encode)
    monkeypatch.setattr(code_gpt, "generate_codes", generate_codes)
    monkeypatch.setattr(code_prediction, "decode_codes_to_features", decode)
    return seen


def test_prediction_anchor_with_a_decoder_that_returns_the_truth(vq, processor, motions, features, monkeypatch):
    seen = _truth_decoder(vq, features, monkeypatch, position_offset=0.25)  # a 250 mm codec bias on positions
    res = predict_with_codes(vq, processor, None, motions, past_seconds=PAST, horizons_ms=HORIZONS, stride_seconds=STRIDE)
    n_past, offsets, wins = _windows(features, PAST, HORIZONS, STRIDE)
    assert res.num_windows == len(wins) == len(seen["calls"])
    # The GPT continues the past codes greedily for enough steps to cover the longest horizon.
    assert all(c == dict(steps=math.ceil(max(offsets) / D4), past_steps=n_past // D4, duration=False, greedy=True)
               for c in seen["calls"])  # fmt: skip
    # Anchored on the last past frame, the constant codec bias cancels: the truth scores ~0.
    assert max(res.model_mm) < 1e-3 and max(res.model_std_mm) < 1e-3
    assert min(res.zero_velocity_mm) > 1.0  # the clips move
    assert res.zero_velocity_mm[-1] > res.zero_velocity_mm[0]
    assert res.past_seconds == pytest.approx(n_past / FPS)


def test_prediction_that_holds_still_scores_as_zero_velocity(vq, processor, motions, features, monkeypatch):
    _truth_decoder(vq, features, monkeypatch, position_offset=-0.1, freeze_future=True)
    res = predict_with_codes(vq, processor, None, motions, past_seconds=PAST, horizons_ms=HORIZONS, stride_seconds=STRIDE)
    np.testing.assert_allclose(res.model_mm, res.zero_velocity_mm, rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(res.model_std_mm, res.zero_velocity_std_mm, rtol=1e-4, atol=1e-4)


def test_prediction_baselines_match_an_independent_computation(vq, processor, motions, features):
    gpt = MotionCodeGPTForCausalLM(tiny_code_gpt_config(K, L, max_steps=12, n_layer=1, n_embd=32, n_head=2)).eval()
    res = predict_with_codes(vq, processor, gpt, motions, past_seconds=PAST, horizons_ms=HORIZONS, stride_seconds=STRIDE)
    n_past, offsets, wins = _windows(features, PAST, HORIZONS, STRIDE)
    assert offsets == [2, 4, 7] and res.num_windows == len(wins) > 5
    zero, const = _baselines(processor.layout, features, n_past, offsets, wins)
    np.testing.assert_allclose(res.zero_velocity_mm, zero.mean(0), rtol=1e-5)
    np.testing.assert_allclose(res.zero_velocity_std_mm, zero.std(0), rtol=1e-4)
    np.testing.assert_allclose(res.constant_velocity_mm, const.mean(0), rtol=1e-5)
    assert res.horizons_ms == [float(h) for h in HORIZONS]
    assert len(res.model_mm) == len(res.model_std_mm) == len(HORIZONS)
    assert all(math.isfinite(v) and v >= 0 for v in res.model_mm)
    # Fewer windows than found: a subset of them, reproducibly.
    few = predict_with_codes(vq, processor, gpt, motions, past_seconds=PAST, horizons_ms=HORIZONS, stride_seconds=STRIDE, max_windows=3)
    assert few.num_windows == 3
    assert (
        few.to_dict()
        == predict_with_codes(
            vq, processor, gpt, motions, past_seconds=PAST, horizons_ms=HORIZONS, stride_seconds=STRIDE, max_windows=3
        ).to_dict()
    )
    assert any(np.isclose(few.zero_velocity_mm[0], np.mean(zero[list(c), 0])) for c in _triples(len(wins)))


def _triples(n):
    from itertools import combinations

    return combinations(range(n), 3)


def test_prediction_bad_horizons_and_short_clips_raise(vq, processor, motions):
    gpt = MotionCodeGPTForCausalLM(tiny_code_gpt_config(K, L, max_steps=12, n_layer=1, n_embd=32, n_head=2)).eval()
    with pytest.raises(ValueError, match="shorter than one frame"):
        predict_with_codes(vq, processor, gpt, motions[:1], past_seconds=PAST, horizons_ms=(10, 100))
    with pytest.raises(ValueError, match="no clip is long enough"):
        predict_with_codes(vq, processor, gpt, motions[:2], past_seconds=60.0, horizons_ms=(100,))
    with pytest.raises(ValueError, match="shorter than one code step"):
        predict_with_codes(vq, processor, gpt, motions[:1], past_seconds=0.05, horizons_ms=(100,))


def test_encode_and_decode_helpers(vq, processor, motions, features):
    feats, codes = encode_clips(vq, processor, motions[:2])
    for f, f0, c in zip(feats, features, codes):
        np.testing.assert_array_equal(f, f0)
        assert c.shape == (math.ceil(len(f) / D4), L) and c.min() >= 0 and c.max() < K
        np.testing.assert_array_equal(c, vq.encode(torch.from_numpy(_pad(f))[None])[0].numpy())
        out = code_prediction.decode_codes_to_features(vq, c)
        assert out.shape == (len(c) * D4, processor.layout.dim)
        np.testing.assert_allclose(out, vq.decode(torch.from_numpy(c)[None])[0].numpy())


def test_prediction_markdown_has_a_row_per_method_and_a_column_per_horizon():
    full = CodePredictionResult([100, 400], [1.25, 2.5], [3.0, 4.0], [5.0, 6.0], [0.5, 0.75], [0.1, 0.2], 7, 2.0)
    bare = CodePredictionResult([100, 200, 400], [1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0])
    for res in (full, bare):
        lines = res.to_markdown().splitlines()
        assert len(lines) == 2 + 3
        assert [line.split("|")[1].strip() for line in lines[2:]] == ["GPT over VQ codes", "zero-velocity", "constant-velocity"]
        n = len(res.horizons_ms)
        for line in lines:
            cells = line.strip().strip("|").split("|")
            assert len(cells) == 1 + n, line
            assert all(c.strip() for c in cells), line
        assert [c.strip() for c in lines[0].strip("|").split("|")[1:]] == [f"{h:g} ms" for h in res.horizons_ms]
    md = full.to_markdown()
    assert "1.2 ± 0.5" in md and "2.5 ± 0.8" in md and "3.0 ± 0.1" in md and "| 5.0 | 6.0 |" in md
    assert "| 7.0 | 8.0 | 9.0 |" in bare.to_markdown() and "| 1.0 | 2.0 | 3.0 |" in bare.to_markdown()


# ---------------------------------------------------------------------------------------------
# model card


def _rec(**over) -> VQReconstruction:
    kw = dict(mpjpe_mm=37.26, mpjpe_fk_mm=48.71, angle_error_deg=4.321, code_usage=0.8125, perplexity=11.4,
              tokens_per_second=10.0, num_clips=17, num_frames=2345, encode_realtime=812.0, decode_realtime=433.0)  # fmt: skip
    kw.update(over)
    return VQReconstruction(**kw)


def _summary(sources):
    return {"sources": sources, "clips": {"train": 140, "validation": 17, "test": 17}, "steps": 321,
            "train_seconds": 90.0, "machine": "1 CPU threads"}  # fmt: skip


def test_model_card_for_bandai_sources(processor, tmp_path):
    model = MotionVQVAE(_config(processor.layout.dim, processor.layout.channels["positions"]))
    table = "| method | MPJPE |\n|---|---:|\n| VQ marker-row | 37.260 |"
    card = vq_model_card(model, processor, _rec(), _summary(["bandai-namco:dataset-1"]), table)
    text = str(card)
    assert "| MPJPE, position channel (mm) | 37.3 |" in text
    assert "| MPJPE, FK of decoded rotations (mm) | 48.7 |" in text
    assert "| joint angle error (deg) | 4.32 |" in text and "81.2%" in text
    assert "VQ marker-row" in text and "321 steps" in text and "17 held-out clips (2345 frames)" in text
    assert f"residual, {L} x {K} codes" in text and "x4 temporal downsampling" in text
    assert all(name in text for name in processor.layout.joint_names)
    assert card.data.library_name == "hf_motion" and card.data.license == "cc-by-nc-4.0"
    head = text.split("---")[1]
    assert "library_name: hf_motion" in head and "license: cc-by-nc-4.0" in head
    assert "bandai-namco:dataset-1" in text
    assert str(REPO) not in text and str(Path.home()) not in text
    card.save(tmp_path / "README.md")
    loaded = type(card).load(tmp_path / "README.md")
    assert loaded.data.library_name == "hf_motion" and loaded.data.license == "cc-by-nc-4.0"


def test_model_card_for_a_user_folder(processor, tmp_path):
    model = MotionVQVAE(_config(processor.layout.dim, processor.layout.channels["positions"]))
    folder = tmp_path / "my_capture_sessions"
    card = vq_model_card(model, processor, _rec(mpjpe_mm=12.04), _summary([str(folder)]), "| t |\n|---|")
    text = str(card)
    assert "| MPJPE, position channel (mm) | 12.0 |" in text
    assert card.data.library_name == "hf_motion" and card.data.license is None
    head = text.split("---")[1]
    assert "license" not in head and "cc-by-nc" not in text.lower() and "Bandai" not in text
    assert "User-provided motion" in text and "my_capture_sessions" in text
    assert str(tmp_path) not in text, "the card names an absolute path of this machine"
