"""Text-to-motion and motion-to-text metrics (T2M / MotionGPT style), plus trajectory errors for
motion prediction and in-betweening.

* :class:`TextMotionEvaluator`: a small contrastive text–motion model (the stand-in for T2M's
  text and motion encoders), trained offline on our own captions with
  :func:`train_text_motion_evaluator`.
* :func:`r_precision`, :func:`matching_score` and :func:`text_to_motion_metrics`: R-precision,
  MM-Dist, FID and diversity of generated motion, measured in the evaluator's embedding space.
* :func:`caption_metrics`: corpus BLEU-4 (``sacrebleu``) and ROUGE-L of generated captions.
* :func:`ade_fde`, :func:`zero_velocity`, :func:`linear_interpolation`: position errors and the two
  baselines every prediction / in-betweening table needs.

Motions reach this module as pose-feature sequences, float arrays ``(T_i, D)`` of varying length
(e.g. ``PoseFeatureLayout.from_motion(m).encode(m)``). Typical use::

    evaluator = train_text_motion_evaluator(train_feats, train_captions)
    result = text_to_motion_metrics(evaluator, generated, prompts, real=test_feats)
    print(result.markdown_header()); print(result.to_markdown_row("model"))

:class:`TextMotionEvaluator` is a transformers ``PreTrainedModel`` registered with ``AutoConfig``
and ``AutoModel`` (``model_type = "text_motion_evaluator"``); its word vocabulary and feature
normalisation statistics travel in its config, so ``save_pretrained`` / ``AutoModel.from_pretrained``
restore it completely.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F
from transformers import AutoConfig, AutoModel, PretrainedConfig, PreTrainedModel
from transformers import initialization as init
from transformers.utils import ModelOutput

from ..remote_code import LoaderConfigMixin
from .generation_metrics import (
    _check_sequences,
    _check_training_options,
    _is_int,
    _normalization,
    _pad,
    _random_crop,
    check_feature_statistics,
    diversity,
    frechet_distance,
    masked_conv_pool,
)

__all__ = [
    "PAD_TOKEN",
    "UNK_TOKEN",
    "TextMotionEvaluator",
    "TextMotionEvaluatorConfig",
    "TextMotionEvaluatorOutput",
    "TextToMotionMetrics",
    "ade_fde",
    "build_word_vocab",
    "caption_metrics",
    "caption_words",
    "info_nce_loss",
    "linear_interpolation",
    "matching_score",
    "r_precision",
    "rouge_l",
    "text_to_motion_metrics",
    "train_text_motion_evaluator",
    "zero_velocity",
]

PAD_TOKEN = "<pad>"
UNK_TOKEN = "<unk>"
_WORD = re.compile(r"[a-z0-9]+")


# --------------------------------------------------------------------------- words
def caption_words(text: str) -> list[str]:
    """Lower-case words of ``text`` (runs of ``[a-z0-9]``): the tokens of both the evaluator's
    text encoder and ROUGE-L. ``"A person walks-back."`` -> ``["a", "person", "walks", "back"]``."""
    if not isinstance(text, str):
        raise ValueError(f"a caption must be a str, got {type(text).__name__}")
    return _WORD.findall(text.lower())


def build_word_vocab(captions: Sequence[str | Sequence[str]], min_count: int = 1) -> list[str]:
    """``[PAD_TOKEN, UNK_TOKEN, *words]``: the sorted words seen at least ``min_count`` times in
    ``captions`` (each entry a caption or a list of captions)."""
    if not _is_int(min_count) or min_count < 1:
        raise ValueError(f"min_count must be a positive integer, got {min_count!r}")
    counts: dict[str, int] = {}
    for entry in _caption_lists(captions, "captions"):
        for text in entry:
            for w in caption_words(text):
                counts[w] = counts.get(w, 0) + 1
    return [PAD_TOKEN, UNK_TOKEN] + sorted(w for w, c in counts.items() if c >= min_count)


def _caption_lists(captions: Any, name: str) -> list[list[str]]:
    """One non-empty list of caption strings per item."""
    if isinstance(captions, str) or not isinstance(captions, (Sequence, np.ndarray)):
        raise ValueError(f"{name} must be a list with one caption (or list of captions) per item, got {type(captions).__name__}")
    out = []
    for i, c in enumerate(captions):
        texts = [c] if isinstance(c, str) else c
        if isinstance(texts, (Sequence, np.ndarray)) and len(texts) > 0 and all(isinstance(t, str) for t in texts):
            out.append(list(texts))
        else:
            raise ValueError(f"{name}[{i}] must be a caption string or a non-empty list of strings, got {c!r}")
    return out


def _single_captions(captions: Any, n: int, name: str = "captions") -> list[str]:
    """Exactly one caption string per motion."""
    if isinstance(captions, str) or not isinstance(captions, (Sequence, np.ndarray)):
        raise ValueError(f"{name} must be a list with one caption string per motion, got {type(captions).__name__}")
    captions = list(captions)
    if len(captions) != n:
        raise ValueError(f"{name} has {len(captions)} entries for {n} motions")
    for i, c in enumerate(captions):
        if not isinstance(c, str):
            raise ValueError(
                f"{name}[{i}] must be one caption string (the text the motion was generated from or "
                f"labelled with, e.g. the first of a list), got {c!r}"
            )
    return captions


def _caption_key(text: str) -> tuple[str, ...]:
    # Captions equal up to case and punctuation are the same input to the text encoder, so they
    # count as the same caption (never distractors or negatives of each other).
    return tuple(caption_words(text))


# --------------------------------------------------------------------------- loss
def info_nce_loss(
    motion_embeds: torch.Tensor,
    text_embeds: torch.Tensor,
    positives: torch.Tensor | None = None,
    temperature: float = 0.07,
) -> torch.Tensor:
    """Symmetric InfoNCE (CLIP) loss of paired ``(B, E)`` embeddings (L2-normalised).

    Row ``i`` of ``motion_embeds`` and of ``text_embeds`` form a pair; every other item in the
    batch is a negative, except those marked in ``positives``: a ``(B, B)`` bool matrix, True where
    item ``j`` is not a negative of item ``i`` (e.g. it has the same caption text). Those entries are
    left out of the softmax, in both directions, instead of being pushed apart from their own
    caption, which would make the loss fight itself. The diagonal is always the positive.
    """
    if motion_embeds.ndim != 2 or motion_embeds.shape != text_embeds.shape:
        raise ValueError(
            f"motion_embeds {tuple(motion_embeds.shape)} and text_embeds {tuple(text_embeds.shape)} must both be (batch, embed_dim)"
        )
    b = motion_embeds.shape[0]
    logits = motion_embeds @ text_embeds.T / temperature
    if positives is not None:
        if positives.shape != (b, b):
            raise ValueError(f"positives must be a ({b}, {b}) bool matrix, got {tuple(positives.shape)}")
        eye = torch.eye(b, dtype=torch.bool, device=logits.device)
        drop = positives.to(device=logits.device, dtype=torch.bool) & ~eye
        logits = logits.masked_fill(drop, float("-inf"))
        logits_t = logits.T.masked_fill(drop, float("-inf"))
    else:
        logits_t = logits.T
    target = torch.arange(b, device=logits.device)
    return 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits_t, target))


# --------------------------------------------------------------------------- model
class TextMotionEvaluatorConfig(LoaderConfigMixin, PretrainedConfig):
    r"""Configuration of :class:`TextMotionEvaluator`.

    Args:
        input_dim: pose features per frame (D).
        vocab: the word vocabulary, ``[PAD_TOKEN, UNK_TOKEN, *words]`` (see :func:`build_word_vocab`).
        embed_dim: size of the shared, L2-normalised embedding.
        hidden_size: channels of the motion convolutions, size of the word embeddings and of each
            direction of the text GRU.
        num_layers: number of 1-D motion convolutions (kernel 3, GELU).
        dropout: dropout in both encoders while training, in ``[0, 1)``.
        temperature: fixed softmax temperature of the InfoNCE loss (> 0).
        feature_mean, feature_std: per-feature normalisation (lists of length ``input_dim``),
            computed by :func:`train_text_motion_evaluator` and applied in ``forward``; ``None``
            means no normalisation.
    """

    model_type = "text_motion_evaluator"

    input_dim: int | None = None
    vocab: list[str] | None = None
    embed_dim: int = 128
    hidden_size: int = 128
    num_layers: int = 2
    dropout: float = 0.1
    temperature: float = 0.07
    feature_mean: list[float] | None = None
    feature_std: list[float] | None = None

    def __post_init__(self, **kwargs):
        super().__post_init__(**kwargs)
        problems = []
        for name in ("input_dim", "embed_dim", "hidden_size", "num_layers"):
            v = getattr(self, name)
            if not _is_int(v) or v < 1:
                problems.append(f"{name} must be a positive integer, got {v!r}")
        if isinstance(self.dropout, bool) or not isinstance(self.dropout, (int, float)) or not 0 <= self.dropout < 1:
            problems.append(f"dropout must be in [0, 1), got {self.dropout!r}")
        t = self.temperature
        if isinstance(t, bool) or not isinstance(t, (int, float)) or not (math.isfinite(t) and t > 0):
            problems.append(f"temperature must be a positive number, got {t!r}")
        vocab = self.vocab
        if isinstance(vocab, str) or not isinstance(vocab, Sequence) or len(vocab) < 2 or not all(isinstance(w, str) for w in vocab):
            problems.append(f"vocab must be a list of words starting with {PAD_TOKEN!r}, {UNK_TOKEN!r}, got {vocab!r}")
        elif list(vocab[:2]) != [PAD_TOKEN, UNK_TOKEN] or len(set(vocab)) != len(vocab):
            problems.append(
                f"vocab must start with {PAD_TOKEN!r}, {UNK_TOKEN!r} and hold distinct words (build it with build_word_vocab(captions))"
            )
        else:
            self.vocab = list(vocab)
        check_feature_statistics(self, problems)
        if problems:
            raise ValueError("invalid TextMotionEvaluatorConfig: " + "; ".join(problems))


@dataclass
class TextMotionEvaluatorOutput(ModelOutput):
    """Output of :class:`TextMotionEvaluator`.

    Args:
        loss: symmetric InfoNCE loss, when both motion and text are given.
        motion_embeds: ``(B, embed_dim)`` L2-normalised motion embeddings (when features are given).
        text_embeds: ``(B, embed_dim)`` L2-normalised text embeddings (when input_ids are given).
        logits_per_motion: ``(B, B)`` cosine similarities over the temperature (when both are given).
    """

    loss: torch.FloatTensor | None = None
    motion_embeds: torch.FloatTensor | None = None
    text_embeds: torch.FloatTensor | None = None
    logits_per_motion: torch.FloatTensor | None = None


class TextMotionEvaluator(PreTrainedModel):
    """Contrastive text–motion embedder for R-precision, MM-Dist and FID of generated motion.

    Motion encoder: per-feature normalisation, 1-D convolutions over time (kernel 3, GELU), mean
    pooling over the valid frames, a linear projection. Padded frames are zeroed before every
    convolution, so a clip's embedding is the same alone or padded in a batch.
    Text encoder: word embeddings and a bidirectional GRU over the packed (unpadded) word
    sequence, its two final states projected. Both embeddings are L2-normalised.
    """

    config: TextMotionEvaluatorConfig
    config_class = TextMotionEvaluatorConfig
    base_model_prefix = "text_motion_evaluator"
    main_input_name = "features"

    def __init__(self, config: TextMotionEvaluatorConfig):
        super().__init__(config)
        h = config.hidden_size
        dims = [config.input_dim] + [h] * config.num_layers
        self.convs = nn.ModuleList(nn.Conv1d(i, o, kernel_size=3, padding=1) for i, o in zip(dims[:-1], dims[1:]))
        self.motion_projection = nn.Linear(h, config.embed_dim)
        self.word_embeddings = nn.Embedding(len(config.vocab), h)
        self.text_gru = nn.GRU(h, h, batch_first=True, bidirectional=True)
        self.text_projection = nn.Linear(2 * h, config.embed_dim)
        self.dropout = nn.Dropout(config.dropout)
        self._word_ids = {w: i for i, w in enumerate(config.vocab)}
        self.post_init()

    def _init_weights(self, module):
        # GELU convnets train poorly from the 0.02-normal default; Xavier keeps activations at unit scale.
        if isinstance(module, (nn.Conv1d, nn.Linear)):
            init.xavier_uniform_(module.weight)
            init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            init.normal_(module.weight, std=1.0)
        elif isinstance(module, nn.GRU):
            for name, p in module.named_parameters(recurse=False):
                if name.startswith("weight_hh"):
                    init.orthogonal_(p)
                elif name.startswith("weight_ih"):
                    init.xavier_uniform_(p)
                else:
                    init.zeros_(p)

    # ------------------------------------------------------------------ encoders
    def _encode_motion(self, features: torch.Tensor, attention_mask: torch.Tensor | None) -> torch.Tensor:
        pooled = masked_conv_pool(features, attention_mask, self.config, self.convs, self.dropout)
        return F.normalize(self.motion_projection(pooled), dim=-1)

    def _encode_text(self, input_ids: torch.Tensor, text_attention_mask: torch.Tensor | None) -> torch.Tensor:
        if input_ids.ndim != 2:
            raise ValueError(f"input_ids must be (batch, words), got {tuple(input_ids.shape)}")
        if text_attention_mask is None:
            text_attention_mask = (input_ids != 0).long()
        if text_attention_mask.shape != input_ids.shape:
            raise ValueError(f"text_attention_mask {tuple(text_attention_mask.shape)} does not match input_ids {tuple(input_ids.shape)}")
        lengths = text_attention_mask.sum(-1).clamp(min=1).cpu()
        x = self.dropout(self.word_embeddings(input_ids))
        # Packing makes the final states independent of how much padding the batch adds.
        packed = nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        _, last = self.text_gru(packed)  # (2, B, h): forward and backward final states
        h = self.dropout(torch.cat([last[0], last[1]], dim=-1))
        return F.normalize(self.text_projection(h), dim=-1)

    def forward(
        self,
        features: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        input_ids: torch.Tensor | None = None,
        text_attention_mask: torch.Tensor | None = None,
        positives: torch.Tensor | None = None,
        return_dict: bool | None = None,
        **kwargs,
    ) -> TextMotionEvaluatorOutput | tuple:
        """Embed a padded batch of motions and/or captions; with both, also the InfoNCE loss.

        Args:
            features: ``(B, T, D)`` raw pose features (normalisation happens here).
            attention_mask: ``(B, T)``, 1 on real frames and 0 on padding (default: all real).
            input_ids: ``(B, L)`` word ids (0 = padding), e.g. from :meth:`tokenize`.
            text_attention_mask: ``(B, L)``, 1 on real words (default: ``input_ids != 0``).
            positives: ``(B, B)`` bool, True where item ``j`` must not be a negative of item ``i``
                (same caption text); see :func:`info_nce_loss`.
        """
        if features is None and input_ids is None:
            raise ValueError("pass features (motions), input_ids (captions) or both")
        m = self._encode_motion(features, attention_mask) if features is not None else None
        t = self._encode_text(input_ids, text_attention_mask) if input_ids is not None else None
        loss = logits = None
        if m is not None and t is not None:
            if len(m) != len(t):
                raise ValueError(f"{len(m)} motions and {len(t)} captions: a contrastive batch needs pairs")
            logits = m @ t.T / self.config.temperature
            loss = info_nce_loss(m, t, positives, self.config.temperature)
        out = TextMotionEvaluatorOutput(loss=loss, motion_embeds=m, text_embeds=t, logits_per_motion=logits)
        return out if (return_dict if return_dict is not None else self.config.return_dict) else out.to_tuple()

    # ------------------------------------------------------------------ numpy helpers
    def tokenize(self, texts: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """Padded ``(B, L)`` word ids and mask of ``texts``; unknown words map to ``UNK_TOKEN``,
        and a caption without words becomes a lone ``UNK_TOKEN``."""
        if isinstance(texts, str):
            raise ValueError("texts must be a list of captions, got a single str (wrap it in a list)")
        texts = list(texts)
        if not texts:
            raise ValueError("texts is empty: need at least one caption")
        unk = self._word_ids[UNK_TOKEN]
        ids = []
        for i, t in enumerate(texts):
            if not isinstance(t, str):
                raise ValueError(f"texts[{i}] must be a str, got {type(t).__name__}")
            ids.append([self._word_ids.get(w, unk) for w in caption_words(t)] or [unk])
        width = max(len(x) for x in ids)
        out = torch.zeros(len(ids), width, dtype=torch.long)
        mask = torch.zeros(len(ids), width, dtype=torch.long)
        for i, x in enumerate(ids):
            out[i, : len(x)] = torch.tensor(x)
            mask[i, : len(x)] = 1
        return out, mask

    @torch.no_grad()
    def _embed(self, items: list, batch_size: int, encode) -> np.ndarray:
        if not _is_int(batch_size) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        was_training = self.training
        self.eval()
        try:
            # Similar lengths together waste less compute on padding (results do not depend on it).
            order = np.argsort([len(x) for x in items], kind="stable")
            chunks = [encode([items[i] for i in order[s : s + batch_size]]) for s in range(0, len(items), batch_size)]
        finally:
            self.train(was_training)
        emb = np.concatenate([c.float().cpu().numpy() for c in chunks])
        inverse = np.empty_like(order)
        inverse[order] = np.arange(len(order))
        return emb[inverse]

    def embed_motions(self, sequences: Sequence[np.ndarray], batch_size: int = 64) -> np.ndarray:
        """``(N, embed_dim)`` float32 unit-norm embeddings of variable-length ``(T_i, D)`` feature
        sequences, in eval mode without gradients."""
        seqs = _check_sequences(sequences, dim=self.config.input_dim)
        device = self.device

        def encode(batch):
            feats, mask = _pad(batch, device)
            return self._encode_motion(feats, mask)

        return self._embed(seqs, batch_size, encode)

    def embed_texts(self, texts: Sequence[str], batch_size: int = 256) -> np.ndarray:
        """``(N, embed_dim)`` float32 unit-norm embeddings of captions (unknown words -> unk)."""
        ids, _ = self.tokenize(texts)  # validates the whole list up front
        lengths = (ids != 0).sum(-1).tolist()
        rows = [ids[i, : lengths[i]] for i in range(len(ids))]
        device = self.device

        def encode(batch):
            ids = nn.utils.rnn.pad_sequence(batch, batch_first=True).to(device)
            return self._encode_text(ids, (ids != 0).long())

        return self._embed(rows, batch_size, encode)


AutoConfig.register(TextMotionEvaluatorConfig.model_type, TextMotionEvaluatorConfig, exist_ok=True)
AutoModel.register(TextMotionEvaluatorConfig, TextMotionEvaluator, exist_ok=True)


# --------------------------------------------------------------------------- training
def train_text_motion_evaluator(
    features: Sequence[np.ndarray],
    captions: Sequence[str | Sequence[str]],
    *,
    steps: int = 1500,
    batch_size: int = 64,
    lr: float = 1e-3,
    crop: int | None = 40,
    seed: int = 0,
    progress: bool = True,
    embed_dim: int = 128,
    hidden_size: int = 128,
    num_layers: int = 2,
    dropout: float = 0.1,
    temperature: float = 0.07,
    weight_decay: float = 0.01,
    min_std: float = 1e-2,
    min_word_count: int = 1,
    device: str | torch.device = "cpu",
) -> TextMotionEvaluator:
    """Train a :class:`TextMotionEvaluator` on real ``(T_i, D)`` clips and their captions.

    The vocabulary is every word of the training captions (seen ``min_word_count`` times or more).
    Normalisation statistics come from all training frames, each std raised to at least
    ``min_std`` (as in :func:`~hf_motion.generation_metrics.train_evaluator`: a feature real clips
    never move would otherwise let a generator's tiny error on it dominate every embedding). Each
    step draws ``batch_size`` clips, one of each clip's captions at random, and a random window of
    ``crop`` frames from each longer clip (``crop=None``: whole clips), and minimises the symmetric
    InfoNCE loss with AdamW. Items of the batch with the same caption text (or the same clip) are
    left out of each other's negatives. Deterministic for a ``seed`` on a given device; the global
    RNG state is left as it was.

    Args:
        features: one ``(T_i, D)`` float array per clip.
        captions: per clip, a caption or a list of captions.
        steps: optimisation steps (0 returns the initialised model, with its vocabulary and statistics).

    Returns:
        The trained evaluator, in eval mode, on ``device``.

    Raises:
        ValueError: no clips, clips of different D or with non-finite values (naming the index),
            captions of the wrong length or type, bad settings.
    """
    seqs = _check_sequences(features, name="features")
    caps = _caption_lists(captions, "captions")
    if len(caps) != len(seqs):
        raise ValueError(f"captions has {len(caps)} entries for {len(seqs)} clips in features")
    _check_training_options(steps, batch_size, crop, lr, min_std)
    mean, std = _normalization(seqs, min_std)
    # Caption identity by word sequence: integer ids make the per-step positives mask one comparison.
    key_ids: dict[tuple[str, ...], int] = {}
    cap_keys = [[key_ids.setdefault(_caption_key(t), len(key_ids)) for t in entry] for entry in caps]

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        config = TextMotionEvaluatorConfig(
            input_dim=seqs[0].shape[1],
            vocab=build_word_vocab(caps, min_count=min_word_count),
            embed_dim=embed_dim,
            hidden_size=hidden_size,
            num_layers=num_layers,
            dropout=dropout,
            temperature=temperature,
            feature_mean=mean.tolist(),
            feature_std=std.tolist(),
        )
        model = TextMotionEvaluator(config).to(device)
        rng = np.random.default_rng(seed)
        optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
        model.train()
        from tqdm.auto import trange

        bar = trange(steps, desc="training text-motion evaluator", disable=not progress)
        n = len(seqs)
        for _ in bar:
            idx = rng.choice(n, size=batch_size, replace=batch_size > n)
            batch, texts, keys = [], [], []
            for i in idx:
                batch.append(_random_crop(seqs[i], crop, rng))  # then the caption: one RNG stream, in this order
                j = int(rng.integers(len(caps[i])))
                texts.append(caps[i][j])
                keys.append(cap_keys[i][j])
            feats, mask = _pad(batch, device)
            ids, text_mask = model.tokenize(texts)
            keys_t, idx_t = torch.tensor(keys), torch.from_numpy(idx)
            positives = (keys_t[:, None] == keys_t[None, :]) | (idx_t[:, None] == idx_t[None, :])
            out = model(
                feats,
                attention_mask=mask,
                input_ids=ids.to(device),
                text_attention_mask=text_mask.to(device),
                positives=positives.to(device),
                return_dict=True,
            )
            optimizer.zero_grad(set_to_none=True)
            out.loss.backward()
            optimizer.step()
            bar.set_postfix(loss=f"{out.loss.item():.3f}", refresh=False)
    return model.eval()


# --------------------------------------------------------------------------- R-precision, MM-Dist
def _check_top_k(top_k: Any, pool_size: int) -> list[int]:
    ks = [top_k] if _is_int(top_k) else list(top_k) if isinstance(top_k, (Sequence, np.ndarray)) else None
    if not ks or not all(_is_int(k) and 1 <= k <= pool_size for k in ks):
        raise ValueError(f"top_k must be integers in [1, pool_size={pool_size}], e.g. (1, 2, 3), got {top_k!r}")
    return sorted({int(k) for k in ks})


def r_precision(
    evaluator: TextMotionEvaluator,
    motions: Sequence[np.ndarray],
    captions: Sequence[str],
    *,
    pool_size: int = 32,
    top_k: Sequence[int] = (1, 2, 3),
    seed: int = 0,
    batch_size: int = 64,
) -> dict[str, float]:
    """Motion-to-text retrieval R-precision (T2M / MotionGPT): for each motion, rank its own
    caption among ``pool_size - 1`` distractors by cosine similarity of the embeddings.

    The distractors of motion ``i`` are distinct caption texts drawn uniformly at random from the
    other items' captions whose text differs from caption ``i`` (compared as lower-case words):
    with template captions many clips share a caption, and a copy of one's own caption as a
    "distractor" would be an unwinnable tie. A tie between distinct texts (e.g. two captions made
    only of unknown words) counts as broken at random, in expectation, so an evaluator that
    cannot tell captions apart scores chance rather than 100%.

    Returns:
        ``{"top1": .., "top2": .., "top3": .., "chance_top1": 1/pool_size, .., "pool_size": ..,
        "num_samples": ..}``: the fraction of motions whose caption ranks in the top k (one
        ``top{k}`` / ``chance_top{k}`` per ``k`` in ``top_k``).

    Raises:
        ValueError: captions not one string per motion, fewer than ``pool_size`` distinct caption
            texts, bad ``pool_size`` / ``top_k``.
    """
    if not _is_int(pool_size) or pool_size < 2:
        raise ValueError(f"pool_size must be an integer >= 2 (true caption + distractors), got {pool_size!r}")
    ks = _check_top_k(top_k, pool_size)
    seqs = _check_sequences(motions, name="motions")
    captions = _single_captions(captions, len(seqs))
    key_index: dict[tuple[str, ...], int] = {}
    representatives: list[str] = []
    own = np.empty(len(captions), dtype=np.int64)
    for i, c in enumerate(captions):
        key = _caption_key(c)
        if key not in key_index:
            key_index[key] = len(representatives)
            representatives.append(c)
        own[i] = key_index[key]
    num_texts = len(representatives)
    if num_texts < pool_size:
        raise ValueError(
            f"r_precision needs at least pool_size={pool_size} distinct captions (the true one plus "
            f"{pool_size - 1} different distractors), got {num_texts}; pass a smaller pool_size "
            "(MotionGPT uses 32) or evaluate on more varied captions"
        )
    sim = (
        evaluator.embed_motions(seqs, batch_size=batch_size).astype(np.float64)
        @ evaluator.embed_texts(representatives).astype(np.float64).T
    )  # (N, distinct texts)
    rng = np.random.default_rng(seed)
    hits = {k: 0.0 for k in ks}
    for i in range(len(seqs)):
        # Drawing from the other num_texts - 1 texts: shifting past own[i] skips it.
        d = rng.choice(num_texts - 1, size=pool_size - 1, replace=False)
        d = d + (d >= own[i])
        s_own, s_d = sim[i, own[i]], sim[i, d]
        above, tied = int((s_d > s_own).sum()), int((s_d == s_own).sum())
        for k in ks:
            # Own caption lands uniformly among the tied places above+1 .. above+tied+1.
            hits[k] += min(max(k - above, 0), tied + 1) / (tied + 1)
    out: dict[str, float] = {f"top{k}": hits[k] / len(seqs) for k in ks}
    out.update({f"chance_top{k}": k / pool_size for k in ks})
    out.update(pool_size=int(pool_size), num_samples=len(seqs))
    return out


def matching_score(
    evaluator: TextMotionEvaluator, motions: Sequence[np.ndarray], captions: Sequence[str], *, batch_size: int = 64
) -> float:
    """MotionGPT's "MM-Dist": mean Euclidean distance between each motion's embedding and its own
    caption's. Our embeddings are unit vectors, so it lies in [0, 2] (= sqrt(2 - 2 cos)); it is not
    on the scale of the published T2M numbers, whose embeddings are not normalised."""
    seqs = _check_sequences(motions, name="motions")
    captions = _single_captions(captions, len(seqs))
    m = evaluator.embed_motions(seqs, batch_size=batch_size).astype(np.float64)
    t = evaluator.embed_texts(captions).astype(np.float64)
    return float(np.linalg.norm(m - t, axis=1).mean())


def _fmt(v: float | None) -> str:
    return "–" if v is None else f"{v:.3f}"


@dataclass
class TextToMotionMetrics:
    """Text-to-motion metrics of one set of generated motions (MotionGPT's table).

    Attributes:
        r_precision_top1, r_precision_top2, r_precision_top3: R-precision at pool size ``pool_size``.
        fid: FID of the motion embeddings against the real set (``None`` without one).
        diversity: mean distance of random pairs of motion embeddings (compare with real data's).
        matching_score: MM-Dist, see :func:`matching_score`.
        num_samples: number of generated motions.
        pool_size: R-precision pool size (chance top-k is k / pool_size).
    """

    r_precision_top1: float
    r_precision_top2: float
    r_precision_top3: float
    fid: float | None
    diversity: float
    matching_score: float
    num_samples: int
    pool_size: int

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict of the fields."""
        return asdict(self)

    @staticmethod
    def markdown_header() -> str:
        """Header and separator rows for :meth:`to_markdown_row` (same columns)."""
        cols = ["model", "R@1 ↑", "R@2 ↑", "R@3 ↑", "FID ↓", "diversity", "MM-Dist ↓", "N"]
        return "| " + " | ".join(cols) + " |\n|" + "---|" * len(cols)

    def to_markdown_row(self, name: str) -> str:
        """One markdown table row: ``| name | R@1 | R@2 | R@3 | FID | diversity | MM-Dist | N |``."""
        vals = [self.r_precision_top1, self.r_precision_top2, self.r_precision_top3, self.fid]
        vals += [self.diversity, self.matching_score]
        cells = [name] + [_fmt(v) for v in vals] + [str(self.num_samples)]
        return "| " + " | ".join(cells) + " |"


def text_to_motion_metrics(
    evaluator: TextMotionEvaluator,
    generated: Sequence[np.ndarray],
    captions: Sequence[str],
    real: Sequence[np.ndarray] | None = None,
    seed: int = 0,
    *,
    real_embeddings: np.ndarray | None = None,
    pool_size: int = 32,
    num_diversity_pairs: int = 300,
    batch_size: int = 64,
) -> TextToMotionMetrics:
    """R-precision (top 1-3), FID, diversity and MM-Dist of ``generated`` ``(T_i, D)`` motions
    against the ``captions`` they were generated from.

    Args:
        real: held-out real clips; FID compares the two sets' motion embeddings (``fid=None``
            without ``real`` or ``real_embeddings``).
        real_embeddings: ``evaluator.embed_motions(real)`` computed once, instead of ``real``.
        pool_size: R-precision pool; lower it when the captions have fewer distinct texts.

    Raises:
        ValueError: fewer than 2 motions, both ``real`` and ``real_embeddings``, and the errors of
            :func:`r_precision`.
    """
    seqs = _check_sequences(generated, name="generated")
    if len(seqs) < 2:
        raise ValueError(f"text_to_motion_metrics needs at least 2 generated motions, got {len(seqs)}")
    captions = _single_captions(captions, len(seqs))
    if real is not None and real_embeddings is not None:
        raise ValueError("pass real (clips) or real_embeddings (their embeddings), not both")
    rp = r_precision(evaluator, seqs, captions, pool_size=pool_size, seed=seed, batch_size=batch_size)
    emb = evaluator.embed_motions(seqs, batch_size=batch_size)
    if real is not None:
        real_embeddings = evaluator.embed_motions(_check_sequences(real, name="real"), batch_size=batch_size)
    fid = None if real_embeddings is None else frechet_distance(real_embeddings, emb)
    return TextToMotionMetrics(
        r_precision_top1=rp["top1"],
        r_precision_top2=rp["top2"],
        r_precision_top3=rp["top3"],
        fid=fid,
        diversity=diversity(emb, num_pairs=num_diversity_pairs, seed=seed),
        matching_score=matching_score(evaluator, seqs, captions, batch_size=batch_size),
        num_samples=len(seqs),
        pool_size=int(pool_size),
    )


# --------------------------------------------------------------------------- caption metrics
def _lcs_length(a: Sequence[str], b: Sequence[str]) -> int:
    """Length of the longest common subsequence (one-row dynamic programme)."""
    if len(a) < len(b):
        a, b = b, a
    row = [0] * (len(b) + 1)
    for x in a:
        prev_diag = 0
        for j, y in enumerate(b, start=1):
            prev_diag, row[j] = row[j], prev_diag + 1 if x == y else max(row[j], row[j - 1])
    return row[-1]


def rouge_l(prediction: str, references: Sequence[str]) -> float:
    """Sentence ROUGE-L F-measure (beta = 1) of ``prediction``, best over ``references``.

    On lower-case ``[a-z0-9]`` word tokens (:func:`caption_words`, the tokenisation of Google's
    ``rouge-score`` without stemming): with ``L`` the LCS length, ``P = L / len(pred)``,
    ``R = L / len(ref)``, ``F = 2PR / (P + R)`` (0 when ``L = 0``).

    Implemented here rather than with ``rouge-score``: its last release (0.1.2) dates from
    July 2022, ships only as an sdist, and pulls in ``nltk``, ``absl-py`` and ``six`` for what is
    an LCS over word lists.
    """
    pred = caption_words(prediction)
    best = 0.0
    for ref in references:
        r = caption_words(ref)
        lcs = _lcs_length(pred, r) if pred and r else 0
        if lcs:
            p, rec = lcs / len(pred), lcs / len(r)
            best = max(best, 2 * p * rec / (p + rec))
    return best


def caption_metrics(predictions: Sequence[str], references: Sequence[Sequence[str]]) -> dict[str, float]:
    """Corpus BLEU-4 and mean ROUGE-L of generated captions (motion-to-text), both on a 0-100 scale.

    BLEU is ``sacrebleu``'s corpus BLEU (4-grams, its default ``13a`` tokenisation, lower-cased to
    match ROUGE-L), with a variable number of references per prediction. ROUGE-L is
    :func:`rouge_l` (best reference per prediction), averaged over predictions.

    Args:
        predictions: one generated caption per motion.
        references: per prediction, a non-empty list of reference captions.

    Returns:
        ``{"bleu4": .., "rouge_l": .., "num_samples": ..}``.

    Raises:
        ValueError: lengths that differ, an empty list, a reference entry that is not a list of str.
    """
    if isinstance(predictions, str) or not isinstance(predictions, (Sequence, np.ndarray)):
        raise ValueError(f"predictions must be a list of caption strings, got {type(predictions).__name__}")
    preds = list(predictions)
    if not preds:
        raise ValueError("predictions is empty: need at least one caption")
    for i, p in enumerate(preds):
        if not isinstance(p, str):
            raise ValueError(f"predictions[{i}] must be a str, got {type(p).__name__}")
    if isinstance(references, str) or not isinstance(references, (Sequence, np.ndarray)):
        raise ValueError("references must be a list with one list of reference strings per prediction")
    refs = list(references)
    if len(refs) != len(preds):
        raise ValueError(f"references has {len(refs)} entries for {len(preds)} predictions")
    for i, r in enumerate(refs):
        is_list = not isinstance(r, str) and isinstance(r, (Sequence, np.ndarray))
        if not is_list or not r or not all(isinstance(x, str) for x in r):
            raise ValueError(
                f"references[{i}] must be a non-empty list of reference strings, got {r!r} "
                "(for one reference per prediction pass [[ref] for ref in refs])"
            )
    from sacrebleu.metrics import BLEU

    # sacrebleu wants reference streams (one list per reference slot); None fills the slots of
    # predictions that have fewer references.
    width = max(len(r) for r in refs)
    streams = [[r[j] if j < len(r) else None for r in refs] for j in range(width)]
    bleu = BLEU(lowercase=True).corpus_score(preds, streams).score
    rouge = float(np.mean([rouge_l(p, r) for p, r in zip(preds, refs)]))
    return {"bleu4": float(bleu), "rouge_l": 100.0 * rouge, "num_samples": len(preds)}


# --------------------------------------------------------------------------- trajectories
def _positions(x: Any, name: str) -> np.ndarray:
    arr = np.asarray(x)
    if np.iscomplexobj(arr) or not np.issubdtype(arr.dtype, np.number):
        raise ValueError(f"{name} must be a real-valued (T, J, 3) position array, got dtype {arr.dtype}")
    if arr.ndim != 3 or min(arr.shape) < 1:
        raise ValueError(f"{name} must be a (T, J, 3) position array with T, J >= 1, got shape {arr.shape}")
    arr = arr.astype(np.float64)
    if not np.isfinite(arr).all():
        t, j, c = np.argwhere(~np.isfinite(arr))[0]
        raise ValueError(f"{name} has a non-finite value at frame {t}, joint {j}, axis {c}")
    return arr


def _position_list(x: Any, name: str) -> list[np.ndarray]:
    if isinstance(x, np.ndarray) and x.ndim == 3:
        return [_positions(x, name)]
    if isinstance(x, np.ndarray) and x.ndim == 4:
        return [_positions(s, f"{name}[{i}]") for i, s in enumerate(x)]
    if isinstance(x, (list, tuple)):
        if not x:
            raise ValueError(f"{name} is empty: pass a (T, J, 3) array or a non-empty list of them")
        return [_positions(s, f"{name}[{i}]") for i, s in enumerate(x)]
    return [_positions(x, name)]


def ade_fde(pred: Any, true: Any) -> dict[str, float]:
    """Average, final and middle-frame displacement errors of predicted joint positions.

    For one sequence, with ``e[t, j] = ||pred[t, j] - true[t, j]||``: ADE = mean of ``e``, FDE = mean
    over joints of ``e[T - 1]``, ``mid`` = mean over joints of ``e[T // 2]``, in the units of the
    input (multiply metres by 1000 for mm). A list (or ``(N, T, J, 3)`` array) of sequences gives the
    mean of the per-sequence values, each sequence weighing the same whatever its length.

    Args:
        pred, true: ``(T, J, 3)`` position arrays, or lists of them with matching shapes.

    Returns:
        ``{"ade": .., "fde": .., "mid": .., "num_sequences": ..}``.

    Raises:
        ValueError: not (T, J, 3) arrays, a different number of sequences, or shapes that differ
            (naming both), non-finite values.
    """
    ps, ts = _position_list(pred, "pred"), _position_list(true, "true")
    if len(ps) != len(ts):
        raise ValueError(f"pred has {len(ps)} sequences but true has {len(ts)}")
    ade, fde, mid = [], [], []
    for i, (p, t) in enumerate(zip(ps, ts)):
        if p.shape != t.shape:
            where = "" if len(ps) == 1 and not isinstance(pred, (list, tuple)) else f"[{i}]"
            raise ValueError(f"pred{where} has shape {p.shape} but true{where} has shape {t.shape}; they must match")
        e = np.linalg.norm(p - t, axis=-1)  # (T, J)
        ade.append(e.mean())
        fde.append(e[-1].mean())
        mid.append(e[len(e) // 2].mean())
    return {
        "ade": float(np.mean(ade)),
        "fde": float(np.mean(fde)),
        "mid": float(np.mean(mid)),
        "num_sequences": len(ps),
    }


def _num_frames(num_frames: Any) -> int:
    if not _is_int(num_frames) or num_frames < 0:
        raise ValueError(f"num_frames must be a non-negative integer, got {num_frames!r}")
    return int(num_frames)


def _pose(x: Any, name: str, which: int) -> np.ndarray:
    """A ``(J, 3)`` pose: ``x`` itself, or frame ``which`` of a ``(T, J, 3)`` sequence."""
    arr = np.asarray(x)
    if arr.ndim == 3 and len(arr):
        arr = arr[which]
    if arr.ndim != 2 or min(arr.shape) < 1:
        raise ValueError(f"{name} must be a (J, 3) pose or a (T, J, 3) sequence, got shape {np.asarray(x).shape}")
    return _positions(arr[None], name)[0]


def zero_velocity(last_frame: Any, num_frames: int) -> np.ndarray:
    """Zero-velocity prediction baseline: ``(num_frames, J, 3)`` copies of the last observed pose.

    Args:
        last_frame: the last observed ``(J, 3)`` pose, or the observed ``(T, J, 3)`` sequence (its
            last frame is used).
    """
    pose = _pose(last_frame, "last_frame", -1)
    return np.repeat(pose[None], _num_frames(num_frames), axis=0)


def linear_interpolation(before: Any, after: Any, num_frames: int) -> np.ndarray:
    """In-betweening baseline: the ``num_frames`` poses strictly between ``before`` and ``after``,
    ``before + k / (num_frames + 1) * (after - before)`` for ``k = 1 .. num_frames``.

    Args:
        before: the last known ``(J, 3)`` pose before the gap (or a sequence: its last frame).
        after: the first known ``(J, 3)`` pose after the gap (or a sequence: its first frame).

    Returns:
        ``(num_frames, J, 3)`` float64 positions.
    """
    a, b = _pose(before, "before", -1), _pose(after, "after", 0)
    if a.shape != b.shape:
        raise ValueError(f"before has pose shape {a.shape} but after has {b.shape}; they must match")
    n = _num_frames(num_frames)
    alpha = (np.arange(1, n + 1, dtype=np.float64) / (n + 1))[:, None, None]
    return a[None] + alpha * (b - a)[None]
