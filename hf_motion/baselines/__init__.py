"""Baselines a motion model must beat, measured in the same run.

* :mod:`hf_motion.baselines.kinematic`: a random forest on kinematic features of whole clips
  (the baseline M5's fine-tuned model often lost to).
* :mod:`hf_motion.baselines.prediction`: zero- and constant-velocity extrapolation and the
  quantized oracle, for motion prediction.
"""

from .prediction import constant_velocity, quantized_oracle, zero_velocity
