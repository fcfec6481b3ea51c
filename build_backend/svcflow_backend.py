"""svcflow's build backend: setuptools' own, plus mypy when the compiled build is asked for.

``pip install .`` builds the pure-Python package, as it always has. ``SVCFLOW_COMPILE=1 pip
install .`` builds the same package with the modules listed under ``[tool.svcflow.compiled]``
in pyproject.toml compiled by mypyc (``setup.py``), and mypyc comes with mypy: this backend
asks for it only then, so the pure build does not download a compiler it does not use. This is
setuptools' documented way of adding build requirements ("Dynamic build dependencies and other
build_meta tweaks"); every other hook is setuptools' unchanged.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from setuptools import build_meta as _setuptools
from setuptools.build_meta import *  # noqa: F403  (the hooks this module does not change)

COMPILER = "mypy==2.4.1"
"""The mypy whose mypyc the compiled build is made and tested with."""


def compiling() -> bool:
    """Whether ``SVCFLOW_COMPILE`` asks for the compiled build: ``1`` yes, ``0`` or unset no."""
    asked = os.environ.get("SVCFLOW_COMPILE", "0").strip()
    if asked not in ("0", "1", ""):
        raise ValueError(
            f"SVCFLOW_COMPILE={asked!r}: use 1 for the build compiled with mypyc, or 0 "
            "(or leave it unset) for the pure-Python build"
        )
    return asked == "1"


def get_requires_for_build_wheel(
    config_settings: dict[str, str | list[str]] | None = None,
) -> list[str]:
    """setuptools' requirements; mypy (for mypyc) alone when compiling. setuptools' own hook
    would run ``setup.py`` to collect what it asks for (svcflow's asks for nothing), and when
    compiling that needs mypyc before it is installed; setuptools itself (70.1 and later needs
    nothing more to build a wheel) is pyproject.toml's ``[build-system]`` requirement."""
    if compiling():
        return [COMPILER]
    required: list[str] = _setuptools.get_requires_for_build_wheel(config_settings)
    return required


def get_requires_for_build_sdist(
    config_settings: dict[str, str | list[str]] | None = None,
) -> list[str]:
    """setuptools' own, for the pure sources: an sdist is never compiled."""
    with _pure():
        required: list[str] = _setuptools.get_requires_for_build_sdist(config_settings)
    return required


def build_sdist(
    sdist_directory: str, config_settings: dict[str, str | list[str]] | None = None
) -> str:
    """setuptools' own, whatever ``SVCFLOW_COMPILE`` says: an sdist carries the sources, and
    whoever builds a wheel from it chooses then."""
    with _pure():
        built: str = _setuptools.build_sdist(sdist_directory, config_settings)
    return built


def prepare_metadata_for_build_wheel(
    metadata_directory: str, config_settings: dict[str, str | list[str]] | None = None
) -> str:
    """setuptools' own, run pure: the metadata is the same for both builds, and compiling is
    left to ``build_wheel`` (``setup.py`` would otherwise run mypyc's code generation twice)."""
    compiling()  # a wrong setting is refused here already
    with _pure():
        prepared: str = _setuptools.prepare_metadata_for_build_wheel(
            metadata_directory, config_settings
        )
    return prepared


def get_requires_for_build_editable(
    config_settings: dict[str, str | list[str]] | None = None,
) -> list[str]:
    """Refuses the compiled build as an editable install (see :func:`build_editable`)."""
    _refuse_editable_compiled()
    required: list[str] = _setuptools.get_requires_for_build_editable(config_settings)
    return required


def build_editable(
    wheel_directory: str,
    config_settings: dict[str, str | list[str]] | None = None,
    metadata_directory: str | None = None,
) -> str:
    """An editable install runs the sources in ``src/``: compiled modules would be built
    beside them and be imported instead, so that edits to those files would silently not
    count. Refused when compiling; otherwise setuptools' own."""
    _refuse_editable_compiled()
    built: str = _setuptools.build_editable(wheel_directory, config_settings, metadata_directory)
    return built


def _refuse_editable_compiled() -> None:
    if compiling():
        raise ValueError(
            "SVCFLOW_COMPILE=1 does not make an editable install: the compiled modules would "
            "be imported instead of the sources you edit. Install without -e "
            "(SVCFLOW_COMPILE=1 pip install .), or edit with SVCFLOW_COMPILE unset."
        )


@contextmanager
def _pure() -> Iterator[None]:
    """``SVCFLOW_COMPILE`` unset for the block (each hook runs in a process of its own)."""
    asked = os.environ.pop("SVCFLOW_COMPILE", None)
    try:
        yield
    finally:
        if asked is not None:
            os.environ["SVCFLOW_COMPILE"] = asked
