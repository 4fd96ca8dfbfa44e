"""M5 pretraining (``hf_motion.scripts.pretrain``, also ``hf-motion pretrain``).

    accelerate launch recipes/pretrain.py                       # defaults: Bandai dataset-1, tiny preset
    accelerate launch recipes/pretrain.py --config recipes/pretrain.yaml --max_steps 2000
    accelerate launch --config_file recipes/accelerate/ddp.yaml recipes/pretrain.py --preset m5-5m

``--help`` lists the options; see :mod:`hf_motion.scripts.pretrain` for reruns and resuming.
"""

from hf_motion.scripts.pretrain import cli

if __name__ == "__main__":
    cli()
