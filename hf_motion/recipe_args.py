"""Command-line parsing shared by the recipes: ``HfArgumentParser`` dataclasses plus ``--config YAML``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Sequence

__all__ = ["parse_recipe_args"]


def parse_recipe_args(
    dataclass_types: Sequence[type] | type,
    argv: Sequence[str] | None = None,
    return_remaining_strings: bool = False,
) -> tuple[Any, ...]:
    """Parse ``argv`` into the dataclasses; ``--config FILE.yaml`` supplies defaults that flags override.

    Unknown keys in the YAML raise ``SystemExit`` naming the file and the keys, like unknown flags.
    Returns what ``HfArgumentParser.parse_args_into_dataclasses`` returns.
    """
    import yaml
    from transformers import HfArgumentParser

    argv = list(sys.argv[1:] if argv is None else argv)
    parser = HfArgumentParser(dataclass_types)
    if "--config" in argv:
        i = argv.index("--config")
        if i + 1 >= len(argv):
            raise SystemExit("--config needs a YAML file")
        path = Path(argv[i + 1])
        del argv[i : i + 2]
        try:
            config = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as e:
            raise SystemExit(f"cannot read config {path}: {e}") from None
        if not isinstance(config, dict):
            raise SystemExit(f"{path}: expected a mapping of options, got {type(config).__name__}")
        known = {a.dest for a in parser._actions}
        unknown = sorted(set(config) - known)
        if unknown:
            raise SystemExit(f"{path}: unknown option(s) {unknown}")
        parser.set_defaults(**config)
    return parser.parse_args_into_dataclasses(args=argv, return_remaining_strings=return_remaining_strings)
