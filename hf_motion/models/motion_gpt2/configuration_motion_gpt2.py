"""Configuration of the M5 motion GPT-2: :class:`MotionGPT2Config`, the named size presets
(:data:`MODEL_PRESETS`) and :func:`motion_gpt2_config`, which fills vocabulary size and special ids
from a :class:`~hf_motion.tokenizer.MotionTokenizer`."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
from transformers import (
    GPT2Config,
)

from ...remote_code import LoaderConfigMixin

__all__ = ["MotionGPT2Config", "ModelPreset", "MODEL_PRESETS", "motion_gpt2_config", "value_alphabets"]

# Ids of the default MotionTokenizer: <pad> <bos> <eos> <unk> " " $ & >.
_DEFAULT_SPECIAL_IDS = [0, 1, 2, 3, 4, 5, 6, 7]
_DEFAULT_VOCAB_SIZE = 520  # MotionTokenizer(): 8 specials + 256 angle + 256 position characters
_DEFAULT_INTERLEAVED_TASK_IDS = [5, 6]  # MotionTokenizer's "$" (FK) and "&" (IK)


class MotionGPT2Config(LoaderConfigMixin, GPT2Config):
    r"""Configuration of :class:`MotionGPT2Model` and its heads: a :class:`~transformers.GPT2Config` plus the
    motion-layout fields below. Build one from a named preset with :func:`motion_gpt2_config`.

    Args:
        frame_separator_id: id of the frame separator token (``" "`` in M5 text).
        special_token_ids: ids that are not motion values (pad, bos, eos, unk, separator, task
            tokens); they get joint index 0 and frame index 0.
        values_per_joint: tokens per joint in a frame (``3 * digits`` of the tokenizer).
        max_joints: size of the joint-index embedding table. A frame with more joints is an error in
            ``forward`` (they would share one embedding): raise ``max_joints`` for such skeletons.
        max_frames: size of the frame-index embedding table (larger indices are clamped).
        use_joint_embeddings: add a learned embedding of each token's joint index.
        use_frame_embeddings: add a learned embedding of each token's frame index.
        use_previous_token_embeddings: add a learned embedding (a table of ``vocab_size`` rows,
            GPT-2's normal initialisation) of the token at the same slot in the previous frame of
            the same stream (:func:`previous_frame_token_ids`): a direct copy path from one frame to
            the next. Off by default (checkpoints saved before the flag existed load unchanged).
        use_level_embeddings: add a learned embedding of the current *level* of the slot being
            predicted: the quantizer level that the previous frame of the same stream decoded to
            there, a keyframe's value plus the changes written since (:meth:`MotionGPT2Model.previous_frame_level_ids`).
            Under delta coding the ids only carry changes, so the model can see where each joint
            axis *is* (and learn that far from the mean pose it tends back) without summing the
            changes since the keyframe itself. Needs ``value_alphabets`` and ``stream_levels``
            (:func:`motion_gpt2_config` fills both from the tokenizer). Off by default.
        value_alphabets: the value alphabets' id ranges, ``[start, stop, stream, max_step]`` each:
            ids ``start .. stop - 1`` are the values ``0 .. stop - start - 1`` of stream ``0``
            (angles) or ``1`` (positions); ``max_step`` is ``-1`` for an absolute alphabet (the value
            is the level) and the delta offset for a delta alphabet (the change is ``value - max_step``).
        stream_levels: ``[angle levels, position levels]``, the quantizers' bin counts.
        interleaved_task_ids: ids of the task tokens whose documents alternate two streams (M5's FK
            ``$`` and IK ``&``: angle frame, position frame, ...); there the previous frame of the
            same stream is two frames back. Default: ``[5, 6]`` (the :class:`MotionTokenizer` ids).
        joint_names: optional names of the joints, in token order, that the model reads and writes
            (the skeleton contract; :func:`motion_gpt2_config` copies the tokenizer's). When set,
            :func:`hf_motion.predict` refuses clips on another skeleton.
        preset: name of the preset the config was built from (informational).

    ``bos_token_id``, ``eos_token_id`` and ``pad_token_id`` default to the
    :class:`~hf_motion.tokenizer.MotionTokenizer` ids (1, 2, 0); the pad id is a real token distinct from
    EOS, which :class:`MotionGPT2ForSequenceClassification` needs to find the last token of each row.
    """

    model_type = "motion_gpt2"

    vocab_size: int = _DEFAULT_VOCAB_SIZE
    n_positions: int = 1024
    n_embd: int = 128
    n_layer: int = 4
    n_head: int = 4
    bos_token_id: int | None = 1
    eos_token_id: int | list[int] | None = 2
    pad_token_id: int | None = 0
    frame_separator_id: int = 4
    special_token_ids: list[int] | None = None
    values_per_joint: int = 3
    max_joints: int = 64
    max_frames: int = 256
    use_joint_embeddings: bool = True
    use_frame_embeddings: bool = True
    use_previous_token_embeddings: bool = False
    use_level_embeddings: bool = False
    value_alphabets: list[list[int]] | None = None
    stream_levels: list[int] | None = None
    interleaved_task_ids: list[int] | None = None
    joint_names: list[str] | None = None
    preset: str | None = None

    def __post_init__(self, **kwargs):
        if self.special_token_ids is None:
            self.special_token_ids = [i for i in _DEFAULT_SPECIAL_IDS if i < self.vocab_size]
        self.special_token_ids = sorted({int(i) for i in self.special_token_ids})
        if self.interleaved_task_ids is None:
            self.interleaved_task_ids = [i for i in _DEFAULT_INTERLEAVED_TASK_IDS if i in self.special_token_ids]
        super().__post_init__(**kwargs)
        problems = []
        if not isinstance(self.use_previous_token_embeddings, bool):
            problems.append(f"use_previous_token_embeddings must be True or False, got {self.use_previous_token_embeddings!r}")
        if not isinstance(self.use_level_embeddings, bool):
            problems.append(f"use_level_embeddings must be True or False, got {self.use_level_embeddings!r}")
        problems += self._check_value_alphabets()
        if isinstance(self.interleaved_task_ids, (int, str)) or not all(
            isinstance(i, int) and not isinstance(i, bool) for i in self.interleaved_task_ids
        ):
            problems.append(f"interleaved_task_ids must be a list of token ids, got {self.interleaved_task_ids!r}")
        else:
            self.interleaved_task_ids = sorted({int(i) for i in self.interleaved_task_ids})
        for name in ("values_per_joint", "max_joints", "max_frames", "n_embd", "n_layer", "n_head", "n_positions"):
            if int(getattr(self, name)) < 1:
                problems.append(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.n_embd % self.n_head:
            problems.append(f"n_embd ({self.n_embd}) must be a multiple of n_head ({self.n_head})")
        ids = {"frame_separator_id": self.frame_separator_id}
        ids.update({f"special_token_ids[{k}]": i for k, i in enumerate(self.special_token_ids)})
        if not any(p.startswith("interleaved_task_ids") for p in problems):
            not_special = [i for i in self.interleaved_task_ids if i not in self.special_token_ids]
            if not_special:
                problems.append(
                    f"interleaved_task_ids {not_special} are not in special_token_ids {self.special_token_ids} "
                    "(task tokens are special tokens)"
                )
        for name, value in ids.items():
            if not 0 <= int(value) < self.vocab_size:
                problems.append(f"{name}={value} is outside the vocabulary [0, {self.vocab_size})")
        if self.joint_names is not None:
            if isinstance(self.joint_names, str):
                problems.append(f"joint_names must be a list of joint names, got the string {self.joint_names!r}")
            else:
                self.joint_names = [str(n) for n in self.joint_names]
                dup = sorted({n for n in self.joint_names if self.joint_names.count(n) > 1})
                if dup:
                    problems.append(f"joint_names has duplicates: {dup}")
                if self.use_joint_embeddings and len(self.joint_names) > int(self.max_joints):
                    problems.append(
                        f"{len(self.joint_names)} joint_names but max_joints={self.max_joints}; pass max_joints>={len(self.joint_names)}"
                    )
        if self.frame_separator_id not in self.special_token_ids:
            self.special_token_ids = sorted(self.special_token_ids + [int(self.frame_separator_id)])
        if problems:
            raise ValueError("invalid MotionGPT2Config: " + "; ".join(problems))

    def _check_value_alphabets(self) -> list[str]:
        """Problems of ``value_alphabets`` / ``stream_levels`` (normalised to plain int lists)."""
        if self.value_alphabets is None and self.stream_levels is None:
            if self.use_level_embeddings:
                return ["use_level_embeddings=True needs value_alphabets and stream_levels; build the config with "
                        "motion_gpt2_config(preset, tokenizer, use_level_embeddings=True), which fills them"]  # fmt: skip
            return []
        try:
            alphabets = [[int(x) for x in a] for a in self.value_alphabets]
            levels = [int(n) for n in self.stream_levels]
        except (TypeError, ValueError):
            return [f"value_alphabets must be [[start, stop, stream, max_step], ...] and stream_levels [angle, position] "
                    f"integers, got {self.value_alphabets!r} and {self.stream_levels!r}"]  # fmt: skip
        problems = []
        if len(levels) != 2 or min(levels) < 1:
            problems.append(f"stream_levels must be two bin counts >= 1 [angle, position], got {levels}")
        taken = np.zeros(self.vocab_size, dtype=bool)
        for k, a in enumerate(alphabets):
            if len(a) != 4:
                problems.append(f"value_alphabets[{k}] must be [start, stop, stream, max_step], got {a}")
                continue
            start, stop, stream, step = a
            if not 0 <= start < stop <= self.vocab_size:
                problems.append(f"value_alphabets[{k}] covers ids [{start}, {stop}), not inside the vocabulary [0, {self.vocab_size})")
            elif taken[start:stop].any():
                problems.append(f"value_alphabets[{k}] ids [{start}, {stop}) overlap another alphabet")
            else:
                taken[start:stop] = True
            if stream not in (0, 1):
                problems.append(f"value_alphabets[{k}] has stream {stream}; 0 is angles, 1 positions")
            elif len(levels) == 2 and step < 0 and stop - start > levels[stream]:
                problems.append(
                    f"value_alphabets[{k}] holds {stop - start} absolute values but stream {stream} has {levels[stream]} levels"
                )
            if step < -1:
                problems.append(f"value_alphabets[{k}] max_step must be -1 (absolute) or >= 0, got {step}")
        self.value_alphabets, self.stream_levels = alphabets, levels
        return problems


# --------------------------------------------------------------------------- presets
@dataclasses.dataclass(frozen=True)
class ModelPreset:
    """A named model size. ``band`` is the advertised parameter range (with the default M5 vocabulary)."""

    n_embd: int
    n_layer: int
    n_head: int
    n_positions: int
    band: tuple[int, int]
    description: str


MODEL_PRESETS: dict[str, ModelPreset] = {
    "tiny": ModelPreset(32, 2, 2, 1024, (20_000, 150_000), "unit tests and CPU demos"),
    "m5-150k": ModelPreset(40, 4, 4, 1024, (100_000, 220_000), "M5's smallest model (~150K)"),
    "m5-1m": ModelPreset(128, 3, 4, 2048, (700_000, 1_500_000), "~1M parameters"),
    "m5-5m": ModelPreset(256, 5, 8, 4096, (3_500_000, 7_000_000), "~5M parameters"),
    "m5-26m": ModelPreset(512, 7, 8, 4096, (20_000_000, 32_000_000), "M5's largest model (~26M)"),
}

# Keyword names accepted as overrides besides the config's own fields.
_EXTRA_OVERRIDES = {"attn_implementation", "num_labels", "dtype", "hidden_size", "num_hidden_layers",
                    "num_attention_heads", "max_position_embeddings"}  # fmt: skip


def motion_gpt2_config(preset: str = "tiny", tokenizer=None, **overrides: Any) -> MotionGPT2Config:
    """A :class:`MotionGPT2Config` for a named size preset and a motion tokenizer.

    Args:
        preset: one of :data:`MODEL_PRESETS` (``"tiny"``, ``"m5-150k"``, ``"m5-1m"``, ``"m5-5m"``, ``"m5-26m"``).
        tokenizer: a :class:`~hf_motion.tokenizer.MotionTokenizer`; fills ``vocab_size``, the
            special ids, the frame separator, ``values_per_joint`` and ``joint_names`` (the
            tokenizer's, when it has them). Without it, the defaults of ``MotionTokenizer()`` are used.
        **overrides: any config field (e.g. ``n_positions=4096``, ``use_frame_embeddings=False``,
            ``use_previous_token_embeddings=True``, ``num_labels=3``, ``attn_implementation="eager"``).

    ``max_frames`` defaults to the most frames that fit in ``n_positions`` tokens; residual and
    embedding dropout are M5's 0.1; attention dropout is 0 (any other value forces PyTorch's unfused
    attention, about 2-7x slower on CPU), as the recipes use; attention is SDPA.
    """
    if preset not in MODEL_PRESETS:
        raise ValueError(f"unknown model preset {preset!r}; choose one of {sorted(MODEL_PRESETS)}")
    p = MODEL_PRESETS[preset]
    kw: dict[str, Any] = dict(n_embd=p.n_embd, n_layer=p.n_layer, n_head=p.n_head, n_positions=p.n_positions, preset=preset)
    if tokenizer is not None:
        specials = [tokenizer.pad_token_id, tokenizer.bos_token_id, tokenizer.eos_token_id, tokenizer.unk_token_id,
                    tokenizer.frame_separator_id, *tokenizer.task_token_ids.values()]  # fmt: skip
        kw.update(
            vocab_size=len(tokenizer),
            pad_token_id=tokenizer.pad_token_id,
            bos_token_id=tokenizer.bos_token_id,
            eos_token_id=tokenizer.eos_token_id,
            frame_separator_id=tokenizer.frame_separator_id,
            special_token_ids=[int(i) for i in specials if i is not None],
            values_per_joint=tokenizer.values_per_joint,
            joint_names=getattr(tokenizer, "joint_names", None),
            interleaved_task_ids=[int(tokenizer.task_token_ids[t]) for t in ("$", "&") if t in tokenizer.task_token_ids],
        )
        if overrides.get("use_level_embeddings"):
            kw.update(value_alphabets(tokenizer))
    known = {f.name for f in dataclasses.fields(MotionGPT2Config)} | _EXTRA_OVERRIDES
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise ValueError(f"unknown MotionGPT2Config override(s) {unknown}; valid fields include {sorted(known)}")
    kw.update(overrides)
    n_pos = kw.get("n_positions", kw.get("max_position_embeddings"))
    vpj = kw.get("values_per_joint", 3)
    # A frame is at least one joint plus its separator.
    kw.setdefault("max_frames", max(1, int(n_pos) // (vpj + 1)))
    kw.setdefault("attn_implementation", "sdpa")
    kw.setdefault("attn_pdrop", 0.0)
    return MotionGPT2Config(**kw)


def value_alphabets(tokenizer) -> dict[str, list]:
    """``{"value_alphabets": ..., "stream_levels": ...}`` of a :class:`~hf_motion.tokenizer.MotionTokenizer`
    (the config fields that :attr:`MotionGPT2Config.use_level_embeddings` needs).

    Raises:
        ValueError: a tokenizer with several digits per value (a level is then spread over tokens),
            or whose value ids are not contiguous runs.
    """
    if not hasattr(tokenizer, "token_values"):
        raise ValueError(f"level embeddings need a MotionTokenizer (token_values per id), got {type(tokenizer).__name__}")
    if int(tokenizer.digits) != 1:
        raise ValueError(
            f"level embeddings need one token per value, but the tokenizer writes {tokenizer.digits} digits per value; "
            "use a one-digit tokenizer (e.g. tokenizer_configs/m5-delta-motion) or use_level_embeddings=False"
        )
    kinds, codings = np.asarray(tokenizer.token_kinds), np.asarray(tokenizer.token_codings)
    values = np.asarray(tokenizer.token_values)
    steps = getattr(tokenizer, "max_steps", {}) or {}
    out = []
    for kind in (1, 2):
        name = ("angle", "position")[kind - 1]
        for coding in sorted(set(codings[kinds == kind].tolist())):
            ids = np.flatnonzero((kinds == kind) & (codings == coding))
            if not (np.all(np.diff(ids) == 1) and np.array_equal(values[ids], np.arange(len(ids)))):
                raise ValueError(f"the tokenizer's {name} ids (coding {coding}) are not one run of values 0, 1, ...")
            step = int(steps[name]) if coding == 2 else -1
            out.append([int(ids[0]), int(ids[-1]) + 1, kind - 1, step])
    levels = [int(tokenizer.angle_quantizer.n_bins), int(tokenizer.position_quantizer.n_bins)]
    return {"value_alphabets": out, "stream_levels": levels}
