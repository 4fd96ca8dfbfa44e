"""The input contract of a motion language model: :class:`MotionProcessor`.

A model trained on 31 joints at 10 fps in windows of 24 frames only makes sense on clips brought
to that form. The processor records the form (``preprocessor_config.json`` beside the
tokenizer, as transformers' feature extractors record their ``sampling_rate``), brings a clip
to it (:meth:`MotionProcessor.prepare`, the one place that resamples and selects joints) and
cuts it into token windows (:meth:`MotionProcessor.windows`)::

    processor = AutoProcessor.from_pretrained("runs/pretrain-tiny")  # after `import hf_motion`
    batch = processor("walk.bvh", return_tensors="pt")  # input_ids, attention_mask, window_start

A clip on a skeleton that lacks the model's joints is refused with the missing joints named; a
clip at another frame rate is resampled (or refused, with ``resample=False``).
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from transformers import BatchEncoding
from transformers.feature_extraction_utils import FeatureExtractionMixin

from .errors import MotionError
from .motion import Motion

logger = logging.getLogger(__name__)

PROCESSOR_CONFIG_NAME = "preprocessor_config.json"
REPRESENTATIONS = ("angles", "positions")
CANONICALIZATIONS = ("mean", "first", "none")
# BVH frame times are rounded (0.0333333 s): rates this close count as the same rate.
FPS_REL_TOLERANCE = 1e-4


class MotionProcessorError(MotionError):
    """A clip that does not fit a processor's contract, or a bad processor config."""


def _preview(names: Sequence[str], limit: int = 10) -> str:
    names = list(names)
    shown = ", ".join(names[:limit])
    return f"{shown}, ... ({len(names)} in all)" if len(names) > limit else shown


def same_rate(a: float, b: float) -> bool:
    """Whether two frame rates are the same rate (within BVH frame-time rounding)."""
    return math.isclose(float(a), float(b), rel_tol=FPS_REL_TOLERANCE)


def prepare_motion(
    motion: Motion,
    fps: float | None,
    joints: Sequence[str] | str | None,
    source: str | None = None,
    resample: bool = True,
) -> Motion:
    """``motion`` at ``fps`` on ``joints``: the one place clips are resampled and cut to a skeleton.

    Args:
        motion: the clip.
        fps: the target rate (``None``: keep the clip's). A clip at another rate is resampled
            (``hf_motion.resample_motion``), or refused when ``resample`` is False.
        joints: joint names in model order, a registered subset name, ``"auto"`` (this skeleton's
            core body joints found by name) or ``None`` / ``"all"`` (every joint).
        source: how messages name the clip (default: its ``labels["source"]`` or ``"motion"``).

    Raises:
        MotionProcessorError: the skeleton lacks some of ``joints`` (they are named, with the
            skeleton's own joints), the kept joints do not form one tree, or the clip is at another
            rate and ``resample`` is False.
    """
    if not isinstance(motion, Motion):
        raise TypeError(f"{source or 'motion'}: expected a hf_motion.Motion, got {type(motion).__name__}")
    source = source or str(motion.labels.get("source") or motion.labels.get("clip") or "motion")
    if fps is not None and not same_rate(motion.fps, fps):
        if not resample:
            raise MotionProcessorError(
                f"{source} is at {motion.fps:g} fps; the model works at {fps:g} fps. Resample it "
                f"(hf_motion.resample_motion(motion, {fps:g})) or use resample=True"
            )
        from .resample import resample_motion

        motion = resample_motion(motion, fps)
    if joints is None or (isinstance(joints, str) and joints.strip().lower() == "all"):
        return motion
    from .skeletons import resolve_joint_subset

    have = motion.skeleton.names
    if isinstance(joints, str):
        try:
            names = resolve_joint_subset(joints, motion.skeleton)
        except MotionError as e:
            raise MotionProcessorError(f"{source}: {e}") from None
    else:
        names = [str(n) for n in joints]
        missing = [n for n in names if n not in have]
        if missing:
            raise MotionProcessorError(
                f"{source}: the skeleton lacks {len(missing)} of the model's {len(names)} joints ({_preview(missing)}); "
                f"it has {len(have)} joints ({_preview(have)}). Use a model pretrained on this skeleton, or "
                "retarget the clip to the model's skeleton first"
            )
    if list(names) == list(have):  # the identity subset: select_joints would run FK for nothing
        return motion
    try:
        return motion.select_joints(names)
    except MotionError as e:
        raise MotionProcessorError(f"{source}: {e}") from None


def _check_fps(fps: Any) -> float:
    if isinstance(fps, bool) or not isinstance(fps, (int, float)) or not (math.isfinite(fps) and fps > 0):
        raise MotionProcessorError(f"fps must be a positive number, got {fps!r}")
    return float(fps)


def _check_int(name: str, value: Any, low: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise MotionProcessorError(f"{name} must be an integer >= {low}, got {value!r}")
    return int(value)


def window_starts(num_frames: int, window: int, stride: int, max_windows: int | None = None) -> np.ndarray:
    """Start frames of the ``window``-frame windows of a clip, every ``stride`` frames; a clip shorter
    than ``window`` gives one window of all its frames. With ``max_windows``, that many evenly
    spaced windows are kept."""
    W = min(window, num_frames)
    starts = np.arange(0, num_frames - W + 1, stride)
    if max_windows is not None and starts.size > max_windows:
        pick = np.unique(np.round(np.linspace(0, starts.size - 1, _check_int("max_windows", max_windows))))
        starts = starts[pick.astype(np.int64)]
    return starts


class MotionProcessor(FeatureExtractionMixin):
    """Clips -> token windows for a motion language model, and the record of how.

    Args:
        tokenizer: the model's :class:`~hf_motion.MotionTokenizer` (saved beside this config).
        fps: the frame rate the model was trained at.
        joints: the model's joints, by name, in token order (default: ``tokenizer.joint_names``;
            the two must agree).
        window: frames per model input (at ``fps``).
        stride: frames between window starts (default: ``window``).
        canonicalize: how positions are centred per window (``"mean"``, ``"first"``, ``"none"``),
            as :class:`~hf_motion.MotionDatasetConfig` does; used with ``representation="positions"``.
        representation: what windows encode with the causal task ``>``: ``"angles"`` (M5's ACM) or
            ``"positions"`` (PCM).
        resample: bring clips at another rate to ``fps`` (default); ``False`` refuses them.

    Save with :meth:`save_pretrained` (``preprocessor_config.json`` + the tokenizer) and load with
    ``AutoProcessor.from_pretrained(folder)`` or :meth:`from_pretrained`.
    """

    model_input_names = ["input_ids", "attention_mask"]

    def __init__(
        self,
        tokenizer: Any = None,
        fps: float | None = None,
        joints: Sequence[str] | None = None,
        window: int | None = None,
        stride: int | None = None,
        canonicalize: str = "mean",
        representation: str = "angles",
        resample: bool = True,
        **kwargs: Any,
    ) -> None:
        kwargs.pop("processor_class", None)
        kwargs.pop("hf_motion_version", None)
        kwargs.pop("auto_map", None)  # written by to_dict
        super().__init__(**kwargs)
        if tokenizer is None or not hasattr(tokenizer, "encode_motion"):
            raise MotionProcessorError(
                "MotionProcessor needs the model's MotionTokenizer: MotionProcessor(tokenizer, fps=..., window=...), "
                "or MotionProcessor.from_pretrained(model_folder)"
            )
        if fps is None or window is None:
            raise MotionProcessorError("MotionProcessor needs fps= and window= (the rate and frames the model was trained on)")
        self.tokenizer = tokenizer
        self.fps = _check_fps(fps)
        self.window = _check_int("window", window)
        self.stride = self.window if stride is None else _check_int("stride", stride)
        recorded = getattr(tokenizer, "joint_names", None)
        if joints is None:
            joints = recorded
        if joints is None:
            raise MotionProcessorError(
                "MotionProcessor needs the model's joints: pass joints=[...] (names in token order) or a tokenizer that records joint_names"
            )
        if isinstance(joints, str):
            raise MotionProcessorError(
                f"joints must be the model's joint names in token order, got the string {joints!r}; resolve a subset "
                "name with hf_motion.skeletons.resolve_joint_subset(name, skeleton) first"
            )
        self.joints = [str(j) for j in joints]
        if not self.joints or len(set(self.joints)) != len(self.joints):
            raise MotionProcessorError(f"joints must be distinct joint names, got {self.joints}")
        if recorded is not None and list(recorded) != self.joints:
            raise MotionProcessorError(
                f"joints ({_preview(self.joints)}) differ from the tokenizer's joint_names ({_preview(recorded)}); "
                "the two describe the same model input and must agree"
            )
        if canonicalize not in CANONICALIZATIONS:
            raise MotionProcessorError(f"canonicalize must be one of {list(CANONICALIZATIONS)}, got {canonicalize!r}")
        if representation not in REPRESENTATIONS:
            raise MotionProcessorError(f"representation must be one of {list(REPRESENTATIONS)}, got {representation!r}")
        self.canonicalize = canonicalize
        self.representation = representation
        self.resample = bool(resample)

    # ------------------------------------------------------------------ derived
    @property
    def num_joints(self) -> int:
        return len(self.joints)

    @property
    def tokens_per_frame(self) -> int:
        """Tokens one frame takes: each joint's values, then the frame separator."""
        return self.num_joints * self.tokenizer.values_per_joint + 1

    # ------------------------------------------------------------------ save / load
    def to_dict(self) -> dict[str, Any]:
        """The saved fields (the tokenizer is saved beside them, not in them)."""
        from . import __version__
        from .remote_code import processor_auto_map

        out = {
            "processor_class": type(self).__name__,
            "hf_motion_version": __version__,
            "fps": self.fps,
            "joints": list(self.joints),
            "window": self.window,
            "stride": self.stride,
            "canonicalize": self.canonicalize,
            "representation": self.representation,
            "resample": self.resample,
        }
        auto_map = processor_auto_map(self)
        return {**out, "auto_map": auto_map} if auto_map else out

    def to_json_string(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"

    def save_pretrained(self, save_directory: str | os.PathLike, push_to_hub: bool = False, **kwargs: Any) -> list[str]:
        """Write ``preprocessor_config.json`` (atomically) and the tokenizer into ``save_directory``.

        To publish, save the whole model folder and use :func:`hf_motion.push_to_hub`, which checks
        the card first."""
        from .fileio import atomic_write_text
        from .remote_code import write_loader

        if push_to_hub:
            raise MotionProcessorError(
                "MotionProcessor.save_pretrained(push_to_hub=True) is not supported: save the model folder, then "
                "hf_motion.push_to_hub(folder, repo_id) (it validates the model card first)"
            )
        out = Path(save_directory)
        if out.is_file():
            raise MotionProcessorError(f"{out} is a file; save_pretrained needs a folder")
        out.mkdir(parents=True, exist_ok=True)
        self.tokenizer.save_pretrained(out)
        write_loader(out, owner=self)
        path = out / PROCESSOR_CONFIG_NAME
        atomic_write_text(path, self.to_json_string())
        return [str(path)]

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path: str | os.PathLike, **kwargs: Any) -> MotionProcessor:
        """The processor saved in a model folder (or Hub repo): its config and its tokenizer.

        Keyword arguments override saved fields (e.g. ``resample=False``). A folder saved before
        processors existed (only ``pretrain_summary.json``) is refused with what to do.
        """
        kwargs.pop("trust_remote_code", None)
        hub = {k: kwargs.pop(k) for k in ("cache_dir", "force_download", "local_files_only", "token", "revision") if k in kwargs}
        folder = Path(pretrained_model_name_or_path)
        if folder.is_dir() and not (folder / PROCESSOR_CONFIG_NAME).is_file():
            hint = ""
            if (folder / "pretrain_summary.json").is_file():
                hint = (
                    " It has a pretrain_summary.json: it was pretrained before models carried their input contract. Save "
                    "one with hf_motion.MotionProcessor(tokenizer, fps=..., joints=..., window=..., stride=...)"
                    f".save_pretrained({str(folder)!r}), with the values that summary records under 'dataset'."
                )
            raise MotionProcessorError(f"{folder} has no {PROCESSOR_CONFIG_NAME} (the model's input contract).{hint}")
        config, _ = cls.get_feature_extractor_dict(pretrained_model_name_or_path, **hub)
        saved_class = config.get("processor_class")
        if saved_class not in (None, cls.__name__):
            raise MotionProcessorError(f"{pretrained_model_name_or_path}: {PROCESSOR_CONFIG_NAME} is for {saved_class}, not {cls.__name__}")
        known = {"fps", "joints", "window", "stride", "canonicalize", "representation", "resample"}
        unknown = sorted(set(config) - known - {"processor_class", "hf_motion_version", "feature_extractor_type", "auto_map"})
        if unknown:
            raise MotionProcessorError(
                f"{pretrained_model_name_or_path}: {PROCESSOR_CONFIG_NAME} has unknown keys {unknown}; known keys: "
                f"{sorted(known)} (saved by a newer hf_motion?)"
            )
        tokenizer = kwargs.pop("tokenizer", None)
        if tokenizer is None:
            from .tokenization.tokenizer import MotionTokenizer

            tokenizer = MotionTokenizer.from_pretrained(pretrained_model_name_or_path, **hub)
        values = {k: v for k, v in config.items() if k in known}
        values.update(kwargs)
        return cls(tokenizer, **values)

    @classmethod
    def from_dataset_config(cls, tokenizer: Any, config: Any, joints: Sequence[str], **kwargs: Any) -> MotionProcessor:
        """The processor of a model trained on a :class:`~hf_motion.MotionDatasetConfig` build
        (``joints``: the build's resolved joint names, ``build.stats.joint_names``)."""
        if config.fps is None:
            raise MotionProcessorError(
                "the dataset kept each clip's own frame rate (fps=None); a model's input contract needs one rate: build with fps=..."
            )
        return cls(
            tokenizer, fps=config.fps, joints=list(joints), window=config.window, stride=config.stride,
            canonicalize=config.canonicalize, **kwargs,
        )  # fmt: skip

    # ------------------------------------------------------------------ clips -> windows
    def load(self, motion: Motion | str | os.PathLike) -> tuple[Motion, str]:
        """A :class:`Motion` (read from a path with the registered reader) and how to name it."""
        if isinstance(motion, (str, os.PathLike)):
            from .io.readers import load_motion

            return load_motion(motion), str(motion)
        if isinstance(motion, Motion):
            return motion, str(motion.labels.get("source") or motion.labels.get("clip") or "motion")
        raise TypeError(
            f"expected a hf_motion.Motion or a motion file path, got {type(motion).__name__}; build a Motion from "
            "arrays with hf_motion.Motion(skeleton, rotations, root_positions, fps)"
        )

    def prepare(self, motion: Motion | str | os.PathLike, source: str | None = None) -> Motion:
        """The clip at the model's frame rate, on the model's joints in token order."""
        motion, name = self.load(motion)
        if motion.num_frames == 0:
            raise MotionProcessorError(f"{source or name} has no frames")
        return prepare_motion(motion, self.fps, self.joints, source=source or name, resample=self.resample)

    def window_starts(self, num_frames: int, max_windows: int | None = None) -> np.ndarray:
        """Start frames of the windows of a prepared clip of ``num_frames`` frames: every ``stride``
        frames; a clip shorter than ``window`` gives one window of all its frames. With
        ``max_windows``, that many evenly spaced windows are kept."""
        return window_starts(num_frames, self.window, self.stride, max_windows)

    def encode(self, motion: Motion) -> np.ndarray:
        """Token ids of a whole prepared clip (task ``>``, with ``<bos>``/``<eos>``)."""
        if self.representation == "angles":
            return np.asarray(self.tokenizer.encode_motion(angles=motion.rotations, task=">"), dtype=np.int64)
        from .kinematics import canonicalize_positions

        pos = motion.positions()
        if self.canonicalize != "none":
            pos = canonicalize_positions(pos, up_axis=motion.skeleton.up_axis, frame=0 if self.canonicalize == "first" else None)
        return np.asarray(self.tokenizer.encode_motion(positions=pos, task=">"), dtype=np.int64)

    def windows(
        self, motion: Motion | str | os.PathLike, max_windows: int | None = None, return_tensors: str | None = None
    ) -> BatchEncoding:
        """One clip's windows as model inputs: ``input_ids`` and ``attention_mask`` (one row per
        window, padded with the tokenizer's pad id), ``window_start`` (first frame of each, at
        ``fps``) and ``num_frames`` (of each window)."""
        prepared = self.prepare(motion)
        starts = self.window_starts(prepared.num_frames, max_windows)
        W = min(self.window, prepared.num_frames)
        rows = [self.encode(prepared.slice(int(s), int(s) + W)) for s in starts]
        return self._batch(rows, [int(s) for s in starts], [W] * len(rows), return_tensors)

    def __call__(
        self,
        motion: Motion | str | os.PathLike | Sequence[Motion | str | os.PathLike],
        max_windows: int | None = None,
        return_tensors: str | None = None,
    ) -> BatchEncoding:
        """The windows of one clip or a list of clips; with a list, ``clip_index`` says which
        clip each row came from."""
        if isinstance(motion, (list, tuple)):
            if not motion:
                raise ValueError("no clip given")
            rows, starts, frames, clip_index = [], [], [], []
            for i, m in enumerate(motion):
                enc = self.windows(m, max_windows=max_windows)
                rows.extend(np.asarray(r)[np.asarray(m, bool)] for r, m in zip(enc["input_ids"], enc["attention_mask"]))
                starts.extend(enc["window_start"])
                frames.extend(enc["num_frames"])
                clip_index.extend([i] * len(enc["input_ids"]))
            batch = self._batch(rows, starts, frames, return_tensors)
            batch["clip_index"] = clip_index if return_tensors is None else _as_tensor(clip_index, return_tensors)
            return batch
        return self.windows(motion, max_windows=max_windows, return_tensors=return_tensors)

    def _batch(self, rows, starts, frames, return_tensors) -> BatchEncoding:
        pad = self.tokenizer.pad_token_id
        if pad is None:
            raise MotionProcessorError("the tokenizer has no pad token; windows of different lengths cannot be batched")
        rows = [np.asarray(r, dtype=np.int64) for r in rows]
        L = max(len(r) for r in rows)
        ids = np.full((len(rows), L), pad, dtype=np.int64)
        mask = np.zeros((len(rows), L), dtype=np.int64)
        for i, r in enumerate(rows):
            ids[i, : len(r)] = r
            mask[i, : len(r)] = 1
        data = {
            "input_ids": ids,
            "attention_mask": mask,
            "window_start": np.asarray(starts, np.int64),
            "num_frames": np.asarray(frames, np.int64),
        }
        if return_tensors is None:
            data = {k: v.tolist() for k, v in data.items()}
        return BatchEncoding(data, tensor_type=return_tensors)

    def __repr__(self) -> str:
        return (
            f"MotionProcessor(fps={self.fps:g}, joints={len(self.joints)} [{_preview(self.joints, 4)}], window={self.window}, "
            f"stride={self.stride}, representation={self.representation!r}, canonicalize={self.canonicalize!r})"
        )


def _as_tensor(values, return_tensors: str):
    return BatchEncoding({"x": np.asarray(values, np.int64)}, tensor_type=return_tensors)["x"]
