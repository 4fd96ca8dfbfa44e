"""The processor of the motion VQ-VAE: ``Motion`` <-> pose features <-> code ids, and the code vocabulary.

It plays the role of EnCodec's feature extractor: it saves the input contract (frame rate,
skeleton, feature layout) as ``preprocessor_config.json`` and refuses or resamples input that does
not match it, as wav2vec2's feature extractor refuses another sampling rate.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from transformers import AutoFeatureExtractor, AutoProcessor, BatchFeature
from transformers.feature_extraction_utils import FeatureExtractionMixin

from ...motion import Motion, MotionError
from ...pose_features import PoseFeatureLayout
from ...remote_code import processor_auto_map, write_loader
from ...resample import resample_motion
from .configuration_motion_vq import MotionVQConfig

MOTION_START, MOTION_END, MOTION_MASK = "<motion_start>", "<motion_end>", "<motion_mask>"
_PAD, _UNK = "<pad>", "<unk>"


def code_token(i: int) -> str:
    return f"<motion_id_{i}>"


class MotionVQProcessor(FeatureExtractionMixin):
    """Turns clips into padded pose features for :class:`MotionVQVAE`, and codes back into clips.

    Args:
        layout: the skeleton contract (:class:`~hf_motion.PoseFeatureLayout` or its dict).
        fps: the frame rate the model works at.
        downsample: frames per code step (the model's ``downsample``); clips are padded to it.
        resample: resample clips at another rate to ``fps`` (default); ``False`` refuses them.
        codebook_size, tokens_per_step: for the text form of codes (``<motion_id_N>``).
    """

    model_input_names = ["features", "attention_mask"]

    def __init__(
        self,
        layout: PoseFeatureLayout | dict | None = None,
        fps: float = 20.0,
        downsample: int = 4,
        resample: bool = True,
        codebook_size: int = 512,
        tokens_per_step: int = 1,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        if layout is None:
            raise ValueError("MotionVQProcessor needs a layout: MotionVQProcessor.from_motion(clip, fps=...) builds one")
        self.layout = layout if isinstance(layout, PoseFeatureLayout) else PoseFeatureLayout.from_dict(layout)
        if not (isinstance(fps, (int, float)) and not isinstance(fps, bool) and np.isfinite(fps) and fps > 0):
            raise ValueError(f"fps must be a positive number, got {fps!r}")
        self.fps = float(fps)
        self.downsample = int(downsample)
        self.resample = bool(resample)
        self.codebook_size = int(codebook_size)
        self.tokens_per_step = int(tokens_per_step)

    @classmethod
    def from_motion(cls, motion: Motion, fps: float, config: MotionVQConfig | None = None, **kwargs) -> MotionVQProcessor:
        """A processor for ``motion``'s skeleton at ``fps`` (matching ``config`` if given)."""
        if config is not None:
            kwargs.setdefault("downsample", config.downsample)
            kwargs.setdefault("codebook_size", config.codebook_size)
            kwargs.setdefault("tokens_per_step", config.tokens_per_step)
        return cls(PoseFeatureLayout.from_motion(motion), fps=fps, **kwargs)

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out["layout"] = self.layout.to_dict()
        out["processor_class"] = type(self).__name__
        out.pop("auto_map", None)  # as loaded; rebuilt for this class
        auto_map = processor_auto_map(self, ("AutoProcessor", "AutoFeatureExtractor"))
        return {**out, "auto_map": auto_map} if auto_map else out

    def save_pretrained(self, save_directory: str | os.PathLike, push_to_hub: bool = False, **kwargs):
        """``preprocessor_config.json`` and the loader file (:mod:`hf_motion.remote_code`)."""
        if not Path(save_directory).is_file():  # a file: transformers' own error follows
            write_loader(save_directory, owner=self)
        return super().save_pretrained(save_directory, push_to_hub=push_to_hub, **kwargs)

    # ------------------------------------------------------------------ motion -> features
    def prepare(self, motion: Motion | str | os.PathLike, source: str | None = None) -> Motion:
        """Load a path, check the skeleton, and bring the clip to ``fps`` (or refuse it)."""
        if isinstance(motion, (str, os.PathLike)):
            from ...io.readers import load_motion

            source = source or str(motion)
            motion = load_motion(motion)
        source = source or "motion"
        if not isinstance(motion, Motion):
            raise TypeError(f"{source}: expected a hf_motion.Motion or a path, got {type(motion).__name__}")
        self.layout.check_motion(motion, source)
        if abs(motion.fps - self.fps) > 1e-3 * self.fps:
            if not self.resample:
                raise MotionError(
                    f"{source} is at {motion.fps:g} fps; this processor works at {self.fps:g} fps. Resample it "
                    f"(hf_motion.resample_motion(motion, {self.fps:g})) or load the processor with resample=True"
                )
            motion = resample_motion(motion, self.fps)
        return motion

    def features(self, motion: Motion | str | os.PathLike, source: str | None = None) -> np.ndarray:
        """``(T, D)`` pose features of one clip at the processor's rate."""
        return self.layout.encode(self.prepare(motion, source), source or "motion")

    def __call__(self, motions, return_tensors: str | None = "pt") -> BatchFeature:
        """One clip (a :class:`Motion` or path) or a list -> ``BatchFeature(features, attention_mask, num_frames)``,
        padded (by repeating the last frame) to a common length that is a multiple of ``downsample``."""
        items = motions if isinstance(motions, (list, tuple)) else [motions]
        if not items:
            raise ValueError("no clip given")
        return self.pad(
            [self.features(m, f"clip {i}" if not isinstance(m, (str, os.PathLike)) else str(m)) for i, m in enumerate(items)],
            return_tensors,
        )

    def pad(self, features: Sequence[np.ndarray], return_tensors: str | None = "pt") -> BatchFeature:
        """Batch ``(T_i, D)`` feature arrays: padded by repeating the last frame to a common length
        that is a multiple of ``downsample``, with an ``attention_mask`` over the real frames."""
        if not features:
            raise ValueError("no feature sequence given")
        T = max(len(f) for f in features)
        T = -(-T // self.downsample) * self.downsample
        batch = np.zeros((len(features), T, self.layout.dim), dtype=np.float32)
        mask = np.zeros((len(features), T), dtype=np.int64)
        for i, f in enumerate(features):
            if len(f) == 0 or np.shape(f)[1:] != (self.layout.dim,):
                raise ValueError(f"features[{i}] has shape {np.shape(f)}, expected (T >= 1, {self.layout.dim})")
            batch[i, : len(f)] = f
            batch[i, len(f) :] = f[-1]
            mask[i, : len(f)] = 1
        data = {"features": batch, "attention_mask": mask, "num_frames": np.array([len(f) for f in features])}
        return BatchFeature(data, tensor_type=return_tensors)

    # ------------------------------------------------------------------ codes
    def encode(self, model, motion: Motion | str | os.PathLike) -> np.ndarray:
        """``(S, L)`` code ids of one clip (the clip is padded to a whole number of steps)."""
        self._check_model(model)
        batch = self(motion)
        device = next(model.parameters()).device
        return model.encode(batch["features"].to(device))[0].cpu().numpy()

    def decode(self, model, codes: np.ndarray, num_frames: int | None = None, **start) -> Motion:
        """A :class:`Motion` from ``(S, L)`` code ids (``num_frames`` crops the padding).
        ``start_position`` / ``start_yaw`` place it in the world (default: origin, yaw 0)."""
        self._check_model(model)
        codes = np.asarray(codes)
        if codes.ndim == 1 and self.tokens_per_step == 1:
            codes = codes[:, None]
        device = next(model.parameters()).device
        feats = model.decode(torch.as_tensor(codes, device=device)[None])[0].cpu().numpy()
        if num_frames is not None:
            feats = feats[:num_frames]
        return self.layout.decode(feats, self.fps, **start)

    def _check_model(self, model) -> None:
        c = model.config
        if c.input_dim != self.layout.dim or c.downsample != self.downsample:
            raise ValueError(
                f"model (input_dim={c.input_dim}, downsample={c.downsample}) does not match this processor "
                f"(features {self.layout.dim}, downsample {self.downsample})"
            )

    # ------------------------------------------------------------------ text form
    def codes_to_text(self, codes: np.ndarray) -> str:
        """``<motion_start><motion_id_..>...<motion_end>``; layer ``l`` of a step uses ids ``l*K + c``."""
        codes = np.asarray(codes).reshape(-1, self.tokens_per_step)
        flat = (codes + np.arange(self.tokens_per_step) * self.codebook_size).reshape(-1)
        return MOTION_START + "".join(code_token(int(i)) for i in flat) + MOTION_END

    def text_to_codes(self, text: str) -> np.ndarray:
        """Inverse of :meth:`codes_to_text` (``(S, L)``) for the first span in ``text``; text around
        it is ignored, and whitespace inside it too (tokenizers put spaces back when decoding).
        Anything else inside the span (a ``<motion_mask>``, a word), an id outside the vocabulary,
        or codes out of layer order raise ``ValueError``."""
        import re

        if not isinstance(text, str):
            raise TypeError(f"text_to_codes takes a string, got {type(text).__name__}")
        if MOTION_START not in text or MOTION_END not in text.split(MOTION_START, 1)[1]:
            raise ValueError(f"no {MOTION_START}...{MOTION_END} span in {text[:80]!r}")
        span = text.split(MOTION_START, 1)[1].split(MOTION_END, 1)[0]
        code = re.compile(r"<motion_id_(\d+)>")
        rest = code.sub("", span).strip()
        if rest:
            raise ValueError(f"the motion span holds {rest[:40]!r}, which is not a code token")
        ids = [int(x) for x in code.findall(span)]
        L, K = self.tokens_per_step, self.codebook_size
        if ids and max(ids) >= K * L:
            raise ValueError(f"<motion_id_{max(ids)}> is outside this vocabulary (codes 0..{K * L - 1})")
        if len(ids) % L:
            raise ValueError(f"the span has {len(ids)} code tokens, not a multiple of {L} per step")
        codes = np.asarray(ids, dtype=np.int64).reshape(-1, L)
        layer = codes // K
        if codes.size and not np.array_equal(layer, np.broadcast_to(np.arange(L), codes.shape)):
            bad = int(np.argwhere(layer != np.arange(L))[0, 0])
            raise ValueError(f"step {bad}: code tokens are not in layer order 0..{L - 1}")
        return codes % K

    def save_code_vocabulary(self, directory: str | os.PathLike) -> Path:
        """Write a ``tokenizer.json`` of the code tokens that a plain ``AutoTokenizer`` loads."""
        code_vocabulary(self.codebook_size * self.tokens_per_step).save_pretrained(directory)
        return Path(directory)


def code_vocabulary(num_codes: int):
    """A ``transformers`` tokenizer (no custom code) whose vocabulary is ``<pad> <unk> <motion_start>
    <motion_end> <motion_mask>`` and ``<motion_id_0..num_codes-1>``, one token per code."""
    from tokenizers import Regex, Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    specials = [_PAD, _UNK, MOTION_START, MOTION_END, MOTION_MASK]
    vocab = {t: i for i, t in enumerate(specials + [code_token(i) for i in range(num_codes)])}
    tok = Tokenizer(models.WordLevel(vocab, unk_token=_UNK))
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Split(Regex(r"<[^>]+>"), behavior="isolated")]
    )
    # Saved with "tokenizer_class": "TokenizersBackend", which AutoTokenizer loads without hf_motion.
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, pad_token=_PAD, unk_token=_UNK, additional_special_tokens=[MOTION_START, MOTION_END, MOTION_MASK]
    )


AutoFeatureExtractor.register(MotionVQConfig, MotionVQProcessor, exist_ok=True)
AutoProcessor.register(MotionVQConfig, MotionVQProcessor, exist_ok=True)
