"""Old home of :mod:`hf_motion.tokenization.tokenizer`, kept so user code does not break: ``hf_motion.tokenizer`` *is* that module."""

import sys

from .tokenization import tokenizer as _module

sys.modules[__name__] = _module
