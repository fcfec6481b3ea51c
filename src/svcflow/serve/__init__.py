"""``svcflow serve``: the HTTP API in front of an engine, for hosts that are not Python.

``pip install 'svcflow[serve]'`` brings FastAPI and uvicorn. :func:`create_app` builds the
ASGI application from an :class:`~svcflow.engine.Engine`, a :class:`TokenStore` (API tokens
with scopes, kept hashed: :class:`TokenFile`) and :class:`ServeSettings` (the limits);
``svcflow serve`` runs it under uvicorn. docs/serve.md describes every route, the scopes, the
problem types and how to deploy it.

How it works: each request is one call on the shared engine (the engine is safe between
threads; FastAPI runs the handlers in its thread pool), authenticated by a FastAPI dependency
(:func:`svcflow.serve.auth.require`), with every svcflow error answered as RFC 9457 problem
details (:mod:`svcflow.serve.problems`).
"""

from __future__ import annotations

from svcflow.serve.app import create_app
from svcflow.serve.settings import ServeSettings
from svcflow.serve.tokens import SCOPES, CreatedToken, Token, TokenFile, TokenStore

__all__ = [
    "SCOPES",
    "CreatedToken",
    "ServeSettings",
    "Token",
    "TokenFile",
    "TokenStore",
    "create_app",
]
