"""The outbox: notifications rendered per recipient and locale in the step's transaction, then
delivered after commit with retries, backoff and dead-lettering; failures never touch a case."""

from __future__ import annotations

import logging
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest

from support.workflows import ROOT
from svcflow import Engine, hookimpl
from svcflow.clock import ManualClock
from svcflow.core.machine import CompiledWorkflow
from svcflow.definitions import load_definitions
from svcflow.errors import PermanentDeliveryError, WorkflowDefinitionError
from svcflow.hooks.types import Delivery, Recipient
from svcflow.messaging.outbox import RetryPolicy
from svcflow.messaging.templates import TemplateRenderer
from svcflow.records import Case
from svcflow.sla.words import sla_words
from svcflow.spec.walk import referenced_templates
from svcflow.testing import CapturedDeliveries, EngineFactory, InlinePlugins
from test_calendar import WEEKDAYS_9_TO_6

REFUND = """\
workflow: refund
version: 1
title: Refund
data:
  customer_email: {type: string, default: ""}
  customer_name: {type: string, default: ""}
  locale: {type: string, default: en}
  amount: {type: integer, default: 0}
states:
  received:
    initial: true
    on_enter:
      - notify: {template: refund_received, to: [customer, team_lead]}
  paid:
    final: true
    on_enter:
      - notify: {template: refund_paid, to: customer}
transitions:
  - {trigger: pay, from: received, to: paid}
"""

TEMPLATES = {
    "en/refund_received.j2": (
        "{% block subject %}Refund request received [case:{{ case.id }}]{% endblock %}\n"
        "{% block body %}Dear {{ recipient.name or 'customer' }},\n"
        "we received your refund request for {{ case.data.amount }} EUR.{% endblock %}\n"
    ),
    "en/refund_received.sms.j2": "Refund of {{ case.data.amount }} EUR received.",
    "zh-CN/refund_received.j2": (
        "{% block subject %}退款申请已收到 [case:{{ case.id }}]{% endblock %}\n"
        "{% block body %}{{ recipient.name }}，您好：我们已收到您 {{ case.data.amount }} 元的"
        "退款申请。{% endblock %}\n"
    ),
    "en/refund_paid.j2": "Your refund of {{ case.data.amount }} EUR was paid.",
}

DIRECTORY = {"team_lead": {"address": "lead@shop.example", "channel": "email", "name": "Lea"}}


@pytest.fixture
def templates(tmp_path: Path) -> Path:
    folder = tmp_path / "templates"
    for name, text in TEMPLATES.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text, encoding="utf-8")
    return folder


@pytest.fixture
def refunds(svcflow_engine: EngineFactory, templates: Path) -> Engine:
    return svcflow_engine(REFUND, templates=templates, directory=DIRECTORY)


def start(engine: Engine, **data: object) -> Case:
    values = {"customer_email": "ann@example.com", "customer_name": "Ann", "amount": 40, **data}
    return engine.start("refund", values)


def test_rendered_per_recipient_and_locale_in_the_same_transaction(
    refunds: Engine, svcflow_captured: CapturedDeliveries
) -> None:
    case = start(refunds)
    chinese = start(refunds, customer_name="王芳", locale="zh-CN", amount=300)
    rows = refunds.outbox(case.id)
    assert [(r.role, r.channel, r.address, r.locale, r.status) for r in rows] == [
        ("customer", "email", "ann@example.com", "en", "pending"),
        ("team_lead", "email", "lead@shop.example", "en", "pending"),
    ]
    assert rows[0].subject == f"Refund request received [case:{case.id}]"
    assert rows[0].body == "Dear Ann,\nwe received your refund request for 40 EUR.\n"
    assert rows[1].body.startswith("Dear Lea,")
    [customer, _] = refunds.outbox(chinese.id)
    assert customer.locale == "zh-CN"
    assert customer.subject == f"退款申请已收到 [case:{chinese.id}]"
    assert customer.body == "王芳，您好：我们已收到您 300 元的退款申请。\n"
    assert svcflow_captured.deliveries == []  # nothing is sent before dispatch
    report = refunds.dispatch()
    assert len(report.delivered) == 4
    sent = svcflow_captured.deliveries
    assert [d.key for d in sent] == [r.key for r in refunds.outbox() if r.case_id == case.id] + [
        r.key for r in refunds.outbox(chinese.id)
    ]
    assert sent[0].key == f"{case.id}:1:1:1" and sent[0].attempt == 1
    assert {r.status for r in refunds.outbox()} == {"delivered"}
    assert {n.status for n in refunds.notifications()} == {"delivered"}


def test_a_channel_specific_template_is_used_for_that_channel(
    svcflow_engine: EngineFactory, templates: Path, svcflow_captured: CapturedDeliveries
) -> None:
    engine = svcflow_engine(
        REFUND.replace("to: [customer, team_lead]", "to: [customer, team_lead], channel: sms"),
        templates=templates,
        directory=DIRECTORY,
    )
    case = start(engine)
    [_, team_lead] = engine.outbox(case.id)
    assert team_lead.channel == "sms"
    assert team_lead.body == "Refund of 40 EUR received.\n"
    assert team_lead.subject == "Refund received"


def test_a_failing_delivery_is_retried_with_backoff_then_dead_lettered_and_the_case_is_intact(
    svcflow_engine: EngineFactory,
    templates: Path,
    svcflow_captured: CapturedDeliveries,
    svcflow_clock: ManualClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    engine = svcflow_engine(
        REFUND,
        templates=templates,
        directory={"team_lead": []},
        retry=RetryPolicy(max_attempts=3, first_delay=timedelta(minutes=1), factor=2.0),
    )
    case = start(engine)
    svcflow_captured.fail_next(10)
    waits = []
    with caplog.at_level(logging.WARNING, logger="svcflow.outbox"):
        for step in ("0m", "1m", "2m"):
            svcflow_clock.advance(step)
            report = engine.dispatch()
            assert report.attempted == 1
            assert engine.dispatch().attempted == 0  # not due again before its backoff
            [pending, _] = engine.outbox(case.id)
            waits.append(pending.next_attempt_at - svcflow_clock.now())
    [row, nobody] = engine.outbox(case.id)
    assert nobody.role == "team_lead" and nobody.status == "undeliverable"
    assert row.status == "dead" and row.attempts == 3
    assert row.last_error == (
        "gave up after 3 attempts: DeliveryFailed: captured delivery told to fail"
    )
    assert [d.attempt for d in svcflow_captured.attempts] == [1, 2, 3]
    assert {d.key for d in svcflow_captured.attempts} == {row.key}
    assert waits[:2] == [timedelta(minutes=1), timedelta(minutes=2)]  # as recorded
    assert "retrying at" in caplog.text and "dead-lettered" in caplog.text
    assert engine.get(case.id).state == "received" and engine.get(case.id).revision == 1
    paid = engine.fire(case.id, "pay")  # a dead notification never blocks the case
    assert paid.state == "paid"


def test_a_plugin_that_raises_is_retried_then_dead_lettered_and_the_case_moves_on(
    svcflow_engine: EngineFactory,
    templates: Path,
    svcflow_plugin: InlinePlugins,
    svcflow_clock: ManualClock,
) -> None:
    class Broken:
        calls = 0

        @hookimpl
        def svcflow_register_channels(self) -> list[object]:
            from svcflow.hooks.types import ChannelInfo

            return [ChannelInfo("pager", outbound=True)]

        @hookimpl
        def svcflow_deliver(self, delivery: Delivery) -> None:
            Broken.calls += 1
            raise RuntimeError("pager gateway exploded")

    svcflow_plugin(Broken(), "broken-pager")
    engine = svcflow_engine(
        REFUND.replace("to: [customer, team_lead]", "to: oncall"),
        templates=templates,
        directory={"oncall": {"address": "7001", "channel": "pager"}},
        retry=RetryPolicy(max_attempts=2, first_delay=timedelta(seconds=30)),
    )
    case = start(engine)
    assert engine.dispatch().retrying
    assert engine.outbox(case.id)[0].last_error == "RuntimeError: pager gateway exploded"
    svcflow_clock.advance("30s")
    assert engine.dispatch().dead
    assert Broken.calls == 2
    assert engine.outbox(case.id)[0].status == "dead"
    assert engine.fire(case.id, "pay").state == "paid"
    assert [e.kind for e in engine.history(case.id)] == ["started", "transition"]


def test_a_permanent_failure_is_dead_lettered_at_once(
    refunds: Engine, svcflow_captured: CapturedDeliveries
) -> None:
    case = start(refunds)
    svcflow_captured.fail_next(1, PermanentDeliveryError("550 mailbox unknown"))
    report = refunds.dispatch()
    assert len(report.dead) == 1 and len(report.delivered) == 1
    dead = refunds.outbox(case.id, status="dead")[0]
    assert dead.attempts == 1
    assert dead.last_error == "permanent failure: PermanentDeliveryError: 550 mailbox unknown"
    assert [n.status for n in refunds.notifications(case.id)] == ["dead"]


def test_every_role_of_a_notice_gets_its_row_whatever_the_roles_before_it_came_to(
    svcflow_engine: EngineFactory, templates: Path, svcflow_plugin: InlinePlugins
) -> None:
    class Rota:
        @hookimpl
        def svcflow_resolve_recipients(self, role: str, case: Case) -> list[Recipient] | None:
            if role == "nobody_home":
                return []
            if role == "on_call":  # a recipient without a role is the role asked for
                return [Recipient("+8613700137000", "sms", "Wang", "zh-CN")]
            if role == "duty":  # one that names its role keeps it
                return [Recipient("duty@shop.example", "email", "Dai", None, "duty_manager")]
            return None

    svcflow_plugin(Rota(), "rota")
    roles = "to: [auditor, nobody_home, customer, on_call, duty]"
    engine = svcflow_engine(REFUND.replace("to: [customer, team_lead]", roles), templates=templates)
    silent = engine.customers.add("Ann", customer_id="cust-ann")  # no contact point
    case = engine.start("refund", {"customer_name": "Ann", "amount": 40}, customer=silent.id)
    rows = [
        (r.role, r.status, r.channel, r.address, r.name, r.locale, r.last_error)
        for r in engine.outbox(case.id)
    ]
    nobody = f"no recipient for role '{{}}' on case {case.id}: {{}}"
    assert rows == [
        ("on_call", "pending", "sms", "+8613700137000", "Wang", "zh-CN", None),
        ("duty_manager", "pending", "email", "duty@shop.example", "Dai", "en", None),
        (
            "auditor",
            "dead",
            "",
            "",
            None,
            "en",
            "no recipient for role 'auditor': name it in Engine(directory=...) or install a "
            "plugin that resolves it",
        ),
        (
            "nobody_home",
            "undeliverable",
            "",
            "",
            None,
            "en",
            nobody.format(
                "nobody_home", "every recipient plugin and the directory resolved it to nobody"
            ),
        ),
        (
            "customer",
            "undeliverable",
            "",
            "",
            None,
            "en",
            nobody.format("customer", "customer 'cust-ann' has no contact point to reach"),
        ),
    ]


def test_unresolved_roles_and_broken_templates_become_dead_rows_not_errors(
    svcflow_engine: EngineFactory, templates: Path, svcflow_plugin: InlinePlugins
) -> None:
    class FailingRota:
        @hookimpl
        def svcflow_resolve_recipients(self, role: str, case: Case) -> list[Recipient] | None:
            if role == "on_call":
                raise ConnectionError("rota service unreachable")
            return None

    svcflow_plugin(FailingRota(), "rota")
    (templates / "en" / "refund_paid.j2").write_text("{{ case.data.amunt }}", encoding="utf-8")
    engine = svcflow_engine(
        REFUND.replace("to: [customer, team_lead]", "to: [customer, on_call, auditor]"),
        templates=templates,
    )
    case = start(engine)
    rows = {row.role: row for row in engine.outbox(case.id)}
    assert rows["customer"].status == "pending"
    assert rows["on_call"].status == "dead"
    assert rows["on_call"].last_error == (
        "resolving role 'on_call' failed: ConnectionError: rota service unreachable"
    )
    assert rows["auditor"].status == "dead"
    assert rows["auditor"].last_error == (
        "no recipient for role 'auditor': name it in Engine(directory=...) or install a plugin "
        "that resolves it"
    )
    paid = engine.fire(case.id, "pay")
    assert paid.state == "paid"
    [broken] = [r for r in engine.outbox(case.id) if r.template == "refund_paid"]
    assert broken.status == "dead"
    assert broken.last_error == (
        "template failed: en/refund_paid.j2: 'dict object' has no attribute 'amunt'; templates "
        "see case, recipient, template, urgent, now and sla (case.data holds the case's fields, "
        "sla.<metric> its SLA targets)"
    )


def test_a_missing_template_is_a_start_up_error_with_its_position(
    svcflow_engine: EngineFactory, templates: Path
) -> None:
    (templates / "en" / "refund_paid.j2").unlink()
    with pytest.raises(WorkflowDefinitionError) as caught:
        svcflow_engine(REFUND, templates=templates)
    assert str(caught.value) == (
        "1 problem in <test>\n"
        "<test>:17:28: states.paid.on_enter[0].notify.template: no template 'refund_paid' in "
        f"{templates / 'en'}; write en/refund_paid.j2 there"
    )


def test_without_a_templates_folder_notifications_get_a_generic_text(
    svcflow_engine: EngineFactory,
) -> None:
    engine = svcflow_engine(REFUND, directory=DIRECTORY)
    case = start(engine)
    row = engine.outbox(case.id)[0]
    assert row.subject == f"Refund received - case {case.id}"
    assert row.body.splitlines()[0] == f"Refund received (case {case.id}, state received)"
    assert "amount: 40" in row.body


def test_quiet_hours_hold_delivery_until_the_calendar_opens(
    svcflow_engine: EngineFactory, svcflow_clock: ManualClock, tmp_path: Path
) -> None:
    folder = tmp_path / "defs"
    folder.mkdir()
    (folder / "office.yaml").write_text(WEEKDAYS_9_TO_6, encoding="utf-8")
    (folder / "refund.yaml").write_text(
        REFUND + "quiet_hours: {calendar: office}\n", encoding="utf-8"
    )
    svcflow_clock.set("2026-03-02T20:00:00+00:00")  # Monday evening in London
    engine = svcflow_engine(folder, directory=DIRECTORY)
    case = start(engine)
    rows = engine.outbox(case.id)
    assert {r.next_attempt_at.isoformat() for r in rows} == {"2026-03-03T09:00:00+00:00"}
    assert engine.dispatch().attempted == 0
    svcflow_clock.set("2026-03-03T09:00:00+00:00")
    assert len(engine.dispatch().delivered) == 2


def test_a_dispatcher_that_died_holding_a_lease_loses_nothing(
    refunds: Engine, svcflow_clock: ManualClock, svcflow_captured: CapturedDeliveries
) -> None:
    case = start(refunds)
    claimed = refunds.store.claim_deliveries(
        svcflow_clock.now(), 10, "dead-dispatcher", svcflow_clock.now() + timedelta(minutes=2)
    )
    assert len(claimed) == 2
    assert refunds.dispatch().attempted == 0  # leased by a dispatcher that never finished
    svcflow_clock.advance("2m")
    assert len(refunds.dispatch().delivered) == 2
    assert {d.key for d in svcflow_captured.deliveries} == {r.key for r in refunds.outbox(case.id)}


def test_outbox_rows_survive_reopening_the_sqlite_file(
    refunds: Engine, svcflow_clock: ManualClock, templates: Path, tmp_path: Path
) -> None:
    case = start(refunds)
    path = Path(str(refunds.store.path))
    refunds.close()
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT count(*) FROM deliveries WHERE status = 'pending'").fetchone()
    captured = CapturedDeliveries()
    reopened = Engine(
        [refunds.registry.newest("refund").loaded],
        f"sqlite:///{path}",
        svcflow_clock,
        plugins=[captured],
        load_plugins=False,
        templates=templates,
    )
    try:
        assert len(reopened.dispatch().delivered) == 2
        assert {d.case_id for d in captured.deliveries} == {case.id}
    finally:
        reopened.close()


SHIPPED_TEMPLATES = ROOT / "workflows" / "templates"


@pytest.mark.parametrize("locale", ["en", "zh-CN"])
@pytest.mark.parametrize("channel", ["email", "sms"])
def test_every_template_the_shipped_workflows_name_renders_in_both_locales(
    locale: str, channel: str
) -> None:
    renderer = TemplateRenderer([SHIPPED_TEMPLATES])
    definitions = load_definitions(ROOT / "workflows")
    workflows = definitions.workflows
    declared = {field: None for loaded in workflows for field in loaded.spec.data}
    for loaded in workflows:
        names = {template for template, _ in referenced_templates(loaded.spec)}
        assert names and renderer.missing(names) == []
        policy = CompiledWorkflow(loaded, definitions.calendars).sla
        context = {
            "case": {
                "id": "C-1",
                "workflow": loaded.spec.workflow,
                "state": "investigating",
                "data": declared | {"category": "logistics", "priority": "high", "channel": "app"},
            },
            "recipient": {"name": None, "role": "customer", "address": "x"},
            "template": "",
            "urgent": False,
            "now": None,
            "sla": {} if policy is None else sla_words(policy, {}, locale),
        }
        for name in sorted(names):
            rendered = renderer.render(name, channel, locale, context)
            assert rendered.locale == locale
            assert "C-1" in rendered.subject + rendered.body
            assert any("\u4e00" <= ch <= "\u9fff" for ch in rendered.body) == (locale == "zh-CN")


def test_the_shipped_complaint_workflow_greets_a_chinese_customer_in_chinese(
    svcflow_engine: EngineFactory, svcflow_captured: CapturedDeliveries
) -> None:
    engine = svcflow_engine(
        ROOT / "workflows",
        directory={
            "customer": {"address": "wang@example.cn", "channel": "email", "locale": "zh-CN"}
        },
    )
    case = engine.start("complaint", {"customer": "王芳", "summary": "快递三天没到"})
    [row] = engine.outbox(case.id)
    assert row.subject == f"我们已收到您的投诉 [case:{case.id}]"
    assert "（“快递三天没到”）" in row.body
    engine.dispatch()
    assert [d.locale for d in svcflow_captured.deliveries] == ["zh-CN"]
