"""The ``hf-motion`` console script.

Subcommands live in their own modules (a registry, so adding one never edits an if-chain).
Tools (:data:`COMMANDS`) define ``add_arguments(parser)`` and ``run(args) -> int``; the training and
evaluation scripts (:data:`SCRIPTS`, ``hf_motion/scripts/``) define ``cli(argv)`` and parse their own
options with :class:`~hf_motion.recipe_args.MotionArgumentParser` (``--config file.yaml``; flags are
snake_case, and the kebab-case spelling is accepted too), exactly as ``recipes/<name>.py`` does::

    hf-motion pretrain --max_steps 200            # = accelerate launch recipes/pretrain.py --max_steps 200
"""

from __future__ import annotations

import argparse
import importlib
import sys

# name -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "render": ("hf_motion.render", "draw a BVH file or decoded tokens as an animated GIF and a PNG strip"),
    "demo": ("hf_motion.demo", "tokenize the default data and print a summary"),
    "build-dataset": ("hf_motion.datasets.command", "build tokenized multi-task training data from motion folders"),
}
# name -> (script module, one-line help); each has cli(argv).
SCRIPTS: dict[str, tuple[str, str]] = {
    "pretrain": ("hf_motion.scripts.pretrain", "pretrain a motion GPT on the four-task motion text (M5)"),
    "evaluate-prediction": ("hf_motion.scripts.evaluate_prediction", "next-frame prediction benchmark against baselines"),
    "scaling": ("hf_motion.scripts.scaling", "train several presets on the same data; bits per frame against size"),
    "finetune": ("hf_motion.scripts.finetune", "fine-tune on clip labels under grouped cross-validation (--compare: vs forest)"),
    "baseline-kinematic": ("hf_motion.scripts.baseline_kinematic", "random forest on kinematic clip features, same folds"),
    "train-vq": ("hf_motion.scripts.train_vq", "train the learned motion tokenizer (VQ-VAE) and measure it"),
    "train-generator": ("hf_motion.scripts.train_generator", "PoseGPT-style generator over motion codes, with its evaluation"),
    "train-text-motion": ("hf_motion.scripts.train_text_motion", "T5 over text + motion codes (MotionGPT style)"),
}


def _usage() -> str:
    lines = ["usage: hf-motion COMMAND [options]", "", "commands:"]
    lines += [f"  {name:<20}{help_}" for name, (_, help_) in {**SCRIPTS, **COMMANDS}.items()]
    lines += ["", "Run 'hf-motion COMMAND --help' for a command's options."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Entry point. Only the chosen command's module is imported (fast ``--help``)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(_usage())
        return 0 if argv else 2
    name, rest = argv[0], argv[1:]
    if name in SCRIPTS:
        importlib.import_module(SCRIPTS[name][0]).cli(rest)
        return 0
    if name not in COMMANDS:
        print(f"hf-motion: unknown command {name!r}\n\n{_usage()}", file=sys.stderr)
        return 2
    module_name, help_ = COMMANDS[name]
    module = importlib.import_module(module_name)
    parser = argparse.ArgumentParser(prog=f"hf-motion {name}", description=help_)
    module.add_arguments(parser)
    return int(module.run(parser.parse_args(rest)) or 0)


if __name__ == "__main__":
    sys.exit(main())
