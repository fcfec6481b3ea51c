"""What a host finds cases by (``Engine.find``, ``count``, ``at_risk``), on every store, and
that a store written before the query columns existed answers the same after its migration."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import timedelta

import psycopg
import pytest

from support.schema import undo_care, undo_case_index
from svcflow import Engine, ManualClock, shipped_workflows
from svcflow.errors import InvalidQuery
from svcflow.sla.encoding import decode_sla


@pytest.fixture
def desk(store_url: str, clock: ManualClock) -> Iterator[Engine]:
    with Engine.from_directory(shipped_workflows(), store=store_url, clock=clock) as engine:
        yield engine


def _ids(engine: Engine, names: dict[str, str], **filters: object) -> list[str]:
    found = engine.find(**filters)  # type: ignore[arg-type]
    assert engine.count(**{k: v for k, v in filters.items() if k not in ("limit", "after")}) == (  # type: ignore[arg-type]
        len(found)
    )
    return [names[case.id] for case in found]


def test_an_sla_board_lists_cases_by_how_soon_they_breach(desk: Engine, clock: ManualClock) -> None:
    li = desk.customers.add("Li Wei", customer_id="crm-1")
    first = desk.start("complaint", {"customer": "Li Wei", "assignee": "agent-7"}, customer=li)
    clock.advance("5m")
    second = desk.start("complaint", {"customer": "Bo", "segment": "vip"})
    names = {first.id: "first", second.id: "second"}
    clock.advance("1m")  # 09:06: first responses due at 09:15 and 09:20
    assert [names[c.id] for c in desk.at_risk("10m")] == ["first"]
    assert [names[c.id] for c in desk.at_risk("15m")] == ["first", "second"]
    page = desk.at_risk("15m", limit=1)
    assert [names[c.id] for c in page] == ["first"]
    assert [names[c.id] for c in desk.at_risk("15m", after=page.next)] == ["second"]
    assert _ids(desk, names, sla="running") == ["first", "second"]
    assert _ids(desk, names, sla="at_risk", within="10m") == ["first"]
    assert _ids(desk, names, customer=li) == ["first"]
    assert _ids(desk, names, assignee="agent-7", workflow="complaint") == ["first"]
    clock.advance("10m")  # 09:16: the first response of the first case breached at 09:15
    desk.advance()
    assert _ids(desk, names, sla="breached") == ["first"]
    at_09_15 = clock.now() - timedelta(minutes=1)  # the breach, and the second one's warning
    assert _ids(desk, names, updated_since=at_09_15) == ["first", "second"]
    assert _ids(desk, names, updated_since=at_09_15 + timedelta(seconds=1)) == []
    assert [names[c.id] for c in desk.at_risk("10m")] == ["second"]  # due 09:20


def test_an_unknown_sla_status_is_refused_with_the_valid_ones(desk: Engine) -> None:
    with pytest.raises(InvalidQuery) as caught:
        desk.find(sla="overdue")
    assert str(caught.value) == (
        "unknown SLA status 'overdue' to find cases by; use one of running, at_risk, breached"
    )


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_cases_written_before_the_query_columns_are_found_after_the_migration(
    kind: str, tmp_path: object, clock: ManualClock, request: pytest.FixtureRequest
) -> None:
    if kind == "sqlite":
        url = f"sqlite:///{request.getfixturevalue('tmp_path') / 'cases.db'}"
    else:
        url = request.getfixturevalue("postgres_database_url")
    with Engine.from_directory(shipped_workflows(), store=url, clock=clock) as engine:
        case = engine.start("complaint", {"customer": "Li", "assignee": "agent-7"})
        engine.start("complaint", {"customer": "Bo"})
        clock.advance("16m")
        engine.advance()  # both first responses breach
        closed = engine.start("complaint", {"customer": "Ma", "assignee": "agent-7"})
    _forget_query_columns(kind, url)
    with Engine.from_directory(shipped_workflows(), store=url, clock=clock) as engine:
        assert [c.id for c in engine.find(assignee="agent-7")] == [case.id, closed.id]
        assert engine.count(sla="breached") == 2
        assert [c.id for c in engine.at_risk("15m")] == [closed.id]


def _forget_query_columns(kind: str, url: str) -> None:
    """Turn the store back into the schema before the query columns (SQLite 8, PostgreSQL 4)."""
    if kind == "sqlite":
        with sqlite3.connect(url.removeprefix("sqlite:///")) as db:
            undo_care(db)
            undo_case_index(db)
        return
    with psycopg.connect(url, autocommit=True) as db:
        db.execute("DROP TABLE shared_texts")  # PostgreSQL step 10 (issue 16)
        db.execute("ALTER TABLE deliveries DROP COLUMN reason")
        for case_id, sla in db.execute("SELECT id, sla FROM cases WHERE sla LIKE '[%'").fetchall():
            plain = json.dumps(decode_sla(str(sla)))  # the SLA state as step 9 wrote it: JSON
            db.execute("UPDATE cases SET sla = %s WHERE id = %s", (plain, case_id))
        db.execute("DROP TABLE signals")  # PostgreSQL step 9 (issue 19)
        db.execute("ALTER TABLE cases DROP COLUMN texts")  # PostgreSQL step 8 (issue 13)
        db.execute("DROP INDEX cases_open_scope")  # PostgreSQL step 7 (issue 19)
        db.execute("ALTER TABLE cases DROP COLUMN open_scope")
        db.execute("ALTER TABLE timers DROP COLUMN nominal")
        db.execute(
            "ALTER TABLE customers DROP COLUMN timezone, DROP COLUMN birthday, "
            "DROP COLUMN since, DROP COLUMN left_at"
        )
        db.execute(
            "ALTER TABLE cases DROP COLUMN assignee, DROP COLUMN queue, DROP COLUMN sla_due, "
            "DROP COLUMN sla_breached"
        )
        db.execute("DROP INDEX cases_by_created_id, cases_by_updated, cases_by_customer_created")
        db.execute("DROP TABLE history_texts")
        db.execute("ALTER TABLE history DROP COLUMN texts")
        db.execute("UPDATE schema_version SET version = 4")
