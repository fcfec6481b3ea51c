"""A small, hand-checked service week for the KPI report tests (``tests/test_report.py``,
``tests/test_report_browser.py``), on its own workflows so it does not move when the shipped
ones change.

Five desk cases and one crisis, from Monday 2 March 2026 09:00 (UTC, 24x7 calendars):

- A (phone, billing, vip): answered 09:04, resolved 11:00, closed satisfied 11:30 (NPS 10); E is
  raised from it.
- B (chat, billing, standard): warned 09:07:30, team lead 09:10, breached 09:15, answered
  09:20, resolved 10:00, reopened 10:30, resolved 11:00, closed unsatisfied 11:30 (NPS 3).
- C (email, delivery, standard): warned 09:07:30, answered 09:09, waits on the customer from
  09:30 until Tuesday 09:00, resolved Tuesday 12:00 (27 h after its start).
- D (chat, delivery, vip): never answered: warned 09:07:30, team lead 09:10, breached 09:15,
  service manager 09:30; its resolution clock breaches on Tuesday 09:00.
- E (phone, delivery, no segment, parent_case A): started 11:30, answered 11:31, resolved
  12:30, closed satisfied 13:00 (NPS 8).
- X (crisis, tier 1, "payment outage", social): started 10:00, internal alert 10:20, social
  reply breached 10:30 and sent 10:45, response plan 10:50, closed 11:00.
"""

from __future__ import annotations

from collections.abc import Iterator

from svcflow import Engine, ManualClock, load_workflow_text

DESK = """\
workflow: desk
version: 1
title: Service desk (report test)
data:
  customer: {type: string, required: true}
  channel: string
  category: string
  segment: string
  parent_case: string
  satisfied: boolean
  nps: integer
states:
  received: {initial: true}
  open: {}
  waiting: {}
  resolved: {}
  closed: {final: true}
transitions:
  - {trigger: respond, from: received, to: open}
  - {trigger: ask, from: open, to: waiting}
  - {trigger: reply, from: waiting, to: open}
  - {trigger: resolve, from: [open, waiting], to: resolved}
  - {trigger: reopen, from: resolved, to: open}
  - {trigger: close, from: resolved, to: closed}
sla:
  metrics:
    first_response:
      start: {enter: received}
      stop: {leave: received}
      cancel: {enter: closed}
      targets: [{within: 15m}]
      warnings: [{at: 50%}]
    resolution:
      start: [{enter: received}, {trigger: reopen}]
      stop: {enter: resolved}
      pause: {enter: waiting}
      resume: {leave: waiting}
      cancel: {enter: closed}
      targets: [{within: 24h}]
escalations:
  unanswered:
    start: {enter: received}
    stop: {leave: received}
    cancel: {enter: closed}
    levels:
      - {after: 10m, notify: team_lead, template: unanswered, name: team_lead}
      - {after: 20m, notify: service_manager, template: unanswered, name: service_manager}
"""

CRISIS = """\
workflow: crisis
version: 1
title: Crisis response (report test)
data:
  tier: integer
  event: string
  channel: string
states:
  detected: {initial: true}
  alerted: {}
  planned: {}
  closed: {final: true}
transitions:
  - {trigger: alert, from: detected, to: alerted}
  - {trigger: plan, from: alerted, to: planned}
  - {trigger: reply_social, from: [detected, alerted, planned]}
  - {trigger: close, from: planned, to: closed}
sla:
  metrics:
    internal_alert:
      start: {enter: detected}
      stop: {leave: detected}
      targets: [{within: 30m}]
    response_plan:
      start: {enter: detected}
      stop: {enter: planned}
      targets: [{within: 1h}]
    social_reply:
      start: {enter: detected}
      stop: {trigger: reply_social}
      targets: [{within: 30m}]
"""

START = "2026-03-02T09:00:00+00:00"


def scenario_engine(store_url: str) -> Engine:
    """An engine on ``store_url`` whose cases get the ids A, B, C, D, X, E in start order."""
    names: Iterator[str] = iter(["A", "B", "C", "D", "X", "E"])
    return Engine(
        [load_workflow_text(DESK, "desk.yaml"), load_workflow_text(CRISIS, "crisis.yaml")],
        store_url,
        ManualClock(START),
        id_factory=lambda: next(names),
        load_plugins=False,
    )


def run_scenario(engine: Engine) -> None:
    """Play the week in the module docstring on ``engine`` (made by :func:`scenario_engine`)."""
    clock = engine.clock
    assert isinstance(clock, ManualClock)

    def at(moment: str) -> None:
        clock.set(moment if "T" in moment else f"2026-03-02T{moment}:00+00:00")
        engine.advance()

    def desk(channel: str, category: str | None, segment: str | None, **more: str) -> None:
        data = {"customer": "c", "channel": channel, **more}
        data.update({k: v for k, v in (("category", category), ("segment", segment)) if v})
        engine.start("desk", data)

    desk("phone", "billing", "vip")  # A
    desk("chat", "billing", "standard")  # B
    desk("email", "delivery", "standard")  # C
    desk("chat", "delivery", "vip")  # D
    at("09:04")
    engine.fire("A", "respond")
    at("09:09")  # the 50% warnings of B, C and D fired at 09:07:30
    engine.fire("C", "respond")
    at("09:20")  # team lead for B and D at 09:10, their breaches at 09:15
    engine.fire("B", "respond")
    at("09:30")  # service manager for D
    engine.fire("C", "ask")
    at("10:00")
    engine.start("crisis", {"tier": 1, "event": "payment outage", "channel": "social"})
    engine.fire("B", "resolve")
    at("10:20")
    engine.fire("X", "alert")
    at("10:30")  # X's social_reply breaches
    engine.fire("B", "reopen")
    at("10:45")
    engine.fire("X", "reply_social")
    at("10:50")
    engine.fire("X", "plan")
    at("11:00")
    engine.fire("A", "resolve")
    engine.fire("B", "resolve")
    engine.fire("X", "close")
    at("11:30")
    engine.fire("A", "close", {"satisfied": True, "nps": 10})
    engine.fire("B", "close", {"satisfied": False, "nps": 3})
    engine.start(
        "desk", {"customer": "c", "channel": "phone", "category": "delivery", "parent_case": "A"}
    )  # E
    at("11:31")
    engine.fire("E", "respond")
    at("12:30")
    engine.fire("E", "resolve")
    at("13:00")
    engine.fire("E", "close", {"satisfied": True, "nps": 8})
    at("2026-03-03T09:00:00+00:00")  # D's resolution breaches
    engine.fire("C", "reply")
    at("2026-03-03T12:00:00+00:00")
    engine.fire("C", "resolve")
