"""The learned motion tokenizer: pose features (``hf_motion.pose_features``) and the VQ-VAE, its
config, processor and code vocabulary (``hf_motion.models.motion_vq``).

Real Bandai-Namco clips are used for the feature and processor round trips and for training;
synthetic arrays only for unit and property checks.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy.spatial.transform import Rotation

import hf_motion
from hf_motion import Motion, MotionError, Skeleton
from hf_motion.kinematics import forward_kinematics
from hf_motion.models.motion_vq import MotionVQConfig, MotionVQProcessor, MotionVQVAE, code_vocabulary
from hf_motion.pose_features import PoseFeatureLayout, six_d, six_d_to_matrix, trajectory_joint

FPS = 20
CLIP_IDS = (
    "dataset-1_walk_normal_001",
    "dataset-1_walk-left_giant_001",  # turns: the heading changes along the clip
    "dataset-1_run_masculinity_001",
    "dataset-1_bye_feminine_001",
    "dataset-1_dance-short_normal_001",
)
Y = np.array([0.0, 1.0, 0.0])


@pytest.fixture(scope="module")
def clips() -> dict[str, Motion]:
    """The sample clips as loaded from the collection (30 fps; treat as read-only)."""
    collection = hf_motion.bandai_namco(subsets="dataset-1", progress=False)
    index = {clip.clip_id: i for i, clip in enumerate(collection)}
    return {name: collection.load(index[name]) for name in CLIP_IDS}


@pytest.fixture(scope="module")
def clips20(clips) -> dict[str, Motion]:
    return {name: hf_motion.resample_motion(m, FPS) for name, m in clips.items()}


@pytest.fixture(scope="module")
def layout(clips20) -> PoseFeatureLayout:
    return PoseFeatureLayout.from_motion(clips20[CLIP_IDS[0]])


def _tiny_config(input_dim: int, **overrides) -> MotionVQConfig:
    kwargs = dict(
        input_dim=input_dim,
        hidden_size=16,
        depth=1,
        downsample=4,
        codebook_size=8,
        codebook_dim=16,
        quantizer="vq",
        num_quantizers=1,
        kmeans_init=False,
    )
    kwargs.update(overrides)
    return MotionVQConfig(**kwargs)


# ---------------------------------------------------------------------------------------------
# helpers computed independently of hf_motion.pose_features


def _place(motion: Motion, yaw: float, shift) -> Motion:
    """``motion`` turned by ``yaw`` about +y and shifted horizontally, through its ``joint_Root``
    (an ancestor of the trajectory joint, so the features must fold it in)."""
    out = motion.copy()
    turned = Rotation.from_rotvec(yaw * Y) * Rotation.from_rotvec(out.rotations[:, 0])
    out.rotations[:, 0] = turned.as_rotvec()
    out.root_translation = out.root_translation + np.asarray(shift, dtype=np.float64)
    return out


def _hips_heading(motion: Motion) -> np.ndarray:
    """Per-frame yaw of Hips' forward (+z) axis about +y: ``atan2(f_x, f_z)``.

    Hips' global rotation is composed here with scipy (joint_Root is its only ancestor)."""
    assert motion.skeleton.names[:2] == ["joint_Root", "Hips"]
    glob = Rotation.from_rotvec(motion.rotations[:, 0]) * Rotation.from_rotvec(motion.rotations[:, 1])
    fwd = glob.apply([0.0, 0.0, 1.0])
    return np.arctan2(fwd[:, 0], fwd[:, 2])


def _yaw(angle, vectors: np.ndarray) -> np.ndarray:
    """Rotate ``(T, ..., 3)`` vectors about +y by a per-frame (or scalar) angle."""
    angle = np.broadcast_to(np.asarray(angle, dtype=np.float64), (vectors.shape[0],))
    R = Rotation.from_rotvec(angle[:, None] * Y).as_matrix()
    return np.einsum("tij,t...j->t...i", R, vectors)


# ---------------------------------------------------------------------------------------------
# 1. pose features


@pytest.mark.parametrize("name", ["dataset-1_walk_normal_001", "dataset-1_walk-left_giant_001", "dataset-1_dance-short_normal_001"])
def test_pose_features_round_trip_on_real_clips(clips20, layout, name):
    base = clips20[name]
    moved = _place(base, yaw=0.9, shift=[1.5, 0.0, -2.0])
    feats = layout.encode(moved)
    T = base.num_frames
    assert feats.shape == (T, layout.dim) and feats.dtype == np.float32
    # Features do not depend on where the clip is or which way it faces.
    np.testing.assert_allclose(feats, layout.encode(base), atol=2e-5)

    P = forward_kinematics(moved)
    yaw = _hips_heading(moved)
    assert np.ptp(P[:, 1, [0, 2]], axis=0).max() > 0.5, "the clip should travel"

    # Position channel: body joints relative to Hips, in Hips' heading frame.
    body = layout.body_joints
    assert body == list(range(2, 22))
    expected_rel = _yaw(-yaw, P[:, body] - P[:, 1:2])
    np.testing.assert_allclose(layout.positions(feats), expected_rel, atol=1e-5)

    # Decoding from the original start position and heading reproduces the world motion.
    decoded = layout.decode(feats, FPS, start_position=P[0, 1], start_yaw=yaw[0])
    assert decoded.num_frames == T and decoded.fps == FPS and decoded.skeleton.names == base.skeleton.names
    Pd = forward_kinematics(decoded)
    np.testing.assert_allclose(Pd[:, 1], P[:, 1], atol=1e-4)  # the trajectory joint's path
    # Every joint below the trajectory joint (its ancestor joint_Root is folded into it).
    np.testing.assert_allclose(Pd[:, 1:], P[:, 1:], atol=1e-4)
    # encode -> decode -> encode gives the features back.
    np.testing.assert_allclose(layout.encode(decoded), feats, atol=2e-5)

    # Default placement: Hips starts at the origin (at its height) facing yaw 0; undoing the start
    # heading gives back the original body pose around Hips and the shape of the path.
    d0 = forward_kinematics(layout.decode(feats, FPS))
    np.testing.assert_allclose(d0[0, 1], [0.0, P[0, 1, 1], 0.0], atol=1e-6)
    np.testing.assert_allclose(_yaw(yaw[0], d0[:, 1:] - d0[:, 1:2]), P[:, 1:] - P[:, 1:2], atol=1e-4)
    np.testing.assert_allclose(_yaw(yaw[0], d0[:, 1] - d0[:1, 1]), P[:, 1] - P[:1, 1], atol=1e-4)


def test_pose_features_z_up_skeleton_with_an_ancestor_chain():
    """A synthetic z-up skeleton whose trajectory joint has two ancestors (both moving): decoding
    recovers the world motion up to one rotation about the up axis and a horizontal shift."""
    rng = np.random.default_rng(0)
    parents = [-1, 0, 1, 2, 2, 3]
    assert trajectory_joint(parents) == 2
    offsets = rng.normal(scale=0.3, size=(6, 3))
    skel = Skeleton(["a", "b", "pelvis", "c", "d", "e"], parents, offsets, up_axis="z")
    T = 40
    t = np.linspace(0, 2 * np.pi, T)[:, None, None]
    rot = 0.6 * np.sin(t * rng.uniform(0.5, 2.0, size=(1, 6, 3)) + rng.uniform(0, 6, size=(1, 6, 3)))
    root = np.cumsum(rng.normal(scale=0.05, size=(T, 3)), axis=0)
    motion = Motion(rot, root, skel, 30.0)
    lay = PoseFeatureLayout.from_motion(motion)
    assert lay.root == 2 and lay.body_joints == [3, 4, 5] and lay.dim == 10 + 9 * 3
    feats = lay.encode(motion)
    decoded = lay.decode(feats, 30.0)
    P, Pd = forward_kinematics(motion), forward_kinematics(decoded)
    # The ancestors (joints 0, 1) are folded into the trajectory joint; compare it and its subtree.
    P, Pd = P[:, 2:], Pd[:, 2:]
    # Heights (z) come back as they were, without any fitting.
    np.testing.assert_allclose(Pd[..., 2], P[..., 2], atol=1e-5)
    # Horizontal plane: best rigid 2-D fit (Kabsch) over all these joints and frames.
    a = Pd[..., :2].reshape(-1, 2)
    b = P[..., :2].reshape(-1, 2)
    a0, b0 = a - a.mean(0), b - b.mean(0)
    u, _, vt = np.linalg.svd(a0.T @ b0)
    R = (u @ vt).T
    assert np.linalg.det(R) > 0
    np.testing.assert_allclose(a0 @ R.T, b0, atol=1e-5)
    np.testing.assert_allclose(lay.encode(decoded), feats, atol=2e-5)


def test_six_d_round_trip_and_any_six_numbers_give_a_rotation():
    R = Rotation.random(200, random_state=0).as_matrix()
    sd = six_d(R)
    assert sd.shape == (200, 6)
    np.testing.assert_allclose(six_d_to_matrix(sd), R, atol=1e-12)

    x = np.random.default_rng(1).normal(scale=5.0, size=(500, 6))
    M = six_d_to_matrix(x)
    assert M.shape == (500, 3, 3)
    np.testing.assert_allclose(np.linalg.det(M), 1.0, atol=1e-10)
    np.testing.assert_allclose(np.swapaxes(M, -1, -2) @ M, np.broadcast_to(np.eye(3), M.shape), atol=1e-10)
    # Gram-Schmidt keeps the first column's direction.
    np.testing.assert_allclose(M[..., :, 0], x[:, :3] / np.linalg.norm(x[:, :3], axis=-1, keepdims=True), atol=1e-12)


def test_trajectory_joint(clips):
    walk = clips[CLIP_IDS[0]]
    j = trajectory_joint(walk.skeleton.parents)
    assert j == 1 and walk.skeleton.names[j] == "Hips"
    assert PoseFeatureLayout.from_motion(walk).root == 1
    assert trajectory_joint([-1, 0, 0, 1, 2]) == 0  # branching root
    assert trajectory_joint([-1, 0, 1, 1, 2]) == 1
    assert trajectory_joint([-1, 0, 1, 2]) == 0  # a plain chain


def _with_skeleton(motion: Motion, **changes) -> Motion:
    sk = motion.skeleton
    fields = dict(names=list(sk.names), parents=sk.parents.copy(), offsets=sk.offsets.copy(), up_axis=sk.up_axis)
    fields.update(changes)
    return Motion(motion.rotations, motion.root_translation, Skeleton(**fields), motion.fps, dict(motion.labels), motion.local_translations)


def test_skeleton_mismatch_names_what_differs(clips20, layout):
    walk = clips20[CLIP_IDS[0]]
    names = walk.skeleton.names

    dropped = walk.select_joints([n for n in names if n != "Toes_R"])
    with pytest.raises(MotionError, match="Toes_R"):
        layout.encode(dropped)

    renamed = list(names)
    renamed[5] = "Head_renamed"
    with pytest.raises(MotionError) as exc:
        layout.check_motion(_with_skeleton(walk, names=renamed))
    assert "'Head'" in str(exc.value) and "Head_renamed" in str(exc.value)

    with pytest.raises(MotionError) as exc:
        layout.encode(_with_skeleton(walk, up_axis="z"))
    assert "up axis" in str(exc.value) and "'z'" in str(exc.value) and "'y'" in str(exc.value)

    reparented = walk.skeleton.parents.copy()
    reparented[21] = 16  # Toes_R under Foot_L
    with pytest.raises(MotionError, match="Toes_R"):
        layout.check_motion(_with_skeleton(walk, parents=reparented))

    # The processor enforces the same contract.
    proc = MotionVQProcessor(layout, fps=FPS)
    with pytest.raises(MotionError, match="Toes_R"):
        proc(dropped)
    layout.check_motion(walk)  # the real skeleton passes


# ---------------------------------------------------------------------------------------------
# 2. shapes and code ranges


@pytest.mark.parametrize("quantizer,L", [("vq", 1), ("residual", 2), ("product", 2)])
@pytest.mark.parametrize("downsample", [4, 2])
def test_vq_shapes_and_code_ranges(quantizer, L, downsample):
    torch.manual_seed(0)
    D, K, T = 12, 8, 16
    model = MotionVQVAE(_tiny_config(D, quantizer=quantizer, num_quantizers=L, downsample=downsample, codebook_size=K))
    assert model.config.tokens_per_step == L
    x = torch.randn(3, T, D)
    codes = model.encode(x)
    assert codes.shape == (3, T // downsample, L) and codes.dtype == torch.int64
    assert int(codes.min()) >= 0 and int(codes.max()) < K
    out = model.decode(codes)
    assert out.shape == (3, T, D)

    # The tokenizer API agrees with the forward pass (eval mode: no codebook update).
    model.eval()
    with torch.no_grad():
        fwd = model(x)
    assert torch.equal(fwd.codes, codes)
    torch.testing.assert_close(fwd.reconstruction, out, atol=1e-5, rtol=1e-5)
    assert 1.0 <= float(fwd.perplexity) <= K

    with pytest.raises(ValueError, match="multiple of downsample"):
        model.encode(torch.randn(1, T + 1, D))
    with pytest.raises(ValueError, match="multiple of downsample"):
        model(torch.randn(1, T - 1, D))
    bad = codes.clone()
    bad[0, 0, -1] = K
    with pytest.raises(ValueError, match=r"\[0, 8\)"):
        model.decode(bad)
    bad[0, 0, -1] = -1
    with pytest.raises(ValueError, match=r"\[0, 8\)"):
        model.decode(bad)
    with pytest.raises(ValueError, match="shaped"):
        model.decode(torch.cat([codes, codes], -1))
    if L > 1 and quantizer != "residual":
        with pytest.raises(ValueError, match="shaped"):
            model.decode(codes[..., :1])
    if quantizer == "residual":
        # The first layer alone is the coarser code: the sum of fewer codebook vectors.
        coarse = model.quantized_from_codes(codes[..., :1])
        full = model.quantized_from_codes(codes)
        assert coarse.shape == full.shape and not torch.allclose(coarse, full)
        assert isinstance(model.quantizer.project_out, torch.nn.Identity)  # no lookup_dim here
        torch.testing.assert_close(coarse, model.quantizer.codebooks[0][codes[..., 0]])
        assert model.decode(codes[..., :1]).shape == out.shape


def test_residual_quantize_dropout_trains():
    """Quantize dropout marks the dropped layers' codes -1 while training; the training step must
    still run (perplexity ignores them) and eval codes are always complete."""
    torch.manual_seed(0)
    model = MotionVQVAE(_tiny_config(12, quantizer="residual", num_quantizers=3, quantize_dropout=0.5))
    model.train()
    x = torch.randn(2, 16, 12)
    seen_dropped = False
    for _ in range(12):
        out = model(x)
        assert torch.isfinite(out.loss)
        seen_dropped |= bool((out.codes == -1).any())
    assert seen_dropped
    assert int(model.encode(x).min()) >= 0


# ---------------------------------------------------------------------------------------------
# 3. EMA updates and dead-code reset


def _one_live_code(model: MotionVQVAE) -> torch.Tensor:
    """Push every code but 0 far away with a tiny EMA usage (0.5): all inputs map to code 0.
    Returns the dead codes' vectors."""
    cb = model.quantizer._codebook
    K, dim = cb.embed.shape[1:]
    g = torch.Generator().manual_seed(3)
    far = 1e3 * F.normalize(torch.randn(K - 1, dim, generator=g), dim=-1)
    with torch.no_grad():
        cb.embed[0, 1:] = far
        cb.cluster_size[0, 1:] = 0.5
        cb.embed_avg[0, 1:] = far * 0.5
        cb.embed[0, 0] = 3.0
        cb.cluster_size[0, 0] = 1.0
        cb.embed_avg[0, 0] = 3.0
    return far.clone()


@pytest.mark.parametrize("threshold", [1.0, 0.0])
def test_dead_codes_are_revived_only_with_a_threshold(threshold):
    torch.manual_seed(0)
    K = 16
    model = MotionVQVAE(_tiny_config(12, codebook_size=K, codebook_dim=8, downsample=2, ema_decay=0.8, dead_code_threshold=threshold))
    far = _one_live_code(model)
    cb = model.quantizer._codebook
    data = [torch.randn(4, 16, 12) for _ in range(3)]
    probe = torch.cat(data)
    assert model.encode(probe).unique().tolist() == [0]
    with torch.no_grad():
        latent_mean = model._latent(probe)[1].reshape(-1, 8).mean(0)
    dist_before = float((cb.embed[0, 0] - latent_mean).norm())

    model.train()
    with torch.no_grad():
        for x in data:
            model(x)
    in_use = model.encode(probe).unique()
    dead_now = cb.embed[0, 1:]
    # EMA: the live code moved toward the encoder outputs assigned to it.
    assert float((cb.embed[0, 0] - latent_mean).norm()) < 0.5 * dist_before
    if threshold > 0:
        # Every dead code was reset to an encoder output (B*S = 32 samples >= 15 dead codes) ...
        assert bool((dead_now.norm(dim=-1) < 50).all())
        assert float((dead_now - far).norm(dim=-1).min()) > 100
        # ... and they are in use again.
        assert len(in_use) >= 4
    else:
        torch.testing.assert_close(dead_now, far, rtol=1e-3, atol=1e-3)
        assert in_use.tolist() == [0]


# ---------------------------------------------------------------------------------------------
# 4. causal encoder


def test_causal_encoder_ignores_future_frames():
    torch.manual_seed(0)
    D, ds, T = 8, 4, 32
    S = T // ds
    causal = MotionVQVAE(_tiny_config(D, depth=2, downsample=ds, codebook_dim=8, causal=True))
    acausal = MotionVQVAE(_tiny_config(D, depth=2, downsample=ds, codebook_dim=8, causal=False))
    causal.eval(), acausal.eval()
    x = torch.randn(1, T, D)
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        z, codes = causal._latent(x)[1], causal.encode(x)
        za = acausal._latent(x)[1]
        for s in range(S - 1):
            x2 = x.clone()
            x2[:, (s + 1) * ds :] += 10.0 * torch.randn(1, T - (s + 1) * ds, D, generator=g)
            z2 = causal._latent(x2)[1]
            torch.testing.assert_close(z2[:, : s + 1], z[:, : s + 1], atol=1e-6, rtol=0)
            assert torch.equal(causal.encode(x2)[:, : s + 1], codes[:, : s + 1])
            assert float((z2[:, s + 1] - z[:, s + 1]).abs().max()) > 1e-2  # the perturbation does reach
            # Without causal padding, step s sees frames after its own.
            za2 = acausal._latent(x2)[1]
            assert float((za2[:, s] - za[:, s]).abs().max()) > 1e-3
            # A past of any length encodes to the same codes as inside the whole clip.
            prefix = x[:, : (s + 1) * ds]
            assert torch.equal(causal.encode(prefix), codes[:, : s + 1])


# ---------------------------------------------------------------------------------------------
# 5. save / reload with the Auto classes


@pytest.mark.parametrize("quantizer,L", [("vq", 1), ("residual", 2)])
def test_save_reload_with_auto_classes(tmp_path, clips, layout, quantizer, L):
    from transformers import AutoConfig, AutoModel, AutoProcessor, AutoTokenizer

    torch.manual_seed(0)
    pos = layout.channels["positions"]
    cfg = _tiny_config(
        layout.dim,
        quantizer=quantizer,
        num_quantizers=L,
        codebook_size=16,
        kmeans_init=True,
        position_channel=[pos.start, pos.stop],
    )
    model = MotionVQVAE(cfg)
    proc = MotionVQProcessor.from_motion(clips[CLIP_IDS[0]], fps=FPS, config=cfg)
    assert proc.tokens_per_step == L and proc.codebook_size == 16
    batch = proc([clips[n] for n in CLIP_IDS[:3]])
    flat = batch["features"].reshape(-1, layout.dim)
    mean, std = flat.mean(0), flat.std(0).clamp_min(1e-2)
    model.set_normalization(mean, std)
    model.train()
    model(batch["features"], batch["attention_mask"])  # k-means init and one EMA update
    model.eval()
    codes = model.encode(batch["features"])
    decoded = model.decode(codes)

    model.save_pretrained(tmp_path)
    proc.save_pretrained(tmp_path)
    proc.save_code_vocabulary(tmp_path)

    cfg2 = AutoConfig.from_pretrained(tmp_path)
    assert isinstance(cfg2, MotionVQConfig)
    for key in ("input_dim", "quantizer", "num_quantizers", "codebook_size", "downsample", "position_channel", "kmeans_init"):
        assert getattr(cfg2, key) == getattr(cfg, key), key
    model2 = AutoModel.from_pretrained(tmp_path)
    assert isinstance(model2, MotionVQVAE)
    torch.testing.assert_close(model2.feature_mean, mean, atol=0, rtol=0)
    torch.testing.assert_close(model2.feature_std, std, atol=0, rtol=0)
    assert torch.equal(model2.encode(batch["features"]), codes)
    torch.testing.assert_close(model2.decode(codes), decoded)

    proc2 = AutoProcessor.from_pretrained(tmp_path)
    assert isinstance(proc2, MotionVQProcessor)
    assert proc2.fps == FPS and proc2.downsample == 4 and proc2.resample is True
    assert (proc2.codebook_size, proc2.tokens_per_step) == (16, L)
    assert proc2.layout.to_dict() == proc.layout.to_dict() and proc2.layout.dim == layout.dim
    clip = clips[CLIP_IDS[1]]
    np.testing.assert_array_equal(proc2.encode(model2, clip), proc.encode(model, clip))

    tok = AutoTokenizer.from_pretrained(tmp_path)
    one = codes[1].numpy()
    text = proc.codes_to_text(one)
    ids = tok(text, add_special_tokens=False)["input_ids"]
    # Vocabulary: <pad> <unk> <motion_start> <motion_end> <motion_mask>, then <motion_id_0..>;
    # layer l of a step is the token l*K + code.
    expected = [2] + [5 + layer * 16 + int(c) for step in one for layer, c in enumerate(step)] + [3]
    assert ids == expected
    assert tok.convert_ids_to_tokens(ids[:2]) == ["<motion_start>", f"<motion_id_{int(one[0, 0])}>"]
    assert len(tok) == 5 + 16 * L
    np.testing.assert_array_equal(proc2.text_to_codes(tok.decode(ids)), one)
    np.testing.assert_array_equal(proc2.text_to_codes("prefix " + tok.decode(ids) + " suffix"), one)


def test_code_vocabulary_and_text_errors(layout):
    tok = code_vocabulary(6)
    assert tok.convert_tokens_to_ids(["<pad>", "<unk>", "<motion_start>", "<motion_end>", "<motion_mask>", "<motion_id_5>"]) == [
        0,
        1,
        2,
        3,
        4,
        10,
    ]
    proc = MotionVQProcessor(layout, fps=FPS, codebook_size=3, tokens_per_step=2)
    codes = np.array([[0, 2], [1, 0]])
    assert proc.codes_to_text(codes) == "<motion_start><motion_id_0><motion_id_5><motion_id_1><motion_id_3><motion_end>"
    with pytest.raises(ValueError, match="layer order"):
        proc.text_to_codes("<motion_start><motion_id_3><motion_id_0><motion_end>")
    with pytest.raises(ValueError, match="multiple of 2"):
        proc.text_to_codes("<motion_start><motion_id_0><motion_end>")
    with pytest.raises(ValueError, match="span"):
        proc.text_to_codes("<motion_id_0><motion_id_3>")


# ---------------------------------------------------------------------------------------------
# 6. processor round trip, resampling, batch padding


def test_processor_round_trip_and_resampling(clips, layout):
    torch.manual_seed(0)
    clip = clips["dataset-1_walk-left_giant_001"]
    assert abs(clip.fps - 30) < 1e-3
    model = MotionVQVAE(_tiny_config(layout.dim, quantizer="residual", num_quantizers=2))
    proc = MotionVQProcessor.from_motion(clip, fps=FPS, config=model.config)
    n = int(proc(clip)["num_frames"][0])
    duration = (clip.num_frames - 1) / clip.fps
    assert abs(n - (duration * FPS + 1)) <= 1
    np.testing.assert_allclose(proc.features(clip), layout.encode(hf_motion.resample_motion(clip, FPS)), atol=1e-6)

    codes = proc.encode(model, clip)
    assert codes.shape == (math.ceil(n / 4), 2)
    out = proc.decode(model, codes, num_frames=n)
    assert isinstance(out, Motion)
    assert out.num_frames == n and out.fps == FPS
    assert out.skeleton.names == clip.skeleton.names
    assert out.skeleton.parents.tolist() == clip.skeleton.parents.tolist()
    assert proc.decode(model, codes).num_frames == len(codes) * 4
    # The decoded clip is valid input again.
    assert proc(out)["num_frames"].tolist() == [n]

    strict = MotionVQProcessor.from_motion(clip, fps=FPS, config=model.config, resample=False)
    with pytest.raises(MotionError) as exc:
        strict(clip)
    msg = str(exc.value)
    assert "30" in msg and "20" in msg
    # At the processor's rate it is accepted.
    assert strict(hf_motion.resample_motion(clip, FPS))["num_frames"].tolist() == [n]
    with pytest.raises(ValueError, match="does not match"):
        MotionVQProcessor.from_motion(clip, fps=FPS, downsample=8).encode(model, clip)


@pytest.mark.parametrize("downsample", [4, 8])
def test_processor_batch_padding(clips, clips20, layout, downsample):
    names = ["dataset-1_run_masculinity_001", "dataset-1_walk_normal_001", "dataset-1_bye_feminine_001"]
    proc = MotionVQProcessor(layout, fps=FPS, downsample=downsample)
    batch = proc([clips[n] for n in names])
    lengths = [clips20[n].num_frames for n in names]
    assert len(set(lengths)) == 3
    T = batch["features"].shape[1]
    assert T % downsample == 0 and max(lengths) <= T < max(lengths) + downsample
    assert batch["features"].shape == (3, T, layout.dim)
    assert batch["attention_mask"].sum(1).tolist() == lengths
    assert batch["num_frames"].tolist() == lengths
    for i, (n, length) in enumerate(zip(names, lengths)):
        mask = batch["attention_mask"][i]
        assert mask[:length].all() and not mask[length:].any()
        feats = batch["features"][i].numpy()
        np.testing.assert_allclose(feats[:length], layout.encode(clips20[n]), atol=1e-6)
        np.testing.assert_array_equal(feats[length:], np.broadcast_to(feats[length - 1], feats[length:].shape))


# ---------------------------------------------------------------------------------------------
# 7. config validation


@pytest.mark.parametrize(
    "kwargs,pattern",
    [
        (dict(downsample=3), "power of 2"),
        (dict(downsample=6), "power of 2"),
        (dict(quantizer="vq", num_quantizers=2), "one codebook"),
        (dict(quantizer="product", num_quantizers=3, codebook_dim=16), "equal factors"),
        (dict(quantizer="lfq"), "quantizer must be one of"),
    ],
)
def test_config_validation(kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        _tiny_config(12, **kwargs)


def test_config_accepts_valid_variants():
    assert _tiny_config(12, downsample=8).levels == 3
    assert _tiny_config(12, quantizer="product", num_quantizers=4, codebook_dim=16).tokens_per_step == 4


# ---------------------------------------------------------------------------------------------
# 8. training lowers the loss


def test_a_few_training_steps_lower_the_loss(clips, layout):
    torch.manual_seed(0)
    proc = MotionVQProcessor(layout, fps=FPS)
    win = 48
    feats = [torch.as_tensor(proc.features(clips[n])) for n in CLIP_IDS]
    feats = [f for f in feats if len(f) >= 2 * win]
    assert len(feats) >= 3
    batches = [torch.stack([f[k * win : (k + 1) * win] for f in feats]) for k in range(2)]
    pos = layout.channels["positions"]
    model = MotionVQVAE(
        _tiny_config(
            layout.dim, hidden_size=32, codebook_size=16, codebook_dim=16, kmeans_init=True, position_channel=[pos.start, pos.stop]
        )
    )
    flat = torch.cat(batches).reshape(-1, layout.dim)
    model.set_normalization(flat.mean(0), flat.std(0).clamp_min(1e-2))

    def first_batch_loss():
        model.eval()
        with torch.no_grad():
            out = model(batches[0])
        return float(out.reconstruction_loss + model.config.velocity_weight * out.velocity_loss)

    model.train()
    model(batches[0])  # k-means initialisation of the codebook
    before = first_batch_loss()
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    model.train()
    for step in range(30):
        out = model(batches[step % 2])
        opt.zero_grad()
        out.loss.backward()
        opt.step()
        assert torch.isfinite(out.loss)
    after = first_batch_loss()
    assert after < 0.9 * before, (before, after)
