"""Customers: who owns a case, who a sender is, and where a customer is reached.

A case belongs to one :class:`~svcflow.records.Customer`, set when it starts (by the host with
``Engine.start(customer=...)``, or by intake from the sender of the first message). Customers are
recognised by their contact points: a sender's channel and address as the contact point
:func:`contact_of` names, looked up first through the host's ``svcflow_identify_customer``
plugins (its CRM) and then in the store's own contact table. That ownership is the trust
boundary: a message joins a case only when its sender is a contact point of the case's customer,
and notices go to the customer's contact points, never to whoever wrote last.

:class:`Customers` is the API an engine exposes as ``engine.customers``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from svcflow.errors import InvalidCustomer, UnknownCustomer
from svcflow.hooks.host import PluginHost
from svcflow.hooks.types import InboundMessage
from svcflow.records import ContactPoint, Customer
from svcflow.store.base import Store

__all__ = [
    "REPLY_CHANNELS",
    "Customers",
    "contact_of",
    "customer_variables",
    "reach",
    "sender_customer",
]

REPLY_CHANNELS: Mapping[str, str] = {
    "email": "email",
    "sms": "sms",
    "chat": "chat",
    "phone": "sms",
    "social": "social",
}
"""The channel a customer is answered on and recognised by, by the channel they wrote on (a
phone caller gets an SMS; a web form is answered by e-mail or SMS, whichever address it gave).
A channel plugin overrides it with ``ChannelInfo(reply_channel=...)``."""


def contact_of(channel: str, sender: str, declared: str | None = None) -> ContactPoint:
    """The contact point a sender on ``channel`` is (unverified): the channel a plugin
    ``declared`` as its reply channel, else ``REPLY_CHANNELS``, else what the address looks like
    (``x@y`` an e-mail, a phone number an ``sms`` contact: a web form or a kiosk giving one),
    else the channel itself. Its channel is also the *channel family* thread references are
    scoped to: an SMS, a call and a kiosk visit with one phone number are one thread family."""
    if declared:
        return ContactPoint(declared, sender)
    if channel in REPLY_CHANNELS:
        return ContactPoint(REPLY_CHANNELS[channel], sender)
    if "@" in sender and not sender.startswith("@"):
        return ContactPoint("email", sender)
    if sender.startswith("+") and sender[1:].isdigit():
        return ContactPoint("sms", sender)
    return ContactPoint(channel, sender)


def sender_customer(
    plugins: PluginHost, store: Store, message: InboundMessage
) -> tuple[ContactPoint, Customer | None]:
    """The sender as a contact point, and the customer they are (``None`` when unknown).

    A customer a plugin names is kept in the store with its e-mail addresses in lower case (as
    the e-mail and web-form channels and ``Customers.add`` give them, so the CRM's
    ``Ann@Example.org`` is the sender ``ann@example.org``) and each contact point once, with the
    sender's contact point added as verified when it was missing (the host vouched for it)."""
    point = contact_of(message.channel, message.sender, plugins.reply_channel(message.channel))
    found = plugins.identify_customer(point.channel, point.address, message)
    if found is None:
        return point, store.customer_by_contact(point.channel, point.address)
    found = _emails_in_lower_case(found)
    if not found.owns(point.channel, point.address):
        verified = point._replace(verified=True)
        found = found._replace(contact_points=(*found.contact_points, verified))
    if store.load_customer(found.id) != found:
        store.save_customer(found)
    return point, found


def _emails_in_lower_case(customer: Customer) -> Customer:
    """``customer`` with its e-mail addresses in lower case, each contact point once (the
    first of those that name the same address)."""
    points: dict[tuple[str, str], ContactPoint] = {}
    for point in customer.contact_points:
        if point.channel == "email":
            point = point._replace(address=point.address.lower())
        points.setdefault((point.channel, point.address), point)
    return customer._replace(contact_points=tuple(points.values()))


def customer_variables(customer: Customer | None) -> dict[str, Any]:
    """What intake expressions see as ``customer``: the owner's record, never the message.

    ``birthday`` and ``since`` are ``YYYY-MM-DD`` text or ``null`` when the record has none
    (``customer.birthday != null``), ``timezone`` the IANA name or ``""``."""
    if customer is None:
        return {
            "id": "",
            "name": "",
            "segment": "",
            "locale": "",
            "known": False,
            "timezone": "",
            "birthday": None,
            "since": None,
        }
    return {
        "id": customer.id,
        "name": customer.name or "",
        "segment": customer.segment or "",
        "locale": customer.locale or "",
        "known": any(point.verified for point in customer.contact_points),
        "timezone": customer.timezone or "",
        "birthday": None if customer.birthday is None else customer.birthday.isoformat(),
        "since": None if customer.since is None else customer.since.isoformat(),
    }


def reach(customer: Customer, last_used: ContactPoint | None) -> ContactPoint | None:
    """Where to answer ``customer``: the contact point they last wrote from when it is verified,
    else their preferred verified one (the first verified without a preference), else the one
    they last wrote from, else their first."""
    points = customer.contact_points
    used = next(
        (
            p
            for p in points
            if last_used is not None and (p.channel, p.address) == tuple(last_used[:2])
        ),
        None,
    )
    if used is not None and used.verified:
        return used
    verified = [p for p in points if p.verified]
    preferred = [p for p in verified if p.channel == customer.preferred]
    for choice in (*preferred, *verified, used, *points):
        if choice is not None:
            return choice
    return None


class Customers:
    """``engine.customers``: the customers the engine's store knows (see module docs)."""

    def __init__(
        self,
        store: Store,
        new_id: Callable[[], str] | None = None,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        self._store = store
        self._new_id = new_id or (lambda: f"cust-{uuid.uuid4().hex[:16]}")
        self._now = now or (lambda: datetime.now(UTC))
        self._listeners: list[Callable[[Customer | None, Customer], None]] = []

    def listen(self, listener: Callable[[Customer | None, Customer], None]) -> None:
        """Call ``listener(previous, current)`` after each customer record is stored
        (``previous`` None for a new one): how customer-scoped workflows start and end."""
        self._listeners.append(listener)

    def _saved(self, customer: Customer, previous: Customer | None) -> None:
        self._store.save_customer(customer)
        for listener in self._listeners:
            listener(previous, customer)

    def add(
        self,
        name: str | None = None,
        *,
        email: str | None = None,
        phone: str | None = None,
        contact_points: Iterable[ContactPoint] = (),
        segment: str | None = None,
        locale: str | None = None,
        preferred: str | None = None,
        customer_id: str | None = None,
        timezone: str | None = None,
        birthday: date | None = None,
        since: date | None = None,
    ) -> Customer:
        """Create (or replace) a customer the host knows; ``email`` and ``phone`` become
        verified contact points (``email`` and ``sms``). ``ContactPointTaken`` when one
        belongs to another customer. ``timezone`` (IANA, e.g. ``Asia/Shanghai``), ``birthday``
        and ``since`` (customer since) are what recurring schedules count from; a new customer
        starts the customer-scoped workflows whose ``start_on.customer_created`` matches."""
        points = [ContactPoint("email", email.lower(), True)] if email else []
        points += [ContactPoint("sms", phone, True)] if phone else []
        customer = Customer(
            id=customer_id or self._new_id(),
            name=name,
            locale=locale,
            segment=segment,
            contact_points=(*points, *contact_points),
            preferred=preferred or (points[0].channel if points else None),
            timezone=timezone,
            birthday=birthday,
            since=since,
        )
        return self.save(customer)

    def save(self, customer: Customer) -> Customer:
        """Store ``customer`` as given (a changed segment, a contact point verified...); a
        changed segment starts or ends customer-scoped workflows (``start_on``, ``end_on``).
        ``InvalidCustomer`` for a time zone that is not an IANA name."""
        _check_timezone(customer)
        previous = self._store.load_customer(customer.id) if self._listeners else None
        self._saved(customer, previous)
        return customer

    def leave(self, customer_id: str, at: datetime | None = None) -> Customer:
        """Mark the customer as gone (``left_at``, default now): their customer-scoped cases
        get the ``end_on.customer_left`` trigger and no new ones start."""
        customer = self.get(customer_id)
        return self.save(customer._replace(left_at=at or self._now()))

    def get(self, customer_id: str) -> Customer:
        found = self._store.load_customer(customer_id)
        if found is None:
            raise UnknownCustomer(customer_id)
        return found

    def identify(self, channel: str, address: str) -> Customer | None:
        """The customer whose contact point ``address`` on ``channel`` is, if any."""
        return self._store.customer_by_contact(channel, address)

    def of_case(self, case_id: str) -> Customer | None:
        """The customer who owns the case, if it has one."""
        owner = self._store.case_customer(case_id)
        return None if owner is None else self._store.load_customer(owner)

    def new_for(self, point: ContactPoint, message: InboundMessage) -> Customer:
        """A customer for an unknown sender: their one, unverified, contact point."""
        customer = Customer(
            id=self._new_id(),
            name=message.sender_name,
            locale=message.locale,
            contact_points=(point,),
            preferred=point.channel,
        )
        self._saved(customer, None)
        return customer


def _check_timezone(customer: Customer) -> None:
    if customer.timezone is None:
        return
    try:
        ZoneInfo(customer.timezone)
    except (ValueError, ZoneInfoNotFoundError):
        raise InvalidCustomer(
            customer.id,
            f"time zone {customer.timezone!r} is not an IANA time zone name such as "
            "'Asia/Shanghai' or 'Europe/London'",
        ) from None
