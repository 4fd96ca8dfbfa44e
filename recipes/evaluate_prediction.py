"""Motion-prediction benchmark (``hf_motion.scripts.evaluate_prediction``): 2 s of context, predict 400 ms.

    python recipes/evaluate_prediction.py --model runs/pretrain-tiny
    python recipes/evaluate_prediction.py --config recipes/evaluate_prediction.yaml --max_windows 2000 --device cuda
    python recipes/evaluate_prediction.py --baselines_only                 # no model needed

``--help`` lists the options; see :mod:`hf_motion.prediction_benchmark` for what is measured.
"""

from hf_motion.scripts.evaluate_prediction import cli

if __name__ == "__main__":
    cli()
