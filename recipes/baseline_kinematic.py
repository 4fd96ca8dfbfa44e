"""Random forest on kinematic features (``hf_motion.scripts.baseline_kinematic``, also ``hf-motion baseline-kinematic``).

    python recipes/baseline_kinematic.py                          # defaults: recipes/baseline_kinematic.yaml
    python recipes/baseline_kinematic.py --data /path/to/clips --labels labels.csv --group_by patient --tasks tasks.yaml

``--help`` lists the options; see :mod:`hf_motion.baselines.kinematic`.
"""

from pathlib import Path

from hf_motion.scripts.baseline_kinematic import cli

if __name__ == "__main__":
    cli(default_config=Path(__file__).with_suffix(".yaml"))
