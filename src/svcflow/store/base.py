"""The store contract: one atomic :class:`CaseChange` per event, and the reads the engine needs.

A store knows records, not workflows: it never imports the machine. Everything one event
changes (the case, its history entry, timers added and cancelled, queued notifications, the
idempotency record) arrives as one :class:`CaseChange` and is committed all or nothing.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, NamedTuple, Protocol, runtime_checkable

from svcflow.records import (
    NO_DETAILS,
    Case,
    Customer,
    DeadLetter,
    HistoryEntry,
    Notification,
    OutboxEntry,
    PendingSignal,
    Refusal,
    Timer,
)
from svcflow.store.query import CasePage, CaseQuery

__all__ = [
    "ERASED_DELIVERY",
    "ERASED_LETTER",
    "Attempt",
    "CaseChange",
    "CaseHistory",
    "DataCodec",
    "DuplicateMessage",
    "IdempotencyRecord",
    "IdempotentReplay",
    "NewDelivery",
    "NewMessage",
    "NewNotification",
    "NewTimer",
    "ScopeTaken",
    "Store",
    "TimerGone",
    "WakesWorkers",
    "Workload",
    "dedupe_key",
    "thread_key",
]

ERASED_DELIVERY = "the customer was erased"
"""Why an outbox row still pending when its case's customer was erased is dead."""

ERASED_LETTER = "erased"
"""The status (and encoding) of a dead letter whose payload went with its customer's erasure:
the row stays, with its channel, reason and time, and cannot be replayed."""


def dedupe_key(sender: str, message_id: str) -> str:
    """The key an inbound message is deduplicated on within its channel: its id *as sent by
    this sender*, so one sender reusing another's message id is never taken for them.
    (``<length of sender>:<sender>:<id>``: unambiguous whatever the sender contains.)"""
    return f"{len(sender)}:{sender}:{message_id}"


def thread_key(family: str, reference: str) -> str:
    """The key a thread reference is indexed under: scoped to the channel family it was written
    in (the sender's contact channel: ``sms`` for SMS, calls and kiosks giving a phone number),
    so an e-mail naming an SMS thread (``In-Reply-To: <sms:+86...>``) never finds it."""
    return f"{family}|{reference}"


class NewTimer(NamedTuple):
    trigger: str
    due_at: datetime
    owner_state: str
    keep: bool
    nominal: datetime | None = None


class NewNotification(NamedTuple):
    key: str
    template: str
    recipients: tuple[str, ...]
    channel: str | None
    urgent: bool
    context: Mapping[str, Any] = NO_DETAILS
    deliver_after: datetime | None = None
    status: str = "pending"


class NewDelivery(NamedTuple):
    """A rendered notification for one recipient, written to the outbox with the case change.
    ``status`` is ``pending``, or ``dead`` with ``error`` when rendering or resolving failed."""

    key: str
    notification_key: str
    template: str
    channel: str
    address: str
    name: str | None
    role: str | None
    locale: str
    subject: str
    body: str
    urgent: bool
    next_attempt_at: datetime
    status: str = "pending"
    error: str | None = None


class NewMessage(NamedTuple):
    """An inbound message recorded with the change it caused: the dedupe and threading index.
    ``thread_keys`` are the message id and its thread references; a later message whose
    references include one of them belongs to the same case."""

    channel: str
    message_id: str
    sender: str
    thread_keys: tuple[str, ...]
    received_at: datetime
    message: Mapping[str, Any]


class CaseHistory(NamedTuple):
    """One case's history with the workflow it runs: what reports read (``Store.histories``)."""

    case_id: str
    workflow: str
    entries: list[HistoryEntry]


class IdempotencyRecord(NamedTuple):
    """The first result of an event sent with an idempotency key: the case right after it.
    ``fingerprint`` holds a digest of each part of the request (actor, payload or data), so a
    retry can be told from another request reusing the key (None for records kept before
    fingerprints were)."""

    key: str
    scope: str
    case: Case
    fingerprint: Mapping[str, str] | None = None


class CaseChange(NamedTuple):
    """Everything one event writes. ``expected_revision`` None means the case is new.

    ``consume_timer`` is the id of the due timer this event fires; it must still exist (another
    runner may have fired it), and is deleted in the same transaction.
    """

    case: Case
    expected_revision: int | None
    history: HistoryEntry
    timers: Sequence[NewTimer] = ()
    cancel_owned_by: str | None = None
    cancel_triggers: Sequence[str] = ()
    consume_timer: int | None = None
    notifications: Sequence[NewNotification] = ()
    idempotency_key: str | None = None
    idempotency_scope: str | None = None
    deliveries: Sequence[NewDelivery] = ()
    messages: Sequence[NewMessage] = ()
    idempotency_fingerprint: Mapping[str, str] | None = None
    customer_id: str | None = None
    """The customer who owns a new case (kept with the case; ignored for an existing one)."""
    open_scope: str | None = None
    """For a new case of a customer-scoped workflow: the key it holds while open (workflow and
    customer). At most one case holds a key; another gets ``ScopeTaken``."""
    release_scope: bool = False
    """The case reached a final state: the key it held is free again."""
    signals: Sequence[PendingSignal] = ()
    """Signals the event raised for other workflows, kept until delivered."""


class Attempt(NamedTuple):
    """The outcome of one delivery attempt, as ``record_attempt`` takes it."""

    entry_id: int
    status: str
    attempts: int
    at: datetime
    next_attempt_at: datetime | None = None
    error: str | None = None
    reference: str | None = None


class IdempotentReplay(Exception):
    """Raised by ``commit`` when the idempotency key was already committed; nothing was written."""

    def __init__(self, record: IdempotencyRecord) -> None:
        super().__init__(record.key)
        self.record = record


class DuplicateMessage(Exception):
    """Raised by ``commit`` when an inbound message of the change was already recorded (two
    deliveries of one message raced); nothing was written. ``case_id`` is where it went."""

    def __init__(self, case_id: str) -> None:
        super().__init__(case_id)
        self.case_id = case_id


class ScopeTaken(Exception):
    """Raised by ``commit`` when another open case holds the new case's ``open_scope``."""

    def __init__(self, case_id: str) -> None:
        super().__init__(case_id)
        self.case_id = case_id


class TimerGone(Exception):
    """Raised by ``commit`` when the timer to consume no longer exists; nothing was written."""


class Workload(NamedTuple):
    """What waits in a store at one moment: what ``svcflow status`` shows operators.

    ``due_timers`` may fire now (not parked, past any retry moment), the oldest due at
    ``oldest_due_timer``; ``outbox_due`` of the ``outbox_pending`` deliveries may be attempted
    now, the oldest due at ``oldest_due_delivery``. ``dead_deliveries`` gave up,
    ``open_dead_letters`` are inbound payloads nobody replayed yet."""

    due_timers: int
    oldest_due_timer: datetime | None
    failed_timers: int
    outbox_pending: int
    outbox_due: int
    oldest_due_delivery: datetime | None
    dead_deliveries: int
    open_dead_letters: int


@runtime_checkable
class WakesWorkers(Protocol):
    """A store that can wake an idle worker when another process commits work due soon
    (the PostgreSQL store, with ``LISTEN/NOTIFY``)."""

    def wait_for_work(self, timeout: float) -> datetime | None:
        """Wait up to ``timeout`` seconds for a commit (by any process) that scheduled a timer
        or delivery; the earliest moment it is due, or None when none came."""


class DataCodec(Protocol):
    """Turns case data to and from JSON text for one workflow version, and a case's SLA state
    to and from its stored text (the engine provides it: stores know records, not the SLA
    clocks' compact form)."""

    def encode(self, workflow: str, version: int, data: Mapping[str, Any]) -> str: ...

    def decode(self, workflow: str, version: int, text: str) -> dict[str, Any]: ...

    def plain(self, workflow: str, version: int, data: Mapping[str, Any]) -> dict[str, Any]:
        """The data as the JSON values ``encode`` writes (dicts, lists, text, numbers, booleans,
        None), the fields in the same order: for a store that writes its own form of the data
        (SQLite's values-only form) without parsing the text back."""
        ...

    def from_plain(self, workflow: str, version: int, data: Mapping[str, Any]) -> dict[str, Any]:
        """The data from the JSON values ``plain`` gives, as ``decode`` reads their text: for
        a store that keeps values without their text (SQLite's values-only form)."""
        ...

    def encode_sla(self, sla: Mapping[str, Any]) -> str:
        """The stored text of a ``Case.sla`` (:func:`svcflow.sla.encoding.encode_sla`)."""
        ...

    def decode_sla(self, text: str) -> dict[str, Any]:
        """The ``Case.sla`` of a stored text, in any form written so far, the JSON object text
        included (:func:`svcflow.sla.encoding.decode_sla`)."""
        ...


class Store(Protocol):
    """What every store provides. All datetimes are aware UTC."""

    def attach_codec(self, codec: DataCodec) -> None: ...

    def commit(self, change: CaseChange) -> None:
        """Apply the change atomically or raise (``ConcurrencyConflict``, ``IdempotentReplay``,
        ``TimerGone``) having written nothing."""

    def commit_many(self, changes: Sequence[CaseChange]) -> list[Exception | None]:
        """Apply several changes in one transaction, each all or nothing on its own (a
        savepoint each): a change refused (``ConcurrencyConflict``, ``TimerGone``,
        ``IdempotentReplay``, ``DuplicateMessage``) or failing in any other way is rolled back
        alone and returned in its place; None where it was written. The written ones become
        durable together, at the one commit; a fault of the transaction itself (``StoreFault``)
        raises, having written none of them."""

    def load_case(self, case_id: str) -> Case | None: ...

    def load_cases(self, case_ids: Sequence[str]) -> dict[str, Case]:
        """The stored cases among ``case_ids``, by id (an id with no case is left out), read
        together: what ``load_case`` gives for each, in as few statements as the store can
        (one per 512 ids on SQL stores). Due timers claimed as a batch are fired on them."""

    def find_cases(self, workflow: str | None = None, state: str | None = None) -> list[Case]: ...

    def find(
        self, query: CaseQuery, *, after: str | None = None, limit: int | None = None
    ) -> CasePage:
        """The cases ``query`` finds, in its order (by creation, or by the earliest running
        SLA deadline), after the page cursor ``after``, at most ``limit`` of them (None: all).
        The page's ``next`` continues it. Only the page's cases are read and decoded;
        ``InvalidQuery`` (or ``InvalidCursor``) for a query that cannot be answered."""

    def count(self, query: CaseQuery) -> int:
        """How many cases ``query`` finds (nothing decoded)."""

    def history(self, case_id: str) -> list[HistoryEntry]: ...

    def histories(self) -> Iterator[CaseHistory]:
        """Every case's history (entries in ``seq`` order), case by case in case-id order, read
        in one pass: a report over thousands of cases without a query per case. Needs no data
        codec, so it works on a store opened without an engine."""

    def idempotency(self, key: str) -> IdempotencyRecord | None: ...

    def due_timers(self, now: datetime, limit: int) -> list[Timer]:
        """Timers with ``due_at <= now`` that may fire (not failed, past any ``retry_at``),
        earliest first (ties in creation order)."""

    def claim_due_timers(
        self, now: datetime, limit: int, owner: str, lease_until: datetime
    ) -> list[Timer]:
        """Like ``due_timers``, but only timers no other runner holds a live lease on (``owner``'s
        own claims included), and lease them to ``owner`` until ``lease_until``. A runner that
        dies holding a lease loses nothing: the lease runs out and another runner claims them."""

    def workload(self, now: datetime) -> Workload:
        """Counts of what waits at ``now``: due and failed timers, the outbox, dead rows."""

    def timers(self, case_id: str) -> list[Timer]:
        """The case's timers (pending, retrying or failed), earliest first."""

    def timer_failed(self, timer_id: int, error: str, retry_at: datetime | None) -> Timer | None:
        """Record that firing the timer raised ``error``: count the attempt, release its lease,
        and make it ``retrying`` at ``retry_at`` or, when that is None, park it as ``failed``.
        Returns the timer as now stored (None if it is gone). Due-timer reads skip failed
        timers and retrying ones before their ``retry_at``."""

    def failed_timers(self) -> list[Timer]:
        """The timers parked as ``failed``, earliest due first."""

    def release_timer(self, timer_id: int) -> bool:
        """Make a failed timer pending again (due at once, attempts reset, ``last_error``
        kept); False if there is no failed timer with this id."""

    def notifications(
        self, case_id: str | None = None, status: str | None = None
    ) -> list[Notification]: ...

    # -- the outbox --

    def claim_deliveries(
        self, now: datetime, limit: int, owner: str, lease_until: datetime
    ) -> list[OutboxEntry]:
        """Pending outbox entries due by ``now`` (``next_attempt_at <= now``) that no other
        dispatcher holds a live lease on, oldest first, leased to ``owner``. A dispatcher that
        dies mid-delivery loses nothing: the lease runs out and the entry is claimed again."""

    def record_attempt(
        self,
        entry_id: int,
        status: str,
        attempts: int,
        at: datetime,
        next_attempt_at: datetime | None = None,
        error: str | None = None,
        reference: str | None = None,
    ) -> None:
        """Record a delivery attempt's outcome (``delivered``, ``pending`` to retry at
        ``next_attempt_at``, or ``dead``) and release the lease."""

    def record_attempts(self, attempts: Sequence[Attempt]) -> None:
        """Record several attempts' outcomes (as ``record_attempt``) in one transaction."""

    def rewrite_delivery(self, entry_id: int, subject: str, body: str, locale: str) -> None:
        """Replace an outbox entry's words (a dead entry's template rendered again)."""

    def outbox(self, case_id: str | None = None, status: str | None = None) -> list[OutboxEntry]:
        """Outbox entries, optionally of one case or status, in the order they were queued."""

    # -- inbound messages --

    def message_case(self, channel: str, message_id: str) -> str | None:
        """The case an earlier message of ``channel`` with this id went to."""

    def thread_case(self, keys: Sequence[str]) -> str | None:
        """The case of the most recent message whose thread keys include one of ``keys``."""

    def thread_cases(self, keys: Sequence[str]) -> list[str]:
        """The cases of messages whose thread keys include one of ``keys``, most recent
        first, each once."""

    def sender_cases(self, sender: str) -> list[str]:
        """Ids of the cases messages from ``sender`` went to, most recent first."""

    def case_messages(self, case_id: str) -> list[Mapping[str, Any]]:
        """The inbound messages recorded for a case, oldest first (as plain data)."""

    def add_dead_letter(
        self, channel: str, raw: str, encoding: str, error: str, at: datetime, status: str = "open"
    ) -> int:
        """Keep an inbound payload that could not be taken (``open``) or that waits for an
        agent (``held``); return its id."""

    def dead_letters(
        self, status: str | None = None, *, after: int = 0, limit: int | None = None
    ) -> list[DeadLetter]:
        """Dead letters with ``status`` (all if ``None``) and an id above ``after``, by id,
        at most ``limit`` of them: a page, so a large backlog is never loaded at once."""

    def dead_letter(self, dead_letter_id: int) -> DeadLetter | None:
        """One dead letter by id, or ``None``."""

    def purge_dead_letters(self, received_before: datetime) -> int:
        """Delete the dead letters received before ``received_before``; return how many."""

    def close_dead_letter(self, dead_letter_id: int, case_id: str) -> None:
        """Mark a dead letter replayed into ``case_id``."""

    # -- retention --

    def purge_cases(self, case_ids: Sequence[str]) -> int:
        """Delete these cases and everything kept for them (history, timers, notifications,
        outbox entries, inbound messages and their thread keys, idempotency records, refusals)
        in one transaction; return how many cases were deleted (ids not found count nothing)."""

    # -- customers --

    def save_customer(self, customer: Customer) -> None:
        """Create or replace a customer and its contact points; raise ``ContactPointTaken``
        (writing nothing) when one of them belongs to another customer."""

    def load_customer(self, customer_id: str) -> Customer | None: ...

    def customer_by_contact(self, channel: str, address: str) -> Customer | None:
        """The customer one of whose contact points is ``address`` on ``channel``."""

    def open_scope_case(self, scope: str) -> str | None:
        """The open case holding ``scope`` (see ``CaseChange.open_scope``), if any."""

    def customer_case_counts(self, customer_id: str, since: datetime) -> Mapping[str, int]:
        """How many cases of each workflow the customer owns that started at or after
        ``since``."""

    def case_customer(self, case_id: str) -> str | None:
        """The id of the customer who owns the case (``None`` when it was started without)."""

    def pending_signals(self, limit: int) -> list[PendingSignal]:
        """Up to ``limit`` signals committed with their events and not yet delivered, oldest
        first (see ``CaseChange.signals``)."""

    def signal_done(self, key: str) -> None:
        """Forget a delivered signal (nothing happens when it is already gone)."""

    def customer_cases(self, customer_id: str) -> list[str]:
        """Ids of the cases the customer owns, in id order."""

    def erase_customer(
        self,
        customer_id: str,
        cases: Sequence[Case],
        entries: Sequence[HistoryEntry],
        marker: str,
        dead_letters: Sequence[int] = (),
    ) -> int:
        """Write one customer's erasure in one transaction and return how many inbound messages
        were deleted. The ``dead_letters`` (ids: the customer's) keep their row, channel,
        error and time, with ``marker`` as their payload, encoding ``erased`` and status
        :data:`ERASED_LETTER`. Each of ``cases`` (the customer's, data already redacted) is a new
        revision: it replaces the stored case at ``revision - 1``, refused with
        ``ConcurrencyConflict`` (nothing written) if the case moved on; its messages, thread
        keys and idempotency records are deleted, and its outbox rows get ``marker`` as
        subject and body (rows to the customer also as address; pending rows become dead with
        :data:`ERASED_DELIVERY`). ``entries`` are
        written by case and seq: one already stored is replaced (redacted), a new one (the
        ``erased`` entry) is added. The customer loses its name, preferred channel and contact
        points; its undelivered signals (``pending_signals``) are deleted."""

    def add_refusal(self, refusal: Refusal) -> None:
        """Keep an event refused for lack of authority (its own small transaction)."""

    def refusals(self, case_id: str | None = None) -> list[Refusal]:
        """Refused events, of one case or all, oldest first."""
        ...

    def register_workflow(
        self, workflow: str, version: int, digest: str, source: str, file: str
    ) -> None:
        """Remember a workflow version's definition; raise ``WorkflowVersionConflict`` if the
        stored definition differs and cases of that version exist."""

    def workflow_source(self, workflow: str, version: int) -> tuple[str, str] | None:
        """The stored (source text, file name) of a workflow version, if any."""

    def close(self) -> None: ...
