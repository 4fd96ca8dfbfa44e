"""Scaling sweep over model presets (``hf_motion.scripts.scaling``, also ``hf-motion scaling``).

    python recipes/scaling.py                                     # tiny, m5-150k, m5-1m; 300 steps each on CPU
    python recipes/scaling.py --presets tiny m5-150k m5-1m m5-5m m5-26m --max_steps 20000 \\
        --pretrain_config recipes/pretrain_full.yaml              # on a GPU (bf16 + SDPA automatically)

``--help`` lists the options; see :mod:`hf_motion.scaling` for what is trained and written.
"""

from hf_motion.scripts.scaling import cli

if __name__ == "__main__":
    cli()
