"""M5 motion tokenizer: quantized joint angles and positions as one character per value.

Text format (M5): a task token, then frames separated by single spaces::

    > 丂丄丅丆... 丂丄丅...          (causal: '>' + frames)
    $ <angle frame> <position frame> <angle frame> <position frame> ...   (FK: angles first)
    & <position frame> <angle frame> <position frame> <angle frame> ...   (IK: positions first)

Forward kinematics (``$``) writes each frame's angles before its positions (positions follow from
angles); inverse kinematics (``&``) writes the position frame first, so the angle frame is written
after the positions it is inferred from. :meth:`MotionTokenizer.decode_motion` reads each frame's
kind from its characters, so both orders decode to the same ``(angles, positions)`` arrays.

Each frame is one "word": ``J * 3 * digits`` characters, joint-major, then x/y/z, then digits
(coarse to fine). ``digits=1`` is plain M5. ``digits=2`` is our finer code: every value is a
``(coarse, fine)`` pair over ``base**2`` levels, so 64 characters per digit give 4096 levels (16x
finer than M5 at 256 bins) with a smaller vocabulary.

Angles and positions use disjoint alphabets (and each digit its own), all CJK unified ideographs:
printable, NFKC-stable, never whitespace. The vocabulary is fully determined by the config, so the
backend ``tokenizers.Tokenizer`` is rebuilt from it on every load; the saved ``tokenizer.json``
lets the folder load as a plain ``TokenizersBackend`` (text-level ids) without hf_motion. On
:meth:`MotionTokenizer.from_pretrained` the two files are checked against each other (vocabulary,
special tokens, pre-tokenizer...): any disagreement raises :class:`MotionTokenizerError` naming
the file and the field, so both load paths always give the same ids.

Delta (predictive) coding (``coding="delta"``, ``digits=1`` only): angle frames and position frames
are two value streams, each with its own frame counter (restarting at each task token). Frame ``t``
of a stream is a *keyframe* iff ``t % keyframe_interval == 0`` (``keyframe_interval=None``: only
frame 0); keyframes are written with the absolute alphabets above, every other frame as the change
from the previous *decoded* frame of its stream, ``delta + max_step`` in ``[0, 2 * max_step]``, in a
delta alphabet (one for angles, one for positions: precomposed Hangul syllables from U+AC00,
printable, NFKC-stable, disjoint from everything else). "No change" is then one character, so
repeating the last frame (zero velocity) is the easiest thing for a model to say. The coding is
closed-loop (:mod:`hf_motion.predictive_coding`): with the default ``max_step = n_bins - 1`` it
never saturates and decodes exactly to the quantized levels; a smaller ``max_step`` catches up
over the next frames and never drifts. Decoding returns the reconstructed values, so the array
API is the same for both codings. It is saved in ``tokenizer_config.json`` as
``quantization.coding = {"type": "delta", "keyframe_interval": K, "max_step": M}`` (absent:
absolute).

Angle reference (optional, both codings): with ``angle_reference`` (one axis-angle rotation per
joint, e.g. the training data's mean pose from :func:`fit_angle_reference`), each joint's angles
are written as the rotation *from its reference*, ``log(R_ref^T R)``, and decoded back as
``R_ref R_rel``. Raw axis-angle flips sign near a rotation of pi, where many rigs' arms sit (a
frame-to-frame change of a few degrees can then jump by 2 pi in a component); relative to the
mean pose the values stay far from pi, so changes are small and smooth. It is saved as
``quantization.angle_reference`` (a ``J x 3`` list; absent: none) and needs ``joint_names``.

Ids: 0 ``<pad>``, 1 ``<bos>``, 2 ``<eos>``, 3 ``<unk>``, 4 ``" "`` (frame separator), 5 ``$``,
6 ``&``, 7 ``>``, then the absolute alphabets (angle, position), then (delta coding) the angle and
position delta alphabets. The special tokens are fixed (``pad_token`` can never be ``eos_token``:
sequence classification finds each sequence's end by its first pad).

Token ids given to :meth:`MotionTokenizer.decode_motion`, ``decode`` and ``convert_ids_to_tokens``
must be Python/numpy integers in ``[0, len(tokenizer))``; anything else (negative or huge ids,
floats -- even integral ones like ``8.0`` --, bools, strings, None, nested lists) raises
:class:`MotionTokenizerError` naming the id and its position.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, pre_tokenizers, processors
from transformers import TokenizersBackend

from .predictive_coding import delta_decode, delta_encode, first_out_of_range, keyframe_mask
from .quantizer import UniformQuantizer

__all__ = ["MotionTokenizer", "MotionTokens", "MotionTokenizerError", "TASK_TOKENS", "CODINGS"]

PAD, BOS, EOS, UNK = "<pad>", "<bos>", "<eos>", "<unk>"
FRAME_SEPARATOR = " "
TASK_TOKENS = {"$": "forward kinematics", "&": "inverse kinematics", ">": "causal prediction"}
_BASE_VOCAB = [PAD, BOS, EOS, UNK, FRAME_SEPARATOR, *TASK_TOKENS]
_N_BASE = len(_BASE_VOCAB)
PAD_ID, BOS_ID, EOS_ID, UNK_ID = 0, 1, 2, 3
_SPECIAL = {"pad_token": (PAD, PAD_ID), "bos_token": (BOS, BOS_ID), "eos_token": (EOS, EOS_ID), "unk_token": (UNK, UNK_ID)}
_UNSUPPORTED_SPECIAL = ("sep_token", "cls_token", "mask_token")
# First code point of each alphabet; each holds up to 4096 characters (CJK U+4E00..U+8DFF).
_ALPHABET_SPAN = 4096
_ALPHABET_START = {("angle", 0): 0x4E00, ("angle", 1): 0x5E00, ("position", 0): 0x6E00, ("position", 1): 0x7E00}
_KINDS = ("angle", "position")
# Delta alphabets: the 11172 precomposed Hangul syllables (U+AC00..U+D7A3), half for each kind.
_DELTA_SPAN = 5586
_DELTA_START = {"angle": 0xAC00, "position": 0xAC00 + _DELTA_SPAN}
CODINGS = ("absolute", "delta")
_ABSOLUTE, _DELTA = 1, 2  # token_codings codes (0: special, separator, task)
CONFIG_FILE, TOKENIZER_FILE = "tokenizer_config.json", "tokenizer.json"
# Parts of tokenizer.json that decide the plain (TokenizersBackend) path's ids.
_BACKEND_FIELDS = ("normalizer", "pre_tokenizer", "post_processor", "decoder")


class MotionTokenizerError(ValueError):
    """Ids, text, arrays or saved files that do not fit the tokenizer (the message says where)."""


@dataclass
class MotionTokens:
    """A decoded token sequence: the task token and the angle / position frames it held."""

    task: str | None
    angles: np.ndarray | None  # (Ta, J, 3) radians
    positions: np.ndarray | None  # (Tp, J, 3) metres


def _as_quantizer(q: UniformQuantizer | dict | None, kind: str, n_bins: Any) -> UniformQuantizer:
    if isinstance(q, UniformQuantizer):
        return q
    if isinstance(q, Mapping):
        try:
            return UniformQuantizer.from_dict(dict(q), name=f"quantization.{kind}")
        except ValueError as e:
            raise MotionTokenizerError(str(e)) from None
    if q is None:
        try:
            default = UniformQuantizer.default_angles if kind == "angle" else UniformQuantizer.default_positions
            return default(n_bins)
        except ValueError as e:
            raise MotionTokenizerError(f"{kind}_bins: {e}") from None
    raise MotionTokenizerError(f"{kind}_quantizer must be a UniformQuantizer or a dict, got {type(q).__name__}")


def _is_int(x: Any) -> bool:
    return isinstance(x, (int, np.integer)) and not isinstance(x, (bool, np.bool_))


def _is_row(x: Any) -> bool:
    """A list, tuple, or array/tensor of at least one dimension (not a scalar)."""
    return isinstance(x, (list, tuple)) or (getattr(x, "ndim", 0) >= 1 and hasattr(x, "__len__"))


def _digit_base(n_bins: int, digits: int, kind: str) -> int:
    base = int(round(n_bins ** (1.0 / digits)))
    if base**digits != n_bins:
        raise MotionTokenizerError(f"{kind} n_bins={n_bins} is not a perfect power of digits={digits} (e.g. 64**2=4096)")
    if base > _ALPHABET_SPAN:
        raise MotionTokenizerError(f"{kind} alphabet would need {base} characters per digit; at most {_ALPHABET_SPAN} (use digits=2)")
    return base


def _check_joint_names(joint_names: Any) -> list[str] | None:
    if joint_names is None:
        return None
    if isinstance(joint_names, (str, bytes)) or not isinstance(joint_names, Iterable):
        raise MotionTokenizerError(f"joint_names must be a list of joint names, got {type(joint_names).__name__}")
    names = list(joint_names)
    if not names:
        raise MotionTokenizerError("joint_names is empty; pass None for a tokenizer without a fixed skeleton")
    for i, n in enumerate(names):
        if not isinstance(n, str) or not n:
            raise MotionTokenizerError(f"joint_names[{i}] must be a non-empty string, got {n!r}")
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise MotionTokenizerError(f"joint_names repeats {dup}")
    return [str(n) for n in names]


def _preview(names: Sequence[str], limit: int = 12) -> str:
    shown = ", ".join(names[:limit])
    return f"[{shown}{f', ... (+{len(names) - limit} more)' if len(names) > limit else ''}]"


def _token_text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, AddedToken):
        return value.content
    if isinstance(value, Mapping) and isinstance(value.get("content"), str):
        return value["content"]
    return repr(value)


def _read_json(path: str, what: str) -> Any:
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except UnicodeDecodeError as e:
        raise MotionTokenizerError(f"{what} ({path}) is not UTF-8 text: {e}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise MotionTokenizerError(f"{what} ({path}) is not valid JSON: {e}") from None


def _config_object(config: Any, path: str) -> dict:
    if not isinstance(config, dict):
        raise MotionTokenizerError(f"{CONFIG_FILE} ({path}) must hold a JSON object, got {type(config).__name__}")
    return config


class MotionTokenizer(TokenizersBackend):
    """A ``transformers`` tokenizer for M5 motion text, with a vectorised array path.

    Args:
        digits: characters per value: 1 = M5 (default), 2 = coarse/fine code.
        angle_quantizer / position_quantizer: :class:`UniformQuantizer` (or its dict); defaults are
            M5's boxes with ``angle_bins`` / ``position_bins`` bins.
        angle_bins / position_bins: total levels per value (default 256; must be
            ``base ** digits``). Given together with a quantizer they must equal its ``n_bins``.
        joint_names: names of the skeleton's joints, or None. When given, :meth:`encode_motion`
            refuses arrays with another joint count and :meth:`decode_motion` refuses frames of
            another length (e.g. ids made by a tokenizer with more digits).
        quantization: the saved form of ``digits``, both quantizers and the coding (``{"digits",
            "angle", "position"[, "coding"]}``), as written to ``tokenizer_config.json``; cannot be
            combined with them.
        coding: ``"absolute"`` (default: every value as its level) or ``"delta"`` (keyframes as
            levels, other frames as the change from the previous decoded frame; ``digits=1`` only).
        keyframe_interval: delta coding: a stream's frame ``t`` is a keyframe iff
            ``t % keyframe_interval == 0``; None (default): only its first frame.
        max_step: delta coding: the largest change written per frame, in levels (default
            ``n_bins - 1``: never saturates, decoding gives the quantized levels exactly; smaller
            values catch up over the next frames). The delta alphabets hold ``2 * max_step + 1``
            characters each (at most 5586: ``max_step <= 2792``).
        angle_reference: ``(J, 3)`` axis-angle per joint (see the module docstring): angles are
            quantized relative to it. Needs ``joint_names`` of the same length. None: raw angles.

    The special tokens are fixed (``<pad>`` 0, ``<bos>`` 1, ``<eos>`` 2, ``<unk>`` 3); passing
    other values (e.g. ``pad_token="<eos>"``) raises :class:`MotionTokenizerError`.

    The array path (:meth:`encode_motion` / :meth:`decode_motion`) and the text path
    (``tokenizer(motion_to_text(...))``) give identical ids.
    """

    vocab_files_names = {"tokenizer_file": TOKENIZER_FILE}
    model_input_names = ["input_ids", "attention_mask"]

    def __init__(
        self,
        digits: int | None = None,
        angle_quantizer: UniformQuantizer | dict | None = None,
        position_quantizer: UniformQuantizer | dict | None = None,
        angle_bins: int | None = None,
        position_bins: int | None = None,
        joint_names: Sequence[str] | None = None,
        quantization: dict[str, Any] | None = None,
        coding: str | None = None,
        keyframe_interval: int | None = None,
        max_step: int | None = None,
        angle_reference: Any = None,
        **kwargs: Any,
    ) -> None:
        if quantization is not None:
            given = [n for n, v in (("digits", digits), ("angle_quantizer", angle_quantizer),
                                    ("position_quantizer", position_quantizer), ("angle_bins", angle_bins),
                                    ("position_bins", position_bins), ("coding", coding),
                                    ("keyframe_interval", keyframe_interval), ("max_step", max_step),
                                    ("angle_reference", angle_reference))
                     if v is not None]  # fmt: skip
            if given:
                raise MotionTokenizerError(f"pass either quantization or {', '.join(given)}, not both")
            digits, angle_quantizer, position_quantizer, (coding, keyframe_interval, max_step) = self._parse_quantization(quantization)
            angle_reference = quantization.get("angle_reference")
        digits = 1 if digits is None else digits
        if not _is_int(digits) or digits not in (1, 2):
            raise MotionTokenizerError(f"digits must be 1 (M5) or 2 (coarse/fine), got {digits!r}")
        aq = _as_quantizer(angle_quantizer, "angle", 256 if angle_bins is None else angle_bins)
        pq = _as_quantizer(position_quantizer, "position", 256 if position_bins is None else position_bins)
        for kind, q, bins in (("angle", aq, angle_bins), ("position", pq, position_bins)):
            if bins is not None and bins != q.n_bins:
                raise MotionTokenizerError(f"{kind}_bins={bins} disagrees with the {kind} quantizer's n_bins={q.n_bins}")
        self.angle_quantizer, self.position_quantizer, self.digits = aq, pq, int(digits)
        self._coding, self._keyframe_interval, self._max_steps = self._check_coding(
            coding, keyframe_interval, max_step, self.digits, {"angle": aq.n_bins, "position": pq.n_bins}
        )
        self.quantization = {"digits": self.digits, "angle": aq.to_dict(), "position": pq.to_dict()}
        if self._coding == "delta":  # absent for absolute coding: today's folders stay byte-identical
            # max_step as resolved (n_bins - 1 by default); null only when angles and positions
            # have different defaults (then each kind's n_bins - 1).
            steps = set(self._max_steps.values())
            self.quantization["coding"] = {
                "type": "delta", "keyframe_interval": self._keyframe_interval,
                "max_step": steps.pop() if len(steps) == 1 else None,
            }  # fmt: skip
        self._joint_names = _check_joint_names(joint_names)
        self._angle_reference = self._check_angle_reference(angle_reference, self._joint_names)
        if self._angle_reference is not None:  # absent without one: today's folders stay byte-identical
            self.quantization["angle_reference"] = self._angle_reference.tolist()
        self._bases = {"angle": _digit_base(aq.n_bins, digits, "angle"), "position": _digit_base(pq.n_bins, digits, "position")}
        self._build_tables()

        # The backend is derived from the config alone; from_pretrained checks it against tokenizer.json.
        for key in ("tokenizer_object", "tokenizer_file", "vocab", "merges", "post_processor"):
            kwargs.pop(key, None)
        for key, (value, _) in _SPECIAL.items():
            kwargs.setdefault(key, value)
        self._check_special_tokens({k: kwargs[k] for k in _SPECIAL}, {k: kwargs.get(k) for k in _UNSUPPORTED_SPECIAL})
        super().__init__(
            tokenizer_object=self._build_backend(),
            quantization=self.quantization,
            joint_names=self._joint_names,
            **kwargs,
        )
        self._motion_ready = True

    @staticmethod
    def _parse_quantization(q: Any) -> tuple[Any, Any, Any, tuple[Any, Any, Any]]:
        if not isinstance(q, Mapping):
            raise MotionTokenizerError(f"quantization must be a dict with digits/angle/position, got {type(q).__name__}")
        missing = [k for k in ("digits", "angle", "position") if k not in q]
        if missing:
            raise MotionTokenizerError(f"quantization lacks {missing} (it needs digits, angle and position)")
        unknown = sorted(set(q) - {"digits", "angle", "position", "coding", "angle_reference"})
        if unknown:
            raise MotionTokenizerError(f"quantization has unknown fields {unknown} (digits, angle, position, coding, angle_reference)")
        for kind in _KINDS:
            if not isinstance(q[kind], Mapping):
                raise MotionTokenizerError(f"quantization.{kind} must be a dict (low, high, n_bins), got {q[kind]!r}")
        if not _is_int(q["digits"]):
            raise MotionTokenizerError(f"quantization.digits must be 1 or 2, got {q['digits']!r}")
        c = q.get("coding")
        if c is None:
            coding = (None, None, None)
        elif not isinstance(c, Mapping) or not isinstance(c.get("type"), str):
            raise MotionTokenizerError(f"quantization.coding must be a dict with a 'type' ({' or '.join(map(repr, CODINGS))}), got {c!r}")
        elif c["type"] == "absolute":
            extra = sorted(set(c) - {"type"})
            if extra:
                raise MotionTokenizerError(f"quantization.coding of type 'absolute' takes no other fields, got {extra}")
            coding = ("absolute", None, None)
        elif c["type"] == "delta":
            unknown = sorted(set(c) - {"type", "keyframe_interval", "max_step"})
            if unknown:
                raise MotionTokenizerError(f"quantization.coding has unknown fields {unknown} (type, keyframe_interval, max_step)")
            coding = ("delta", c.get("keyframe_interval"), c.get("max_step"))
        else:
            raise MotionTokenizerError(f"quantization.coding.type must be one of {list(CODINGS)}, got {c['type']!r}")
        return q["digits"], q["angle"], q["position"], coding

    @staticmethod
    def _check_angle_reference(reference: Any, joint_names: list[str] | None) -> np.ndarray | None:
        if reference is None:
            return None
        try:
            ref = np.asarray(reference, dtype=np.float64)
        except (ValueError, TypeError) as e:
            raise MotionTokenizerError(f"angle_reference must be a (J, 3) array of axis-angle radians: {e}") from None
        if ref.ndim != 2 or ref.shape[1] != 3 or ref.shape[0] == 0:
            raise MotionTokenizerError(f"angle_reference must have shape (J, 3), got {ref.shape}")
        if joint_names is None:
            raise MotionTokenizerError("angle_reference needs joint_names (the reference is per joint); pass joint_names=[...] too")
        if len(ref) != len(joint_names):
            raise MotionTokenizerError(f"angle_reference has {len(ref)} joints, joint_names {len(joint_names)} {_preview(joint_names)}")
        bad = np.flatnonzero(~np.isfinite(ref).all(axis=1) | (np.linalg.norm(ref, axis=1) > np.pi + 1e-6))
        if bad.size:
            j = int(bad[0])
            raise MotionTokenizerError(
                f"angle_reference of joint {j} ({joint_names[j]}) is {ref[j].tolist()}: expected finite "
                "axis-angle with an angle of at most pi"
            )
        return ref

    @property
    def angle_reference(self) -> np.ndarray | None:
        """``(J, 3)`` reference rotation per joint that angles are written relative to, or None."""
        return None if self._angle_reference is None else self._angle_reference.copy()

    def with_angle_reference(self, reference: Any, joint_names: Sequence[str] | None = None) -> MotionTokenizer:
        """A copy of this tokenizer writing angles relative to ``reference`` (``(J, 3)``; None: raw).

        ``joint_names`` default to this tokenizer's. The vocabulary is unchanged, so ids keep
        their meaning as characters; what an angle character stands for changes.
        """
        q = {k: v for k, v in self.quantization.items() if k != "angle_reference"}
        if reference is not None:
            q["angle_reference"] = np.asarray(reference, dtype=np.float64).tolist()
        names = self._joint_names if joint_names is None else list(joint_names)
        return type(self)(quantization=q, joint_names=names)

    @staticmethod
    def _check_coding(
        coding: Any, keyframe_interval: Any, max_step: Any, digits: int, n_bins: dict[str, int]
    ) -> tuple[str, int | None, dict[str, int]]:
        """``(coding, keyframe_interval, max_step per kind)``, or a clear error."""
        coding = "absolute" if coding is None else coding
        if not isinstance(coding, str) or coding not in CODINGS:
            raise MotionTokenizerError(f"coding must be one of {list(CODINGS)}, got {coding!r}")
        if coding == "absolute":
            given = [n for n, v in (("keyframe_interval", keyframe_interval), ("max_step", max_step)) if v is not None]
            if given:
                raise MotionTokenizerError(f"{' and '.join(given)} only apply to coding='delta' (coding is 'absolute')")
            return coding, None, {}
        if digits != 1:
            raise MotionTokenizerError(
                f"coding='delta' supports digits=1 only (one character per value), got digits={digits}; "
                "use MotionTokenizer.m5_delta(n_bins) or coding='absolute' for the coarse/fine code"
            )
        for name, value in (("keyframe_interval", keyframe_interval), ("max_step", max_step)):
            if value is not None and (not _is_int(value) or value < 1):
                raise MotionTokenizerError(f"{name} must be None or an integer >= 1, got {value!r}")
        steps = {}
        for kind in _KINDS:
            step = n_bins[kind] - 1 if max_step is None else int(max_step)
            if step > n_bins[kind] - 1:
                raise MotionTokenizerError(
                    f"max_step={step} exceeds {kind} n_bins - 1 = {n_bins[kind] - 1} (no change between "
                    f"{n_bins[kind]} levels is larger); use at most {n_bins[kind] - 1}"
                )
            if 2 * step + 1 > _DELTA_SPAN:
                hint = "" if max_step is not None else f" (the default is {kind} n_bins - 1)"
                raise MotionTokenizerError(
                    f"{kind} max_step={step}{hint} needs {2 * step + 1} delta characters; the delta alphabet holds "
                    f"{_DELTA_SPAN}, so max_step must be at most {(_DELTA_SPAN - 1) // 2}"
                )
            steps[kind] = step
        return coding, (None if keyframe_interval is None else int(keyframe_interval)), steps

    @staticmethod
    def _check_special_tokens(named: dict[str, Any], unsupported: dict[str, Any]) -> None:
        pad, eos = _token_text(named["pad_token"]), _token_text(named["eos_token"])
        if pad == eos:
            raise MotionTokenizerError(
                f"pad_token equals eos_token ({pad!r}); MotionTokenizer's pad_token is {PAD!r} (id {PAD_ID}), "
                "distinct from eos: sequence classification finds each sequence's last token by the first pad"
            )
        for key, (want, tid) in _SPECIAL.items():
            got = _token_text(named[key])
            if got != want:
                raise MotionTokenizerError(f"{key} must be {want!r} (id {tid}, fixed by the M5 layout), got {got!r}")
        for key, value in unsupported.items():
            if value is not None:
                raise MotionTokenizerError(f"MotionTokenizer has no {key}, got {_token_text(value)!r}")

    def __setattr__(self, key: str, value: Any) -> None:
        # After __init__, refuse e.g. ``tok.pad_token = tok.eos_token`` (the ids are fixed).
        if self.__dict__.get("_motion_ready"):
            base = key.removesuffix("_id")
            if base in _SPECIAL or base in _UNSUPPORTED_SPECIAL:
                if key.endswith("_id"):
                    value = self._check_ids_list([value], f"{key} =")[0] if value is not None else None
                    value = None if value is None else str(self._id_to_char[value])
                named = {k: getattr(self, k) for k in _SPECIAL}
                unsupported = dict.fromkeys(_UNSUPPORTED_SPECIAL)
                (named if base in _SPECIAL else unsupported)[base] = value
                self._check_special_tokens(named, unsupported)
        super().__setattr__(key, value)

    # ------------------------------------------------------------ loading
    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path: str | os.PathLike, *init_inputs: Any, **kwargs: Any):
        """Load a saved tokenizer (a folder or a Hub repo), checking its two files agree.

        Like :meth:`transformers.PreTrainedTokenizerBase.from_pretrained`; keyword arguments
        override the saved config (e.g. ``joint_names=[...]``, kept by a later
        ``save_pretrained``). One that changes the vocabulary (``quantization=...``) then
        disagrees with the folder's ``tokenizer.json`` and raises.

        Raises:
            OSError: nothing found at ``pretrained_model_name_or_path`` (no such folder / repo).
            MotionTokenizerError: ``tokenizer_config.json`` or ``tokenizer.json`` is not valid
                JSON, the config is not a MotionTokenizer's (``tokenizer_class``, no
                ``quantization``, bad special tokens), or the files disagree (vocabulary size,
                token ids, special tokens, pre-tokenizer...); the message names the file and field.
        """
        name = os.fspath(pretrained_model_name_or_path)
        if (
            isinstance(name, str)
            and not os.path.exists(name)
            and (os.path.isabs(name) or name.startswith((".", "~")) or name.count("/") > 1)
        ):  # can only be a local path: say so, rather than "bad repo id"
            raise OSError(f"Can't load a MotionTokenizer from {name!r}: no such file or folder")
        local = os.path.join(name, kwargs.get("subfolder") or "", CONFIG_FILE) if isinstance(name, str) else ""
        if os.path.isfile(local):  # transformers reads it first, with bare errors
            _config_object(_read_json(local, CONFIG_FILE), local)
        try:
            return super().from_pretrained(pretrained_model_name_or_path, *init_inputs, **kwargs)
        except json.JSONDecodeError as e:  # transformers reads the config before _from_pretrained
            where = os.path.join(str(pretrained_model_name_or_path), kwargs.get("subfolder") or "", CONFIG_FILE)
            raise MotionTokenizerError(f"{CONFIG_FILE} ({where}) is not valid JSON: {e}") from None

    @classmethod
    def _from_pretrained(cls, resolved_vocab_files, pretrained_model_name_or_path, init_configuration, *init_inputs, **kwargs):
        config_file = resolved_vocab_files.get("tokenizer_config_file")
        json_file = resolved_vocab_files.get("tokenizer_file")
        name = str(pretrained_model_name_or_path)
        if config_file is None and json_file is None:
            raise OSError(
                f"Can't load a MotionTokenizer from {name!r}: no {CONFIG_FILE} or {TOKENIZER_FILE} found. It is "
                "not a folder holding them, nor a Hub repo (in offline mode: nor one in the local cache); "
                "check the path or repo id."
            )
        if config_file is None:
            raise MotionTokenizerError(
                f"{json_file}: no {CONFIG_FILE} beside it; a MotionTokenizer needs the config's 'quantization' "
                "(bins and ranges). Pass the folder saved by save_pretrained."
            )
        config = _read_json(config_file, CONFIG_FILE)
        saved = normalised = None
        if json_file is not None:
            saved = _read_json(json_file, TOKENIZER_FILE)
            try:
                normalised = json.loads(Tokenizer.from_str(json.dumps(saved)).to_str())
            except Exception as e:  # the Rust parser raises plain Exceptions
                raise MotionTokenizerError(f"{TOKENIZER_FILE} ({json_file}) is not a valid tokenizers file: {e}") from None
        _config_object(config, config_file)
        cls._check_config(config, config_file, saved, kwargs)
        try:
            tok = super()._from_pretrained(resolved_vocab_files, pretrained_model_name_or_path, init_configuration, *init_inputs, **kwargs)
        except MotionTokenizerError as e:
            raise MotionTokenizerError(f"{CONFIG_FILE} ({config_file}): {e}") from None
        if saved is not None:
            tok._check_backend_file(saved, normalised, json_file, config_file)
        return tok

    @classmethod
    def _check_config(cls, config: dict, config_file: str, saved: dict | None, kwargs: dict) -> None:
        names = {"MotionTokenizer", cls.__name__}
        todo = [MotionTokenizer]
        while todo:
            for sub in todo.pop().__subclasses__():
                names.add(sub.__name__)
                todo.append(sub)
        found = config.get("tokenizer_class")
        if found not in names:
            what = "has no tokenizer_class" if found is None else f"has tokenizer_class {found!r}"
            raise MotionTokenizerError(
                f"{CONFIG_FILE} ({config_file}) {what}; {cls.__name__}.from_pretrained loads only tokenizer_class 'MotionTokenizer' folders"
            )
        if "quantization" not in config and "quantization" not in kwargs:
            size = f" ({TOKENIZER_FILE} has {len(saved['model'].get('vocab') or {})} tokens)" if saved else ""
            raise MotionTokenizerError(
                f"{CONFIG_FILE} ({config_file}) has no 'quantization' field{size}; without it the bins and "
                "ranges are unknown. Restore it (save_pretrained writes it) or pass quantization=..."
            )

    def _check_backend_file(self, saved: dict, normalised: dict, json_file: str, config_file: str) -> None:
        """Raise unless the saved tokenizer.json equals the backend built from the config.

        The vocabulary and added tokens are compared as written; the pipeline parts after a
        round trip through ``tokenizers`` (``normalised``), so serialisation details don't count.
        """
        built = json.loads(self._tokenizer.to_str())
        q = self.quantization
        coding = ""
        if self._coding == "delta":
            coding = f", delta coding with max_step {self._max_steps['angle']}/{self._max_steps['position']}"
        source = (
            f"{CONFIG_FILE}'s quantization (digits={q['digits']}, {q['angle']['n_bins']} angle and "
            f"{q['position']['n_bins']} position levels{coding})"
        )

        def fail(field: str, detail: str) -> None:
            raise MotionTokenizerError(f"{TOKENIZER_FILE} ({json_file}) disagrees with {CONFIG_FILE} ({config_file}): {field}: {detail}")

        s_model, b_model = saved.get("model") or {}, built["model"]
        if s_model.get("type") != b_model["type"]:
            fail("model.type", f"{s_model.get('type')!r}, expected {b_model['type']!r}")
        s_vocab, b_vocab = s_model.get("vocab") or {}, b_model["vocab"]
        if len(s_vocab) != len(b_vocab):
            fail("model.vocab", f"{len(s_vocab)} tokens in {TOKENIZER_FILE}, {len(b_vocab)} from {source}")
        for tok, tid in sorted(b_vocab.items(), key=lambda kv: kv[1]):
            if s_vocab.get(tok) != tid:
                got = "missing" if tok not in s_vocab else f"id {s_vocab[tok]}"
                code = f" (U+{ord(tok):04X})" if len(tok) == 1 else ""
                fail("model.vocab", f"token {tok!r}{code} is {got} in {TOKENIZER_FILE}, id {tid} from {source}")
        if s_model.get("unk_token") != b_model.get("unk_token"):
            fail("model.unk_token", f"{s_model.get('unk_token')!r}, expected {b_model.get('unk_token')!r}")

        def added(t: dict) -> str:
            return "missing" if t is None else f"{t.get('content')!r} (special={t.get('special')})"

        s_added = {t.get("id"): t for t in saved.get("added_tokens") or [] if isinstance(t, dict)}
        b_added = {t["id"]: t for t in built["added_tokens"]}
        for tid in sorted(set(s_added) | set(b_added)):  # ints: tokenizers checked the file
            s, b = s_added.get(tid), b_added.get(tid)
            if s is None or b is None or (s.get("content"), s.get("special")) != (b["content"], b["special"]):
                fail("added_tokens", f"id {tid} is {added(s)} in {TOKENIZER_FILE}, {added(b)} expected")
        for field in _BACKEND_FIELDS:
            if normalised.get(field) != built.get(field):
                found, want = json.dumps(saved.get(field))[:200], json.dumps(built.get(field))[:200]
                fail(field, f"{found} in {TOKENIZER_FILE}, expected {want}")

    # ------------------------------------------------------------ vocabulary
    def _build_tables(self) -> None:
        chars: list[str] = list(_BASE_VOCAB)
        kind_of, digit_of, value_of = [0] * _N_BASE, [-1] * _N_BASE, [-1] * _N_BASE
        coding_of = [0] * _N_BASE
        self._alphabet_start_id: dict[tuple[str, int], int] = {}
        self._delta_start_id: dict[str, int] = {}
        for k, kind in enumerate(_KINDS):
            base = self._bases[kind]
            for d in range(self.digits):
                self._alphabet_start_id[(kind, d)] = len(chars)
                start = _ALPHABET_START[(kind, d)]
                chars += [chr(start + v) for v in range(base)]
                kind_of += [k + 1] * base
                digit_of += [d] * base
                value_of += list(range(base))
                coding_of += [_ABSOLUTE] * base
        for k, kind in enumerate(_KINDS if self._coding == "delta" else ()):
            size = 2 * self._max_steps[kind] + 1
            self._delta_start_id[kind] = len(chars)
            chars += [chr(_DELTA_START[kind] + v) for v in range(size)]
            kind_of += [k + 1] * size
            digit_of += [0] * size
            value_of += list(range(size))
            coding_of += [_DELTA] * size
        self._id_to_char = np.array(chars)
        self._char_to_id = {c: i for i, c in enumerate(chars)}
        self._kind_of_id = np.array(kind_of, dtype=np.int8)  # 0 special, 1 angle, 2 position
        self._digit_of_id = np.array(digit_of, dtype=np.int16)
        self._value_of_id = np.array(value_of, dtype=np.int64)
        self._coding_of_id = np.array(coding_of, dtype=np.int8)  # 0 special, 1 absolute, 2 delta

    def _build_backend(self) -> Tokenizer:
        backend = Tokenizer(models.WordLevel(dict(self._char_to_id), unk_token=UNK))
        # One token per character (spaces included: they separate frames).
        backend.pre_tokenizer = pre_tokenizers.Split(Regex("(?m)."), "isolated")
        backend.decoder = decoders.Fuse()
        backend.post_processor = processors.TemplateProcessing(
            single=f"{BOS} $A {EOS}", pair=f"{BOS} $A $B {EOS}", special_tokens=[(BOS, 1), (EOS, 2)]
        )
        backend.add_special_tokens([PAD, BOS, EOS, UNK])
        return backend

    # ------------------------------------------------------------- constants
    @property
    def joint_names(self) -> list[str] | None:
        """The skeleton's joint names (a copy), or None; set with ``from_pretrained(..., joint_names=...)``."""
        return None if self._joint_names is None else list(self._joint_names)

    @property
    def n_joints(self) -> int | None:
        """``len(joint_names)``, or None when the tokenizer has no fixed skeleton."""
        return None if self._joint_names is None else len(self._joint_names)

    @property
    def frame_separator_id(self) -> int:
        return _BASE_VOCAB.index(FRAME_SEPARATOR)

    @property
    def task_token_ids(self) -> dict[str, int]:
        return {t: _BASE_VOCAB.index(t) for t in TASK_TOKENS}

    @property
    def values_per_joint(self) -> int:
        return 3 * self.digits

    def angle_token_ids(self, digit: int = 0) -> np.ndarray:
        """Ids of the angle alphabet for ``digit`` (0 = coarse)."""
        return self._alphabet_ids("angle", digit)

    def position_token_ids(self, digit: int = 0) -> np.ndarray:
        """Ids of the position alphabet for ``digit`` (0 = coarse)."""
        return self._alphabet_ids("position", digit)

    def delta_token_ids(self, kind: str) -> np.ndarray:
        """Ids of the ``kind`` (``"angle"`` / ``"position"``) delta alphabet, symbol ``delta + max_step`` order.

        Raises :class:`MotionTokenizerError` for an absolute-coding tokenizer (it has none).
        """
        if kind not in _KINDS:
            raise MotionTokenizerError(f"kind must be one of {list(_KINDS)}, got {kind!r}")
        if self._coding != "delta":
            raise MotionTokenizerError(f"this tokenizer's coding is {self._coding!r}: it has no delta alphabets")
        start = self._delta_start_id[kind]
        return np.arange(start, start + 2 * self._max_steps[kind] + 1)

    def _alphabet_ids(self, kind: str, digit: int) -> np.ndarray:
        if not _is_int(digit) or not 0 <= digit < self.digits:
            raise MotionTokenizerError(f"digit must be in [0, {self.digits}), got {digit!r}")
        start = self._alphabet_start_id[(kind, digit)]
        return np.arange(start, start + self._bases[kind])

    def alphabet(self, kind: str, digit: int = 0, coding: str = "absolute") -> str:
        """The characters of one alphabet, in bin order (``coding="delta"``: in ``delta + max_step`` order)."""
        if kind not in _KINDS:
            raise MotionTokenizerError(f"kind must be one of {list(_KINDS)}, got {kind!r}")
        if coding not in CODINGS:
            raise MotionTokenizerError(f"coding must be one of {list(CODINGS)}, got {coding!r}")
        if coding == "delta":
            if digit != 0:
                raise MotionTokenizerError(f"a delta alphabet has digit 0 only, got {digit!r}")
            return "".join(self._id_to_char[self.delta_token_ids(kind)])
        return "".join(self._id_to_char[self._alphabet_ids(kind, digit)])

    @property
    def token_kinds(self) -> np.ndarray:
        """Per vocabulary id: 0 special/separator/task, 1 angle, 2 position."""
        return self._kind_of_id

    @property
    def token_digits(self) -> np.ndarray:
        """Per vocabulary id: digit position (0 coarse, 1 fine) or -1."""
        return self._digit_of_id

    @property
    def token_codings(self) -> np.ndarray:
        """Per vocabulary id: 0 special/separator/task, 1 absolute alphabet, 2 delta alphabet."""
        return self._coding_of_id

    @property
    def token_values(self) -> np.ndarray:
        """Per vocabulary id: the level (absolute alphabet), ``delta + max_step`` (delta alphabet), or -1."""
        return self._value_of_id

    @property
    def coding(self) -> str:
        """``"absolute"`` (every frame as quantizer levels) or ``"delta"`` (keyframes + changes)."""
        return self._coding

    @property
    def keyframe_interval(self) -> int | None:
        """Delta coding: a stream's frame ``t`` is a keyframe iff ``t % keyframe_interval == 0``
        (None: only frame 0). None for absolute coding."""
        return self._keyframe_interval

    @property
    def max_step(self) -> int | None:
        """Delta coding: the largest change per frame, in levels (``n_bins - 1`` unless given; None
        for absolute coding, or when angles and positions have different defaults: see :attr:`max_steps`)."""
        steps = set(self._max_steps.values())
        return steps.pop() if len(steps) == 1 else None

    @property
    def max_steps(self) -> dict[str, int]:
        """Delta coding: ``{"angle": max_step, "position": max_step}`` (empty for absolute coding)."""
        return dict(self._max_steps)

    def keyframes(self, n_frames: int, frames_per_sequence: int | None = None) -> np.ndarray:
        """``(n_frames,)`` bool: which frames of one stream are written with the absolute alphabets."""
        if self._coding == "absolute":
            return np.ones(int(n_frames), dtype=bool)
        return keyframe_mask(n_frames, self._keyframe_interval, frames_per_sequence)

    # ------------------------------------------------------------ id checks
    def _check_ids_list(self, items: list, what: str, row: int | None = None) -> list[int]:
        """A flat list of ids as Python ints in ``[0, V)``, or an error naming the first bad one."""
        V = len(self._id_to_char)
        if all(type(x) is int for x in items) and (not items or (min(items) >= 0 and max(items) < V)):
            return items
        for p, x in enumerate(items):
            where = f"position {p}" if row is None else f"row {row}, position {p}"
            if _is_int(x):
                if not 0 <= int(x) < V:
                    raise MotionTokenizerError(f"{what}: unknown token id {int(x)} at {where} (vocabulary size {V})")
            elif isinstance(x, (bool, np.bool_)):
                raise MotionTokenizerError(f"{what}: id {x!r} at {where} is a bool, not a token id")
            elif isinstance(x, (float, np.floating)):
                raise MotionTokenizerError(f"{what}: id {float(x)!r} at {where} is a float; token ids must be integers")
            else:
                text = repr(x)
                text = text if len(text) <= 40 else text[:37] + "..."
                raise MotionTokenizerError(f"{what}: expected an integer token id at {where}, got {type(x).__name__} {text}")
        return [int(x) for x in items]

    def _check_ids_array(self, arr: np.ndarray, what: str, row: int | None = None) -> np.ndarray:
        """A 1-D array of ids as ``int64`` in ``[0, V)``, or an error naming the first bad one."""
        if arr.size == 0:
            return np.empty(0, np.int64)
        if arr.dtype.kind == "O":
            return np.asarray(self._check_ids_list(list(arr), what, row), dtype=np.int64)
        where = "position" if row is None else f"row {row}, position"
        if arr.dtype.kind not in "iu":
            raise MotionTokenizerError(f"{what}: token ids must be integers, got a {arr.dtype} array ({arr[0]!s} at {where} 0)")
        V = len(self._id_to_char)
        bad = (arr >= V) if arr.dtype.kind == "u" else (arr < 0) | (arr >= V)
        if bad.any():
            p = int(np.flatnonzero(bad)[0])
            raise MotionTokenizerError(f"{what}: unknown token id {arr[p]} at {where} {p} (vocabulary size {V})")
        return arr.astype(np.int64, copy=False)

    def _as_array(self, ids: Any, what: str) -> Any:
        """Tensors and array-likes as numpy arrays; lists, tuples and other objects unchanged."""
        if hasattr(ids, "detach") and hasattr(ids, "cpu"):  # torch
            try:
                return ids.detach().cpu().numpy()
            except (TypeError, RuntimeError) as e:
                raise MotionTokenizerError(f"{what}: cannot read token ids from {type(ids).__name__}: {e}") from None
        if not isinstance(ids, (list, tuple, np.ndarray)) and hasattr(ids, "__array__"):
            return np.asarray(ids)
        return ids

    def _ids_1d(self, ids: Any, what: str) -> np.ndarray:
        """One sequence of ids (list, tuple, 1-D array or tensor) as a checked ``int64`` array."""
        if isinstance(ids, (str, bytes)):
            raise MotionTokenizerError(f"{what} takes token ids, got a {type(ids).__name__} (use text_to_motion for M5 text)")
        ids = self._as_array(ids, what)
        if isinstance(ids, np.ndarray):
            if ids.ndim != 1:
                raise MotionTokenizerError(f"{what} takes one 1-D sequence of ids, got an array of shape {ids.shape}")
            return self._check_ids_array(ids, what)
        if isinstance(ids, Mapping) or not isinstance(ids, Iterable):
            raise MotionTokenizerError(f"{what} takes one 1-D sequence of ids, got {type(ids).__name__}")
        return np.asarray(self._check_ids_list(list(ids), what), dtype=np.int64)

    def _ids_for_decode(self, token_ids: Any) -> int | list[int] | list[list[int]]:
        what = "decode"
        if isinstance(token_ids, Mapping):  # a BatchEncoding
            if "input_ids" not in token_ids:
                raise MotionTokenizerError(f"{what}: got a mapping without 'input_ids' (keys {list(token_ids)[:5]})")
            token_ids = token_ids["input_ids"]
        if isinstance(token_ids, (str, bytes)):
            raise MotionTokenizerError(f"{what} takes token ids, got a {type(token_ids).__name__}")
        if not isinstance(token_ids, Iterable) and not hasattr(token_ids, "__array__"):
            return self._check_ids_list([token_ids], what)[0]  # a single id
        token_ids = self._as_array(token_ids, what)
        if isinstance(token_ids, np.ndarray):
            if token_ids.ndim == 0:
                return self._check_ids_array(token_ids.reshape(1), what)[0].item()
            if token_ids.ndim == 1:
                return self._check_ids_array(token_ids, what).tolist()
            if token_ids.ndim == 2:
                return [self._check_ids_array(r, what, row=i).tolist() for i, r in enumerate(token_ids)]
            raise MotionTokenizerError(f"{what} takes ids or a batch of rows, got an array of shape {token_ids.shape}")
        items = list(token_ids)
        if not items or not _is_row(items[0]):
            return self._check_ids_list(items, what)
        rows = []
        for i, r in enumerate(items):  # a batch: every row a sequence of ids
            r = self._as_array(r, what)
            if isinstance(r, np.ndarray) and r.ndim == 1:
                rows.append(self._check_ids_array(r, what, row=i).tolist())
            elif isinstance(r, (list, tuple)):
                rows.append(self._check_ids_list(list(r), what, row=i))
            else:
                shape = f"an array of shape {r.shape}" if isinstance(r, np.ndarray) else type(r).__name__
                raise MotionTokenizerError(f"{what}: row 0 is a sequence (a batch), but row {i} is {shape}")
        return rows

    def decode(self, token_ids: Any, skip_special_tokens: bool = False, **kwargs: Any) -> str | list[str]:
        """Text for ids (or a list of strings for a batch of rows), after checking every id.

        Raises:
            MotionTokenizerError: an id that is not an integer in ``[0, len(self))`` (floats, also
                integral ones, bools, None, strings, deeper nesting), naming it and its position.
        """
        if isinstance(token_ids, np.ndarray) and token_ids.ndim == 2 and len(token_ids) == 0:
            return []  # an empty batch (transformers would read it as one empty sequence)
        return super().decode(self._ids_for_decode(token_ids), skip_special_tokens=skip_special_tokens, **kwargs)

    def convert_ids_to_tokens(self, ids: Any, skip_special_tokens: bool = False) -> str | list[str]:
        """Tokens for ids; unknown or non-integer ids raise :class:`MotionTokenizerError`."""
        if _is_int(ids) or isinstance(ids, (bool, np.bool_, float, np.floating)) or ids is None:
            return super().convert_ids_to_tokens(self._check_ids_list([ids], "convert_ids_to_tokens")[0])
        return super().convert_ids_to_tokens(self._ids_1d(ids, "convert_ids_to_tokens").tolist(), skip_special_tokens)

    # ------------------------------------------------------------ array path
    def _value_ids(self, x: Any, kind: str, name: str, frames_per_sequence: int | None = None) -> np.ndarray:
        """``(T, J, 3)`` values -> ``(T, J*3*digits)`` token ids."""
        try:
            x = np.asarray(x)
        except (ValueError, TypeError) as e:  # ragged nested lists
            raise MotionTokenizerError(f"{name} is not a numeric array: {e}") from None
        if x.dtype.kind == "c":
            raise MotionTokenizerError(f"{name} is complex ({x.dtype}); expected real values")
        if x.dtype.kind not in "iuf":
            raise MotionTokenizerError(f"{name} must be a real numeric array, got dtype {x.dtype}")
        if x.ndim != 3 or x.shape[2] != 3 or x.shape[0] == 0 or x.shape[1] == 0:
            raise MotionTokenizerError(f"{name} must have shape (T, J, 3) with T, J > 0, got {x.shape}")
        if self._joint_names is not None and x.shape[1] != len(self._joint_names):
            raise MotionTokenizerError(
                f"{name}: expected {len(self._joint_names)} joints {_preview(self._joint_names)}, got {x.shape[1]} (shape {x.shape})"
            )
        if x.dtype.kind == "f" and not np.isfinite(x).all():
            t, j, c = (int(i) for i in np.argwhere(~np.isfinite(x))[0])
            joint = f" ({self._joint_names[j]})" if self._joint_names is not None else ""
            raise MotionTokenizerError(
                f"{name} has a non-finite value {x[t, j, c]} at frame {t}, joint {j}{joint}, component {'xyz'[c]} (index ({t}, {j}, {c}))"
            )
        if frames_per_sequence is not None and x.shape[0] % frames_per_sequence:
            raise MotionTokenizerError(
                f"{name} has {x.shape[0]} frames, not a whole number of sequences of frames_per_sequence={frames_per_sequence} frames"
            )
        if kind == "angle" and self._angle_reference is not None:
            from ..rotations import relative_rotation

            x = relative_rotation(self._angle_reference, x)
        q = self.angle_quantizer if kind == "angle" else self.position_quantizer
        bins = q.encode(x, name=name)
        base = self._bases[kind]
        if self._coding == "delta":
            levels = bins.reshape(x.shape[0], -1)
            symbols, _ = delta_encode(levels, self._max_steps[kind], self._keyframe_interval, sequence_length=frames_per_sequence)
            keys = keyframe_mask(len(levels), self._keyframe_interval, frames_per_sequence)
            offsets = np.where(keys, self._alphabet_start_id[(kind, 0)], self._delta_start_id[kind])
            return symbols + offsets[:, None]
        if self.digits == 2:
            bins = np.stack([bins // base, bins % base], axis=-1)
            offsets = np.array([self._alphabet_start_id[(kind, 0)], self._alphabet_start_id[(kind, 1)]], np.int32)
        else:
            offsets = np.int32(self._alphabet_start_id[(kind, 0)])
        return (bins + offsets).reshape(x.shape[0], -1)

    @staticmethod
    def _check_frames_per_sequence(value: Any) -> int | None:
        if value is not None and (not _is_int(value) or value < 1):
            raise MotionTokenizerError(f"frames_per_sequence must be None or an integer >= 1, got {value!r}")
        return None if value is None else int(value)

    def encode_motion(
        self,
        angles: np.ndarray | None = None,
        positions: np.ndarray | None = None,
        task: str = ">",
        add_special_tokens: bool = True,
        frames_per_sequence: int | None = None,
    ) -> np.ndarray:
        """Token ids (1-D ``int64``) for a motion, without any per-character Python work.

        Args:
            angles: ``(T, J, 3)`` axis-angle radians, or None.
            positions: ``(T, J, 3)`` metres (canonicalised into the quantizer box), or None.
            task: ``">"`` causal, ``"$"`` forward kinematics, ``"&"`` inverse kinematics.
            add_special_tokens: wrap in ``<bos> ... <eos>`` like ``tokenizer(text)`` does.
            frames_per_sequence: the arrays hold several independent sequences of this many frames
                back to back (e.g. the windows of a dataset, encoded in one call): with delta coding
                each restarts with a keyframe, so ids cut at sequence boundaries decode on their
                own. The layout is unchanged; decode the whole with the same value.

        With both ``angles`` and ``positions`` the frames interleave, as M5's FK/IK tasks do: FK
        (``$``) writes angle 0, position 0, angle 1, ...; IK (``&``) writes position 0, angle 0,
        position 1, ... (the angles after the positions they are inferred from). They must then
        have the same shape.

        Raises:
            MotionTokenizerError: a bad shape, a joint count other than ``len(joint_names)``
                (when the tokenizer has joint names), non-numeric or complex values, or a NaN/inf
                (naming the array, frame and joint).
        """
        if not isinstance(task, str) or task not in TASK_TOKENS:
            raise MotionTokenizerError(f"unknown task token {task!r}; expected one of {list(TASK_TOKENS)}")
        if angles is None and positions is None:
            raise MotionTokenizerError("encode_motion needs angles, positions or both")
        fps = self._check_frames_per_sequence(frames_per_sequence)
        parts = []
        if angles is not None:
            parts.append(self._value_ids(angles, "angle", "angles", fps))
        if positions is not None:
            parts.append(self._value_ids(positions, "position", "positions", fps))
        if len(parts) == 2:
            if np.shape(angles) != np.shape(positions):
                raise MotionTokenizerError(
                    f"interleaving needs angles and positions of the same shape, got {np.shape(angles)} and {np.shape(positions)}"
                )
            if task == "&":  # IK: the position frame first, then the angle frame inferred from it
                parts.reverse()
            frames = np.stack(parts, axis=1).reshape(-1, parts[0].shape[1])
        else:
            frames = parts[0]
        n, w = frames.shape
        body = np.empty((n, w + 1), dtype=np.int64)
        body[:, 0] = self.frame_separator_id
        body[:, 1:] = frames
        head = [BOS_ID, self.task_token_ids[task]] if add_special_tokens else [self.task_token_ids[task]]
        tail = [EOS_ID] if add_special_tokens else []
        return np.concatenate([np.asarray(head, np.int64), body.ravel(), np.asarray(tail, np.int64)])

    def _slot_name(self, c: int) -> str:
        """``token c`` of a frame as ``joint j (name), component x``."""
        j = c // self.values_per_joint
        name = f" ({self._joint_names[j]})" if self._joint_names is not None and j < len(self._joint_names) else ""
        return f"joint {j}{name}, component {'xyz'[(c % self.values_per_joint) // self.digits]}"

    def decode_motion(self, ids: Sequence[int] | np.ndarray, strict: bool = True, frames_per_sequence: int | None = None) -> MotionTokens:
        """Arrays back from ids (vectorised).

        ``ids`` is one sequence: a list/tuple of ints, a 1-D integer array or tensor. Leading
        ``<pad>``/``<bos>`` and trailing ``<eos>``/``<pad>`` are stripped; then an optional task
        token, then frames each starting with the separator. The number of joints is read from
        the frame length, which must be ``len(joint_names) * values_per_joint`` when the tokenizer
        has joint names. With ``strict=False`` an incomplete last frame (e.g. generation that
        stopped early) is dropped instead of raising.

        Delta coding: the angle and position streams are decoded separately (closed loop), and the
        values returned are the reconstructed ones; a continuation must be decoded with the
        prompt in front of it (its frames are changes from the prompt's). Each stream's keyframes
        must be written with the absolute alphabet and its other frames with the delta alphabet of
        its kind. A change that takes a level outside ``[0, n_bins)`` (which no encoding makes)
        raises with ``strict=True`` and stops at the edge level with ``strict=False``.
        ``frames_per_sequence``: as given to :meth:`encode_motion`.

        Raises:
            MotionTokenizerError: naming the position of an id that is not an integer in
                ``[0, len(self))`` (floats, even integral ones, are refused), and the token position
                and frame of a special token inside the motion, frames of unequal length or of
                the wrong length for ``joint_names``, a frame mixing alphabets, or (delta coding)
                a keyframe written with delta characters, another frame with absolute ones, or a
                change leaving the level range (naming the frame, joint and component).
        """
        if not isinstance(strict, (bool, np.bool_)):
            raise MotionTokenizerError(f"strict must be True or False, got {strict!r}")
        fps = self._check_frames_per_sequence(frames_per_sequence)
        ids = self._ids_1d(ids, "decode_motion")
        start, stop = 0, len(ids)
        while start < stop and ids[start] in (PAD_ID, BOS_ID):
            start += 1
        while stop > start and ids[stop - 1] in (PAD_ID, EOS_ID):
            stop -= 1
        task = None
        task_ids = {v: k for k, v in self.task_token_ids.items()}
        if start < stop and int(ids[start]) in task_ids:
            task = task_ids[int(ids[start])]
            start += 1
        body = ids[start:stop]
        if body.size == 0:
            return MotionTokens(task, None, None)
        sep = self.frame_separator_id
        if body[0] != sep:
            raise MotionTokenizerError(
                f"expected the frame separator at position {start}, got id {body[0]} ({str(self._id_to_char[body[0]])!r})"
            )
        seps = np.flatnonzero(body == sep)
        lengths = np.diff(np.append(seps, body.size)) - 1
        W = int(lengths[0])
        if self._joint_names is not None and W != len(self._joint_names) * self.values_per_joint:
            n = len(self._joint_names)
            raise MotionTokenizerError(
                f"frame 0 (token position {start}) has {W} tokens; this tokenizer's {n} joints "
                f"{_preview(self._joint_names)} need {n} x 3 x {self.digits} = {n * self.values_per_joint} per frame "
                "(ids from another tokenizer or skeleton?)"
            )
        if not strict and lengths.size > 1 and lengths[-1] != W:
            body, seps, lengths = body[: seps[-1]], seps[:-1], lengths[:-1]
        if W == 0 or W % self.values_per_joint:
            raise MotionTokenizerError(
                f"frame 0 has {W} tokens; a frame needs a positive multiple of {self.values_per_joint} (joints x 3 x digits)"
            )
        uneven = np.flatnonzero(lengths != W)
        if uneven.size:
            f = int(uneven[0])
            raise MotionTokenizerError(f"frame {f} (token position {start + seps[f]}) has {lengths[f]} tokens, frame 0 has {W}")
        frames = np.delete(body, seps).reshape(-1, W)
        kinds = self._kind_of_id[frames]
        frame_kind = kinds[:, 0]
        wrong = (kinds != frame_kind[:, None]) | (kinds == 0)
        wrong |= self._digit_of_id[frames] != np.tile(np.arange(self.digits), W // self.digits)
        if wrong.any():
            f, c = (int(i) for i in np.argwhere(wrong)[0])
            tid = int(frames[f, c])
            raise MotionTokenizerError(
                f"frame {f}, token {c} (position {start + seps[f] + 1 + c}): id {tid} "
                f"({str(self._id_to_char[tid])!r}) does not belong in this slot of a "
                f"{_KINDS[frame_kind[f] - 1] if frame_kind[f] else 'motion'} frame"
            )
        J = W // self.values_per_joint
        delta = self._coding == "delta"
        if delta:
            self._check_frame_codings(frames, frame_kind, seps, start, fps)
        out = {}
        for k, kind in enumerate(_KINDS):
            rows = np.flatnonzero(frame_kind == k + 1)
            if not len(rows):
                out[kind] = None
                continue
            sel = frames[rows]
            q = self.angle_quantizer if kind == "angle" else self.position_quantizer
            if delta:
                bins = self._delta_levels(self._value_of_id[sel], kind, rows, seps, start, strict, fps)
                out[kind] = q.decode(bins.reshape(len(sel), J, 3))
                continue
            vals = self._value_of_id[sel].reshape(len(sel), J, 3, self.digits)
            base = self._bases[kind]
            bins = vals[..., 0] if self.digits == 1 else vals[..., 0] * base + vals[..., 1]
            out[kind] = q.decode(bins)
        if out["angle"] is not None and self._angle_reference is not None:
            from ..rotations import compose_rotation

            out["angle"] = compose_rotation(self._angle_reference, out["angle"])
        return MotionTokens(task, out["angle"], out["position"])

    def _check_frame_codings(self, frames: np.ndarray, frame_kind: np.ndarray, seps: np.ndarray, start: int, fps: int | None) -> None:
        """Delta coding: keyframes in absolute characters, other frames in delta ones (per stream)."""
        expected = np.empty(len(frames), dtype=np.int8)
        stream_index = np.empty(len(frames), dtype=np.int64)
        for k in (1, 2):
            rows = np.flatnonzero(frame_kind == k)
            stream_index[rows] = np.arange(len(rows))
            expected[rows] = np.where(keyframe_mask(len(rows), self._keyframe_interval, fps), _ABSOLUTE, _DELTA)
        wrong = self._coding_of_id[frames] != expected[:, None]
        if not wrong.any():
            return
        f, c = (int(i) for i in np.argwhere(wrong)[0])
        kind = _KINDS[frame_kind[f] - 1]
        tid = int(frames[f, c])
        key = expected[f] == _ABSOLUTE
        K = self._keyframe_interval
        schedule = ("frame 0" if K is None else f"frames 0, {K}, {2 * K}, ...") + (
            f" of each {fps}-frame sequence" if fps is not None else ""
        )
        raise MotionTokenizerError(
            f"frame {f} ({kind} frame {stream_index[f]}), token {c} ({self._slot_name(c)}, position "
            f"{start + seps[f] + 1 + c}): id {tid} ({str(self._id_to_char[tid])!r}) is "
            f"{'a delta' if key else 'an absolute'} character, but this {kind} frame is "
            f"{'a keyframe' if key else 'not a keyframe'} and takes the "
            f"{'absolute' if key else 'delta'} {kind} alphabet (keyframes: {schedule} of the {kind} stream)"
        )

    def _delta_levels(
        self,
        symbols: np.ndarray,
        kind: str,
        rows: np.ndarray,
        seps: np.ndarray,
        start: int,
        strict: bool,
        fps: int | None,
    ) -> np.ndarray:
        """One stream's closed-loop levels from its frames' symbols (checked or saturated at the range)."""
        n = self._bases[kind]
        step = self._max_steps[kind]
        if not strict:
            return delta_decode(symbols, step, self._keyframe_interval, sequence_length=fps, n_levels=n)
        levels = delta_decode(symbols, step, self._keyframe_interval, sequence_length=fps)
        bad = first_out_of_range(levels, n)
        if bad is not None:
            t, c = bad
            f = int(rows[t])
            raise MotionTokenizerError(
                f"frame {f} ({kind} frame {t}), token {c} ({self._slot_name(c)}, position {start + seps[f] + 1 + c}): "
                f"the changes take the level to {levels[t, c]}, outside [0, {n}) (no encoding does this; "
                "strict=False stops at the edge level)"
            )
        return levels

    # ------------------------------------------------------------- text path
    def motion_to_text(
        self,
        angles: np.ndarray | None = None,
        positions: np.ndarray | None = None,
        task: str = ">",
        frames_per_sequence: int | None = None,
    ) -> str:
        """The M5 string for a motion (``tokenizer(text)["input_ids"]`` equals :meth:`encode_motion`)."""
        ids = self.encode_motion(angles, positions, task, add_special_tokens=False, frames_per_sequence=frames_per_sequence)
        return "".join(self._id_to_char[ids].tolist())

    def text_to_motion(self, text: str, strict: bool = True, frames_per_sequence: int | None = None) -> MotionTokens:
        """Decode an M5 string; unknown characters raise, naming their position."""
        if not isinstance(text, str):
            raise MotionTokenizerError(f"text_to_motion takes a str, got {type(text).__name__}")
        table = self._char_to_id
        ids = []
        for pos, ch in enumerate(text):
            if ch not in table:
                raise MotionTokenizerError(f"unknown character {ch!r} (U+{ord(ch):04X}) at position {pos}")
            ids.append(table[ch])
        return self.decode_motion(ids, strict=strict, frames_per_sequence=frames_per_sequence)

    # -------------------------------------------------------------- presets
    @classmethod
    def m5(cls, n_bins: int = 256, **kwargs: Any) -> MotionTokenizer:
        """Plain M5: one character per value, ``n_bins`` bins for angles and positions."""
        return cls(digits=1, angle_bins=n_bins, position_bins=n_bins, **kwargs)

    @classmethod
    def m5_delta(cls, n_bins: int = 256, keyframe_interval: int | None = None, **kwargs: Any) -> MotionTokenizer:
        """M5 levels under delta coding: keyframes as M5 characters, other frames as changes.

        ``max_step`` (a keyword, default ``n_bins - 1``: never saturates) bounds the change per frame.
        """
        return cls(digits=1, angle_bins=n_bins, position_bins=n_bins, coding="delta",
                   keyframe_interval=keyframe_interval, **kwargs)  # fmt: skip

    @classmethod
    def coarse_fine(cls, base: int = 64, **kwargs: Any) -> MotionTokenizer:
        """Our finer code: two characters per value, ``base**2`` levels (4096 for base 64)."""
        return cls(digits=2, angle_bins=base**2, position_bins=base**2, **kwargs)
