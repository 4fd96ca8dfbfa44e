"""Old home of :mod:`hf_motion.evaluation.generation_metrics`, kept so user code does not break: ``hf_motion.generation_metrics`` *is* that module."""

import sys

from .evaluation import generation_metrics as _module

sys.modules[__name__] = _module
