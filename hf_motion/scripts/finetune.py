"""Clinical-style fine-tuning under grouped cross-validation (M5 section 5), with the comparison report.

    accelerate launch recipes/finetune.py                         # defaults: recipes/finetune.yaml (Bandai dataset-2)
    accelerate launch recipes/finetune.py --compare               # pretrained vs from scratch vs random forest, same folds
    hf-motion finetune --config my.yaml --from_scratch            # M5-fs only
    hf-motion finetune --data /path/to/clips --labels labels.csv --group_by patient --tasks tasks.yaml

Every option is a field of :class:`hf_motion.finetuning.FinetuneDataArguments`,
:class:`~hf_motion.cv.CrossValidationArguments`, :class:`~hf_motion.finetuning.FinetuneModelArguments`,
:class:`~hf_motion.baselines.kinematic.ForestArguments` or
:class:`~hf_motion.finetuning.FinetuneTrainingArguments` (``--help`` lists them); a YAML file
given with ``--config`` sets defaults that flags override, and may hold an inline ``tasks:`` list.
What a run does: :mod:`hf_motion.finetuning`.

Outputs in ``output_dir``: ``results.md`` (one table: task x metric rows, one column per system,
mean ± std over folds with the number of folds), ``predictions.csv``, ``metrics_per_fold.csv``,
``folds.csv``, ``confusion_<task>.png`` per multiclass task, ``summary.json``, and ``model/`` (the
released model with its processor, tokenizer and ``README.md`` card).

CPU budget. On a 2-core CPU the default ``--compare`` run on Bandai dataset-2 takes about 12
minutes (one torch thread); the knobs that get it there are in ``recipes/finetune.yaml`` and
printed at the top of ``results.md``: at most 4 clips per session (280 of 2,902 clips, seeded), at
most 3 windows per clip, 5 folds, at most 5 epochs with early stopping, batch 8, the tiny
pretrained model. Attention dropout is off by default: with it, PyTorch's CPU attention falls back
from the fused kernel to the unfused one, several times slower at these sequence lengths.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from ..baselines.kinematic import ForestArguments
from ..cv import CrossValidationArguments
from ..finetuning import (
    CrossValidationResult,
    FinetuneDataArguments,
    FinetuneError,
    FinetuneModelArguments,
    FinetuneTrainingArguments,
    cross_validate,
    target_checks,
)  # fmt: skip
from ..recipe_args import MotionArgumentParser, run_cross_validation_script

ARGUMENT_CLASSES = (FinetuneDataArguments, CrossValidationArguments, FinetuneModelArguments, ForestArguments, FinetuneTrainingArguments)


def make_parser(default_config: str | os.PathLike | None = None) -> MotionArgumentParser:
    return MotionArgumentParser(
        ARGUMENT_CLASSES,
        default_config=default_config,
        extract=("tasks",),
        prog="hf-motion finetune",
        description="fine-tune a pretrained motion model on clip labels under grouped cross-validation",
    )


def main(
    data_args: FinetuneDataArguments,
    cv_args: CrossValidationArguments,
    model_args: FinetuneModelArguments,
    forest_args: ForestArguments,
    train_args: FinetuneTrainingArguments,
    inline_tasks: tuple | None = None,
) -> CrossValidationResult:
    """Cross-validate, save the files and the released model on the main process, print the table."""
    result = cross_validate(data_args, cv_args, model_args, forest_args, train_args, inline_tasks)
    if train_args.process_index != 0:
        return result
    out = result.save()
    if result.model is not None and train_args.push_to_hub:
        from ..model_card import push_to_hub

        if not train_args.hub_model_id:
            raise SystemExit("--push_to_hub needs --hub_model_id owner/name")
        push_to_hub(out / "model", train_args.hub_model_id, token=train_args.hub_token, private=train_args.hub_private_repo)
    print("\n" + result.to_markdown())
    for line in target_checks(result.summary):
        print(line)
    multiclass = any(t["kind"] == "multiclass" for t in result.summary["tasks"].values())
    print(f"wrote {out}/results.md, predictions.csv, metrics_per_fold.csv, folds.csv, summary.json"
          + (", confusion_<task>.png" if multiclass else "") + (", model/" if result.model is not None else ""))  # fmt: skip
    return result


def cli(argv: Sequence[str] | None = None, default_config: str | os.PathLike | None = None) -> CrossValidationResult:
    """Parse ``argv`` (default: the command line) over ``--config`` (else ``default_config``) and run.

    Bad options, labels or folds exit with ``error: <what to change>`` instead of a traceback."""
    return run_cross_validation_script(make_parser(default_config), main, argv, errors=(FinetuneError,))


if __name__ == "__main__":
    cli()
