"""Files shipped inside the package, found with :mod:`importlib.resources`.

A plain (non-editable) ``pip install`` has no repository around it, so everything the library
reads by default lives under ``hf_motion/assets/``:

* ``tokenizers/<name>/``: the saved tokenizers (``m5-motion``, ``m5-fine-motion``,
  ``m5-delta-motion``), byte-identical copies of ``tokenizer_configs/<name>/`` (both written by
  ``tokenizer_configs/build.py``; a test keeps them equal);
* ``accelerate/<name>.yaml``: the ``accelerate launch --config_file`` configs (copies of
  ``recipes/accelerate/``);
* ``model_cards/<name>.md``: the Jinja2 model card templates of :mod:`hf_motion.model_card`.

:func:`resolve_tokenizer` is what recipes call on a ``--tokenizer`` value, so the repository-relative
default ``tokenizer_configs/m5-delta-motion`` also works from any current directory.

    python -m hf_motion.resources accelerate ddp      # prints the path, e.g. for --config_file
"""

from __future__ import annotations

import logging
import os
import sys
from importlib import resources
from pathlib import Path, PurePosixPath

__all__ = [
    "asset_dir",
    "tokenizer_names",
    "tokenizer_config_path",
    "accelerate_config_names",
    "accelerate_config_path",
    "card_template_names",
    "card_template_path",
    "task_list_names",
    "task_list_path",
    "resolve_tokenizer",
]

logger = logging.getLogger(__name__)

#: The repository folder whose relative paths (``tokenizer_configs/<name>``) name shipped tokenizers.
REPO_TOKENIZER_FOLDER = "tokenizer_configs"


def asset_dir(*parts: str) -> Path:
    """``hf_motion/assets[/parts...]`` as a real folder (loaders such as ``from_pretrained`` need paths)."""
    root = resources.files("hf_motion").joinpath("assets", *parts)
    if not isinstance(root, Path):  # e.g. a zipped install: nothing to hand to from_pretrained
        raise FileNotFoundError(f"hf_motion's assets are not on the file system ({root!r}); install hf_motion unzipped (pip install)")
    return root


def _names(kind: str, suffix: str = "") -> list[str]:
    folder = asset_dir(kind)
    if not folder.is_dir():
        return []
    if suffix:
        return sorted(p.name[: -len(suffix)] for p in folder.iterdir() if p.is_file() and p.name.endswith(suffix))
    return sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith(("_", ".")))


def _lookup(kind: str, what: str, name: str, suffix: str = "") -> Path:
    """The shipped file or folder ``name`` (with or without ``suffix``); the error lists what exists."""
    if not isinstance(name, str) or not name or "/" in name or "\\" in name or name.startswith("."):
        raise ValueError(f"{what} name must be a plain name such as {(_names(kind, suffix) or ['?'])[0]!r}, got {name!r}")
    stem = name[: -len(suffix)] if suffix and name.endswith(suffix) else name
    path = asset_dir(kind) / (stem + suffix)
    if not (path.is_file() if suffix else path.is_dir()):
        raise FileNotFoundError(f"no {what} {name!r} shipped with hf_motion (looked for {path}); available: {_names(kind, suffix)}")
    return path


def tokenizer_names() -> list[str]:
    """Names of the saved tokenizers shipped with the package."""
    return _names("tokenizers")


def tokenizer_config_path(name: str) -> Path:
    """The folder of a shipped tokenizer by name, e.g. ``"m5-delta-motion"``; loads with
    ``AutoTokenizer.from_pretrained`` after ``import hf_motion``."""
    return _lookup("tokenizers", "tokenizer", name)


def accelerate_config_names() -> list[str]:
    """Names of the shipped ``accelerate`` configs (``cpu``, ``ddp``, ...)."""
    return _names("accelerate", ".yaml")


def accelerate_config_path(name: str) -> Path:
    """A shipped ``accelerate launch --config_file`` YAML by name (``"ddp"`` or ``"ddp.yaml"``)."""
    return _lookup("accelerate", "accelerate config", name, ".yaml")


def card_template_names() -> list[str]:
    """Names of the shipped model card templates."""
    return _names("model_cards", ".md")


def card_template_path(name: str) -> Path:
    """A shipped model card template by name (``"motion_finetuned"`` or ``"motion_finetuned.md"``)."""
    return _lookup("model_cards", "model card template", name, ".md")


def task_list_names() -> list[str]:
    """Names of the shipped task lists (``tasks:`` YAML for fine-tuning and the kinematic baseline)."""
    return _names("tasks", ".yaml")


def task_list_path(name: str) -> Path:
    """A shipped task list by name (``"bandai-namco"``): the tasks run on that source by default."""
    return _lookup("tasks", "task list", name, ".yaml")


def _shipped_tokenizer_name(spec: str) -> str | None:
    """The shipped tokenizer that ``spec`` names: ``"m5-delta-motion"`` or the repository-relative
    ``"tokenizer_configs/m5-delta-motion"`` (what the recipes' YAML defaults say); else None."""
    if os.path.isabs(spec):
        return None  # an absolute path is the user's explicit choice, never replaced
    parts = [p for p in PurePosixPath(spec.replace("\\", "/")).parts if p != "."]
    if len(parts) == 2 and parts[0] == REPO_TOKENIZER_FOLDER:
        parts = parts[1:]
    if len(parts) == 1 and parts[0] in tokenizer_names():
        return parts[0]
    return None


def resolve_tokenizer(spec: str | os.PathLike) -> str:
    """Where to load the tokenizer ``spec`` from: ``spec`` itself when it exists (a folder, relative
    to the current directory or absolute), or a Hub id; the packaged copy when ``spec`` is a shipped
    name (``"m5-delta-motion"``) or the repository-relative default (``"tokenizer_configs/m5-delta-motion"``)
    that does not exist here.

    Anything else comes back unchanged, so a missing explicit path (``runs/my-tok``, an absolute
    path, a misspelt ``tokenizer_configs/m5-motoin``) still fails in the loader, naming that path:
    it is never silently replaced by a default.
    """
    text = os.fspath(spec)
    if not isinstance(text, str):
        raise TypeError(f"a tokenizer must be a folder path or a Hub id, got {spec!r}")
    if not text.strip() or Path(text).exists():
        return text
    name = _shipped_tokenizer_name(text)
    if name is None:
        return text
    path = tokenizer_config_path(name)
    logger.info("tokenizer %r: no such folder under %s; using the copy shipped with hf_motion (%s)", text, os.getcwd(), path)
    return str(path)


_KINDS = {
    "tokenizer": (tokenizer_config_path, tokenizer_names),
    "accelerate": (accelerate_config_path, accelerate_config_names),
    "card": (card_template_path, card_template_names),
    "tasks": (task_list_path, task_list_names),
}


def main(argv: list[str] | None = None) -> int:
    """``python -m hf_motion.resources KIND [NAME]``: print a shipped file's path, or the names of a kind."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in _KINDS or len(argv) > 2:
        print(f"usage: python -m hf_motion.resources {{{','.join(_KINDS)}}} [NAME]", file=sys.stderr)
        return 2
    path_of, names = _KINDS[argv[0]]
    if len(argv) == 1:
        print("\n".join(names()))
        return 0
    try:
        print(path_of(argv[1]))
    except (FileNotFoundError, ValueError) as e:
        print(f"hf_motion.resources: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
