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

:func:`probe_model` turns fitted probes into a :class:`~hf_motion.MotionGPT2ForMultiTask` with
``pooling="slot-statistics"`` and the standardisation folded into its linear heads, so a probe is
saved, reloaded and served by ``pipeline("motion-classification")`` like a fine-tuned model.

    from hf_motion.probing import clip_means, make_linear_probe, slot_statistics
    X = clip_means(slot_statistics(model, windows, frame_width, pad_token_id), window_clip, n_clips)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

__all__ = [
    "PROBE_SUFFIX",
    "POSE_LINEAR",
    "slot_statistics",
    "pose_statistics",
    "clip_means",
    "make_linear_probe",
    "linear_head_parameters",
    "probe_model",
]

PROBE_SUFFIX = " probe"  # "pretrained probe", "from scratch probe"
POSE_LINEAR = "pose-statistics linear"


@torch.no_grad()
def slot_statistics(model, windows: Sequence[np.ndarray], frame_width: int, pad_token_id: int, batch_size: int = 32) -> np.ndarray:
    """``(n_windows, 2 * n_layer * frame_width * n_embd)`` float32: for every layer after the
    embeddings and every frame slot, the mean and standard deviation over the window's frames of
    the hidden state at that slot
    (:func:`~hf_motion.models.motion_gpt2.modeling_motion_gpt2_multitask.frame_slot_statistics`).

    Args:
        model: a motion GPT-2 (:class:`~hf_motion.MotionGPT2ForMultiTask`, ``...ForCausalLM`` or the
            backbone itself); it is run in eval mode and left as it was.
        windows: token ids of one window each (as :func:`hf_motion.finetuning.motion_windows` makes).
        frame_width: tokens per frame (joints x values per joint); every window must have it.

    Raises:
        ValueError: a window whose frames are wider than ``frame_width``, naming the window.
    """
    from .models.motion_gpt2.modeling_motion_gpt2_multitask import frame_slot_statistics
    from .training import eval_window_batches

    backbone = getattr(model, "transformer", model)
    out = []
    done = 0
    for batch in eval_window_batches(backbone, list(windows), pad_token_id, batch_size):
        ids, mask = batch["input_ids"], batch["attention_mask"]
        hidden = backbone(input_ids=ids, attention_mask=mask, output_hidden_states=True).hidden_states[1:]
        features = frame_slot_statistics(backbone.config, ids, mask, hidden, frame_width, first_row=done, row_name="window")
        done += ids.shape[0]
        out.append(features.cpu().numpy())
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


def linear_head_parameters(estimator, kind: str, num_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """``(weight (outputs, features), bias (outputs,))`` of one head computing ``estimator``'s
    logits from raw features: the :func:`make_linear_probe` pipeline's standardisation folded into
    its linear model. ``binary``: one logit, ``sigmoid`` of which is the positive-class
    probability; ``multiclass``: ``num_classes`` logits, a class the fit never saw gets a bias of
    -1e4 (probability 0, as in cross-validation); ``regression``: the predicted value.

    Raises:
        ValueError: an estimator that is not a fitted scaler + linear model, or a binary fit that
            saw a single class.
    """
    scaler, linear = estimator[0], estimator[-1]
    if not hasattr(scaler, "mean_") or not hasattr(linear, "coef_"):
        raise ValueError("linear_head_parameters needs a fitted make_linear_probe pipeline (StandardScaler + linear model)")
    scale = np.asarray(scaler.scale_ if scaler.scale_ is not None else np.ones_like(scaler.mean_), np.float64)
    coef = np.atleast_2d(np.asarray(linear.coef_, np.float64))
    intercept = np.atleast_1d(np.asarray(linear.intercept_, np.float64))
    if kind == "multiclass":
        seen = [int(c) for c in linear.classes_]
        weight = np.zeros((num_classes, coef.shape[1]))
        bias = np.full(num_classes, -1e4)
        if len(seen) == 2 and coef.shape[0] == 1:  # scikit-learn's two-class case: one logit for classes_[1]
            weight[seen[1]], bias[seen[0]], bias[seen[1]] = coef[0], 0.0, intercept[0]
        else:
            weight[seen], bias[seen] = coef, intercept
    elif kind == "binary":
        if list(linear.classes_) != [0, 1]:
            raise ValueError(f"a binary probe needs classes 0 and 1 in its training data, got classes {list(linear.classes_)}")
        weight, bias = coef, intercept
    else:
        weight, bias = coef.reshape(1, -1), intercept.reshape(1)
    weight = weight / scale
    bias = bias - weight @ scaler.mean_
    return weight.astype(np.float32), bias.astype(np.float32)


def probe_model(backbone, targets: Sequence[dict], estimators: dict, frame_width: int):
    """A :class:`~hf_motion.MotionGPT2ForMultiTask` that is ``backbone`` (its weights, unchanged)
    read by the fitted probes ``{target name: make_linear_probe pipeline}``: ``pooling="slot-statistics"``
    over ``frame_width`` tokens per frame, no dropout, no LM loss. Its window logits averaged over a
    clip are the probe's clip logits."""
    from .models.motion_gpt2.modeling_motion_gpt2_multitask import (
        SLOT_STATISTICS,
        MotionGPT2ForMultiTask,
        MotionMultiTaskConfig,
        normalize_targets,
    )

    targets = normalize_targets(targets)
    missing = [t["name"] for t in targets if t["name"] not in estimators]
    if missing:
        raise ValueError(f"no fitted probe for target(s) {missing}")
    config = MotionMultiTaskConfig.from_backbone_config(
        backbone.config, targets=targets, pooling=SLOT_STATISTICS, frame_width=int(frame_width), lm_loss_weight=0.0, head_dropout=0.0
    )
    model = MotionGPT2ForMultiTask(config)
    model.transformer.load_state_dict(getattr(backbone, "transformer", backbone).state_dict())
    with torch.no_grad():
        for t in targets:
            weight, bias = linear_head_parameters(estimators[t["name"]], t["kind"], t["num_classes"])
            if weight.shape[1] != config.pooled_width:
                raise ValueError(f"the probe for {t['name']!r} has {weight.shape[1]} features; the model pools {config.pooled_width}")
            model.heads[t["name"]].weight.copy_(torch.from_numpy(weight))
            model.heads[t["name"]].bias.copy_(torch.from_numpy(bias))
    return model.eval()
