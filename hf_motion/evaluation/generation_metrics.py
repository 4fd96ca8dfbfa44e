"""Metrics for generated motion (PoseGPT / T2M-GPT style): FID, diversity, multimodality and
recognition accuracy, all measured in the embedding space of a learned evaluator.

Generated motions reach this module as feature sequences: a list of float arrays of shape
``(T_i, D)`` (lengths may differ), e.g. root-relative joint positions flattened to ``(T, J*3)``,
with their intended labels as ``{"content": [...], "style": [...]}``.

Typical use::

    evaluator = train_evaluator(train_seqs, train_labels, crop=60)
    reference = evaluator.embed(real_test_seqs)
    floor = real_floor(evaluator, real_test_seqs, real_test_labels)
    result = evaluate_generation(evaluator, generated, intended_labels, reference_embeddings=reference)
    print(result.markdown_header()); print(floor.to_markdown_row("real")); print(result.to_markdown_row("model"))

:class:`MotionEvaluator` is a transformers ``PreTrainedModel`` registered with ``AutoConfig`` and
``AutoModel`` (``model_type = "motion_evaluator"``), so a trained evaluator is saved with
``save_pretrained`` and reloaded with ``AutoModel.from_pretrained``; its feature normalisation
statistics travel in its config.
"""

from __future__ import annotations

import math
import warnings
from collections import defaultdict
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import scipy.linalg
import torch
from sklearn.metrics import accuracy_score
from torch import nn
from torch.nn import functional as F
from transformers import AutoConfig, AutoModel, PretrainedConfig, PreTrainedModel
from transformers import initialization as init
from transformers.utils import ModelOutput

from ..remote_code import LoaderConfigMixin

__all__ = [
    "FewSamplesWarning",
    "GenerationMetrics",
    "MotionEvaluator",
    "MotionEvaluatorConfig",
    "MotionEvaluatorOutput",
    "diversity",
    "evaluate_generation",
    "frechet_distance",
    "frechet_distance_from_moments",
    "multimodality",
    "real_floor",
    "train_evaluator",
]


class FewSamplesWarning(UserWarning):
    """Issued when a feature set has no more samples than features: its covariance is singular and
    the FID computed from it is dominated by estimation noise."""


# --------------------------------------------------------------------------- input checks
def _as_features(x: Any, name: str) -> np.ndarray:
    """A finite float64 ``(N, D)`` matrix, or a ValueError naming ``name``."""
    arr = np.asarray(x)
    if np.iscomplexobj(arr) or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise ValueError(f"{name} must be a real-valued (N, D) array, got dtype {arr.dtype}")
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a 2-D (N, D) array, got shape {arr.shape}")
    arr = arr.astype(np.float64)
    if not np.isfinite(arr).all():
        row, col = np.argwhere(~np.isfinite(arr))[0]
        raise ValueError(f"{name} has a non-finite value ({arr[row, col]}) at sample {row}, feature {col}")
    return arr


def _check_sequences(sequences: Any, dim: int | None = None, name: str = "sequences") -> list[np.ndarray]:
    """Float32 ``(T_i, D)`` arrays with one D; errors name the offending sequence index."""
    if isinstance(sequences, np.ndarray) and sequences.ndim == 2:
        # A lone (T, D) array would otherwise be read as T sequences of one frame each.
        raise ValueError(f"{name} must be a list of (T, D) arrays, got one array of shape {sequences.shape}")
    seqs = list(sequences)
    if not seqs:
        raise ValueError(f"{name} is empty: need at least one (T, D) feature sequence")
    out = []
    for i, s in enumerate(seqs):
        arr = np.asarray(s)
        if np.iscomplexobj(arr) or not np.issubdtype(arr.dtype, np.number):
            raise ValueError(f"{name}[{i}] must be a real-valued array, got dtype {arr.dtype}")
        if arr.ndim != 2 or arr.shape[0] < 1 or arr.shape[1] < 1:
            raise ValueError(f"{name}[{i}] must have shape (T, D) with T, D >= 1, got {arr.shape}")
        if dim is None:
            dim = arr.shape[1]
        elif arr.shape[1] != dim:
            raise ValueError(f"{name}[{i}] has {arr.shape[1]} features per frame, expected {dim}")
        bad = ~np.isfinite(arr)
        if bad.any():
            frame, feat = np.argwhere(bad)[0]
            raise ValueError(f"{name}[{i}] has a non-finite value ({arr[frame, feat]}) at frame {frame}, feature {feat}")
        out.append(arr.astype(np.float32))
    return out


def _check_labels(labels: Any, n: int, label_names: Mapping[str, Sequence[str]] | None = None) -> dict[str, list[str]]:
    """``{head: [label per sequence]}`` with one entry per sequence, each in ``label_names[head]``."""
    if not isinstance(labels, Mapping) or not labels:
        raise ValueError(f"labels must be a non-empty dict {{head: [label per sequence]}}, got {labels!r}")
    out = {}
    for key, values in labels.items():
        if isinstance(values, str) or not isinstance(values, (Sequence, np.ndarray)):
            raise ValueError(f"labels[{key!r}] must be a list with one label per sequence, got {type(values).__name__}")
        values = [str(v) for v in values]
        if len(values) != n:
            raise ValueError(f"labels[{key!r}] has {len(values)} entries for {n} sequences")
        if label_names is not None:
            if key not in label_names:
                raise ValueError(f"labels has head {key!r}, which the evaluator lacks (heads: {list(label_names)})")
            known = set(label_names[key])
            for i, v in enumerate(values):
                if v not in known:
                    raise ValueError(f"labels[{key!r}][{i}] = {v!r} is not one of label_names[{key!r}] = {list(label_names[key])}")
        out[key] = values
    return out


def _pad(seqs: Sequence[np.ndarray], device: Any = "cpu") -> tuple[torch.Tensor, torch.Tensor]:
    """Zero-padded ``(B, T_max, D)`` features and a ``(B, T_max)`` 0/1 mask."""
    t_max = max(len(s) for s in seqs)
    feats = np.zeros((len(seqs), t_max, seqs[0].shape[1]), dtype=np.float32)
    mask = np.zeros((len(seqs), t_max), dtype=np.int64)
    for i, s in enumerate(seqs):
        feats[i, : len(s)] = s
        mask[i, : len(s)] = 1
    return torch.from_numpy(feats).to(device), torch.from_numpy(mask).to(device)


def _check_training_options(steps: Any, batch_size: Any, crop: Any, lr: Any, min_std: Any) -> None:
    """The settings both evaluator trainers share (this one and the text-motion evaluator's)."""
    for name, v, low in (("steps", steps, 0), ("batch_size", batch_size, 1)):
        if not _is_int(v) or v < low:
            raise ValueError(f"{name} must be a {'non-negative' if low == 0 else 'positive'} integer, got {v!r}")
    if crop is not None and (not _is_int(crop) or crop < 1):
        raise ValueError(f"crop must be None or a positive number of frames, got {crop!r}")
    if isinstance(lr, bool) or not (isinstance(lr, (int, float)) and math.isfinite(lr) and lr > 0):
        raise ValueError(f"lr must be a positive number, got {lr!r}")
    if isinstance(min_std, bool) or not (isinstance(min_std, (int, float)) and min_std > 0):
        raise ValueError(f"min_std must be a positive number, got {min_std!r}")


def _normalization(seqs: Sequence[np.ndarray], min_std: float) -> tuple[np.ndarray, np.ndarray]:
    """Per-feature mean and std over all frames; a constant feature gets std 1, every std at least ``min_std``."""
    frames = np.concatenate(seqs).astype(np.float64)
    mean, std = frames.mean(axis=0), frames.std(axis=0)
    std[std < 1e-6] = 1.0
    return mean, np.maximum(std, min_std)


def _random_crop(seq: np.ndarray, crop: int | None, rng: np.random.Generator) -> np.ndarray:
    """A random window of ``crop`` frames of a longer ``seq`` (``seq`` itself otherwise)."""
    if crop is None or len(seq) <= crop:
        return seq
    start = int(rng.integers(len(seq) - crop + 1))
    return seq[start : start + crop]


# --------------------------------------------------------------------------- FID, diversity, multimodality
def frechet_distance_from_moments(mu1: Any, sigma1: Any, mu2: Any, sigma2: Any) -> float:
    """Fréchet distance between the Gaussians ``N(mu1, sigma1)`` and ``N(mu2, sigma2)``:
    ``||mu1 - mu2||^2 + tr(sigma1 + sigma2 - 2 (sigma1 sigma2)^(1/2))``.

    Raises:
        ValueError: shapes that do not agree, or non-finite values.
    """
    mu1, mu2 = np.atleast_1d(np.asarray(mu1, dtype=np.float64)), np.atleast_1d(np.asarray(mu2, dtype=np.float64))
    s1, s2 = np.atleast_2d(np.asarray(sigma1, dtype=np.float64)), np.atleast_2d(np.asarray(sigma2, dtype=np.float64))
    d = mu1.shape[0]
    if mu1.ndim != 1 or mu2.shape != (d,) or s1.shape != (d, d) or s2.shape != (d, d):
        raise ValueError(
            f"moments do not agree: mu1 {mu1.shape}, sigma1 {s1.shape}, mu2 {mu2.shape}, sigma2 {s2.shape}; "
            "expected (D,), (D, D), (D,), (D, D)"
        )
    for name, v in (("mu1", mu1), ("sigma1", s1), ("mu2", mu2), ("sigma2", s2)):
        if not np.isfinite(v).all():
            raise ValueError(f"{name} has non-finite values")
    with warnings.catch_warnings():
        # sqrtm warns on near-singular products; the eps retry below handles the cases that matter.
        warnings.simplefilter("ignore")
        covmean = scipy.linalg.sqrtm(s1 @ s2)
        if not np.isfinite(covmean).all():
            # pytorch-fid's fallback: nudge both covariances off singularity.
            offset = np.eye(d) * 1e-6
            covmean = scipy.linalg.sqrtm((s1 + offset) @ (s2 + offset))
    # Round-off gives a tiny imaginary part even when the true root is real.
    covmean = np.real(covmean)
    diff = mu1 - mu2
    fid = float(diff @ diff + np.trace(s1) + np.trace(s2) - 2.0 * np.trace(covmean))
    # Equal sets give -1e-12 and the like: a distance is never negative.
    return max(fid, 0.0)


def _moments(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return x.mean(axis=0), np.atleast_2d(np.cov(x, rowvar=False))


def frechet_distance(a: Any, b: Any) -> float:
    """FID between two feature sets ``a`` ``(N, D)`` and ``b`` ``(M, D)`` (e.g. evaluator embeddings
    of real and generated motion), from their means and sample covariances.

    Raises:
        ValueError: fewer than 2 samples in either set (no covariance), different D, non-finite values.

    Warns:
        FewSamplesWarning: ``N <= D`` or ``M <= D``: the covariance is singular and the FID is
            mostly estimation noise (compare models only at equal, large N).
    """
    a, b = _as_features(a, "a"), _as_features(b, "b")
    if len(a) < 2 or len(b) < 2:
        raise ValueError(f"FID needs at least 2 samples in each set to estimate a covariance, got N={len(a)} and M={len(b)}")
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"feature sets differ in dimension: a has D={a.shape[1]}, b has D={b.shape[1]}")
    d = a.shape[1]
    for n in sorted({len(a), len(b)}):
        if n <= d:
            warnings.warn(
                f"{n} samples for {d} features: the covariance is singular, FID is unreliable",
                FewSamplesWarning,
                stacklevel=2,
            )
    return frechet_distance_from_moments(*_moments(a), *_moments(b))


def _pair_distances(x: np.ndarray, num_pairs: int, rng: np.random.Generator) -> np.ndarray:
    """Euclidean distances of ``num_pairs`` random pairs of distinct rows, or of every pair when
    there are no more than ``num_pairs`` of them (then the value is exact and seed-free)."""
    n = len(x)
    if n * (n - 1) // 2 <= num_pairs:
        i, j = np.triu_indices(n, k=1)
    else:
        i = rng.integers(n, size=num_pairs)
        # Shifting past i draws j uniformly from the other n - 1 rows.
        j = rng.integers(n - 1, size=num_pairs)
        j = j + (j >= i)
    return np.linalg.norm(x[i] - x[j], axis=1)


def _check_num_pairs(num_pairs: Any, name: str) -> int:
    if isinstance(num_pairs, bool) or not isinstance(num_pairs, (int, np.integer)) or num_pairs < 1:
        raise ValueError(f"{name} must be a positive integer, got {num_pairs!r}")
    return int(num_pairs)


def diversity(features: Any, num_pairs: int = 300, seed: int = 0) -> float:
    """Mean Euclidean distance between random pairs of samples ``(N, D)`` (T2M-GPT's diversity,
    which draws 300 pairs). Real motion sets the target value; far below it means mode collapse.

    Raises:
        ValueError: fewer than 2 samples.
    """
    x = _as_features(features, "features")
    num_pairs = _check_num_pairs(num_pairs, "num_pairs")
    if len(x) < 2:
        raise ValueError(f"diversity needs at least 2 samples, got {len(x)}")
    return float(_pair_distances(x, num_pairs, np.random.default_rng(seed)).mean())


def multimodality(features: Any, conditions: Sequence[Hashable], num_pairs: int = 10, seed: int = 0) -> float:
    """Mean distance between pairs of samples generated for the same condition (T2M-GPT draws 10
    pairs per text), averaged over the conditions that have at least 2 samples.

    Args:
        features: ``(N, D)`` embeddings.
        conditions: one hashable condition per sample (a label, or a tuple of labels).

    Raises:
        ValueError: ``conditions`` of another length, or no condition with 2 or more samples.
    """
    x = _as_features(features, "features")
    num_pairs = _check_num_pairs(num_pairs, "num_pairs")
    conditions = list(conditions)
    if len(conditions) != len(x):
        raise ValueError(f"{len(conditions)} conditions for {len(x)} samples")
    groups: dict[Hashable, list[int]] = defaultdict(list)
    for i, c in enumerate(conditions):
        groups[c].append(i)
    rng = np.random.default_rng(seed)
    # Sorting by repr fixes the order in which groups consume the RNG, whatever the input order.
    means = [
        _pair_distances(x[idx], num_pairs, rng).mean() for _, idx in sorted(groups.items(), key=lambda kv: repr(kv[0])) if len(idx) >= 2
    ]
    if not means:
        raise ValueError(f"multimodality needs a condition with at least 2 samples; the {len(groups)} conditions have one each")
    return float(np.mean(means))


# --------------------------------------------------------------------------- evaluator model
def _is_int(v: Any) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool)


def check_feature_statistics(config, problems: list[str]) -> None:
    """Validate ``config.feature_mean``/``feature_std`` (both or neither, ``input_dim`` finite numbers,
    a positive std), appending what is wrong to ``problems``; valid ones become plain float lists
    (JSON-serialisable). Shared by the evaluator configs."""
    if (config.feature_mean is None) != (config.feature_std is None):
        problems.append("feature_mean and feature_std must be given together (or both None)")
    for name in ("feature_mean", "feature_std"):
        v = getattr(config, name)
        if v is None:
            continue
        try:
            arr = np.asarray(v, dtype=np.float64) if isinstance(v, (Sequence, np.ndarray)) else None
        except (TypeError, ValueError):
            arr = None
        if arr is None or arr.ndim != 1 or (_is_int(config.input_dim) and len(arr) != config.input_dim):
            problems.append(f"{name} must be a list of input_dim={config.input_dim} numbers")
        elif not np.isfinite(arr).all() or (name == "feature_std" and (arr <= 0).any()):
            problems.append(f"{name} must be finite{' and positive' if name == 'feature_std' else ''}")
        else:
            setattr(config, name, [float(x) for x in arr])


def masked_conv_pool(features: torch.Tensor, attention_mask: torch.Tensor | None, config, convs, dropout) -> torch.Tensor:
    """The evaluators' motion encoder body: normalise ``(B, T, D)`` features with the config's
    statistics, run the 1-D convolutions (GELU, dropout) and mean-pool over the real frames.
    Shared by :class:`MotionEvaluator` and the text-motion evaluator; returns ``(B, channels)``."""
    if features.ndim != 3 or features.shape[-1] != config.input_dim:
        raise ValueError(f"features must be (batch, frames, {config.input_dim}), got {tuple(features.shape)}")
    x = features.float()
    if attention_mask is None:
        attention_mask = torch.ones(x.shape[:2], device=x.device)
    if attention_mask.shape != x.shape[:2]:
        raise ValueError(f"attention_mask {tuple(attention_mask.shape)} does not match features {tuple(x.shape[:2])}")
    mask = attention_mask.to(x.dtype).unsqueeze(1)  # (B, 1, T)
    if config.feature_mean is not None:
        x = (x - x.new_tensor(config.feature_mean)) / x.new_tensor(config.feature_std)
    h = x.transpose(1, 2) * mask
    for conv in convs:
        # Re-zeroing the padding makes the next convolution see what zero "same" padding of the
        # unpadded sequence would give it.
        h = dropout(F.gelu(conv(h))) * mask
    return h.sum(-1) / mask.sum(-1).clamp(min=1.0)


class MotionEvaluatorConfig(LoaderConfigMixin, PretrainedConfig):
    r"""Configuration of :class:`MotionEvaluator`.

    Args:
        input_dim: features per frame (D).
        hidden_size: channels of the convolutions and size of the embedding.
        num_layers: number of 1-D convolutions (kernel 3, GELU).
        dropout: dropout after each convolution and before the heads, in ``[0, 1)``.
        label_names: ``{head: [class names]}``, one classification head per key, e.g.
            ``{"content": ["bow", "run"], "style": ["normal", "tired"]}``.
        feature_mean, feature_std: per-feature normalisation (lists of length ``input_dim``),
            computed from the training data by :func:`train_evaluator` and applied in ``forward``;
            ``None`` means no normalisation.
    """

    model_type = "motion_evaluator"

    input_dim: int | None = None
    hidden_size: int = 128
    num_layers: int = 2
    dropout: float = 0.1
    label_names: dict[str, list[str]] | None = None
    feature_mean: list[float] | None = None
    feature_std: list[float] | None = None

    def __post_init__(self, **kwargs):
        super().__post_init__(**kwargs)
        problems = []
        if not _is_int(self.input_dim) or self.input_dim < 1:
            problems.append(f"input_dim must be a positive integer (features per frame), got {self.input_dim!r}")
        if not _is_int(self.hidden_size) or self.hidden_size < 1:
            problems.append(f"hidden_size must be a positive integer, got {self.hidden_size!r}")
        if not _is_int(self.num_layers) or self.num_layers < 1:
            problems.append(f"num_layers must be a positive integer, got {self.num_layers!r}")
        if isinstance(self.dropout, bool) or not isinstance(self.dropout, (int, float)) or not 0 <= self.dropout < 1:
            problems.append(f"dropout must be in [0, 1), got {self.dropout!r}")
        names = self.label_names
        if not isinstance(names, Mapping) or not names:
            problems.append(f"label_names must be a non-empty dict {{head: [class names]}}, got {names!r}")
        else:
            for key, values in names.items():
                if not isinstance(key, str) or isinstance(values, str) or not isinstance(values, Sequence):
                    problems.append(f"label_names[{key!r}] must be a list of class names under a string key")
                elif not values or not all(isinstance(v, str) for v in values) or len(set(values)) != len(values):
                    problems.append(f"label_names[{key!r}] must be a non-empty list of distinct strings, got {values!r}")
            if not problems:
                self.label_names = {k: list(v) for k, v in names.items()}
        check_feature_statistics(self, problems)
        if problems:
            raise ValueError("invalid MotionEvaluatorConfig: " + "; ".join(problems))


@dataclass
class MotionEvaluatorOutput(ModelOutput):
    """Output of :class:`MotionEvaluator`.

    Args:
        loss: sum of the cross-entropies of the heads given ``labels`` (when any are).
        logits: ``{head: (B, num_classes)}``.
        embeddings: ``(B, hidden_size)``, the penultimate layer that FID and diversity use.
    """

    loss: torch.FloatTensor | None = None
    logits: dict[str, torch.FloatTensor] | None = None
    embeddings: torch.FloatTensor | None = None


class MotionEvaluator(PreTrainedModel):
    """Motion recogniser whose penultimate layer is the embedding for generation metrics.

    1-D convolutions over time (kernel 3, GELU) on normalised features, mean pooling over the
    valid frames, a linear projection (the embedding), and one linear head per label key. Padded
    frames are zeroed before every convolution, so a sequence's embedding is the same alone or
    padded in a batch.
    """

    config: MotionEvaluatorConfig
    config_class = MotionEvaluatorConfig
    base_model_prefix = "evaluator"
    main_input_name = "features"

    def __init__(self, config: MotionEvaluatorConfig):
        super().__init__(config)
        dims = [config.input_dim] + [config.hidden_size] * config.num_layers
        self.convs = nn.ModuleList(nn.Conv1d(i, o, kernel_size=3, padding=1) for i, o in zip(dims[:-1], dims[1:]))
        self.dropout = nn.Dropout(config.dropout)
        self.projection = nn.Linear(config.hidden_size, config.hidden_size)
        self.heads = nn.ModuleDict({k: nn.Linear(config.hidden_size, len(v)) for k, v in config.label_names.items()})
        self.post_init()

    def _init_weights(self, module):
        # GELU convnets train poorly from the 0.02-normal default; Xavier keeps activations at unit scale.
        if isinstance(module, (nn.Conv1d, nn.Linear)):
            init.xavier_uniform_(module.weight)
            init.zeros_(module.bias)

    def forward(
        self,
        features: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        labels: Mapping[str, torch.Tensor] | None = None,
        return_dict: bool | None = None,
        **kwargs,
    ) -> MotionEvaluatorOutput | tuple:
        """Embed and classify a padded batch.

        Args:
            features: ``(B, T, D)`` float features (raw: normalisation happens here).
            attention_mask: ``(B, T)``, 1 on real frames and 0 on padding (default: all real).
            labels: optional ``{head: (B,) class indices}``; any subset of the heads.
        """
        cfg = self.config
        pooled = masked_conv_pool(features, attention_mask, cfg, self.convs, self.dropout)
        embeddings = self.projection(pooled)
        logits = {k: head(self.dropout(embeddings)) for k, head in self.heads.items()}
        loss = None
        if labels is not None:
            unknown = [k for k in labels if k not in self.heads]
            if unknown:
                raise ValueError(f"labels for unknown heads {unknown}; the heads are {list(self.heads)}")
            if labels:
                loss = sum(F.cross_entropy(logits[k], v.to(logits[k].device).long()) for k, v in labels.items())
        out = MotionEvaluatorOutput(loss=loss, logits=logits, embeddings=embeddings)
        return out if (return_dict if return_dict is not None else cfg.return_dict) else out.to_tuple()

    @torch.no_grad()
    def _predict(self, sequences: Any, batch_size: int = 64) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Embeddings ``(N, hidden)`` and predicted class indices per head, in input order."""
        if not _is_int(batch_size) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        seqs = _check_sequences(sequences, dim=self.config.input_dim)
        # Batching similar lengths together wastes less compute on padding (results do not depend on it).
        order = np.argsort([len(s) for s in seqs], kind="stable")
        device = next(self.parameters()).device
        was_training = self.training
        self.eval()
        try:
            embs, preds = [], defaultdict(list)
            for start in range(0, len(seqs), batch_size):
                feats, mask = _pad([seqs[i] for i in order[start : start + batch_size]], device)
                out = self(feats, attention_mask=mask, return_dict=True)
                embs.append(out.embeddings.float().cpu().numpy())
                for k, v in out.logits.items():
                    preds[k].append(v.argmax(-1).cpu().numpy())
        finally:
            self.train(was_training)
        inverse = np.empty_like(order)
        inverse[order] = np.arange(len(order))
        return np.concatenate(embs)[inverse], {k: np.concatenate(v)[inverse] for k, v in preds.items()}

    def embed(self, sequences: Sequence[np.ndarray], batch_size: int = 64) -> np.ndarray:
        """Embeddings ``(N, hidden_size)`` (float32) of variable-length ``(T_i, D)`` sequences,
        computed in eval mode without gradients."""
        return self._predict(sequences, batch_size)[0]

    def classify(self, sequences: Sequence[np.ndarray], batch_size: int = 64) -> dict[str, list[str]]:
        """Predicted class name per head, ``{head: [name per sequence]}``."""
        preds = self._predict(sequences, batch_size)[1]
        return {k: [self.config.label_names[k][i] for i in v] for k, v in preds.items()}


AutoConfig.register(MotionEvaluatorConfig.model_type, MotionEvaluatorConfig, exist_ok=True)
AutoModel.register(MotionEvaluatorConfig, MotionEvaluator, exist_ok=True)


# --------------------------------------------------------------------------- training
def train_evaluator(
    sequences: Sequence[np.ndarray],
    labels: Mapping[str, Sequence[str]],
    *,
    label_names: Mapping[str, Sequence[str]] | None = None,
    hidden_size: int = 128,
    num_layers: int = 2,
    dropout: float = 0.1,
    steps: int = 500,
    batch_size: int = 32,
    lr: float = 1e-3,
    weight_decay: float = 0.01,
    crop: int | None = None,
    min_std: float = 1e-2,
    seed: int = 0,
    device: str | torch.device = "cpu",
    progress: bool = True,
) -> MotionEvaluator:
    """Train a :class:`MotionEvaluator` on real ``(T_i, D)`` sequences and their labels.

    Normalisation statistics come from all training frames, with every std raised to at least
    ``min_std`` (features that never vary get std 1, e.g. the root of root-relative positions).
    The floor matters for generated motion: a joint that real clips never rotate has a std near 0,
    and a codec's tiny error on it would otherwise dominate every embedding and the FID. Each step draws ``batch_size`` sequences, takes a
    random window of ``crop`` frames from each longer one (``crop=None``: whole sequences), and
    minimises the sum of the heads' cross-entropies with AdamW. The result is deterministic for a
    ``seed`` on a given device and leaves the global RNG state as it was.

    Args:
        labels: ``{head: [label per sequence]}``.
        label_names: ``{head: [class names]}`` fixing each head's classes and their order (so
            evaluators trained on different splits agree); default: the sorted labels seen.
        steps: optimisation steps (0 returns the initialised model).

    Returns:
        The trained evaluator, in eval mode, on ``device``.

    Raises:
        ValueError: no sequences, sequences of different D or with non-finite values (naming the
            index), label lists of the wrong length, a label not in ``label_names``, bad settings.
    """
    seqs = _check_sequences(sequences)
    if label_names is not None:
        label_names = {k: list(v) for k, v in label_names.items()}
    labels = _check_labels(labels, len(seqs), label_names)
    if label_names is None:
        label_names = {k: sorted(set(v)) for k, v in labels.items()}
    missing = [k for k in label_names if k not in labels]
    if missing:
        raise ValueError(f"label_names has heads {missing} with no labels given")
    _check_training_options(steps, batch_size, crop, lr, min_std)
    mean, std = _normalization(seqs, min_std)
    targets = {k: torch.tensor([label_names[k].index(v) for v in vals]) for k, vals in labels.items()}

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        config = MotionEvaluatorConfig(
            input_dim=seqs[0].shape[1],
            hidden_size=hidden_size,
            num_layers=num_layers,
            dropout=dropout,
            label_names=label_names,
            feature_mean=mean.tolist(),
            feature_std=std.tolist(),
        )
        model = MotionEvaluator(config).to(device)
        rng = np.random.default_rng(seed)
        optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
        model.train()
        from tqdm.auto import trange

        bar = trange(steps, desc="training motion evaluator", disable=not progress)
        n = len(seqs)
        for _ in bar:
            idx = rng.choice(n, size=batch_size, replace=batch_size > n)
            feats, mask = _pad([_random_crop(seqs[i], crop, rng) for i in idx], device)
            out = model(feats, attention_mask=mask, labels={k: v[idx] for k, v in targets.items()}, return_dict=True)
            optimizer.zero_grad(set_to_none=True)
            out.loss.backward()
            optimizer.step()
            bar.set_postfix(loss=f"{out.loss.item():.3f}", refresh=False)
    return model.eval()


# --------------------------------------------------------------------------- evaluation
def _fmt(v: float | None) -> str:
    return "–" if v is None else f"{v:.3f}"


@dataclass
class GenerationMetrics:
    """Generation metrics of one set of motions.

    Attributes:
        fid: FID of the embeddings against the reference set (``None`` without one).
        diversity: mean distance of random pairs (compare with the real data's).
        multimodality: mean distance of same-condition pairs (``None`` when no condition has 2 samples).
        accuracy: recognition accuracy per head against the intended labels.
        num_samples: number of motions evaluated.
    """

    fid: float | None
    diversity: float
    multimodality: float | None
    accuracy: dict[str, float] = field(default_factory=dict)
    num_samples: int = 0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict of the fields."""
        return asdict(self)

    def markdown_header(self) -> str:
        """Header and separator rows for :meth:`to_markdown_row` (same columns)."""
        cols = ["model", "FID ↓", "diversity", "multimodality"] + [f"acc {k} ↑" for k in self.accuracy] + ["N"]
        return "| " + " | ".join(cols) + " |\n|" + "---|" * len(cols)

    def to_markdown_row(self, name: str) -> str:
        """One markdown table row: ``| name | fid | diversity | multimodality | acc... | N |``."""
        cells = [name, _fmt(self.fid), _fmt(self.diversity), _fmt(self.multimodality)]
        cells += [_fmt(v) for v in self.accuracy.values()] + [str(self.num_samples)]
        return "| " + " | ".join(cells) + " |"


def _metrics(
    evaluator: MotionEvaluator,
    embeddings: np.ndarray,
    preds: Mapping[str, np.ndarray],
    labels: dict[str, list[str]],
    fid: float | None,
    seed: int,
    num_diversity_pairs: int,
    num_multimodality_pairs: int,
) -> GenerationMetrics:
    names = evaluator.config.label_names
    accuracy = {k: float(accuracy_score(v, [names[k][i] for i in preds[k]])) for k, v in labels.items()}
    conditions = list(zip(*labels.values()))
    try:
        mm = multimodality(embeddings, conditions, num_pairs=num_multimodality_pairs, seed=seed)
    except ValueError:
        mm = None  # every condition has a single sample
    return GenerationMetrics(
        fid=fid,
        diversity=diversity(embeddings, num_pairs=num_diversity_pairs, seed=seed),
        multimodality=mm,
        accuracy=accuracy,
        num_samples=len(embeddings),
    )


def evaluate_generation(
    evaluator: MotionEvaluator,
    sequences: Sequence[np.ndarray],
    labels: Mapping[str, Sequence[str]],
    *,
    reference_embeddings: np.ndarray | None = None,
    num_diversity_pairs: int = 300,
    num_multimodality_pairs: int = 10,
    batch_size: int = 64,
    seed: int = 0,
) -> GenerationMetrics:
    """Metrics of generated ``(T_i, D)`` sequences against the labels they were generated for.

    Args:
        labels: ``{head: [intended label per sequence]}`` (any subset of the evaluator's heads);
            accuracy is reported per head, and multimodality groups the samples by the tuple of labels.
        reference_embeddings: ``evaluator.embed(real_sequences)`` of held-out real motion; FID is
            computed against it (``fid=None`` without it). Use :func:`real_floor` for the FID that
            real data itself reaches.

    Raises:
        ValueError: fewer than 2 sequences, bad labels (naming the index), a reference of another width.
    """
    seqs = _check_sequences(sequences)
    if len(seqs) < 2:
        raise ValueError(f"evaluate_generation needs at least 2 sequences, got {len(seqs)}")
    labels = _check_labels(labels, len(seqs), evaluator.config.label_names)
    embeddings, preds = evaluator._predict(seqs, batch_size)
    fid = None
    if reference_embeddings is not None:
        fid = frechet_distance(reference_embeddings, embeddings)
    return _metrics(evaluator, embeddings, preds, labels, fid, seed, num_diversity_pairs, num_multimodality_pairs)


def real_floor(
    evaluator: MotionEvaluator,
    real_sequences: Sequence[np.ndarray],
    real_labels: Mapping[str, Sequence[str]],
    seed: int = 0,
    *,
    num_diversity_pairs: int = 300,
    num_multimodality_pairs: int = 10,
    batch_size: int = 64,
) -> GenerationMetrics:
    """What real data scores: FID between two random halves of a held-out real set (the floor a
    generator can hope to reach), with accuracy, diversity and multimodality of the whole set.

    The halves have N/2 samples each, and FID shrinks as N grows, so report generated sets of a
    similar size next to it.

    Raises:
        ValueError: fewer than 4 sequences (each half needs 2), bad labels.
    """
    seqs = _check_sequences(real_sequences, name="real_sequences")
    if len(seqs) < 4:
        raise ValueError(f"real_floor needs at least 4 real sequences (2 per half), got {len(seqs)}")
    labels = _check_labels(real_labels, len(seqs), evaluator.config.label_names)
    embeddings, preds = evaluator._predict(seqs, batch_size)
    perm = np.random.default_rng(seed).permutation(len(seqs))
    half = len(seqs) // 2
    fid = frechet_distance(embeddings[perm[:half]], embeddings[perm[half:]])
    return _metrics(evaluator, embeddings, preds, labels, fid, seed, num_diversity_pairs, num_multimodality_pairs)
