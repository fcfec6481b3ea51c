"""What every request handler reads: the engine, the tokens and the settings of this app.

``create_app`` keeps one :class:`Served` on ``app.state.svcflow``; handlers (the API's and the
console's) take it with ``Depends(served)``.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import HTTPConnection

from svcflow.engine import Engine
from svcflow.serve.settings import ServeSettings
from svcflow.serve.tokens import TokenStore

__all__ = ["Served", "served"]


@dataclass(frozen=True, slots=True)
class Served:
    """The engine an app serves, who may call it, and its limits."""

    engine: Engine
    tokens: TokenStore
    settings: ServeSettings


def served(connection: HTTPConnection) -> Served:
    """The :class:`Served` of the app handling this request (a FastAPI dependency)."""
    found: Served = connection.app.state.svcflow
    return found
