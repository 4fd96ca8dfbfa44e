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

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from transformers import TrainingArguments
from transformers.trainer_utils import IntervalStrategy, SchedulerType


@dataclass
class VQDataArguments:
    sources: list[str] = field(default_factory=lambda: ["bandai-namco"], metadata={"help": "folders of motion or named sources"})
    fps: float = field(default=20.0, metadata={"help": "frame rate the tokenizer works at"})
    window: int = field(default=64, metadata={"help": "frames per training window (a multiple of downsample)"})
    stride: int = field(default=32, metadata={"help": "frames between training windows"})
    splits: str = field(default="train=0.8,validation=0.1,test=0.1", metadata={"help": "group split fractions"})
    split_seed: int = field(default=0, metadata={"help": "seed of the group split"})
    max_clips: int | None = field(default=None, metadata={"help": "use only the first N clips (smoke runs)"})
    rate_distortion_bins: str = field(default="16,32,64,128,256", metadata={"help": "M5 bin counts for the table ('' skips M5 rows)"})


@dataclass
class VQModelArguments:
    quantizer: str = field(default="residual", metadata={"help": "vq, residual (MoMask) or product (PoseGPT)"})
    num_quantizers: int = field(default=4, metadata={"help": "residual layers or product factors"})
    codebook_size: int = 512
    codebook_dim: int = 256
    lookup_dim: int | None = field(default=32, metadata={"help": "width of the code search (factorized codes; None: codebook_dim)"})
    hidden_size: int = 256
    depth: int = 2
    downsample: int = 4
    causal: bool = field(default=False, metadata={"help": "causal encoder (PoseGPT): codes never see the future"})
    quantize_dropout: float = 0.2
    ema_decay: float = 0.99
    dead_code_threshold: float = 0.5
    num_threads: int | None = field(
        default=None, metadata={"help": "torch CPU threads (default: the idle cores per process, not accelerate's OMP_NUM_THREADS=1)"}
    )


@dataclass
class VQTrainingArguments(TrainingArguments):
    """``TrainingArguments`` with this recipe's defaults (a 2-core CPU run of about 10 minutes)."""

    output_dir: str | None = "runs/vq"
    max_steps: int = 3000
    per_device_train_batch_size: int = 32
    learning_rate: float = 5e-4
    lr_scheduler_type: SchedulerType | str = "cosine"
    warmup_steps: float = 100
    logging_steps: float = 100
    save_steps: float = 500
    eval_strategy: IntervalStrategy | str = "steps"
    eval_steps: float | None = 1000
    save_total_limit: int | None = 2
    dataloader_drop_last: bool = True


def make_parser():
    from hf_motion.recipe_args import MotionArgumentParser

    return MotionArgumentParser(
        (VQDataArguments, VQModelArguments, VQTrainingArguments),
        prog="hf-motion train-vq",
        description="train the learned motion tokenizer (VQ-VAE over pose features) and measure it",
    )


def main(data: VQDataArguments, margs: VQModelArguments, targs: VQTrainingArguments) -> dict:
    import torch
    from transformers import Trainer, set_seed
    from transformers.trainer_utils import get_last_checkpoint

    from hf_motion.datasets import as_collection
    from hf_motion.fileio import atomic_write_text
    from hf_motion.models.motion_vq import MotionVQConfig, MotionVQProcessor, MotionVQVAE
    from hf_motion.models.motion_vq.card_motion_vq import vq_model_card
    from hf_motion.models.motion_vq.training_motion_vq import (
        FeatureWindows,
        evaluate_reconstruction,
        feature_statistics,
        load_motions,
        parse_splits,
        split_clips,
    )  # fmt: skip
    from hf_motion.pose_features import PoseFeatureLayout
    from hf_motion.rate_distortion import plot_rate_distortion, rate_distortion_table, uniform_code_points
    from hf_motion.training import set_cpu_threads

    set_cpu_threads(margs.num_threads)
    set_seed(targs.seed)
    t0 = time.perf_counter()
    fractions = parse_splits(data.splits)
    collection = as_collection(data.sources)
    if data.max_clips is not None:
        collection = collection[: data.max_clips]
    split = split_clips(collection, fractions, data.split_seed)
    motions = {name: load_motions(clips, data.fps, desc=f"{name} clips") for name, clips in split.items()}
    layout = PoseFeatureLayout.from_motion(motions["train"][0])
    feats = {name: [layout.encode(m, f"{name} clip {i}") for i, m in enumerate(ms)] for name, ms in motions.items()}
    pos = layout.channels["positions"]
    config = MotionVQConfig(input_dim=layout.dim, position_channel=[pos.start, pos.stop], **asdict(margs))
    processor = MotionVQProcessor(layout, fps=data.fps, downsample=config.downsample, codebook_size=config.codebook_size,
                                  tokens_per_step=config.tokens_per_step)  # fmt: skip
    model = MotionVQVAE(config)
    model.set_normalization(*feature_statistics(feats["train"]))
    train_ds = FeatureWindows(feats["train"], data.window, data.stride, config.downsample)
    eval_ds = FeatureWindows(feats["validation"], data.window, data.window, config.downsample)
    print(f"clips: {', '.join(f'{k} {len(v)}' for k, v in split.items())}; training windows: {len(train_ds)} "
          f"of {data.window} frames at {data.fps:g} fps; data ready in {time.perf_counter() - t0:.0f} s")  # fmt: skip
    out = Path(targs.output_dir)
    last = get_last_checkpoint(str(out)) if out.is_dir() else None
    trainer = Trainer(model=model, args=targs, train_dataset=train_ds, eval_dataset=eval_ds)
    t_train = time.perf_counter()
    trainer.train(resume_from_checkpoint=last)
    train_seconds = time.perf_counter() - t_train
    if trainer.is_world_process_zero():
        model.save_pretrained(out)
        processor.save_pretrained(out)
        processor.save_code_vocabulary(out)
    rec = evaluate_reconstruction(model.cpu(), processor, motions["test"])
    name = f"VQ {config.quantizer} {config.num_quantizers}x{config.codebook_size}"
    points = [rec.rate_distortion_point(name, f"x{config.downsample}, {'causal' if config.causal else 'non-causal'}",
                                        config.codebook_size * config.tokens_per_step)]  # fmt: skip
    if config.quantizer == "residual":  # the first layers alone are the same model at a lower rate
        for layers in range(1, config.num_quantizers):
            coarse = evaluate_reconstruction(model, processor, motions["test"], num_layers=layers)
            points.append(coarse.rate_distortion_point(name, f"first {layers} layer(s)", config.codebook_size * layers))
    bins = [int(b) for b in data.rate_distortion_bins.split(",") if b.strip()]
    if bins:  # M5 codes the same held-out clips; the trajectory joint's static ancestors are left out
        keep = [processor.layout.joint_names[j] for j in [processor.layout.root] + processor.layout.body_joints]
        points += uniform_code_points([m.select_joints(keep) for m in motions["test"]], bins=bins, progress=False)
    table = rate_distortion_table(points)
    plot_rate_distortion(points, out / "rate_distortion.png", title=f"held-out clips at {data.fps:g} fps")
    summary = {
        "reconstruction": rec.to_dict(), "clips": {k: len(v) for k, v in split.items()},
        "sources": list(data.sources), "splits": data.splits, "split_seed": data.split_seed, "max_clips": data.max_clips, "fps": data.fps, "train_seconds": train_seconds,
        "steps": trainer.state.global_step, "device": str(next(model.parameters()).device),
        "machine": f"{torch.get_num_threads()} CPU threads" if not torch.cuda.is_available() else torch.cuda.get_device_name(),
        "rate_distortion": [p.to_dict() for p in points],
    }  # fmt: skip
    if trainer.is_world_process_zero():
        atomic_write_text(out / "vq_summary.json", json.dumps(summary, indent=2))
        atomic_write_text(out / "rate_distortion.md", table + "\n")
        vq_model_card(model, processor, rec, summary, table).save(out / "README.md")
    print(f"\nheld-out reconstruction ({rec.num_clips} clips, {rec.num_frames} frames):")
    print(f"  MPJPE {rec.mpjpe_mm:.1f} mm (position channel), {rec.mpjpe_fk_mm:.1f} mm (FK of decoded rotations), "
          f"joint angle error {rec.angle_error_deg:.2f} deg")  # fmt: skip
    print(f"  codes in use {rec.code_usage:.1%} (per codebook {[f'{u:.0%}' for u in rec.usage_per_codebook]}), "
          f"perplexity {rec.perplexity:.0f}; {rec.tokens_per_second:g} tokens/s")  # fmt: skip
    print(f"  speed: encode {rec.encode_realtime:.0f}x, decode {rec.decode_realtime:.0f}x real time")
    print(f"must-hold: MPJPE {rec.mpjpe_mm:.1f} mm <= 30 at x{config.downsample}: {rec.mpjpe_mm <= 30 and config.downsample == 4}; "
          f"codes in use {rec.code_usage:.1%} > 80%: {rec.code_usage > 0.8}; "
          f"speed >= 100x real time: {min(rec.encode_realtime, rec.decode_realtime) >= 100}")  # fmt: skip
    print("\n" + table)
    print(f"\ntrained {trainer.state.global_step} steps in {train_seconds / 60:.1f} min; total {(time.perf_counter() - t0) / 60:.1f} min")
    return summary


def cli(argv=None) -> dict:
    """Parse ``argv`` (default: the command line; ``--config FILE.yaml`` supplies defaults) and run."""
    return main(*make_parser().parse(argv))


if __name__ == "__main__":
    cli()
