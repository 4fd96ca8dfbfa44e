"""Shared by the scripts: :class:`MotionArgumentParser` (``HfArgumentParser`` plus ``--config YAML``) and the run-settings record that keeps a rerun from resuming another run."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from transformers import HfArgumentParser

__all__ = [
    "MotionArgumentParser",
    "run_cross_validation_script",
    "apply_yaml_defaults",
    "RUN_SETTINGS_FILE",
    "settings_differences",
    "read_run_settings",
    "write_run_settings",
]

#: The record of a run's data, model and optimisation settings, in its output folder.
RUN_SETTINGS_FILE = "run_settings.json"


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


class MotionArgumentParser(HfArgumentParser):
    """The one parser of every script: ``HfArgumentParser`` over ``dataclass_types`` with
    ``--config FILE.yaml`` (listed in ``--help``) whose options become defaults that flags override.

    :meth:`parse` reads ``--config`` (else ``default_config``, if that file exists), takes the keys
    named in ``extract`` out of the YAML into :attr:`extracted` (see :func:`apply_yaml_defaults`),
    and returns the dataclass instances. Other keyword arguments go to ``HfArgumentParser``.
    """

    def __init__(self, dataclass_types, default_config: str | os.PathLike | None = None, extract: Sequence[str] = (), **kwargs):
        super().__init__(dataclass_types, **kwargs)
        self.default_config = default_config
        self.extract = tuple(extract)
        self.extracted: dict[str, Any] = {}
        self.config_path: Path | None = None
        # In --help; never in the parsed namespace (parse takes it out of argv; SUPPRESS sets nothing).
        self.add_argument(
            "--config", metavar="FILE.yaml", default=argparse.SUPPRESS,
            help="YAML mapping of options used as defaults (flags on the command line win)"
            + (f"; default {default_config}" if default_config is not None else ""),
        )  # fmt: skip

    def take_config(self, argv: Sequence[str] | None = None) -> list[str]:
        """Apply ``--config`` (or the default file) as defaults; return ``argv`` without it."""
        argv = list(sys.argv[1:] if argv is None else argv)
        d = self.default_config
        path = Path(d) if d is not None and Path(d).is_file() else None
        for i, arg in enumerate(argv):
            if arg == "--config" or arg.startswith("--config="):
                if arg == "--config" and i + 1 >= len(argv):
                    raise SystemExit("--config needs a YAML file")
                path = Path(arg.split("=", 1)[1] if "=" in arg else argv[i + 1])
                del argv[i : i + (1 if "=" in arg else 2)]
                break
        self.config_path = path
        self.extracted = apply_yaml_defaults(self, path, self.extract) if path is not None else {}
        return argv

    def parse(self, argv: Sequence[str] | None = None, return_remaining_strings: bool = False) -> tuple[Any, ...]:
        """The dataclasses from ``argv`` (default ``sys.argv[1:]``) over the YAML defaults."""
        rest = self.take_config(argv)
        return self.parse_args_into_dataclasses(args=rest, return_remaining_strings=return_remaining_strings)

    def parse_with_tasks(self, argv: Sequence[str] | None = None) -> tuple[tuple[Any, ...], tuple[list, Path] | None]:
        """:meth:`parse` for scripts whose config may hold an inline ``tasks:`` list (the parser
        needs ``extract=("tasks",)``). Returns ``(dataclasses, inline)``: ``inline`` is
        ``(tasks list, config path)`` unless ``--tasks FILE`` was given; a ``tasks:`` string in the
        config is the default of ``--tasks``."""
        rest = self.take_config(argv)
        tasks = self.extracted.get("tasks")
        inline = None
        if isinstance(tasks, list):
            inline = (tasks, self.config_path)
        elif tasks is not None:
            self.set_defaults(tasks=tasks)
        parsed = self.parse_args_into_dataclasses(args=rest)
        if any(getattr(a, "tasks", None) is not None for a in parsed):
            inline = None
        return parsed, inline


def run_cross_validation_script(parser: MotionArgumentParser, main, argv: Sequence[str] | None, errors: tuple[type, ...]):
    """The console entry of a cross-validated script (fine-tuning, the kinematic baseline): log at
    INFO, show every :class:`~hf_motion.cv.CrossValidationWarning` (one per fold, not once), parse
    ``argv`` with an inline ``tasks:`` list allowed, run ``main(*dataclasses, inline_tasks=...)``,
    and turn ``errors`` and :class:`~hf_motion.cv.CrossValidationError` into ``error: <message>`` exits."""
    import logging
    import warnings

    from .cv import CrossValidationError, CrossValidationWarning

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    with warnings.catch_warnings():
        warnings.simplefilter("always", CrossValidationWarning)
        try:
            args, inline = parser.parse_with_tasks(argv)
            return main(*args, inline_tasks=inline)
        except (CrossValidationError, *errors) as e:
            raise SystemExit(f"error: {e}") from None


# ------------------------------------------------------------------ run settings


def _flatten(d: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, Mapping) and v:
            out.update(_flatten(v, key + "."))
        else:
            out[key] = v
    return out


def _show(value: Any) -> str:
    """A value for a message: long hashes are cut to 12 characters, long lists summarised."""
    if isinstance(value, str) and len(value) >= 32 and all(c in "0123456789abcdef" for c in value):
        return value[:12] + "..."
    if isinstance(value, list) and len(value) > 8:
        return json.dumps(value[:8])[:-1] + f", ... ({len(value)} items)]"
    return json.dumps(value, default=str)


def settings_differences(recorded: Mapping[str, Any], current: Mapping[str, Any]) -> list[str]:
    """The fields (dotted names) whose values differ between two settings mappings, one line
    each: ``"optimisation.learning_rate: recorded 0.003, now 0.001"``. Values are compared as
    JSON (tuples equal lists); a field missing on one side counts as different."""
    a = _flatten(json.loads(json.dumps(recorded, default=str)))
    b = _flatten(json.loads(json.dumps(current, default=str)))
    lines = []
    for key in sorted(set(a) | set(b)):
        if key not in a:
            lines.append(f"{key}: not recorded, now {_show(b[key])}")
        elif key not in b:
            lines.append(f"{key}: recorded {_show(a[key])}, not set now")
        elif a[key] != b[key]:
            lines.append(f"{key}: recorded {_show(a[key])}, now {_show(b[key])}")
    return lines


def read_run_settings(output_dir: str | os.PathLike) -> dict[str, Any] | None:
    """The record written by :func:`write_run_settings` (``None`` if there is none).

    Raises:
        ValueError: the file exists but is not a valid record (naming it).
    """
    path = Path(output_dir) / RUN_SETTINGS_FILE
    if not path.is_file():
        return None
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"{path}: unreadable run-settings record ({e})") from None
    if not isinstance(record, dict) or not isinstance(record.get("settings"), dict):
        raise ValueError(f"{path}: not a run-settings record (expected an object with a 'settings' object)")
    return record


def write_run_settings(output_dir: str | os.PathLike, settings: Mapping[str, Any], **info: Any) -> Path:
    """Write ``{"settings": settings, "info": {...}}`` to ``output_dir/run_settings.json`` atomically.

    ``settings`` is what a rerun is compared against (:func:`settings_differences`); ``info``
    (sources as typed, where it resumed from, ...) is recorded but never compared.
    """
    from . import __version__
    from .fileio import atomic_write_text

    path = Path(output_dir) / RUN_SETTINGS_FILE
    record = {
        "settings": json.loads(json.dumps(settings, default=str)),
        "info": {"written": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "hf_motion": __version__, **info},
    }
    atomic_write_text(path, json.dumps(record, indent=1, default=str) + "\n")
    return path
