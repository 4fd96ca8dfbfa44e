#!/usr/bin/env python
"""Rate and distortion of a trained motion VQ-VAE against M5's uniform codes, on its held-out clips.

    python bench/rate_distortion.py --vq-model runs/vq [--plot docs/rate_distortion.png]

Rebuilds the tokenizer run's group split (from ``vq_summary.json``), then codes the held-out clips
with the VQ-VAE (every prefix of its residual layers: the same model at 5, 10, ... tokens/s) and
with M5's uniform bins, coarse/fine code and predictive coding, and prints one table.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--vq-model", type=Path, default=Path("runs/vq"))
    p.add_argument("--bins", default="16,32,64,128,256")
    p.add_argument("--plot", type=Path, default=None, help="write the plot here (PNG)")
    args = p.parse_args(argv)

    from transformers import AutoModel, AutoProcessor

    import hf_motion  # noqa: F401
    from hf_motion.datasets import as_collection
    from hf_motion.models.motion_vq.training_motion_vq import evaluate_reconstruction, load_motions, split_clips
    from hf_motion.rate_distortion import plot_rate_distortion, rate_distortion_table, uniform_code_points

    t0 = time.perf_counter()
    summary = json.loads((args.vq_model / "vq_summary.json").read_text())
    vq, processor = AutoModel.from_pretrained(args.vq_model).eval(), AutoProcessor.from_pretrained(args.vq_model)
    collection = as_collection(summary["sources"])
    if summary.get("max_clips") is not None:
        collection = collection[: summary["max_clips"]]
    fractions = {k: float(v) for k, v in (s.split("=") for s in summary["splits"].split(","))}
    test = load_motions(split_clips(collection, fractions, summary["split_seed"])["test"], processor.fps, progress=False)
    c = vq.config
    name = f"VQ {c.quantizer} {c.num_quantizers}x{c.codebook_size}"
    layers = range(1, c.num_quantizers + 1) if c.quantizer == "residual" else [c.num_quantizers]
    points = []
    for n in layers:
        rec = evaluate_reconstruction(vq, processor, test, num_layers=n if c.quantizer == "residual" else None)
        points.append(rec.rate_distortion_point(name, f"{n} layer(s)", c.codebook_size * n))
        print(f"{name}, {n} layer(s): {rec.tokens_per_second:g} tokens/s, MPJPE {rec.mpjpe_mm:.1f} mm, "
              f"codes in use {rec.code_usage:.1%}")  # fmt: skip
    keep = [processor.layout.joint_names[j] for j in [processor.layout.root] + processor.layout.body_joints]
    bins = [int(b) for b in args.bins.split(",") if b.strip()]
    points += uniform_code_points([m.select_joints(keep) for m in test], bins=bins, progress=False)
    print(f"\n{len(test)} held-out clips at {processor.fps:g} fps, {sum(m.num_frames for m in test)} frames\n")
    print(rate_distortion_table(points))
    if args.plot is not None:
        plot_rate_distortion(points, args.plot, title=f"held-out clips at {processor.fps:g} fps")
        print(f"\nwrote {args.plot}")
    print(f"({time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
