"""Meaning checks of proactive care: ``schedules``, ``scope``/``start_on``/``end_on`` and
``signals`` (see :mod:`svcflow.spec.care`); pure, no I/O.

Run by :mod:`svcflow.definitions.checks` on a shape-valid workflow, reporting through its
checker so every problem has a position and the valid choices. What one file cannot know is
checked later: the calendars a schedule names (with the calendar files, by
``definitions.directory.resolve_calendars``) and the workflows a signal listens to (by the
engine, which knows them all).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from svcflow.errors import did_you_mean
from svcflow.rules.expressions import Expression
from svcflow.spec.care import ScheduledTriggerSpec, SignalSpec
from svcflow.spec.models import WorkflowSpec
from svcflow.spec.recurrence import CUSTOMER_DATE_FIELDS, FIRST_WORKING_DAY, EverySpec
from svcflow.spec.yamlsource import KeyPath

__all__ = [
    "CUSTOMER_VARIABLES",
    "SIGNAL_VARIABLES",
    "Checker",
    "active_states",
    "check_care",
    "trigger_states",
]

CUSTOMER_VARIABLES = ("customer", "now")
"""What ``start_on`` expressions read: the customer record and the time."""

SIGNAL_VARIABLES = ("event", "data", "payload", "customer", "recent", "now")
"""What ``signals`` expressions read (see :class:`svcflow.spec.care.SignalSpec`)."""


class Checker(Protocol):
    """What these checks use of :mod:`svcflow.definitions.checks`' checker."""

    spec: WorkflowSpec
    states: list[str]
    triggers: list[str]

    def report(self, path: KeyPath, message: str, *, at_key: bool = False) -> None: ...

    def compile_with(
        self, path: KeyPath, source: str, names: Sequence[str]
    ) -> Expression | None: ...

    def check_state_name(self, path: KeyPath, name: str) -> bool: ...


def active_states(schedule: ScheduledTriggerSpec, finals: set[str], states: list[str]) -> list[str]:
    """The states a schedule runs in: those it names, else every non-final state."""
    if schedule.states is not None:
        return list(schedule.states)
    return [name for name in states if name not in finals]


def trigger_states(checker: Checker, trigger: str) -> set[str]:
    """The states in which some transition handles ``trigger``."""
    spec = checker.spec
    sources: set[str] = set()
    for transition in spec.transitions:
        if transition.trigger == trigger:
            if transition.is_wildcard:
                sources |= {name for name, state in spec.states.items() if not state.final}
            else:
                sources |= set(transition.sources)
    return sources


def check_care(checker: Checker) -> None:
    """Every care-related problem of the workflow, reported through ``checker``."""
    _check_scope(checker)
    for name, schedule in checker.spec.schedules.items():
        _check_schedule(checker, ("schedules", name), schedule)
    for index, signal in enumerate(checker.spec.signals):
        _check_signal(checker, ("signals", index), signal)


def _check_trigger(checker: Checker, path: KeyPath, trigger: str) -> bool:
    if trigger in checker.triggers:
        return True
    checker.report(
        path,
        f"unknown trigger '{trigger}'" + did_you_mean(trigger, checker.triggers, noun="trigger"),
    )
    return False


def _check_fields(
    checker: Checker, path: KeyPath, data: Mapping[str, str], names: tuple[str, ...]
) -> None:
    for field, source in data.items():
        if field not in checker.spec.data:
            checker.report(
                (*path, field),
                f"unknown field '{field}'" + did_you_mean(field, checker.spec.data, noun="field"),
                at_key=True,
            )
        else:
            checker.compile_with((*path, field), source, names)


def _check_scope(checker: Checker) -> None:
    spec = checker.spec
    if spec.scope != "customer":
        for key in ("start_on", "end_on"):
            if getattr(spec, key) is not None:
                checker.report(
                    (key,),
                    f"'{key}' is for customer-scoped workflows; add 'scope: customer' (one open "
                    "case per customer) or remove it",
                    at_key=True,
                )
        return
    start_on = spec.start_on
    if start_on is not None and start_on.customer_created is not None:
        created = start_on.customer_created
        base: KeyPath = ("start_on", "customer_created")
        if created.when is not None:
            checker.compile_with((*base, "when"), created.when, CUSTOMER_VARIABLES)
        _check_fields(checker, (*base, "data"), created.data, CUSTOMER_VARIABLES)
    if start_on is not None and start_on.customer_changed is not None:
        changed = start_on.customer_changed
        base = ("start_on", "customer_changed")
        checker.compile_with((*base, "when"), changed.when, CUSTOMER_VARIABLES)
        _check_fields(checker, (*base, "data"), changed.data, CUSTOMER_VARIABLES)
    if start_on is not None and start_on.segment_changed is not None:
        data = start_on.segment_changed.data
        _check_fields(checker, ("start_on", "segment_changed", "data"), data, CUSTOMER_VARIABLES)
    _check_end_on(checker)


def _check_end_on(checker: Checker) -> None:
    end_on = checker.spec.end_on
    if end_on is None:
        return
    if end_on.customer_left is not None:
        _check_trigger(checker, ("end_on", "customer_left"), end_on.customer_left)
    if end_on.segment_left is not None:
        _check_trigger(checker, ("end_on", "segment_left"), end_on.segment_left)
        start_on = checker.spec.start_on
        if start_on is None or start_on.segment_changed is None:
            checker.report(
                ("end_on", "segment_left"),
                "segment_left ends the case when the customer leaves the segments "
                "start_on.segment_changed.to names, but there is no start_on.segment_changed",
            )


def _check_schedule(checker: Checker, base: KeyPath, schedule: ScheduledTriggerSpec) -> None:
    spec = checker.spec
    for position, state in enumerate(schedule.states or ()):
        checker.check_state_name((*base, "states", position), state)
    if _check_trigger(checker, (*base, "trigger"), schedule.trigger):
        handled = trigger_states(checker, schedule.trigger)
        finals = {name for name, state in spec.states.items() if state.final}
        for state in active_states(schedule, finals, checker.states):
            if state in spec.states and state not in handled:
                checker.report(
                    (*base, "trigger"),
                    f"schedule '{base[-1]}' runs in state '{state}', but no transition there "
                    f"handles trigger '{schedule.trigger}' (it is handled in: "
                    f"{', '.join(sorted(handled)) or 'no state'}); add a transition or list the "
                    "states the schedule runs in with 'states:'",
                )
    every = schedule.every
    if isinstance(every, EverySpec):
        if every.yearly is not None and "-" not in every.yearly:
            _check_date_field(checker, (*base, "every", "yearly"), every.yearly)
        if FIRST_WORKING_DAY in (every.quarterly, every.monthly) and schedule.calendar is None:
            checker.report(
                (*base, "every"),
                "first_working_day needs a calendar: name one with 'calendar:' on the schedule",
            )
    if schedule.after is not None:
        _check_date_field(checker, (*base, "after"), schedule.after)


def _check_date_field(checker: Checker, path: KeyPath, name: str) -> None:
    if name.startswith("customer."):
        field = name.removeprefix("customer.")
        if field not in CUSTOMER_DATE_FIELDS:
            checker.report(
                path,
                f"the customer record has no date '{field}'"
                + did_you_mean(field, CUSTOMER_DATE_FIELDS, noun="customer date"),
            )
        return
    declared = checker.spec.data.get(name)
    if declared is None:
        dates = [f for f, spec in checker.spec.data.items() if spec.type == "datetime"]
        choices = [*dates, *(f"customer.{f}" for f in CUSTOMER_DATE_FIELDS)]
        checker.report(
            path,
            f"unknown date field '{name}'" + did_you_mean(name, choices, noun="date field"),
        )
    elif declared.type != "datetime":
        checker.report(
            path,
            f"field '{name}' is {declared.type}, not a date; a schedule counts from a datetime "
            "field or a customer date",
        )


def _check_signal(checker: Checker, base: KeyPath, signal: SignalSpec) -> None:
    if signal.source_workflow == checker.spec.workflow:
        checker.report(
            (*base, "event"),
            f"a workflow cannot signal itself ('{signal.event}'); fire the trigger from the "
            "transition instead",
        )
    if signal.when is not None:
        checker.compile_with((*base, "when"), signal.when, SIGNAL_VARIABLES)
    if signal.start is not None:
        _check_fields(checker, (*base, "start"), signal.start, SIGNAL_VARIABLES)
    known = signal.fire is not None and _check_trigger(checker, (*base, "fire"), signal.fire)
    if known and checker.spec.scope != "customer":
        checker.report(
            (*base, "fire"),
            "'fire' signals the customer's open case, which only a customer-scoped workflow "
            "has; add 'scope: customer' or use 'start' (a new case for each event)",
        )
