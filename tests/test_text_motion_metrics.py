"""Text-motion evaluator, R-precision / MM-Dist / FID, caption metrics and trajectory errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from transformers import AutoConfig, AutoModel

import hf_motion
from hf_motion.pose_features import PoseFeatureLayout
from hf_motion.text_motion_metrics import (
    PAD_TOKEN,
    UNK_TOKEN,
    TextMotionEvaluator,
    TextMotionEvaluatorConfig,
    TextToMotionMetrics,
    ade_fde,
    build_word_vocab,
    caption_metrics,
    caption_words,
    info_nce_loss,
    linear_interpolation,
    matching_score,
    r_precision,
    rouge_l,
    text_to_motion_metrics,
    train_text_motion_evaluator,
    zero_velocity,
)

from conftest import BANDAI1

# Captions determine the motion: the speed word sets the frequency of a sinusoid, the limb words
# the feature channels it drives. 16 distinct captions, several clips each.
SPEEDS = {"slowly": 0.05, "steadily": 0.1, "quickly": 0.2, "frantically": 0.35}
LIMBS = {"left arm": [0, 1, 2], "right arm": [3, 4, 5], "both legs": [6, 7, 8], "head": [9, 10, 11]}
DIM = 12
SMALL = dict(embed_dim=32, hidden_size=32)


def _synthetic(clips_per_caption: int, seed: int) -> tuple[list[np.ndarray], list[str]]:
    rng = np.random.default_rng(seed)
    feats, caps = [], []
    for speed, freq in SPEEDS.items():
        for limb, channels in LIMBS.items():
            for _ in range(clips_per_caption):
                t = np.arange(int(rng.integers(50, 90)))
                x = rng.normal(scale=0.1, size=(len(t), DIM))
                x[:, channels] += np.sin(2 * np.pi * freq * t + rng.uniform(0, 2 * np.pi))[:, None]
                feats.append(x.astype(np.float32))
                caps.append(f"a person moves the {limb} {speed}")
    return feats, caps


@pytest.fixture(scope="module")
def train_set():
    return _synthetic(4, seed=0)


@pytest.fixture(scope="module")
def test_set():
    return _synthetic(4, seed=1)


@pytest.fixture(scope="module")
def trained(train_set):
    feats, caps = train_set
    return train_text_motion_evaluator(feats, caps, steps=150, batch_size=32, progress=False, **SMALL)


@pytest.fixture(scope="module")
def untrained(train_set):
    feats, caps = train_set
    return train_text_motion_evaluator(feats, caps, steps=0, progress=False, **SMALL)


# --------------------------------------------------------------------------- loss
def test_info_nce_leaves_same_caption_items_out_of_the_negatives():
    # Items 0 and 1 share a caption (and a motion); item 2 is orthogonal to both.
    e = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    tau = 0.5
    same = torch.tensor([[1, 1, 0], [1, 1, 0], [0, 0, 1]], dtype=torch.bool)
    # Masked: rows 0 and 1 see their pair (cos 1) against one negative, item 2 (cos 0); row 2 sees
    # its pair against two negatives (cos 0). The matrix is symmetric, so both directions agree.
    pair_vs_one = -math.log(math.exp(1 / tau) / (math.exp(1 / tau) + 1.0))
    pair_vs_two = -math.log(math.exp(1 / tau) / (math.exp(1 / tau) + 2.0))
    expected_masked = (2 * pair_vs_one + pair_vs_two) / 3
    assert info_nce_loss(e, e, same, tau).item() == pytest.approx(expected_masked, rel=1e-6)
    # Unmasked, rows 0 and 1 also count their twin (cos 1) as a negative.
    twin = -math.log(math.exp(1 / tau) / (2 * math.exp(1 / tau) + 1.0))
    expected_plain = (2 * twin + pair_vs_two) / 3
    assert info_nce_loss(e, e, None, tau).item() == pytest.approx(expected_plain, rel=1e-6)


# --------------------------------------------------------------------------- evaluator
def test_trained_evaluator_retrieves_captions_and_untrained_is_at_chance(trained, untrained, test_set):
    feats, caps = test_set
    good = r_precision(trained, feats, caps, pool_size=16)
    bad = r_precision(untrained, feats, caps, pool_size=16)
    assert good["chance_top1"] == pytest.approx(1 / 16) and good["chance_top3"] == pytest.approx(3 / 16)
    assert good["pool_size"] == 16 and good["num_samples"] == len(feats) == 64
    assert good["top1"] > 0.7, good
    assert good["top1"] <= good["top2"] <= good["top3"]
    assert bad["top1"] < 0.2 and bad["top3"] < 0.4, bad
    # Trained pairs are closer than untrained ones (MM-Dist on unit vectors lies in [0, 2]).
    assert matching_score(trained, feats, caps) < matching_score(untrained, feats, caps) - 0.3


def test_training_is_deterministic_and_keeps_the_global_rng(train_set):
    feats, caps = train_set
    torch.manual_seed(123)
    before = torch.get_rng_state()
    a = train_text_motion_evaluator(feats, caps, steps=5, batch_size=8, progress=False, **SMALL)
    assert torch.equal(torch.get_rng_state(), before)
    b = train_text_motion_evaluator(feats, caps, steps=5, batch_size=8, progress=False, **SMALL)
    c = train_text_motion_evaluator(feats, caps, steps=5, batch_size=8, seed=1, progress=False, **SMALL)
    sa, sb, sc = a.state_dict(), b.state_dict(), c.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert not all(torch.equal(sa[k], sc[k]) for k in sa)


def test_vocab_and_normalisation_live_in_the_config(trained, train_set):
    feats, caps = train_set
    cfg = trained.config
    assert cfg.vocab[:2] == [PAD_TOKEN, UNK_TOKEN]
    assert set(cfg.vocab[2:]) == {w for c in caps for w in caption_words(c)}
    frames = np.concatenate(feats)
    np.testing.assert_allclose(cfg.feature_mean, frames.mean(0), atol=1e-5)
    np.testing.assert_allclose(cfg.feature_std, np.maximum(frames.std(0), 1e-2), rtol=1e-4)


def test_save_and_reload_give_identical_embeddings(trained, test_set, tmp_path):
    feats, caps = test_set
    trained.save_pretrained(tmp_path)
    assert isinstance(AutoConfig.from_pretrained(tmp_path), TextMotionEvaluatorConfig)
    loaded = AutoModel.from_pretrained(tmp_path)
    assert isinstance(loaded, TextMotionEvaluator)
    assert loaded.config.vocab == trained.config.vocab
    np.testing.assert_array_equal(loaded.embed_motions(feats[:10]), trained.embed_motions(feats[:10]))
    np.testing.assert_array_equal(loaded.embed_texts(caps[:10]), trained.embed_texts(caps[:10]))


def test_unknown_words_map_to_unk_and_texts_are_padding_invariant(trained):
    ids, mask = trained.tokenize(["A person moves the HEAD zorbly!", ""])
    vocab = trained.config.vocab
    assert [vocab[i] for i in ids[0].tolist()] == ["a", "person", "moves", "the", "head", UNK_TOKEN]
    assert ids[1].tolist()[0] == vocab.index(UNK_TOKEN) and mask[1].tolist() == [1, 0, 0, 0, 0, 0]
    e = trained.embed_texts([f"a person moves the head {w}" for w in ("zorbly", "quux", "slowly")])
    np.testing.assert_array_equal(e[0], e[1])
    assert not np.allclose(e[0], e[2])
    np.testing.assert_allclose(np.linalg.norm(e, axis=1), 1.0, atol=1e-6)
    # A short caption embeds the same alone as next to a much longer one.
    short = "head slowly"
    alone = trained.embed_texts([short])
    batched = trained.embed_texts(["a person moves the left arm and then the right arm very slowly", short])
    np.testing.assert_allclose(batched[1], alone[0], atol=1e-6)


def test_config_and_training_reject_bad_arguments(train_set):
    feats, caps = train_set
    with pytest.raises(ValueError, match="vocab"):
        TextMotionEvaluatorConfig(input_dim=4, vocab=["walk", "run"])
    with pytest.raises(ValueError, match="temperature"):
        TextMotionEvaluatorConfig(input_dim=4, vocab=build_word_vocab(["walk"]), temperature=0.0)
    with pytest.raises(ValueError, match="input_dim"):
        TextMotionEvaluatorConfig(vocab=build_word_vocab(["walk"]))
    with pytest.raises(ValueError, match="captions has 3 entries for 64 clips"):
        train_text_motion_evaluator(feats, caps[:3], steps=0, progress=False)
    with pytest.raises(ValueError, match=r"captions\[1\]"):
        train_text_motion_evaluator(feats[:2], ["walk", []], steps=0, progress=False)


def test_several_captions_per_clip_are_accepted(train_set):
    feats, caps = train_set
    multi = [[c, c.replace("a person", "someone")] for c in caps]
    ev = train_text_motion_evaluator(feats, multi, steps=2, batch_size=8, progress=False, **SMALL)
    assert "someone" in ev.config.vocab


# --------------------------------------------------------------------------- R-precision with a stub
class _OneHotEvaluator:
    """Embeds caption ``c<k>`` as the k-th unit vector; motion ``i`` as ``motion_vectors[i]``."""

    def __init__(self, motion_vectors, dim):
        self.motion_vectors, self.dim = np.asarray(motion_vectors, dtype=np.float32), dim

    def embed_motions(self, sequences, batch_size=64):
        return self.motion_vectors[[int(s[0, 0]) for s in sequences]]

    def embed_texts(self, texts, batch_size=256):
        return np.eye(self.dim, dtype=np.float32)[[int(t.lower().split("c")[-1].rstrip(".")) for t in texts]]


def _stub_motions(n):
    return [np.full((3, 1), i, dtype=np.float32) for i in range(n)]


def test_identical_captions_are_never_distractors():
    # 8 captions, 5 clips each, a perfect evaluator, pools of all 8 texts. Were a copy of a clip's
    # own caption drawn as a distractor, it would tie and cost half a hit (or all of it).
    captions = [f"c{k}" for k in range(8) for _ in range(5)]
    ev = _OneHotEvaluator(np.eye(8)[[int(c[1:]) for c in captions]], 8)
    out = r_precision(ev, _stub_motions(40), captions, pool_size=8)
    assert out["top1"] == 1.0 and out["num_samples"] == 40
    # Case and punctuation do not make a caption distinct: "C3." is c3 for the text encoder.
    variants = [c.upper() + "." if i % 2 else c for i, c in enumerate(captions)]
    assert r_precision(ev, _stub_motions(40), variants, pool_size=8)["top1"] == 1.0
    with pytest.raises(ValueError, match=r"at least pool_size=9 distinct captions .* got 8"):
        r_precision(ev, _stub_motions(40), variants, pool_size=9)


def test_r_precision_scores_chance_when_every_caption_ties():
    captions = [f"c{k}" for k in range(10)] * 3
    blind = _OneHotEvaluator(np.full((30, 10), 1 / math.sqrt(10)), 10)  # equally close to all texts
    out = r_precision(blind, _stub_motions(30), captions, pool_size=5, top_k=(1, 3))
    assert out["top1"] == pytest.approx(1 / 5) and out["top3"] == pytest.approx(3 / 5)
    assert set(out) == {"top1", "top3", "chance_top1", "chance_top3", "pool_size", "num_samples"}


def test_r_precision_ranks_by_similarity():
    # Motion i sits between caption i (cos 0.8) and caption (i + 1) % 6 (cos 0.6): always second
    # would be a bug, first is right.
    vecs = np.zeros((6, 6))
    for i in range(6):
        vecs[i, i], vecs[i, (i + 1) % 6] = 0.8, 0.6
    ev = _OneHotEvaluator(vecs, 6)
    out = r_precision(ev, _stub_motions(6), [f"c{i}" for i in range(6)], pool_size=6)
    assert out["top1"] == 1.0
    swapped = r_precision(ev, _stub_motions(6), [f"c{(i + 1) % 6}" for i in range(6)], pool_size=6)
    assert swapped["top1"] == 0.0 and swapped["top2"] == 1.0


def test_r_precision_rejects_bad_arguments():
    ev = _OneHotEvaluator(np.eye(4), 4)
    caps = ["c0", "c1", "c2", "c3"]
    with pytest.raises(ValueError, match="top_k"):
        r_precision(ev, _stub_motions(4), caps, pool_size=4, top_k=(1, 5))
    with pytest.raises(ValueError, match="pool_size"):
        r_precision(ev, _stub_motions(4), caps, pool_size=1)
    with pytest.raises(ValueError, match=r"captions\[0\] must be one caption string"):
        r_precision(ev, _stub_motions(4), [["c0"], "c1", "c2", "c3"], pool_size=4)
    with pytest.raises(ValueError, match="3 entries for 4 motions"):
        r_precision(ev, _stub_motions(4), caps[:3], pool_size=3)


# --------------------------------------------------------------------------- bundle
def test_text_to_motion_metrics_bundle(trained, test_set, train_set):
    feats, caps = test_set
    same = text_to_motion_metrics(trained, feats, caps, real=feats, pool_size=16)
    assert isinstance(same, TextToMotionMetrics)
    assert same.fid == pytest.approx(0.0, abs=1e-6)
    rp = r_precision(trained, feats, caps, pool_size=16)
    assert (same.r_precision_top1, same.r_precision_top3) == (rp["top1"], rp["top3"])
    assert same.matching_score == pytest.approx(matching_score(trained, feats, caps))
    assert same.num_samples == 64 and same.pool_size == 16 and same.diversity > 0
    # Noise instead of motion lies far from the real set.
    noise = [np.random.default_rng(i).normal(size=f.shape).astype(np.float32) for i, f in enumerate(feats)]
    far = text_to_motion_metrics(trained, noise, caps, real_embeddings=trained.embed_motions(feats), pool_size=16)
    assert far.fid > 10 * max(same.fid, 1e-3) and far.r_precision_top1 < same.r_precision_top1
    assert text_to_motion_metrics(trained, feats, caps, pool_size=16).fid is None
    d = same.to_dict()
    assert set(d) >= {"r_precision_top1", "fid", "diversity", "matching_score", "num_samples"}
    header, row = same.markdown_header().splitlines(), same.to_markdown_row("real")
    assert header[0].count("|") == header[1].count("|") == row.count("|")
    assert row.startswith("| real |") and f"{same.r_precision_top1:.3f}" in row
    with pytest.raises(ValueError, match="not both"):
        text_to_motion_metrics(trained, feats, caps, real=feats, real_embeddings=np.zeros((3, 32)), pool_size=16)


# --------------------------------------------------------------------------- caption metrics
def test_rouge_l_matches_a_hand_count():
    # pred "a man walks forward" (4 words), ref "a person walks in an elderly way" (7 words):
    # LCS = "a walks" = 2, P = 2/4, R = 2/7, F = 2PR / (P + R) = (2/7) / (11/14) = 4/11.
    assert rouge_l("A man walks forward.", ["a person walks in an elderly way"]) == pytest.approx(4 / 11)
    # "the person walks slowly forward" vs "a person slowly walks forward": LCS = 3 of 5 words each.
    assert rouge_l("the person walks slowly forward", ["a person slowly walks forward"]) == pytest.approx(0.6)
    # Best over references.
    assert rouge_l("a man walks forward", ["a person walks in an elderly way", "a man walks"]) == pytest.approx(6 / 7)
    assert rouge_l("jumps", ["a person walks"]) == 0.0 and rouge_l("", ["a person walks"]) == 0.0


def test_caption_metrics_bleu_and_rouge():
    refs = [["a person walks in an elderly way", "an old person walks"], ["a person runs happily"]]
    same = caption_metrics([r[0] for r in refs], refs)
    assert same["bleu4"] == pytest.approx(100.0) and same["rouge_l"] == pytest.approx(100.0)
    assert same["num_samples"] == 2
    other = caption_metrics(["zebra quantum", "violin"], refs)
    assert other["bleu4"] == pytest.approx(0.0, abs=1e-9) and other["rouge_l"] == 0.0
    mixed = caption_metrics(["a man walks forward", "a person runs happily"], refs)
    assert mixed["rouge_l"] == pytest.approx(100 * (4 / 11 + 1.0) / 2)
    assert 0 < mixed["bleu4"] < 100
    with pytest.raises(ValueError, match=r"references\[1\] must be a non-empty list"):
        caption_metrics(["a", "b"], [["a"], "b"])
    with pytest.raises(ValueError, match="1 entries for 2 predictions"):
        caption_metrics(["a", "b"], [["a"]])


# --------------------------------------------------------------------------- trajectories
def test_ade_fde_of_a_constant_3_4_5_offset_is_5():
    true = np.random.default_rng(0).normal(size=(7, 4, 3))
    out = ade_fde(true + np.array([3.0, 4.0, 0.0]), true)
    assert out["ade"] == pytest.approx(5.0) and out["fde"] == pytest.approx(5.0) and out["mid"] == pytest.approx(5.0)
    assert out["num_sequences"] == 1


def test_ade_fde_of_a_growing_error():
    # Frame t is off by t along x for both joints: errors 0, 1, 2, 3 -> ADE 1.5, FDE 3, mid (t=2) 2.
    true = np.zeros((4, 2, 3))
    pred = true.copy()
    pred[:, :, 0] = np.arange(4)[:, None]
    out = ade_fde(pred, true)
    assert (out["ade"], out["fde"], out["mid"]) == pytest.approx((1.5, 3.0, 2.0))
    # A list averages per-sequence values: second sequence is off by 5 everywhere.
    both = ade_fde([pred, np.full((2, 1, 3), 5.0)], [true, np.full((2, 1, 3), 5.0) + [0, 3, 4]])
    assert (both["ade"], both["fde"], both["mid"]) == pytest.approx(((1.5 + 5) / 2, (3 + 5) / 2, (2 + 5) / 2))
    assert both["num_sequences"] == 2


def test_ade_fde_names_mismatched_shapes():
    with pytest.raises(ValueError, match=r"pred has shape \(4, 2, 3\) but true has shape \(5, 2, 3\)"):
        ade_fde(np.zeros((4, 2, 3)), np.zeros((5, 2, 3)))
    with pytest.raises(ValueError, match=r"pred\[1\] has shape \(2, 1, 3\) but true\[1\] has shape \(2, 2, 3\)"):
        ade_fde([np.zeros((3, 1, 3)), np.zeros((2, 1, 3))], [np.zeros((3, 1, 3)), np.zeros((2, 2, 3))])
    with pytest.raises(ValueError, match="pred has 1 sequences but true has 2"):
        ade_fde([np.zeros((3, 1, 3))], [np.zeros((3, 1, 3))] * 2)
    with pytest.raises(ValueError, match=r"\(T, J, 3\)"):
        ade_fde(np.zeros((4, 3)), np.zeros((4, 3)))


def test_zero_velocity_and_linear_interpolation_are_exact():
    last = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    zv = zero_velocity(last, 3)
    assert zv.shape == (3, 2, 3) and (zv == last).all()
    observed = np.stack([np.zeros((2, 3)), last])
    np.testing.assert_array_equal(zero_velocity(observed, 2), np.stack([last, last]))
    before, after = np.array([[0.0, 0.0, 0.0]]), np.array([[3.0, 6.0, 9.0]])
    np.testing.assert_allclose(linear_interpolation(before, after, 2), [[[1.0, 2.0, 3.0]], [[2.0, 4.0, 6.0]]])
    # From sequences: the last frame before the gap and the first after it.
    seq_before = np.stack([np.full((1, 3), 7.0), before])
    seq_after = np.stack([after, np.full((1, 3), -7.0)])
    np.testing.assert_allclose(linear_interpolation(seq_before, seq_after, 1), [[[1.5, 3.0, 4.5]]])
    assert linear_interpolation(before, after, 0).shape == (0, 1, 3)
    with pytest.raises(ValueError, match=r"before has pose shape \(1, 3\) but after has \(2, 3\)"):
        linear_interpolation(before, last, 2)
    with pytest.raises(ValueError, match="num_frames"):
        zero_velocity(last, -1)


# --------------------------------------------------------------------------- real clips
def test_embed_motions_on_real_clips_is_padding_invariant():
    names = ("dataset-1_walk_normal_001.bvh", "dataset-1_bye_feminine_001.bvh")
    motions = [hf_motion.load_bvh(BANDAI1 / n) for n in names]
    layout = PoseFeatureLayout.from_motion(motions[0])
    feats = [layout.encode(m) for m in motions]
    assert feats[0].shape[1] == feats[1].shape[1] and len(feats[0]) != len(feats[1])
    short, long_ = sorted(feats, key=len)
    ev = train_text_motion_evaluator(
        feats,
        ["a person walks in a normal way", "a person waves in a feminine way"],
        steps=3,
        batch_size=2,
        crop=40,
        progress=False,
    )
    assert ev.config.input_dim == feats[0].shape[1] and ev.config.embed_dim == 128
    alone = ev.embed_motions([short])
    batch = ev.embed_motions([long_, short])
    assert batch.shape == (2, 128) and np.isfinite(batch).all()
    np.testing.assert_allclose(batch[1], alone[0], atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(batch, axis=1), 1.0, atol=1e-5)
    assert not np.allclose(batch[0], batch[1], atol=1e-3)
    with pytest.raises(ValueError, match=r"sequences\[0\] has 5 features per frame"):
        ev.embed_motions([np.zeros((10, 5), dtype=np.float32)])
