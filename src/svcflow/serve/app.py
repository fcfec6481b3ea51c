"""The app factory: an engine, its API tokens and settings in, a FastAPI application out.

The routers each add one part of the API (health, cases, channels); the console (the SLA board
and case pages, ``svcflow.serve.console``) is mounted when that package is there: its
``router()`` returns a FastAPI ``APIRouter`` whose paths start with ``/console``, and its
handlers reach the engine with ``Depends(svcflow.serve.context.served)``.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, FastAPI

from svcflow import __version__
from svcflow.engine import Engine
from svcflow.serve import cases, channels, health
from svcflow.serve.context import Served
from svcflow.serve.limits import BodyLimit
from svcflow.serve.problems import install_problem_handlers
from svcflow.serve.ratelimit import RateLimit
from svcflow.serve.settings import ServeSettings
from svcflow.serve.tokens import TokenStore

__all__ = ["CONSOLE_MODULE", "create_app"]

CONSOLE_MODULE = "svcflow.serve.console"
"""The module whose ``router()`` the app mounts when it can be imported."""

_DESCRIPTION = (
    "The svcflow HTTP API: start and fire cases, read their history and SLA clocks, search, "
    "and take inbound channel messages. Every route but /health needs "
    "'Authorization: Bearer <token>' (svcflow tokens create); errors are RFC 9457 problem "
    "details (application/problem+json)."
)


def create_app(
    engine: Engine,
    *,
    tokens: TokenStore,
    settings: ServeSettings | None = None,
    rate_clock: Callable[[], float] = time.monotonic,
) -> FastAPI:
    """A FastAPI application serving ``engine`` to callers holding one of ``tokens``.

    ``rate_clock`` (seconds, monotonic) times the rate limits; tests pass one they move. The
    app does not own the engine: the caller closes it after the server stops.
    """
    chosen = settings or ServeSettings()
    public = chosen.public_docs
    app = FastAPI(
        title="svcflow",
        version=__version__,
        description=_DESCRIPTION,
        openapi_url="/openapi.json" if public else None,
        docs_url="/docs" if public else None,
        redoc_url="/redoc" if public else None,
    )
    app.state.svcflow = Served(engine=engine, tokens=tokens, settings=chosen)
    install_problem_handlers(app)
    app.add_middleware(
        BodyLimit, max_bytes=chosen.max_body_bytes, max_message_bytes=chosen.max_message_bytes
    )
    app.add_middleware(RateLimit, settings=chosen, now=rate_clock)  # outermost: first to see
    app.include_router(health.router)
    app.include_router(cases.router)
    app.include_router(channels.router)
    console = _console_router()
    if console is not None:
        app.include_router(console)
    return app


def _console_router() -> APIRouter | None:
    try:
        module: Any = importlib.import_module(CONSOLE_MODULE)
    except ModuleNotFoundError as missing:
        if missing.name != CONSOLE_MODULE:
            raise
        return None
    found: APIRouter = module.router()
    return found
