"""The error every layer raises for bad motion data, kept in the bottom layer.

:class:`MotionError` lives here, below :mod:`hf_motion.motion`, :mod:`hf_motion.kinematics` and
:mod:`hf_motion.skeletons`, so those modules can raise it without importing one another (they
used to, in a cycle). It is re-exported as ``hf_motion.MotionError`` and
``hf_motion.motion.MotionError``; import it from either. :class:`MotionDatasetError` is here for
the same reason: the readers (:mod:`hf_motion.readers`) raise it below the datasets layer.
"""

from __future__ import annotations

__all__ = ["MotionError", "MotionDatasetError"]


class MotionError(ValueError):
    """Bad motion data: wrong shapes, non-finite values, unknown joints."""


class MotionDatasetError(ValueError):
    """Bad motion collection or dataset input; the message names the file (and what is wrong)."""
