"""The OpenAPI document ``/openapi.json``: every route described, every error declared.

Clients in Java, Go or Node generate their code from it, so a route missing from it, or an
error response it does not declare, is a bug a client finds at run time.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute

from support.serving import running
from support.workflows import MINIMAL
from svcflow import Engine, ManualClock, load_workflow_text
from svcflow.serve import TokenFile, create_app

PROBLEM = "application/problem+json"
EVERY_AUTHENTICATED_ROUTE = {"401", "403", "413", "422", "500"}


@pytest.fixture(scope="module")
def document(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    folder = tmp_path_factory.mktemp("openapi")
    clock = ManualClock("2026-03-02T09:00:00+00:00")
    workflow = load_workflow_text(MINIMAL, "ticket.yaml")
    with Engine([workflow], f"sqlite:///{folder / 'cases.db'}", clock) as engine:
        app = create_app(engine, tokens=TokenFile(folder / "tokens.json"))
        routes = {
            (method, route.path)
            for route in api_routes(app.routes)
            if route.include_in_schema
            for method in route.methods
        }
        with running(app) as url:
            answer = httpx.get(f"{url}/openapi.json")
        assert answer.status_code == 200
        found: dict[str, Any] = answer.json()
        found["x-routes"] = sorted(routes)
        yield found


def api_routes(routes: Iterable[BaseRoute]) -> Iterator[APIRoute]:
    """The app's API routes, those of included routers too (FastAPI includes them lazily)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        nested = getattr(route, "original_router", None)
        if nested is not None:
            yield from api_routes(nested.routes)


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            yield method.upper(), path, operation


def test_every_route_of_the_app_is_in_the_document(document: dict[str, Any]) -> None:
    described = {(method, path) for method, path, _ in operations(document)}
    assert {tuple(route) for route in document["x-routes"]} == described
    assert ("POST", "/cases/{case_id}/triggers/{trigger}") in described
    assert ("POST", "/channels/{channel}") in described


def test_every_operation_has_a_summary(document: dict[str, Any]) -> None:
    missing = [f"{m} {p}" for m, p, op in operations(document) if not op.get("summary")]
    assert missing == []


def test_every_authenticated_route_declares_its_problem_responses(
    document: dict[str, Any],
) -> None:
    problems = []
    for method, path, operation in operations(document):
        if path == "/health":
            continue
        declared = set(operation["responses"])
        if not declared >= EVERY_AUTHENTICATED_ROUTE:
            problems.append(
                f"{method} {path}: lacks {sorted(EVERY_AUTHENTICATED_ROUTE - declared)}"
            )
        for status in declared & EVERY_AUTHENTICATED_ROUTE:
            content = operation["responses"][status].get("content", {})
            if PROBLEM not in content:
                problems.append(f"{method} {path}: {status} is not {PROBLEM}")
    assert problems == []


def test_case_routes_declare_404_and_fire_declares_409(document: dict[str, Any]) -> None:
    for method, path, operation in operations(document):
        if path.startswith("/cases/{case_id}"):
            assert "404" in operation["responses"], f"{method} {path}"
    fire = document["paths"]["/cases/{case_id}/triggers/{trigger}"]["post"]
    assert "409" in fire["responses"]
    assert "Idempotency-Key" in [p["name"] for p in fire["parameters"]]


def test_the_problem_schema_has_the_rfc_9457_members(document: dict[str, Any]) -> None:
    schema = document["components"]["schemas"]["ProblemBody"]
    assert set(schema["required"]) == {"type", "title", "status", "detail"}


def test_the_description_can_be_kept_private(tmp_path: Path, clock: ManualClock) -> None:
    from svcflow.serve import ServeSettings

    workflow = load_workflow_text(MINIMAL, "ticket.yaml")
    with Engine([workflow], "memory://", clock) as engine:
        app = create_app(
            engine,
            tokens=TokenFile(tmp_path / "tokens.json"),
            settings=ServeSettings(public_docs=False),
        )
        with running(app) as url:
            for path in ("/openapi.json", "/docs"):
                assert httpx.get(f"{url}{path}").status_code == 404
