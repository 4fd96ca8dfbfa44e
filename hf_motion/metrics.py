"""Old home of :mod:`hf_motion.evaluation.metrics`, kept so user code does not break: ``hf_motion.metrics`` *is* that module."""

import sys

from .evaluation import metrics as _module

sys.modules[__name__] = _module
