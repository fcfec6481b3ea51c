"""Customers: the record a case belongs to, kept by every store, and notices that reach the
customer's own contact points or fail loudly with an ``undeliverable`` row and a warning."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from svcflow import Engine, hookimpl
from svcflow.errors import ContactPointTaken, UnknownCustomer
from svcflow.hooks.types import ChannelInfo, InboundMessage
from svcflow.records import ContactPoint, Customer
from svcflow.store.memory import MemoryStore
from svcflow.store.sqlite import SqliteStore
from svcflow.testing import CapturedDeliveries, EngineFactory, InlinePlugins

WORKFLOWS = Path(__file__).resolve().parents[1] / "workflows"


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    made = MemoryStore() if request.param == "memory" else SqliteStore(tmp_path / "c.db")
    yield made
    made.close()


def test_every_store_keeps_customers_and_their_contact_points(store: Any) -> None:
    li = Customer(
        id="c-1",
        name="Li Wei",
        locale="zh-CN",
        segment="vip",
        contact_points=(
            ContactPoint("email", "li.wei@example.com", verified=True),
            ContactPoint("sms", "+8613800138000"),
        ),
        preferred="email",
    )
    store.save_customer(li)
    assert store.load_customer("c-1") == li
    assert store.customer_by_contact("sms", "+8613800138000") == li
    assert store.customer_by_contact("email", "nobody@example.com") is None
    other = Customer(id="c-2", contact_points=(ContactPoint("sms", "+8613800138000"),))
    with pytest.raises(ContactPointTaken) as taken:
        store.save_customer(other)
    assert str(taken.value) == (
        "contact point sms '+8613800138000' already belongs to customer 'c-1'; remove it there "
        "before giving it to customer 'c-2'"
    )
    assert store.load_customer("c-2") is None and store.load_customer("c-1") == li
    moved = li._replace(contact_points=li.contact_points[:1], segment="standard")
    store.save_customer(moved)
    assert store.customer_by_contact("sms", "+8613800138000") is None
    assert store.load_customer("c-1") == moved


@pytest.fixture
def desk(svcflow_engine: EngineFactory) -> Engine:
    return svcflow_engine(WORKFLOWS)


def test_a_complaint_started_without_a_way_to_reach_the_customer_says_so(desk: Engine) -> None:
    case = desk.start("complaint", {"customer": "Li Wei", "channel": "app"}, actor="intake")
    [row] = desk.outbox(case.id)
    why = (
        f"no recipient for role 'customer' on case {case.id}: the case has no customer and no "
        "customer_email or customer_phone field; start it with Engine.start(..., customer=...) "
        "or from a message"
    )
    assert (row.template, row.status, row.last_error) == (
        "complaint_received",
        "undeliverable",
        why,
    )
    [note] = desk.notifications(case.id)
    assert note.status == "undeliverable"
    assert desk.history(case.id)[0].details["warnings"] == [why]
    assert desk.dispatch().attempted == 0  # nothing retried for ever


def test_a_complaint_started_for_a_customer_reaches_their_address(
    desk: Engine, svcflow_captured: CapturedDeliveries
) -> None:
    li = desk.customers.add("Li Wei", email="Li.Wei@example.com", phone="+8613800138000")
    case = desk.start("complaint", {"customer": "Li Wei", "channel": "app"}, customer=li.id)
    desk.dispatch()
    [sent] = svcflow_captured.deliveries
    assert (sent.case_id, sent.channel, sent.recipient.address, sent.recipient.name) == (
        case.id,
        "email",
        "li.wei@example.com",
        "Li Wei",
    )
    owner = desk.customers.of_case(case.id)
    assert owner == li and desk.customers.identify("sms", "+8613800138000") == li
    with pytest.raises(UnknownCustomer) as unknown:
        desk.start("complaint", {"customer": "Nobody"}, customer="c-missing")
    assert str(unknown.value) == (
        "no customer 'c-missing'; add one with engine.customers.add(...) first"
    )


def test_sms_notices_use_the_customers_phone_and_fail_loudly_without_one(
    desk: Engine, svcflow_captured: CapturedDeliveries
) -> None:
    desk.customers.add(
        "Zhang Min",
        phone="+8613900139000",
        contact_points=[ContactPoint("chat", "app-user-1", verified=True)],
        preferred="chat",
    )
    app = {"conversation_id": "a1", "message_id": "m1", "from": "app-user-1", "text": "broken"}
    with_phone = desk.ingest("chat", {**app, "app": "app"}).case
    chat_only = desk.ingest(
        "chat", {**app, "conversation_id": "a2", "from": "u-9", "app": "app"}
    ).case
    for case in (with_phone, chat_only):
        desk.fire(case.id, "hand_over", {"agent": "agent-7"})
        desk.fire(case.id, "log_complaint", {"summary": "damaged in transit"})
    desk.dispatch()
    logged = svcflow_captured.by_template("im_complaint_logged")
    assert [(d.case_id, d.channel, d.recipient.address) for d in logged] == [
        (with_phone.id, "sms", "+8613900139000")
    ]
    [row] = [r for r in desk.outbox(chat_only.id) if r.template == "im_complaint_logged"]
    assert row.status == "undeliverable" and row.last_error is not None
    assert row.last_error == (
        f"no recipient for role 'customer' on case {chat_only.id}: the notice goes by sms, and "
        "the customer has no sms contact point"
    )


class CrmNaming:
    """A host's CRM plugin that names one customer record for every sender."""

    def __init__(self, customer: Customer) -> None:
        self.customer = customer

    @hookimpl
    def svcflow_identify_customer(
        self, channel: str, address: str, message: InboundMessage
    ) -> Customer | None:
        return self.customer


def test_the_hosts_crm_identifies_senders_and_sets_their_segment(
    svcflow_engine: EngineFactory, svcflow_plugin: InlinePlugins
) -> None:
    class Crm:
        @hookimpl
        def svcflow_identify_customer(
            self, channel: str, address: str, message: InboundMessage
        ) -> Customer | None:
            if (channel, address, message.body) != ("chat", "u-42", "hello"):
                return None  # the CRM sees the message it identifies the sender of
            return Customer(id="crm-42", name="Wang Fang", segment="vip")

    svcflow_plugin(Crm(), "crm")
    desk = svcflow_engine(WORKFLOWS)
    case = desk.ingest(
        "chat", {"conversation_id": "c", "message_id": "m", "from": "u-42", "text": "hello"}
    ).case
    assert case.data["segment"] == "vip"
    owner = desk.customers.of_case(case.id)
    assert owner == Customer(
        id="crm-42",
        name="Wang Fang",
        segment="vip",
        contact_points=(ContactPoint("chat", "u-42", verified=True),),
    )


def test_a_crm_record_that_lists_the_sender_is_kept_with_each_contact_point_once(
    svcflow_engine: EngineFactory, svcflow_plugin: InlinePlugins
) -> None:
    chat = ContactPoint("chat", "u-42", verified=True)

    crm = CrmNaming(
        Customer(
            id="crm-42",
            name="Wang Fang",
            segment="vip",
            contact_points=(
                chat,
                ContactPoint("email", "Wang.Fang@Example.com", True),
                ContactPoint("email", "wang.fang@example.COM", False),  # a CRM's duplicate
                chat,
            ),
        )
    )
    svcflow_plugin(crm, "crm")
    desk = svcflow_engine(WORKFLOWS)
    by_chat = desk.ingest(
        "chat", {"conversation_id": "c", "message_id": "m", "from": "u-42", "text": "hello"}
    ).case
    # the e-mail channel gives the sender's address in lower case, as svcflow keeps e-mail
    # addresses: the CRM's record lists this sender too, whatever the case it writes it in
    mail = (
        "From: Wang Fang <Wang.Fang@Example.com>\r\nTo: help@desk.example\r\n"
        "Subject: broken\r\nMessage-ID: <a1@example.com>\r\n\r\nit broke\r\n"
    )
    by_mail = desk.ingest("email", mail).case
    kept = Customer(
        id="crm-42",
        name="Wang Fang",
        segment="vip",
        contact_points=(chat, ContactPoint("email", "wang.fang@example.com", True)),
    )
    assert desk.customers.of_case(by_chat.id) == kept
    assert desk.customers.of_case(by_mail.id) == kept
    assert desk.customers.identify("email", "wang.fang@example.com") == kept


def test_a_crm_record_keeps_its_other_contact_points_when_the_customer_writes_on_one(
    svcflow_engine: EngineFactory, svcflow_plugin: InlinePlugins
) -> None:
    chat = ContactPoint("chat", "u-7", verified=True)
    phone = ContactPoint("sms", "+4915112345678", verified=True)

    crm = CrmNaming(
        Customer(
            id="crm-7",
            name="Ann",
            contact_points=(chat, ContactPoint("email", "Ann@Example.org", True), phone),
        )
    )
    svcflow_plugin(crm, "crm")
    desk = svcflow_engine(WORKFLOWS)
    case = desk.ingest(
        "chat", {"conversation_id": "c", "message_id": "m", "from": "u-7", "text": "hello"}
    ).case
    # a notice may go by e-mail or SMS later: the record keeps every point the CRM named
    assert desk.customers.of_case(case.id) == Customer(
        id="crm-7",
        name="Ann",
        contact_points=(chat, ContactPoint("email", "ann@example.org", True), phone),
    )
    assert desk.customers.identify("sms", "+4915112345678") == desk.customers.get("crm-7")


def test_a_channel_plugin_names_its_reply_channel(
    svcflow_engine: EngineFactory, svcflow_plugin: InlinePlugins
) -> None:
    sent: list[tuple[str, str]] = []

    class WeChat:
        @hookimpl
        def svcflow_register_channels(self) -> list[ChannelInfo]:
            return [ChannelInfo("wechat", inbound=True, outbound=True, reply_channel="wechat")]

        @hookimpl
        def svcflow_parse_message(self, channel: str, raw: Any) -> InboundMessage | None:
            if channel != "wechat":
                return None
            return InboundMessage("wechat", raw["id"], raw["openid"], raw["text"], kind="message")

        @hookimpl
        def svcflow_deliver(self, delivery: Any) -> str | None:
            if delivery.channel != "wechat":
                return None
            sent.append((delivery.template, delivery.recipient.address))
            return "ok"

    svcflow_plugin(WeChat(), "wechat")
    desk = svcflow_engine(WORKFLOWS)
    case = desk.ingest("wechat", {"id": "w1", "openid": "o-77", "text": "hi"}).case
    desk.dispatch()
    assert sent == [("im_auto_reply", "o-77")]
    owner = desk.customers.of_case(case.id)
    assert owner is not None and owner.contact_points == (ContactPoint("wechat", "o-77"),)
    # a sender id that looks like a phone number is still answered where the plugin says
    texted = desk.ingest("wechat", {"id": "w2", "openid": "+8613800138000", "text": "hi"}).case
    phone = desk.customers.of_case(texted.id)
    assert phone is not None
    assert phone.contact_points == (ContactPoint("wechat", "+8613800138000"),)


NOTICES = """\
workflow: notice
version: 1
title: Notices on the channel the workflow names
data:
  customer: {type: string, required: true}
states:
  new: {initial: true}
  done: {final: true}
transitions:
  - trigger: finish
    from: new
    to: done
    actions:
      - notify: {template: done, to: customer, channel: sms}
      - notify: {template: done, to: customer, channel: kiosk}
      - notify: {template: done, to: team_lead, channel: sms}
      - notify: {template: done, to: duty_manager}
"""


def test_a_notice_on_another_channel_keeps_who_it_is_for_and_their_language(
    svcflow_engine: EngineFactory, tmp_path: Path
) -> None:
    for locale, body in {
        "zh-CN": "{{ recipient.name }}您好",
        "en": "[{{ case.workflow }}] Hello {{ recipient.name }}",
    }.items():
        (tmp_path / "templates" / locale).mkdir(parents=True)
        (tmp_path / "templates" / locale / "done.j2").write_text(body)
    lead = {"address": "+8613700137000", "channel": "phone", "name": "Zhang Min"}
    desk = svcflow_engine(
        NOTICES,
        templates=tmp_path / "templates",
        directory={"team_lead": lead, "duty_manager": []},
    )
    li = desk.customers.add(
        "Li Wei",
        phone="+8613800138000",
        locale="zh-CN",
        contact_points=[ContactPoint("chat", "app-7", verified=True)],
        preferred="chat",
    )
    case = desk.start("notice", {"customer": "Li Wei"}, customer=li.id)
    desk.fire(case.id, "finish")
    rows = [
        (r.channel, r.address, r.name, r.role, r.locale, r.subject, r.body, r.status)
        for r in desk.outbox(case.id)
    ]
    assert rows == [
        # the customer's phone for an SMS, in their language, by their name
        ("sms", "+8613800138000", "Li Wei", "customer", "zh-CN", "Done", "Li Wei您好\n", "pending"),
        # a channel without addresses of its own (a kiosk's display): where they are known
        ("kiosk", "app-7", "Li Wei", "customer", "zh-CN", "Done", "Li Wei您好\n", "pending"),
        # a notice for staff on SMS goes to the staff member, never to the customer's phone
        (
            "sms",
            "+8613700137000",
            "Zhang Min",
            "team_lead",
            "en",
            "Done",
            "[notice] Hello Zhang Min\n",
            "pending",
        ),
        ("", "", None, "duty_manager", "en", "", "", "undeliverable"),
    ]
    [nobody] = desk.outbox(case.id, status="undeliverable")
    assert nobody.last_error == (
        f"no recipient for role 'duty_manager' on case {case.id}: every recipient plugin and "
        "the directory resolved it to nobody"
    )


def test_recipient_plugins_see_the_message_that_caused_the_step(
    svcflow_engine: EngineFactory, svcflow_plugin: InlinePlugins
) -> None:
    seen: list[tuple[str, str | None]] = []

    class Rota:
        @hookimpl
        def svcflow_resolve_recipients(
            self, role: str, case: Any, customer: Any, message: InboundMessage | None
        ) -> None:
            seen.append((role, None if message is None else message.body))

    svcflow_plugin(Rota(), "rota")
    desk = svcflow_engine(WORKFLOWS)
    chat = {"conversation_id": "a1", "message_id": "m1", "from": "u-9", "text": "it broke"}
    case = desk.ingest("chat", chat).case
    assert seen == [("customer", "it broke")]
    desk.fire(case.id, "hand_over", {"agent": "agent-7"})
    desk.fire(case.id, "log_complaint", {"summary": "damaged in transit"})
    later = seen[1:]  # the hand-over's and the logged complaint's notices: API calls
    assert ("customer", None) in later and {body for _, body in later} == {None}
