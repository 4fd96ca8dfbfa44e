"""Old home of :mod:`hf_motion.tokenization.predictive_coding`, kept so user code does not break: ``hf_motion.predictive_coding`` *is* that module."""

import sys

from .tokenization import predictive_coding as _module

sys.modules[__name__] = _module
