"""M5 motion tokenizer: quantized joint angles and positions as one character per value.

Text format (M5): a task token, then frames separated by single spaces::

    > 丂丄丅丆... 丂丄丅...          (causal: '>' + frames)
    $ <angle frame> <position frame> <angle frame> ...   (FK, interleaved)

Each frame is one "word": ``J * 3 * digits`` characters, joint-major, then x/y/z, then digits
(coarse to fine). ``digits=1`` is plain M5. ``digits=2`` is our finer code: every value is a
``(coarse, fine)`` pair over ``base**2`` levels, so 64 characters per digit give 4096 levels (16x
finer than M5 at 256 bins) with a smaller vocabulary.

Angles and positions use disjoint alphabets (and each digit its own), all CJK unified ideographs:
printable, NFKC-stable, never whitespace. The vocabulary is fully determined by the config, so the
backend ``tokenizers.Tokenizer`` is rebuilt from it on every load; the saved ``tokenizer.json``
lets the folder load as a plain ``TokenizersBackend`` (text-level ids) without hf_motion.

Ids: 0 ``<pad>``, 1 ``<bos>``, 2 ``<eos>``, 3 ``<unk>``, 4 ``" "`` (frame separator), 5 ``$``,
6 ``&``, 7 ``>``, then the alphabets.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, processors
from transformers import TokenizersBackend

from .quantizer import UniformQuantizer

__all__ = ["MotionTokenizer", "MotionTokens", "MotionTokenizerError", "TASK_TOKENS"]

PAD, BOS, EOS, UNK = "<pad>", "<bos>", "<eos>", "<unk>"
FRAME_SEPARATOR = " "
TASK_TOKENS = {"$": "forward kinematics", "&": "inverse kinematics", ">": "causal prediction"}
_BASE_VOCAB = [PAD, BOS, EOS, UNK, FRAME_SEPARATOR, *TASK_TOKENS]
_N_BASE = len(_BASE_VOCAB)
PAD_ID, BOS_ID, EOS_ID, UNK_ID = 0, 1, 2, 3
# First code point of each alphabet; each holds up to 4096 characters (CJK U+4E00..U+8DFF).
_ALPHABET_SPAN = 4096
_ALPHABET_START = {("angle", 0): 0x4E00, ("angle", 1): 0x5E00, ("position", 0): 0x6E00, ("position", 1): 0x7E00}
_KINDS = ("angle", "position")


class MotionTokenizerError(ValueError):
    """Ids or text that do not decode to a motion (the message says where)."""


@dataclass
class MotionTokens:
    """A decoded token sequence: the task token and the angle / position frames it held."""

    task: str | None
    angles: np.ndarray | None  # (Ta, J, 3) radians
    positions: np.ndarray | None  # (Tp, J, 3) metres


def _as_quantizer(q: UniformQuantizer | dict | None, kind: str, n_bins: int) -> UniformQuantizer:
    if q is None:
        return UniformQuantizer.default_angles(n_bins) if kind == "angle" else UniformQuantizer.default_positions(n_bins)
    if isinstance(q, dict):
        return UniformQuantizer.from_dict(q)
    if isinstance(q, UniformQuantizer):
        return q
    raise TypeError(f"{kind}_quantizer must be a UniformQuantizer or a dict, got {type(q).__name__}")


def _digit_base(n_bins: int, digits: int, kind: str) -> int:
    base = int(round(n_bins ** (1.0 / digits)))
    if base**digits != n_bins:
        raise ValueError(f"{kind} n_bins={n_bins} is not a perfect power of digits={digits} (e.g. 64**2=4096)")
    if base > _ALPHABET_SPAN:
        raise ValueError(
            f"{kind} alphabet would need {base} characters per digit; at most {_ALPHABET_SPAN} (use digits=2)"
        )
    return base


class MotionTokenizer(TokenizersBackend):
    """A ``transformers`` tokenizer for M5 motion text, with a vectorised array path.

    Args:
        digits: characters per value: 1 = M5, 2 = coarse/fine code.
        angle_quantizer / position_quantizer: :class:`UniformQuantizer` (or its dict); defaults are
            M5's boxes with ``angle_bins`` / ``position_bins`` bins.
        angle_bins / position_bins: total levels per value when the quantizer is not given
            (must be ``base ** digits``).
        joint_names: optional names of the joints the tokenizer was built for (documentation; the
            number of joints is read from the frame length when decoding).
        quantization: the saved form of all of the above (``{"digits", "angle", "position"}``), as
            written to ``tokenizer_config.json``; when given it takes precedence.

    The array path (:meth:`encode_motion` / :meth:`decode_motion`) and the text path
    (``tokenizer(motion_to_text(...))``) give identical ids.
    """

    vocab_files_names = {"tokenizer_file": "tokenizer.json"}
    model_input_names = ["input_ids", "attention_mask"]

    def __init__(
        self,
        digits: int = 1,
        angle_quantizer: UniformQuantizer | dict | None = None,
        position_quantizer: UniformQuantizer | dict | None = None,
        angle_bins: int = 256,
        position_bins: int = 256,
        joint_names: Sequence[str] | None = None,
        quantization: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        if quantization is not None:
            digits = quantization["digits"]
            angle_quantizer, position_quantizer = quantization["angle"], quantization["position"]
        if digits not in (1, 2):
            raise ValueError(f"digits must be 1 (M5) or 2 (coarse/fine), got {digits}")
        aq = _as_quantizer(angle_quantizer, "angle", angle_bins)
        pq = _as_quantizer(position_quantizer, "position", position_bins)
        self.angle_quantizer, self.position_quantizer, self.digits = aq, pq, int(digits)
        self.quantization = {"digits": self.digits, "angle": aq.to_dict(), "position": pq.to_dict()}
        self.joint_names = list(joint_names) if joint_names is not None else None
        self._bases = {"angle": _digit_base(aq.n_bins, digits, "angle"), "position": _digit_base(pq.n_bins, digits, "position")}
        self._build_tables()

        # The backend is derived from the config alone, whatever tokenizer.json said.
        for key in ("tokenizer_object", "tokenizer_file", "vocab", "merges", "post_processor"):
            kwargs.pop(key, None)
        for key, value in (("pad_token", PAD), ("bos_token", BOS), ("eos_token", EOS), ("unk_token", UNK)):
            kwargs.setdefault(key, value)
        super().__init__(
            tokenizer_object=self._build_backend(),
            quantization=self.quantization,
            joint_names=self.joint_names,
            **kwargs,
        )

    # ------------------------------------------------------------ vocabulary
    def _build_tables(self) -> None:
        chars: list[str] = list(_BASE_VOCAB)
        kind_of, digit_of, value_of = [0] * _N_BASE, [-1] * _N_BASE, [-1] * _N_BASE
        self._alphabet_start_id: dict[tuple[str, int], int] = {}
        for k, kind in enumerate(_KINDS):
            base = self._bases[kind]
            for d in range(self.digits):
                self._alphabet_start_id[(kind, d)] = len(chars)
                start = _ALPHABET_START[(kind, d)]
                chars += [chr(start + v) for v in range(base)]
                kind_of += [k + 1] * base
                digit_of += [d] * base
                value_of += list(range(base))
        self._id_to_char = np.array(chars)
        self._kind_of_id = np.array(kind_of, dtype=np.int8)  # 0 special, 1 angle, 2 position
        self._digit_of_id = np.array(digit_of, dtype=np.int16)
        self._value_of_id = np.array(value_of, dtype=np.int64)

    def _build_backend(self) -> Tokenizer:
        vocab = {c: i for i, c in enumerate(self._id_to_char.tolist())}
        backend = Tokenizer(models.WordLevel(vocab, unk_token=UNK))
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

    def _alphabet_ids(self, kind: str, digit: int) -> np.ndarray:
        if not 0 <= digit < self.digits:
            raise ValueError(f"digit must be in [0, {self.digits}), got {digit}")
        start = self._alphabet_start_id[(kind, digit)]
        return np.arange(start, start + self._bases[kind])

    def alphabet(self, kind: str, digit: int = 0) -> str:
        """The characters of one alphabet, in bin order."""
        return "".join(self._id_to_char[self._alphabet_ids(kind, digit)])

    @property
    def token_kinds(self) -> np.ndarray:
        """Per vocabulary id: 0 special/separator/task, 1 angle, 2 position."""
        return self._kind_of_id

    @property
    def token_digits(self) -> np.ndarray:
        """Per vocabulary id: digit position (0 coarse, 1 fine) or -1."""
        return self._digit_of_id

    # ------------------------------------------------------------ array path
    def _value_ids(self, x: np.ndarray, kind: str, name: str) -> np.ndarray:
        """``(T, J, 3)`` values -> ``(T, J*3*digits)`` token ids."""
        x = np.asarray(x)
        if x.ndim != 3 or x.shape[2] != 3 or x.shape[0] == 0 or x.shape[1] == 0:
            raise MotionTokenizerError(f"{name} must have shape (T, J, 3) with T, J > 0, got {x.shape}")
        q = self.angle_quantizer if kind == "angle" else self.position_quantizer
        bins = q.encode(x, name=name)
        base = self._bases[kind]
        if self.digits == 2:
            bins = np.stack([bins // base, bins % base], axis=-1)
            offsets = np.array([self._alphabet_start_id[(kind, 0)], self._alphabet_start_id[(kind, 1)]], np.int32)
        else:
            offsets = np.int32(self._alphabet_start_id[(kind, 0)])
        return (bins + offsets).reshape(x.shape[0], -1)

    def encode_motion(
        self,
        angles: np.ndarray | None = None,
        positions: np.ndarray | None = None,
        task: str = ">",
        add_special_tokens: bool = True,
    ) -> np.ndarray:
        """Token ids (1-D ``int64``) for a motion, without any per-character Python work.

        Args:
            angles: ``(T, J, 3)`` axis-angle radians, or None.
            positions: ``(T, J, 3)`` metres (canonicalised into the quantizer box), or None.
            task: ``">"`` causal, ``"$"`` forward kinematics, ``"&"`` inverse kinematics.
            add_special_tokens: wrap in ``<bos> ... <eos>`` like ``tokenizer(text)`` does.

        With both ``angles`` and ``positions`` the frames interleave (angle 0, position 0, angle 1,
        ...), as M5's FK/IK tasks do; they must then have the same shape.
        """
        if task not in TASK_TOKENS:
            raise MotionTokenizerError(f"unknown task token {task!r}; expected one of {list(TASK_TOKENS)}")
        if angles is None and positions is None:
            raise MotionTokenizerError("encode_motion needs angles, positions or both")
        parts = []
        if angles is not None:
            parts.append(self._value_ids(angles, "angle", "angles"))
        if positions is not None:
            parts.append(self._value_ids(positions, "position", "positions"))
        if len(parts) == 2:
            if np.shape(angles) != np.shape(positions):
                raise MotionTokenizerError(
                    f"interleaving needs angles and positions of the same shape, got {np.shape(angles)} "
                    f"and {np.shape(positions)}"
                )
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

    def decode_motion(self, ids: Sequence[int] | np.ndarray, strict: bool = True) -> MotionTokens:
        """Arrays back from ids (vectorised).

        Leading ``<pad>``/``<bos>`` and trailing ``<eos>``/``<pad>`` are stripped; then an optional
        task token, then frames each starting with the separator. The number of joints is read
        from the frame length. With ``strict=False`` an incomplete last frame (e.g. generation
        that stopped early) is dropped instead of raising.

        Raises:
            MotionTokenizerError: naming the token position and frame of an unknown id, a special
                token inside the motion, frames of unequal length, or a frame mixing alphabets.
        """
        ids = np.asarray(ids)
        if ids.ndim != 1:
            raise MotionTokenizerError(f"decode_motion takes one 1-D sequence of ids, got shape {ids.shape}")
        ids = ids.astype(np.int64, copy=False)
        V = len(self._id_to_char)
        bad = np.flatnonzero((ids < 0) | (ids >= V))
        if bad.size:
            raise MotionTokenizerError(f"unknown token id {ids[bad[0]]} at position {bad[0]} (vocabulary size {V})")
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
                f"expected the frame separator at position {start}, got id {body[0]} ({self._id_to_char[body[0]]!r})"
            )
        seps = np.flatnonzero(body == sep)
        lengths = np.diff(np.append(seps, body.size)) - 1
        W = int(lengths[0])
        if not strict and lengths.size > 1 and lengths[-1] != W:
            body, seps, lengths = body[: seps[-1]], seps[:-1], lengths[:-1]
        if W == 0 or W % self.values_per_joint:
            raise MotionTokenizerError(
                f"frame 0 has {W} tokens; a frame needs a positive multiple of {self.values_per_joint} "
                f"(joints x 3 x digits)"
            )
        uneven = np.flatnonzero(lengths != W)
        if uneven.size:
            f = int(uneven[0])
            raise MotionTokenizerError(
                f"frame {f} (token position {start + seps[f]}) has {lengths[f]} tokens, frame 0 has {W}"
            )
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
                f"({self._id_to_char[tid]!r}) does not belong in this slot of a "
                f"{_KINDS[frame_kind[f] - 1] if frame_kind[f] else 'motion'} frame"
            )
        J = W // self.values_per_joint
        out = {}
        for k, kind in enumerate(_KINDS):
            sel = frames[frame_kind == k + 1]
            if not len(sel):
                out[kind] = None
                continue
            vals = self._value_of_id[sel].reshape(len(sel), J, 3, self.digits)
            base = self._bases[kind]
            bins = vals[..., 0] if self.digits == 1 else vals[..., 0] * base + vals[..., 1]
            q = self.angle_quantizer if kind == "angle" else self.position_quantizer
            out[kind] = q.decode(bins)
        return MotionTokens(task, out["angle"], out["position"])

    # ------------------------------------------------------------- text path
    def motion_to_text(
        self, angles: np.ndarray | None = None, positions: np.ndarray | None = None, task: str = ">"
    ) -> str:
        """The M5 string for a motion (``tokenizer(text)["input_ids"]`` equals :meth:`encode_motion`)."""
        ids = self.encode_motion(angles, positions, task, add_special_tokens=False)
        return "".join(self._id_to_char[ids].tolist())

    def text_to_motion(self, text: str, strict: bool = True) -> MotionTokens:
        """Decode an M5 string; unknown characters raise, naming their position."""
        table = {c: i for i, c in enumerate(self._id_to_char.tolist())}
        ids = []
        for pos, ch in enumerate(text):
            if ch not in table or ch in (PAD, BOS, EOS, UNK):
                raise MotionTokenizerError(f"unknown character {ch!r} (U+{ord(ch):04X}) at position {pos}")
            ids.append(table[ch])
        return self.decode_motion(ids, strict=strict)

    # -------------------------------------------------------------- presets
    @classmethod
    def m5(cls, n_bins: int = 256, **kwargs: Any) -> "MotionTokenizer":
        """Plain M5: one character per value, ``n_bins`` bins for angles and positions."""
        return cls(digits=1, angle_bins=n_bins, position_bins=n_bins, **kwargs)

    @classmethod
    def coarse_fine(cls, base: int = 64, **kwargs: Any) -> "MotionTokenizer":
        """Our finer code: two characters per value, ``base**2`` levels (4096 for base 64)."""
        return cls(digits=2, angle_bins=base**2, position_bins=base**2, **kwargs)

