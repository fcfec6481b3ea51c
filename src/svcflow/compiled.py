"""What svcflow's code needs so that the build compiled with mypyc behaves as the pure one.

svcflow is pure Python and installs as such. ``SVCFLOW_COMPILE=1 pip install .`` builds the
same package with the modules listed under ``[tool.svcflow.compiled]`` in pyproject.toml
compiled by mypyc (``build_backend/``; docs/performance.md, "The compiled build"). Two things
about compiled code the modules work with:

- a compiled class is closed to subclasses written in Python unless it says otherwise:
  :func:`mypyc_attr` says so, as ``mypy_extensions`` spells it when mypy is installed (as it is
  wherever the compiled build is made), and as a decorator that changes nothing when it is not
  (the pure install does not need mypy);
- compiled code ignores ``from`` in ``raise error from cause`` (mypyc 2.4.1): the exception
  keeps no ``__cause__`` and shows the one being handled as its context. Those modules raise
  ``raised_from(error, cause)`` instead, which chains the same way in both builds.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

__all__ = ["mypyc_attr", "raised_from"]

Decorated = TypeVar("Decorated")
Raised = TypeVar("Raised", bound=BaseException)

try:
    from mypy_extensions import mypyc_attr
except ImportError:  # the pure install, without mypy

    def mypyc_attr(*attrs: str, **kwattrs: object) -> Callable[[Decorated], Decorated]:
        """The class unchanged: what mypyc's attributes say matters only to mypyc."""
        return lambda decorated: decorated


def raised_from(error: Raised, cause: BaseException | None) -> Raised:
    """``error`` chained to ``cause`` as ``raise error from cause`` chains it: ``cause`` is its
    ``__cause__``, and the exception being handled is not shown as its context (with ``None``,
    nothing is shown)."""
    error.__cause__ = cause  # (setting it also sets __suppress_context__, as ``from`` does)
    return error
