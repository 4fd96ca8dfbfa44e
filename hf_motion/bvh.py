"""Old home of :mod:`hf_motion.io.bvh`, kept so user code does not break: ``hf_motion.bvh`` *is* that module."""

import sys

from .io import bvh as _module

sys.modules[__name__] = _module
