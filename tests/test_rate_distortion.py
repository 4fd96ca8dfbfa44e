"""Rate-distortion points of the M5 codes on real Bandai-Namco clips, and the table / plot utilities."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

import hf_motion
from hf_motion import MotionTokenizer
from hf_motion.rate_distortion import (
    RateDistortionPoint,
    mpjpe_mm,
    plot_rate_distortion,
    rate_distortion_table,
    root_relative_errors,
    uniform_code_points,
)

FPS = 10
FRAMES = 20  # 2 s per clip at 10 fps: enough motion, fast on one thread


@pytest.fixture(scope="module")
def raw_clips():
    """Three real dataset-1 clips at 10 fps, cropped, with all 22 joints (static joint_Root first)."""
    c = hf_motion.bandai_namco(subsets="dataset-1", progress=False)
    return [hf_motion.resample_motion(c.load(i), FPS).slice(0, FRAMES) for i in (0, 40, 120)]


@pytest.fixture(scope="module")
def clips(raw_clips):
    """The same clips on the moving joints (Hips is the root): what a caller measures."""
    return [m.select_joints("bandai-full") for m in raw_clips]


@pytest.fixture(scope="module")
def points(clips):
    return uniform_code_points(clips, bins=(16, 32, 64, 128, 256), coarse_fine=(16, 64), predictive=True, progress=False)


def _by(points, method):
    return [p for p in points if p.method == method]


def _seconds(motions):
    return sum(m.num_frames / m.fps for m in motions)


def test_more_bins_give_lower_error_at_the_same_token_rate(points, clips):
    uni = _by(points, "M5 uniform")
    assert [p.setting for p in uni] == [f"bins={n}" for n in (16, 32, 64, 128, 256)]
    errors = [p.mpjpe_mm for p in uni]
    angles = [p.angle_error_deg for p in uni]
    assert all(a > b for a, b in zip(errors, errors[1:])), errors
    assert all(a > b for a, b in zip(angles, angles[1:])), angles
    # Uniform quantization: the error follows the bin width, about halving per doubling of bins.
    ratios = np.array(errors[:-1]) / np.array(errors[1:])
    assert np.all((ratios > 1.5) & (ratios < 2.6)), ratios
    # One character per value whatever the bin count: the rate does not grow with bins, the
    # vocabulary does.
    rates = [p.tokens_per_second for p in uni]
    assert max(rates) == pytest.approx(min(rates), rel=1e-12)
    vocab = [p.vocab_size for p in uni]
    assert all(a < b for a, b in zip(vocab, vocab[1:]))
    assert all(p.num_frames == sum(m.num_frames for m in clips) for p in points)


def _independent_tokenizer(p, names):
    if p.method == "M5 coarse/fine":  # "16x16=256 levels"
        return MotionTokenizer.coarse_fine(int(p.setting.split("x")[0]), joint_names=names)
    n = int(p.setting.split(",")[0].removeprefix("bins="))  # "bins=64[, keyframes: ...]"
    if p.method == "M5 uniform":
        return MotionTokenizer.m5(n, joint_names=names)
    return MotionTokenizer.m5_delta(n, joint_names=names)


def test_rate_is_the_emitted_tokens_over_the_duration(points, clips):
    names = clips[0].skeleton.names
    for p in points:
        tok = _independent_tokenizer(p, names)
        # Counted through the text path (the backend tokenizer), not the array encoder.
        n = sum(len(tok(tok.motion_to_text(angles=m.rotations, task=">"))["input_ids"]) for m in clips)
        assert p.tokens_per_second == pytest.approx(n / _seconds(clips), rel=1e-12), p
        assert p.vocab_size == len(tok)
    # Two characters per value cost more tokens than one.
    assert _by(points, "M5 coarse/fine")[0].tokens_per_second > _by(points, "M5 uniform")[0].tokens_per_second


def test_mpjpe_matches_an_independent_quantized_oracle(points, clips):
    p64 = next(p for p in points if p.method == "M5 uniform" and p.setting == "bins=64")
    q = hf_motion.UniformQuantizer.default_angles(64)
    pos_err, ang_err = [], []
    for m in clips:
        dec = m.copy()
        dec.rotations = q.round_trip(m.rotations)
        a, b = hf_motion.forward_kinematics(dec), hf_motion.forward_kinematics(m)
        pos_err.append(np.linalg.norm((a - a[:, :1]) - (b - b[:, :1]), axis=-1).ravel())
        rel = Rotation.from_rotvec(m.rotations.reshape(-1, 3)).inv() * Rotation.from_rotvec(dec.rotations.reshape(-1, 3))
        ang_err.append(rel.magnitude())
    assert p64.mpjpe_mm == pytest.approx(np.concatenate(pos_err).mean() * 1000, rel=1e-9)
    assert p64.angle_error_deg == pytest.approx(np.degrees(np.concatenate(ang_err).mean()), rel=1e-9)


def test_lossless_codings_of_the_same_levels_give_the_same_error(points):
    uni = {p.setting: p for p in _by(points, "M5 uniform")}
    pred = _by(points, "M5 predictive")
    assert len(pred) == 5
    for p in pred:  # closed-loop delta coding with max_step = bins - 1 decodes to the M5 levels
        u = uni[p.setting.split(",")[0]]
        assert p.mpjpe_mm == pytest.approx(u.mpjpe_mm, rel=1e-12)
        assert p.tokens_per_second == pytest.approx(u.tokens_per_second, rel=1e-12)
    cf = {p.setting: p for p in _by(points, "M5 coarse/fine")}
    assert cf["16x16=256 levels"].mpjpe_mm == pytest.approx(uni["bins=256"].mpjpe_mm, rel=1e-12)
    assert cf["64x64=4096 levels"].mpjpe_mm < uni["bins=256"].mpjpe_mm / 4


def test_error_helper_on_synthetic_positions():
    rng = np.random.default_rng(0)
    T, J = 7, 5
    x = rng.normal(size=(T, J, 3))
    assert mpjpe_mm(x, x) == 0.0
    assert mpjpe_mm(x + np.array([3.0, -1.0, 2.0]), x) == pytest.approx(0.0, abs=1e-9)  # global shift is free
    shift = np.array([0.03, 0.0, 0.04])  # 5 cm
    moved = x.copy()
    moved[:, 2] += shift
    err = root_relative_errors(moved, x)
    assert err.shape == (T, J)
    np.testing.assert_allclose(err[:, 2], 0.05)
    np.testing.assert_allclose(np.delete(err, 2, axis=1), 0.0, atol=1e-12)
    assert mpjpe_mm(moved, x) == pytest.approx(50.0 / J)
    # Moving the root moves every other joint relative to it.
    moved_root = x.copy()
    moved_root[:, 0] += shift
    assert mpjpe_mm(moved_root, x) == pytest.approx(50.0 * (J - 1) / J)
    with pytest.raises(ValueError, match="shape"):
        mpjpe_mm(x, x[:, :3])


def test_table_and_plot(points, tmp_path):
    vq = [
        RateDistortionPoint("VQ k=512", "codebook=512", 40.0, 30.0, None, 515, 60),
        RateDistortionPoint("VQ k=512", "codebook=512, x2", 20.0, 45.0, 2.5, 515, 60),
    ]
    allp = points + vq
    table = rate_distortion_table(allp)
    lines = table.strip().splitlines()
    assert lines[0].startswith("| method |") and set(lines[1]) <= set("|-:")
    rows = lines[2:]
    assert len(rows) == len(allp)
    cells = [[c.strip() for c in r.strip("|").split("|")] for r in rows]
    keys = [(c[0], float(c[2])) for c in cells]
    assert [k[0] for k in keys] == sorted(k[0] for k in keys)
    for a, b in zip(keys, keys[1:]):
        if a[0] == b[0]:
            assert a[1] <= b[1]
    assert {(c[0], c[1]) for c in cells} == {(p.method, p.setting) for p in allp}
    assert cells[-1][4] == "-"  # no angle error for that VQ point

    out = tmp_path / "plots" / "rd.png"
    got = plot_rate_distortion(allp, out, title="M5 codes")
    assert got == out and out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    first = out.stat().st_size
    plot_rate_distortion(points, out)  # overwrites in place
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size != first
    assert sorted(p.name for p in out.parent.iterdir()) == ["rd.png"]  # no temporary file left

    d = vq[1].to_dict()
    assert json.loads(json.dumps(d)) == d and d["angle_error_deg"] == 2.5 and d["method"] == "VQ k=512"


def test_clear_errors(clips, raw_clips):
    with pytest.raises(ValueError, match="empty"):
        uniform_code_points([], progress=False)
    core = clips[1].select_joints("bandai-core")
    with pytest.raises(ValueError, match=r"motions\[2\].*different skeleton"):
        uniform_code_points([clips[0], clips[1], core], progress=False)
    with pytest.raises(ValueError, match=r"motions\[1\]"):
        uniform_code_points([clips[0], raw_clips[1]], progress=False)
    for bad in (0, -16, (16, 0), (32, 1)):
        with pytest.raises(ValueError, match="bins"):
            uniform_code_points(clips, bins=bad, coarse_fine=False, predictive=False, progress=False)
    with pytest.raises(ValueError, match="coarse_fine"):
        uniform_code_points(clips, bins=(16,), coarse_fine=(0,), progress=False)
    with pytest.raises(ValueError, match="joint_names"):
        uniform_code_points(clips, joint_names=raw_clips[0].skeleton.names, progress=False)
    with pytest.raises(TypeError, match="single Motion"):
        uniform_code_points(clips[0], progress=False)
    with pytest.raises(ValueError, match="at least one"):
        rate_distortion_table([])
    with pytest.raises(ValueError, match="at least one"):
        plot_rate_distortion([], "unused.png")


def test_static_root_joint_is_flagged(raw_clips, clips):
    # Raw Bandai BVH: joint 0 (joint_Root) sits at the world origin and never turns.
    assert not np.any(raw_clips[0].rotations[:, 0])
    with pytest.warns(UserWarning, match="joint_Root"):
        raw = uniform_code_points(raw_clips, bins=(64,), coarse_fine=False, predictive=False, progress=False)
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        moving = uniform_code_points(clips, bins=(64,), coarse_fine=False, predictive=False, progress=False)
    assert not [w for w in rec if "never moves" in str(w.message)]
    # The static joint's zero rotation decodes half a bin off and swings the body about the origin.
    assert raw[0].mpjpe_mm > moving[0].mpjpe_mm
