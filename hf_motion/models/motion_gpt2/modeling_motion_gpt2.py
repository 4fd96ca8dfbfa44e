"""M5 models: GPT-2 over the motion vocabulary, with joint-index and frame-index embeddings.

M5: "the positional embedding also carries the joint index and the frame index of each token".
:class:`MotionGPT2Model` is GPT-2 whose input embedding is::

    wte[token] + wpe[position] + joint_emb[joint index] + frame_emb[frame index]

Both indices are derived from ``input_ids`` alone (see :func:`motion_position_indices`), so
training data needs no extra columns. During ``model.generate`` with the KV cache the model only
sees the new token, so :meth:`MotionGPT2ForCausalLM.prepare_inputs_for_generation` computes the
indices from the whole history and passes them in as ``joint_ids`` / ``frame_ids``.

Optionally (``use_previous_token_embeddings=True``) a copy path adds, at each position,
``prev_emb[the previous frame's value at the slot of the token predicted there]`` (the *next*
token's slot: position ``i`` predicts token ``i + 1``; see :meth:`MotionGPT2Model.previous_frame_token_ids`),
so that "repeat the last frame" (or, under delta coding, "keep the last velocity") is one
embedding lookup away instead of an attention pattern a frame back; it is derived from the ids
and passed during generation the same way (``previous_token_ids``).

Optionally (``use_level_embeddings=True``) a level path adds ``level_emb[the level that slot
decoded to in the previous frame]``: under delta coding the ids carry changes, so the level is
summed along the chain of previous-frame slots back to a keyframe (:func:`slot_levels`), and the
model sees where each joint axis is, not only how it last moved (``level_ids`` during generation).

Importing ``hf_motion`` registers the classes with ``AutoConfig``, ``AutoModel``,
``AutoModelForCausalLM`` and ``AutoModelForSequenceClassification`` (``model_type="motion_gpt2"``).

Named size presets (:data:`MODEL_PRESETS`) go from a ``tiny`` test model to M5's 26M parameters;
:func:`motion_gpt2_config` fills vocabulary size and special ids from a
:class:`~hf_motion.tokenizer.MotionTokenizer` (both in :mod:`.configuration_motion_gpt2`).
"""

from __future__ import annotations

import functools

import numpy as np
import torch
from torch import nn
from transformers import (
    AutoConfig,
    AutoModel,
    AutoModelForCausalLM,
    AutoModelForSequenceClassification,
)
from transformers.models.gpt2.modeling_gpt2 import (
    GPT2Block,
    GPT2ForSequenceClassification,
    GPT2LMHeadModel,
    GPT2Model,
    GPT2PreTrainedModel,
)

from .configuration_motion_gpt2 import (  # noqa: F401  (re-exported: the family's public names)
    _DEFAULT_INTERLEAVED_TASK_IDS,
    _DEFAULT_SPECIAL_IDS,
    _DEFAULT_VOCAB_SIZE,
    MODEL_PRESETS,
    ModelPreset,
    MotionGPT2Config,
    motion_gpt2_config,
)

__all__ = [
    "MotionGPT2Config",
    "MotionGPT2Model",
    "MotionGPT2ForCausalLM",
    "MotionGPT2ForSequenceClassification",
    "MODEL_PRESETS",
    "motion_gpt2_config",
    "motion_position_indices",
    "previous_frame_token_ids",
    "previous_frame_source",
    "slot_levels",
    "init_ordinal_embeddings",
    "count_parameters",
]


# --------------------------------------------------------------------------- indices
def motion_position_indices(
    input_ids: torch.Tensor,
    frame_separator_id: int,
    special_token_ids: list[int] | torch.Tensor,
    values_per_joint: int,
    max_joints: int | None,
    max_frames: int | None,
    bos_token_id: int | None = None,
    eos_token_id: int | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Joint index and frame index of every token, from the ids alone (vectorised).

    * frame index = number of frame separators so far in the row (the separator included), counted
      from the last ``bos`` so that packed rows restart at every document;
    * joint index = ``(tokens since the last separator - 1) // values_per_joint``, i.e. 0 for the
      first joint of a frame;
    * special tokens (pad, bos, eos, separator, task tokens) get 0 for both;
    * both are clamped to ``max_joints - 1`` / ``max_frames - 1`` (``None``: not clamped).

    Left and right padding do not change the indices of the real tokens (pads are specials and
    never separators).

    Args:
        input_ids: ``(batch, length)`` integer tensor.

    Returns:
        ``(joint_ids, frame_ids)``, two ``(batch, length)`` long tensors.
    """
    if input_ids.ndim != 2:
        raise ValueError(f"input_ids must be (batch, length), got shape {tuple(input_ids.shape)}")
    device = input_ids.device
    L = input_ids.shape[1]
    pos = torch.arange(L, device=device).expand_as(input_ids)
    is_sep = input_ids == frame_separator_id
    is_boundary = is_sep.clone()
    if bos_token_id is not None:
        is_bos = input_ids == bos_token_id
        is_boundary |= is_bos
    if eos_token_id is not None:
        is_boundary |= input_ids == eos_token_id
    specials = torch.as_tensor(special_token_ids, device=device, dtype=input_ids.dtype)
    is_special = torch.isin(input_ids, specials)

    n_sep = torch.cumsum(is_sep, dim=1)
    if bos_token_id is not None:
        # separators counted before the most recent bos (n_sep is non-decreasing, so cummax works)
        base = torch.cummax(torch.where(is_bos, n_sep, torch.zeros_like(n_sep)), dim=1).values
        n_sep = n_sep - base
    last_boundary = torch.cummax(torch.where(is_boundary, pos, torch.full_like(pos, -1)), dim=1).values
    since = pos - last_boundary  # 1 for the first token after a separator
    joint = torch.div(since - 1, values_per_joint, rounding_mode="floor")
    zero = torch.zeros_like(joint)
    joint = torch.where(is_special, zero, joint).clamp_(min=0)
    frame = torch.where(is_special, zero, n_sep.to(joint.dtype)).clamp_(min=0)
    if max_joints is not None:
        joint = joint.clamp_(max=max_joints - 1)
    if max_frames is not None:
        frame = frame.clamp_(max=max_frames - 1)
    return joint, frame


def previous_frame_token_ids(
    input_ids: torch.Tensor,
    frame_separator_id: int,
    special_token_ids: list[int] | torch.Tensor,
    bos_token_id: int | None = None,
    eos_token_id: int | None = None,
    interleaved_task_ids: list[int] | torch.Tensor | None = (5, 6),
    none_id: int = 0,
) -> torch.Tensor:
    """For every token, the id at the same slot of the previous frame of the same stream (vectorised).

    The copy path of :class:`MotionGPT2Model` (``use_previous_token_embeddings``): motion changes
    little from one frame to the next, so the best first guess of a value is the value at the same
    slot (same joint, axis and digit) one frame earlier, ``frame width + 1`` tokens back.

    Frames and documents follow :func:`motion_position_indices`: a frame starts at a separator and
    ends at the next separator, ``bos`` or ``eos``; a document starts at ``bos`` (a row without one
    is one document), so in packed rows frames never reach into the previous document. The slot of a
    token is its offset after its frame's separator (1 for the first value).

    "Previous frame" means the previous frame **of the same stream**: one frame back in a causal
    (``>``) document, two frames back in a document that holds one of ``interleaved_task_ids``
    (M5's FK ``$`` / IK ``&`` texts alternate angle and position frames, so the previous angle frame
    of an angle frame is two frames back). The task is read from the task token after ``bos``
    (precisely: a document is interleaved from the first interleaved task token after its ``bos``
    on); a document without a task token (e.g. a packed row that starts in the middle of an
    example) counts as causal.

    The result is ``none_id`` for special tokens (pad, bos, eos, separator, task tokens, unk), for
    every token of the first frame(s) of a document (no previous frame of its stream), for tokens
    whose previous frame is shorter than their slot, when the value at that slot is itself a
    special token, and for tokens before a document's first separator (a row that starts mid-frame).
    Left and right padding do not change the result of the real tokens.

    Args:
        input_ids: ``(batch, length)`` integer tensor.
        none_id: id returned where there is no previous-frame token (:class:`MotionGPT2Model` uses
            ``pad_token_id``, a special that never appears as a slot value).

    Returns:
        ``(batch, length)`` tensor of ids, same dtype as ``input_ids``.
    """
    q, valid = previous_frame_source(input_ids, frame_separator_id, special_token_ids, bos_token_id, eos_token_id, interleaved_task_ids)
    return torch.where(valid, input_ids.gather(1, q), torch.full_like(input_ids, none_id))


def previous_frame_source(
    input_ids: torch.Tensor,
    frame_separator_id: int,
    special_token_ids: list[int] | torch.Tensor,
    bos_token_id: int | None = None,
    eos_token_id: int | None = None,
    interleaved_task_ids: list[int] | torch.Tensor | None = (5, 6),
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(positions, valid)``, both ``(batch, length)``: where :func:`previous_frame_token_ids` reads
    each token's previous-frame value (the same slot of the previous frame of the same stream), and
    whether there is one (the rules are that function's)."""
    if input_ids.ndim != 2:
        raise ValueError(f"input_ids must be (batch, length), got shape {tuple(input_ids.shape)}")
    device = input_ids.device
    B, L = input_ids.shape
    if L == 0:
        return input_ids.clone(), torch.zeros_like(input_ids, dtype=torch.bool)
    pos = torch.arange(L, device=device).expand(B, L)
    neg = torch.full_like(pos, -1)
    is_sep = input_ids == frame_separator_id
    is_boundary = is_sep.clone()
    if bos_token_id is not None:
        is_bos = input_ids == bos_token_id
        is_boundary |= is_bos
    else:
        is_bos = torch.zeros_like(is_sep)
    if eos_token_id is not None:
        is_boundary |= input_ids == eos_token_id
    specials = torch.as_tensor(special_token_ids, device=device, dtype=input_ids.dtype)
    is_special = torch.isin(input_ids, specials)

    last_boundary = torch.cummax(torch.where(is_boundary, pos, neg), dim=1).values
    last_bos = torch.cummax(torch.where(is_bos, pos, neg), dim=1).values
    # Separators so far (the current one included), and how many of them precede the document.
    n_sep = torch.cumsum(is_sep, dim=1)
    base = torch.cummax(torch.where(is_bos, n_sep, torch.zeros_like(n_sep)), dim=1).values
    stride = torch.ones_like(n_sep)
    if interleaved_task_ids is not None and len(interleaved_task_ids):
        tasks = torch.as_tensor(interleaved_task_ids, device=device, dtype=input_ids.dtype)
        last_task = torch.cummax(torch.where(torch.isin(input_ids, tasks), pos, neg), dim=1).values
        stride = stride + (last_task > last_bos).to(stride.dtype)
    # sep_pos[b, k]: position of the k-th separator of row b (k >= 1); column 0 is a dump for
    # non-separators, which all write the same -1 (so the scatter is deterministic).
    sep_pos = torch.full((B, L + 1), -1, device=device, dtype=pos.dtype)
    sep_pos.scatter_(1, torch.where(is_sep, n_sep, torch.zeros_like(n_sep)), torch.where(is_sep, pos, neg))
    src_frame = n_sep - stride  # global number of the source frame (= of its separator)
    src_sep = sep_pos.gather(1, src_frame.clamp(min=0))
    q = (src_sep + (pos - last_boundary)).clamp(0, L - 1)  # same slot in the source frame
    in_frame = (last_boundary >= 0) & is_sep.gather(1, last_boundary.clamp(min=0))
    valid = (
        ~is_special
        & in_frame  # the token's frame starts at a separator
        & (src_frame > base)  # the source frame is in the same document
        & (last_boundary.gather(1, q) == src_sep)  # the slot lies inside the source frame
        & ~is_special.gather(1, q)
    )
    return q, valid


def slot_levels(
    input_ids: torch.Tensor,
    source: torch.Tensor,
    valid: torch.Tensor,
    value_alphabets: list[list[int]],
    stream_levels: list[int],
) -> tuple[torch.Tensor, torch.Tensor]:
    """The quantizer level every value token decodes to, from the ids alone (vectorised).

    A token of an absolute alphabet is its level; a delta token adds its change to the level of its
    previous-frame source (``source`` / ``valid`` from :func:`previous_frame_source`), so a level is
    the keyframe's value plus the changes written since, summed along the chain of sources by
    pointer doubling (``log2(length)`` gathers, not one per frame).

    Returns:
        ``(levels, stream)``, both ``(batch, length)`` long: the level, or ``-1`` where there is
        none (special tokens, a delta token whose chain does not reach a keyframe inside the row,
        a chain that mixes streams, or a sum outside ``[0, stream_levels[stream])``); and the
        stream of the token (``0`` angles, ``1`` positions, ``-1`` not a value).
    """
    B, L = input_ids.shape
    device = input_ids.device
    alphabets = tuple(tuple(int(x) for x in a) for a in value_alphabets)
    stream_of, base_of, delta_of, limit_of = _value_tables(alphabets, tuple(int(n) for n in stream_levels), device)
    ids = input_ids.clamp(0, len(stream_of) - 1)  # ids past the last alphabet land on its "not a value" row
    stream, base, delta = stream_of[ids], base_of[ids], delta_of[ids]
    chained = delta & valid & (stream >= 0) & (stream.gather(1, source) == stream)
    unknown = torch.full_like(base, -(1 << 40))  # dominates any sum of changes: the result stays < 0
    weight = torch.where((stream >= 0) & ~delta, base, torch.where(chained, base, unknown))
    end = torch.full((B, 1), L, dtype=torch.long, device=device)  # a sentinel of weight 0 ends every chain
    pointer = torch.cat([torch.where(chained, source, end.expand(B, L)), end], dim=1)
    weight = torch.cat([weight, torch.zeros_like(end)], dim=1)
    for _ in range(max(int(L).bit_length(), 1)):
        weight = weight + weight.gather(1, pointer)
        pointer = pointer.gather(1, pointer)
    levels = weight[:, :L]
    ok = (stream >= 0) & (levels >= 0) & (levels < limit_of[ids])
    return torch.where(ok, levels, torch.full_like(levels, -1)), stream


@functools.lru_cache(maxsize=16)
def _value_tables(alphabets: tuple, stream_levels: tuple, device: torch.device) -> tuple[torch.Tensor, ...]:
    """Per id (one extra last row for every id past the alphabets): stream (``-1``: not a value),
    level or change, whether it is a change, and the stream's level count; built once per device."""
    size = max(a[1] for a in alphabets) + 1
    stream_of = torch.full((size,), -1, dtype=torch.long)
    base_of = torch.zeros(size, dtype=torch.long)
    delta_of = torch.zeros(size, dtype=torch.bool)
    for start, stop, stream, step in alphabets:
        stream_of[start:stop] = stream
        base_of[start:stop] = torch.arange(stop - start) - max(step, 0)
        delta_of[start:stop] = step >= 0
    limit_of = torch.as_tensor(stream_levels)[stream_of.clamp(min=0)]
    return tuple(t.to(device) for t in (stream_of, base_of, delta_of, limit_of))


def _indices_from_config(
    input_ids: torch.Tensor, config: MotionGPT2Config, specials: torch.Tensor | None = None, clamp: bool = True
) -> tuple[torch.Tensor, torch.Tensor]:
    eos = config.eos_token_id if isinstance(config.eos_token_id, int) else None
    return motion_position_indices(
        input_ids,
        config.frame_separator_id,
        config.special_token_ids if specials is None else specials,
        config.values_per_joint,
        config.max_joints if clamp else None,
        config.max_frames if clamp else None,
        bos_token_id=config.bos_token_id,
        eos_token_id=eos,
    )


# ---------------------------------------------------------------------------- models
# Top-level modules of the backbone: a missing or unexpected weight under one of them means the
# checkpoint and the config describe different networks.
_BACKBONE_MODULES = ("wte", "wpe", "joint_embeddings", "frame_embeddings", "previous_token_embeddings", "level_embeddings", "h", "ln_f")


def _is_backbone_key(key: str) -> bool:
    key = key[len("transformer.") :] if key.startswith("transformer.") else key
    return key.split(".", 1)[0] in _BACKBONE_MODULES


def _unreadable_weight_files(path) -> list[str]:
    """The ``*.safetensors`` files of a local checkpoint folder whose header cannot be read."""
    from pathlib import Path

    from safetensors import safe_open

    folder = Path(str(path))
    if not folder.is_dir():
        return []
    bad = []
    for f in sorted(folder.glob("*.safetensors")):
        try:
            with safe_open(str(f), framework="pt"):
                pass
        except Exception as exc:  # noqa: BLE001 - any reader error marks the file
            bad.append(f"{f} ({exc})")
    return bad


def _shown(keys: list[str], limit: int = 6) -> str:
    return ", ".join(keys[:limit]) + (f", ... ({len(keys)} in all)" if len(keys) > limit else "")


def _layer_counts(keys) -> set[int]:
    out = set()
    for key in keys:
        key = key[len("transformer.") :] if key.startswith("transformer.") else key
        parts = key.split(".")
        if len(parts) > 1 and parts[0] == "h" and parts[1].isdigit():
            out.add(int(parts[1]))
    return out


class MotionGPT2PreTrainedModel(GPT2PreTrainedModel):
    """Base class: GPT-2's weight initialisation, with :class:`MotionGPT2Config`, and a stricter
    :meth:`from_pretrained`."""

    config: MotionGPT2Config
    config_class = MotionGPT2Config
    base_model_prefix = "transformer"

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, *model_args, **kwargs):
        """:meth:`transformers.PreTrainedModel.from_pretrained`, with two extra checks.

        * An unreadable weight file (e.g. a truncated ``model.safetensors``) raises ``OSError``
          naming the file, instead of safetensors' bare header error.
        * Backbone weights that the checkpoint has but the config does not (or the reverse), e.g.
          ``config.json`` saying ``n_layer: 1`` for a 4-layer checkpoint, raise ``ValueError`` naming
          the keys and the config field. New task heads (``score``, multi-task ``heads``) missing
          from a causal-LM checkpoint, or heads the model does not use, are expected and only reported
          in ``output_loading_info``, as usual.
        """
        from safetensors import SafetensorError

        want_info = kwargs.pop("output_loading_info", False)
        try:
            model, info = super().from_pretrained(pretrained_model_name_or_path, *model_args, output_loading_info=True, **kwargs)
        except SafetensorError as exc:
            bad = _unreadable_weight_files(pretrained_model_name_or_path)
            where = "; ".join(bad) if bad else f"the weights of {pretrained_model_name_or_path} ({exc})"
            raise OSError(
                f"cannot read {where}. The file is truncated or corrupt (an interrupted download or save?); download or save it again"
            ) from exc
        missing = sorted(k for k in info.get("missing_keys", ()) if _is_backbone_key(k))
        unexpected = sorted(k for k in info.get("unexpected_keys", ()) if _is_backbone_key(k))
        if missing or unexpected:
            cfg = model.config
            hints = []
            extra_layers, absent_layers = _layer_counts(unexpected), _layer_counts(missing)
            if extra_layers:
                hints.append(f"the checkpoint has layer(s) {sorted(extra_layers)} beyond config n_layer={cfg.n_layer}")
            if absent_layers:
                hints.append(f"config n_layer={cfg.n_layer} but the checkpoint lacks layer(s) {sorted(absent_layers)}")
            for module in ("joint_embeddings", "frame_embeddings", "previous_token_embeddings", "level_embeddings"):
                if any(module in k for k in missing + unexpected):
                    field = f"use_{module}"
                    hints.append(f"{module} differ: check {field}={getattr(cfg, field)}")
            parts = []
            if unexpected:
                parts.append(f"unexpected backbone weights in the checkpoint: {_shown(unexpected)}")
            if missing:
                parts.append(f"backbone weights missing from the checkpoint: {_shown(missing)}")
            raise ValueError(
                f"{pretrained_model_name_or_path}: the checkpoint does not match its config "
                f"({'; '.join(hints) or 'check n_layer, n_embd, max_joints and the embedding flags'}); "
                + "; ".join(parts)
                + ". Fix config.json (or the config you passed) to describe the saved network"
            )
        return (model, info) if want_info else model


def _check_pad_token(config: MotionGPT2Config, cls_name: str) -> None:
    """Pooling on the last non-pad token needs a pad id distinct from EOS (or every EOS counts as padding)."""
    pad, eos = config.pad_token_id, config.eos_token_id
    eos_ids = set(eos) if isinstance(eos, (list, tuple)) else {eos}
    if pad is None or pad in eos_ids:
        raise ValueError(
            f"{cls_name} needs config.pad_token_id set and distinct from eos_token_id (got pad_token_id={pad}, "
            f"eos_token_id={eos}): it pools the last non-pad token. Build the config with "
            "motion_gpt2_config(preset, tokenizer) (MotionTokenizer's <pad> is id 0, <eos> id 2)"
        )


class MotionGPT2Model(MotionGPT2PreTrainedModel, GPT2Model):
    """GPT-2 backbone whose input embedding also carries each token's joint index and frame index.

    ``forward`` accepts everything :class:`~transformers.GPT2Model` does, plus optional
    ``joint_ids`` / ``frame_ids`` ``(batch, length)``. When they are omitted they are computed from
    ``input_ids``; that is only possible without a filled KV cache (a cached step sees only the new
    tokens, not the frame they belong to), so a cached call without them raises.
    ``model.generate`` passes them automatically (and checks the prompt against ``max_joints`` once).

    With ``config.use_previous_token_embeddings`` the input embedding also gets
    ``previous_token_embeddings[previous_token_ids]``, the ids at the same slot of the previous frame
    (:func:`previous_frame_token_ids`; ``pad_token_id`` where there is none). ``previous_token_ids``
    follows the same rules as the indices: optional without a filled cache, required with one
    (``model.generate`` passes it).
    """

    def __init__(self, config: MotionGPT2Config):
        # Same modules as GPT2Model.__init__, plus the two index embeddings, built before post_init
        # so that they get GPT-2's initialisation.
        MotionGPT2PreTrainedModel.__init__(self, config)
        self.embed_dim = config.hidden_size
        self.wte = nn.Embedding(config.vocab_size, self.embed_dim)
        self.wpe = nn.Embedding(config.max_position_embeddings, self.embed_dim)
        self.joint_embeddings = nn.Embedding(config.max_joints, self.embed_dim) if config.use_joint_embeddings else None
        self.frame_embeddings = nn.Embedding(config.max_frames, self.embed_dim) if config.use_frame_embeddings else None
        # Copy path: embedding of the token one frame back (GPT-2's normal init, like the other tables).
        self.previous_token_embeddings = nn.Embedding(config.vocab_size, self.embed_dim) if config.use_previous_token_embeddings else None
        # Level path: one row per (stream, level), and a last row for "no level".
        self.level_embeddings = nn.Embedding(sum(config.stream_levels) + 1, self.embed_dim) if config.use_level_embeddings else None
        self.drop = nn.Dropout(config.embd_pdrop)
        self.h = nn.ModuleList([GPT2Block(config, layer_idx=i) for i in range(config.num_hidden_layers)])
        self.ln_f = nn.LayerNorm(self.embed_dim, eps=config.layer_norm_epsilon)
        self.gradient_checkpointing = False
        self._attn_implementation = config._attn_implementation
        self.post_init()

    @property
    def uses_motion_indices(self) -> bool:
        """Whether joint or frame embeddings are enabled."""
        return self.joint_embeddings is not None or self.frame_embeddings is not None

    def motion_position_indices(self, input_ids: torch.Tensor, check_joints: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
        """``(joint_ids, frame_ids)`` of ``input_ids`` under this model's config.

        Args:
            check_joints: raise ``ValueError`` if a frame has more than ``config.max_joints`` joints
                (costs one host sync).
        """
        joint, frame = self._unclamped_indices(input_ids)
        if check_joints and self.joint_embeddings is not None and joint.numel():
            self._raise_on_checks([("joints", joint.max(), joint)])
        return joint.clamp(max=self.config.max_joints - 1), frame.clamp(max=self.config.max_frames - 1)

    def _unclamped_indices(self, input_ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return _indices_from_config(input_ids, self.config, self._id_tensor(input_ids, "special_token_ids"), clamp=False)

    def _id_tensor(self, input_ids: torch.Tensor, field: str) -> torch.Tensor:
        # Id lists are kept as tensors per device: one host-to-device copy, not one per generated token.
        ids = tuple(getattr(self.config, field))
        key = (field, input_ids.device, input_ids.dtype, ids)
        cache = self.__dict__.setdefault("_special_ids_cache", {})
        if key not in cache:
            cache[key] = torch.tensor(ids, dtype=input_ids.dtype, device=input_ids.device)
        return cache[key]

    @property
    def previous_none_id(self) -> int:
        """The id :meth:`previous_frame_token_ids` gives tokens without a previous frame (``pad_token_id``)."""
        pad = self.config.pad_token_id
        return int(pad) if pad is not None else int(self.config.special_token_ids[0])

    def previous_frame_token_ids(self, input_ids: torch.Tensor, sources: tuple | None = None) -> torch.Tensor:
        """The copy path's ids: at each position ``i``, the previous frame's id at the slot of token
        ``i + 1`` (the token predicted at ``i``), i.e. :func:`previous_frame_token_ids` of the
        *following* token; at the last position, of a value token that would follow (no host sync).

        Looking up the input token's own previous-frame id instead would hand the model the
        neighbouring slot's history, one slot off from what it must predict. ``sources``: the
        :meth:`sources_with_next_token` of ``input_ids``, when the caller already has them.
        """
        ext, source, valid = sources if sources is not None else self.sources_with_next_token(input_ids)
        none = torch.full_like(ext, self.previous_none_id)
        return torch.where(valid, ext.gather(1, source), none)[:, 1:]

    def sources_with_next_token(self, input_ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(ext, source, valid)``: the ids with one placeholder value token appended (it stands for
        the token about to be predicted; where the next token is really a separator or eos, its slot
        lies outside the previous frame, so it gets no source either way), and
        :func:`previous_frame_source` of them under this model's config."""
        eos = self.config.eos_token_id if isinstance(self.config.eos_token_id, int) else None
        specials = set(int(i) for i in self.config.special_token_ids)
        placeholder = next(i for i in range(self.config.vocab_size) if i not in specials)
        ext = torch.cat([input_ids, torch.full_like(input_ids[:, :1], placeholder)], dim=1)
        source, valid = previous_frame_source(
            ext,
            self.config.frame_separator_id,
            self._id_tensor(input_ids, "special_token_ids"),
            bos_token_id=self.config.bos_token_id,
            eos_token_id=eos,
            interleaved_task_ids=self._id_tensor(input_ids, "interleaved_task_ids"),
        )
        return ext, source, valid

    @property
    def level_none_id(self) -> int:
        """The row of :attr:`level_embeddings` for "no level" (the last one)."""
        return int(sum(self.config.stream_levels))

    def previous_frame_level_ids(self, input_ids: torch.Tensor, sources: tuple | None = None) -> torch.Tensor:
        """The level path's rows: at each position ``i``, the level that the previous frame of the
        same stream decoded to at the slot of token ``i + 1`` (the slot being predicted; see
        :meth:`previous_frame_token_ids`), as ``stream offset + level`` (angles first), or
        :attr:`level_none_id` where there is none (:func:`slot_levels`). ``sources``: as in
        :meth:`previous_frame_token_ids`."""
        ext, source, valid = sources if sources is not None else self.sources_with_next_token(input_ids)
        levels, stream = slot_levels(ext, source, valid, self.config.value_alphabets, self.config.stream_levels)
        at_source, source_stream = levels.gather(1, source), stream.gather(1, source)
        offset = torch.where(source_stream == 1, int(self.config.stream_levels[0]), 0)
        rows = torch.where(valid & (at_source >= 0), offset + at_source, torch.full_like(at_source, self.level_none_id))
        return rows[:, 1:]

    def _raise_on_checks(self, checks: list[tuple[str, torch.Tensor, torch.Tensor]], total: int | None = None) -> None:
        """Evaluate scalar checks with one host sync; raise ``ValueError`` for the first that fails.

        Each check is ``(kind, scalar tensor, values)``; ``values`` locates the culprit once a check fails.
        ``total``: the sequence length including cached tokens (for the message).
        """
        if not checks:
            return
        got = torch.stack([c[1].reshape(()).to(torch.long).cpu() for c in checks]).tolist()
        cfg = self.config
        V, n_pos = self.wte.num_embeddings, self.wpe.num_embeddings

        def first(values: torch.Tensor, bad: torch.Tensor) -> tuple[str, int]:
            idx = tuple(torch.nonzero(bad)[0].tolist())
            where = f"row {idx[-2]}, position {idx[-1]}" if len(idx) >= 2 else f"position {idx[0]}"
            return where, int(values[idx])

        for (kind, _, values), value in zip(checks, got):
            if kind == "id_max" and value >= V:
                where, bad = first(values, values >= V)
                raise ValueError(
                    f"input_ids holds id {bad} ({where}), outside the model's vocabulary [0, {V}) "
                    f"(vocab_size={V}); encode with the model's tokenizer, or resize the embeddings"
                )
            if kind == "id_min" and value < 0:
                where, bad = first(values, values < 0)
                raise ValueError(
                    f"input_ids holds the negative id {bad} ({where}); ids must be in [0, {V}) "
                    f"(vocab_size={V}); -100 belongs in labels, not input_ids"
                )
            if kind == "pos_max" and value >= n_pos:
                where, bad = first(values, values >= n_pos)
                length = f"the sequence is {total} tokens (cache included) and " if total is not None else ""
                raise ValueError(
                    f"position_ids reach {bad} ({where}): {length}the model has n_positions={n_pos}; cut the "
                    f"input into windows of at most {n_pos} tokens (or generate fewer new tokens)"
                )
            if kind == "pos_min" and value < 0:
                where, bad = first(values, values < 0)
                raise ValueError(f"position_ids holds the negative position {bad} ({where})")
            if kind == "joints" and value >= cfg.max_joints:
                where, _ = first(values, values >= cfg.max_joints)
                raise ValueError(
                    f"a frame has {value + 1} joints (the first past the limit at {where}), but the model has "
                    f"max_joints={cfg.max_joints}: joints past {cfg.max_joints - 1} would share one embedding. "
                    f"Build the model with motion_gpt2_config(..., max_joints={value + 1}) (or more), or use "
                    "fewer joints (Motion.select_joints)"
                )
            if kind == "previous_max" and value >= V:
                where, bad = first(values, values >= V)
                raise ValueError(f"previous_token_ids holds id {bad} ({where}), outside the vocabulary [0, {V})")
            if kind == "previous_min" and value < 0:
                where, bad = first(values, values < 0)
                raise ValueError(f"previous_token_ids holds the negative id {bad} ({where})")
            if kind in ("level_max", "level_min") and not 0 <= value <= self.level_none_id:
                where, bad = first(values, (values < 0) | (values > self.level_none_id))
                raise ValueError(f"level_ids holds {bad} ({where}), outside the level rows [0, {self.level_none_id}]")
            for name, field in (("joint_ids", "max_joints"), ("frame_ids", "max_frames")):
                limit = getattr(cfg, field)
                if kind == f"{name}_max" and value >= limit:
                    where, bad = first(values, values >= limit)
                    raise ValueError(f"{name} holds {bad} ({where}), but the model has {field}={limit}")
                if kind == f"{name}_min" and value < 0:
                    where, bad = first(values, values < 0)
                    raise ValueError(f"{name} holds the negative index {bad} ({where})")

    def forward(
        self,
        input_ids: torch.LongTensor | None = None,
        cache=None,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.LongTensor | None = None,
        position_ids: torch.LongTensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        encoder_hidden_states: torch.Tensor | None = None,
        encoder_attention_mask: torch.Tensor | None = None,
        use_cache: bool | None = None,
        joint_ids: torch.LongTensor | None = None,
        frame_ids: torch.LongTensor | None = None,
        previous_token_ids: torch.LongTensor | None = None,
        level_ids: torch.LongTensor | None = None,
        **kwargs,
    ):
        """GPT-2 forward with the joint/frame (and previous-frame token) embeddings added to the token embeddings.

        Args:
            joint_ids, frame_ids: optional ``(batch, length)`` indices of the tokens in ``input_ids``
                (or ``inputs_embeds``); computed from ``input_ids`` when omitted and no cache is filled.
            previous_token_ids: optional ``(batch, length)`` ids at the same slot of the previous frame
                (:meth:`previous_frame_token_ids` of the full sequence, sliced to the new tokens); used
                only with ``config.use_previous_token_embeddings``, computed like the indices when omitted.
            level_ids: optional ``(batch, length)`` rows of the level path (:meth:`previous_frame_level_ids`
                of the full sequence, sliced to the new tokens); only with ``config.use_level_embeddings``,
                computed like the indices when omitted.

        Raises:
            ValueError: ids outside ``[0, vocab_size)`` or not integers; a sequence longer than
                ``n_positions``; a frame with more joints than ``max_joints`` (they would share one
                embedding); a cached call without ``joint_ids`` / ``frame_ids`` (or, with the copy
                path, ``previous_token_ids``). The value checks
                cost one host sync: they run on CPU and for every uncached forward (prompts,
                training); on an accelerator a cached generation step skips them.
        """
        if input_ids is not None and inputs_embeds is not None:
            raise ValueError("You cannot specify both input_ids and inputs_embeds at the same time")
        past_len = cache.get_seq_length() if cache is not None else 0
        if input_ids is not None:
            if input_ids.is_floating_point() or input_ids.is_complex() or input_ids.dtype == torch.bool:
                raise ValueError(f"input_ids must be an integer tensor, got {input_ids.dtype}")
            self.warn_if_padding_and_no_attention_mask(input_ids, attention_mask)
            input_ids = input_ids.view(-1, input_ids.shape[-1])
        ref = input_ids if input_ids is not None else inputs_embeds
        checks: list = []
        if ref is not None:
            n_new, n_pos = ref.shape[1], self.wpe.num_embeddings
            if position_ids is None and attention_mask is not None and attention_mask.ndim == 2 and past_len == 0:
                # Count positions over real tokens only, so a left-padded row embeds like an unpadded one
                # (generate() does the same when it builds position_ids).
                position_ids = (attention_mask.long().cumsum(-1) - 1).clamp(min=0)
            if position_ids is None and past_len + n_new > n_pos:
                raise ValueError(
                    f"the input is {past_len + n_new} tokens long"
                    + (f" ({n_new} new after {past_len} cached)" if past_len else "")
                    + f", more than the model's n_positions={n_pos}; cut it into windows of at most {n_pos} "
                    "tokens (fewer frames or joints per window)"
                )
            # Value checks cost one host sync: always on CPU and for a prompt or a full forward; on an
            # accelerator a cached step (one new token, chosen by the model from its own vocabulary)
            # skips them.
            if ref.device.type == "cpu" or past_len == 0 or past_len + n_new > n_pos:
                if input_ids is not None and input_ids.numel():
                    checks += [("id_max", input_ids.max(), input_ids), ("id_min", input_ids.min(), input_ids)]
                if position_ids is not None and position_ids.numel():
                    checks += [("pos_max", position_ids.max(), position_ids),
                               ("pos_min", position_ids.min(), position_ids)]  # fmt: skip
                for name, given in (("joint_ids", joint_ids), ("frame_ids", frame_ids)):
                    if given is not None and given.numel():
                        checks += [(f"{name}_max", given.max(), given), (f"{name}_min", given.min(), given)]
                if self.previous_token_embeddings is not None and previous_token_ids is not None:
                    if previous_token_ids.numel():
                        checks += [("previous_max", previous_token_ids.max(), previous_token_ids),
                                   ("previous_min", previous_token_ids.min(), previous_token_ids)]  # fmt: skip
                if self.level_embeddings is not None and level_ids is not None and level_ids.numel():
                    checks += [("level_max", level_ids.max(), level_ids), ("level_min", level_ids.min(), level_ids)]
        if self.uses_motion_indices and ref is not None and (joint_ids is None or frame_ids is None):
            if input_ids is None:
                raise ValueError(
                    "MotionGPT2Model needs joint_ids and frame_ids when called with inputs_embeds "
                    "(they cannot be derived without input_ids)"
                )
            if past_len > 0:
                raise ValueError(
                    f"MotionGPT2Model got {input_ids.shape[1]} new token(s) after {past_len} cached ones but no "
                    "joint_ids/frame_ids: the indices of new tokens depend on the whole history. Pass "
                    "joint_ids and frame_ids (model.motion_position_indices(full_ids)[..., -n:]) or use "
                    "model.generate, which does this for you."
                )
            raw_joint, raw_frame = self._unclamped_indices(input_ids)
            if self.joint_embeddings is not None and raw_joint.numel():
                checks.append(("joints", raw_joint.max(), raw_joint))  # after the id checks
            joint_ids = raw_joint.clamp(max=self.config.max_joints - 1)
            frame_ids = raw_frame.clamp(max=self.config.max_frames - 1)
        if self.previous_token_embeddings is not None and ref is not None and previous_token_ids is None:
            if input_ids is None:
                raise ValueError(
                    "MotionGPT2Model (use_previous_token_embeddings=True) needs previous_token_ids when called with "
                    "inputs_embeds (they cannot be derived without input_ids)"
                )
            if past_len > 0:
                raise ValueError(
                    f"MotionGPT2Model got {input_ids.shape[1]} new token(s) after {past_len} cached ones but no "
                    "previous_token_ids: with use_previous_token_embeddings=True the previous-frame ids of new "
                    "tokens depend on the whole history. Pass previous_token_ids "
                    "(model.previous_frame_token_ids(full_ids)[..., -n:]) or use model.generate, which does this "
                    "for you."
                )
        # The copy and level paths read the same previous-frame sources: find them once.
        needs_previous = self.previous_token_embeddings is not None and ref is not None and previous_token_ids is None
        needs_levels = self.level_embeddings is not None and ref is not None and level_ids is None
        sources = self.sources_with_next_token(input_ids) if needs_previous and needs_levels and past_len == 0 else None
        if needs_previous:
            previous_token_ids = self.previous_frame_token_ids(input_ids, sources)
        if needs_levels:
            if input_ids is None or past_len > 0:
                raise ValueError(
                    "MotionGPT2Model (use_level_embeddings=True) needs level_ids when called with inputs_embeds or "
                    f"after cached tokens (here {past_len}): the level of a slot depends on the whole history. Pass "
                    "level_ids (model.previous_frame_level_ids(full_ids)[..., -n:]) or use model.generate, which "
                    "does this for you."
                )
            level_ids = self.previous_frame_level_ids(input_ids, sources)
        self._raise_on_checks(checks, total=None if ref is None else past_len + ref.shape[1])
        if input_ids is not None:
            inputs_embeds = self.wte(input_ids)
        if self.uses_motion_indices and inputs_embeds is not None:
            extra = 0
            if self.joint_embeddings is not None:
                extra = extra + self.joint_embeddings(joint_ids.to(inputs_embeds.device))
            if self.frame_embeddings is not None:
                extra = extra + self.frame_embeddings(frame_ids.to(inputs_embeds.device))
            inputs_embeds = inputs_embeds + extra
        if self.previous_token_embeddings is not None and inputs_embeds is not None:
            inputs_embeds = inputs_embeds + self.previous_token_embeddings(previous_token_ids.to(inputs_embeds.device))
        if self.level_embeddings is not None and inputs_embeds is not None:
            inputs_embeds = inputs_embeds + self.level_embeddings(level_ids.to(inputs_embeds.device))
        return super().forward(
            input_ids=None,
            cache=cache,
            attention_mask=attention_mask,
            token_type_ids=token_type_ids,
            position_ids=position_ids,
            inputs_embeds=inputs_embeds,
            encoder_hidden_states=encoder_hidden_states,
            encoder_attention_mask=encoder_attention_mask,
            use_cache=use_cache,
            **kwargs,
        )


class MotionGPT2ForCausalLM(MotionGPT2PreTrainedModel, GPT2LMHeadModel):
    """:class:`MotionGPT2Model` with a language-modelling head (tied to the token embeddings).

    Works with ``model.generate`` and the KV cache: the joint/frame indices (and, with the copy path,
    the previous-frame ids) of each new token are computed from the full sequence so far. Use
    :class:`hf_motion.MotionLogitsProcessor` to keep generations valid motion text.
    """

    _tied_weights_keys = {"lm_head.weight": "transformer.wte.weight"}

    def __init__(self, config: MotionGPT2Config):
        MotionGPT2PreTrainedModel.__init__(self, config)
        self.transformer = MotionGPT2Model(config)
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        self.post_init()

    def prepare_inputs_for_generation(self, input_ids, next_sequence_length=None, **kwargs):
        model_inputs = super().prepare_inputs_for_generation(input_ids, next_sequence_length=next_sequence_length, **kwargs)
        new_ids = model_inputs.get("input_ids")
        if new_ids is not None and self.transformer.uses_motion_indices and "joint_ids" not in kwargs:
            # Indices of the new tokens depend on the whole history, which only generate() holds. The
            # prompt's frames are checked against max_joints once, not at every step.
            first = bool(kwargs.get("is_first_iteration", False))
            joint, frame = self.transformer.motion_position_indices(input_ids, check_joints=first)
            n = new_ids.shape[1]
            model_inputs["joint_ids"] = joint[:, -n:].to(new_ids.device)
            model_inputs["frame_ids"] = frame[:, -n:].to(new_ids.device)
        # Same for the copy and level paths: the previous frame of a new token lies in the history.
        backbone = self.transformer
        needs_previous = new_ids is not None and backbone.previous_token_embeddings is not None and "previous_token_ids" not in kwargs
        needs_levels = new_ids is not None and backbone.level_embeddings is not None and "level_ids" not in kwargs
        sources = backbone.sources_with_next_token(input_ids) if needs_previous or needs_levels else None
        if needs_previous:
            model_inputs["previous_token_ids"] = backbone.previous_frame_token_ids(input_ids, sources)[:, -new_ids.shape[1] :].to(
                new_ids.device
            )
        if needs_levels:
            model_inputs["level_ids"] = backbone.previous_frame_level_ids(input_ids, sources)[:, -new_ids.shape[1] :].to(new_ids.device)
        return model_inputs


class MotionGPT2ForSequenceClassification(MotionGPT2PreTrainedModel, GPT2ForSequenceClassification):
    """:class:`MotionGPT2Model` with a linear classification/regression head on the last non-pad token.

    Loads from a :class:`MotionGPT2ForCausalLM` checkpoint (the head is newly initialised). The
    config's ``pad_token_id`` (0, distinct from EOS) marks padding, so left and right padding both work;
    a config whose ``pad_token_id`` is ``None`` or equal to ``eos_token_id`` is refused (``ValueError``).
    """

    def __init__(self, config: MotionGPT2Config):
        _check_pad_token(config, type(self).__name__)
        MotionGPT2PreTrainedModel.__init__(self, config)
        self.num_labels = config.num_labels
        self.transformer = MotionGPT2Model(config)
        self.score = nn.Linear(config.n_embd, self.num_labels, bias=False)
        self.post_init()


def _ordinal_features(values: np.ndarray, n_levels: int, delta: bool) -> np.ndarray:
    """Smooth features of a value token's number: nearby values get nearby features."""
    v = values.astype(np.float64)
    if delta:  # a change in levels: linear and log magnitude, signed, plus a few periods
        feats = [v / 8.0, np.sign(v) * np.log1p(np.abs(v)), np.log1p(np.abs(v))]
        feats += [f(2 * np.pi * v / p) for p in (8, 16, 32, 64) for f in (np.cos, np.sin)]
    else:  # a level in [0, n_levels): its position in the box and low-order cosines
        x = v / max(n_levels - 1, 1)
        feats = [2 * x - 1] + [np.cos(np.pi * k * x) for k in range(1, 8)]
    f = np.stack(feats, axis=-1)
    return (f - f.mean(axis=0)) / (f.std(axis=0) + 1e-8)


def init_ordinal_embeddings(model: nn.Module, tokenizer, strength: float = 1.0, seed: int = 0) -> None:
    """Give value tokens ordinal embeddings: each alphabet's rows (and the copy path's and level path's) become a
    random projection of smooth features of the token's value, plus half their random init.

    Why: a token model sees 256 levels and 511 changes as unrelated symbols and must learn from
    data that level 120 is next to 121. With the (tied) output layer ordinal as well, shifting
    the predicted distribution towards larger changes is one direction of the hidden state,
    which a small model finds in a few hundred steps. Only initialisation; nothing is frozen.
    Scaled to ``config.initializer_range`` (times ``strength``) per dimension.
    """
    if not hasattr(tokenizer, "token_values"):
        raise TypeError(f"init_ordinal_embeddings needs a MotionTokenizer, got {type(tokenizer).__name__}")
    values = np.asarray(tokenizer.token_values)
    kinds, codings = np.asarray(tokenizer.token_kinds), np.asarray(tokenizer.token_codings)
    digits = np.asarray(tokenizer.token_digits)
    backbone = model.transformer if hasattr(model, "transformer") else model
    tables = [backbone.wte.weight]
    if getattr(backbone, "previous_token_embeddings", None) is not None:
        tables.append(backbone.previous_token_embeddings.weight)
    if tables[0].shape[0] < len(values):
        raise ValueError(f"the model's {tables[0].shape[0]} embeddings do not cover the tokenizer's {len(values)} ids")
    std = float(getattr(model.config, "initializer_range", 0.02)) * strength
    rng = np.random.default_rng(seed)
    dim = tables[0].shape[1]
    groups = sorted({(int(k), int(c), int(d)) for k, c, d in zip(kinds, codings, digits) if k > 0})
    with torch.no_grad():
        for table in tables:
            for kind, coding, digit in groups:
                ids = np.flatnonzero((kinds == kind) & (codings == coding) & (digits == digit))
                delta = coding == 2
                v = values[ids] - (tokenizer.max_steps[("angle", "position")[kind - 1]] if delta else 0)
                n_levels = int(values[ids].max()) + 1
                feats = _ordinal_features(v, n_levels, delta)
                proj = rng.normal(0.0, 1.0, (feats.shape[1], dim)) / np.sqrt(feats.shape[1])
                rows = torch.as_tensor(feats @ proj * std, dtype=table.dtype, device=table.device)
                idx = torch.as_tensor(ids, device=table.device)
                table[idx] = 0.5 * table[idx] + rows
        levels = getattr(backbone, "level_embeddings", None)
        if levels is not None:  # the level path's rows: levels of each stream, like an absolute alphabet
            start = 0
            for n_levels in model.config.stream_levels:
                feats = _ordinal_features(np.arange(n_levels), n_levels, False)
                proj = rng.normal(0.0, 1.0, (feats.shape[1], dim)) / np.sqrt(feats.shape[1])
                rows = torch.as_tensor(feats @ proj * std, dtype=levels.weight.dtype, device=levels.weight.device)
                levels.weight[start : start + n_levels] = 0.5 * levels.weight[start : start + n_levels] + rows
                start += n_levels


def count_parameters(model: nn.Module) -> int:
    """Number of distinct parameters (tied weights counted once)."""
    seen: set[int] = set()
    total = 0
    for p in model.parameters():
        if id(p) not in seen:
            seen.add(id(p))
            total += p.numel()
    return total


# --------------------------------------------------------------------------- registration
AutoConfig.register(MotionGPT2Config.model_type, MotionGPT2Config, exist_ok=True)
AutoModel.register(MotionGPT2Config, MotionGPT2Model, exist_ok=True)
AutoModelForCausalLM.register(MotionGPT2Config, MotionGPT2ForCausalLM, exist_ok=True)
AutoModelForSequenceClassification.register(MotionGPT2Config, MotionGPT2ForSequenceClassification, exist_ok=True)
