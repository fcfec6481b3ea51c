"""Shared fixtures: a manual clock, engines on each real store kind, a throwaway PostgreSQL
server."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from support.postgres import TemporaryCluster
from svcflow import Engine, ManualClock, load_workflow_text

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = ROOT / "workflows"

MINIMAL = """\
workflow: ticket
version: 1
title: Ticket
data:
  customer: {type: string, required: true}
  priority: {type: enum, values: [low, normal, high], default: normal}
  answer: string
  attempts: {type: integer, default: 0}
states:
  new:
    initial: true
    on_enter:
      - notify: {template: ticket_opened, to: customer}
      - schedule: {trigger: remind, after: 15m}
  open:
    on_enter:
      - schedule: {trigger: expire, after: 2h, keep: true}
  answered: {}
  closed: {final: true}
transitions:
  - {trigger: take, from: new, to: open}
  - {trigger: remind, from: new, actions: [{set: {priority: high}}, {note: reminded}]}
  - trigger: answer
    from: open
    to: answered
    when: answer != null && answer != ""
  - {trigger: retry, from: answered, to: open, actions: [{set: {attempts: {expr: attempts + 1}}}]}
  - {trigger: close, from: answered, to: closed}
  - {trigger: expire, from: "*", to: closed}
"""


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


def terminal_announcer(config: pytest.Config, label: str) -> Callable[[str], None]:
    """A function that prints a line on the terminal even while pytest captures output, for
    news a person waiting on the suite should see (a package being installed)."""
    capture = config.pluginmanager.getplugin("capturemanager")

    def announce(line: str) -> None:
        if capture is None:  # output capture is off: print goes straight to the terminal
            print(f"\n[{label}] {line}", flush=True)
            return
        with capture.global_and_fixture_disabled():
            print(f"\n[{label}] {line}", flush=True)

    return announce


@pytest.fixture(scope="session")
def postgres_cluster(pytestconfig: pytest.Config) -> Iterator[TemporaryCluster]:
    """The session's own PostgreSQL server, started when a test first asks for it (installing
    Debian's package first when missing and allowed) and stopped at the end of the session."""
    with TemporaryCluster(terminal_announcer(pytestconfig, "postgres")) as cluster:
        yield cluster


@pytest.fixture(scope="session")
def postgres_url(postgres_cluster: TemporaryCluster) -> str:
    """``postgresql://svcflow@127.0.0.1:PORT/svcflow``: a database shared by the whole session."""
    return postgres_cluster.url


@pytest.fixture
def postgres_database_url(postgres_cluster: TemporaryCluster) -> Iterator[str]:
    """A new empty database for this test alone, dropped (connections and all) after it."""
    url = postgres_cluster.create_database()
    yield url
    postgres_cluster.drop_database(url)
