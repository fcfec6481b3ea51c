"""Retention: closed cases purged after their workflow's period, dead letters expired, from
``Engine.purge`` and ``svcflow purge`` (on every store kind)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from support.workflows import MINIMAL
from svcflow import Engine, ManualClock, load_workflow_text
from svcflow.cli import main
from svcflow.errors import WorkflowDefinitionError


def _retention(text: str) -> str:
    line = f"retention: {{closed_cases: {text}}}\n"
    return MINIMAL.replace("title: Ticket\n", f"title: Ticket\n{line}")


KEPT_400_DAYS = _retention("400d")


def _closed_and_open(engine: Engine, clock: ManualClock) -> tuple[str, str]:
    closed = engine.start("ticket", {"customer": "ann"})
    engine.fire(closed.id, "take")
    engine.fire(closed.id, "answer", {"answer": "done"})
    engine.fire(closed.id, "close")
    still_open = engine.start("ticket", {"customer": "bob"})
    engine.fire(still_open.id, "take")
    engine.fire(still_open.id, "answer", {"answer": "waiting"})
    return closed.id, still_open.id


def test_closed_cases_go_after_the_workflows_retention_with_all_they_kept(
    make_engine: Callable[..., Engine], clock: ManualClock
) -> None:
    engine = make_engine(KEPT_400_DAYS)
    closed, still_open = _closed_and_open(engine, clock)
    clock.advance("400d")
    assert engine.purge().cases == ()  # exactly 400 days: still kept
    clock.advance("1s")
    dry = engine.purge(dry_run=True)
    assert (dry.cases, dry.dry_run) == ((closed,), True)
    assert engine.get(closed).state == "closed"
    report = engine.purge()
    assert (report.cases, report.dry_run) == ((closed,), False)
    assert [c.id for c in engine.find()] == [still_open]
    assert engine.store.load_case(closed) is None
    assert engine.history(still_open)[-1].to_state == "answered"
    assert engine.store.history(closed) == [] and engine.store.outbox(closed) == []
    assert engine.store.notifications(closed) == []


def test_without_retention_closed_cases_are_kept_unless_a_period_is_given(
    make_engine: Callable[..., Engine], clock: ManualClock
) -> None:
    engine = make_engine()
    closed, still_open = _closed_and_open(engine, clock)
    clock.advance("3000d")
    assert engine.purge().cases == ()
    assert engine.purge(timedelta(days=10)).cases == (closed,)
    assert [c.id for c in engine.find()] == [still_open]


def test_purge_expires_dead_letters_after_30_days_by_default(
    make_engine: Callable[..., Engine], clock: ManualClock
) -> None:
    engine = make_engine()
    engine.store.add_dead_letter("sms", "old", "text", "no sender", clock.now())
    clock.advance("20d")
    engine.store.add_dead_letter("sms", "young", "text", "no sender", clock.now())
    clock.advance("10d1s")
    assert engine.purge(dry_run=True).dead_letters == 1
    assert len(engine.dead_letters()) == 2
    assert engine.purge().dead_letters == 1
    assert [d.raw for d in engine.dead_letters()] == ["young"]
    later = clock.now() + timedelta(days=99)
    assert engine.purge(dead_letters_older_than=None, now=later).dead_letters == 0


@pytest.mark.parametrize(
    ("period", "why"),
    [
        ("0d", "closed_cases must be longer than 0, e.g. 400d"),
        (
            "400 days",
            "invalid duration '400 days': write a number and a unit, e.g. 30s, 15m, 4h, 2d, 1w "
            "or 1h30m",
        ),
    ],
)
def test_a_retention_that_is_not_a_positive_duration_is_refused_with_its_position(
    period: str, why: str
) -> None:
    with pytest.raises(WorkflowDefinitionError) as caught:
        load_workflow_text(_retention(period), "ticket.yaml")
    assert str(caught.value) == (
        f"1 problem in ticket.yaml\nticket.yaml:4:27: retention.closed_cases: {why}"
    )


def test_svcflow_purge_deletes_past_retention_and_dry_run_only_counts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    workflows = tmp_path / "workflows"
    workflows.mkdir()
    (workflows / "ticket.yaml").write_text(KEPT_400_DAYS)
    url = f"sqlite:///{tmp_path / 'cases.db'}"
    clock = ManualClock("2024-01-01T09:00:00+00:00")
    with Engine.from_directory(workflows, store=url, clock=clock) as engine:
        closed, still_open = _closed_and_open(engine, clock)
        engine.store.add_dead_letter("sms", "old", "text", "no sender", clock.now())
    assert main(["purge", "--store", url, "--workflows", str(workflows), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert out == f"would delete 1 closed case and 1 dead letter\n  {closed}\n"
    assert main(["purge", "--store", url, "--workflows", str(workflows)]) == 0
    assert capsys.readouterr().out == f"deleted 1 closed case and 1 dead letter\n  {closed}\n"
    with Engine.from_directory(workflows, store=url) as engine:
        assert [c.id for c in engine.find()] == [still_open]
