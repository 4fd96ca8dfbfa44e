"""Bench: frame-to-frame changes of joint angles, raw axis-angle against angles relative to the mean pose.

    python bench/angle_reference.py [--fps 10] [--seed 42]

On Bandai-Namco dataset-1 with the pretraining recipe's defaults (``auto`` joints, its group split
at ``--seed``): the mean pose is fitted on the training split's frames, the statistics are taken on
the test split. Prints, in units of one 256-bin angle level (2 pi / 256 rad): the standard
deviation of per-frame changes, the share above 20 levels (mostly sign flips near pi), the
correlation of consecutive changes (what a model can use to continue a motion), and the share of
joint rotations above 2.5 rad (near the flip).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _data import quiet


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--fps", type=float, default=10.0)
    p.add_argument("--seed", type=int, default=42)
    args = p.parse_args(argv)
    quiet()
    from hf_motion import MotionTokenizer
    from hf_motion.datasets import MotionDatasetBuilder, MotionDatasetConfig, bandai_namco
    from hf_motion.resample import resample_motion
    from hf_motion.rotations import axis_angle_to_matrix, mean_rotation, relative_rotation

    clips = bandai_namco(subsets="dataset-1", progress=False)
    config = MotionDatasetConfig(window=24, stride=12, fps=args.fps, seed=args.seed, tasks="acm=1")
    build = MotionDatasetBuilder(config, MotionTokenizer.m5_delta(256)).build(clips, num_proc=1, cache_dir=False, progress=False)
    groups = {s: set(build.dataset[s].unique("group")) for s in build.dataset}
    names = build.stats.joint_names

    def rotations(split):
        return [resample_motion(c.load(), args.fps).select_joints(names).rotations for c in clips if c.group in groups[split]]

    train, test = rotations("train"), rotations("test")
    ref = mean_rotation(sum(axis_angle_to_matrix(r).sum(axis=0) for r in train))
    level = 2 * np.pi / 256
    print(f"dataset-1 at {args.fps:g} fps, {len(names)} joints; mean pose from {len(train)} training clips, "
          f"statistics on {len(test)} test clips")  # fmt: skip
    print("| angles | change std (levels) | changes > 20 levels | corr(consecutive changes) |")
    print("|---|---:|---:|---:|")
    for label, seqs in (("raw axis-angle", test), ("relative to the mean pose", [relative_rotation(ref, r) for r in test])):
        d = [np.diff(s, axis=0) / level for s in seqs]
        flat = np.concatenate(d)
        prev = np.concatenate([x[:-1] for x in d]).ravel()
        cur = np.concatenate([x[1:] for x in d]).ravel()
        print(f"| {label} | {flat.std():.2f} | {(np.abs(flat) > 20).mean():.2%} | {np.corrcoef(prev, cur)[0, 1]:+.3f} |")
    raw = np.linalg.norm(np.concatenate(train), axis=-1)
    rel = np.linalg.norm(np.concatenate([relative_rotation(ref, r) for r in train]), axis=-1)
    print(f"joint rotations above 2.5 rad (training frames): raw {(raw > 2.5).mean():.1%}, relative {(rel > 2.5).mean():.3%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
