"""``/health``, ``/ready`` and ``/metrics``: what a load balancer and Prometheus ask.

``/health`` answers as long as the process serves requests, and is the only route without a
token. ``/ready`` reads the store: 200 when it answers and its schema is the one this svcflow
writes, 503 (a problem) otherwise, so a load balancer sends no traffic to a server whose
database is down or not yet migrated. ``/metrics`` is the engine's Prometheus metrics
(docs/operations.md), for a token with ``read`` (Prometheus sends it as its
``authorization`` credentials).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel
from starlette.responses import Response

from svcflow import __version__
from svcflow.engine.metrics import engine_registry
from svcflow.errors import SvcflowError
from svcflow.serve.auth import require
from svcflow.serve.context import Served, served
from svcflow.serve.problems import NOT_READY, PROBLEM_RESPONSES, declared, problem_response
from svcflow.store.base import Store

__all__ = ["router"]

router = APIRouter(tags=["health"])


class Health(BaseModel):
    """The server is up."""

    status: str
    version: str


class Ready(BaseModel):
    """The store answers and its schema is current."""

    status: str
    schema_version: int | None


@router.get("/health", summary="The process is up (no token needed)")
def health() -> Health:
    return Health(status="ok", version=__version__)


@router.get(
    "/ready",
    summary="The store answers and its schema is current",
    responses={
        **PROBLEM_RESPONSES,
        **declared(503, "The store is unreachable or not migrated"),
    },
    dependencies=[Depends(require("read"))],
    response_model=Ready,
)
def ready(context: Annotated[Served, Depends(served)]) -> Any:
    try:
        found, expected = _schema(context.engine.store)
    except (SvcflowError, OSError) as error:
        return problem_response(NOT_READY, f"the store does not answer: {error}")
    except Exception as error:  # a database driver's own errors: the store is not reachable
        return problem_response(NOT_READY, f"the store does not answer: {type(error).__name__}")
    if expected is not None and found != expected:
        detail = (
            f"the store's schema is at version {found}, this svcflow writes {expected}; "
            "run 'svcflow migrate --store URL' (or upgrade svcflow)"
        )
        return problem_response(NOT_READY, detail)
    return Ready(status="ready", schema_version=found)


@router.get(
    "/metrics",
    summary="The engine's Prometheus metrics (text format)",
    responses={**PROBLEM_RESPONSES, 200: {"content": {"text/plain": {}}}},
    dependencies=[Depends(require("read"))],
    response_class=Response,
)
def metrics(context: Annotated[Served, Depends(served)]) -> Response:
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    body = generate_latest(engine_registry(context.engine))
    return Response(body, media_type=CONTENT_TYPE_LATEST)


def _schema(store: Store) -> tuple[int | None, int | None]:
    """The schema version the store is at, and the one this svcflow writes (None: the store
    kind has no schema svcflow knows, such as ``memory://`` or a third party's)."""
    current = getattr(store, "schema_version", None)
    if not callable(current):
        store.workload(datetime.now(UTC))  # any read shows the store answers
        return None, None
    return int(current()), _expected_schema(store)


def _expected_schema(store: Store) -> int | None:
    from svcflow.store.sqlite import SCHEMA_VERSION, SqliteStore

    if isinstance(store, SqliteStore):
        return SCHEMA_VERSION
    try:
        from svcflow.store import postgres
    except ImportError:  # the postgres extra is not installed: it cannot be a PostgreSQL store
        return None
    return postgres.SCHEMA_VERSION if isinstance(store, postgres.PostgresStore) else None
