"""Generation metrics (FID, diversity, multimodality, accuracy) and the motion evaluator."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
import torch
from scipy.spatial.distance import pdist
from transformers import AutoConfig, AutoModel

import hf_motion
from hf_motion.generation_metrics import (
    FewSamplesWarning,
    GenerationMetrics,
    MotionEvaluator,
    MotionEvaluatorConfig,
    MotionEvaluatorOutput,
    diversity,
    evaluate_generation,
    frechet_distance,
    frechet_distance_from_moments,
    multimodality,
    real_floor,
    train_evaluator,
)


def _diag_closed_form(mu1, s1, mu2, s2):
    return float(np.sum((mu1 - mu2) ** 2) + np.sum(s1 + s2 - 2 * np.sqrt(s1 * s2)))


# --------------------------------------------------------------------------- FID
def test_fid_of_a_set_with_itself_is_zero():
    x = np.random.default_rng(0).normal(size=(300, 6)) @ np.random.default_rng(1).normal(size=(6, 6))
    assert frechet_distance(x, x) == pytest.approx(0.0, abs=1e-8)
    assert frechet_distance(x, x[::-1]) == pytest.approx(0.0, abs=1e-8)


def test_fid_from_moments_matches_diagonal_closed_form():
    rng = np.random.default_rng(2)
    mu1, mu2 = rng.normal(size=5), rng.normal(size=5)
    s1, s2 = rng.uniform(0.1, 3.0, size=5), rng.uniform(0.1, 3.0, size=5)
    got = frechet_distance_from_moments(mu1, np.diag(s1), mu2, np.diag(s2))
    assert got == pytest.approx(_diag_closed_form(mu1, s1, mu2, s2), rel=1e-9)
    assert frechet_distance_from_moments(mu1, np.diag(s1), mu1, np.diag(s1)) == pytest.approx(0.0, abs=1e-12)


def test_fid_of_large_gaussian_samples_matches_closed_form():
    rng = np.random.default_rng(3)
    mu1, mu2 = np.array([0.0, 1.0, -1.0, 0.5]), np.array([1.0, 0.0, -1.0, 2.0])
    s1, s2 = np.array([1.0, 2.0, 0.5, 1.0]), np.array([0.5, 2.0, 2.0, 3.0])
    a = mu1 + rng.normal(size=(20000, 4)) * np.sqrt(s1)
    b = mu2 + rng.normal(size=(20000, 4)) * np.sqrt(s2)
    expected = _diag_closed_form(mu1, s1, mu2, s2)
    assert frechet_distance(a, b) == pytest.approx(expected, rel=0.03)


def test_fid_with_equal_full_covariances_is_the_squared_mean_distance():
    rng = np.random.default_rng(4)
    m = rng.normal(size=(4, 4))
    sigma = m @ m.T + 0.1 * np.eye(4)  # non-diagonal, positive definite
    mu1, mu2 = rng.normal(size=4), rng.normal(size=4)
    assert not np.allclose(sigma, np.diag(np.diag(sigma)))
    got = frechet_distance_from_moments(mu1, sigma, mu2, sigma)
    assert got == pytest.approx(float(np.sum((mu1 - mu2) ** 2)), rel=1e-6)


def test_fid_few_samples_warn_and_too_few_raise():
    rng = np.random.default_rng(5)
    big = rng.normal(size=(50, 4))
    msg = "4 samples for 4 features: the covariance is singular, FID is unreliable"
    with pytest.warns(FewSamplesWarning, match=msg):
        frechet_distance(big, rng.normal(size=(4, 4)))
    assert issubclass(FewSamplesWarning, UserWarning)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # N = D + 1 is enough: no warning
        frechet_distance(big, rng.normal(size=(5, 4)))
    with pytest.raises(ValueError, match="N=50 and M=1"):
        frechet_distance(big, rng.normal(size=(1, 4)))
    with pytest.raises(ValueError, match="D=4.*D=3"):
        frechet_distance(big, rng.normal(size=(50, 3)))
    bad = big.copy()
    bad[7, 2] = np.nan
    with pytest.raises(ValueError, match="sample 7, feature 2"):
        frechet_distance(bad, big)


# --------------------------------------------------------------------------- diversity, multimodality
def test_diversity_identical_scaling_and_exhaustive_small_sets():
    x = np.random.default_rng(6).normal(size=(40, 8))
    assert diversity(np.tile(x[:1], (20, 1))) == 0.0
    assert diversity(3.0 * x, seed=1) == pytest.approx(3.0 * diversity(x, seed=1), rel=1e-12)
    # 5 samples have 10 pairs < 300: every pair is used, so it is the mean pairwise distance.
    assert diversity(x[:5]) == pytest.approx(pdist(x[:5]).mean(), rel=1e-12)
    # 40 samples: a random estimate, close to (but not exactly) the exhaustive mean.
    assert diversity(x, num_pairs=2000) == pytest.approx(pdist(x).mean(), rel=0.05)
    with pytest.raises(ValueError, match="at least 2 samples, got 1"):
        diversity(x[:1])


def test_multimodality_uses_only_same_condition_pairs():
    rng = np.random.default_rng(7)
    a = rng.normal(scale=0.1, size=(15, 3)) + 100.0
    b = rng.normal(scale=0.1, size=(15, 3)) - 100.0
    x = np.concatenate([a, b])
    cond = ["a"] * 15 + ["b"] * 15
    mm = multimodality(x, cond)
    assert mm < 1.0
    assert diversity(x) > 50.0
    # With all pairs used (num_pairs large), it is the mean of the two within-group means.
    exact = multimodality(x, cond, num_pairs=10_000)
    assert exact == pytest.approx((pdist(a).mean() + pdist(b).mean()) / 2, rel=1e-12)
    # A singleton condition is ignored rather than counted as zero spread.
    assert multimodality(np.concatenate([x, [[0.0, 0.0, 0.0]]]), cond + ["c"], num_pairs=10_000) == pytest.approx(exact)
    with pytest.raises(ValueError, match="at least 2 samples"):
        multimodality(x[:3], ["p", "q", "r"])
    with pytest.raises(ValueError, match="2 conditions for 30 samples"):
        multimodality(x, ["a", "b"])


# --------------------------------------------------------------------------- evaluator on synthetic data
def _synthetic(n=24, dim=5, seed=0):
    """Two classes that differ in the sign of a feature offset, one style per parity."""
    rng = np.random.default_rng(seed)
    seqs, content, style = [], [], []
    for i in range(n):
        c = i % 2
        s = rng.normal(size=(int(rng.integers(12, 40)), dim)).astype(np.float32) + (3.0 if c else -3.0) + 10.0
        seqs.append(s)
        content.append("up" if c else "down")
        style.append(["calm", "wild", "odd"][i % 3])
    return seqs, {"content": content, "style": style}


@pytest.fixture(scope="module")
def synthetic_evaluator():
    seqs, labels = _synthetic()
    model = train_evaluator(seqs, labels, hidden_size=16, num_layers=2, steps=30, batch_size=8, crop=10, progress=False)
    return model, seqs, labels


def test_evaluator_is_registered_and_reloads_identically(synthetic_evaluator, tmp_path):
    model, seqs, _ = synthetic_evaluator
    config = AutoConfig.for_model("motion_evaluator", input_dim=3, label_names={"a": ["x"]})
    assert isinstance(config, MotionEvaluatorConfig)
    model.save_pretrained(tmp_path)
    assert (tmp_path / "model.safetensors").is_file()
    saved = json.loads((tmp_path / "config.json").read_text())
    assert saved["model_type"] == "motion_evaluator" and saved["label_names"] == model.config.label_names
    loaded = AutoModel.from_pretrained(tmp_path)
    assert isinstance(loaded, MotionEvaluator)
    assert loaded.config.feature_mean == model.config.feature_mean
    assert loaded.config.feature_std == model.config.feature_std
    np.testing.assert_array_equal(loaded.embed(seqs), model.embed(seqs))
    assert loaded.classify(seqs) == model.classify(seqs)


def test_padding_does_not_change_an_embedding(synthetic_evaluator):
    model, seqs, _ = synthetic_evaluator
    short, long = seqs[0], np.concatenate(seqs[:4])
    assert len(long) > len(short)
    alone = model.embed([short])[0]
    batched = model.embed([short, long])[0]
    np.testing.assert_allclose(batched, alone, rtol=1e-5, atol=1e-5)
    # The mask, not zero padding, is what protects it: garbage in the padded frames changes nothing.
    feats = torch.full((2, len(long), short.shape[1]), 1e3)
    feats[0, : len(short)] = torch.from_numpy(short)
    feats[1] = torch.from_numpy(long)
    mask = torch.zeros(2, len(long), dtype=torch.long)
    mask[0, : len(short)] = 1
    mask[1] = 1
    with torch.no_grad():
        out = model(feats, attention_mask=mask)
    assert isinstance(out, MotionEvaluatorOutput) and set(out.logits) == {"content", "style"}
    np.testing.assert_allclose(out.embeddings[0].numpy(), alone, rtol=1e-5, atol=1e-5)


def test_training_is_deterministic_and_leaves_global_rng_alone():
    seqs, labels = _synthetic(n=8)
    kw = dict(hidden_size=8, steps=3, batch_size=4, crop=6, progress=False)
    state = torch.get_rng_state()
    a, b = train_evaluator(seqs, labels, seed=1, **kw), train_evaluator(seqs, labels, seed=1, **kw)
    c = train_evaluator(seqs, labels, seed=2, **kw)
    assert torch.equal(torch.get_rng_state(), state)
    sa, sb, sc = a.state_dict(), b.state_dict(), c.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert not all(torch.equal(sa[k], sc[k]) for k in sa)
    assert not a.training


def test_evaluate_generation_scores_against_intended_labels(synthetic_evaluator):
    model, seqs, labels = synthetic_evaluator
    assert model.classify(seqs)["content"] == labels["content"]  # the separable head is learnt
    reference = model.embed(_synthetic(seed=1)[0])  # 24 samples > 16 features: no FewSamplesWarning
    res = evaluate_generation(model, seqs, {"content": labels["content"]}, reference_embeddings=reference)
    assert res.accuracy == {"content": 1.0} and res.num_samples == len(seqs)
    assert res.fid == pytest.approx(frechet_distance(reference, model.embed(seqs)))
    assert res.diversity == pytest.approx(diversity(model.embed(seqs)))
    swapped = {"content": ["up" if c == "down" else "down" for c in labels["content"]]}
    assert evaluate_generation(model, seqs, swapped).accuracy == {"content": 0.0}
    # Conditions are the tuple of labels: 6 (content, style) pairs of 4 samples each.
    both = evaluate_generation(model, seqs, labels)
    conds = list(zip(labels["content"], labels["style"]))
    assert both.multimodality == pytest.approx(multimodality(model.embed(seqs), conds))
    assert both.fid is None
    # One sample per condition: multimodality cannot be computed.
    unique = {"content": labels["content"][:2], "style": labels["style"][:2]}
    assert evaluate_generation(model, seqs[:2], unique).multimodality is None
    with pytest.raises(ValueError, match=r"labels\['content'\]\[1\] = 'sideways'"):
        evaluate_generation(model, seqs[:2], {"content": ["up", "sideways"]})


def test_real_floor_splits_in_halves(synthetic_evaluator):
    model, seqs, labels = synthetic_evaluator
    emb = model.embed(seqs)
    with pytest.warns(FewSamplesWarning):  # 12 per half for 16 features
        floor = real_floor(model, seqs, labels, seed=3)
    perm = np.random.default_rng(3).permutation(len(seqs))
    with pytest.warns(FewSamplesWarning):
        expected = frechet_distance(emb[perm[:12]], emb[perm[12:]])
    assert floor.fid == pytest.approx(expected)
    assert floor.accuracy["content"] == 1.0 and floor.num_samples == len(seqs)
    with pytest.raises(ValueError, match="at least 4"):
        real_floor(model, seqs[:3], {k: v[:3] for k, v in labels.items()})


def test_generation_metrics_dict_and_markdown():
    fields = dict(fid=1.23456, diversity=2.0, multimodality=None, accuracy={"content": 0.5, "style": 0.25})
    m = GenerationMetrics(**fields, num_samples=10)
    d = m.to_dict()
    assert d == {**fields, "num_samples": 10}
    json.dumps(d)
    row, header = m.to_markdown_row("T2M-GPT"), m.markdown_header().splitlines()
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells == ["T2M-GPT", "1.235", "2.000", "–", "0.500", "0.250", "10"]
    assert len(header) == 2 and header[0].count("|") == header[1].count("|") == row.count("|")


# --------------------------------------------------------------------------- input errors
def test_config_validation():
    ok = dict(input_dim=4, label_names={"content": ["a", "b"]})
    MotionEvaluatorConfig(**ok)
    for bad, match in [
        (dict(input_dim=0), "input_dim"),
        (dict(hidden_size=-1), "hidden_size"),
        (dict(num_layers=0), "num_layers"),
        (dict(dropout=1.0), "dropout"),
        (dict(label_names={}), "label_names"),
        (dict(label_names={"content": ["a", "a"]}), "distinct"),
        (dict(feature_mean=[0.0] * 4), "together"),
        (dict(feature_mean=[0.0] * 3, feature_std=[1.0] * 3), "input_dim=4"),
        (dict(feature_mean=[0.0] * 4, feature_std=[1.0, 1.0, 0.0, 1.0]), "positive"),
    ]:
        with pytest.raises(ValueError, match=match):
            MotionEvaluatorConfig(**{**ok, **bad})


def test_train_evaluator_errors_name_the_problem():
    seqs, labels = _synthetic(n=4)
    kw = dict(steps=1, hidden_size=4, progress=False)
    with pytest.raises(ValueError, match="empty"):
        train_evaluator([], {"content": []}, **kw)
    with pytest.raises(ValueError, match=r"labels\['content'\] has 3 entries for 4 sequences"):
        train_evaluator(seqs, {"content": labels["content"][:3]}, **kw)
    assert labels["content"][:2] == ["down", "up"]
    with pytest.raises(ValueError, match=r"labels\['content'\]\[1\] = 'up' is not one of"):
        train_evaluator(seqs, {"content": labels["content"]}, label_names={"content": ["down"]}, **kw)
    with pytest.raises(ValueError, match=r"sequences\[2\] has 3 features per frame, expected 5"):
        train_evaluator(seqs[:2] + [seqs[2][:, :3]] + seqs[3:], labels, **kw)
    bad = [s.copy() for s in seqs]
    bad[1][4, 0] = np.inf
    with pytest.raises(ValueError, match=r"sequences\[1\] has a non-finite value \(inf\) at frame 4, feature 0"):
        train_evaluator(bad, labels, **kw)


# --------------------------------------------------------------------------- real motion
CONTENTS = ["bow", "bye", "run", "walk-back"]


def _features(motion: hf_motion.Motion) -> np.ndarray:
    pos = hf_motion.forward_kinematics(motion)  # (T, J, 3) metres
    return (pos - pos[:, :1]).reshape(len(pos), -1).astype(np.float32)


def test_training_on_real_motion_beats_the_majority_class():
    # No root argument: the shared data folder is found automatically, and its absence raises.
    col = hf_motion.bandai_namco(subsets="dataset-1", progress=False)
    picked = [i for c in CONTENTS for i in [j for j, clip in enumerate(col) if clip.labels["content"] == c][:5]]
    motions = [col.load(i) for i in picked]
    assert len(motions) == 20 and all(m.num_joints == 22 for m in motions)
    seqs = [_features(m) for m in motions]
    labels = {"content": [m.labels["content"] for m in motions], "style": [m.labels["style"] for m in motions]}
    kw = dict(hidden_size=32, batch_size=16, crop=60, seed=0, progress=False)
    untrained = train_evaluator(seqs, labels, steps=0, **kw)  # same seed: the trained model's start
    trained = train_evaluator(seqs, labels, steps=100, **kw)

    def loss(model):
        pad = torch.nn.utils.rnn.pad_sequence
        feats = pad([torch.from_numpy(s) for s in seqs], batch_first=True)
        mask = pad([torch.ones(len(s), dtype=torch.long) for s in seqs], batch_first=True)
        names = model.config.label_names
        targets = {k: torch.tensor([names[k].index(v) for v in vals]) for k, vals in labels.items()}
        with torch.no_grad():
            return model(feats, attention_mask=mask, labels=targets).loss.item()

    assert loss(trained) < 0.5 * loss(untrained)
    predicted = trained.classify(seqs)
    res = evaluate_generation(trained, seqs, labels)
    for head, truth in labels.items():
        majority = max(truth.count(v) for v in set(truth)) / len(truth)
        accuracy = np.mean([p == t for p, t in zip(predicted[head], truth)])
        assert accuracy > majority, head
        assert res.accuracy[head] == pytest.approx(accuracy)
