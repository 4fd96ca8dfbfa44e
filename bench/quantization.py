"""Quantized-oracle error on real Bandai data: encode then decode the ground truth.

    python bench/quantization.py [--clips N]

For M5 settings (one character per value) at 64/128/256/1024 bins, for the coarse/fine scheme
(two characters per value, 64x64 levels) and for predictive (delta) coding (each clip one
sequence: a keyframe, then closed-loop changes), prints
  * joint angles: geodesic angle between true and decoded rotations (degrees), mean / max;
  * positions: Euclidean error of decoded position tokens (cm), mean / max;
  * positions via FK of the decoded angles (cm): what angle-only tokens cost in space.
Positions are canonicalised per 1-second window, M5's FK/IK window (the tokenizer's [-2, 2] m box); values outside
the box are clipped and counted.
"""

import argparse

import numpy as np
import torch
from _data import bandai1_windows, quiet


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clips", type=int, default=None, help="number of dataset-1 clips (default all)")
    args = ap.parse_args()
    quiet()
    from hf_motion import MotionTokenizer
    from hf_motion.kinematics import fk_tensors
    from hf_motion.rotations import geodesic_angle

    data = bandai1_windows(args.clips)
    n_frames = sum(len(a) for a, _, _ in data)
    print(f"data: {len(data)} Bandai dataset-1 clips, {n_frames} frames, 17 joints (bandai-core), 30 fps")
    schemes = [(f"M5 {n} bins", MotionTokenizer.m5(n), f"{n}") for n in (64, 128, 256, 1024)]
    schemes.append(("coarse/fine 64x64", MotionTokenizer.coarse_fine(64), "4096 (2 tokens/value)"))
    # Predictive (delta) coding: exact up to the bins when max_step = n_bins - 1; a small max_step catches up.
    schemes.append(("delta 256 bins", MotionTokenizer.m5_delta(256), "256 (+511 changes)"))
    schemes.append(("delta 256 bins, max_step 15", MotionTokenizer.m5_delta(256, max_step=15), "256 (+31 changes)"))
    schemes.append(("delta 1024 bins", MotionTokenizer.m5_delta(1024), "1024 (+2047 changes)"))
    # Angles relative to the mean pose (what pretraining fits on its training split; here on all
    # the clips measured): no axis-angle flip near pi, so small changes stay small.
    from hf_motion.rotations import axis_angle_to_matrix, mean_rotation
    from hf_motion.skeletons import resolve_joint_subset

    ref = mean_rotation(sum(axis_angle_to_matrix(a).sum(axis=0) for a, _, _ in data))
    core = resolve_joint_subset("bandai-core")
    for name, tok, levels in [
        ("M5 256 bins, mean-pose reference", MotionTokenizer.m5(256), "256"),
        ("delta 256 bins, mean-pose reference", MotionTokenizer.m5_delta(256), "256 (+511 changes)"),
        ("delta 256 bins, max_step 15, mean-pose reference", MotionTokenizer.m5_delta(256, max_step=15), "256 (+31 changes)"),
    ]:  # fmt: skip
        schemes.append((name, tok.with_angle_reference(ref, core), levels))
    hdr = "| scheme | vocab | levels | angle mean (deg) | angle max (deg) | position mean (cm) | position max (cm) | FK-of-angles mean (cm) | clipped positions |"
    print(hdr)
    print("|" + "---|" * 9)
    no_change = {}
    for name, tok, levels in schemes:
        ang_err, pos_err, fk_err, clipped, total = [], [], [], 0, 0
        n_delta = n_still = 0
        for angles, positions, m in data:
            ids = tok.encode_motion(angles, positions, task="$")
            dec = tok.decode_motion(ids)
            if tok.coding == "delta":
                is_delta = tok.token_codings[ids] == 2
                n_delta += int(is_delta.sum())
                n_still += int((is_delta & (tok.token_values[ids] == tok.max_step)).sum())
            ang_err.append(np.degrees(geodesic_angle(dec.angles, angles)).ravel())
            pos_err.append(np.linalg.norm(dec.positions - positions, axis=-1).ravel() * 100)
            clipped += int((np.abs(positions) > 2.0).any(-1).sum())
            total += positions.shape[0] * positions.shape[1]
            T = len(angles)
            tr = torch.from_numpy(m.translations()[:T])
            _, p_true = fk_tensors(torch.from_numpy(angles), tr, m.skeleton.parents.tolist())
            _, p_dec = fk_tensors(torch.from_numpy(dec.angles), tr, m.skeleton.parents.tolist())
            fk_err.append(torch.linalg.norm(p_dec - p_true, dim=-1).numpy().ravel() * 100)
        a, p, k = (np.concatenate(x) for x in (ang_err, pos_err, fk_err))
        print(
            f"| {name} | {len(tok)} | {levels} | {a.mean():.3f} | {a.max():.3f} | {p.mean():.3f} | {p.max():.3f} "
            f"| {k.mean():.3f} | {clipped / total:.2%} |"
        )
        if n_delta:
            no_change[name] = n_still / n_delta
    for name, share in no_change.items():
        print(f"{name}: {share:.1%} of the change tokens are 'no change' (30 fps)")


if __name__ == "__main__":
    main()
