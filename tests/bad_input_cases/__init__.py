"""The bad-input catalogue (issue: reliability), one row per case, in the spirit of peft's TEST_CASES.

Each area's module (``tokenizer``, ``readers``, ``kinematics_models``, ``data_runs``) defines
``CASES: list[Case]``; ``tests/test_bad_inputs.py`` runs them all as one table. A row builds its
bad input in ``tmp_path`` (real Bandai clips are read in place from ``conftest.BANDAI1``) and
calls the public entry point; the test checks that the expected error (or warning) is raised and
that its message contains ``match`` (a regex, searched case-insensitively).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any


@dataclasses.dataclass(frozen=True)
class Case:
    id: str  # short, unique, kebab-case: "bvh-utf8-bom"
    run: Callable[[Path], Any]  # gets tmp_path; performs the bad call
    error: type[BaseException] | tuple[type[BaseException], ...] | None  # expected exception; None if it must succeed
    match: str = ""  # regex the message must contain (file, frame, joint or field named)
    warning: type[Warning] | None = None  # expected warning instead of / besides an error
    description: str = ""  # what the input is, in the catalogue's words
