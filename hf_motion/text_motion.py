"""Old home of :mod:`hf_motion.tokenization.text_motion`, kept so user code does not break: ``hf_motion.text_motion`` *is* that module."""

import sys

from .tokenization import text_motion as _module

sys.modules[__name__] = _module
