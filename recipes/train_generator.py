"""PoseGPT-style generation over learned motion codes, and its evaluation, in one run (``hf_motion.scripts.train_generator``, also ``hf-motion train-generator``).

``--help`` lists the options; see :mod:`hf_motion.scripts.train_generator` for what a run does and writes.
"""

from hf_motion.scripts.train_generator import cli

if __name__ == "__main__":
    cli()
