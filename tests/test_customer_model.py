"""The customer model's rules, each written out: which contact point a sender is, where a
customer is answered, what intake expressions see of a customer, and what ``engine.customers``
keeps when a host adds, changes or loses a customer."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from svcflow.errors import InvalidCustomer, UnknownCustomer
from svcflow.hooks.types import InboundMessage
from svcflow.messaging.customers import Customers, contact_of, customer_variables, reach
from svcflow.records import ContactPoint, Customer
from svcflow.store.memory import MemoryStore

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("channel", "sender", "declared", "point"),
    [
        ("email", "Ann@example.org", None, ("email", "Ann@example.org")),
        ("sms", "+4915112345678", None, ("sms", "+4915112345678")),
        ("chat", "u-17", None, ("chat", "u-17")),
        ("phone", "+4915112345678", None, ("sms", "+4915112345678")),  # a caller gets an SMS
        ("social", "@ann", None, ("social", "@ann")),
        ("webform", "ann@example.org", None, ("email", "ann@example.org")),
        ("webform", "+4915112345678", None, ("sms", "+4915112345678")),
        ("kiosk", "+49 151 1234", None, ("kiosk", "+49 151 1234")),  # not a plain number
        ("kiosk", "+", None, ("kiosk", "+")),
        ("kiosk", "+a4915112345678", None, ("kiosk", "+a4915112345678")),  # not after the +
        ("webform", "+4915112345678x", None, ("webform", "+4915112345678x")),
        ("forum", "@ann", None, ("forum", "@ann")),  # a handle, not an e-mail address
        ("forum", "ann", None, ("forum", "ann")),
        ("whatsapp", "+4915112345678", "sms", ("sms", "+4915112345678")),
        ("email", "ann@example.org", "chat", ("chat", "ann@example.org")),
    ],
)
def test_a_sender_is_the_contact_point_their_channel_and_address_name(
    channel: str, sender: str, declared: str | None, point: tuple[str, str]
) -> None:
    assert contact_of(channel, sender, declared) == ContactPoint(*point, verified=False)


MAIL = ContactPoint("email", "ann@example.org", True)
PHONE = ContactPoint("sms", "+4915112345678", True)
CHAT = ContactPoint("chat", "u-17", False)
KIOSK = ContactPoint("kiosk", "k-3", False)


@pytest.mark.parametrize(
    ("points", "preferred", "last_used", "answered"),
    [
        ((MAIL, PHONE), "email", PHONE, PHONE),  # where they last wrote, when it is verified
        ((MAIL, PHONE, CHAT), "sms", CHAT, PHONE),  # else the preferred verified one
        ((MAIL, PHONE, CHAT), "chat", CHAT, MAIL),  # a preferred unverified one does not count
        ((MAIL, PHONE, CHAT), None, CHAT, MAIL),  # else the first verified
        ((KIOSK, CHAT), "kiosk", CHAT, CHAT),  # else where they last wrote
        ((KIOSK, CHAT), None, None, KIOSK),  # else their first
        ((KIOSK, CHAT), None, ContactPoint("sms", "+1"), KIOSK),  # a point no longer theirs
        ((), None, CHAT, None),
    ],
)
def test_a_customer_is_answered_where_they_wrote_when_verified_else_where_they_prefer(
    points: tuple[ContactPoint, ...],
    preferred: str | None,
    last_used: ContactPoint | None,
    answered: ContactPoint | None,
) -> None:
    customer = Customer(id="c-1", contact_points=points, preferred=preferred)
    assert reach(customer, last_used) == answered


def test_the_last_used_point_is_matched_by_channel_and_address_not_by_being_verified() -> None:
    customer = Customer(id="c-1", contact_points=(MAIL, PHONE), preferred="email")
    assert reach(customer, PHONE._replace(verified=False)) == PHONE


def test_intake_expressions_see_the_owners_record_and_nothing_for_an_unknown_sender() -> None:
    nothing = {"name": "", "segment": "", "locale": "", "known": False, "timezone": ""}
    assert customer_variables(None) == {**nothing, "id": "", "birthday": None, "since": None}
    bare = Customer(id="c-2", contact_points=(CHAT,))
    assert customer_variables(bare) == {**nothing, "id": "c-2", "birthday": None, "since": None}
    li = Customer(
        id="c-1",
        name="Li",
        locale="zh",
        segment="vip",
        contact_points=(CHAT, MAIL),
        timezone="Asia/Shanghai",
        birthday=date(1990, 2, 28),
        since=date(2020, 1, 1),
    )
    assert customer_variables(li) == {
        "id": "c-1",
        "name": "Li",
        "segment": "vip",
        "locale": "zh",
        "known": True,
        "timezone": "Asia/Shanghai",
        "birthday": "1990-02-28",
        "since": "2020-01-01",
    }


@pytest.fixture
def book() -> Customers:
    ids = iter(f"cust-{n}" for n in range(1, 10))
    return Customers(MemoryStore(), new_id=lambda: next(ids), now=lambda: NOW)


def test_a_customer_the_host_adds_has_verified_points_and_prefers_the_first(
    book: Customers,
) -> None:
    added = book.add("Ann", email="Ann@Example.org", phone="+4915112345678", locale="de")
    assert added == Customer(
        id="cust-1",
        name="Ann",
        locale="de",
        contact_points=(
            ContactPoint("email", "ann@example.org", True),
            ContactPoint("sms", "+4915112345678", True),
        ),
        preferred="email",
    )
    assert book.get("cust-1") == added
    assert book.identify("email", "ann@example.org") == added
    texter = book.add(phone="+4917000000000", contact_points=[CHAT], segment="vip")
    assert (texter.id, texter.preferred, texter.segment) == ("cust-2", "sms", "vip")
    assert texter.contact_points == (ContactPoint("sms", "+4917000000000", True), CHAT)
    chatter = book.add(contact_points=[CHAT._replace(address="u-18")], customer_id="crm-9")
    assert (chatter.id, chatter.preferred) == ("crm-9", None)
    chosen = book.add(email="bo@example.org", phone="+4916000000000", preferred="sms")
    assert chosen.preferred == "sms"


def test_dates_and_time_zone_are_kept_and_an_unknown_zone_is_refused(book: Customers) -> None:
    kept = book.add(
        "Li", timezone="Asia/Shanghai", birthday=date(1990, 2, 28), since=date(2020, 1, 1)
    )
    assert (kept.timezone, kept.birthday, kept.since) == (
        "Asia/Shanghai",
        date(1990, 2, 28),
        date(2020, 1, 1),
    )
    with pytest.raises(InvalidCustomer) as refused:
        book.add("Bo", timezone="Mars/Olympus", customer_id="bo")
    assert str(refused.value) == (
        "customer 'bo': time zone 'Mars/Olympus' is not an IANA time zone name such as "
        "'Asia/Shanghai' or 'Europe/London'"
    )
    with pytest.raises(UnknownCustomer):
        book.get("bo")


def test_a_contact_point_listed_twice_is_refused_and_nothing_is_kept(book: Customers) -> None:
    with pytest.raises(InvalidCustomer) as refused:
        book.add(
            "Li",
            email="Li.Wei@example.com",
            contact_points=[ContactPoint("email", "li.wei@example.com")],
            customer_id="li",
        )
    assert str(refused.value) == (
        "customer 'li': contact point email 'li.wei@example.com' is listed twice; list each "
        "contact point once"
    )
    with pytest.raises(UnknownCustomer):
        book.get("li")


def test_listeners_hear_each_stored_record_with_the_one_before(book: Customers) -> None:
    heard: list[tuple[Customer | None, Customer]] = []
    book.listen(lambda previous, current: heard.append((previous, current)))
    ann = book.add("Ann", email="ann@example.org")
    vip = book.save(ann._replace(segment="vip"))
    gone = book.leave(ann.id)
    later = datetime(2026, 4, 1, tzinfo=UTC)
    back = book.leave(ann.id, at=later)
    assert gone.left_at == NOW and back.left_at == later
    assert heard == [(None, ann), (ann, vip), (vip, gone), (gone, back)]
    message = InboundMessage(
        channel="chat", message_id="m-1", sender="u-17", body="hi", sender_name="Bo", locale="fr"
    )
    stranger = book.new_for(CHAT, message)
    assert stranger == Customer(
        id="cust-2", name="Bo", locale="fr", contact_points=(CHAT,), preferred="chat"
    )
    assert heard[-1] == (None, stranger)
    assert book.identify("chat", "u-17") == stranger


def test_leave_without_a_moment_or_a_clock_records_the_current_utc_time() -> None:
    book = Customers(MemoryStore())  # no injected clock: the host's wall clock, in UTC
    ann = book.add("Ann", email="ann@example.org")
    before = datetime.now(UTC)
    gone = book.leave(ann.id)
    after = datetime.now(UTC)
    assert gone.left_at is not None and gone.left_at.tzinfo is UTC
    assert before <= gone.left_at <= after
    assert book.get(ann.id).left_at == gone.left_at


def test_an_unknown_customer_id_says_how_to_add_one(book: Customers) -> None:
    with pytest.raises(UnknownCustomer) as unknown:
        book.leave("crm-404")
    assert str(unknown.value) == (
        "no customer 'crm-404'; add one with engine.customers.add(...) first"
    )
    assert book.of_case("no-such-case") is None
