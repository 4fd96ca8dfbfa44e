"""The processor of the text + motion model: the merged tokenizer plus the motion tokenizer (VQ-VAE).

:class:`TextMotionProcessor` turns clips into motion spans of text
(``<motion_start><motion_id_..>...<motion_end>``) and spans back into clips, tokenizes prompts and
targets for training, and saves everything a model folder needs:

.. code-block:: text

    dir/tokenizer.json, tokenizer_config.json   the merged tokenizer (plain AutoTokenizer)
    dir/motion_tokenizer/                       the MotionVQVAE and its MotionVQProcessor
    dir/text_motion_config.json                 vocabulary kind, codebook, frame rate, lengths, token strings
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ...fileio import atomic_directory, atomic_write_text
from ...motion import Motion
from ..motion_vq.processing_motion_vq import MOTION_END, MOTION_MASK, MOTION_START, code_token
from .tokenization_motion_t5 import MotionTokenIds, motion_token_ids

TEXT_MOTION_CONFIG = "text_motion_config.json"
MOTION_TOKENIZER_DIR = "motion_tokenizer"

__all__ = ["TextMotionProcessor", "TEXT_MOTION_CONFIG", "MOTION_TOKENIZER_DIR"]


def _is_int(x) -> bool:
    return isinstance(x, (int, np.integer)) and not isinstance(x, bool)


class TextMotionProcessor:
    """Merged text tokenizer + motion tokenizer (VQ-VAE and its processor) of the text + motion model.

    Args:
        tokenizer: the merged tokenizer (:func:`~hf_motion.models.motion_t5.merge_motion_vocabulary`
            of :func:`~hf_motion.models.motion_t5.motion_vocabulary_tokens`).
        motion_processor: the :class:`~hf_motion.models.motion_vq.MotionVQProcessor`.
        motion_model: the :class:`~hf_motion.models.motion_vq.MotionVQVAE` (trained).
        max_motion_steps: the longest motion (in code steps) the model is asked for; default 10 s.
        default_motion_steps: the length of a motion generated without ``seconds`` / ``steps``;
            default 4 s (at most ``max_motion_steps``).
    """

    def __init__(
        self,
        tokenizer,
        motion_processor,
        motion_model,
        max_motion_steps: int | None = None,
        default_motion_steps: int | None = None,
    ) -> None:
        cfg = motion_model.config
        if (motion_processor.codebook_size, motion_processor.tokens_per_step) != (cfg.codebook_size, cfg.tokens_per_step):
            raise ValueError(
                f"the motion processor's codebook ({motion_processor.codebook_size} codes x {motion_processor.tokens_per_step} "
                f"per step) does not match the VQ-VAE's ({cfg.codebook_size} x {cfg.tokens_per_step}); build it with "
                "MotionVQProcessor.from_motion(clip, fps, config=model.config)"
            )
        motion_processor._check_model(motion_model)
        self.tokenizer = tokenizer
        self.motion_processor = motion_processor
        self.motion_model = motion_model
        self.token_ids: MotionTokenIds = motion_token_ids(tokenizer, cfg.codebook_size, cfg.tokens_per_step)
        if tokenizer.eos_token_id is None or tokenizer.pad_token_id is None:
            raise ValueError("the tokenizer needs a pad and an eos token (train_text_tokenizer gives <pad> and </s>)")
        self.max_motion_steps = self._steps_arg(max_motion_steps, "max_motion_steps", self._ceil_steps(10.0))
        self.default_motion_steps = self._steps_arg(
            default_motion_steps, "default_motion_steps", min(self._ceil_steps(4.0), self.max_motion_steps)
        )
        if self.default_motion_steps > self.max_motion_steps:
            raise ValueError(f"default_motion_steps={self.default_motion_steps} exceeds max_motion_steps={self.max_motion_steps}")

    @staticmethod
    def _steps_arg(value, name: str, default: int) -> int:
        if value is None:
            return int(default)
        if not _is_int(value) or int(value) < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
        return int(value)

    # ------------------------------------------------------------------ properties
    @property
    def fps(self) -> float:
        return self.motion_processor.fps

    @property
    def downsample(self) -> int:
        return self.motion_processor.downsample

    @property
    def codebook_size(self) -> int:
        return self.motion_processor.codebook_size

    @property
    def tokens_per_step(self) -> int:
        return self.motion_processor.tokens_per_step

    @property
    def pad_token_id(self) -> int:
        return int(self.tokenizer.pad_token_id)

    @property
    def eos_token_id(self) -> int:
        return int(self.tokenizer.eos_token_id)

    # ------------------------------------------------------------------ lengths
    def _ceil_steps(self, seconds: float) -> int:
        return max(1, math.ceil(round(seconds * self.fps / self.downsample, 9)))

    def steps_for_seconds(self, seconds: float) -> int:
        """Code steps covering ``seconds`` of motion: ``ceil(seconds * fps / downsample)``."""
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float, np.floating, np.integer)) or not math.isfinite(seconds):
            raise ValueError(f"seconds must be a finite number, got {seconds!r}")
        # Round first: a duration computed as 3 * 0.2 s gives 3.0000000000000004 steps at 20 fps, which is 3, not 4.
        steps = math.ceil(round(float(seconds) * self.fps / self.downsample, 9))
        if steps < 1:
            raise ValueError(f"seconds={seconds!r} gives {steps} code steps; pass seconds > 0")
        if steps > self.max_motion_steps:
            longest = self.max_motion_steps * self.downsample / self.fps
            raise ValueError(
                f"seconds={seconds:g} needs {steps} code steps but max_motion_steps={self.max_motion_steps} "
                f"({longest:g} s); ask for at most {longest:g} seconds"
            )
        return steps

    def frames_for_seconds(self, seconds: float) -> int:
        """Frames of a clip of ``seconds`` at the processor's rate (at least 1)."""
        self.steps_for_seconds(seconds)
        return max(1, int(round(float(seconds) * self.fps)))

    def check_steps(self, steps, name: str = "steps") -> int:
        """``steps`` as an int in ``[1, max_motion_steps]``, or a ``ValueError`` naming it."""
        if not _is_int(steps) or not 1 <= int(steps) <= self.max_motion_steps:
            raise ValueError(f"{name} must be an integer in [1, max_motion_steps={self.max_motion_steps}], got {steps!r}")
        return int(steps)

    # ------------------------------------------------------------------ codes <-> spans <-> motion
    def check_codes(self, codes, name: str = "codes") -> np.ndarray:
        """``codes`` as an ``(S, L)`` int64 array of ids in ``[0, K)``, or a ``ValueError``."""
        arr = np.asarray(codes)
        L, K = self.tokens_per_step, self.codebook_size
        if arr.ndim == 1 and L == 1:
            arr = arr[:, None]
        if arr.ndim != 2 or arr.shape[1] != L:
            raise ValueError(f"{name} must be shaped (steps, {L}), got {arr.shape}")
        if arr.size and not np.issubdtype(arr.dtype, np.integer):
            raise ValueError(f"{name} must be integer code ids, got dtype {arr.dtype}")
        if arr.size and (arr.min() < 0 or arr.max() >= K):
            raise ValueError(f"{name} must be code ids in [0, {K}), got values in [{arr.min()}, {arr.max()}]")
        return arr.astype(np.int64)

    def motion_to_codes(self, motion: Motion | str | os.PathLike) -> np.ndarray:
        """``(S, L)`` codes of a clip (or motion file), encoded by the VQ-VAE."""
        return self.motion_processor.encode(self.motion_model, motion)

    def codes_to_span(self, codes) -> str:
        """``<motion_start>`` + ``L`` code tokens per step (layer ``l``: ``<motion_id_{l*K + c}>``) + ``<motion_end>``."""
        return self.motion_processor.codes_to_text(self.check_codes(codes))

    def motion_to_span(self, motion: Motion | str | os.PathLike) -> str:
        """The motion span of a clip (or motion file)."""
        return self.codes_to_span(self.motion_to_codes(motion))

    def span_to_codes(self, text: str) -> np.ndarray:
        """``(S, L)`` codes of the first motion span in ``text`` (text around it is ignored):
        :meth:`MotionVQProcessor.text_to_codes`, which refuses anything in the span that is not a
        code token (a ``<motion_mask>``, a word) and codes out of layer order."""
        return self.motion_processor.text_to_codes(text)

    def codes_to_motion(self, codes, num_frames: int | None = None, **start) -> Motion:
        """Decode ``(S, L)`` codes with the VQ-VAE into a :class:`Motion` (``num_frames`` crops it)."""
        codes = self.check_codes(codes)
        if not len(codes):
            raise ValueError("no code step to decode")
        if num_frames is not None and (not _is_int(num_frames) or not 1 <= num_frames <= len(codes) * self.downsample):
            raise ValueError(f"num_frames must be in [1, {len(codes) * self.downsample}] for {len(codes)} steps, got {num_frames!r}")
        return self.motion_processor.decode(self.motion_model, codes, num_frames=num_frames, **start)

    def span_to_motion(self, text: str, num_frames: int | None = None, **start) -> Motion:
        """Decode the first motion span of ``text`` into a :class:`Motion`."""
        return self.codes_to_motion(self.span_to_codes(text), num_frames=num_frames, **start)

    def masked_span(self, codes, start: int, stop: int) -> str:
        """The in-betweening input: ``<motion_start>`` + steps ``[0, start)`` + one ``<motion_mask>``
        per step of ``[start, stop)`` + steps ``[stop, S)`` + ``<motion_end>``."""
        codes = self.check_codes(codes)
        S = len(codes)
        if not (_is_int(start) and _is_int(stop) and 0 <= start < stop <= S):
            raise ValueError(f"need integers 0 <= start < stop <= {S} (the number of steps), got start={start!r}, stop={stop!r}")
        inner = lambda c: self.codes_to_span(c)[len(MOTION_START) : -len(MOTION_END)]  # noqa: E731
        return MOTION_START + inner(codes[:start]) + MOTION_MASK * (stop - start) + inner(codes[stop:]) + MOTION_END

    # ------------------------------------------------------------------ tokenization
    def encode_text(self, text: str) -> list[int]:
        """Token ids of ``text`` followed by eos (the same for every tokenizer, whatever its post-processor)."""
        if not isinstance(text, str):
            raise TypeError(f"expected a string, got {type(text).__name__}")
        return list(self.tokenizer(text, add_special_tokens=False)["input_ids"]) + [self.eos_token_id]

    def __call__(
        self,
        text: str | Sequence[str] | None = None,
        text_target: str | Sequence[str] | None = None,
        causal: bool = False,
        padding_side: str | None = None,
        return_tensors: str | None = "pt",
    ):
        """Tokenize prompts (and targets) like a transformers processor: a ``BatchEncoding``.

        Seq2seq (T5, ``causal=False``): ``input_ids`` / ``attention_mask`` of the prompts (each
        ending in eos), and with ``text_target`` the ``labels`` (target ids + eos, padded with
        -100). Causal (GPT-2): one sequence per example, prompt + eos + target + eos, with labels
        -100 on the prompt; without targets the prompts + eos, left-padded for generation.
        Padding is on the right except for causal prompts alone (``padding_side`` overrides).
        """
        from transformers import BatchEncoding

        if text is None:
            raise ValueError("text is required (the prompts)")
        single = isinstance(text, str)
        texts = [text] if single else list(text)
        targets = None
        if text_target is not None:
            targets = [text_target] if isinstance(text_target, str) else list(text_target)
            if len(targets) != len(texts):
                raise ValueError(f"got {len(texts)} texts but {len(targets)} targets")
        if not texts:
            raise ValueError("no text given")
        prompts = [self.encode_text(t) for t in texts]
        side = padding_side or ("left" if causal and targets is None else "right")
        if side not in ("left", "right"):
            raise ValueError(f"padding_side must be 'left' or 'right', got {padding_side!r}")
        data: dict[str, Any] = {}
        if causal:
            seqs, labels = [], []
            for i, p in enumerate(prompts):
                tgt = self.encode_text(targets[i]) if targets is not None else []
                seqs.append(p + tgt)
                labels.append([-100] * len(p) + tgt)
            data["input_ids"], data["attention_mask"] = self._pad(seqs, self.pad_token_id, side)
            if targets is not None:
                data["labels"] = self._pad(labels, -100, side)[0]
        else:
            data["input_ids"], data["attention_mask"] = self._pad(prompts, self.pad_token_id, side)
            if targets is not None:
                data["labels"] = self._pad([self.encode_text(t) for t in targets], -100, side)[0]
        return BatchEncoding(data, tensor_type=return_tensors)

    @staticmethod
    def _pad(rows: list[list[int]], value: int, side: str) -> tuple[list[list[int]], list[list[int]]]:
        n = max(len(r) for r in rows)
        ids, mask = [], []
        for r in rows:
            fill = [value] * (n - len(r))
            ids.append(fill + r if side == "left" else r + fill)
            ones, zeros = [1] * len(r), [0] * (n - len(r))
            mask.append(zeros + ones if side == "left" else ones + zeros)
        return ids, mask

    def batch_decode(self, sequences, **kwargs) -> list[str]:
        return self.tokenizer.batch_decode(sequences, **kwargs)

    def decode(self, ids, **kwargs) -> str:
        return self.tokenizer.decode(ids, **kwargs)

    # ------------------------------------------------------------------ save / load
    def to_config(self) -> dict[str, Any]:
        """The content of ``text_motion_config.json``."""
        return {
            "motion_vocabulary": "vq",
            "codebook_size": self.codebook_size,
            "tokens_per_step": self.tokens_per_step,
            "fps": self.fps,
            "downsample": self.downsample,
            "max_motion_steps": self.max_motion_steps,
            "default_motion_steps": self.default_motion_steps,
            "motion_start": MOTION_START,
            "motion_end": MOTION_END,
            "motion_mask": MOTION_MASK,
            "motion_code_token": code_token(0).replace("0", "{}"),
            "motion_tokenizer": MOTION_TOKENIZER_DIR,
        }

    def save_pretrained(self, save_directory: str | os.PathLike) -> Path:
        """Write the merged tokenizer at the top of ``save_directory``, the VQ-VAE and its
        processor in ``motion_tokenizer/`` (built aside and moved into place), and
        ``text_motion_config.json`` last (atomically), so a folder with it is complete."""
        d = Path(save_directory)
        d.mkdir(parents=True, exist_ok=True)
        self.tokenizer.save_pretrained(d)
        with atomic_directory(d / MOTION_TOKENIZER_DIR, overwrite=True) as tmp:
            self.motion_model.save_pretrained(tmp)
            self.motion_processor.save_pretrained(tmp)
        atomic_write_text(d / TEXT_MOTION_CONFIG, json.dumps(self.to_config(), indent=2) + "\n")
        return d

    @classmethod
    def from_pretrained(cls, directory: str | os.PathLike) -> TextMotionProcessor:
        """Load what :meth:`save_pretrained` wrote (a local folder)."""
        from transformers import AutoTokenizer

        from ..motion_vq import MotionVQProcessor, MotionVQVAE

        d = Path(directory)
        if not d.is_dir():
            raise FileNotFoundError(f"{d} is not a folder; TextMotionProcessor.save_pretrained(dir) writes one")
        needed = {
            TEXT_MOTION_CONFIG: "TextMotionProcessor.save_pretrained",
            "tokenizer.json": "TextMotionProcessor.save_pretrained (the merged tokenizer's save_pretrained)",
            f"{MOTION_TOKENIZER_DIR}/config.json": "TextMotionProcessor.save_pretrained (MotionVQVAE.save_pretrained)",
            f"{MOTION_TOKENIZER_DIR}/model.safetensors": "TextMotionProcessor.save_pretrained (MotionVQVAE.save_pretrained)",
            f"{MOTION_TOKENIZER_DIR}/preprocessor_config.json": "TextMotionProcessor.save_pretrained (MotionVQProcessor.save_pretrained)",
        }
        for name, writer in needed.items():
            if not (d / name).is_file():
                raise FileNotFoundError(f"{d / name} is missing; {writer} writes it")
        try:
            config = json.loads((d / TEXT_MOTION_CONFIG).read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise ValueError(f"{d / TEXT_MOTION_CONFIG} is not valid JSON: {exc}") from None
        kind = config.get("motion_vocabulary")
        if kind != "vq":
            raise ValueError(f"{d / TEXT_MOTION_CONFIG}: motion_vocabulary is {kind!r}; TextMotionProcessor loads 'vq' folders")
        tokenizer = AutoTokenizer.from_pretrained(d)
        sub = d / MOTION_TOKENIZER_DIR
        model = MotionVQVAE.from_pretrained(sub)
        model.eval()
        motion_processor = MotionVQProcessor.from_pretrained(sub)
        for key in ("codebook_size", "tokens_per_step", "fps", "downsample"):
            have = getattr(motion_processor, key)
            if key in config and config[key] != have:
                raise ValueError(f"{d / TEXT_MOTION_CONFIG} says {key}={config[key]!r} but {sub} has {have!r}")
        out = cls(
            tokenizer, motion_processor, model,
            max_motion_steps=config.get("max_motion_steps"), default_motion_steps=config.get("default_motion_steps"),
        )  # fmt: skip
        return out

    def __repr__(self) -> str:
        return (
            f"TextMotionProcessor(tokens={len(self.tokenizer)}, codebook={self.codebook_size}x{self.tokens_per_step}, "
            f"fps={self.fps:g}, downsample={self.downsample}, max_motion_steps={self.max_motion_steps})"
        )
