"""Data, training pieces and evaluation of the motion VQ-VAE (used by ``recipes/train_vq.py``)."""

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
