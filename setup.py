"""The compiled build's one addition to pyproject.toml: mypyc's extension modules.

Everything about the package is declared in pyproject.toml. With ``SVCFLOW_COMPILE=1`` (see
``build_backend/svcflow_backend.py``, which also brings mypy into the build environment) the
modules listed under ``[tool.svcflow.compiled]`` are compiled by mypyc and shipped beside their
sources, which Python then imports instead; without it the package is pure Python.
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

from setuptools import Extension, setup

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "build_backend"))

from svcflow_backend import compiling  # noqa: E402


def compiled_modules() -> list[str]:
    """The modules the compiled build compiles, as paths from this directory."""
    pyproject = tomllib.loads((HERE / "pyproject.toml").read_text(encoding="utf-8"))
    return [f"src/{module}" for module in pyproject["tool"]["svcflow"]["compiled"]["modules"]]


def extensions() -> list[Extension]:
    if not compiling():
        return []
    from mypyc.build import mypycify

    return mypycify(compiled_modules())


setup(ext_modules=extensions())
