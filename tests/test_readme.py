"""The README's first Python snippet runs as written (from any folder), on a real Bandai clip."""

import os
import re
from pathlib import Path

import numpy as np

from conftest import BANDAI1

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
