"""The code style pyproject.toml configures: ``ruff check`` and ``ruff format --check`` are clean."""

import shutil
import subprocess
import sys

import pytest

from conftest import REPO


def _ruff() -> list[str]:
    exe = shutil.which("ruff")
    if exe is None:  # installed as a module but not on PATH (e.g. a venv used without activation)
        return [sys.executable, "-m", "ruff"]
    return [exe]


@pytest.mark.parametrize("command", [["check", "--no-cache"], ["format", "--check", "--no-cache"]], ids=["check", "format"])
def test_ruff_is_clean(command):
    run = subprocess.run(_ruff() + command + ["."], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, (
        f"ruff {' '.join(command)} found problems (run `ruff {command[0]} --fix .`):\n{run.stdout[-4000:]}{run.stderr[-2000:]}"
    )
