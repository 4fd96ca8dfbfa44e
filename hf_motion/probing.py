"""Frozen-backbone linear probes: what a pretrained motion model's hidden states say about a clip,
read by a linear classifier, beside full fine-tuning (:mod:`hf_motion.finetuning`).

A probe keeps the backbone fixed. :func:`slot_statistics` summarises every window's hidden states
per frame slot (a slot is one position inside a frame: the same joint, axis and digit in every
frame), over the window's frames, by their mean and standard deviation, for every transformer
layer. A clip's features are the mean over its windows (:func:`clip_means`), and a standardised,
class-balanced logistic regression (:func:`make_linear_probe`, scikit-learn) reads them fold by fold
(:func:`hf_motion.cv.run_feature_task`).

:func:`pose_statistics` feeds the same classifier the decoded angles themselves: the mean, standard
deviation and mean absolute frame-to-frame change of every joint component. The table then shows
what the transformer adds over the pose it was given.

    from hf_motion.probing import clip_means, make_linear_probe, slot_statistics
    X = clip_means(slot_statistics(model, windows, frame_width, pad_token_id), window_clip, n_clips)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

__all__ = ["PROBE_SUFFIX", "POSE_LINEAR", "slot_statistics", "pose_statistics", "clip_means", "make_linear_probe"]

PROBE_SUFFIX = " probe"  # "pretrained probe", "from scratch probe"
POSE_LINEAR = "pose-statistics linear"


def _slots(input_ids: torch.Tensor, config) -> tuple[torch.Tensor, torch.Tensor]:
    """``(slot, is_value)``: each token's position inside its frame, and whether it is a motion value."""
    from .models.motion_gpt2.modeling_motion_gpt2 import motion_position_indices

    specials = torch.as_tensor(list(config.special_token_ids), dtype=input_ids.dtype, device=input_ids.device)
    eos = config.eos_token_id if isinstance(config.eos_token_id, int) else None
    slot, _ = motion_position_indices(
        input_ids, config.frame_separator_id, specials, 1, None, None, bos_token_id=config.bos_token_id, eos_token_id=eos
    )
    return slot, ~torch.isin(input_ids, specials)


@torch.no_grad()
def slot_statistics(model, windows: Sequence[np.ndarray], frame_width: int, pad_token_id: int, batch_size: int = 32) -> np.ndarray:
    """``(n_windows, 2 * n_layer * frame_width * n_embd)`` float32: for every layer after the
    embeddings and every frame slot, the mean and standard deviation over the window's frames of
    the hidden state at that slot.

    Args:
        model: a motion GPT-2 (:class:`~hf_motion.MotionGPT2ForMultiTask`, ``...ForCausalLM`` or the
            backbone itself); it is run in eval mode and left as it was.
        windows: token ids of one window each (as :func:`hf_motion.finetuning.motion_windows` makes).
        frame_width: tokens per frame (joints x values per joint); every window must have it.

    Raises:
        ValueError: a window whose frames are wider than ``frame_width``, naming the window.
    """
    from .training import eval_window_batches

    backbone = getattr(model, "transformer", model)
    out = []
    done = 0
    for batch in eval_window_batches(backbone, list(windows), pad_token_id, batch_size):
        ids, mask = batch["input_ids"], batch["attention_mask"]
        slot, is_value = _slots(ids, backbone.config)
        is_value &= mask.bool()
        if bool((slot[is_value] >= frame_width).any()):
            row = int(torch.nonzero((slot >= frame_width) & is_value)[0, 0])
            raise ValueError(f"window {done + row} has frames wider than frame_width={frame_width} tokens")
        done += ids.shape[0]
        index = torch.where(is_value, slot, torch.zeros_like(slot))
        weight = is_value.to(torch.float32)
        count = torch.zeros(ids.shape[0], frame_width, device=ids.device).scatter_add_(1, index, weight).clamp_min(1.0)
        hidden = backbone(input_ids=ids, attention_mask=mask, output_hidden_states=True).hidden_states[1:]
        parts = []
        for h in hidden:
            h = h.float() * weight.unsqueeze(-1)
            idx = index.unsqueeze(-1).expand_as(h)
            zeros = torch.zeros(ids.shape[0], frame_width, h.shape[-1], device=ids.device)
            mean = zeros.scatter_add(1, idx, h) / count.unsqueeze(-1)
            # two passes: E[x^2] - E[x]^2 cancels badly in float32 for small spreads
            centred = (h - mean.gather(1, idx)) * weight.unsqueeze(-1)
            var = zeros.scatter_add(1, idx, centred * centred) / count.unsqueeze(-1)
            parts += [mean.flatten(1), var.sqrt().flatten(1)]
        out.append(torch.cat(parts, dim=1).cpu().numpy())
    width = 2 * backbone.config.n_layer * frame_width * backbone.config.n_embd
    return np.concatenate(out) if out else np.zeros((0, width), np.float32)


def pose_statistics(tokenizer, windows: Sequence[np.ndarray]) -> np.ndarray:
    """``(n_windows, 3 * joints * 3)``: each window's decoded angles, per joint component, by mean,
    standard deviation and mean absolute change between frames (0 for a one-frame window)."""
    rows = []
    for w in windows:
        angles = np.asarray(tokenizer.decode_motion(w).angles, dtype=np.float64)
        a = angles.reshape(angles.shape[0], -1)
        change = np.abs(np.diff(a, axis=0)).mean(0) if a.shape[0] > 1 else np.zeros(a.shape[1])
        rows.append(np.concatenate([a.mean(0), a.std(0), change]))
    return np.stack(rows).astype(np.float32) if rows else np.zeros((0, 0), np.float32)


def clip_means(window_features: np.ndarray, window_clip: Sequence[int], n_clips: int) -> np.ndarray:
    """``(n_clips, features)``: the mean of each clip's window rows.

    Raises:
        ValueError: a clip with no window, naming it.
    """
    owner = np.asarray(window_clip, dtype=np.int64)
    counts = np.bincount(owner, minlength=n_clips)
    if (counts == 0).any():
        raise ValueError(f"clip {int(np.argmin(counts))} has no window to take features from")
    sums = np.zeros((n_clips, window_features.shape[1]), np.float64)
    np.add.at(sums, owner, window_features)
    return (sums / counts[:, None]).astype(np.float32)


def make_linear_probe(kind: str, C: float, seed: int):
    """Standardised features into a class-balanced logistic regression (``binary``/``multiclass``)
    or a ridge regression with ``alpha = 1 / C`` (``regression``). ``C`` is the inverse strength
    of the L2 penalty."""
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if not C > 0:
        raise ValueError(f"the probe's C must be > 0, got {C!r}")
    if kind == "regression":
        return make_pipeline(StandardScaler(), Ridge(alpha=1.0 / C))
    return make_pipeline(StandardScaler(), LogisticRegression(C=C, class_weight="balanced", max_iter=5000, random_state=seed))
