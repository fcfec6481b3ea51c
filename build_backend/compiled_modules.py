"""The modules the compiled build compiles: pyproject.toml's ``[tool.svcflow.compiled]``.

Read here once, for ``setup.py``, the benches and the tests (which put this folder on their
path); it imports nothing of the build, so reading the list costs nothing.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"


def compiled_paths() -> list[str]:
    """The compiled modules as paths under ``src/`` (``svcflow/sla/clocks.py``...)."""
    pyproject = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))
    paths: list[str] = pyproject["tool"]["svcflow"]["compiled"]["modules"]
    return paths


def compiled_names() -> list[str]:
    """The compiled modules by name (``svcflow.sla.clocks``...)."""
    return [path.removesuffix(".py").replace("/", ".") for path in compiled_paths()]
