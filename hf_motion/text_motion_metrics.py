"""Old home of :mod:`hf_motion.evaluation.text_motion_metrics`, kept so user code does not break: ``hf_motion.text_motion_metrics`` *is* that module."""

import sys

from .evaluation import text_motion_metrics as _module

sys.modules[__name__] = _module
