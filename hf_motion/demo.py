"""``hf-motion demo``: tokenize real motion with the M5 and fine tokenizers and print a summary."""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from .datasets.bandai import find_bandai_root
from .io.bvh import load_bvh
from .kinematics import canonicalize_positions
from .tokenization.tokenizer import MotionTokenizer


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "folder", nargs="?", type=Path, default=None, help="folder of BVH files (default: Bandai-Namco dataset-1 from ../shared/data)"
    )
    p.add_argument("--joints", default="bandai-core", help="joint subset (registered name)")
    p.add_argument("--window", type=_positive_int, default=30, help="frames per canonicalised window")
    p.add_argument("--limit", type=_positive_int, default=None, help="read at most this many files")


def run(args: argparse.Namespace) -> int:
    folder = args.folder or find_bandai_root() / "dataset-1" / "data"
    files = sorted(Path(folder).glob("*.bvh"))[: args.limit]
    if not files:
        raise SystemExit(f"no .bvh files in {folder}; pass a folder or set HF_MOTION_DATA")
    toks = {"m5 (256 bins)": MotionTokenizer.m5(256), "coarse/fine (64x64)": MotionTokenizer.coarse_fine(64)}
    stats = {k: {"tokens": 0, "err": []} for k in toks}
    frames = 0
    t0 = time.perf_counter()
    warnings.filterwarnings("ignore", message=".*outside the quantizer range")
    for f in tqdm(files, desc="tokenizing", unit="clip"):
        m = load_bvh(f).select_joints(args.joints)
        T = m.num_frames // args.window * args.window
        if T == 0:
            continue
        frames += T
        pos = m.positions()[:T].reshape(T // args.window, args.window, -1, 3)
        ang = m.rotations[:T].reshape(pos.shape)
        for w_ang, w_pos in zip(ang, pos):
            w_pos = canonicalize_positions(w_pos, m.skeleton.up_axis)
            for name, tok in toks.items():
                ids = tok.encode_motion(w_ang, w_pos, task="$")
                stats[name]["tokens"] += len(ids)
                dec = tok.decode_motion(ids)
                stats[name]["err"].append(np.linalg.norm(dec.positions - w_pos, axis=-1).ravel())
    dt = time.perf_counter() - t0
    if frames == 0:
        raise SystemExit(f"no clip in {folder} has {args.window} frames (--window); nothing was tokenized")
    print(f"\n{len(files)} clips from {folder}: {frames} frames ({frames / 30 / 60:.1f} min at 30 fps), joints '{args.joints}', {dt:.1f} s")
    print(f"{'tokenizer':<22}{'vocab':>7}{'tokens':>12}{'tokens/frame':>14}{'oracle pos. error (cm)':>24}")
    for name, tok in toks.items():
        s = stats[name]
        err = np.concatenate(s["err"]) * 100
        print(f"{name:<22}{len(tok):>7}{s['tokens']:>12,}{s['tokens'] / frames:>14.1f}{f'{err.mean():.3f} mean / {err.max():.2f} max':>24}")
    return 0
