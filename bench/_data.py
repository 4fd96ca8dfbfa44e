"""Shared loading for the bench scripts: real Bandai clips, reduced skeleton, canonical windows."""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("HF_MOTION_DATA", REPO.parent / "shared" / "data")) / "bandai-namco-motion"


def bandai1_windows(n_clips: int | None = None, window: int = 30, joints: str = "bandai-core"):
    """(angles, canonical positions) per clip of dataset-1, positions canonicalised per window.

    Returns a list of ``(angles (T,J,3), positions (T,J,3), motion)`` with T a multiple of
    ``window`` (``motion`` is the reduced clip, for FK).
    """
    import hf_motion as hm

    files = sorted((DATA / "dataset-1" / "data").glob("*.bvh"))[:n_clips]
    if not files:
        sys.exit(f"no Bandai data under {DATA}; set HF_MOTION_DATA")
    out = []
    for f in files:
        m = hm.load_bvh(f).select_joints(joints)
        T = (m.num_frames // window) * window
        if T == 0:
            continue
        pos = m.positions()[:T].reshape(T // window, window, -1, 3)
        pos = np.concatenate([hm.canonicalize_positions(w) for w in pos])
        out.append((m.rotations[:T], pos, m))
    return out


def quiet():
    warnings.filterwarnings("ignore", message=".*fall outside the quantizer range.*")
