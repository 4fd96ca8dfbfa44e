"""Old home of :mod:`hf_motion.io.keypoints`, kept so user code does not break: ``hf_motion.keypoints`` *is* that module."""

import sys

from .io import keypoints as _module

sys.modules[__name__] = _module
