"""Fault isolation: whatever raises while one case's timer, template or plugin runs stays with
that case. A failing timer is retried with backoff, then parked as failed with its error, and
fires again once released after a fix; a failing template gives a dead outbox row that says
why, and the event commits; every other case's timers fire on schedule."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from svcflow import ManualClock, TimerNotFailed, hookimpl
from svcflow.cli import main
from svcflow.errors import DeliveryNotDead
from svcflow.hooks.types import ActionCall
from svcflow.messaging.outbox import RetryPolicy
from svcflow.testing import EngineFactory

CHECKED = """\
workflow: ticket
version: 1
title: Checked ticket
data:
  customer: {type: string, required: true}
  count: {type: integer, default: 1}
  tier: string
states:
  new:
    initial: true
    on_enter:
      - schedule: {trigger: check, after: 1h}
  checked: {final: true}
transitions:
  - trigger: check
    from: new
    to: checked
    actions:
      - call: {action: crm_check, with: {customer: {expr: customer}}}
      - notify: {template: checked, to: customer}
"""


class Crm:
    """An action plugin that fails for some customers until it is fixed."""

    def __init__(self) -> None:
        self.broken = True

    @hookimpl
    def svcflow_workflow_actions(self) -> Mapping[str, Any]:
        return {"crm_check": self.check}

    def check(self, call: ActionCall) -> Mapping[str, Any]:
        if self.broken and str(call.arguments["customer"]).startswith("broken"):
            raise TimeoutError("CRM did not answer")
        return {"tier": "gold"}


def _template_files(root: Path, files: Mapping[str, str]) -> Path:
    """A templates folder holding ``files`` (``<locale>/<name>.j2``: body)."""
    folder = root / "templates"
    for name, body in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(body)
    return folder


def _templates(root: Path, body: str) -> Path:
    folder = root / "templates" / "en"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "checked.j2").write_text(body)
    return root / "templates"


def test_a_thousand_cases_with_poisoned_ones_fire_on_schedule_and_recover(
    svcflow_engine: EngineFactory, svcflow_clock: ManualClock, tmp_path: Path
) -> None:
    crm = Crm()
    templates = _templates(tmp_path, "Checked: {{ 100 // case.data.count }}\n")
    engine = svcflow_engine(
        CHECKED, plugins=[("crm", crm)], templates=templates, directory={"customer": "a@x.org"}
    )
    poisoned_plugin = {engine.start("ticket", {"customer": f"broken-{n}"}).id for n in range(10)}
    zero = {"customer": "z", "count": 0}
    poisoned_template = {engine.start("ticket", zero).id for _ in range(10)}
    healthy = {engine.start("ticket", {"customer": f"c{n}"}).id for n in range(980)}
    svcflow_clock.advance("1h")

    report = engine.advance()

    assert {firing.entry.case_id for firing in report} == healthy | poisoned_template
    assert {firing.late_by for firing in report} == {timedelta(0)}
    assert {timer.case_id for timer in report.retrying} == poisoned_plugin
    assert report.failed == []
    dead = engine.outbox(status="dead")
    assert {row.case_id for row in dead} == poisoned_template
    assert dead[0].last_error == (
        "template failed: en/checked.j2: ZeroDivisionError: integer division or modulo by zero"
    )
    for minutes in (1, 4, 16):  # the default backoff; parked at the fourth failure
        svcflow_clock.advance(timedelta(minutes=minutes))
        report = engine.advance()
        assert list(report) == []
    assert {timer.case_id for timer in report.failed} == poisoned_plugin
    failed = engine.failed_timers()
    assert len(failed) == 10
    assert {(t.status, t.attempts, t.trigger) for t in failed} == {("failed", 4, "check")}
    assert failed[0].last_error == (
        "PluginError: <test>:19:9: plugin action 'crm_check' failed: TimeoutError: CRM did not "
        "answer; nothing was written"
    )
    assert {engine.get(case_id).state for case_id in poisoned_plugin} == {"new"}
    assert [entry.kind for entry in engine.history(failed[0].case_id)] == ["started"]

    crm.broken = False
    assert {timer.id for timer in engine.retry_timers()} == {timer.id for timer in failed}
    report = engine.advance()
    assert {firing.entry.case_id for firing in report} == poisoned_plugin
    assert engine.failed_timers() == []
    assert {engine.get(case_id).state for case_id in poisoned_plugin} == {"checked"}

    _templates(tmp_path, "Checked: {{ 100 // (case.data.count or 1) }}\n")  # the fix
    retried = [engine.retry_delivery(row.id) for row in dead]
    assert {(row.status, row.attempts, row.body) for row in retried} == {
        ("pending", 0, "Checked: 100\n")
    }
    engine.dispatch()
    assert engine.outbox(status="dead") == []
    assert {row.status for row in engine.outbox()} == {"delivered"}


def test_a_parked_timer_does_not_stop_the_same_engines_later_timers(
    svcflow_engine: EngineFactory, svcflow_clock: ManualClock, store_url: str
) -> None:
    engine = svcflow_engine(
        CHECKED, store=store_url, plugins=[("crm", Crm())], directory={"customer": "a@x.org"}
    )
    broken = engine.start("ticket", {"customer": "broken"})
    svcflow_clock.advance("30m")
    later = engine.start("ticket", {"customer": "fine"})
    svcflow_clock.advance("1h")
    report = engine.advance()
    assert [f.entry.case_id for f in report] == [later.id]
    assert [t.case_id for t in report.retrying] == [broken.id]
    [timer] = engine.timers(broken.id)
    assert (timer.status, timer.attempts) == ("retrying", 1)
    assert timer.retry_at == svcflow_clock.now() + timedelta(minutes=1)


def test_an_event_on_a_case_goes_on_when_its_overdue_timer_fails(
    svcflow_engine: EngineFactory, svcflow_clock: ManualClock
) -> None:
    workflow = (
        CHECKED.replace(
            "  checked: {final: true}\n", "  checked: {final: true}\n  closed: {final: true}\n"
        )
        + "  - {trigger: close, from: new, to: closed}\n"
    )
    engine = svcflow_engine(workflow, plugins=[("crm", Crm())], directory={"customer": "a@x.org"})
    case = engine.start("ticket", {"customer": "broken"})
    svcflow_clock.advance("2h")
    assert engine.fire(case.id, "close").state == "closed"
    assert [e.kind for e in engine.history(case.id)] == ["started", "transition"]


def test_retrying_a_timer_that_is_not_failed_names_the_failed_ones(
    svcflow_engine: EngineFactory, svcflow_clock: ManualClock, store_url: str
) -> None:
    engine = svcflow_engine(
        CHECKED,
        store=store_url,
        plugins=[("crm", Crm())],
        directory={"customer": "a@x.org"},
        timer_retry=RetryPolicy(max_attempts=1),
    )
    case = engine.start("ticket", {"customer": "broken"})
    svcflow_clock.advance("1h")
    [parked] = engine.advance().failed
    with pytest.raises(TimerNotFailed) as caught:
        engine.retry_timer(parked.id + 1)
    assert str(caught.value) == (
        f"timer {parked.id + 1} is not parked as failed; failed timers: {parked.id}"
    )
    assert engine.retry_timer(parked.id).case_id == case.id
    assert engine.failed_timers() == []
    [released] = engine.timers(case.id)
    assert (released.status, released.attempts, released.retry_at) == ("pending", 0, None)
    assert released.last_error is not None
    [again] = engine.advance().failed
    assert again.id == parked.id


def test_the_timers_command_lists_and_releases_failed_timers(
    svcflow_engine: EngineFactory,
    svcflow_clock: ManualClock,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    engine = svcflow_engine(
        CHECKED,
        store=url,
        plugins=[("crm", Crm())],
        directory={"customer": "a@x.org"},
        timer_retry=RetryPolicy(max_attempts=1),
    )
    case = engine.start("ticket", {"customer": "broken"})
    svcflow_clock.advance("1h")
    [parked] = engine.advance().failed
    assert main(["timers", "--store", url]) == 0
    due = parked.due_at.isoformat()
    assert capsys.readouterr().out == (
        f"{parked.id}  case {case.id}  check  due {due}  attempts 1\n"
        "    PluginError: <test>:19:9: plugin action 'crm_check' failed: TimeoutError: CRM did "
        "not answer; nothing was written\n"
        "1 failed timer; release with --retry ID or --retry-all after fixing the cause\n"
    )
    assert main(["timers", "--store", url, "--retry", str(parked.id + 5)]) == 1
    assert capsys.readouterr().err == (
        f"error: timer {parked.id + 5} is not parked as failed; failed timers: {parked.id}\n"
    )
    assert main(["timers", "--store", url, "--retry-all"]) == 0
    assert capsys.readouterr().out == "released 1 failed timer\n"
    assert engine.failed_timers() == []


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("{{ 1/0 }}", "ZeroDivisionError: division by zero"),
        ("{{ 'a' + 1 }}", 'TypeError: can only concatenate str (not "int") to str'),
        (
            "{% for i in range(10**6) %}x{% endfor %}",
            "over a template limit: range(1000000) has 1,000,000 items, above max_range (10,000)",
        ),
        (
            "{% macro m() %}{{ m() }}{% endmacro %}{{ m() }}",
            "RecursionError: maximum recursion depth exceeded",
        ),
    ],
)
def test_a_template_that_raises_gives_a_dead_row_and_the_event_commits(
    svcflow_engine: EngineFactory,
    svcflow_clock: ManualClock,
    tmp_path: Path,
    body: str,
    reason: str,
) -> None:
    engine = svcflow_engine(
        CHECKED,
        plugins=[("crm", Crm())],
        templates=_templates(tmp_path, body),
        directory={"customer": "a@x.org"},
    )
    case = engine.start("ticket", {"customer": "fine"})
    assert engine.fire(case.id, "check").state == "checked"
    [row] = engine.outbox(case.id)
    assert row.status == "dead"
    assert row.last_error is not None
    assert row.last_error.startswith(f"template failed: en/checked.j2: {reason}")


def test_retrying_a_delivery_whose_template_still_fails_keeps_it_dead(
    svcflow_engine: EngineFactory, tmp_path: Path, store_url: str
) -> None:
    engine = svcflow_engine(
        CHECKED,
        store=store_url,
        plugins=[("crm", Crm())],
        templates=_templates(tmp_path, "{{ 1/0 }}"),
        directory={"customer": "a@x.org"},
    )
    case = engine.start("ticket", {"customer": "fine"})
    engine.fire(case.id, "check")
    [row] = engine.outbox(case.id)
    with pytest.raises(DeliveryNotDead) as caught:
        engine.retry_delivery(row.id + 1)
    assert str(caught.value) == f"outbox entry {row.id + 1} is not dead; dead entries: {row.id}"
    _templates(tmp_path, "{{ case.data.nope }}")
    again = engine.retry_delivery(row.id)
    assert (again.status, again.last_error) == (
        "dead",
        "template failed: en/checked.j2: 'dict object' has no attribute 'nope'; templates see "
        "case, recipient, template, urgent, now and sla (case.data holds the case's fields, "
        "sla.<metric> its SLA targets)",
    )
    _templates(tmp_path, "fixed {{ case.state }}")
    fixed = engine.retry_delivery(row.id)
    assert (fixed.status, fixed.body) == ("pending", "fixed checked\n")


RESOLVED = """\
workflow: ticket
version: 1
title: Ticket with a resolution target
data:
  customer: {type: string, required: true}
states:
  new: {initial: true}
  resolved: {final: true}
transitions:
  - trigger: resolve
    from: new
    to: resolved
    actions:
      - notify: {template: resolved, to: team_lead, urgent: true}
sla:
  metrics:
    resolution:
      start: {enter: new}
      stop: {enter: resolved}
      targets:
        - {within: 24h}
"""


def test_a_retried_delivery_is_rendered_again_for_its_recipient_channel_and_locale(
    svcflow_engine: EngineFactory, svcflow_clock: ManualClock, tmp_path: Path
) -> None:
    folder = _template_files(
        tmp_path,
        {
            "zh-CN/resolved.webhook.j2": "{{ 1 // 0 }}",
            "zh-CN/resolved.j2": "not for a webhook",
            "en/resolved.webhook.j2": "not in the recipient's locale",
        },
    )
    lead = {
        "address": "https://bot:s3cret@hooks.example/lead",
        "channel": "webhook",
        "name": "Zhang Min",
        "locale": "zh-CN",
    }
    engine = svcflow_engine(RESOLVED, templates=folder, directory={"team_lead": lead})
    case = engine.start("ticket", {"customer": "Li Wei"})
    engine.fire(case.id, "resolve")
    [row] = engine.outbox(case.id)
    assert (row.status, row.channel, row.locale) == ("dead", "webhook", "zh-CN")
    (folder / "zh-CN/resolved.webhook.j2").write_text(
        "{{ recipient.name }}, {{ recipient.role }}, {{ recipient.address }}: {{ template }} "
        "(urgent {{ urgent }}) at {{ now }}, {{ case.state }} within "
        "{{ sla.resolution.target_words }}"
    )
    svcflow_clock.advance("2h")
    retried = engine.retry_delivery(row.id)
    assert (retried.status, retried.locale, retried.attempts) == ("pending", "zh-CN", 0)
    assert retried.body == (
        "Zhang Min, team_lead, https://hooks.example/lead: resolved (urgent True) at "
        "2026-03-02 11:00:00+00:00, resolved within 24 小时\n"
    )


THREE = """\
workflow: ticket
version: 1
title: A notice for three people
data:
  customer: {type: string, required: true}
  locale: string
states:
  new: {initial: true}
  done: {final: true}
transitions:
  - trigger: finish
    from: new
    to: done
    actions:
      - notify: {template: ping, to: [first, second, third]}
"""


def test_one_recipients_failing_template_leaves_the_others_rows_in_their_language(
    svcflow_engine: EngineFactory, svcflow_clock: ManualClock, tmp_path: Path
) -> None:
    folder = _template_files(
        tmp_path,
        {
            "en/ping.sms.j2": "{{ 1 // 0 }}",
            "en/ping.j2": "Hello {{ recipient.name }} at {{ now }}",
            "zh-CN/ping.j2": "{{ recipient.name }}您好",
        },
    )
    people = {
        "first": {"address": "+8613700137000", "channel": "sms", "name": "A", "locale": "en"},
        "second": {"address": "b@example.com", "name": "B"},  # the case's language
        "third": {"address": "c@example.com", "name": "C", "locale": "fr"},  # no fr templates
    }
    engine = svcflow_engine(THREE, templates=folder, directory=people)
    case = engine.start("ticket", {"customer": "Li Wei", "locale": "zh-CN"})
    svcflow_clock.advance("1h")
    engine.fire(case.id, "finish")
    rows = [(r.name, r.status, r.locale, r.subject, r.body) for r in engine.outbox(case.id)]
    assert rows == [
        ("A", "dead", "en", "", ""),
        ("B", "pending", "zh-CN", "Ping", "B您好\n"),
        ("C", "pending", "en", "Ping", "Hello C at 2026-03-02 10:00:00+00:00\n"),
    ]
    assert engine.outbox(case.id)[0].last_error == (
        "template failed: en/ping.sms.j2: ZeroDivisionError: integer division or modulo by zero"
    )
