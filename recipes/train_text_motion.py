"""Text and motion in one model (MotionGPT on our stack): a T5 whose vocabulary is a text vocabulary (``hf_motion.scripts.train_text_motion``, also ``hf-motion train-text-motion``).

``--help`` lists the options; see :mod:`hf_motion.scripts.train_text_motion` for what a run does and writes.
"""

from hf_motion.scripts.train_text_motion import cli

if __name__ == "__main__":
    cli()
