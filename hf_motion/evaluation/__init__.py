"""Measuring motion models: metrics (:mod:`.metrics`, on arrays), the next-frame prediction
benchmark (:mod:`.prediction_benchmark`), generation metrics (:mod:`.generation_metrics`: FID,
diversity, recognition accuracy) and text-motion metrics (:mod:`.text_motion_metrics`).

This package imports none of them: :mod:`.metrics` sits low in the data flow (the kinematics
layer), the others at the evaluation layer (``tests/test_layering.py``)."""
