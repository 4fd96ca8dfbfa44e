"""Old home of :mod:`hf_motion.models.motion_code_gpt.modeling_motion_code_gpt`, kept so user code does not break: ``hf_motion.code_gpt`` *is* that module."""

import sys

from .models.motion_code_gpt import modeling_motion_code_gpt as _module

sys.modules[__name__] = _module
