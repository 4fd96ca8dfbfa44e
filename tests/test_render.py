"""``hf_motion.render`` and ``hf-motion render`` on real Bandai clips and on tokens decoded from them."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from hf_motion import MotionTokenizer, canonicalize_positions
from hf_motion.cli import main
from hf_motion.motion import MotionError
from hf_motion.render import (
    _decode_tokens,
    _is_static_anchor,
    _joint_side,
    _Scene,
    render_motion,
    render_positions,
)

REPO = Path(__file__).resolve().parents[1]
M5_DIR = REPO / "tokenizer_configs" / "m5-motion"
BLUE = np.array([0x1F, 0x77, 0xB4])  # left-side bones
ORANGE = np.array([0xFF, 0x7F, 0x0E])  # right-side bones


def gif_frames(path) -> list[np.ndarray]:
    im = Image.open(path)
    assert im.format == "GIF"
    out = []
    for k in range(im.n_frames):
        im.seek(k)
        out.append(np.asarray(im.convert("RGB")))
    return out


def has_colour(img: np.ndarray, rgb: np.ndarray, tol: int = 40, min_pixels: int = 20) -> bool:
    return int((np.abs(img[..., :3].astype(int) - rgb).sum(-1) < tol).sum()) >= min_pixels


# ----------------------------------------------------------------------------- library


def test_render_motion_on_a_real_clip(walk_motion, tmp_path):
    clip = walk_motion.slice(0, 90)
    result = render_motion(clip, tmp_path / "walk.gif", tmp_path / "walk.png", n_strip=6, max_gif_frames=30)
    assert result.gif == tmp_path / "walk.gif" and result.png == tmp_path / "walk.png"

    # 90 frames, at most 30 in the GIF: every 3rd frame -> 30 frames, played at 30/3 = 10 fps.
    frames = gif_frames(result.gif)
    assert len(frames) == 30
    assert Image.open(result.gif).info["duration"] == pytest.approx(100, abs=10)
    assert frames[0].shape == (360, 360, 3)  # 3.6 in at 100 dpi
    assert np.abs(frames[0].astype(int) - frames[15]).sum() > 0  # it moves
    assert has_colour(frames[0], BLUE) and has_colour(frames[0], ORANGE)  # both sides drawn

    # Six panels of 2.0 x 3.0 in at 100 dpi, side by side.
    png = Image.open(result.png)
    assert png.format == "PNG" and png.size == (1200, 300)
    img = np.asarray(png.convert("RGB"))
    # Every panel holds a figure (left and right bones in each sixth of the strip).
    for k in range(6):
        panel = img[:, k * 200 : (k + 1) * 200]
        assert has_colour(panel, BLUE) and has_colour(panel, ORANGE), f"panel {k}"
    assert result.strip_frames == [0, 18, 36, 53, 71, 89]  # round(linspace(0, 89, 6))


def test_long_clip_is_subsampled_for_the_gif(walk_motion, tmp_path):
    # 195 frames, at most 60: every 4th frame (ceil(195 / 60) = 4) -> frames 0, 4, ..., 192 = 49 frames.
    result = render_positions(
        walk_motion.positions(), walk_motion.skeleton.parents, gif_path=tmp_path / "all.gif", max_gif_frames=60,
        gif_size=1.0, dpi=40,
    )  # fmt: skip
    assert len(gif_frames(result.gif)) == 49
    assert result.gif_frames[:3] == [0, 4, 8] and result.gif_frames[-1] == 192
    assert Image.open(result.gif).info["duration"] == pytest.approx(1000 * 4 / walk_motion.fps, abs=10)
    assert not (tmp_path / "all.png").exists()


@pytest.mark.parametrize(
    "name, side",
    [("UpperLeg_L", 1), ("Hand_R", -1), ("Hips", 0), ("joint_Root", 0),  # Bandai
     ("left_hip", 1), ("right_wrist", -1), ("spine1", 0), ("pelvis", 0),  # SMPL
     ("LHipJoint", 1), ("LeftArm", 1), ("RThumb", -1), ("RightUpLeg", -1), ("LowerBack", 0), ("Root", 0)],  # CMU
)  # fmt: skip
def test_joint_side_from_name(name, side):
    assert _joint_side(name) == side


def test_static_anchor_root_is_left_out(walk_motion):
    # Bandai's joint_Root sits at the origin while the Hips walk away: not a body part.
    assert _is_static_anchor(walk_motion)
    assert not _is_static_anchor(walk_motion.select_joints("bandai-full"))


def test_points_only_and_z_up(walk_motion, tmp_path):
    pos = walk_motion.select_joints("bandai-core").positions()[:12]
    z_up = pos[..., [0, 2, 1]] * np.array([1, -1, 1])  # (x, y, z) y-up -> (x, -z, y) z-up, still right-handed
    result = render_positions(z_up, None, png_path=tmp_path / "z.png", up_axis="z", n_strip=3, dpi=50)
    assert Image.open(result.png).size == (300, 150)
    # Equal scaling on all axes, floor on z.
    scene = _Scene(z_up, None, None, "z")
    lim = scene.limits(5)
    spans = [hi - lo for lo, hi in lim]
    np.testing.assert_allclose(spans, spans[0])
    assert lim[2][0] == pytest.approx(z_up[..., 2].min() - 0.05)
    assert lim[0][0] < z_up[5, :, 0].min() and lim[0][1] > z_up[5, :, 0].max()


def test_render_positions_rejects_bad_input(tmp_path):
    pos = np.zeros((4, 3, 3))
    with pytest.raises(ValueError, match="needs gif_path, png_path or both"):
        render_positions(pos, [-1, 0, 1])
    with pytest.raises(MotionError, match=r"shape \(T, J, 3\).*\(4, 9\)"):
        render_positions(np.zeros((4, 9)), None, png_path=tmp_path / "x.png")
    bad = pos.copy()
    bad[2, 1, 0] = np.nan
    with pytest.raises(MotionError, match=r"non-finite value at frame 2, joint 1 \('b'\)"):
        render_positions(bad, [-1, 0, 1], png_path=tmp_path / "x.png", joint_names=["a", "b", "c"])
    with pytest.raises(MotionError, match="parents has 2 entries but the positions have 3 joints"):
        render_positions(pos, [-1, 0], png_path=tmp_path / "x.png")
    with pytest.raises(MotionError, match="joint 2 has an invalid parent 7"):
        render_positions(pos, [-1, 0, 7], png_path=tmp_path / "x.png")
    with pytest.raises(ValueError, match="up_axis must be"):
        render_positions(pos, None, png_path=tmp_path / "x.png", up_axis="w")
    with pytest.raises(ValueError, match="n_strip must be at least 1"):
        render_positions(pos, None, png_path=tmp_path / "x.png", n_strip=0)
    assert not (tmp_path / "x.png").exists()


# ----------------------------------------------------------------------------- command line


def test_cli_renders_a_bvh_file(bandai_paths, tmp_path, capsys):
    prefix = tmp_path / "out" / "walk"
    rc = main(["render", str(bandai_paths[0]), "--out", str(prefix), "--start", "10", "--frames", "20",
               "--joints", "bandai-core", "--strip", "4"])  # fmt: skip
    assert rc == 0
    assert f"wrote {prefix}.gif" in capsys.readouterr().out
    assert len(gif_frames(f"{prefix}.gif")) == 20
    assert Image.open(f"{prefix}.png").size == (800, 300)


def test_cli_renders_the_cmu_fixture(tmp_path):
    fixture = REPO / "tests" / "fixtures" / "cmu_31joint.bvh"
    legs_and_head = "Hips,LeftUpLeg,LeftLeg,LeftFoot,RightUpLeg,RightLeg,RightFoot,Head"
    rc = main(["render", str(fixture), "--scale", "0.0254", "--out", str(tmp_path / "cmu"), "--no-gif",
               "--strip", "3", "--joints", legs_and_head])  # fmt: skip
    assert rc == 0
    assert not (tmp_path / "cmu.gif").exists()
    img = np.asarray(Image.open(tmp_path / "cmu.png").convert("RGB"))
    assert img.shape == (300, 600, 3)
    assert has_colour(img, BLUE) and has_colour(img, ORANGE)


@pytest.fixture(scope="module")
def m5():
    return MotionTokenizer.from_pretrained(str(M5_DIR))


@pytest.fixture(scope="module")
def core_window(walk_motion):
    core = walk_motion.slice(60, 84).select_joints("bandai-core")
    return core, canonicalize_positions(core.positions(), "y")


@pytest.mark.parametrize("kind", ["json", "npy", "txt", "json-dict"])
def test_cli_renders_decoded_tokens(kind, m5, core_window, bandai_paths, tmp_path):
    core, pos = core_window
    path = tmp_path / f"tokens.{kind.split('-')[0]}"
    if kind == "json":
        path.write_text(json.dumps(m5.encode_motion(positions=pos).tolist()))
    elif kind == "json-dict":
        path.write_text(json.dumps({"input_ids": m5.encode_motion(positions=pos).tolist()}))
    elif kind == "npy":
        np.save(path, m5.encode_motion(positions=pos)[None])  # a batch of one is accepted too
    else:
        path.write_text(m5.motion_to_text(positions=pos) + "\n")
    args = ["render", str(path), "--tokenizer", str(M5_DIR), "--reference", str(bandai_paths[0]),
            "--joints", "bandai-core", "--out", str(tmp_path / "tok"),
            "--max-gif-frames", "12", "--strip", "3"]  # fmt: skip
    assert main(args) == 0
    assert len(gif_frames(tmp_path / "tok.gif")) == 12  # 24 frames, every 2nd
    img = np.asarray(Image.open(tmp_path / "tok.png").convert("RGB"))
    assert img.shape == (300, 600, 3)
    assert has_colour(img, BLUE) and has_colour(img, ORANGE)  # bones from the reference skeleton


def test_decoded_positions_are_the_motion_within_half_a_bin(m5, core_window, bandai_paths, tmp_path):
    core, pos = core_window
    path = tmp_path / "t.json"
    path.write_text(json.dumps(m5.encode_motion(positions=pos).tolist()))
    ns = argparse.Namespace(input=path, tokenizer=M5_DIR, reference=bandai_paths[0], joints="bandai-core",
                            scale=0.01, fps=None, up_axis=None)  # fmt: skip
    positions, parents, names, up_axis, fps = _decode_tokens(ns)
    half_bin = 4.0 / 256 / 2  # default box [-2, 2] m, 256 bins
    assert np.abs(positions - pos).max() <= half_bin + 1e-12
    assert names == core.skeleton.names and parents == core.skeleton.parents.tolist()
    assert up_axis == "y" and fps == 30


def test_cli_angle_tokens_need_a_reference(m5, core_window, bandai_paths, tmp_path, capsys):
    core, _ = core_window
    path = tmp_path / "angles.json"
    path.write_text(json.dumps(m5.encode_motion(angles=core.rotations, task="&").tolist()))
    assert main(["render", str(path), "--tokenizer", str(M5_DIR), "--out", str(tmp_path / "a")]) == 2
    assert "joint angles only" in capsys.readouterr().err
    rc = main(["render", str(path), "--tokenizer", str(M5_DIR), "--reference", str(bandai_paths[0]),
               "--joints", "bandai-core", "--out", str(tmp_path / "a"), "--no-gif", "--strip", "2"])  # fmt: skip
    assert rc == 0 and Image.open(tmp_path / "a.png").size == (400, 300)


def test_cli_points_only_without_reference(m5, core_window, tmp_path):
    _, pos = core_window
    path = tmp_path / "p.npy"
    np.save(path, m5.encode_motion(positions=pos[:6]))
    out = str(tmp_path / "p")
    assert main(["render", str(path), "--tokenizer", str(M5_DIR), "--out", out, "--no-gif", "--strip", "2"]) == 0
    img = np.asarray(Image.open(tmp_path / "p.png").convert("RGB"))
    assert (img.astype(int).sum(-1) < 600).sum() > 20  # some dark joint markers were drawn


def _cli_error(argv, capsys) -> str:
    assert main(argv) == 2
    return capsys.readouterr().err


def test_cli_errors_name_the_problem(m5, core_window, bandai_paths, tmp_path, capsys):
    _, pos = core_window
    ids = m5.encode_motion(positions=pos)
    missing = tmp_path / "nope.bvh"
    assert f"input file not found: {missing}" in _cli_error(["render", str(missing)], capsys)

    csv = tmp_path / "clip.csv"
    csv.write_text("1,2,3\n")
    assert f"{csv}: unknown input type '.csv'" in _cli_error(["render", str(csv)], capsys)

    tokens = tmp_path / "t.json"
    tokens.write_text(json.dumps(ids.tolist()))
    assert "needs --tokenizer DIR" in _cli_error(["render", str(tokens)], capsys)
    assert f"tokenizer folder not found: {tmp_path / 'tok'}" in _cli_error(
        ["render", str(tokens), "--tokenizer", str(tmp_path / "tok")], capsys
    )
    err = _cli_error(["render", str(tokens), "--tokenizer", str(M5_DIR), "--reference", str(bandai_paths[0]),
                      "--joints", "bandai-full"], capsys)  # fmt: skip
    assert "the tokens hold 17 joints" in err and "has 21" in err
    with_tok = ["--tokenizer", str(M5_DIR)]
    assert "needs --reference" in _cli_error(["render", str(tokens), *with_tok, "--joints", "bandai-core"], capsys)

    bad_json = tmp_path / "bad.json"
    bad_json.write_text("[1, 2,")
    assert f"{bad_json}: not a JSON file of token ids" in _cli_error(["render", str(bad_json), *with_tok], capsys)
    floats = tmp_path / "floats.json"
    floats.write_text(json.dumps([1, 7, 4.5]))
    assert "position 2 holds 4.5" in _cli_error(["render", str(floats), *with_tok], capsys)
    nested = tmp_path / "nested.json"
    nested.write_text(json.dumps([ids.tolist(), ids.tolist()]))
    assert "expected one non-empty sequence" in _cli_error(["render", str(nested), *with_tok], capsys)
    unknown = tmp_path / "unknown.json"
    unknown.write_text(json.dumps([1, 7, 4, 99999, 2]))
    assert "unknown token id 99999" in _cli_error(["render", str(unknown), *with_tok], capsys)

    broken = tmp_path / "broken.bvh"
    broken.write_text(bandai_paths[0].read_text().replace("Frames:\t195", "Frames:\t999"))
    err = _cli_error(["render", str(broken)], capsys)
    assert str(broken) in err and "header says 999 frames" in err
    walk = str(bandai_paths[0])
    assert "--start 500 is outside the clip's 195 frames" in _cli_error(["render", walk, "--start", "500"], capsys)
    assert "unknown joint subset 'nonsense'" in _cli_error(["render", walk, "--joints", "nonsense"], capsys)
    assert not list(tmp_path.glob("*.gif")) and not list(tmp_path.glob("*.png"))


def test_cli_help_lists_render(capsys):
    assert main(["--help"]) == 0
    assert "render" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["render", "--help"])
    assert "--tokenizer" in capsys.readouterr().out


# ----------------------------------------------------------------------------- learned codes


@pytest.fixture(scope="module")
def tiny_vq_folder(tmp_path_factory):
    """A tiny (untrained but initialised) VQ-VAE + processor saved on a real clip's skeleton."""
    import torch

    import hf_motion
    from hf_motion.models.motion_vq import MotionVQConfig, MotionVQProcessor, MotionVQVAE

    motion = hf_motion.resample_motion(hf_motion.bandai_namco(subsets="dataset-1", progress=False).load(0), 20)
    processor = MotionVQProcessor.from_motion(motion, fps=20)
    config = MotionVQConfig(input_dim=processor.layout.dim, hidden_size=16, codebook_size=16, codebook_dim=16,
                            quantizer="residual", num_quantizers=2)  # fmt: skip
    processor = MotionVQProcessor.from_motion(motion, fps=20, config=config)
    model = MotionVQVAE(config)
    model(features=processor(motion)["features"])  # k-means initialises the codebooks
    folder = tmp_path_factory.mktemp("vq")
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    with torch.no_grad():
        codes = processor.encode(model, motion)
    return folder, processor, codes


def test_cli_renders_learned_codes(tiny_vq_folder, tmp_path, capsys):
    folder, processor, codes = tiny_vq_folder
    text = tmp_path / "codes.txt"
    text.write_text(processor.codes_to_text(codes))
    npy = tmp_path / "codes.npy"
    np.save(npy, codes)
    for src in (text, npy):
        prefix = tmp_path / src.stem / src.suffix[1:]
        assert main(["render", str(src), "--vq-model", str(folder), "--out", str(prefix), "--strip", "3", "--max-gif-frames", "1000"]) == 0
        # 4 frames per code step, all drawn (the GIF keeps every frame of a short clip).
        assert len(gif_frames(f"{prefix}.gif")) == 4 * len(codes)
        assert Image.open(f"{prefix}.png").size[0] > 0


def test_cli_learned_codes_errors(tiny_vq_folder, tmp_path, capsys):
    folder, processor, codes = tiny_vq_folder
    bad = tmp_path / "bad.npy"
    np.save(bad, codes[:, :1])  # one code per step, the model has two
    assert main(["render", str(bad), "--vq-model", str(folder)]) == 2
    assert "expected codes shaped (steps, 2)" in capsys.readouterr().err
    good = tmp_path / "good.npy"
    np.save(good, codes)
    assert main(["render", str(good), "--vq-model", str(tmp_path / "missing")]) == 2
    assert "VQ model folder not found" in capsys.readouterr().err
