"""The care part of the workflow language (``scope``, ``start_on``, ``end_on``, ``schedules``,
``signals``): what loads, and the exact message a process owner sees for each mistake."""

from __future__ import annotations

from pathlib import Path

import pytest

from svcflow import WorkflowDefinitionError, load_workflow_text
from svcflow.definitions.directory import load_definitions

CARE = """\
workflow: care
version: 1
title: Care
scope: customer
data:
  last_contact: datetime
  note: string
states:
  active: {initial: true}
  ended: {final: true}
transitions:
  - {trigger: greet, from: active}
  - {trigger: leave, from: active, to: ended}
"""


def problems(text: str) -> str:
    with pytest.raises(WorkflowDefinitionError) as caught:
        load_workflow_text(text, "care.yaml")
    return str(caught.value)


def test_a_customer_scoped_workflow_with_schedules_and_signals_loads() -> None:
    loaded = load_workflow_text(
        CARE
        + "start_on:\n  customer_created:\n  segment_changed: {to: [vip, gold], from: standard}\n"
        + "end_on: {customer_left: leave}\n"
        + "schedules:\n"
        + "  birthday: {every: {yearly: customer.birthday}, trigger: greet}\n"
        + "  revisit: {every: 90 days, after: last_contact, trigger: greet, states: active}\n"
        + "signals:\n"
        + "  - {event: complaint.started, when: 'recent.complaint >= 3', within: 90d, start: {}}\n"
        + "  - {event: survey.answered, when: 'payload.nps <= 6', fire: greet}\n",
        "care.yaml",
    )
    spec = loaded.spec
    assert spec.scope == "customer"
    assert spec.start_on is not None and spec.start_on.customer_created is not None
    assert spec.start_on.segment_changed is not None
    assert spec.start_on.segment_changed.to == ["vip", "gold"]
    assert spec.start_on.segment_changed.source == ["standard"]
    assert spec.schedules["revisit"].states == ["active"]
    assert spec.signals[0].start == {} and spec.signals[0].fire is None
    assert (spec.signals[1].source_workflow, spec.signals[1].source_trigger) == (
        "survey",
        "answered",
    )


def test_start_on_without_customer_scope_is_refused_at_its_key() -> None:
    text = CARE.replace("scope: customer\n", "") + "start_on: {segment_changed: {to: vip}}\n"
    assert problems(text) == (
        "1 problem in care.yaml\n"
        "care.yaml:13:1: start_on: 'start_on' is for customer-scoped workflows; add "
        "'scope: customer' (one open case per customer) or remove it"
    )


def test_a_schedule_counts_only_from_a_date() -> None:
    text = CARE + (
        "schedules:\n"
        "  a: {every: 90 days, after: note, trigger: greet}\n"
        "  b: {every: 90 days, after: last_contct, trigger: greet}\n"
        "  c: {every: 90 days, after: customer.birth, trigger: greet}\n"
    )
    assert problems(text) == (
        "3 problems in care.yaml\n"
        "care.yaml:15:30: schedules.a.after: field 'note' is string, not a date; a schedule "
        "counts from a datetime field or a customer date\n"
        "care.yaml:16:30: schedules.b.after: unknown date field 'last_contct'; did you mean "
        "'last_contact'? date fields: customer.birthday, customer.since, last_contact\n"
        "care.yaml:17:30: schedules.c.after: the customer record has no date 'birth'; did you "
        "mean 'birthday'? customer dates: birthday, since"
    )


def test_end_on_names_triggers_and_segment_left_needs_a_segment_start() -> None:
    text = (
        CARE
        + "start_on: {customer_created: {}}\n"
        + "end_on: {customer_left: lave, segment_left: leave}\n"
    )
    assert problems(text) == (
        "2 problems in care.yaml\n"
        "care.yaml:15:25: end_on.customer_left: unknown trigger 'lave'; did you mean 'leave'? "
        "triggers: greet, leave\n"
        "care.yaml:15:45: end_on.segment_left: segment_left ends the case when the customer "
        "leaves the segments start_on.segment_changed.to names, but there is no "
        "start_on.segment_changed"
    )


def test_signals_are_checked_for_shape_self_reference_and_expressions() -> None:
    shape = CARE + "signals:\n  - {event: survey, fire: greet}\n  - {event: survey.answered}\n"
    assert problems(shape) == (
        "2 problems in care.yaml\n"
        "care.yaml:15:13: signals[0].event: 'survey' is not an event; write "
        "<workflow>.<trigger>, <workflow>.started or <workflow>.closed, e.g. survey.answered\n"
        "care.yaml:16:5: signals[1]: a signal needs 'start', 'fire' or both"
    )
    meaning = CARE + (
        "signals:\n"
        "  - {event: care.greet, fire: greet}\n"
        "  - {event: survey.answered, when: 'payload.nps <=', fire: greet}\n"
    )
    assert problems(meaning).splitlines()[:2] == [
        "2 problems in care.yaml",
        "care.yaml:15:13: signals[0].event: a workflow cannot signal itself ('care.greet'); "
        "fire the trigger from the transition instead",
    ]


def test_a_schedule_calendar_must_exist_next_to_the_workflow(tmp_path: Path) -> None:
    text = CARE + "schedules:\n  r: {every: {quarterly: 1}, calendar: ofice, trigger: greet}\n"
    (tmp_path / "care.yaml").write_text(text)
    with pytest.raises(WorkflowDefinitionError) as caught:
        load_definitions(tmp_path)
    assert str(caught.value).splitlines()[1] == (
        f"{tmp_path / 'care.yaml'}:15:40: schedules.r.calendar: unknown calendar 'ofice'; "
        "calendars: 24x7; calendars are the files with a 'calendar:' id next to the workflows"
    )


def test_a_signal_fires_only_on_a_customer_scoped_workflow() -> None:
    text = CARE.replace("scope: customer\n", "") + (
        "signals:\n  - {event: survey.answer, fire: greet}\n"
    )
    assert problems(text) == (
        "1 problem in care.yaml\n"
        "care.yaml:14:34: signals[0].fire: 'fire' signals the customer's open case, which only a "
        "customer-scoped workflow has; add 'scope: customer' or use 'start' (a new case for each "
        "event)"
    )
