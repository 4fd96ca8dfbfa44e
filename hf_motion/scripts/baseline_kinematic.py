"""Random forest on hand-made kinematic features, under grouped cross-validation.

    python recipes/baseline_kinematic.py                                      # Bandai dataset-1, 5 grouped folds
    python recipes/baseline_kinematic.py --config recipes/baseline_kinematic.yaml --n_splits 3 --cv_scheme kfold
    hf-motion baseline-kinematic --data bandai-namco:dataset-2                # elderly / exhausted styles
    hf-motion baseline-kinematic --data /path/to/clips --labels labels.csv --group_by patient --tasks my_tasks.yaml

Every option is a field of :class:`hf_motion.datasets.selection.ClipSelectionArguments`,
:class:`~hf_motion.cv.CrossValidationArguments`, :class:`~hf_motion.baselines.kinematic.ForestArguments`
or :class:`~hf_motion.baselines.kinematic.KinematicBaselineArguments`; ``--config`` YAML sets
defaults and may hold an inline ``tasks:`` list. Without tasks, a named source's shipped list is
used (Bandai-Namco: style, content, tired vs normal); a folder needs ``--tasks``. Keep the data,
fold and seed options equal to a fine-tuning run's to compare on the same folds (``hf-motion
finetune --compare`` does it in one run).

Writes to ``output_dir``: ``metrics_per_fold.csv``, ``predictions_<task>.csv`` (every clip's
out-of-fold prediction), ``folds.csv``, ``summary.json`` / ``summary.md`` (mean ± std over folds,
the pooled metric and the top features per task).
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from ..baselines.kinematic import ForestArguments, KinematicBaselineArguments, KinematicBaselineResult, run_kinematic_baseline
from ..cv import CrossValidationArguments
from ..datasets.selection import ClipSelectionArguments
from ..errors import MotionDatasetError
from ..recipe_args import MotionArgumentParser, run_cross_validation_script


def make_parser(default_config: str | os.PathLike | None = None) -> MotionArgumentParser:
    return MotionArgumentParser(
        (ClipSelectionArguments, CrossValidationArguments, ForestArguments, KinematicBaselineArguments),
        default_config=default_config,
        extract=("tasks",),
        prog="hf-motion baseline-kinematic",
        description="random forest on kinematic clip features under grouped cross-validation",
    )


def main(
    data_args: ClipSelectionArguments,
    cv_args: CrossValidationArguments,
    forest_args: ForestArguments,
    run_args: KinematicBaselineArguments,
    inline_tasks: tuple | None = None,
) -> KinematicBaselineResult:
    """Run the baseline, write its files and print the table."""
    result = run_kinematic_baseline(data_args, cv_args, forest_args, run_args, inline_tasks)
    out = result.save(run_args.output_dir)
    print(result.to_markdown())
    print(f"wrote {out}/summary.md, summary.json, metrics_per_fold.csv, predictions_<task>.csv, folds.csv")
    return result


def cli(argv: Sequence[str] | None = None, default_config: str | os.PathLike | None = None) -> KinematicBaselineResult:
    """Parse ``argv`` (default: the command line) over ``--config`` (else ``default_config``) and run.

    Bad options, labels or data exit with ``error: <what to change>`` instead of a traceback."""
    return run_cross_validation_script(make_parser(default_config), main, argv, errors=(MotionDatasetError,))


if __name__ == "__main__":
    cli()
