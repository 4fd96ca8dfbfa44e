"""Train the learned motion tokenizer (a VQ-VAE over pose features) and measure it (``hf_motion.scripts.train_vq``, also ``hf-motion train-vq``).

``--help`` lists the options; see :mod:`hf_motion.scripts.train_vq` for what a run does and writes.
"""

from hf_motion.scripts.train_vq import cli

if __name__ == "__main__":
    cli()
