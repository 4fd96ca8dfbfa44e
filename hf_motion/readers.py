"""Old home of :mod:`hf_motion.io.readers`, kept so user code does not break: ``hf_motion.readers`` *is* that module."""

import sys

from .io import readers as _module

sys.modules[__name__] = _module
