"""The compiled build's one addition to pyproject.toml: mypyc's extension modules.

Everything about the package is declared in pyproject.toml. With ``SVCFLOW_COMPILE=1`` (see
``build_backend/svcflow_backend.py``, which also brings mypy into the build environment) the
modules listed under ``[tool.svcflow.compiled]`` are compiled by mypyc and shipped beside their
sources, which Python then imports instead; without it the package is pure Python.
"""

from __future__ import annotations

import sys
from pathlib import Path

from setuptools import Extension, setup

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "build_backend"))

from compiled_modules import compiled_paths  # noqa: E402
from svcflow_backend import compiling  # noqa: E402


def extensions() -> list[Extension]:
    if not compiling():
        return []
    from mypyc.build import mypycify

    return mypycify([f"src/{path}" for path in compiled_paths()])


setup(ext_modules=extensions())
