"""Data, training and evaluation of the motion VQ-VAE: the pieces, and the whole tokenizer run
(:func:`train_motion_tokenizer`, what ``hf-motion train-vq`` and ``recipes/train_vq.py`` run)."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from scipy.spatial.transform import Rotation
from transformers import TrainingArguments
from transformers.trainer_utils import IntervalStrategy, SchedulerType

from ...motion import Motion
from ...rate_distortion import RateDistortionPoint
from .modeling_motion_vq import MotionVQVAE
from .processing_motion_vq import MotionVQProcessor


def feature_statistics(features: Sequence[np.ndarray], min_std: float = 1e-3) -> tuple[np.ndarray, np.ndarray]:
    """Per-feature mean and std over all frames; a std below ``min_std`` (a constant channel) becomes 1."""
    if not features:
        raise ValueError("no feature sequence to compute statistics on")
    cat = np.concatenate([np.asarray(f, dtype=np.float64) for f in features])
    mean, std = cat.mean(0), cat.std(0)
    std[std < min_std] = 1.0
    return mean.astype(np.float32), std.astype(np.float32)


class FeatureWindows(torch.utils.data.Dataset):
    """Fixed windows of ``window`` frames (a multiple of the downsampling) every ``stride`` frames
    over a list of ``(T_i, D)`` feature arrays. Clips shorter than a window give one window padded
    with their last frame (masked). Fixed windows keep a resumed Trainer run exact."""

    def __init__(self, features: Sequence[np.ndarray], window: int, stride: int, downsample: int = 4) -> None:
        if window < 1 or window % downsample:
            raise ValueError(f"window ({window}) must be a positive multiple of downsample ({downsample})")
        if stride < 1:
            raise ValueError(f"stride must be >= 1, got {stride}")
        self.features, self.window = [np.asarray(f, dtype=np.float32) for f in features], window
        self.index = []
        for i, f in enumerate(self.features):
            T = len(f)
            starts = range(0, T - window + 1, stride) if T >= window else ([0] if T else [])
            self.index += [(i, s) for s in starts]
        if not self.index:
            raise ValueError("no window: every clip is empty")

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, k: int) -> dict[str, torch.Tensor]:
        i, s = self.index[k]
        f = self.features[i][s : s + self.window]
        mask = np.zeros(self.window, dtype=np.float32)
        mask[: len(f)] = 1
        if len(f) < self.window:
            f = np.concatenate([f, np.repeat(f[-1:], self.window - len(f), axis=0)])
        return {"features": torch.from_numpy(f), "attention_mask": torch.from_numpy(mask)}


@dataclass
class VQReconstruction:
    """Held-out reconstruction of a motion VQ-VAE.

    Attributes:
        mpjpe_mm: mean per-joint position error of the decoded position channel (body joints
            relative to the trajectory joint, in its heading frame), millimetres.
        mpjpe_fk_mm: the same error for positions recomputed by FK from the decoded rotations.
        angle_error_deg: mean geodesic error of the body joints' decoded local rotations.
        code_usage: fraction of each codebook's codes used on these clips (mean over codebooks).
        perplexity: ``exp`` of the code-usage entropy (mean over codebooks).
        tokens_per_second: code ids per second of motion (``fps / downsample * L``).
        encode_realtime, decode_realtime: seconds of motion encoded/decoded per second of compute.
    """

    mpjpe_mm: float
    mpjpe_fk_mm: float
    angle_error_deg: float
    code_usage: float
    perplexity: float
    tokens_per_second: float
    num_clips: int
    num_frames: int
    encode_realtime: float
    decode_realtime: float
    usage_per_codebook: list[float] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)

    def rate_distortion_point(self, method: str, setting: str, vocab_size: int) -> RateDistortionPoint:
        return RateDistortionPoint(
            method=method, setting=setting, tokens_per_second=self.tokens_per_second, mpjpe_mm=self.mpjpe_mm,
            angle_error_deg=self.angle_error_deg, vocab_size=vocab_size, num_frames=self.num_frames,
        )  # fmt: skip


@torch.no_grad()
def evaluate_reconstruction(
    model: MotionVQVAE, processor: MotionVQProcessor, motions: Sequence[Motion], num_layers: int | None = None
) -> VQReconstruction:
    """Encode and decode every clip (at the processor's rate) and measure the errors and code use.

    ``num_layers`` (residual models): decode from the first layers only, a lower rate."""
    if not motions:
        raise ValueError("no clip to evaluate")
    model.eval()
    layout, c = processor.layout, model.config
    device = next(model.parameters()).device
    pos_err, fk_err, ang_err, n_frames, seconds = [], [], [], 0, 0.0
    L = c.tokens_per_step if num_layers is None else num_layers
    counts = np.zeros((L, c.codebook_size), dtype=np.int64)
    t_enc = t_dec = 0.0
    for i, motion in enumerate(motions):
        feats = processor.features(motion, f"clip {i}")
        T = len(feats)
        batch = processor.pad([feats])["features"].to(device)
        t0 = time.perf_counter()
        codes = model.encode(batch)
        if num_layers is not None:
            codes = codes[..., :num_layers]
        t1 = time.perf_counter()
        recon = model.decode(codes)[0, :T].cpu().numpy()
        t2 = time.perf_counter()
        t_enc, t_dec = t_enc + t1 - t0, t_dec + t2 - t1
        for layer in range(L):
            counts[layer] += np.bincount(codes[0, :, layer].cpu().numpy(), minlength=c.codebook_size)
        true_pos = layout.positions(feats)
        pos_err.append(np.linalg.norm(layout.positions(recon) - true_pos, axis=-1).reshape(-1))
        fk = layout.positions(layout.encode(layout.decode(recon, processor.fps)))
        fk_err.append(np.linalg.norm(fk - true_pos, axis=-1).reshape(-1))
        r_true = Rotation.from_matrix(layout.rotations(feats).reshape(-1, 3, 3))
        r_rec = Rotation.from_matrix(layout.rotations(recon).reshape(-1, 3, 3))
        ang_err.append((r_true.inv() * r_rec).magnitude())
        n_frames += T
        seconds += T / processor.fps
    usage = [(row > 0).mean() for row in counts]
    perps = []
    for row in counts:
        p = row / max(row.sum(), 1)
        perps.append(float(np.exp(-(p[p > 0] * np.log(p[p > 0])).sum())))
    return VQReconstruction(
        mpjpe_mm=float(np.concatenate(pos_err).mean() * 1000),
        mpjpe_fk_mm=float(np.concatenate(fk_err).mean() * 1000),
        angle_error_deg=float(np.degrees(np.concatenate(ang_err).mean())),
        code_usage=float(np.mean(usage)),
        perplexity=float(np.mean(perps)),
        tokens_per_second=processor.fps / c.downsample * L,
        num_clips=len(motions),
        num_frames=n_frames,
        encode_realtime=seconds / max(t_enc, 1e-9),
        decode_realtime=seconds / max(t_dec, 1e-9),
        usage_per_codebook=[float(u) for u in usage],
    )


def split_clips(collection, fractions: dict[str, float], seed: int = 0) -> dict[str, list]:
    """The clips of each split, assigned by group (all takes of a group in one split), weighted by clip count."""
    from ...datasets.builder import assign_splits

    weights: dict[str, float] = {}
    for clip in collection:
        weights[clip.group] = weights.get(clip.group, 0) + 1
    if len(weights) < len(fractions):
        raise ValueError(f"{len(weights)} groups cannot fill the {len(fractions)} splits {list(fractions)}")
    of_group = assign_splits(weights, fractions, seed)
    out: dict[str, list] = {name: [] for name in fractions}
    for clip in collection:
        out[of_group[clip.group]].append(clip)
    return out


def parse_splits(spec: str) -> dict[str, float]:
    """``"train=0.8,validation=0.1,test=0.1"`` -> ``{"train": 0.8, ...}`` (a clear error otherwise)."""
    try:
        return {k.strip(): float(v) for k, v in (p.split("=") for p in spec.split(","))}
    except ValueError:
        raise ValueError(f"splits must look like 'train=0.8,validation=0.1,test=0.1', got {spec!r}") from None


def load_tokenizer_run(vq_dir) -> tuple[Any, Any, dict, dict[str, list]]:
    """What a recipe built on a trained tokenizer needs: ``(model, processor, vq_summary, split)``,
    where ``split`` is the tokenizer's own group split of its clips, rebuilt from what
    ``vq_summary.json`` records (so held-out clips stay held out). A folder without
    ``vq_summary.json`` raises ``FileNotFoundError`` naming the recipe that writes it."""
    from transformers import AutoModel, AutoProcessor

    from ...datasets import as_collection

    vq_dir = Path(vq_dir)
    summary_path = vq_dir / "vq_summary.json"
    if not summary_path.is_file():
        raise FileNotFoundError(f"{vq_dir} has no vq_summary.json: train the tokenizer first (python recipes/train_vq.py)")
    summary = json.loads(summary_path.read_text())
    model, processor = AutoModel.from_pretrained(vq_dir).eval(), AutoProcessor.from_pretrained(vq_dir)
    collection = as_collection(summary["sources"])
    if summary.get("max_clips") is not None:  # the tokenizer split only its first N clips: the same split
        collection = collection[: summary["max_clips"]]
    return model, processor, summary, split_clips(collection, parse_splits(summary["splits"]), summary["split_seed"])


def load_motions(clips, fps: float, progress: bool = True, desc: str = "loading clips") -> list[Motion]:
    """Read and resample every clip to ``fps`` (a progress bar over the clips)."""
    from tqdm.auto import tqdm

    from ...resample import resample_motion

    out = []
    for clip in tqdm(clips, desc=desc, disable=not progress, unit="clip"):
        m = clip.load()
        out.append(m if abs(m.fps - fps) <= 1e-3 * fps else resample_motion(m, fps))
    return out


# ------------------------------------------------------------------ the tokenizer run
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
    """``TrainingArguments`` with the tokenizer run's defaults (a 2-core CPU run of about 10 minutes)."""

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


@dataclass
class MotionTokenizerRun:
    """What :func:`train_motion_tokenizer` returns: the trained tokenizer and its measurements."""

    model: MotionVQVAE
    processor: MotionVQProcessor
    reconstruction: VQReconstruction  # on the held-out test clips
    rate_distortion: list[RateDistortionPoint]  # this model (and its coarser layers), then M5's uniform codes
    table: str  # the rate-distortion table, markdown
    summary: dict[str, Any]  # what vq_summary.json holds
    output_dir: Path
    steps: int
    train_seconds: float


def train_motion_tokenizer(data: VQDataArguments, margs: VQModelArguments, targs: VQTrainingArguments) -> MotionTokenizerRun:
    """Train the learned motion tokenizer and measure it (what ``hf-motion train-vq`` runs).

    Splits the clips by group (``data.splits``), fits the feature statistics on the training split,
    trains with ``transformers.Trainer`` (a rerun with the same ``output_dir`` resumes from its last
    checkpoint) and, on the main process, saves into ``targs.output_dir``: the model, its processor,
    the code vocabulary, ``vq_summary.json``, the rate-distortion table and plot, and the card.
    Thread count and seeding are the caller's (the script sets both).
    """
    from transformers import Trainer
    from transformers.trainer_utils import get_last_checkpoint

    from ...datasets import as_collection
    from ...fileio import atomic_write_text
    from ...pose_features import PoseFeatureLayout
    from ...rate_distortion import plot_rate_distortion, rate_distortion_table, uniform_code_points
    from .card_motion_vq import vq_model_card
    from .configuration_motion_vq import MotionVQConfig

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
    model_fields = {k: v for k, v in asdict(margs).items() if k != "num_threads"}  # threads are not a model property
    config = MotionVQConfig(input_dim=layout.dim, position_channel=[pos.start, pos.stop], **model_fields)
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
        plot_rate_distortion(points, out / "rate_distortion.png", title=f"held-out clips at {data.fps:g} fps")
        atomic_write_text(out / "README.md", str(vq_model_card(model, processor, rec, summary, table)))
    return MotionTokenizerRun(model, processor, rec, points, table, summary, out, trainer.state.global_step, train_seconds)
