"""Old home of :mod:`hf_motion.baselines.continuous`, kept so user code does not break: ``hf_motion.continuous_baselines`` *is* that module."""

import sys

from .baselines import continuous as _module

sys.modules[__name__] = _module
