"""Dry runs: a scenario of timed events played against a workflow on a manual clock.

A scenario file lists events at offsets from a start time (``at: 20m``) or at absolute times;
before each event every timer due by then fires, in due order, exactly as the runner would do in
production. ``expect`` steps check the case's state, data, queued notifications and pending
timers. The result is data (a timeline and failed expectations); rendering is the CLI's job.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from svcflow.clock import ManualClock, as_utc
from svcflow.definitions.workflow import LoadedWorkflow
from svcflow.durations import format_duration, parse_duration
from svcflow.engine import Engine
from svcflow.errors import Problem, ScenarioError, SvcflowError, did_you_mean
from svcflow.records import Case, HistoryEntry
from svcflow.sla.calendar import BusinessCalendar
from svcflow.spec.models import Name, WorkflowSpec
from svcflow.spec.shape import validate_shape
from svcflow.spec.yamlsource import SourceMap, parse_yaml
from svcflow.store.base import Store

__all__ = [
    "Scenario",
    "SimulationResult",
    "load_scenario",
    "play_until",
    "played_alone",
    "render_timeline",
    "run_scenario",
]

DEFAULT_START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Expectation(_Strict):
    """What must hold at a point of the scenario; every key is optional."""

    state: Name | None = None
    data: dict[str, Any] | None = None
    notifications: list[str] | None = Field(
        default=None, description="Templates queued so far, in order."
    )
    timers: list[Name | str] | None = Field(
        default=None, description="Pending timer triggers (SLA ones as sla:<metric>:breach)."
    )
    sla: dict[Name, Literal["running", "paused", "met", "breached", "cancelled"]] | None = Field(
        default=None, description="Status of SLA metrics, by metric: running, met, breached..."
    )


class ScenarioEvent(_Strict):
    """One step: at a time, optionally fire a trigger, optionally check expectations."""

    at: str | datetime = Field(description="An offset from 'start' (20m, 2d) or a timestamp.")
    fire: Name | None = None
    payload: dict[str, Any] | None = None
    actor: str = "customer-service"
    expect: Expectation | None = None
    expect_error: str | None = Field(
        default=None, description="The fire must fail with this error class name."
    )

    @model_validator(mode="after")
    def _consistent(self) -> ScenarioEvent:
        if self.payload is not None and self.fire is None:
            raise ValueError("'payload' needs 'fire'")
        if self.expect_error is not None and self.fire is None:
            raise ValueError("'expect_error' needs 'fire'")
        return self


class ScenarioCustomer(_Strict):
    """The customer the scenario's case belongs to (a customer-scoped workflow needs one). It is
    added to the store at the start; a workflow that starts on ``customer_created`` starts the
    case itself, any other starts it for this customer."""

    name: str
    segment: str | None = None
    email: str | None = None
    phone: str | None = None
    locale: str | None = None
    timezone: str | None = None
    birthday: date | None = None
    since: date | None = None


class Scenario(_Strict):
    """A scenario file: one case, started with ``case`` data, then ``events`` in time order."""

    title: str = ""
    workflow: str | None = None
    start: datetime = DEFAULT_START
    actor: str = "intake"
    people: dict[str, list[Name]] = Field(
        default_factory=dict,
        description="The roles of the people who act in the scenario: {lead-3: [team_lead]}.",
    )
    case: dict[str, Any] = Field(default_factory=dict)
    customer: ScenarioCustomer | None = None
    events: list[ScenarioEvent] = Field(default_factory=list)
    until: str | datetime | None = Field(
        default=None, description="Advance to this time at the end (offset or timestamp)."
    )


@dataclass(frozen=True)
class LoadedScenario:
    scenario: Scenario
    file: str
    source_map: SourceMap
    moments: list[datetime]
    until: datetime | None


@dataclass
class SimulationResult:
    """A played scenario: the case id, its history (the timeline) and failed expectations."""

    case_id: str
    start: datetime
    history: list[HistoryEntry]
    checks: list[tuple[datetime, str, bool]] = field(default_factory=list)
    notifications: list[Any] = field(default_factory=list)

    @property
    def failures(self) -> list[str]:
        return [text for _, text, ok in self.checks if not ok]

    @property
    def passed(self) -> bool:
        return not self.failures


def _moment(value: str | datetime, start: datetime) -> datetime:
    if isinstance(value, datetime):
        return as_utc(value)
    return start + parse_duration(value)


def load_scenario(path: str | Path, workflow: LoadedWorkflow) -> LoadedScenario:
    """Load and check a scenario against the workflow it will run; all problems at once."""
    file = str(path)
    text = Path(path).read_text(encoding="utf-8")
    document = parse_yaml(text, file)
    if document.problems:
        raise ScenarioError(document.problems)
    source_map = document.source_map
    try:
        scenario = validate_shape(Scenario, document.data or {}, source_map)
    except SvcflowError as error:
        raise ScenarioError(getattr(error, "problems", ())) from None
    problems: list[Problem] = []
    spec = workflow.spec
    if scenario.workflow is not None and scenario.workflow != spec.workflow:
        problems.append(
            source_map.problem(
                ("workflow",),
                f"this scenario is for workflow '{scenario.workflow}', but the file given "
                f"defines '{spec.workflow}'",
            )
        )
    start = as_utc(scenario.start)
    moments = _check_events(scenario, spec, start, source_map, problems)
    until = None
    if scenario.until is not None:
        try:
            until = _moment(scenario.until, start)
        except ValueError as error:
            problems.append(source_map.problem(("until",), str(error)))
    if problems:
        raise ScenarioError(problems)
    return LoadedScenario(scenario, file, source_map, moments, until)


def _check_events(
    scenario: Scenario,
    spec: WorkflowSpec,
    start: datetime,
    source_map: SourceMap,
    problems: list[Problem],
) -> list[datetime]:
    """When each event happens; each event's problems (an unreadable or out-of-order ``at``, a
    trigger or expected state the workflow lacks) are added to ``problems`` in file order."""
    triggers = sorted({t.trigger for t in spec.transitions})
    moments: list[datetime] = []
    for index, event in enumerate(scenario.events):
        try:
            moment = _moment(event.at, start)
        except ValueError as error:
            problems.append(source_map.problem(("events", index, "at"), str(error)))
            moment = moments[-1] if moments else start
        if moments and moment < moments[-1]:
            problems.append(
                source_map.problem(
                    ("events", index, "at"),
                    "events must be in time order; this one is earlier than the one before it",
                )
            )
        moments.append(moment)
        problems += _event_name_problems(index, event, spec, triggers, source_map)
    return moments


def _event_name_problems(
    index: int, event: ScenarioEvent, spec: WorkflowSpec, triggers: list[str], source_map: SourceMap
) -> list[Problem]:
    """The event's trigger and expected state, if the workflow does not have them."""
    problems: list[Problem] = []
    if event.fire is not None and event.fire not in triggers:
        problems.append(
            source_map.problem(
                ("events", index, "fire"),
                f"unknown trigger '{event.fire}'"
                + did_you_mean(event.fire, triggers, noun="trigger"),
            )
        )
    if event.expect and event.expect.state and event.expect.state not in spec.states:
        problems.append(
            source_map.problem(
                ("events", index, "expect", "state"),
                f"unknown state '{event.expect.state}'"
                + did_you_mean(event.expect.state, spec.states, noun="state"),
            )
        )
    return problems


def played_alone(workflow: LoadedWorkflow) -> LoadedWorkflow:
    """The workflow as a scenario plays it, alone: its ``signals`` listen to other workflows'
    cases, which a scenario does not run, so they are left out (an engine refuses signals from
    workflows it does not run). Tests that load the whole directory play them."""
    if not workflow.spec.signals:
        return workflow
    return replace(workflow, spec=workflow.spec.model_copy(update={"signals": []}))


def run_scenario(
    workflow: LoadedWorkflow,
    loaded: LoadedScenario,
    store: Store | str = "memory://",
    calendars: Mapping[str, BusinessCalendar] | None = None,
) -> SimulationResult:
    """Play the scenario on a fresh manual clock; expectations that fail are recorded, not
    raised, so the whole timeline is always shown. ``calendars`` are those the workflow names."""
    scenario = loaded.scenario
    start = as_utc(scenario.start)
    clock = ManualClock(start)
    with Engine(
        [played_alone(workflow)], store, clock, calendars=calendars or {}, roles=scenario.people
    ) as engine:
        case = _start(engine, scenario, scenario.workflow or workflow.spec.workflow)
        checks: list[tuple[datetime, str, bool]] = []
        for index, (event, moment) in enumerate(zip(scenario.events, loaded.moments, strict=True)):
            play_until(engine, clock, moment)
            line = loaded.source_map.position(("events", index))[0]
            label = f"+{format_duration(moment - start)} (line {line})"
            if event.fire is not None:
                try:
                    engine.fire(case.id, event.fire, event.payload, actor=event.actor)
                except SvcflowError as error:
                    expected = event.expect_error == type(error).__name__
                    checks.append((moment, f"{label}: {event.fire} failed: {error}", expected))
                else:
                    if event.expect_error is not None:
                        checks.append(
                            (
                                moment,
                                f"{label}: expected {event.fire} to fail with "
                                f"{event.expect_error}, but it succeeded",
                                False,
                            )
                        )
            if event.expect is not None:
                checks.extend(
                    (moment, text, ok) for text, ok in _check(engine, case.id, event.expect, label)
                )
        if loaded.until is not None:
            play_until(engine, clock, loaded.until)
        return SimulationResult(
            case.id, start, engine.history(case.id), checks, engine.notifications(case.id)
        )


def _start(engine: Engine, scenario: Scenario, workflow: str) -> Case:
    if scenario.customer is None:
        return engine.start(workflow, scenario.case, actor=scenario.actor)
    fields = scenario.customer.model_dump(exclude_none=True)
    customer = engine.customers.add(fields.pop("name"), **fields)
    started = engine.find(workflow=workflow, customer=customer)
    if started:
        return started[0]
    return engine.start(workflow, scenario.case, actor=scenario.actor, customer=customer)


def play_until(engine: Engine, clock: ManualClock, moment: datetime) -> list[Any]:
    """Move a manual clock to ``moment`` the way time passes for a runner that never sleeps:
    each timer fires at its own due time (so none is late), then the clock reaches ``moment``.
    Returns the timer firings, in order."""
    fired: list[Any] = []
    while True:
        due = engine.store.due_timers(moment, 1)
        if not due:
            break
        clock.set(max(due[0].retry_at or due[0].due_at, clock.now()))
        fired.extend(engine.advance())
    clock.set(max(moment, clock.now()))
    return fired


def _check(engine: Engine, case_id: str, expect: Expectation, label: str) -> list[tuple[str, bool]]:
    case = engine.get(case_id)
    compared: list[tuple[str, object, object]] = []
    if expect.state is not None:
        compared.append(("state", expect.state, case.state))
    if expect.data is not None:
        actual = engine.registry.get(case.workflow, case.version).schema.to_jsonable(case.data)
        compared.extend(
            (name, value, actual.get(name, "<no such field>"))
            for name, value in _jsonable(expect.data).items()
        )
    if expect.notifications is not None:
        queued = [n.template for n in engine.notifications(case_id)]
        compared.append(("notifications", expect.notifications, queued))
    if expect.timers is not None:
        pending = sorted(t.trigger for t in engine.timers(case_id))
        compared.append(("pending timers", sorted(expect.timers), pending))
    if expect.sla is not None:
        statuses = {s.metric: s.status for s in engine.sla(case_id)}
        actual = {metric: statuses.get(metric, "not started") for metric in expect.sla}
        compared.append(("SLA", dict(expect.sla), actual))
    return [
        (
            f"{label}: {what} {actual!r}"
            if wanted == actual
            else f"{label}: expected {what} {wanted!r}, it is {actual!r}",
            wanted == actual,
        )
        for what, wanted, actual in compared
    ]


def _jsonable(values: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in values.items():
        if isinstance(value, datetime):
            out[name] = as_utc(value).isoformat().replace("+00:00", "Z")
        else:
            out[name] = value
    return out


def render_timeline(result: SimulationResult) -> list[str]:
    """The timeline as text lines: each event with its state change and what it did, then the
    outcome of each expectation."""
    lines = []
    for entry in result.history:
        offset = "+" + format_duration(entry.at - result.start)
        when = entry.at.strftime("%a %H:%M")
        if entry.kind == "started":
            what = f"start by {entry.actor}"
        elif entry.kind.startswith("timer"):
            late = float(entry.details.get("late_by_seconds", 0))
            what = f"timer {entry.trigger}" + (" (no effect)" if entry.kind != "timer" else "")
            if late:
                what += f" late {format_duration(timedelta(seconds=late))}"
        else:
            what = f"{entry.trigger} by {entry.actor}"
        move = (
            f"{entry.from_state} -> {entry.to_state}"
            if entry.from_state and entry.from_state != entry.to_state
            else f"   {entry.to_state}"
        )
        effects = []
        for item in entry.details.get("notifications", ()):
            effects.append(f"notify {item['template']} -> {', '.join(item['to'])}")
        for item in entry.details.get("timers", ()):
            due = datetime.fromisoformat(item["due_at"])
            effects.append(f"timer {item['trigger']} at +{format_duration(due - result.start)}")
        for name in entry.details.get("cancelled", ()):
            effects.append(f"cancel {name}")
        if entry.kind != "started":  # a start's "set" lists the defaults: noise in a timeline
            for name, value in entry.details.get("set", {}).items():
                effects.append(f"set {name}={value}")
        for note in entry.details.get("notes", ()):
            effects.append(f"note: {note}")
        lines.append(f"{offset:>8}  {when}  {what:<34} {move:<40} {'; '.join(effects)}".rstrip())
    for _, text, ok in result.checks:
        lines.append(f"{'ok  ' if ok else 'FAIL'}  {text}")
    return lines
