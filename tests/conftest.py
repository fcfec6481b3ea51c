"""Shared fixtures: a manual clock and engines on each real store kind (helpers and texts the
tests import live in ``tests/support/``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from support.workflows import MINIMAL
from svcflow import Engine, ManualClock, load_workflow_text


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock("2026-03-02T09:00:00+00:00")


@pytest.fixture(params=["memory", "sqlite"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "memory":
        return "memory://"
    return f"sqlite:///{tmp_path / 'cases.db'}"


@pytest.fixture
def make_engine(store_url: str, clock: ManualClock) -> Iterator[Callable[..., Engine]]:
    engines: list[Engine] = []

    def make(text: str = MINIMAL, **options: object) -> Engine:
        engine = Engine([load_workflow_text(text, "ticket.yaml")], store_url, clock, **options)
        engines.append(engine)
        return engine

    yield make
    for engine in engines:
        engine.close()


@pytest.fixture
def engine(make_engine: Callable[..., Engine]) -> Engine:
    return make_engine()
