"""Fine-tuning under grouped cross-validation (``hf_motion.scripts.finetune``, also ``hf-motion finetune``).

    accelerate launch recipes/finetune.py                         # defaults: recipes/finetune.yaml (Bandai dataset-2)
    accelerate launch recipes/finetune.py --compare               # pretrained vs from scratch vs random forest

``--help`` lists the options; what a run does is in :mod:`hf_motion.finetuning`.
"""

from pathlib import Path

from hf_motion.scripts.finetune import cli

if __name__ == "__main__":
    cli(default_config=Path(__file__).with_suffix(".yaml"))
