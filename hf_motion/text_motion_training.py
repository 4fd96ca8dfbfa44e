"""Old home of :mod:`hf_motion.models.motion_t5.training_motion_t5`, kept so user code does not break: ``hf_motion.text_motion_training`` *is* that module."""

import sys

from .models.motion_t5 import training_motion_t5 as _module

sys.modules[__name__] = _module
