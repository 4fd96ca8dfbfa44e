"""Old home of :mod:`hf_motion.evaluation.code_prediction`, kept so user code does not break: ``hf_motion.code_prediction`` *is* that module."""

import sys

from .evaluation import code_prediction as _module

sys.modules[__name__] = _module
