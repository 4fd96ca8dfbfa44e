"""Motion-prediction benchmark (M5 appendix C, after Aksan et al.): 2 s of context, predict 400 ms.

    python recipes/evaluate_prediction.py --model runs/pretrain-tiny
    python recipes/evaluate_prediction.py --config recipes/evaluate_prediction.yaml --max_windows 2000 --device cuda
    python recipes/evaluate_prediction.py --baselines_only                 # no model needed
    python recipes/evaluate_prediction.py --model runs/pretrain-tiny --test_data my_clips/ --horizons 1f,2f,4f

The model against zero-velocity, constant-velocity, ridge regression, siMLPe and the quantized
oracle on the held-out split of its pretraining data (or ``--test_data``), at every horizon.
Every option is a field of :class:`hf_motion.prediction_benchmark.PredictionBenchmarkArguments`,
:class:`~hf_motion.prediction_benchmark.PredictionDataArguments` or
:class:`~hf_motion.prediction_benchmark.ContinuousBaselineArguments` (``--help`` lists them); a
YAML file given with ``--config`` sets defaults that command-line flags override. What is
measured, on which clips, and the files written (``prediction.md``, ``prediction.json``,
``prediction.png`` in ``--output_dir``, default ``<model>/prediction``): see
:mod:`hf_motion.prediction_benchmark`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from ..evaluation.prediction_benchmark import (
    ContinuousBaselineArguments,
    EvaluationError,
    PredictionBenchmarkArguments,
    PredictionBenchmarkResult,
    PredictionDataArguments,
    evaluate_prediction,
)  # fmt: skip
from ..recipe_args import MotionArgumentParser


def make_parser() -> MotionArgumentParser:
    return MotionArgumentParser(
        (PredictionBenchmarkArguments, PredictionDataArguments, ContinuousBaselineArguments),
        prog="hf-motion evaluate-prediction",
        description="next-frame prediction benchmark: a motion model against the zero-velocity, constant-velocity, "
        "quantized-oracle, ridge and siMLPe baselines",
    )


def main(
    args: PredictionBenchmarkArguments,
    data_args: PredictionDataArguments,
    baseline_args: ContinuousBaselineArguments,
) -> PredictionBenchmarkResult:
    """Run the benchmark (:func:`hf_motion.prediction_benchmark.evaluate_prediction`) and print the table."""
    result = evaluate_prediction(args, data_args, baseline_args)
    print("\n" + result.to_markdown())
    if result.model_name is not None:
        print(result.verdict())
    out = Path(result.output_dir)
    print(f"wrote {out / 'prediction.md'}, prediction.json and prediction.png ({result.wall_seconds:.0f} s)")
    return result


def cli(argv: Sequence[str] | None = None) -> PredictionBenchmarkResult:
    """Parse ``argv`` (default: the command line; ``--config FILE.yaml`` supplies defaults) and run.

    A bad option or data (:class:`~hf_motion.prediction_benchmark.EvaluationError`) exits with
    ``error: <what to change>`` instead of a traceback."""
    logging.basicConfig(level=logging.INFO, format="%(message)s")  # the benchmark's notes, as it runs
    try:
        return main(*make_parser().parse(argv))
    except EvaluationError as e:
        raise SystemExit(f"error: {e}") from None


if __name__ == "__main__":
    cli()
