"""Shared fixtures. Real data is read in place from ../shared/data (or $HF_MOTION_DATA)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DATA_ROOT = Path(os.environ.get("HF_MOTION_DATA", REPO.parent / "shared" / "data"))
BANDAI = DATA_ROOT / "bandai-namco-motion"
BANDAI1 = BANDAI / "dataset-1" / "data"

# A handful of varied real clips (locomotion, gestures, dance) used across the suite.
SAMPLE_CLIPS = [
    "dataset-1_walk_normal_001.bvh",
    "dataset-1_run_masculinity_001.bvh",
    "dataset-1_bye_feminine_001.bvh",
    "dataset-1_dance-short_normal_001.bvh",
    "dataset-1_walk-back_giant_001.bvh",
]

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")


def pytest_sessionstart(session):
    if not BANDAI1.is_dir():
        raise pytest.UsageError(f"real motion data not found at {BANDAI1}; put the shared data beside the repo or set HF_MOTION_DATA")


@pytest.fixture(scope="session")
def bandai_paths() -> list[Path]:
    return [BANDAI1 / name for name in SAMPLE_CLIPS]


@pytest.fixture(scope="session")
def bandai_motions(bandai_paths):
    """The sample clips loaded once per session (treat as read-only)."""
    import hf_motion

    return [hf_motion.load_bvh(p) for p in bandai_paths]


@pytest.fixture(scope="session")
def walk_motion(bandai_motions):
    return bandai_motions[0]


@pytest.fixture(scope="module")
def tok():
    """The plain M5 tokenizer (no fixed skeleton), one per test module."""
    from hf_motion import MotionTokenizer

    return MotionTokenizer()


def tiny_lm(tokenizer, seed: int = 0, **overrides):
    """A freshly initialised ``tiny`` motion GPT for ``tokenizer`` (seeded), in eval mode."""
    import torch

    from hf_motion.modeling import MotionGPT2ForCausalLM, motion_gpt2_config

    torch.manual_seed(seed)
    return MotionGPT2ForCausalLM(motion_gpt2_config("tiny", tokenizer, **overrides)).eval()


@pytest.fixture(autouse=True, scope="session")
def _one_torch_thread():
    """CI has 2 cores; torch's default thread pool makes tiny-model steps far slower there."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
