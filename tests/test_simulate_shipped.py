"""The escalation, crisis and care scenarios pass through the real ``svcflow simulate`` command, and
every notification they queue renders from the shipped templates, in English and Chinese."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest

from support.workflows import ROOT, WORKFLOWS
from svcflow import Engine, ManualClock, load_workflow_file
from svcflow.cli import main
from svcflow.errors import SvcflowError
from svcflow.records import Case, OutboxEntry
from svcflow.simulate import Scenario, load_scenario, play_until
from test_shipped_workflows import SCENARIOS, scenario_workflow_id, shipped_workflow_file

WORKFLOWS_COVERED = (
    "escalation",
    "crisis",
    "care_retention",
    "care_revisit",
    "care_greetings",
    "care_vip_review",
)
COVERED = [path for path in SCENARIOS if scenario_workflow_id(path) in WORKFLOWS_COVERED]
ROLES = [
    "customer",
    "team_lead",
    "service_manager",
    "executive",
    "account_manager",
    "crisis_duty_officer",
    "crisis_team",
    "pr",
    "retention_team",
    "care_team",
]


def test_each_workflow_has_its_scenarios() -> None:
    for workflow_id in WORKFLOWS_COVERED:
        assert len([p for p in COVERED if p.name.startswith(f"{workflow_id}_")]) >= 3


@pytest.mark.parametrize("scenario", COVERED, ids=lambda p: p.name)
def test_scenario_passes_through_svcflow_simulate(
    scenario: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    workflow = shipped_workflow_file(scenario_workflow_id(scenario)).relative_to(ROOT)
    status = main(["simulate", str(workflow), "--scenario", str(scenario.relative_to(ROOT))])
    out = capsys.readouterr().out
    assert status == 0, out
    assert "FAIL" not in out
    assert out.rstrip().splitlines()[-1].endswith("expectations passed")


def replay(scenario: Path, locale: str) -> list[OutboxEntry]:
    """Play the scenario's events on an engine built like production's (every workflow and
    template of ``workflows/``), every role reachable in ``locale``; return the case's outbox."""
    workflow = load_workflow_file(shipped_workflow_file(scenario_workflow_id(scenario)))
    loaded = load_scenario(scenario, workflow)
    clock = ManualClock(loaded.scenario.start)
    directory = {role: {"address": f"console:{role}", "locale": locale} for role in ROLES}
    with Engine.from_directory(
        WORKFLOWS, "memory://", clock, directory=directory, load_plugins=False
    ) as engine:
        case = start(engine, loaded.scenario, workflow.spec.workflow, locale)
        for event, moment in zip(loaded.scenario.events, loaded.moments, strict=True):
            play_until(engine, clock, moment)
            if event.fire is not None:
                with contextlib.suppress(SvcflowError):  # expected refusals are part of the play
                    engine.fire(case.id, event.fire, event.payload)
        if loaded.until is not None:
            play_until(engine, clock, loaded.until)
        return engine.outbox(case.id)


def start(engine: Engine, scenario: Scenario, workflow: str, locale: str) -> Case:
    """The scenario's case; a scenario's customer is added first, speaking ``locale`` (a
    customer-scoped workflow starts their case itself)."""
    if scenario.customer is None:
        return engine.start(workflow, scenario.case)
    fields = scenario.customer.model_dump(exclude_none=True) | {"locale": locale}
    customer = engine.customers.add(fields.pop("name"), **fields)
    return engine.find(workflow=workflow, customer=customer)[0]


@pytest.mark.parametrize("locale", ["en", "zh-CN"])
@pytest.mark.parametrize("scenario", COVERED, ids=lambda p: p.name)
def test_every_notification_renders_in_each_locale(scenario: Path, locale: str) -> None:
    outbox = replay(scenario, locale)
    assert outbox
    assert [(e.template, e.last_error) for e in outbox if e.status == "dead"] == []
    for entry in outbox:
        if entry.role != "assignee":  # an assignee is a person the directory does not list
            assert entry.locale == locale, entry.template
        assert entry.subject.strip() and entry.body.strip(), entry.template
        assert "None" not in entry.subject + entry.body, (entry.template, entry.body)
