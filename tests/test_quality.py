"""The package's type hints and lint rules are checked in the suite, so they stay true."""

from __future__ import annotations

import subprocess
import sys

from conftest import ROOT


def run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *command], capture_output=True, text=True, check=False, cwd=ROOT
    )


def test_mypy_strict_passes_on_the_package() -> None:
    done = run("mypy", "--no-incremental", "src")
    assert done.returncode == 0, done.stdout + done.stderr


def test_ruff_passes() -> None:
    done = run("ruff", "check", "src", "tests", "benches")
    assert done.returncode == 0, done.stdout + done.stderr
