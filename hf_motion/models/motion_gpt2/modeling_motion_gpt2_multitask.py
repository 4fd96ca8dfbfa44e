"""Multi-task clinical heads on one motion backbone (M5 section 5).

M5 fine-tuned one pretrained GPT on every clinical target at once (binary pathology flags,
a multiclass diagnosis, regression of clinical scores), together with its autoregressive LM
loss. :class:`MotionGPT2ForMultiTask` does the same:

* one :class:`~hf_motion.modeling.MotionGPT2Model` backbone;
* a pooled representation (``config.pooling``): by default the hidden state of the **last
  non-pad token** of each row (the rightmost position whose ``attention_mask`` is 1, or whose id
  is not ``pad_token_id`` when no mask is given), exactly as
  :class:`~transformers.GPT2ForSequenceClassification` pools, so left and right padding both work;
  a causal model has seen the whole row only at its last token. ``pooling="mean"`` averages the
  hidden states of the non-pad tokens instead, which on small data often transfers better (every
  position's features reach the heads). ``pooling="slot-statistics"`` is the linear probe's
  representation (:mod:`hf_motion.probing`): for every layer and every frame slot (one position
  inside a frame, ``config.frame_width`` of them), the mean and standard deviation over the
  window's frames (:func:`frame_slot_statistics`); its heads are linear maps fitted on a frozen
  backbone, and a clip's logits are the mean of its windows' logits (the probe's clip features
  are the mean of its windows' features, and the heads are linear);
* one linear head per named target (dropout ``head_dropout`` in front): a single logit for
  ``binary`` (BCE) and ``regression`` (MSE), ``num_classes`` logits for ``multiclass`` (CE);
* loss = ``sum(weight_t * loss_t) + lm_loss_weight * LM loss``; each ``loss_t`` is the mean over
  the rows that have a label for target ``t``, so a missing label (``NaN``, or ``-100`` for binary
  and multiclass targets) drops out of the loss instead of counting as a class.

The targets live in :class:`MotionMultiTaskConfig` (``model_type="motion_gpt2_multitask"``),
which importing ``hf_motion`` registers with ``AutoConfig`` and
``AutoModelForSequenceClassification``. Start fine-tuning from a pretraining checkpoint with::

    model = MotionGPT2ForMultiTask.from_pretrained(
        "runs/pretrain/final",
        targets=[{"name": "style", "kind": "multiclass", "num_classes": 7},
                 {"name": "tired", "kind": "binary", "weight": 2.0}],
        lm_loss_weight=0.5,
    )

which keeps the backbone (and the tied LM head) and initialises the new heads.
"""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F
from transformers import AutoConfig, AutoModelForSequenceClassification
from transformers.utils import ModelOutput

from .configuration_motion_gpt2 import MotionGPT2Config
from .modeling_motion_gpt2 import MotionGPT2Model, MotionGPT2PreTrainedModel, _check_pad_token, motion_position_indices

__all__ = [
    "TARGET_KINDS",
    "POOLINGS",
    "SLOT_STATISTICS",
    "frame_slot_statistics",
    "MotionMultiTaskConfig",
    "MotionGPT2ForMultiTask",
    "MotionMultiTaskOutput",
    "normalize_targets",
]

TARGET_KINDS = ("binary", "multiclass", "regression")
# Target names become nn.ModuleDict keys and CSV/metric column names: no dots or spaces.
_TARGET_NAME = re.compile(r"^[A-Za-z0-9_\-]+$")
_TARGET_KEYS = {"name", "kind", "num_classes", "weight", "classes"}
# Keyword arguments of from_pretrained that locate the checkpoint (forwarded to AutoConfig).
_HUB_KWARGS = ("cache_dir", "force_download", "local_files_only", "token", "revision", "subfolder", "trust_remote_code")


def normalize_targets(targets: Sequence[Mapping[str, Any]] | None) -> list[dict[str, Any]]:
    """Checked, JSON-ready target declarations.

    Each target is ``{"name", "kind", "num_classes", "weight", "classes"}``: ``kind`` is one of
    :data:`TARGET_KINDS`; ``num_classes`` is required for ``multiclass`` (>= 2) and is 1 for the
    other kinds (a single output); ``weight`` (default 1.0) scales the target's loss; ``classes``
    (optional) names the classes in output order, for reports.

    Raises:
        ValueError: naming the target and what is wrong.
    """
    if targets is None:
        return []
    if isinstance(targets, Mapping) or isinstance(targets, str):
        raise ValueError(f"targets must be a list of target dicts, got {type(targets).__name__}")
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for i, raw in enumerate(targets):
        if hasattr(raw, "to_target"):  # a hf_motion.cv.TaskSpec
            raw = raw.to_target()
        if not isinstance(raw, Mapping):
            raise ValueError(f"targets[{i}] must be a dict like {{'name': 'style', 'kind': 'multiclass'}}, got {raw!r}")
        name = raw.get("name")
        where = f"target {name!r}" if name is not None else f"targets[{i}]"
        unknown = sorted(set(raw) - _TARGET_KEYS)
        if unknown:
            raise ValueError(f"{where}: unknown key(s) {unknown}; allowed keys: {sorted(_TARGET_KEYS)}")
        if not isinstance(name, str) or not _TARGET_NAME.match(name):
            raise ValueError(f"{where}: the name must be a non-empty string of letters, digits, '_' or '-'")
        if name in seen:
            raise ValueError(f"target {name!r} is declared twice")
        seen.add(name)
        kind = raw.get("kind")
        if kind not in TARGET_KINDS:
            raise ValueError(f"{where}: kind must be one of {list(TARGET_KINDS)}, got {kind!r}")
        classes = raw.get("classes")
        if classes is not None:
            classes = [str(c) if not isinstance(c, (int, float, bool)) else c for c in classes]
        num_classes = raw.get("num_classes")
        if kind == "multiclass":
            if num_classes is None and classes is not None:
                num_classes = len(classes)
            if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 2:
                raise ValueError(f"{where}: a multiclass target needs num_classes >= 2, got {num_classes!r}")
            if classes is not None and len(classes) != num_classes:
                raise ValueError(f"{where}: {len(classes)} class names for num_classes={num_classes}")
        else:
            if num_classes not in (None, 1, 2) or (kind == "regression" and num_classes == 2):
                raise ValueError(f"{where}: a {kind} target has one output; num_classes={num_classes!r} makes no sense")
            if kind == "binary" and classes is not None and len(classes) != 2:
                raise ValueError(f"{where}: a binary target names 2 classes (negative, positive), got {classes}")
            if kind == "regression" and classes is not None:
                raise ValueError(f"{where}: a regression target has no classes")
            num_classes = 1
        weight = raw.get("weight", 1.0)
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not math.isfinite(weight) or weight < 0:
            raise ValueError(f"{where}: weight must be a finite number >= 0, got {weight!r}")
        entry = {"name": name, "kind": kind, "num_classes": int(num_classes), "weight": float(weight)}
        if classes is not None:
            entry["classes"] = list(classes)
        out.append(entry)
    return out


class MotionMultiTaskConfig(MotionGPT2Config):
    r"""Configuration of :class:`MotionGPT2ForMultiTask`: a :class:`~hf_motion.modeling.MotionGPT2Config`
    (the backbone) plus the targets.

    Args:
        targets: list of ``{"name", "kind", "num_classes", "weight", "classes"}`` (see
            :func:`normalize_targets`); the order fixes the column order of ``logits`` and of a
            ``labels`` tensor.
        lm_loss_weight: weight of the autoregressive LM loss on ``input_ids`` (0 disables it;
            M5 trained the clinical targets together with it).
        head_dropout: dropout on the pooled representation before the heads.
        pooling: ``"last"`` (the last non-pad token's hidden state), ``"mean"`` (the mean over
            the non-pad tokens) or ``"slot-statistics"`` (per layer and frame slot, the mean and
            std over frames; needs ``frame_width``).
        frame_width: tokens per frame (joints x values per joint), for ``"slot-statistics"``.
    """

    model_type = "motion_gpt2_multitask"
    # Per-target and LM losses are scalars: keep them out of Trainer's gathered predictions.
    keys_to_ignore_at_inference = ["cache", "target_losses", "lm_loss"]

    targets: list[dict[str, Any]] | None = None
    lm_loss_weight: float = 0.0
    head_dropout: float = 0.1
    pooling: str = "last"
    frame_width: int | None = None

    def __post_init__(self, **kwargs):
        self.targets = normalize_targets(self.targets)
        _check_pooling(self.pooling, self.frame_width)
        _check_weight("lm_loss_weight", self.lm_loss_weight)
        if not (isinstance(self.head_dropout, (int, float)) and 0.0 <= self.head_dropout < 1.0):
            raise ValueError(f"head_dropout must be in [0, 1), got {self.head_dropout!r}")
        super().__post_init__(**kwargs)

    @classmethod
    def from_backbone_config(cls, backbone: MotionGPT2Config, **fields: Any) -> MotionMultiTaskConfig:
        """A multi-task config with ``backbone``'s architecture (e.g. from
        :func:`~hf_motion.modeling.motion_gpt2_config` or a pretraining checkpoint) plus ``fields``
        (``targets=...``, ``lm_loss_weight=...``, ``head_dropout=...``)."""
        base = backbone.to_dict()
        for key in ("model_type", "transformers_version", "architectures", "id2label", "label2id", "problem_type"):
            base.pop(key, None)
        base.update(fields)
        return cls(**base)

    @property
    def target_names(self) -> list[str]:
        """Target names in output order."""
        return [t["name"] for t in self.targets]

    @property
    def target_slices(self) -> dict[str, slice]:
        """Columns of each target in the concatenated ``logits``."""
        out, start = {}, 0
        for t in self.targets:
            out[t["name"]] = slice(start, start + t["num_classes"])
            start += t["num_classes"]
        return out

    @property
    def pooled_width(self) -> int:
        """Width of the pooled representation the heads read."""
        if self.pooling == SLOT_STATISTICS:
            return 2 * self.n_layer * int(self.frame_width) * self.n_embd
        return self.n_embd

    @property
    def averages_window_logits(self) -> bool:
        """Whether a clip's prediction is from the mean of its windows' logits (linear heads on
        slot statistics: the probe's clip-mean features) rather than the mean of their probabilities."""
        return self.pooling == SLOT_STATISTICS

    @property
    def num_outputs(self) -> int:
        """Width of ``logits``: one column per binary/regression target, ``num_classes`` per multiclass one."""
        return sum(t["num_classes"] for t in self.targets)


SLOT_STATISTICS = "slot-statistics"
POOLINGS = ("last", "mean", SLOT_STATISTICS)


def _check_pooling(value: Any, frame_width: Any = None) -> None:
    if value not in POOLINGS:
        raise ValueError(f"pooling must be one of {list(POOLINGS)}, got {value!r}")
    if value == SLOT_STATISTICS and (isinstance(frame_width, bool) or not isinstance(frame_width, int) or frame_width < 1):
        raise ValueError(f"pooling={SLOT_STATISTICS!r} needs frame_width (tokens per frame) >= 1, got {frame_width!r}")


def frame_slot_statistics(config: MotionGPT2Config, input_ids: torch.Tensor, attention_mask: torch.Tensor | None,
                          hidden_states: Sequence[torch.Tensor], frame_width: int, first_row: int = 0,
                          row_name: str = "row") -> torch.Tensor:  # fmt: skip
    """``(batch, 2 * len(hidden_states) * frame_width * n_embd)`` float32: for every hidden state
    (layer) and every frame slot, the mean and standard deviation over the row's frames of the
    hidden state at the motion-value tokens of that slot (0 for a slot the row never fills).

    A slot is a token's position inside its frame (:func:`motion_position_indices` with one value
    per joint); special tokens and padding are left out.

    Raises:
        ValueError: a row whose frames are wider than ``frame_width``, naming it as
            ``f"{row_name} {first_row + row}"``.
    """
    specials = torch.as_tensor(list(config.special_token_ids or []), dtype=input_ids.dtype, device=input_ids.device)
    eos = config.eos_token_id if isinstance(config.eos_token_id, int) else None
    slot, _ = motion_position_indices(
        input_ids, config.frame_separator_id, specials, 1, None, None, bos_token_id=config.bos_token_id, eos_token_id=eos
    )
    is_value = ~torch.isin(input_ids, specials)
    if attention_mask is not None:
        is_value &= attention_mask.to(torch.bool)
    wide = (slot >= frame_width) & is_value
    if bool(wide.any()):
        raise ValueError(f"{row_name} {first_row + int(torch.nonzero(wide)[0, 0])} has frames wider than frame_width={frame_width} tokens")
    index = torch.where(is_value, slot, torch.zeros_like(slot))
    weight = is_value.to(torch.float32).unsqueeze(-1)
    batch = input_ids.shape[0]
    count = torch.zeros(batch, frame_width, 1, device=input_ids.device).scatter_add_(1, index.unsqueeze(-1), weight).clamp_min(1.0)
    parts = []
    for h in hidden_states:
        h = h.float() * weight
        idx = index.unsqueeze(-1).expand_as(h)
        zeros = torch.zeros(batch, frame_width, h.shape[-1], device=h.device)
        mean = zeros.scatter_add(1, idx, h) / count
        # two passes: E[x^2] - E[x]^2 cancels badly in float32 for small spreads
        centred = (h - mean.gather(1, idx)) * weight
        var = zeros.scatter_add(1, idx, centred * centred) / count
        parts += [mean.flatten(1), var.sqrt().flatten(1)]
    return torch.cat(parts, dim=1)


def _check_weight(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")


@dataclass
class MotionMultiTaskOutput(ModelOutput):
    """Output of :class:`MotionGPT2ForMultiTask`.

    Args:
        loss: weighted total loss (only when ``labels`` or ``lm_target_ids`` are given).
        logits: ``(batch, config.num_outputs)``: every target's raw outputs side by side; split
            them with :meth:`MotionGPT2ForMultiTask.split_logits`.
        target_losses: ``{name: loss}`` for the targets that had at least one label in the batch
            (unweighted).
        lm_loss: the (unweighted) LM loss, when ``lm_loss_weight > 0``.
        hidden_states, attentions: as in GPT-2, when requested.
    """

    loss: torch.Tensor | None = None
    logits: torch.Tensor | None = None
    target_losses: dict[str, torch.Tensor] | None = None
    lm_loss: torch.Tensor | None = None
    hidden_states: tuple[torch.Tensor, ...] | None = None
    attentions: tuple[torch.Tensor, ...] | None = None


class MotionGPT2ForMultiTask(MotionGPT2PreTrainedModel):
    """One :class:`~hf_motion.modeling.MotionGPT2Model` backbone, one head per clinical target, and
    the LM head (tied to the token embeddings) for the optional LM loss.

    See the module docstring for pooling, heads and loss. ``labels`` is either a float tensor
    ``(batch, n_targets)`` in target order (class indices as numbers for multiclass targets; a
    1-D tensor is accepted when there is one target) or a mapping ``{target name: (batch,)}`` (a
    target left out counts as missing for every row). Missing labels: ``NaN`` for every kind, and
    ``-100`` for binary and multiclass targets (``transformers``' ignore index).

    Pooling needs ``config.pad_token_id`` set and distinct from ``eos_token_id``; other configs are
    refused with a ``ValueError``.
    """

    config: MotionMultiTaskConfig
    config_class = MotionMultiTaskConfig
    _tied_weights_keys = {"lm_head.weight": "transformer.wte.weight"}

    def __init__(self, config: MotionMultiTaskConfig):
        # from_pretrained(..., targets=[...]) sets config.targets after the config was built, so
        # validate again here.
        config.targets = normalize_targets(config.targets)
        if not config.targets:
            raise ValueError(
                "MotionGPT2ForMultiTask needs at least one target: pass targets=[{'name': ..., 'kind': "
                "'binary'|'multiclass'|'regression', ...}] to the config or to from_pretrained"
            )
        _check_weight("lm_loss_weight", config.lm_loss_weight)
        _check_pooling(config.pooling, config.frame_width)
        _check_pad_token(config, type(self).__name__)
        MotionGPT2PreTrainedModel.__init__(self, config)
        self.transformer = MotionGPT2Model(config)
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        self.head_dropout = nn.Dropout(config.head_dropout)
        self.heads = nn.ModuleDict({t["name"]: nn.Linear(config.pooled_width, t["num_classes"]) for t in config.targets})
        self.post_init()

    # ------------------------------------------------------------------ loading
    @classmethod
    def from_pretrained(
        cls,
        pretrained_model_name_or_path,
        *model_args,
        targets: Sequence[Mapping[str, Any]] | None = None,
        lm_loss_weight: float | None = None,
        head_dropout: float | None = None,
        pooling: str | None = None,
        **kwargs,
    ):
        """Load a multi-task model, or start one from a pretraining checkpoint.

        From a ``motion_gpt2`` checkpoint (e.g. :class:`~hf_motion.modeling.MotionGPT2ForCausalLM`)
        the backbone and tied LM head weights are kept and the target heads are newly initialised;
        ``targets`` is then required. From a saved ``motion_gpt2_multitask`` folder everything is
        restored; passing ``targets`` / ``lm_loss_weight`` / ``head_dropout`` / ``pooling`` overrides the saved
        values (a changed target list re-initialises the heads whose shapes differ only if you
        also pass ``ignore_mismatched_sizes=True``).

        Other keyword arguments go to :meth:`transformers.PreTrainedModel.from_pretrained`.
        """
        config = kwargs.pop("config", None)
        overrides = {
            k: v
            for k, v in (("targets", targets), ("lm_loss_weight", lm_loss_weight), ("head_dropout", head_dropout), ("pooling", pooling))
            if v is not None
        }
        if config is None:
            hub = {k: kwargs[k] for k in _HUB_KWARGS if k in kwargs}
            config = AutoConfig.from_pretrained(pretrained_model_name_or_path, **hub)
        if not isinstance(config, MotionGPT2Config):
            raise ValueError(
                f"{pretrained_model_name_or_path}: a {type(config).__name__} (model_type "
                f"{getattr(config, 'model_type', None)!r}) is not a motion_gpt2 checkpoint; MotionGPT2ForMultiTask "
                "starts from MotionGPT2 models (import hf_motion before loading)"
            )
        if not isinstance(config, MotionMultiTaskConfig):
            if "targets" not in overrides:
                raise ValueError(
                    f"{pretrained_model_name_or_path} is a {config.model_type!r} checkpoint without targets: pass "
                    "targets=[{'name': ..., 'kind': ...}] to MotionGPT2ForMultiTask.from_pretrained"
                )
            config = MotionMultiTaskConfig.from_backbone_config(config, **overrides)
        elif overrides:
            config = copy.deepcopy(config)
            for key, value in overrides.items():
                setattr(config, key, value)
            config.targets = normalize_targets(config.targets)
            _check_pooling(config.pooling, config.frame_width)
        return super().from_pretrained(pretrained_model_name_or_path, *model_args, config=config, **kwargs)

    # ------------------------------------------------------------------ forward
    def _real_tokens(self, input_ids, attention_mask, hidden: torch.Tensor) -> torch.Tensor | None:
        """``(batch, length)`` bool: the non-pad tokens (see the module docstring); None when nothing tells."""
        if attention_mask is not None and attention_mask.ndim == 2:
            return attention_mask.to(hidden.device) != 0
        if input_ids is not None and self.config.pad_token_id is not None:
            return input_ids.to(hidden.device) != self.config.pad_token_id
        return None

    def _last_token_index(self, input_ids, attention_mask, hidden: torch.Tensor) -> torch.Tensor:
        """Index of the last real token of each row (see the module docstring)."""
        batch, length = hidden.shape[:2]
        real = self._real_tokens(input_ids, attention_mask, hidden)
        if real is None:
            return torch.full((batch,), length - 1, device=hidden.device, dtype=torch.long)
        positions = torch.arange(length, device=hidden.device)
        return (positions * real).argmax(-1)

    def pool(self, hidden: torch.Tensor, input_ids=None, attention_mask=None, all_hidden=None) -> torch.Tensor:
        """``(batch, config.pooled_width)``: each row's representation for the heads, as
        ``config.pooling`` says (``all_hidden``: every layer's output, for ``"slot-statistics"``)."""
        if self.config.pooling == SLOT_STATISTICS:
            if input_ids is None or all_hidden is None:
                raise ValueError(f"pooling={SLOT_STATISTICS!r} needs input_ids and every layer's hidden states")
            return frame_slot_statistics(self.config, input_ids, attention_mask, all_hidden, self.config.frame_width).to(hidden.dtype)
        if self.config.pooling == "mean":
            real = self._real_tokens(input_ids, attention_mask, hidden)
            if real is None:
                return hidden.mean(1)
            weights = real.to(hidden.dtype).unsqueeze(-1)
            return (hidden * weights).sum(1) / weights.sum(1).clamp_min(1.0)
        last = self._last_token_index(input_ids, attention_mask, hidden)
        return hidden[torch.arange(hidden.shape[0], device=hidden.device), last]

    def forward(
        self,
        input_ids: torch.LongTensor | None = None,
        attention_mask: torch.Tensor | None = None,
        position_ids: torch.LongTensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        joint_ids: torch.LongTensor | None = None,
        frame_ids: torch.LongTensor | None = None,
        previous_token_ids: torch.LongTensor | None = None,
        level_ids: torch.LongTensor | None = None,
        labels: torch.Tensor | Mapping[str, torch.Tensor] | None = None,
        # Not named "*label*": Trainer treats every such argument as a label column it must find in the batch.
        lm_target_ids: torch.LongTensor | None = None,
        output_hidden_states: bool | None = None,
        output_attentions: bool | None = None,
        **kwargs,
    ) -> MotionMultiTaskOutput:
        """Pooled target logits, and the weighted loss when ``labels`` (or ``lm_target_ids``) are given.

        Args:
            joint_ids, frame_ids, previous_token_ids, level_ids: optional backbone inputs (see
                :meth:`~hf_motion.modeling.MotionGPT2Model.forward`); derived from ``input_ids`` when omitted.
            labels: per-target labels (see the class docstring).
            lm_target_ids: ``(batch, length)`` token ids the LM loss predicts (``-100`` = ignored); default:
                ``input_ids`` with padding (``attention_mask == 0`` or ``pad_token_id``) ignored.
                Used only when ``config.lm_loss_weight > 0``.
        """
        kwargs.pop("use_cache", None)
        slot_pooling = self.config.pooling == SLOT_STATISTICS
        if output_hidden_states is None:
            output_hidden_states = self.config.output_hidden_states
        out = self.transformer(
            input_ids,
            attention_mask=attention_mask,
            position_ids=position_ids,
            inputs_embeds=inputs_embeds,
            joint_ids=joint_ids,
            frame_ids=frame_ids,
            previous_token_ids=previous_token_ids,
            level_ids=level_ids,
            use_cache=False,
            output_hidden_states=bool(output_hidden_states) or slot_pooling,
            output_attentions=output_attentions,
            **kwargs,
        )
        hidden = out.last_hidden_state
        all_hidden = out.hidden_states[1:] if slot_pooling else None
        pooled = self.head_dropout(self.pool(hidden, input_ids, attention_mask, all_hidden))
        logits = torch.cat([self.heads[name](pooled) for name in self.config.target_names], dim=-1)

        loss = target_losses = lm_loss = None
        if labels is not None or lm_target_ids is not None:
            loss = logits.sum() * 0.0  # keeps the graph (and DDP) happy when every label is missing
            if labels is not None:
                target_losses = self.target_losses(logits, labels)
                weights = {t["name"]: t["weight"] for t in self.config.targets}
                for name, value in target_losses.items():
                    loss = loss + weights[name] * value
            if self.config.lm_loss_weight > 0:
                lm_loss = self._lm_loss(hidden, input_ids, attention_mask, lm_target_ids)
                loss = loss + self.config.lm_loss_weight * lm_loss
        return MotionMultiTaskOutput(
            loss=loss,
            logits=logits,
            target_losses=target_losses,
            lm_loss=lm_loss,
            hidden_states=out.hidden_states if output_hidden_states else None,
            attentions=out.attentions,
        )

    def _lm_loss(self, hidden, input_ids, attention_mask, lm_target_ids) -> torch.Tensor:
        if lm_target_ids is None:
            if input_ids is None:
                raise ValueError("the LM loss (lm_loss_weight > 0) needs input_ids or lm_target_ids")
            lm_target_ids = input_ids.clone()
            if attention_mask is not None and attention_mask.ndim == 2:
                lm_target_ids[attention_mask == 0] = -100
            elif self.config.pad_token_id is not None:
                lm_target_ids[input_ids == self.config.pad_token_id] = -100
        lm_logits = self.lm_head(hidden[:, :-1]).float()
        targets = lm_target_ids[:, 1:].to(lm_logits.device)
        if not bool((targets != -100).any()):
            return lm_logits.sum() * 0.0
        return F.cross_entropy(lm_logits.reshape(-1, lm_logits.shape[-1]), targets.reshape(-1), ignore_index=-100)

    def _label_columns(self, labels, batch: int, device) -> dict[str, torch.Tensor]:
        names = self.config.target_names
        if isinstance(labels, Mapping):
            unknown = sorted(set(labels) - set(names))
            if unknown:
                raise ValueError(f"labels for unknown target(s) {unknown}; the model's targets are {names}")
            cols = {}
            for name, value in labels.items():
                col = torch.as_tensor(value, device=device).reshape(-1)
                if col.shape[0] != batch:
                    raise ValueError(f"labels[{name!r}] has {col.shape[0]} values for a batch of {batch}")
                cols[name] = col
            return cols
        lab = torch.as_tensor(labels, device=device)
        if lab.ndim == 1 and len(names) == 1:
            lab = lab[:, None]
        if lab.ndim != 2 or lab.shape != (batch, len(names)):
            raise ValueError(
                f"labels must be (batch, n_targets) = ({batch}, {len(names)}) in target order {names}, got shape {tuple(lab.shape)}"
            )
        return {name: lab[:, k] for k, name in enumerate(names)}

    def target_losses(self, logits: torch.Tensor, labels: torch.Tensor | Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Unweighted loss of every target that has at least one label in the batch.

        Binary: BCE with logits; multiclass: cross-entropy; regression: MSE; each a mean over the
        rows whose label is present.

        Raises:
            ValueError: a binary label other than 0/1, or a class index outside ``[0, num_classes)``
                (naming the target and the value).
        """
        cols = self._label_columns(labels, logits.shape[0], logits.device)
        slices = self.config.target_slices
        losses: dict[str, torch.Tensor] = {}
        for target in self.config.targets:
            name, kind = target["name"], target["kind"]
            if name not in cols:
                continue
            y = cols[name].to(torch.float32)
            valid = torch.isfinite(y)
            if kind != "regression":
                valid &= y != -100
            if not bool(valid.any()):
                continue
            out = logits[:, slices[name]].float()[valid]
            yv = y[valid]
            if kind == "binary":
                bad = yv[(yv != 0) & (yv != 1)]
                if bad.numel():
                    raise ValueError(f"target {name!r} is binary: labels must be 0, 1, NaN or -100, got {bad[0].item()}")
                losses[name] = F.binary_cross_entropy_with_logits(out[:, 0], yv)
            elif kind == "multiclass":
                n = target["num_classes"]
                bad = yv[(yv != yv.round()) | (yv < 0) | (yv >= n)]
                if bad.numel():
                    raise ValueError(
                        f"target {name!r} has {n} classes: labels must be class indices 0..{n - 1}, NaN or -100, got {bad[0].item()}"
                    )
                losses[name] = F.cross_entropy(out, yv.long())
            else:
                losses[name] = F.mse_loss(out[:, 0], yv)
        return losses

    # ------------------------------------------------------------------ outputs
    def split_logits(self, logits: torch.Tensor | np.ndarray) -> dict[str, Any]:
        """``{target: logits}``: ``(batch,)`` for binary and regression targets, ``(batch, C)`` for multiclass ones."""
        out = {}
        for t in self.config.targets:
            part = logits[:, self.config.target_slices[t["name"]]]
            out[t["name"]] = part[:, 0] if t["kind"] != "multiclass" else part
        return out

    def predictions(self, logits: torch.Tensor | np.ndarray) -> dict[str, np.ndarray]:
        """``{target: numpy predictions}``: probability of class 1 (binary), class probabilities
        ``(batch, C)`` (multiclass), or the predicted value (regression). These are what
        :func:`hf_motion.cv.aggregate_window_predictions` averages per clip."""
        logits = torch.as_tensor(logits).detach().float().cpu()
        out = {}
        for t in self.config.targets:
            part = self.split_logits(logits)[t["name"]]
            if t["kind"] == "binary":
                part = torch.sigmoid(part)
            elif t["kind"] == "multiclass":
                part = torch.softmax(part, dim=-1)
            out[t["name"]] = part.numpy()
        return out


# ------------------------------------------------------------------ registration
AutoConfig.register(MotionMultiTaskConfig.model_type, MotionMultiTaskConfig, exist_ok=True)
AutoModelForSequenceClassification.register(MotionMultiTaskConfig, MotionGPT2ForMultiTask, exist_ok=True)
