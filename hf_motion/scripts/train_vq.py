"""Train the learned motion tokenizer (a VQ-VAE over pose features) and measure it.

    accelerate launch recipes/train_vq.py                       # Bandai-Namco, both sets, CPU defaults
    accelerate launch recipes/train_vq.py --sources MY_BVH_FOLDER --fps 20
    accelerate launch recipes/train_vq.py --config recipes/train_vq_gpu.yaml

It splits the clips by group (train / validation / test), fits the feature statistics on the
training split, trains with ``transformers.Trainer`` (progress bar, checkpoints, exact resume: a
rerun with the same ``output_dir`` continues from the last checkpoint), and saves to ``output_dir``:
the model (``AutoModel``), its processor (``AutoProcessor``), the code vocabulary (``AutoTokenizer``),
``vq_summary.json``, a rate-distortion table and plot, and a model card. It prints the held-out
reconstruction error, code usage, speed, and the rate-distortion table against M5's uniform codes.
"""

from __future__ import annotations

import time

from hf_motion.models.motion_vq.training_motion_vq import VQDataArguments, VQModelArguments, VQTrainingArguments, train_motion_tokenizer


def make_parser():
    from hf_motion.recipe_args import MotionArgumentParser

    return MotionArgumentParser(
        (VQDataArguments, VQModelArguments, VQTrainingArguments),
        prog="hf-motion train-vq",
        description="train the learned motion tokenizer (VQ-VAE over pose features) and measure it",
    )


def main(data: VQDataArguments, margs: VQModelArguments, targs: VQTrainingArguments) -> dict:
    from transformers import set_seed

    from hf_motion.training import set_cpu_threads

    set_cpu_threads(margs.num_threads)
    set_seed(targs.seed)
    t0 = time.perf_counter()
    run = train_motion_tokenizer(data, margs, targs)
    rec, config = run.reconstruction, run.model.config
    print(f"\nheld-out reconstruction ({rec.num_clips} clips, {rec.num_frames} frames):")
    print(f"  MPJPE {rec.mpjpe_mm:.1f} mm (position channel), {rec.mpjpe_fk_mm:.1f} mm (FK of decoded rotations), "
          f"joint angle error {rec.angle_error_deg:.2f} deg")  # fmt: skip
    print(f"  codes in use {rec.code_usage:.1%} (per codebook {[f'{u:.0%}' for u in rec.usage_per_codebook]}), "
          f"perplexity {rec.perplexity:.0f}; {rec.tokens_per_second:g} tokens/s")  # fmt: skip
    print(f"  speed: encode {rec.encode_realtime:.0f}x, decode {rec.decode_realtime:.0f}x real time")
    print(f"must-hold: MPJPE {rec.mpjpe_mm:.1f} mm <= 30 at x{config.downsample}: {rec.mpjpe_mm <= 30 and config.downsample == 4}; "
          f"codes in use {rec.code_usage:.1%} > 80%: {rec.code_usage > 0.8}; "
          f"speed >= 100x real time: {min(rec.encode_realtime, rec.decode_realtime) >= 100}")  # fmt: skip
    print("\n" + run.table)
    print(f"\ntrained {run.steps} steps in {run.train_seconds / 60:.1f} min; total {(time.perf_counter() - t0) / 60:.1f} min")
    return run.summary


def cli(argv=None) -> dict:
    """Parse ``argv`` (default: the command line; ``--config FILE.yaml`` supplies defaults) and run."""
    return main(*make_parser().parse(argv))


if __name__ == "__main__":
    cli()
