"""What building svcflow reads, copied out of the checkout.

A wheel is built from a copy so that the checkout gets no ``build/`` folder (pip builds in the
source tree), whose stale files a later wheel could pick up and whose sources the rest of the
suite would see beside its own. ``src/``'s links (``svcflow/workflows``, ``svcflow/starter``)
stay links, to the copied ``workflows/`` and shipped scenario, as in a checkout.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from support.workflows import ROOT

SCENARIO = Path("tests/scenarios/complaint_happy_path.yaml")
"""The scenario ``src/svcflow/starter/`` links to."""


def copy_build_sources(destination: Path) -> Path:
    """The files a build of svcflow reads, copied to ``destination``; ``destination``."""
    skip = shutil.ignore_patterns("__pycache__", "*.egg-info", "*.so")
    shutil.copytree(ROOT / "src", destination / "src", symlinks=True, ignore=skip)
    shutil.copytree(ROOT / "workflows", destination / "workflows")
    shutil.copytree(ROOT / "build_backend", destination / "build_backend", ignore=skip)
    (destination / SCENARIO).parent.mkdir(parents=True)
    shutil.copy(ROOT / SCENARIO, destination / SCENARIO)
    for name in ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, destination)
    return destination
