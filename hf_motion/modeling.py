"""The motion GPT-2 family's old home, kept so user code does not break: ``hf_motion.modeling`` *is*
:mod:`hf_motion.models.motion_gpt2.modeling_motion_gpt2` (the same module object), whose
configuration lives in :mod:`hf_motion.models.motion_gpt2.configuration_motion_gpt2`."""

import sys

from .models.motion_gpt2 import modeling_motion_gpt2 as _modeling

sys.modules[__name__] = _modeling
