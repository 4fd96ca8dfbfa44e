"""Text + motion in one vocabulary (MotionGPT style): merge the motion tokens into a T5 or GPT-2 tokenizer.

:func:`add_motion_tokens` adds every character of the motion alphabets to an existing text
tokenizer as ``AddedToken(..., normalized=False)``, plus explicit tokens:

* ``<motion>`` / ``</motion>`` around a motion span;
* ``<frame>`` in place of M5's space separator (text tokenizers drop or merge spaces around added
  tokens when decoding, so a space cannot mark frames);
* one token per task: ``<task:fk>`` (``$``), ``<task:ik>`` (``&``), ``<task:causal>`` (``>``)
  (the bare characters ``$``, ``&``, ``>`` stay ordinary text).

A motion then appears in text as ``"a person walks <motion><task:causal><frame>丂丄...<frame>...</motion>"``.
:func:`motion_to_text` / :func:`motion_to_text_tokens` build such spans, :func:`text_tokens_to_motion`
finds and decodes them, and :func:`resize_model_embeddings` grows the model's embeddings to the
merged vocabulary.

The motion characters are CJK ideographs, so this merge is meant for text tokenizers of languages
that do not use them (T5 and GPT-2 are English); inside a Chinese or Japanese corpus they would be
read as motion.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from transformers import AddedToken

from .tokenizer import MotionTokenizer, MotionTokenizerError, MotionTokens

__all__ = [
    "MOTION_START",
    "MOTION_END",
    "FRAME_TOKEN",
    "TASK_TEXT_TOKENS",
    "MotionTextVocab",
    "add_motion_tokens",
    "resize_model_embeddings",
    "motion_to_text",
    "motion_to_text_tokens",
    "text_tokens_to_motion",
]

MOTION_START = "<motion>"
MOTION_END = "</motion>"
FRAME_TOKEN = "<frame>"
TASK_TEXT_TOKENS = {"$": "<task:fk>", "&": "<task:ik>", ">": "<task:causal>"}


@dataclass
class MotionTextVocab:
    """How motion ids map into a merged text tokenizer (returned by :func:`add_motion_tokens`).

    Attributes:
        text_tokenizer: the merged text tokenizer.
        motion_tokenizer: the :class:`~hf_motion.tokenizer.MotionTokenizer` whose characters were added.
        motion_to_text_id: ``(len(motion_tokenizer),)`` text id of every motion id (the separator maps to
            ``<frame>``, task tokens to their ``<task:...>`` token, ``<pad>``/``<bos>``/``<eos>``/``<unk>`` to -1).
        motion_start_id, motion_end_id, frame_id: text ids of ``<motion>``, ``</motion>``, ``<frame>``.
        task_ids: text id of each task's token, by task character.
        num_added: how many tokens this call added (0 when the tokenizer was merged before).
    """

    text_tokenizer: Any
    motion_tokenizer: MotionTokenizer
    motion_to_text_id: np.ndarray
    motion_start_id: int
    motion_end_id: int
    frame_id: int
    task_ids: dict[str, int]
    num_added: int
    text_to_motion_id: dict[int, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.text_to_motion_id = {int(t): m for m, t in enumerate(self.motion_to_text_id.tolist()) if t >= 0}


def add_motion_tokens(text_tokenizer, motion_tokenizer: MotionTokenizer) -> MotionTextVocab:
    """Add the motion vocabulary to ``text_tokenizer`` (in place) and return the id mapping.

    Every alphabet character of ``motion_tokenizer`` (angles, positions, every digit) and the
    tokens ``<motion>``, ``</motion>``, ``<frame>``, ``<task:fk>``, ``<task:ik>``, ``<task:causal>``
    are added as non-special ``AddedToken(..., normalized=False)`` so that normalisers (NFKC,
    lower-casing) never touch them and ``decode(skip_special_tokens=True)`` keeps them. Calling it
    again on a merged tokenizer adds nothing and returns the same mapping.

    After this, call :func:`resize_model_embeddings` on the model.
    """
    if not isinstance(motion_tokenizer, MotionTokenizer):
        raise TypeError(f"motion_tokenizer must be a MotionTokenizer, got {type(motion_tokenizer).__name__}")
    if not hasattr(text_tokenizer, "add_tokens") or not hasattr(text_tokenizer, "convert_tokens_to_ids"):
        raise TypeError(f"text_tokenizer must be a transformers tokenizer, got {type(text_tokenizer).__name__}")
    chars: list[str] = []
    for kind in ("angle", "position"):
        for d in range(motion_tokenizer.digits):
            chars.extend(motion_tokenizer.alphabet(kind, d))
        if motion_tokenizer.coding == "delta":
            chars.extend(motion_tokenizer.alphabet(kind, coding="delta"))
    markers = [MOTION_START, MOTION_END, FRAME_TOKEN, *TASK_TEXT_TOKENS.values()]
    new = [AddedToken(s, normalized=False, special=False) for s in chars + markers]
    num_added = text_tokenizer.add_tokens(new)

    def text_id(s: str) -> int:
        tid = text_tokenizer.convert_tokens_to_ids(s)
        pieces = text_tokenizer.tokenize(s)
        if tid is None or pieces != [s]:
            raise ValueError(f"the text tokenizer does not keep {s!r} as one token after merging (got {pieces})")
        return int(tid)

    table = np.full(len(motion_tokenizer), -1, dtype=np.int64)
    for kind in ("angle", "position"):
        for d in range(motion_tokenizer.digits):
            ids = motion_tokenizer.angle_token_ids(d) if kind == "angle" else motion_tokenizer.position_token_ids(d)
            for mid, ch in zip(ids.tolist(), motion_tokenizer.alphabet(kind, d)):
                table[mid] = text_id(ch)
        if motion_tokenizer.coding == "delta":
            delta_ids = motion_tokenizer.delta_token_ids(kind)
            for mid, ch in zip(delta_ids.tolist(), motion_tokenizer.alphabet(kind, coding="delta")):
                table[mid] = text_id(ch)
    frame_id = text_id(FRAME_TOKEN)
    table[motion_tokenizer.frame_separator_id] = frame_id
    task_ids = {}
    for task, name in TASK_TEXT_TOKENS.items():
        task_ids[task] = text_id(name)
        table[motion_tokenizer.task_token_ids[task]] = task_ids[task]
    return MotionTextVocab(
        text_tokenizer=text_tokenizer,
        motion_tokenizer=motion_tokenizer,
        motion_to_text_id=table,
        motion_start_id=text_id(MOTION_START),
        motion_end_id=text_id(MOTION_END),
        frame_id=frame_id,
        task_ids=task_ids,
        num_added=int(num_added),
    )


def resize_model_embeddings(model, tokenizer, pad_to_multiple_of: int | None = None, mean_resizing: bool = True):
    """Grow ``model``'s token embeddings (and tied output layer) to cover ``tokenizer``.

    Never shrinks: T5 checkpoints have more embedding rows (32128) than their tokenizer (32100),
    and those rows must stay. New rows are initialised at the mean of the old ones
    (``mean_resizing=True``, transformers' default), so the model's text predictions start unchanged.

    Returns:
        The input embedding module.
    """
    current = model.get_input_embeddings().weight.shape[0]
    wanted = max(len(tokenizer), current)
    if wanted == current and pad_to_multiple_of is None:
        return model.get_input_embeddings()
    return model.resize_token_embeddings(wanted, pad_to_multiple_of=pad_to_multiple_of, mean_resizing=mean_resizing)


def _check_vocab(vocab: MotionTextVocab) -> None:
    if not isinstance(vocab, MotionTextVocab):
        raise TypeError(f"expected the MotionTextVocab returned by add_motion_tokens, got {type(vocab).__name__}")


def motion_to_text_tokens(
    vocab: MotionTextVocab,
    angles: np.ndarray | None = None,
    positions: np.ndarray | None = None,
    task: str = ">",
    motion_ids: np.ndarray | None = None,
) -> np.ndarray:
    """Text-tokenizer ids of a motion span ``<motion> <task> <frame> ... </motion>`` (1-D ``int64``).

    Give either arrays (``angles`` / ``positions`` ``(T, J, 3)``, as for
    :meth:`MotionTokenizer.encode_motion`) or ready ``motion_ids`` from the motion tokenizer
    (``<bos>``/``<eos>``/``<pad>`` are dropped). Splice the result into tokenized text.
    """
    _check_vocab(vocab)
    mt = vocab.motion_tokenizer
    if motion_ids is None:
        motion_ids = mt.encode_motion(angles=angles, positions=positions, task=task, add_special_tokens=False)
    elif angles is not None or positions is not None:
        raise ValueError("give either angles/positions or motion_ids, not both")
    ids = np.asarray(motion_ids, dtype=np.int64).reshape(-1)
    if ids.size and (ids.min() < 0 or ids.max() >= len(vocab.motion_to_text_id)):
        bad = int(np.flatnonzero((ids < 0) | (ids >= len(vocab.motion_to_text_id)))[0])
        raise MotionTokenizerError(f"motion id {ids[bad]} at position {bad} is outside the motion vocabulary")
    ids = ids[~np.isin(ids, [mt.pad_token_id, mt.bos_token_id, mt.eos_token_id])]
    mapped = vocab.motion_to_text_id[ids]
    if np.any(mapped < 0):
        bad = int(np.flatnonzero(mapped < 0)[0])
        raise MotionTokenizerError(f"motion id {ids[bad]} at position {bad} has no text token (e.g. <unk>)")
    return np.concatenate([[vocab.motion_start_id], mapped, [vocab.motion_end_id]]).astype(np.int64)


def motion_to_text(
    vocab: MotionTextVocab,
    angles: np.ndarray | None = None,
    positions: np.ndarray | None = None,
    task: str = ">",
) -> str:
    """The motion span as a string, e.g. ``"<motion><task:causal><frame>丂丄...</motion>"``, for use inside
    text; ``text_tokenizer(text)`` tokenizes it to :func:`motion_to_text_tokens`."""
    _check_vocab(vocab)
    mt = vocab.motion_tokenizer
    raw = mt.motion_to_text(angles=angles, positions=positions, task=task)  # "<task char> frame frame ..."
    frames = raw[1:].replace(" ", FRAME_TOKEN)
    return f"{MOTION_START}{TASK_TEXT_TOKENS[raw[0]]}{frames}{MOTION_END}"


def text_tokens_to_motion(vocab: MotionTextVocab, text_ids, strict: bool = True) -> list[MotionTokens]:
    """Every ``<motion> ... </motion>`` span in text-tokenizer ids, decoded with the motion tokenizer.

    Args:
        text_ids: 1-D ids (list, array or tensor) of the merged text tokenizer.
        strict: passed to :meth:`MotionTokenizer.decode_motion`; with ``strict=False`` a span
            that ends early (no ``</motion>``, or an incomplete last frame, as generation can leave)
            is decoded up to its last complete frame.

    Raises:
        MotionTokenizerError: a text token inside a span that is not a motion token (naming its
            position), a nested or unclosed span (strict), or a span that does not decode.
    """
    _check_vocab(vocab)
    if hasattr(text_ids, "detach"):
        text_ids = text_ids.detach().cpu().numpy()
    ids = np.asarray(text_ids, dtype=np.int64)
    if ids.ndim != 1:
        raise MotionTokenizerError(f"text_tokens_to_motion takes one 1-D sequence of ids, got shape {ids.shape}")
    spans: list[MotionTokens] = []
    start = None
    for pos, tid in enumerate(ids.tolist()):
        if tid == vocab.motion_start_id:
            if start is not None:
                raise MotionTokenizerError(f"<motion> at position {pos} opens a span inside the one opened at {start}")
            start = pos
        elif tid == vocab.motion_end_id:
            if start is None:
                raise MotionTokenizerError(f"</motion> at position {pos} closes no span")
            spans.append(_decode_span(vocab, ids[start + 1 : pos], start + 1, strict))
            start = None
    if start is not None:
        if strict:
            raise MotionTokenizerError(f"the motion span opened at position {start} is never closed with </motion>")
        spans.append(_decode_span(vocab, ids[start + 1 :], start + 1, strict))
    return spans


def _decode_span(vocab: MotionTextVocab, span: np.ndarray, offset: int, strict: bool) -> MotionTokens:
    mt = vocab.motion_tokenizer
    motion_ids = np.empty(len(span), dtype=np.int64)
    for k, tid in enumerate(span.tolist()):
        mid = vocab.text_to_motion_id.get(tid)
        if mid is None:
            piece = vocab.text_tokenizer.convert_ids_to_tokens(tid)
            raise MotionTokenizerError(
                f"text token {piece!r} (id {tid}) at position {offset + k} is not a motion token but sits inside a <motion> span"
            )
        motion_ids[k] = mid
    return mt.decode_motion(np.concatenate([[mt.bos_token_id], motion_ids, [mt.eos_token_id]]), strict=strict)
