"""Command-line parsing shared by the recipes: ``HfArgumentParser`` dataclasses plus ``--config YAML``."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, Sequence

__all__ = ["parse_recipe_args", "apply_yaml_defaults", "import_recipe"]


def apply_yaml_defaults(parser, path: str | os.PathLike, extract: Sequence[str] = ()) -> dict[str, Any]:
    """Read a YAML mapping of options and make it ``parser``'s defaults (flags still win).

    Keys named in ``extract`` are removed first and returned (e.g. an inline ``tasks:`` list that
    is not a flag). Unknown keys raise ``SystemExit`` naming the file and the keys.
    """
    import yaml

    path = Path(path)
    try:
        config = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as e:
        raise SystemExit(f"cannot read config {path}: {e}") from None
    if not isinstance(config, dict):
        raise SystemExit(f"{path}: expected a mapping of options, got {type(config).__name__}")
    extracted = {key: config.pop(key) for key in extract if key in config}
    known = {a.dest for a in parser._actions}
    unknown = sorted(set(config) - known)
    if unknown:
        raise SystemExit(f"{path}: unknown option(s) {unknown}; known options: {sorted(known - {'help'})}")
    parser.set_defaults(**config)
    return extracted


def parse_recipe_args(
    dataclass_types: Sequence[type] | type,
    argv: Sequence[str] | None = None,
    return_remaining_strings: bool = False,
) -> tuple[Any, ...]:
    """Parse ``argv`` into the dataclasses; ``--config FILE.yaml`` supplies defaults that flags override.

    Unknown keys in the YAML raise ``SystemExit`` naming the file and the keys, like unknown flags.
    Returns what ``HfArgumentParser.parse_args_into_dataclasses`` returns.
    """
    from transformers import HfArgumentParser

    argv = list(sys.argv[1:] if argv is None else argv)
    parser = HfArgumentParser(dataclass_types)
    if "--config" in argv:
        i = argv.index("--config")
        if i + 1 >= len(argv):
            raise SystemExit("--config needs a YAML file")
        path = Path(argv[i + 1])
        del argv[i : i + 2]
        apply_yaml_defaults(parser, path)
    return parser.parse_args_into_dataclasses(args=argv, return_remaining_strings=return_remaining_strings)


def import_recipe(path: str | os.PathLike):
    """A recipe script (``recipes/*.py`` is not a package) as a module, imported once.

    It is registered in ``sys.modules`` under ``hf_motion_recipe_<stem>`` so that its dataclasses
    resolve and a second import returns the same module.
    """
    import importlib.util

    path = Path(path).resolve()
    name = f"hf_motion_recipe_{path.stem}"
    if name in sys.modules:
        return sys.modules[name]
    if not path.is_file():
        raise FileNotFoundError(f"no recipe at {path}")
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module
