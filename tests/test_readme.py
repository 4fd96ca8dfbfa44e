"""The README's first Python snippet runs as written (from any folder), on a real Bandai clip."""

import os
import re
from pathlib import Path

import numpy as np

from conftest import BANDAI1, tiny_lm

README = Path(__file__).resolve().parents[1] / "README.md"
CLIP = "../shared/data/bandai-namco-motion/dataset-1/data/dataset-1_walk_normal_001.bvh"


def _tokenize_snippet() -> str:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)
    snippet = next((b for b in blocks if "hf_motion.load_bvh(" in b and "encode_motion" in b), None)
    assert snippet is not None, "README lost its load_bvh -> encode_motion snippet"
    assert CLIP in snippet, "the snippet's clip path changed; update CLIP here"
    return snippet


def test_readme_tokenize_snippet_runs_from_another_folder(tmp_path, monkeypatch):
    # The data may live elsewhere (HF_MOTION_DATA); the path in the README is the default layout.
    code = _tokenize_snippet().replace(CLIP, str(BANDAI1 / "dataset-1_walk_normal_001.bvh"))
    monkeypatch.chdir(tmp_path)  # not the repository: the tokenizer must come from the package
    scope: dict = {}
    exec(compile(code, str(README), "exec"), scope)
    window, back = scope["window"], scope["back"]
    assert window.num_joints == 17 and window.num_frames == 30
    assert back.angles.shape == (30, 17, 3) and back.positions.shape == (30, 17, 3)
    # Decoded values lie within half a bin of the inputs (the tokenizer's own bound).
    delta = scope["tok"].angle_quantizer.delta
    assert np.all(np.abs(back.angles - window.rotations) <= np.max(delta) / 2 + 1e-9)
    assert os.getcwd() == str(tmp_path)


def _python_section_snippet() -> str:
    text = README.read_text(encoding="utf-8")
    section = text.split("## Use it from Python", 1)[1].split("\n## ", 1)[0]
    (snippet,) = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    return snippet


def test_readme_use_it_from_python_goes_from_bvh_to_a_fine_tuned_prediction(tmp_path, monkeypatch, walk_motion):
    """The section's snippet as written, with the pretrained folder a tiny untrained model (the
    quick start's run is too slow for the suite) and the run folder under tmp_path."""

    import hf_motion
    from hf_motion.resources import tokenizer_config_path
    from hf_motion.skeletons import resolve_joint_subset

    snippet = _python_section_snippet()
    assert len([line for line in snippet.splitlines() if line.strip()]) < 15
    for needed in ('"runs/pretrain-tiny"', '"runs/finetune-demo"', '"runs/finetune-demo/model"', CLIP):
        assert needed in snippet, f"the snippet no longer says {needed}; update this test"
    pretrained = tmp_path / "pretrained"
    joints = resolve_joint_subset("bandai-core", walk_motion.skeleton)
    tok = hf_motion.MotionTokenizer.from_pretrained(tokenizer_config_path("m5-motion"), joint_names=joints)
    tiny_lm(tok, n_positions=256).save_pretrained(pretrained)
    hf_motion.MotionProcessor(tok, fps=10, window=4, stride=4).save_pretrained(pretrained)
    code = (
        snippet.replace('"runs/pretrain-tiny"', repr(str(pretrained)))
        .replace('"runs/finetune-demo/model"', repr(str(tmp_path / "run" / "model")))
        .replace('"runs/finetune-demo"', repr(str(tmp_path / "run")))
        .replace(CLIP, str(BANDAI1 / "dataset-1_walk_normal_001.bvh"))
    )
    monkeypatch.chdir(tmp_path)
    scope: dict = {}
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # single-clip groups: expected on this subset
        exec(compile(code, str(README), "exec"), scope)
    result, classify = scope["result"], scope["classify"]
    assert set(result.systems) == {"pretrained", "pretrained probe"} and result.summary["cv"]["n_folds"] == 3
    out = classify(str(BANDAI1 / "dataset-1_walk_normal_001.bvh"))
    assert set(out) == {"style", "content", "tired_vs_normal"}
    assert {d["label"] for d in out["style"]} == {"normal", "old", "tired"}
    assert abs(sum(d["score"] for d in out["style"]) - 1.0) < 1e-5
    assert (tmp_path / "run" / "model" / "preprocessor_config.json").is_file()
