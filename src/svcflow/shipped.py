"""Where the files that ship with svcflow are: the shipped workflows with their rules files,
notification templates and the ``office`` business calendar, and one scenario to simulate.

In the repository they live once, in ``workflows/`` and ``tests/scenarios/``; the package holds
links to them (``svcflow/workflows``, ``svcflow/starter``) that a wheel turns into copies. So
a checkout, an editable install and an installed wheel answer the same paths, and code that
uses them (``svcflow demo``, ``svcflow init``, the README example) runs from any directory.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["shipped_scenario", "shipped_workflows"]

_HERE = Path(__file__).parent


def shipped_workflows() -> Path:
    """The directory of the shipped workflows (with ``rules/``, ``templates/`` and the
    ``office`` calendar): ``Engine.from_directory(shipped_workflows(), ...)`` runs them."""
    return _HERE / "workflows"


def shipped_scenario() -> Path:
    """A scenario of the shipped complaint workflow, for ``svcflow simulate``."""
    return _HERE / "starter" / "complaint_happy_path.yaml"
