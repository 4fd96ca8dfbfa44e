"""Model folders that say what they need to load: a loader file and ``auto_map`` entries.

transformers knows hf_motion's classes only after ``import hf_motion``. Without it, a model
folder fails with "model type `motion_gpt2` ... your version of Transformers is out of date",
which sends the user to the wrong fix, and ``AutoProcessor`` quietly returns a plain tokenizer
instead of the :class:`~hf_motion.MotionProcessor`. So every model config and processor that
hf_motion saves names its classes in ``auto_map``, pointing at ``hf_motion_loader.py`` beside it:

* with ``import hf_motion`` (the documented way): transformers uses the registered classes; the
  loader file is not run and ``trust_remote_code`` is not needed;
* without it: transformers refuses to run the folder's code (it asks for ``trust_remote_code=True``)
  instead of the misleading messages, and the loader's first lines say to ``import hf_motion``;
* with ``trust_remote_code=True``: the loader imports hf_motion and hands transformers its classes
  (subclasses of the same name, so the bookkeeping transformers does on a remote class never
  touches hf_motion's own); without hf_motion installed, transformers says it needs ``hf_motion``.

Tokenizer folders carry no ``auto_map`` on purpose: without hf_motion they load as a plain
``TokenizersBackend`` with the same ids (the documented text-level use).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

__all__ = [
    "LOADER_CLASSES",
    "LOADER_FILE",
    "LOADER_MODULE",
    "config_auto_map",
    "is_hf_motion_class",
    "loader_source",
    "processor_auto_map",
    "write_loader",
]

LOADER_MODULE = "hf_motion_loader"
LOADER_FILE = f"{LOADER_MODULE}.py"

# Every class an Auto class hands out for hf_motion, by the module that defines it.
LOADER_CLASSES: dict[str, str] = {
    "MotionGPT2Config": "hf_motion.models.motion_gpt2.configuration_motion_gpt2",
    "MotionGPT2Model": "hf_motion.models.motion_gpt2.modeling_motion_gpt2",
    "MotionGPT2ForCausalLM": "hf_motion.models.motion_gpt2.modeling_motion_gpt2",
    "MotionGPT2ForSequenceClassification": "hf_motion.models.motion_gpt2.modeling_motion_gpt2",
    "MotionMultiTaskConfig": "hf_motion.models.motion_gpt2.modeling_motion_gpt2_multitask",
    "MotionGPT2ForMultiTask": "hf_motion.models.motion_gpt2.modeling_motion_gpt2_multitask",
    "MotionCodeGPTConfig": "hf_motion.models.motion_code_gpt.modeling_motion_code_gpt",
    "MotionCodeGPTForCausalLM": "hf_motion.models.motion_code_gpt.modeling_motion_code_gpt",
    "MotionVQConfig": "hf_motion.models.motion_vq.configuration_motion_vq",
    "MotionVQVAE": "hf_motion.models.motion_vq.modeling_motion_vq",
    "MotionVQProcessor": "hf_motion.models.motion_vq.processing_motion_vq",
    "MotionEvaluatorConfig": "hf_motion.evaluation.generation_metrics",
    "MotionEvaluator": "hf_motion.evaluation.generation_metrics",
    "TextMotionEvaluatorConfig": "hf_motion.evaluation.text_motion_metrics",
    "TextMotionEvaluator": "hf_motion.evaluation.text_motion_metrics",
    "MotionProcessor": "hf_motion.processing",
}

# The Auto classes hf_motion registers model classes with (a test checks that this is all of them).
MODEL_AUTO_CLASSES = ("AutoModel", "AutoModelForCausalLM", "AutoModelForSequenceClassification")

_HEADER = '''"""This folder was saved by hf_motion, the motion extension of transformers.

Load it with hf_motion imported:

    pip install hf_motion
    import hf_motion                      # registers the motion classes with transformers
    from transformers import AutoModel    # AutoConfig, AutoProcessor, AutoModelForCausalLM, ...

or pass ``trust_remote_code=True`` to transformers, which runs this file. It only imports hf_motion
and hands its classes to transformers, as subclasses of the same name.
"""

import hf_motion  # noqa: F401  (importing it registers the motion classes with the Auto classes)
'''


def _origin(cls: type) -> type:
    """hf_motion's own class behind ``cls`` (``cls`` itself, or the class a loader subclass wraps)."""
    for klass in cls.__mro__:
        if klass.__module__.startswith("hf_motion."):
            return klass
    raise TypeError(f"{cls.__name__} is not an hf_motion class")


def is_hf_motion_class(cls: type) -> bool:
    """``cls`` is one of hf_motion's classes or the loader's subclass of one; a user's own subclass
    is not (it is loaded by the user's package, and the loader does not know it)."""
    module = cls.__module__
    return module.startswith("hf_motion.") or module.rsplit(".", 1)[-1] == LOADER_MODULE


def _ref(cls: type) -> str:
    name = _origin(cls).__name__
    if name not in LOADER_CLASSES:
        raise TypeError(f"{name} is missing from hf_motion.remote_code.LOADER_CLASSES: add it with its module")
    return f"{LOADER_MODULE}.{name}"


def loader_source() -> str:
    """The text of ``hf_motion_loader.py``: one subclass per class in :data:`LOADER_CLASSES`."""
    lines = [_HEADER]
    by_module: dict[str, list[str]] = {}
    for name, module in LOADER_CLASSES.items():
        by_module.setdefault(module, []).append(name)
    for module, names in by_module.items():
        lines.append(f"from {module} import {', '.join(f'{n} as _{n}' for n in names)}")
    for name in LOADER_CLASSES:
        lines.append(f"\n\nclass {name}(_{name}):\n    pass")
    return "\n".join(lines) + "\n"


def write_loader(folder: str | os.PathLike, owner: Any = None) -> Path | None:
    """Write ``folder/hf_motion_loader.py`` (atomically; the folder is created). With ``owner``
    (the object being saved), nothing is written for a user's own subclass."""
    from .fileio import atomic_write_text

    if owner is not None and not is_hf_motion_class(type(owner)):
        return None
    path = Path(folder) / LOADER_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, loader_source())
    return path


def config_auto_map(config: Any) -> dict[str, str]:
    """``auto_map`` of an hf_motion config (or config class): ``AutoConfig`` and each Auto model
    class that the config's class is registered with."""
    import transformers

    own = _origin(config if isinstance(config, type) else type(config))
    out = {"AutoConfig": _ref(own)}
    for auto_name in MODEL_AUTO_CLASSES:
        mapping = getattr(transformers, auto_name)._model_mapping
        if own in mapping:
            out[auto_name] = _ref(mapping[own])
    return out


def processor_auto_map(processor: Any, auto_classes: tuple[str, ...] = ("AutoProcessor",)) -> dict[str, str]:
    """``auto_map`` of an hf_motion processor: each of ``auto_classes`` (the Auto classes its class
    is registered with) names the loader's class; empty for a user's own subclass."""
    if not is_hf_motion_class(type(processor)):
        return {}
    return {name: _ref(type(processor)) for name in auto_classes}


class LoaderConfigMixin:
    """For hf_motion configs: ``save_pretrained`` also writes the loader and ``auto_map`` (see the module)."""

    def save_pretrained(self, save_directory: str | os.PathLike, push_to_hub: bool = False, **kwargs: Any):
        if is_hf_motion_class(type(self)) and not Path(save_directory).is_file():  # a file: transformers' own error follows
            self.auto_map = {**(getattr(self, "auto_map", None) or {}), **config_auto_map(self)}
            write_loader(save_directory, owner=self)
        return super().save_pretrained(save_directory, push_to_hub=push_to_hub, **kwargs)
