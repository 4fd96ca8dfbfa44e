"""``pipeline("motion-classification")`` and ``pipeline("motion-prediction")``, registered on import.

    import hf_motion
    from transformers import pipeline

    classify = pipeline("motion-classification", model="runs/finetune/model", device="cpu")
    classify("walk.bvh")                 # [{"label": "proud", "score": 0.61}, ...]
    predict = pipeline("motion-prediction", model="runs/pretrain-tiny", device="cpu")
    predict("walk.bvh", seconds=0.4)     # a hf_motion.Motion: the next 0.4 s at the model's rate

Both read the model folder's :class:`~hf_motion.MotionProcessor` (``preprocessor_config.json``,
written by pretraining and fine-tuning), so a clip at another frame rate or with extra joints is
brought to the model's input first, and a skeleton that lacks the model's joints is refused by name.
Inputs: a motion file path (BVH, AMASS ``.npz``, ...), a :class:`~hf_motion.Motion`, a dict of
arrays ``{"skeleton", "rotations", "root_positions", "fps"}`` (the :class:`~hf_motion.Motion`
fields), or a list of these (one result each).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import torch
from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification, Pipeline
from transformers.pipelines import PIPELINE_REGISTRY

from .motion import Motion
from .processing import MotionProcessor, MotionProcessorError

__all__ = ["MotionClassificationPipeline", "MotionPredictionPipeline"]


def _as_motion(inputs: Any) -> Motion | str | os.PathLike:
    """A path or Motion as given; a dict of arrays becomes a Motion."""
    if isinstance(inputs, (str, os.PathLike, Motion)):
        return inputs
    if isinstance(inputs, dict):
        missing = [k for k in ("skeleton", "rotations", "fps") if k not in inputs]
        if missing:
            raise MotionProcessorError(
                f"a motion given as arrays needs the keys skeleton, rotations and fps (root_positions optional); missing {missing}"
            )
        return Motion(**inputs)
    raise TypeError(f"a motion pipeline takes a motion file path, a hf_motion.Motion or a dict of its arrays, got {type(inputs).__name__}")


class _MotionPipeline(Pipeline):
    """Shared set-up: the processor comes from the model folder (or ``processor=``)."""

    # The Auto* loaders of pipeline() know nothing of motion; the processor is read here instead.
    _load_processor = False
    _load_tokenizer = False
    _load_feature_extractor = False
    _load_image_processor = False
    _load_video_processor = False

    def __init__(self, model, processor: MotionProcessor | None = None, **kwargs: Any):
        if processor is None:
            source = getattr(model, "name_or_path", None)
            if not source:
                raise MotionProcessorError(
                    "this model was not loaded from a folder, so its MotionProcessor cannot be found: pass "
                    "processor=MotionProcessor.from_pretrained(model_folder)"
                )
            processor = MotionProcessor.from_pretrained(source)
        if not isinstance(processor, MotionProcessor):
            raise TypeError(f"processor must be a hf_motion.MotionProcessor, got {type(processor).__name__}")
        super().__init__(model, processor=processor, **kwargs)


class MotionClassificationPipeline(_MotionPipeline):
    """Clip-level labels from a fine-tuned :class:`~hf_motion.MotionGPT2ForMultiTask`.

    The clip is cut into the model's windows (:meth:`MotionProcessor.windows`), the windows are
    scored in batches, and their probabilities (or values) are averaged per clip, exactly as
    fine-tuning's cross-validation scores clips (:func:`hf_motion.finetuning.clip_predictions`; a
    ``pooling="slot-statistics"`` model averages the windows' logits). Returns, per target, a list of ``{"label", "score"}`` sorted by
    score (multiclass: ``top_k`` of them, default all; binary: both labels), or ``[{"value"}]`` for a
    regression target; a model with several targets gives ``{target: that list}``.

    Args (at call time):
        top_k: how many classes to return for multiclass targets.
        max_windows: score at most this many evenly spaced windows per clip.
        window_batch_size: windows per forward pass (memory, not results).
    """

    def _sanitize_parameters(self, top_k=None, max_windows=None, window_batch_size=None, **kwargs):
        pre = {} if max_windows is None else {"max_windows": max_windows}
        fwd = {} if window_batch_size is None else {"window_batch_size": int(window_batch_size)}
        post = {} if top_k is None else {"top_k": int(top_k)}
        return pre, fwd, post

    def preprocess(self, inputs, max_windows: int | None = None):
        return dict(self.processor(_as_motion(inputs), max_windows=max_windows, return_tensors="pt"))

    def _forward(self, model_inputs, window_batch_size: int = 32):
        ids, mask = model_inputs["input_ids"], model_inputs["attention_mask"]
        outputs = []
        for i in range(0, ids.shape[0], window_batch_size):
            out = self.model(input_ids=ids[i : i + window_batch_size], attention_mask=mask[i : i + window_batch_size])
            outputs.append(out.logits)
        return {"logits": torch.cat(outputs)}

    def postprocess(self, model_outputs, top_k: int | None = None):
        from .finetuning import clip_predictions

        logits = model_outputs["logits"]
        per_clip = clip_predictions(self.model, logits, [0] * logits.shape[0])
        results = {}
        for target in self.model.config.targets:
            name, kind = target["name"], target["kind"]
            clip = np.asarray(per_clip[name][1])[0]
            if kind == "regression":
                results[name] = [{"value": float(clip)}]
                continue
            scores = np.array([1.0 - clip, clip]) if kind == "binary" else np.asarray(clip)
            labels = target.get("classes") or [f"LABEL_{k}" for k in range(len(scores))]
            order = np.argsort(-scores, kind="stable")
            if kind == "multiclass" and top_k is not None:
                order = order[:top_k]
            results[name] = [{"label": labels[k], "score": float(scores[k])} for k in order]
        return next(iter(results.values())) if len(results) == 1 else results


class MotionPredictionPipeline(_MotionPipeline):
    """The next ``seconds`` of a clip from a pretrained motion language model, at the model's frame
    rate (:func:`hf_motion.generation.predict`): a :class:`~hf_motion.Motion` for a model that reads
    angles (the processor's ``representation``), decoded positions for one that reads positions.

    Args (at call time): ``seconds`` (default 0.4), ``include_context``, ``decoding`` and the other
    keyword arguments of :func:`~hf_motion.generation.predict`.
    """

    def _sanitize_parameters(self, **kwargs):
        return {}, kwargs, {}

    def preprocess(self, inputs):
        return {"motion": self.processor.prepare(_as_motion(inputs))}

    def _forward(self, model_inputs, seconds: float = 0.4, **kwargs):
        from .generation import predict

        kwargs.setdefault("representation", self.processor.representation)
        kwargs.setdefault("canonicalize", self.processor.canonicalize)
        return {"motion": predict(self.model, self.processor, model_inputs["motion"], seconds, **kwargs)}

    def postprocess(self, model_outputs):
        return model_outputs["motion"]


PIPELINE_REGISTRY.register_pipeline(
    "motion-classification", pipeline_class=MotionClassificationPipeline, pt_model=AutoModelForSequenceClassification, type="multimodal"
)
PIPELINE_REGISTRY.register_pipeline(
    "motion-prediction", pipeline_class=MotionPredictionPipeline, pt_model=AutoModelForCausalLM, type="multimodal"
)
