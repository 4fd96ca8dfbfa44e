"""Scaling (``hf-motion scaling``; the library part is :mod:`hf_motion.scaling`): train several model presets on the same data and plot bits per frame against size.

    python recipes/scaling.py                                     # tiny, m5-150k, m5-1m; 300 steps each on CPU
    python recipes/scaling.py --presets tiny m5-150k m5-1m m5-5m m5-26m --max_steps 20000 \\
        --pretrain_config recipes/pretrain_full.yaml              # on a GPU (bf16 + SDPA automatically)
    accelerate launch --config_file recipes/accelerate/ddp.yaml recipes/scaling.py --max_steps 20000

M5 reports that cross-entropy falls linearly in log model size. Each preset is trained by
pretraining (:func:`hf_motion.training.pretrain`) into ``<output_dir>/<preset>`` with the same data options,
seed and steps; options this script does not know (``--max_clips 40``, ``--learning_rate 1e-3``,
``--context_length 2560``, ...) are passed on to pretraining unchanged, and ``--pretrain_config``
gives it a YAML file. A preset whose folder already holds a finished run with the same number of
steps and options is not retrained (pass ``--retrain`` to delete it and train afresh); an
interrupted one resumes from its last checkpoint. A folder holding a run with other options is
refused (pretraining compares its recorded settings), naming the options that differ.

Outputs in ``output_dir``: ``scaling.md`` (a row per preset: parameters, steps, validation bits per
frame before and after training, time), ``scaling.json`` and ``scaling.png`` (final validation bits
per frame against parameters, log x, with the least-squares line in log size).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from ..recipe_args import MotionArgumentParser
from ..scaling import ScalingArguments, ScalingError, run_scaling


def make_parser() -> MotionArgumentParser:
    return MotionArgumentParser(
        ScalingArguments, prog="hf-motion scaling",
        description="train several presets on the same data; every option not listed here goes to pretraining",
    )  # fmt: skip


def parse_args(argv: Sequence[str] | None = None) -> tuple[ScalingArguments, list[str]]:
    """``(ScalingArguments, pretraining options)``; ``--config YAML`` sets this script's defaults."""
    args, rest = make_parser().parse(argv, return_remaining_strings=True)
    return args, list(rest)


def main(args: ScalingArguments, pretrain_argv: Sequence[str] = ()) -> dict:
    """Run the sweep (:func:`hf_motion.scaling.run_scaling`) and print its table."""
    from accelerate import PartialState

    result = run_scaling(args, list(pretrain_argv))
    if PartialState().is_main_process:
        out = Path(args.output_dir)
        print("\n" + (out / "scaling.md").read_text() + f"wrote {out / 'scaling.md'}, scaling.json and scaling.png")
    return result


def cli(argv: Sequence[str] | None = None) -> dict:
    """Parse ``argv`` (default: the command line) and run; a bad option exits with ``error: ...``."""
    logging.basicConfig(level=logging.INFO, format="%(message)s")  # the sweep's progress
    try:
        return main(*parse_args(argv))
    except ScalingError as e:
        raise SystemExit(f"error: {e}") from None


if __name__ == "__main__":
    cli()
