"""Bench: how much motion fits in a model's context, and predicting past it with a sliding context.

    python bench/context_length.py [RIG_FOLDER] [--fps 25] [--context 2.0] [--seconds 0.4]

Reads the changed-rig BVH folder written by ``bench/changed_rig.py`` (31 joints, CMU names, 120 fps;
default: its default output folder), keeps *all* joints, resamples to ``--fps`` and prints, for the
delta tokenizer and the default tiny model's 1,280 positions: tokens per frame and per second of
motion, how many frames and seconds fit, and the tokens that ``--context`` s of context plus
``--seconds`` s of prediction need. Then it runs :func:`hf_motion.predict` with ``sliding=True``
on that context (an untrained model: this checks the mechanism and its cost, not quality) and
prints the wall time.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("rig", nargs="?", default=str(Path(tempfile.gettempdir()) / "hf_motion-changed-rig"))
    p.add_argument("--fps", type=float, default=25.0)
    p.add_argument("--context", type=float, default=2.0, help="seconds of context")
    p.add_argument("--seconds", type=float, default=0.4, help="seconds to predict")
    args = p.parse_args(argv)
    import torch

    import hf_motion as hm
    from hf_motion.modeling import MotionGPT2ForCausalLM, motion_gpt2_config

    torch.set_num_threads(1)
    files = sorted(Path(args.rig).glob("*.bvh"))
    if not files:
        raise SystemExit(f"no BVH files in {args.rig}; run python bench/changed_rig.py {args.rig} first")
    motion = hm.resample_motion(hm.load_bvh(files[0]), args.fps)
    n_ctx = int(round(args.context * args.fps))
    if motion.num_frames < n_ctx:
        raise SystemExit(f"{files[0]} has {motion.num_frames} frames at {args.fps:g} fps, fewer than {n_ctx}")
    tok = hm.MotionTokenizer.m5_delta(256, joint_names=motion.skeleton.names)
    torch.manual_seed(0)
    model = MotionGPT2ForCausalLM(motion_gpt2_config("tiny", tok, n_positions=1280)).eval()
    cap = hm.context_capacity(model, tok, motion.num_joints, fps=args.fps)
    n_new = int(round(args.seconds * args.fps))
    need = 2 + (n_ctx + n_new) * cap["tokens_per_frame"]
    print(f"{files[0].name}: {motion.num_joints} joints at {args.fps:g} fps")
    print(f"  tokens per frame: {cap['tokens_per_frame']}, per second of motion: {cap['tokens_per_second']:.0f}")
    print(f"  the tiny model's {cap['positions']} positions hold {cap['frames']} frames = {cap['seconds']:.2f} s")
    print(f"  {args.context:g} s context + {args.seconds:g} s prediction = {need} tokens "
          f"(a model with n_positions >= {need} reads it whole)")  # fmt: skip
    context = motion.slice(0, n_ctx)
    t0 = time.perf_counter()
    pred = hm.predict(model, tok, context, seconds=args.seconds, sliding=True, decoding="mean", anchor=True)
    dt = time.perf_counter() - t0
    print(f"  predict(sliding=True): {pred.num_frames} frames from the last {cap['frames'] - max(1, min(n_new, cap['frames'] // 2))} "
          f"context frames per chunk, {dt:.2f} s on one CPU thread")  # fmt: skip
    assert pred.num_frames == n_new and pred.num_joints == motion.num_joints
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
