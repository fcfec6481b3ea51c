"""What building svcflow reads, copied out of the checkout.

A wheel is built from a copy so that the checkout gets no ``build/`` folder (pip builds in the
source tree), whose stale files a later wheel could pick up and whose sources the rest of the
suite would see beside its own. ``src/``'s links (``svcflow/workflows``, ``svcflow/starter/...``)
stay links, to copies of what they point to, as in a checkout.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from support.workflows import ROOT


def copy_build_sources(destination: Path) -> Path:
    """The files a build of svcflow reads, copied to ``destination``; ``destination``."""
    skip = shutil.ignore_patterns("__pycache__", "*.egg-info", "*.so")
    shutil.copytree(ROOT / "src", destination / "src", symlinks=True, ignore=skip)
    for linked in _link_targets(ROOT / "src"):
        copied = destination / linked.relative_to(ROOT)
        copied.parent.mkdir(parents=True, exist_ok=True)
        if linked.is_dir():
            shutil.copytree(linked, copied, ignore=skip)
        else:
            shutil.copy(linked, copied)
    shutil.copytree(ROOT / "build_backend", destination / "build_backend", ignore=skip)
    for name in ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, destination)
    return destination


def _link_targets(folder: Path) -> list[Path]:
    """What the links under ``folder`` point to (not followed into linked folders)."""
    return [
        (Path(parent) / name).resolve()
        for parent, folders, files in os.walk(folder)
        for name in folders + files
        if (Path(parent) / name).is_symlink()
    ]
