"""Shared fixtures: a manual clock, engines on each real store kind, a throwaway PostgreSQL
server, Graphviz's ``dot``, the compiled build's lane (helpers and texts the tests import live in
``tests/support/``)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from support import compiled_build
from support.apt import terminal_announcer
from support.graphviz import dot
from support.postgres import SHARED_ENV, TemporaryCluster
from support.workflows import MINIMAL
from svcflow import Engine, ManualClock, load_workflow_text


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock("2026-03-02T09:00:00+00:00")


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A new, empty store of each kind: every test that uses it runs on all three."""
    if request.param == "memory":
        return "memory://"
    if request.param == "postgres":
        url: str = request.getfixturevalue("postgres_schema_url")
        return url
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


@pytest.fixture(scope="session")
def graphviz_dot(pytestconfig: pytest.Config) -> str:
    """Graphviz's ``dot`` program, installed first (Debian's ``graphviz``) when missing and
    allowed, for tests of diagrams drawn as SVG."""
    return dot(terminal_announcer(pytestconfig, "graphviz"))


@pytest.fixture(scope="session")
def postgres_cluster(pytestconfig: pytest.Config) -> Iterator[TemporaryCluster]:
    """The session's own PostgreSQL server, started when a test first asks for it (installing
    Debian's package first when missing and allowed) and stopped at the end of the session;
    with ``SVCFLOW_TEST_POSTGRES`` set, the running one in that directory (a mutation run's)."""
    announce = terminal_announcer(pytestconfig, "postgres")
    shared = os.environ.get(SHARED_ENV)
    if shared:
        yield TemporaryCluster.attach(Path(shared), announce)
        return
    with TemporaryCluster(announce) as cluster:
        yield cluster


@pytest.fixture(scope="session")
def postgres_url(postgres_cluster: TemporaryCluster) -> str:
    """``postgresql://svcflow@127.0.0.1:PORT/svcflow``: a database shared by the whole session."""
    return postgres_cluster.url


@pytest.fixture
def postgres_schema_url(postgres_cluster: TemporaryCluster) -> Iterator[str]:
    """The session's database seen through a schema of this test's own (first on the
    ``search_path``), empty or holding a store's empty tables: an empty PostgreSQL store in
    milliseconds, where a new database takes a third of a second. Emptied after the test and
    handed to a later one; a test that changes the schema itself uses
    ``postgres_database_url``."""
    url, name = postgres_cluster.create_schema()
    yield url
    postgres_cluster.release_schema(name)


@pytest.fixture
def postgres_database_url(postgres_cluster: TemporaryCluster) -> Iterator[str]:
    """A new empty database for this test alone, dropped (connections and all) after it."""
    url = postgres_cluster.create_database()
    yield url
    postgres_cluster.drop_database(url)


COMPILED_LANE = pytest.StashKey[compiled_build.Lane]()


@pytest.hookimpl(trylast=True)  # after -k and -m have deselected
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """When a test of the compiled build's lane is selected, the lane starts now in the
    background (building takes minutes, on the core the suite leaves idle) and that test moves
    to the end of the run, where it waits for the lane."""
    lane_tests = [item for item in items if item.get_closest_marker("compiled_build")]
    if not lane_tests or config.option.collectonly or os.environ.get(compiled_build.INSIDE):
        return
    items[:] = [item for item in items if item not in lane_tests] + lane_tests
    directory = Path(tempfile.mkdtemp(prefix="svcflow-compiled-"))
    config.stash[COMPILED_LANE] = compiled_build.start(directory)


def pytest_unconfigure(config: pytest.Config) -> None:
    lane = config.stash.get(COMPILED_LANE, None)
    if lane is not None:
        lane.stop()
        shutil.rmtree(lane.log.parent, ignore_errors=True)


@pytest.fixture
def compiled_lane(pytestconfig: pytest.Config) -> compiled_build.Lane:
    """The compiled build's lane, started at collection (see the hook above)."""
    return pytestconfig.stash[COMPILED_LANE]
