"""The plain records svcflow stores and returns: cases, history entries, timers, notifications.

They are immutable values (named tuples: cheap to create, compact to keep, and invisible to the
garbage collector when they hold only plain values). A :class:`Case` is data, not an object with
behaviour: the workflow's compiled machine acts on it, the store keeps it.

The event path builds them as ``Case.__new__(Case, id=..., ...)``: the same keywords (checked by
mypy and by ``tests/test_quality.py``) without ``type.__call__`` first packing them into a dict
for the generated ``__new__`` (a record of 14 fields: about 4 kIr instead of 10 under
cachegrind). ``_replace`` maps over every field in Python and costs more than building anew.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from types import MappingProxyType
from typing import Any, NamedTuple

from svcflow.durations import format_duration

__all__ = [
    "NO_DETAILS",
    "Case",
    "ContactPoint",
    "Customer",
    "DeadLetter",
    "HistoryEntry",
    "Notification",
    "OutboxEntry",
    "PendingSignal",
    "Refusal",
    "Timer",
    "plain",
]


NO_DETAILS: Mapping[str, Any] = MappingProxyType({})


_AS_IS = frozenset({str, int, float, bool, type(None)})


def plain(value: Any) -> Any:
    """``value`` as JSON-ready data (what history entries hold, whatever the store):
    datetimes as ISO 8601 text, durations as ``1h30m`` text, containers copied."""
    kind = type(value)
    if kind in _AS_IS:
        return value
    if kind is dict:
        for item in value.values():
            if type(item) not in _AS_IS:
                return {key: plain(item) for key, item in value.items()}
        return dict(value)  # (plain already: one copy, no call per item)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, timedelta):
        return format_duration(value)
    if isinstance(value, Mapping):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    return value


class Case(NamedTuple):
    """A case as stored after its latest committed event.

    ``version`` is the *workflow* version the case runs on (fixed when it starts); ``revision``
    counts committed changes and is what optimistic locking compares. ``sla`` is the state of
    its SLA clocks and escalation chains as plain JSON (read it through ``Engine.sla``).
    """

    id: str
    workflow: str
    version: int
    state: str
    data: Mapping[str, Any]
    revision: int
    created_at: datetime
    updated_at: datetime
    sla: Mapping[str, Any] = NO_DETAILS


class HistoryEntry(NamedTuple):
    """One committed event of a case, in order (``seq`` starts at 1).

    ``kind`` is ``started``, ``transition`` (a fired trigger) or ``timer`` (a due timer; its
    ``details`` hold ``due_at`` and ``late_by``), or ``timer_ignored`` when a due timer's trigger
    no longer applied. ``details`` also lists what the event did: fields set, timers scheduled and
    cancelled, notifications queued, notes.
    """

    case_id: str
    seq: int
    at: datetime
    actor: str
    kind: str
    trigger: str | None
    from_state: str | None
    to_state: str
    payload: Mapping[str, Any] | None
    version: int
    details: Mapping[str, Any] = NO_DETAILS


class Timer(NamedTuple):
    """A durable timer: fire ``trigger`` on ``case_id`` at ``due_at``.

    ``owner_state`` is the state it belongs to; unless ``keep`` it is cancelled when the case
    leaves that state. A timer whose firing raised is ``retrying`` (tried again at
    ``retry_at``) and, after the engine's ``timer_retry`` policy gives up, ``failed``: parked
    with ``last_error`` until ``Engine.retry_timer`` releases it. ``attempts`` counts the
    failed firings.
    """

    id: int
    case_id: str
    trigger: str
    due_at: datetime
    owner_state: str
    keep: bool
    created_at: datetime
    status: str = "pending"
    attempts: int = 0
    last_error: str | None = None
    retry_at: datetime | None = None
    nominal: datetime | None = None
    """For a recurring schedule's timer (trigger ``rec:<schedule>``): the nominal moment of the
    occurrence it is due for, before calendar and quiet-hours moves."""


class Notification(NamedTuple):
    """A queued notification in the outbox. ``key`` is unique and stable: receivers dedupe on it.
    ``deliver_after`` is set when quiet hours hold a non-urgent notice until the calendar opens."""

    id: int
    key: str
    case_id: str
    template: str
    recipients: tuple[str, ...]
    channel: str | None
    urgent: bool
    status: str
    created_at: datetime
    context: Mapping[str, Any] = NO_DETAILS
    deliver_after: datetime | None = None


class OutboxEntry(NamedTuple):
    """One rendered notification for one recipient in the outbox, and how its delivery went.

    ``status`` is ``pending`` (waiting for its first or next attempt at ``next_attempt_at``),
    ``delivered`` or ``dead`` (retries exhausted, a permanent failure, or nothing to deliver:
    ``last_error`` says why). ``key`` is the idempotency key receivers see; it is
    ``<notification key>:<recipient number>``.
    """

    id: int
    key: str
    notification_key: str
    case_id: str
    template: str
    channel: str
    address: str
    name: str | None
    role: str | None
    locale: str
    subject: str
    body: str
    urgent: bool
    status: str
    attempts: int
    next_attempt_at: datetime
    created_at: datetime
    last_error: str | None = None
    reference: str | None = None
    delivered_at: datetime | None = None


class DeadLetter(NamedTuple):
    """An inbound payload ``Engine.ingest`` could not take, kept with the reason.

    ``raw`` is the payload as text (bytes that are not UTF-8 are kept as base64, ``encoding``
    says which). ``status`` is ``open`` until it is replayed (``replayed``, with ``case_id``).
    """

    id: int
    channel: str
    raw: str
    encoding: str
    error: str
    received_at: datetime
    status: str = "open"
    case_id: str | None = None


class ContactPoint(NamedTuple):
    """Where a customer can be reached and is recognised: an address on a channel (``email``
    and ``li.wei@example.com``, ``sms`` and ``+8613800138000``, ``chat`` and a user id).

    ``verified`` is true when the host (or its CRM) vouches that the address is the customer's;
    a contact point intake learnt from a message's sender is unverified. A contact point belongs
    to at most one customer, which is what lets a sender be recognised.
    """

    channel: str
    address: str
    verified: bool = False


class Customer(NamedTuple):
    """The person a case belongs to: who is notified, whose messages may join the case.

    ``segment`` (``vip``, ``standard``...) comes from this record, set by the host, never from
    what a customer typed into a message. ``preferred`` names the channel of the contact point
    to use when the customer last wrote on none that is verified.
    """

    id: str
    name: str | None = None
    locale: str | None = None
    segment: str | None = None
    contact_points: tuple[ContactPoint, ...] = ()
    preferred: str | None = None
    timezone: str | None = None
    """An IANA time zone (``Asia/Shanghai``): where the customer's schedules keep local time."""
    birthday: date | None = None
    since: date | None = None
    """The day they became a customer (anniversaries)."""
    left_at: datetime | None = None
    """When the customer left (``engine.customers.leave``); None while they are a customer."""

    def contact(self, channel: str) -> ContactPoint | None:
        """The customer's contact point on ``channel`` (the first, if several)."""
        return next((point for point in self.contact_points if point.channel == channel), None)

    def owns(self, channel: str, address: str) -> bool:
        """Whether ``address`` on ``channel`` is one of this customer's contact points."""
        return any(p.channel == channel and p.address == address for p in self.contact_points)


class PendingSignal(NamedTuple):
    """A signal an event raised for another workflow, stored in the event's own transaction and
    kept until it is delivered (``Store.pending_signals``, ``Store.signal_done``).

    Delivering it starts a case of ``workflow`` for ``customer_id`` with the ``start`` data or,
    when that workflow is customer-scoped and the customer has a case of it open, fires ``fire``
    there (whichever of the two the signal has). ``key`` names the event and the signal and is
    the idempotency key of what delivery does, so a signal delivered twice acts once.
    """

    key: str
    workflow: str
    customer_id: str | None
    start: Mapping[str, Any] | None
    fire: str | None
    created_at: datetime


class Refusal(NamedTuple):
    """An event the engine refused because the actor lacked the authority (``NotAuthorized``):
    who tried what, on which case and state, the roles they held and those that would have done.
    The case itself is unchanged; refusals are kept apart from its history."""

    case_id: str
    at: datetime
    actor: str
    trigger: str
    state: str
    reason: str
    roles: tuple[str, ...] = ()
    required: tuple[str, ...] = ()
