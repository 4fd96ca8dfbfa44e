"""Old home of :mod:`hf_motion.tokenization.quantizer`, kept so user code does not break: ``hf_motion.quantizer`` *is* that module."""

import sys

from .tokenization import quantizer as _module

sys.modules[__name__] = _module
