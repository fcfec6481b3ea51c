"""Workflow versions: a changed file needs a new version while cases run on the old one, and
running cases finish on the definition they started with."""

from __future__ import annotations

from pathlib import Path

import pytest

from support.workflows import MINIMAL
from svcflow import Engine, ManualClock, WorkflowVersionConflict


def write(directory: Path, text: str) -> None:
    (directory / "ticket.yaml").write_text(text, encoding="utf-8")


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "workflows").mkdir()
    return tmp_path


def open_engine(workdir: Path, clock: ManualClock) -> Engine:
    return Engine.from_directory(
        workdir / "workflows", store=f"sqlite:///{workdir / 'cases.db'}", clock=clock
    )


def test_changed_content_under_same_version_is_refused_while_cases_exist(
    workdir: Path, clock: ManualClock
) -> None:
    write(workdir / "workflows", MINIMAL)
    with open_engine(workdir, clock) as engine:
        case = engine.start("ticket", {"customer": "Ann"})
    write(workdir / "workflows", MINIMAL.replace("after: 2h", "after: 4h"))
    with pytest.raises(WorkflowVersionConflict) as caught:
        open_engine(workdir, clock)
    assert str(caught.value) == (
        f"{workdir / 'workflows' / 'ticket.yaml'}: workflow 'ticket' version 1 changed, but 1 "
        "case(s) already run on version 1; running cases must keep the definition they "
        "started with. Raise 'version' to 2 to publish the change (existing cases stay on 1, "
        "new cases start on 2)."
    )
    write(workdir / "workflows", "# only a comment changed\n" + MINIMAL)
    with open_engine(workdir, clock) as engine:
        assert engine.get(case.id).state == "new"


def test_change_without_cases_is_accepted(workdir: Path, clock: ManualClock) -> None:
    write(workdir / "workflows", MINIMAL)
    open_engine(workdir, clock).close()
    write(workdir / "workflows", MINIMAL.replace("after: 2h", "after: 4h"))
    with open_engine(workdir, clock) as engine:
        case = engine.fire(engine.start("ticket", {"customer": "Ann"}).id, "take")
        assert engine.timers(case.id)[0].due_at - case.updated_at == __import__(
            "datetime"
        ).timedelta(hours=4)


def test_running_cases_stay_on_their_version(workdir: Path, clock: ManualClock) -> None:
    write(workdir / "workflows", MINIMAL)
    with open_engine(workdir, clock) as engine:
        old = engine.start("ticket", {"customer": "Ann"})
    version2 = MINIMAL.replace("version: 1", "version: 2").replace(
        "  - {trigger: take, from: new, to: open}",
        "  - {trigger: take, from: new, to: open}\n  - {trigger: skip, from: new, to: answered}",
    )
    write(workdir / "workflows", version2)
    with open_engine(workdir, clock) as engine:
        new = engine.start("ticket", {"customer": "Bo"})
        assert (old.version, new.version) == (1, 2)
        assert "skip" in engine.triggers(new.id)
        assert "skip" not in engine.triggers(old.id)
        old_case = engine.fire(old.id, "take")
        assert (old_case.version, old_case.state) == (1, "open")
        assert engine.history(old.id)[-1].version == 1
