"""Old home of :mod:`hf_motion.io.amass`, kept so user code does not break: ``hf_motion.amass`` *is* that module."""

import sys

from .io import amass as _module

sys.modules[__name__] = _module
