"""Motion prediction through learned codes: a GPT over VQ codes continues a past of any length.

The past is encoded to codes, the GPT (:mod:`hf_motion.models.motion_code_gpt`) predicts the next code steps,
and the VQ decoder turns past + predicted codes back into pose features. The prediction is
anchored: the decoded future is shifted by the difference between the true and the decoded last
past frame, so that the codec's reconstruction error of the past is not counted as motion.
Scored on the position channel (body joints relative to the trajectory joint, heading frame)
against zero- and constant-velocity, at the same windows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
import torch

from ..motion import Motion


@torch.no_grad()
def encode_clips(vq, processor, motions: Sequence[Motion], batch_size: int = 32) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """``(features, codes)`` of every clip: ``(T_i, D)`` and ``(ceil(T_i / downsample), L)``."""
    vq.eval()
    device = next(vq.parameters()).device
    feats = [processor.features(m, f"clip {i}") for i, m in enumerate(motions)]
    # One clip per call: padding a batch to its longest clip would change the codes of the shorter ones.
    codes = [vq.encode(processor.pad([f])["features"].to(device))[0].cpu().numpy() for f in feats]
    return feats, codes


@torch.no_grad()
def decode_codes_to_features(vq, codes: np.ndarray) -> np.ndarray:
    """``(S, L)`` codes -> ``(S * downsample, D)`` features."""
    device = next(vq.parameters()).device
    return vq.decode(torch.as_tensor(np.asarray(codes), device=device)[None])[0].cpu().numpy()


@dataclass
class CodePredictionResult:
    """Mean per-joint position error (mm) at each horizon, with its std over windows."""

    horizons_ms: list[float]
    model_mm: list[float]
    zero_velocity_mm: list[float]
    constant_velocity_mm: list[float]
    model_std_mm: list[float] = field(default_factory=list)
    zero_velocity_std_mm: list[float] = field(default_factory=list)
    num_windows: int = 0
    past_seconds: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self)

    def to_markdown(self) -> str:
        head = "| MPJPE (mm) | " + " | ".join(f"{h:g} ms" for h in self.horizons_ms) + " |"
        rows = [head, "|---|" + "---:|" * len(self.horizons_ms)]

        def cells(means, stds):  # the std only where it was measured (it defaults to empty)
            return [f"{m:.1f} ± {s:.1f}" for m, s in zip(means, stds)] if len(stds) == len(means) else [f"{m:.1f}" for m in means]

        rows.append("| GPT over VQ codes | " + " | ".join(cells(self.model_mm, self.model_std_mm)) + " |")
        rows.append("| zero-velocity | " + " | ".join(cells(self.zero_velocity_mm, self.zero_velocity_std_mm)) + " |")
        rows.append("| constant-velocity | " + " | ".join(f"{m:.1f}" for m in self.constant_velocity_mm) + " |")
        return "\n".join(rows)


def predict_with_codes(
    vq, processor, gpt, motions: Sequence[Motion], *, past_seconds: float = 2.0,
    horizons_ms: Sequence[float] = (100, 200, 300, 400), stride_seconds: float = 1.0, max_windows: int = 400, seed: int = 0,
) -> CodePredictionResult:  # fmt: skip
    """Prediction benchmark on ``motions`` (held-out clips): windows of ``past_seconds`` of past and
    the longest horizon of future, every ``stride_seconds``, starting on code-step boundaries."""
    from ..models.motion_code_gpt.modeling_motion_code_gpt import generate_codes

    fps, d = processor.fps, vq.config.downsample
    layout = processor.layout
    n_past = int(round(past_seconds * fps / d)) * d
    if n_past < d:
        raise ValueError(f"past_seconds={past_seconds:g} is shorter than one code step ({d} frames at {fps:g} fps)")
    offsets = [int(round(h * fps / 1000)) for h in horizons_ms]
    if min(offsets) < 1:
        raise ValueError(f"horizons {list(horizons_ms)} ms are shorter than one frame at {fps:g} fps")
    n_future_steps = -(-max(offsets) // d)
    stride = max(d, int(round(stride_seconds * fps / d)) * d)
    feats, _ = encode_clips(vq, processor, motions)
    windows = [(i, s) for i, f in enumerate(feats) for s in range(0, len(f) - n_past - max(offsets) + 1, stride)]
    if not windows:
        raise ValueError(f"no clip is long enough for {past_seconds:g} s of past and {max(horizons_ms):g} ms of future")
    rng = np.random.default_rng(seed)
    if len(windows) > max_windows:
        windows = [windows[k] for k in sorted(rng.choice(len(windows), max_windows, replace=False))]
    err_model, err_zero, err_const = [], [], []
    for i, s in windows:
        f = feats[i]
        past = f[s : s + n_past]
        past_codes = vq.encode(torch.from_numpy(past)[None].to(next(vq.parameters()).device))[0].cpu().numpy()
        future_codes = generate_codes(gpt, steps=n_future_steps, past=past_codes, duration=False, greedy=True)[0]
        rec = decode_codes_to_features(vq, np.concatenate([past_codes, future_codes]))
        pos_rec = layout.positions(rec)
        shift = layout.positions(past[-1:])[0] - pos_rec[n_past - 1]
        true = layout.positions(f[s + n_past - 1 : s + n_past + max(offsets)])  # last past frame, then the future
        last, prev = true[0], layout.positions(past[-2:-1])[0]
        err_model.append([np.linalg.norm(pos_rec[n_past - 1 + k] + shift - true[k], axis=-1).mean() for k in offsets])
        err_zero.append([np.linalg.norm(last - true[k], axis=-1).mean() for k in offsets])
        err_const.append([np.linalg.norm(last + k * (last - prev) - true[k], axis=-1).mean() for k in offsets])
    m, z, c = (np.asarray(e) * 1000 for e in (err_model, err_zero, err_const))
    return CodePredictionResult(
        horizons_ms=[float(h) for h in horizons_ms], model_mm=m.mean(0).tolist(), zero_velocity_mm=z.mean(0).tolist(),
        constant_velocity_mm=c.mean(0).tolist(), model_std_mm=m.std(0).tolist(), zero_velocity_std_mm=z.std(0).tolist(),
        num_windows=len(windows), past_seconds=n_past / fps,
    )  # fmt: skip
