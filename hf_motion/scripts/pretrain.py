"""M5 pretraining: a GPT-style model on the four-task motion text (ACM, PCM, FK, IK).

    accelerate launch recipes/pretrain.py                       # defaults: Bandai dataset-1, tiny preset
    accelerate launch recipes/pretrain.py --config recipes/pretrain.yaml --max_steps 2000
    accelerate launch --config_file recipes/accelerate/ddp.yaml recipes/pretrain.py --preset m5-5m

Every option is a field of :class:`hf_motion.training.PretrainDataArguments`,
:class:`~hf_motion.training.PretrainModelArguments` or :class:`~hf_motion.training.PretrainTrainingArguments` (``--help`` lists them); a YAML file given with
``--config`` sets defaults that command-line flags override. On a GPU it uses bf16 and SDPA
attention automatically.

Reruns and resuming. Before training, the run records its data settings (the motion files by
path, size and content digest, their labels, the tokenizer, windows, joint names, tasks), model
settings and optimisation settings in ``output_dir/run_settings.json`` (written atomically; the
sources as typed are recorded too, but not compared). A rerun into the same ``output_dir``:

* ``--resume auto`` (default): same settings -> resumes exactly from the last complete checkpoint
  (after a kill, the same command continues the same loss curve); other settings -> refuses,
  listing the fields that differ; checkpoints without a record (an older version's run) -> refuses;
* ``--resume PATH``: resumes that checkpoint whatever the record says (differences are logged),
  unless ``output_dir`` also holds later checkpoints of a run with other settings (a later
  ``--resume auto`` would pick those): then it refuses;
* ``--resume no``: starts from scratch; refuses if ``output_dir`` holds checkpoints (two runs'
  checkpoints in one folder would make a later resume pick the wrong one);
* ``--overwrite_output_dir``: deletes the previous run in ``output_dir`` (its checkpoints, model
  and records) and starts fresh.

The saved tokenizer records the training skeleton's joint names (``joint_names``), in token order.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..recipe_args import MotionArgumentParser
from ..training import PretrainDataArguments, PretrainModelArguments, PretrainTrainingArguments, pretrain

# The summary keys printed at the end (the rest is in pretrain_summary.json).
_HIDDEN = ("dataset", "joint_names")


def make_parser() -> MotionArgumentParser:
    return MotionArgumentParser(
        (PretrainDataArguments, PretrainModelArguments, PretrainTrainingArguments),
        prog="hf-motion pretrain",
        description="M5 pretraining of a motion GPT on the four-task motion text",
    )


def main(
    data_args: PretrainDataArguments,
    model_args: PretrainModelArguments,
    train_args: PretrainTrainingArguments,
    callbacks: list | None = None,
) -> dict:
    """Pretrain (:func:`hf_motion.training.pretrain`) and print the summary on the main process."""
    summary = pretrain(data_args, model_args, train_args, callbacks=callbacks)
    if train_args.process_index == 0:
        print("\n" + "\n".join(f"{k:>28}: {v}" for k, v in summary.items() if k not in _HIDDEN))
    return summary


def cli(argv: Sequence[str] | None = None, callbacks: list | None = None) -> dict:
    """Parse ``argv`` (default: the command line; ``--config FILE.yaml`` supplies defaults) and run."""
    return main(*make_parser().parse(argv), callbacks=callbacks)


if __name__ == "__main__":
    cli()
