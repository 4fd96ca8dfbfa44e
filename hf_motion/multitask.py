"""Old home of :mod:`hf_motion.models.motion_gpt2.modeling_motion_gpt2_multitask`, kept so user code does not break: ``hf_motion.multitask`` *is* that module."""

import sys

from .models.motion_gpt2 import modeling_motion_gpt2_multitask as _module

sys.modules[__name__] = _module
