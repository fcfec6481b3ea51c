"""Graphviz's ``dot`` for tests of the diagrams drawn as SVG on the server.

:func:`dot` returns the ``dot`` program. When it is missing and this process may install
packages (root, ``apt-get`` present) Debian's ``graphviz`` package is installed once, saying so;
otherwise the caller gets :class:`GraphvizUnavailable` saying how to install it. A check of a
drawn diagram is never skipped silently.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable

from support.apt import install_package, remember_failure


class GraphvizUnavailable(RuntimeError):
    """Graphviz is not installed and could not be installed here."""


def dot(announce: Callable[[str], None] = print) -> str:
    """The path of ``dot``, installing Debian's ``graphviz`` first when missing and allowed."""
    found = shutil.which("dot")
    if found is not None:
        return found
    install_package("graphviz", "Graphviz's dot is missing", GraphvizUnavailable, announce)
    found = shutil.which("dot")
    if found is None:
        message = "apt-get installed graphviz but `dot` is still not on PATH"
        raise GraphvizUnavailable(remember_failure("graphviz", message))
    return found
