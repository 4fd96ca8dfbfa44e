"""Old home of :mod:`hf_motion.evaluation.prediction_benchmark`, kept so user code does not break: ``hf_motion.prediction_benchmark`` *is* that module."""

import sys

from .evaluation import prediction_benchmark as _module

sys.modules[__name__] = _module
