"""A PoseGPT-style GPT over the discrete codes of a learned motion tokenizer (VQ-VAE).

The only thing this module knows about the tokenizer is the shape of its output: a motion is an
int array ``codes`` of shape ``(S, L)`` -- ``S`` time steps (one step per few frames), ``L`` tokens
per step (residual-VQ layers or product-quantization factors, often 1), each value in ``[0, K)``
for a codebook of size ``K``.

A sequence for the GPT is::

    [bos, action | action-null, style | style-null, duration | duration-null,
     c[0, 0], ..., c[0, L-1], c[1, 0], ..., c[S-1, L-1], eos]

The vocabulary (:class:`MotionCodeGPTConfig`) gives each layer ``l`` its own block of ``K`` code
tokens (``code_offset + l * K + c``), so each layer has its own embedding and output rows; this
plays the role of PoseGPT's one head per factor, and :class:`CodeLogitsProcessor` restricts every
generated position to its layer's block, so a generation always decodes.

Conditions are tokens of a 4-token header. Training with ``condition_dropout`` replaces them by
their null tokens at random (:class:`CodeSequenceDataset`), so one model also runs unconditioned
(and ``condition_dropout=1.0`` trains the unconditioned GPT baseline).

Main entry points: :func:`encode_sequence` / :func:`decode_codes`, :func:`generate_codes` (sampling,
or ``greedy=True`` for prediction from ``past`` codes) and :func:`train_code_gpt`.
Importing the module registers ``model_type="motion_code_gpt"`` with ``AutoConfig`` and
``AutoModelForCausalLM``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from huggingface_hub.dataclasses import strict
from transformers import AutoConfig, AutoModelForCausalLM, GPT2Config, LogitsProcessor, LogitsProcessorList
from transformers.models.gpt2.modeling_gpt2 import GPT2LMHeadModel

from ...remote_code import LoaderConfigMixin

__all__ = [
    "MotionCodeGPTConfig",
    "MotionCodeGPTForCausalLM",
    "CodeLogitsProcessor",
    "CodeSequenceDataset",
    "CodeSequenceCollator",
    "encode_sequence",
    "decode_codes",
    "generate_codes",
    "train_code_gpt",
    "tiny_code_gpt_config",
    "HEADER_LENGTH",
]

# Fixed ids of the special tokens; the rest of the layout follows from the config fields.
_PAD, _BOS, _EOS = 0, 1, 2
_FIRST_CONDITION_ID = 3
HEADER_LENGTH = 4  # bos, action, style, duration


def _is_int(x: Any) -> bool:
    return isinstance(x, (int, np.integer)) and not isinstance(x, (bool, np.bool_))


def _label_list(name: str, value: Any, problems: list[str]) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        problems.append(f"{name} must be a list of strings, got {value!r}")
        return []
    bad = [v for v in value if not isinstance(v, str) or not v]
    if bad:
        problems.append(f"{name} must hold non-empty strings, got {bad!r}")
    dup = sorted({v for v in value if isinstance(v, str) and list(value).count(v) > 1})
    if dup:
        problems.append(f"{name} has duplicates: {dup}")
    return [str(v) for v in value]


# @strict again (as on every transformers config) so that the field types declared here (e.g.
# vocab_size: int | None, "derive from the layout") replace GPT2Config's in the setattr validators.
@strict
class MotionCodeGPTConfig(LoaderConfigMixin, GPT2Config):
    r"""Configuration of :class:`MotionCodeGPTForCausalLM`: a :class:`~transformers.GPT2Config` whose
    vocabulary is laid out from the fields below.

    Args:
        codebook_size: ``K``, the number of codes of each VQ layer (values in ``[0, K)``).
        tokens_per_step: ``L``, tokens per time step (residual-VQ layers / product factors).
        action_labels: the action classes the model can be conditioned on (may be empty).
        style_labels: the style classes (may be empty).
        max_steps: the longest sequence, in steps, that has a duration token (and must fit
            ``n_positions``: ``4 + max_steps * L + 1`` positions).

    Vocabulary layout (ids in order; read them from the properties, e.g. :attr:`code_offset`)::

        0 pad, 1 bos, 2 eos,
        one token per action, action-null,
        one token per style, style-null,
        one duration token per step count 1..max_steps, duration-null,
        L * K code tokens (layer l's code c at code_offset + l * K + c)

    ``vocab_size`` and the pad/bos/eos ids are derived from the layout: leave them out, or pass the
    values of the layout (as ``config.json`` does); anything else raises ``ValueError``.
    """

    model_type = "motion_code_gpt"

    # None = "derive from the layout"; __post_init__ fills them in.
    vocab_size: int | None = None
    bos_token_id: int | None = None
    eos_token_id: int | list[int] | None = None
    pad_token_id: int | None = None
    n_positions: int = 1024
    n_embd: int = 256
    n_layer: int = 6
    n_head: int = 8
    codebook_size: int = 512
    tokens_per_step: int = 1
    action_labels: list[str] | None = None
    style_labels: list[str] | None = None
    max_steps: int = 64

    def __post_init__(self, **kwargs):
        problems: list[str] = []
        self.action_labels = _label_list("action_labels", self.action_labels, problems)
        self.style_labels = _label_list("style_labels", self.style_labels, problems)
        for name in ("codebook_size", "tokens_per_step", "max_steps"):
            value = getattr(self, name)
            if not _is_int(value) or int(value) < 1:
                problems.append(f"{name} must be an integer >= 1, got {value!r}")
        if problems:
            raise ValueError("invalid MotionCodeGPTConfig: " + "; ".join(problems))
        self.codebook_size, self.tokens_per_step, self.max_steps = (
            int(self.codebook_size),
            int(self.tokens_per_step),
            int(self.max_steps),
        )
        layout = {
            "vocab_size": self.layout_vocab_size,
            "pad_token_id": _PAD,
            "bos_token_id": _BOS,
            "eos_token_id": _EOS,
        }
        for name, expected in layout.items():
            given = getattr(self, name)
            if given is None:
                setattr(self, name, expected)
            elif given != expected:
                problems.append(
                    f"{name}={given!r} but the vocabulary layout gives {expected} "
                    f"({self._layout_summary()}); leave {name} out, it is derived from the layout"
                )
        super().__post_init__(**kwargs)
        needed = HEADER_LENGTH + self.max_steps * self.tokens_per_step + 1
        if int(self.n_positions) < needed:
            problems.append(
                f"n_positions={self.n_positions} cannot hold the longest sequence: 4 header tokens + "
                f"max_steps ({self.max_steps}) * tokens_per_step ({self.tokens_per_step}) codes + eos = {needed}; "
                f"pass n_positions>={needed} or a smaller max_steps"
            )
        for name in ("n_embd", "n_layer", "n_head"):
            if int(getattr(self, name)) < 1:
                problems.append(f"{name} must be >= 1, got {getattr(self, name)}")
        if int(self.n_head) >= 1 and int(self.n_embd) % int(self.n_head):
            problems.append(f"n_embd ({self.n_embd}) must be a multiple of n_head ({self.n_head})")
        if problems:
            raise ValueError("invalid MotionCodeGPTConfig: " + "; ".join(problems))

    # ----------------------------------------------------------------- layout
    @property
    def action_offset(self) -> int:
        """Id of the first action token (actions in ``action_labels`` order)."""
        return _FIRST_CONDITION_ID

    @property
    def action_null_id(self) -> int:
        """Id of the "no action" token."""
        return self.action_offset + len(self.action_labels)

    @property
    def style_offset(self) -> int:
        """Id of the first style token."""
        return self.action_null_id + 1

    @property
    def style_null_id(self) -> int:
        """Id of the "no style" token."""
        return self.style_offset + len(self.style_labels)

    @property
    def duration_offset(self) -> int:
        """Id of the duration token for 1 step (``n`` steps: ``duration_offset + n - 1``)."""
        return self.style_null_id + 1

    @property
    def duration_null_id(self) -> int:
        """Id of the "no duration" token."""
        return self.duration_offset + self.max_steps

    @property
    def code_offset(self) -> int:
        """Id of layer 0's code 0; layer ``l``'s code ``c`` is ``code_offset + l * K + c``."""
        return self.duration_null_id + 1

    @property
    def layout_vocab_size(self) -> int:
        """Vocabulary size implied by the layout (what ``vocab_size`` is set to)."""
        return self.code_offset + self.tokens_per_step * self.codebook_size

    def token_blocks(self) -> dict[str, range]:
        """The id range of every block of the layout, in order (they tile ``range(vocab_size)``)."""
        blocks = {
            "pad": range(_PAD, _PAD + 1),
            "bos": range(_BOS, _BOS + 1),
            "eos": range(_EOS, _EOS + 1),
            "actions": range(self.action_offset, self.action_null_id),
            "action_null": range(self.action_null_id, self.action_null_id + 1),
            "styles": range(self.style_offset, self.style_null_id),
            "style_null": range(self.style_null_id, self.style_null_id + 1),
            "durations": range(self.duration_offset, self.duration_null_id),
            "duration_null": range(self.duration_null_id, self.duration_null_id + 1),
        }
        for layer in range(self.tokens_per_step):
            start = self.code_offset + layer * self.codebook_size
            blocks[f"codes_layer{layer}"] = range(start, start + self.codebook_size)
        return blocks

    def action_token_id(self, action: str | None) -> int:
        """Id of an action label (``None``: the action-null token); unknown labels raise ``ValueError``."""
        if action is None:
            return self.action_null_id
        if action not in self.action_labels:
            raise ValueError(f"unknown action {action!r}; the model knows {self.action_labels}")
        return self.action_offset + self.action_labels.index(action)

    def style_token_id(self, style: str | None) -> int:
        """Id of a style label (``None``: the style-null token); unknown labels raise ``ValueError``."""
        if style is None:
            return self.style_null_id
        if style not in self.style_labels:
            raise ValueError(f"unknown style {style!r}; the model knows {self.style_labels}")
        return self.style_offset + self.style_labels.index(style)

    def duration_token_id(self, steps: int | None) -> int:
        """Id of the duration token for ``steps`` steps (``None``: the duration-null token)."""
        if steps is None:
            return self.duration_null_id
        if not _is_int(steps) or not 1 <= int(steps) <= self.max_steps:
            raise ValueError(f"duration must be a step count in [1, max_steps={self.max_steps}], got {steps!r}")
        return self.duration_offset + int(steps) - 1

    def _layout_summary(self) -> str:
        return (
            f"{len(self.action_labels)} actions, {len(self.style_labels)} styles, max_steps={self.max_steps}, "
            f"tokens_per_step={self.tokens_per_step}, codebook_size={self.codebook_size}"
        )


class MotionCodeGPTForCausalLM(GPT2LMHeadModel):
    """GPT-2 language model over the code vocabulary of a :class:`MotionCodeGPTConfig`.

    A plain :class:`~transformers.GPT2LMHeadModel` (tied input/output embeddings); the motion
    structure lives in the vocabulary layout, :class:`CodeLogitsProcessor` and :func:`generate_codes`.
    """

    config: MotionCodeGPTConfig
    config_class = MotionCodeGPTConfig

    def __init__(self, config: MotionCodeGPTConfig):
        if not isinstance(config, MotionCodeGPTConfig):
            raise TypeError(f"MotionCodeGPTForCausalLM needs a MotionCodeGPTConfig, got {type(config).__name__}")
        super().__init__(config)


AutoConfig.register(MotionCodeGPTConfig.model_type, MotionCodeGPTConfig, exist_ok=True)
AutoModelForCausalLM.register(MotionCodeGPTConfig, MotionCodeGPTForCausalLM, exist_ok=True)


def tiny_code_gpt_config(
    codebook_size: int,
    tokens_per_step: int,
    action_labels: Sequence[str] = (),
    style_labels: Sequence[str] = (),
    max_steps: int = 16,
    n_layer: int = 2,
    n_embd: int = 64,
    n_head: int = 2,
) -> MotionCodeGPTConfig:
    """A small :class:`MotionCodeGPTConfig` for tests, with ``n_positions`` just large enough."""
    return MotionCodeGPTConfig(
        codebook_size=codebook_size,
        tokens_per_step=tokens_per_step,
        action_labels=list(action_labels),
        style_labels=list(style_labels),
        max_steps=max_steps,
        n_positions=HEADER_LENGTH + int(max_steps) * int(tokens_per_step) + 1,
        n_layer=n_layer,
        n_embd=n_embd,
        n_head=n_head,
    )


# --------------------------------------------------------------------------- sequences
def _check_codes(config: MotionCodeGPTConfig, codes: Any, what: str = "codes", allow_empty: bool = False) -> np.ndarray:
    """``codes`` as an int64 ``(S, L)`` array, or ``ValueError`` naming what is wrong."""
    arr = np.asarray(codes)
    L, K = config.tokens_per_step, config.codebook_size
    if arr.ndim == 1 and L == 1:
        arr = arr[:, None]  # (S,) is unambiguous for single-token steps
    if arr.ndim != 2 or arr.shape[1] != L:
        raise ValueError(f"{what} must have shape (steps, tokens_per_step={L}), got shape {arr.shape}")
    if arr.shape[0] == 0 and not allow_empty:
        raise ValueError(f"{what} has no steps")
    whole_floats = arr.dtype.kind == "f" and bool(np.all(arr == np.round(arr)))
    if arr.size and not (np.issubdtype(arr.dtype, np.integer) or whole_floats):
        raise ValueError(f"{what} must hold integer codes, got dtype {arr.dtype}")
    arr = arr.astype(np.int64)
    bad = np.argwhere((arr < 0) | (arr >= K))
    if bad.size:
        s, b = bad[0]
        raise ValueError(f"{what}[{s}, {b}] = {arr[s, b]} is outside the codebook [0, {K}) ({len(bad)} such value(s))")
    return arr


def _code_token_ids(config: MotionCodeGPTConfig, codes: np.ndarray) -> np.ndarray:
    """Token ids of ``(S, L)`` codes, flattened step by step (layer 0..L-1 within a step)."""
    layer_base = config.code_offset + np.arange(config.tokens_per_step) * config.codebook_size
    return (codes + layer_base[None, :]).reshape(-1)


def _header(config: MotionCodeGPTConfig, action: str | None, style: str | None, duration: int | None) -> list[int]:
    return [
        config.bos_token_id,
        config.action_token_id(action),
        config.style_token_id(style),
        config.duration_token_id(duration),
    ]


def encode_sequence(
    config: MotionCodeGPTConfig,
    codes: Any,
    action: str | None = None,
    style: str | None = None,
    duration: bool | int | None = True,
) -> list[int]:
    """Token ids of one motion: ``[bos, action, style, duration, codes step by step, eos]``.

    Args:
        config: the model's :class:`MotionCodeGPTConfig`.
        codes: int array ``(S, L)`` (or ``(S,)`` when ``L == 1``) with values in ``[0, K)``.
        action, style: labels of the config, or ``None`` for the null tokens.
        duration: ``True``: the duration token of ``S`` steps; ``None``/``False``: the null token;
            an int: that step count (e.g. the length of the whole clip a window was cut from).
    """
    arr = _check_codes(config, codes)
    if duration is True:
        if arr.shape[0] > config.max_steps:
            raise ValueError(
                f"codes has {arr.shape[0]} steps but max_steps={config.max_steps}; crop it "
                "(train_code_gpt(crop_steps=...)) or build the config with a larger max_steps"
            )
        steps = arr.shape[0]
    elif duration is None or duration is False:
        steps = None
    else:
        steps = duration
    return _header(config, action, style, steps) + _code_token_ids(config, arr).tolist() + [config.eos_token_id]


def decode_codes(config: MotionCodeGPTConfig, ids: Any) -> np.ndarray:
    """The ``(S, L)`` codes of a sequence made by :func:`encode_sequence` (or generated).

    ``ids`` is a 1-D sequence of ids; trailing pad tokens are ignored. It must be a full sequence:
    bos, one token from each condition block (value or null), whole steps of code tokens with layer
    ``l`` at position ``l`` of each step, and eos. Anything else raises ``ValueError`` naming the
    position and what was expected there.
    """
    arr = torch.as_tensor(ids).detach().cpu().numpy() if isinstance(ids, torch.Tensor) else np.asarray(ids)
    if arr.ndim != 1:
        raise ValueError(f"decode_codes takes one sequence (1-D ids), got shape {arr.shape}")
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"ids must be integers, got dtype {arr.dtype}")
    arr = arr.astype(np.int64)
    n = len(arr)
    while n and arr[n - 1] == config.pad_token_id:
        n -= 1
    arr = arr[:n]
    if n < HEADER_LENGTH + 1:
        raise ValueError(f"sequence of {n} tokens is too short: expected 4 header tokens, codes and eos")
    blocks = config.token_blocks()
    expect = [
        ("bos", range(config.bos_token_id, config.bos_token_id + 1)),
        ("an action or action-null token", range(config.action_offset, config.action_null_id + 1)),
        ("a style or style-null token", range(config.style_offset, config.style_null_id + 1)),
        ("a duration or duration-null token", range(config.duration_offset, config.duration_null_id + 1)),
    ]
    for pos, (what, allowed) in enumerate(expect):
        if arr[pos] not in allowed:
            raise ValueError(f"position {pos}: expected {what} (ids {allowed.start}..{allowed.stop - 1}), got {arr[pos]}")
    if arr[-1] != config.eos_token_id:
        raise ValueError(f"position {n - 1}: expected eos (id {config.eos_token_id}) at the end, got {arr[-1]}")
    body = arr[HEADER_LENGTH:-1]
    L, K = config.tokens_per_step, config.codebook_size
    eos_inside = np.flatnonzero(body == config.eos_token_id)
    if eos_inside.size:
        raise ValueError(f"position {HEADER_LENGTH + eos_inside[0]}: eos before the end of the sequence")
    layers = np.arange(len(body)) % L
    values = body - config.code_offset - layers * K
    bad = np.flatnonzero((values < 0) | (values >= K))
    if bad.size:
        p = bad[0]
        start = blocks[f"codes_layer{layers[p]}"]
        raise ValueError(
            f"position {HEADER_LENGTH + p}: expected a code token of layer {layers[p]} "
            f"(ids {start.start}..{start.stop - 1}, step {p // L}), got {body[p]}"
        )
    if len(body) % L:
        raise ValueError(
            f"position {n - 1}: eos after {len(body)} code tokens, expected whole steps of {L} "
            f"(the last step stops after layer {len(body) % L - 1})"
        )
    if not len(body):
        raise ValueError(f"position {HEADER_LENGTH}: expected a code token, got eos (a sequence has at least one step)")
    return values.reshape(-1, L)


# --------------------------------------------------------------------------- generation
class CodeLogitsProcessor(LogitsProcessor):
    """Keeps generated continuations valid: ``steps * L`` code tokens in layer order, then eos.

    At generated position ``k`` (0 = the first token after the prompt) only the ``K`` code tokens of
    layer ``k mod L`` are allowed; from ``k = steps * L`` on only eos. The prompt must end on a step
    boundary (header, optionally followed by whole past steps), which :func:`generate_codes` builds.
    All rows of a batch share the prompt length (no left padding), as in :func:`generate_codes`.

    Args:
        config: the model's :class:`MotionCodeGPTConfig`.
        prompt_length: number of tokens in the prompt (header + past code tokens).
        steps: number of steps to generate.
    """

    def __init__(self, config: MotionCodeGPTConfig, prompt_length: int, steps: int) -> None:
        if not _is_int(prompt_length) or int(prompt_length) < HEADER_LENGTH:
            raise ValueError(f"prompt_length must be >= {HEADER_LENGTH} (the header), got {prompt_length!r}")
        if (int(prompt_length) - HEADER_LENGTH) % config.tokens_per_step:
            raise ValueError(
                f"prompt_length={prompt_length} does not end on a step boundary: the header (4 tokens) plus "
                f"whole steps of tokens_per_step={config.tokens_per_step} code tokens"
            )
        if not _is_int(steps) or int(steps) < 1:
            raise ValueError(f"steps must be an integer >= 1, got {steps!r}")
        self.prompt_length = int(prompt_length)
        self.steps = int(steps)
        self.tokens_per_step = config.tokens_per_step
        self.vocab_size = config.vocab_size
        allowed = np.zeros((config.tokens_per_step + 1, config.vocab_size), dtype=bool)
        blocks = config.token_blocks()
        for layer in range(config.tokens_per_step):
            block = blocks[f"codes_layer{layer}"]
            allowed[layer, block.start : block.stop] = True
        allowed[-1, config.eos_token_id] = True  # last row: after the codes
        self._allowed_np = allowed
        self._blocked: torch.Tensor | None = None

    def _blocked_table(self, vocab: int, device: torch.device) -> torch.Tensor:
        if self._blocked is None or self._blocked.shape[1] != vocab or self._blocked.device != device:
            if vocab < self.vocab_size:
                raise ValueError(f"the model scores {vocab} tokens but the config's vocabulary has {self.vocab_size}")
            allowed = np.zeros((self._allowed_np.shape[0], vocab), dtype=bool)
            allowed[:, : self.vocab_size] = self._allowed_np  # ids beyond the layout stay blocked
            self._blocked = torch.from_numpy(~allowed).to(device)
        return self._blocked

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        k = input_ids.shape[1] - self.prompt_length
        if k < 0:
            raise ValueError(
                f"CodeLogitsProcessor was built for a prompt of {self.prompt_length} tokens but got "
                f"sequences of {input_ids.shape[1]}; build one processor per prompt length"
            )
        state = k % self.tokens_per_step if k < self.steps * self.tokens_per_step else self.tokens_per_step
        blocked = self._blocked_table(scores.shape[-1], scores.device)[state]
        return scores.masked_fill(blocked[None, :], float("-inf"))


def generate_codes(
    model: MotionCodeGPTForCausalLM,
    *,
    action: str | None = None,
    style: str | None = None,
    steps: int,
    past: Any = None,
    duration: bool = True,
    num_samples: int = 1,
    temperature: float = 1.0,
    top_k: int | None = None,
    greedy: bool = False,
    guidance_scale: float = 1.0,
    guide: Sequence[str] = ("action", "style", "duration"),
    seed: int = 0,
    batch_size: int = 64,
) -> np.ndarray:
    """Sample (or, with ``greedy=True``, predict) ``steps`` code steps: an int array ``(num_samples, steps, L)``.

    Args:
        model: a :class:`MotionCodeGPTForCausalLM`.
        action, style: condition labels (``None``: the null token, i.e. unconditioned on it).
        steps: number of steps to produce (after ``past``).
        past: optional past codes ``(P, L)`` shared by all samples, or ``(num_samples, P, L)``; the
            model continues them and the result holds only the ``steps`` new steps.
        duration: condition on the total duration ``P + steps`` (must be <= ``max_steps``); ``False``
            uses the duration-null token.
        num_samples: number of sequences.
        temperature, top_k: sampling parameters (``top_k=None``: no top-k cut); ignored when greedy.
        greedy: take the most likely code at every position (``do_sample=False``).
        guidance_scale: classifier-free guidance (Ho & Salimans 2022). Above 1 the next-token
            log-probabilities become ``u + s * (c - u)``, with ``c`` from the conditioned header and
            ``u`` from the all-null header (same past and duration), which sharpens the conditions
            at some cost in diversity. It needs a model trained with ``condition_dropout > 0``, so
            that the null header means "any motion". It runs through transformers'
            ``generate(guidance_scale=..., negative_prompt_ids=...)``. ``1.0`` turns it off.
        guide: the conditions that guidance strengthens; the unconditional branch nulls these and
            keeps the others. The default nulls the whole header, which training sees with
            ``header_dropout`` (:func:`train_code_gpt`); the length stays constrained either way.
        seed: seeds the sampling; the same seed gives the same codes (the caller's torch RNG state
            is left untouched).
        batch_size: sequences per ``generate`` call.

    Raises ``ValueError`` for unknown labels (listing the known ones), lengths that do not fit the
    model, and bad parameters.
    """
    config = model.config
    if not isinstance(config, MotionCodeGPTConfig):
        raise TypeError(f"generate_codes needs a MotionCodeGPTForCausalLM, got a model with {type(config).__name__}")
    for name, value in (("steps", steps), ("num_samples", num_samples), ("batch_size", batch_size)):
        if not _is_int(value) or int(value) < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    if not greedy:
        if not isinstance(temperature, (int, float)) or not temperature > 0 or not math.isfinite(temperature):
            raise ValueError(f"temperature must be a finite number > 0, got {temperature!r}")
        if top_k is not None and (not _is_int(top_k) or int(top_k) < 1):
            raise ValueError(f"top_k must be None or an integer >= 1, got {top_k!r}")
    if (
        isinstance(guidance_scale, bool)
        or not isinstance(guidance_scale, (int, float))
        or not (math.isfinite(guidance_scale) and guidance_scale >= 0)
    ):
        raise ValueError(f"guidance_scale must be a finite number >= 0 (1.0: no guidance), got {guidance_scale!r}")
    conditions = ("action", "style", "duration")
    if isinstance(guide, str) or not set(guide) <= set(conditions) or not list(guide):
        raise ValueError(f"guide must be a non-empty list of conditions from {conditions}, got {guide!r}")
    steps, num_samples, batch_size = int(steps), int(num_samples), int(batch_size)
    L = config.tokens_per_step

    if past is None:
        past_ids = np.zeros((num_samples, 0), dtype=np.int64)
    else:
        past_arr = np.asarray(past)
        if past_arr.ndim == 3:
            if past_arr.shape[0] != num_samples:
                raise ValueError(f"past has {past_arr.shape[0]} sequences but num_samples={num_samples}")
            rows = [_code_token_ids(config, _check_codes(config, p, f"past[{i}]")) for i, p in enumerate(past_arr)]
            past_ids = np.stack(rows)
        else:
            one = _code_token_ids(config, _check_codes(config, past_arr, "past"))
            past_ids = np.tile(one[None, :], (num_samples, 1))
    past_steps = past_ids.shape[1] // L
    total = past_steps + steps
    if duration and total > config.max_steps:
        raise ValueError(
            f"past ({past_steps} steps) + steps ({steps}) = {total} steps exceeds max_steps={config.max_steps}, "
            "the longest duration the model knows; generate fewer steps or pass duration=False"
        )
    header = _header(config, action, style, total if duration else None)
    prompt = np.concatenate([np.tile(np.asarray(header)[None, :], (num_samples, 1)), past_ids], axis=1)
    guided = float(guidance_scale) != 1.0
    if guided:  # the unconditional branch: the guided conditions null, the rest and the past as given
        null_header = _header(
            config,
            None if "action" in guide else action,
            None if "style" in guide else style,
            None if "duration" in guide or not duration else total,
        )
        null_prompt = np.concatenate([np.tile(np.asarray(null_header)[None, :], (num_samples, 1)), past_ids], axis=1)
    prompt_length = prompt.shape[1]
    length = prompt_length + steps * L + 1
    if length > config.n_positions:
        raise ValueError(
            f"prompt ({prompt_length} tokens) + {steps} steps * {L} + eos = {length} tokens exceeds n_positions={config.n_positions}"
        )

    kwargs: dict[str, Any] = dict(
        max_new_tokens=steps * L + 1,
        min_new_tokens=0,
        pad_token_id=config.pad_token_id,
        eos_token_id=config.eos_token_id,
        bos_token_id=config.bos_token_id,
    )
    if greedy:
        kwargs.update(do_sample=False, num_beams=1)
    else:
        # top_k=0 disables the cut explicitly (a generation config default would otherwise apply).
        kwargs.update(do_sample=True, temperature=float(temperature), top_k=0 if top_k is None else int(top_k), top_p=1.0)

    device = model.device
    was_training = model.training
    model.eval()  # dropout would make sampling noisier than the model and non-reproducible across modes
    out = []
    try:
        devices = [device] if device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices), torch.no_grad():
            torch.manual_seed(int(seed))
            for start in range(0, num_samples, batch_size):
                chunk = torch.from_numpy(prompt[start : start + batch_size]).to(device)
                processor = CodeLogitsProcessor(config, prompt_length, steps)
                guidance = {}
                if guided:
                    negative = torch.from_numpy(null_prompt[start : start + batch_size]).to(device)
                    guidance = dict(
                        guidance_scale=float(guidance_scale),
                        negative_prompt_ids=negative,
                        negative_prompt_attention_mask=torch.ones_like(negative),
                    )
                seqs = model.generate(
                    input_ids=chunk,
                    attention_mask=torch.ones_like(chunk),
                    logits_processor=LogitsProcessorList([processor]),
                    **guidance,
                    **kwargs,
                )
                for row in seqs.cpu().numpy():
                    codes = decode_codes(config, row)
                    if codes.shape[0] != total:
                        raise RuntimeError(f"generation produced {codes.shape[0] - past_steps} steps, expected {steps}")
                    out.append(codes[past_steps:])
    finally:
        model.train(was_training)
    return np.stack(out).astype(np.int64)


# --------------------------------------------------------------------------- training
class CodeSequenceDataset(torch.utils.data.Dataset):
    """Motions as training sequences for :class:`MotionCodeGPTForCausalLM`.

    Each item is ``{"input_ids": list[int]}`` (:func:`encode_sequence` of the motion, or of a random
    window of it). Randomness (crops, condition dropout) comes from the dataset's own generator, so
    a given seed and access order give the same items.

    Args:
        sequences: code arrays ``(S_i, L)``.
        config: the model's :class:`MotionCodeGPTConfig`.
        actions, styles: one label (or ``None``) per sequence, or ``None`` for no labels at all.
        condition_dropout: probability, drawn independently for the action, style and duration
            token of each item, of replacing it by its null token (``1.0``: every header is null,
            the unconditioned baseline).
        header_dropout: probability of replacing the whole header (action, style and duration) by
            null tokens at once. Independent dropout alone almost never shows the all-null header
            (``0.1 ** 3``), which classifier-free guidance (:func:`generate_codes`) uses as its
            unconditional branch.
        crop_steps: sequences longer than this are cut to a random window of ``crop_steps`` steps
            (the duration token is then the window's length). Without it every sequence must fit
            ``max_steps``.
        seed: seed of the dataset's generator.
    """

    def __init__(
        self,
        sequences: Sequence[Any],
        config: MotionCodeGPTConfig,
        actions: Sequence[str | None] | None = None,
        styles: Sequence[str | None] | None = None,
        *,
        condition_dropout: float = 0.0,
        header_dropout: float = 0.0,
        crop_steps: int | None = None,
        seed: int = 0,
    ) -> None:
        if isinstance(sequences, np.ndarray) and sequences.ndim == 2:
            raise ValueError("sequences must be a list of (steps, L) arrays, got one 2-D array; wrap it in a list")
        sequences = list(sequences)
        if not sequences:
            raise ValueError("no sequences to train on")
        if not isinstance(condition_dropout, (int, float)) or not 0.0 <= condition_dropout <= 1.0:
            raise ValueError(f"condition_dropout must be a probability in [0, 1], got {condition_dropout!r}")
        if isinstance(header_dropout, bool) or not isinstance(header_dropout, (int, float)) or not 0.0 <= header_dropout <= 1.0:
            raise ValueError(f"header_dropout must be a probability in [0, 1], got {header_dropout!r}")
        if crop_steps is not None and (not _is_int(crop_steps) or not 1 <= int(crop_steps) <= config.max_steps):
            raise ValueError(f"crop_steps must be None or an integer in [1, max_steps={config.max_steps}], got {crop_steps!r}")
        self.config = config
        self.codes = [_check_codes(config, s, f"sequences[{i}]") for i, s in enumerate(sequences)]
        limit = config.max_steps if crop_steps is None else int(crop_steps)
        if crop_steps is None:
            long = [i for i, c in enumerate(self.codes) if len(c) > limit]
            if long:
                raise ValueError(
                    f"{len(long)} sequence(s) are longer than max_steps={limit} (first: sequences[{long[0]}] with "
                    f"{len(self.codes[long[0]])} steps); pass crop_steps<={limit} to train on random windows"
                )
        self.actions = self._labels("actions", actions, config.action_token_id)
        self.styles = self._labels("styles", styles, config.style_token_id)
        self.condition_dropout = float(condition_dropout)
        self.header_dropout = float(header_dropout)
        self.crop_steps = None if crop_steps is None else int(crop_steps)
        self.rng = np.random.default_rng(seed)

    def _labels(self, name: str, labels, to_id) -> list[str | None]:
        if labels is None:
            return [None] * len(self.codes)
        if isinstance(labels, str):
            raise ValueError(f"{name} must be a list with one label per sequence, got the string {labels!r}")
        labels = list(labels)
        if len(labels) != len(self.codes):
            raise ValueError(f"{len(labels)} {name} for {len(self.codes)} sequences; pass one per sequence (or None)")
        for i, label in enumerate(labels):
            try:
                to_id(label)
            except ValueError as exc:
                raise ValueError(f"{name}[{i}]: {exc}") from None
        return labels

    def __len__(self) -> int:
        return len(self.codes)

    def __getitem__(self, index: int) -> dict[str, list[int]]:
        codes = self.codes[index]
        if self.crop_steps is not None and len(codes) > self.crop_steps:
            start = int(self.rng.integers(0, len(codes) - self.crop_steps + 1))
            codes = codes[start : start + self.crop_steps]
        drop = self.rng.random(3) < self.condition_dropout
        if self.header_dropout and self.rng.random() < self.header_dropout:
            drop[:] = True
        action = None if drop[0] else self.actions[index]
        style = None if drop[1] else self.styles[index]
        return {"input_ids": encode_sequence(self.config, codes, action, style, duration=not drop[2])}


class CodeSequenceCollator:
    """Pads items of :class:`CodeSequenceDataset` into a batch for a causal-LM loss.

    Returns ``input_ids`` (right-padded with the pad id), ``attention_mask`` and ``labels``: the
    ids, with ``-100`` on pad and on the 4 header tokens, so the loss covers the codes and eos (the
    model is not asked to guess the conditions).
    """

    def __init__(self, config: MotionCodeGPTConfig) -> None:
        self.config = config

    def __call__(self, features: Sequence[dict[str, Sequence[int]]]) -> dict[str, torch.Tensor]:
        if not features:
            raise ValueError("empty batch")
        rows = [list(f["input_ids"]) for f in features]
        width = max(len(r) for r in rows)
        ids = torch.full((len(rows), width), self.config.pad_token_id, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for i, r in enumerate(rows):
            if len(r) <= HEADER_LENGTH:
                raise ValueError(f"item {i} has {len(r)} tokens: no codes after the {HEADER_LENGTH}-token header")
            ids[i, : len(r)] = torch.tensor(r, dtype=torch.long)
            mask[i, : len(r)] = 1
        labels = ids.masked_fill(mask == 0, -100)
        labels[:, :HEADER_LENGTH] = -100
        return {"input_ids": ids, "attention_mask": mask, "labels": labels}


def train_code_gpt(
    sequences: Sequence[Any],
    actions: Sequence[str | None] | None,
    styles: Sequence[str | None] | None,
    config: MotionCodeGPTConfig,
    *,
    steps: int = 1000,
    batch_size: int = 32,
    lr: float = 3e-4,
    warmup_steps: int | None = None,
    weight_decay: float = 0.01,
    condition_dropout: float = 0.1,
    header_dropout: float = 0.0,
    crop_steps: int | None = None,
    seed: int = 0,
    device: str | torch.device = "cpu",
    progress: bool = True,
) -> MotionCodeGPTForCausalLM:
    """Train a :class:`MotionCodeGPTForCausalLM` from scratch on code sequences; returns it in eval mode.

    A plain torch loop: AdamW, linear warmup (``warmup_steps``, default 5% of ``steps``) then cosine
    decay to 10% of ``lr``, gradient clipping at 1.0, batches drawn by shuffled epochs. The loss
    covers code tokens and eos (:class:`CodeSequenceCollator`). ``condition_dropout``,
    ``header_dropout`` and ``crop_steps`` are those of :class:`CodeSequenceDataset`. The per-step training losses are
    kept in ``model.train_loss_history`` (a list of floats; not saved with the model).
    """
    for name, value in (("steps", steps), ("batch_size", batch_size)):
        if not _is_int(value) or int(value) < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    if not isinstance(lr, (int, float)) or not lr > 0:
        raise ValueError(f"lr must be > 0, got {lr!r}")
    if not isinstance(config, MotionCodeGPTConfig):
        raise TypeError(f"config must be a MotionCodeGPTConfig, got {type(config).__name__}")
    steps, batch_size = int(steps), int(batch_size)
    warmup = max(1, steps // 20) if warmup_steps is None else int(warmup_steps)
    if warmup < 0:
        raise ValueError(f"warmup_steps must be >= 0, got {warmup_steps!r}")

    dataset = CodeSequenceDataset(
        sequences,
        config,
        actions,
        styles,
        condition_dropout=condition_dropout,
        header_dropout=header_dropout,
        crop_steps=crop_steps,
        seed=seed,
    )
    collate = CodeSequenceCollator(config)
    torch.manual_seed(seed)
    model = MotionCodeGPTForCausalLM(config).to(device)
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay, betas=(0.9, 0.95))

    def schedule(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress_frac = (step - warmup) / max(1, steps - warmup)
        return 0.1 + 0.9 * 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress_frac)))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
    order_rng = np.random.default_rng(seed)
    order: list[int] = []
    losses: list[float] = []

    from tqdm.auto import tqdm

    bar = tqdm(range(steps), desc="train code GPT", disable=not progress)
    for _ in bar:
        batch_idx = []
        while len(batch_idx) < batch_size:
            if not order:
                order = order_rng.permutation(len(dataset)).tolist()
            batch_idx.append(order.pop())
        batch = {k: v.to(device) for k, v in collate([dataset[i] for i in batch_idx]).items()}
        loss = model(**batch).loss
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        losses.append(float(loss.detach()))
        if progress:
            bar.set_postfix(loss=f"{losses[-1]:.3f}", refresh=False)
    model.eval()
    model.train_loss_history = losses
    return model
