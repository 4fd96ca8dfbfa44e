"""Per-task loss weights for multi-task motion pretraining.

A packed pretraining row mixes examples of several tasks (``acm``, ``pcm``, ``fk``, ``ik``) and
may start inside one; the dataset builder stores, per token, the index of its example's task
(the ``token_task`` column, indices into ``MotionDatasetConfig.tasks``). The language-model loss
is then the weighted mean ``sum_i w[task_i] * ce_i / sum_i w[task_i]`` over the labelled tokens,
so a task of weight 0 drops out and equal weights give the usual mean cross-entropy.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
import torch.nn.functional as F

__all__ = ["parse_task_loss_weights", "task_weighted_lm_loss"]


def parse_task_loss_weights(spec: str | Mapping[str, float] | None, task_names: Sequence[str]) -> list[float] | None:
    """``"acm=2,ik=0.5"`` (tasks not named weigh 1) -> one weight per task of ``task_names``, or
    None when every weight is 1 (the plain loss).

    Raises:
        ValueError: an unknown or repeated task, a weight that is not a finite number >= 0, or all weights 0.
    """
    if spec is None or spec == "":
        return None
    if isinstance(spec, str):
        items = {}
        for part in (p.strip() for p in spec.split(",") if p.strip()):
            name, sep, value = part.partition("=")
            name = name.strip()
            if not sep:
                raise ValueError(f"task loss weight {part!r}: expected task=weight, e.g. 'acm=2,ik=0.5'")
            if name in items:
                raise ValueError(f"task loss weights name {name!r} twice")
            try:
                items[name] = float(value)
            except ValueError:
                raise ValueError(f"task loss weight {part!r}: {value.strip()!r} is not a number") from None
    else:
        items = {str(k): float(v) for k, v in spec.items()}
    unknown = sorted(set(items) - set(task_names))
    if unknown:
        raise ValueError(f"task loss weights name {unknown}, which are not among the trained tasks {list(task_names)}")
    weights = [items.get(name, 1.0) for name in task_names]
    bad = [(n, w) for n, w in zip(task_names, weights) if not (w >= 0 and w < float("inf"))]
    if bad:
        raise ValueError(f"task loss weights must be finite numbers >= 0, got {bad}")
    if not any(weights):
        raise ValueError(f"every task loss weight is 0 ({dict(zip(task_names, weights))}): nothing would be trained")
    return None if all(w == 1.0 for w in weights) else weights


def task_weighted_lm_loss(logits: torch.Tensor, labels: torch.Tensor, token_task: torch.Tensor, weights: Sequence[float]) -> torch.Tensor:
    """Next-token cross-entropy, each target token weighted by its task's weight.

    Args:
        logits: ``(B, L, V)``; labels: ``(B, L)`` with ``-100`` for unlabelled tokens (shifted here,
            as transformers' causal-LM loss does); token_task: ``(B, L)`` task index per token;
            weights: one weight per task index.
    """
    if logits.shape[:2] != labels.shape or labels.shape != token_task.shape:
        raise ValueError(
            f"logits {tuple(logits.shape)}, labels {tuple(labels.shape)} and token_task {tuple(token_task.shape)} "
            "must share (batch, length)"
        )
    w_table = torch.as_tensor(list(weights), dtype=torch.float32, device=logits.device)
    if int(token_task.max()) >= len(w_table) or int(token_task.min()) < 0:
        raise ValueError(f"token_task holds task indices outside [0, {len(w_table)}); weights cover {len(w_table)} tasks")
    target = labels[:, 1:]
    ce = F.cross_entropy(logits[:, :-1].flatten(0, 1).float(), target.flatten(), ignore_index=-100, reduction="none")
    w = w_table[token_task[:, 1:].long()].flatten() * (target.flatten() != -100)
    return (ce * w).sum() / w.sum().clamp(min=1e-12)
