"""An in-process store for tests, simulations and dry runs; gone when the process ends.

It keeps the same contract as the SQLite store: a change is checked completely before anything
is applied, so it is all or nothing, and stale writers get ``ConcurrencyConflict``.
"""

from __future__ import annotations

import heapq
import itertools
import threading
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from operator import itemgetter
from typing import Any

from svcflow.errors import ConcurrencyConflict, WorkflowVersionConflict
from svcflow.records import (
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
from svcflow.store.base import (
    ERASED_DELIVERY,
    ERASED_LETTER,
    Attempt,
    CaseChange,
    CaseHistory,
    DataCodec,
    DuplicateMessage,
    IdempotencyRecord,
    IdempotentReplay,
    NewDelivery,
    NewMessage,
    NewNotification,
    ScopeTaken,
    TimerGone,
    Workload,
)
from svcflow.store.customer_book import CustomerBook
from svcflow.store.memory_history import MemoryHistory, unpack
from svcflow.store.query import (
    CasePage,
    CaseQuery,
    encode_cursor,
    matches,
    page_start,
    sort_key,
)

__all__ = ["MemoryStore"]


def _outbox_entry(entry_id: int, row: NewDelivery, case_id: str, at: datetime) -> OutboxEntry:
    """The outbox record of a row the engine queued at ``at``."""
    return OutboxEntry.__new__(
        OutboxEntry,
        id=entry_id,
        key=row.key,
        notification_key=row.notification_key,
        case_id=case_id,
        template=row.template,
        channel=row.channel,
        address=row.address,
        name=row.name,
        role=row.role,
        locale=row.locale,
        subject=row.subject,
        body=row.body,
        urgent=row.urgent,
        status=row.status,
        attempts=0,
        next_attempt_at=row.next_attempt_at,
        created_at=at,
        last_error=row.error,
    )


def _ready(timer: Timer, now: datetime) -> bool:
    """Whether a due timer may fire: not parked, and past its retry moment if it failed."""
    if timer.status == "failed":
        return False
    return timer.retry_at is None or timer.retry_at <= now


class MemoryStore:
    """Cases, history, timers and outbox in dictionaries, guarded by one lock."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._cases: dict[str, Case] = {}
        self._history = MemoryHistory()
        self._timers: dict[int, Timer] = {}
        self._timers_by_case: dict[str, tuple[int, ...]] = {}
        self._due: list[tuple[datetime, int]] = []
        self._notifications: dict[str, Notification] = {}
        # rows as the engine built them, with their ids, until something reads the outbox
        self._queued_notifications: dict[str, tuple[NewNotification, int, str, datetime]] = {}
        self._queued_deliveries: dict[int, tuple[NewDelivery, str, datetime]] = {}
        self._idempotency: dict[str, IdempotencyRecord] = {}
        self._workflows: dict[tuple[str, int], tuple[str, str, str]] = {}
        self._ids = itertools.count(1)
        self._leases: dict[int, tuple[str, datetime]] = {}
        self._outbox: dict[int, OutboxEntry] = {}
        self._outbox_leases: dict[int, tuple[str, datetime]] = {}
        self._messages: dict[tuple[str, str], tuple[str, str, datetime, Mapping[str, Any]]] = {}
        self._messages_of: dict[str, list[tuple[str, str]]] = defaultdict(list)  # by case
        self._threads: dict[str, list[tuple[datetime, int, str]]] = defaultdict(list)
        self._dead_letters: dict[int, DeadLetter] = {}
        self._customers = CustomerBook()
        self._refusals: list[Refusal] = []
        self._signals: dict[str, PendingSignal] = {}

    def attach_codec(self, codec: DataCodec) -> None:
        """Data stays as Python objects here; no codec is needed."""

    def close(self) -> None:
        """Nothing to release."""

    def commit(self, change: CaseChange) -> None:
        with self._lock:
            self._check(change)
            case = change.case
            self._cases[case.id] = case
            self._history.append(change.history)
            self._apply_timers(change)
            if change.notifications:
                self._add_notifications(case, change.notifications)
            if change.deliveries:
                self._add_deliveries(case, change.deliveries)
            if change.messages:
                self._add_messages(case.id, change.messages)
            if change.expected_revision is None:
                self._customers.own_case(case.id, change.customer_id)
                if change.open_scope is not None:
                    self._customers.hold_scope(case.id, change.open_scope)
            if change.release_scope:
                self._customers.release_scope(case.id)
            for signal in change.signals:
                self._signals[signal.key] = signal
            if change.idempotency_key is not None:
                self._idempotency[change.idempotency_key] = IdempotencyRecord(
                    key=change.idempotency_key,
                    scope=change.idempotency_scope or "",
                    case=case,
                    fingerprint=change.idempotency_fingerprint,
                )

    def commit_many(self, changes: Sequence[CaseChange]) -> list[Exception | None]:
        outcomes: list[Exception | None] = []
        with self._lock:
            for change in changes:
                try:
                    self.commit(change)
                except Exception as refused:  # each change stands alone (see Store)
                    outcomes.append(refused)
                else:
                    outcomes.append(None)
        return outcomes

    def _check(self, change: CaseChange) -> None:
        """Every refusal a change can meet, raised before anything is applied."""
        case = change.case
        if change.idempotency_key is not None:
            record = self._idempotency.get(change.idempotency_key)
            if record is not None:
                raise IdempotentReplay(record)
        if change.consume_timer is not None and change.consume_timer not in self._timers:
            raise TimerGone(change.consume_timer)
        current = self._cases.get(case.id)
        if change.expected_revision is None:
            if current is not None:
                raise ConcurrencyConflict(case.id, 0, current.revision)
        elif current is None or current.revision != change.expected_revision:
            raise ConcurrencyConflict(
                case.id, change.expected_revision, None if current is None else current.revision
            )
        if change.expected_revision is None and change.open_scope is not None:
            holder = self._customers.scope_holder(change.open_scope)
            if holder is not None:
                raise ScopeTaken(holder)
        for message in change.messages:
            earlier = self._messages.get((message.channel, message.message_id))
            if earlier is not None:
                raise DuplicateMessage(earlier[0])
        queued, kept = self._queued_notifications, self._notifications
        for note in change.notifications:
            if note.key in queued or note.key in kept:
                raise ValueError(f"notification key {note.key!r} already queued")

    def _apply_timers(self, change: CaseChange) -> None:
        """Consume the fired timer, cancel the ones the change ends, add the new ones."""
        case = change.case
        if change.consume_timer is not None:
            self._drop_timer(change.consume_timer)
        owned = self._timers_by_case.get(case.id, ())
        if owned and (change.cancel_owned_by is not None or change.cancel_triggers):
            self._cancel_timers(case.id, owned, change.cancel_owned_by, set(change.cancel_triggers))
        if not change.timers:
            return
        added = []
        for new in change.timers:
            timer = Timer.__new__(
                Timer,
                id=next(self._ids),
                case_id=case.id,
                trigger=new.trigger,
                due_at=new.due_at,
                owner_state=new.owner_state,
                keep=new.keep,
                created_at=case.updated_at,
                nominal=new.nominal,
            )
            self._timers[timer.id] = timer
            added.append(timer.id)
            heapq.heappush(self._due, (timer.due_at, timer.id))
        self._timers_by_case[case.id] = (*self._timers_by_case.get(case.id, ()), *added)
        if len(self._due) > 2 * len(self._timers) + 64:
            self._due = [(t.due_at, t.id) for t in self._timers.values()]
            heapq.heapify(self._due)

    def _cancel_timers(
        self, case_id: str, owned: tuple[int, ...], state: str | None, triggers: set[str]
    ) -> None:
        """Drop the case's timers owned by ``state`` (unless kept) and those of ``triggers``."""
        timers, leases = self._timers, self._leases
        kept = []
        for timer_id in owned:
            timer = timers[timer_id]
            if (state == timer.owner_state and not timer.keep) or timer.trigger in triggers:
                del timers[timer_id]
                leases.pop(timer_id, None)
            else:
                kept.append(timer_id)
        if kept:
            self._timers_by_case[case_id] = tuple(kept)
        else:
            del self._timers_by_case[case_id]

    def _add_notifications(self, case: Case, notifications: Sequence[NewNotification]) -> None:
        for note in notifications:  # (its record is built when the outbox is first read)
            self._queued_notifications[note.key] = (note, next(self._ids), case.id, case.updated_at)

    def _add_deliveries(self, case: Case, deliveries: Sequence[NewDelivery]) -> None:
        for queued in deliveries:
            self._queued_deliveries[next(self._ids)] = (queued, case.id, case.updated_at)

    def _settle(self) -> None:
        """Turn the queued rows into the records readers get (once each, in id order: every
        queued id is newer than every record's). A commit stores the engine's rows with their
        ids and moments, so a notice nobody reads (one that reached nobody) costs no record."""
        if self._queued_notifications:
            for note, note_id, case_id, at in self._queued_notifications.values():
                self._notifications[note.key] = Notification.__new__(
                    Notification,
                    id=note_id,
                    key=note.key,
                    case_id=case_id,
                    template=note.template,
                    recipients=note.recipients,
                    channel=note.channel,
                    urgent=note.urgent,
                    status=note.status,
                    created_at=at,
                    context=note.context,
                    deliver_after=note.deliver_after,
                )
            self._queued_notifications.clear()
        if self._queued_deliveries:
            for entry_id, (row, case_id, at) in self._queued_deliveries.items():
                self._outbox[entry_id] = _outbox_entry(entry_id, row, case_id, at)
            self._queued_deliveries.clear()

    def _add_messages(self, case_id: str, messages: Sequence[NewMessage]) -> None:
        for message in messages:
            place = (message.channel, message.message_id)
            self._messages[place] = (
                case_id,
                message.sender,
                message.received_at,
                dict(message.message),
            )
            self._messages_of[case_id].append(place)
            order = next(self._ids)
            for key in message.thread_keys:
                self._threads[key].append((message.received_at, order, case_id))

    def _drop_timer(self, timer_id: int) -> None:
        timer = self._timers.pop(timer_id)
        self._leases.pop(timer_id, None)
        remaining = tuple(i for i in self._timers_by_case[timer.case_id] if i != timer_id)
        if remaining:
            self._timers_by_case[timer.case_id] = remaining
        else:
            del self._timers_by_case[timer.case_id]

    def register_workflow(
        self, workflow: str, version: int, digest: str, source: str, file: str
    ) -> None:
        with self._lock:
            known = self._workflows.get((workflow, version))
            if known is not None and known[0] != digest:
                count = sum(
                    1
                    for c in self._cases.values()
                    if c.workflow == workflow and c.version == version
                )
                if count:
                    raise WorkflowVersionConflict(workflow, version, file, count)
            self._workflows[(workflow, version)] = (digest, source, file)

    def workflow_source(self, workflow: str, version: int) -> tuple[str, str] | None:
        known = self._workflows.get((workflow, version))
        return (known[1], known[2]) if known else None

    def load_case(self, case_id: str) -> Case | None:
        return self._cases.get(case_id)

    def load_cases(self, case_ids: Sequence[str]) -> dict[str, Case]:
        cases = self._cases
        return {case_id: cases[case_id] for case_id in case_ids if case_id in cases}

    def find_cases(self, workflow: str | None = None, state: str | None = None) -> list[Case]:
        with self._lock:
            return [
                case
                for case in self._cases.values()
                if (workflow is None or case.workflow == workflow)
                and (state is None or case.state == state)
            ]

    def find(
        self, query: CaseQuery, *, after: str | None = None, limit: int | None = None
    ) -> CasePage:
        query, start = page_start(query, after, limit)
        with self._lock:
            found = [c for c in self._cases.values() if self._finds(query, c)]
        keyed = sorted(((sort_key(query, c), c) for c in found), key=lambda pair: pair[0])
        if start is not None:
            keyed = [(key, case) for key, case in keyed if key > start]
        more = limit is not None and len(keyed) > limit
        kept = keyed[:limit] if more else keyed
        cursor = encode_cursor(query, kept[-1][0]) if more else None
        return CasePage((case for _, case in kept), cursor)

    def count(self, query: CaseQuery) -> int:
        query = query.check()
        with self._lock:
            return sum(1 for c in self._cases.values() if self._finds(query, c))

    def _finds(self, query: CaseQuery, case: Case) -> bool:
        return matches(query, case, self._customers.case_owner(case.id))

    def history(self, case_id: str) -> list[HistoryEntry]:
        with self._lock:
            rows, texts = self._history.taken(case_id)
        return unpack(rows, texts)

    def histories(self) -> Iterator[CaseHistory]:
        with self._lock:
            taken = [
                (case_id, self._cases[case_id].workflow, self._history.taken(case_id))
                for case_id in self._history.case_ids()
            ]
        for case_id, workflow, (rows, texts) in taken:
            yield CaseHistory(case_id, workflow, unpack(rows, texts))

    def idempotency(self, key: str) -> IdempotencyRecord | None:
        return self._idempotency.get(key)

    def claim_due_timers(
        self, now: datetime, limit: int, owner: str, lease_until: datetime
    ) -> list[Timer]:
        with self._lock:
            claimed = []
            held_cases: set[str] = set()  # an earlier timer is another runner's: keep order
            for timer in self.due_timers(now, len(self._timers)):
                holder = self._leases.get(timer.id)
                if timer.case_id in held_cases:
                    continue
                if holder is not None and holder[1] > now and holder[0] != owner:
                    held_cases.add(timer.case_id)
                    continue
                self._leases[timer.id] = (owner, lease_until)
                claimed.append(timer)
                if len(claimed) == limit:
                    break
            return claimed

    def due_timers(self, now: datetime, limit: int) -> list[Timer]:
        with self._lock:
            while self._due and self._due[0][1] not in self._timers:
                heapq.heappop(self._due)
            found: list[Timer] = []
            popped: list[tuple[datetime, int]] = []
            while self._due and len(found) < limit and self._due[0][0] <= now:
                entry = heapq.heappop(self._due)
                timer = self._timers.get(entry[1])
                if timer is not None:
                    popped.append(entry)
                    if _ready(timer, now):
                        found.append(timer)
            for entry in popped:
                heapq.heappush(self._due, entry)
            return found

    def workload(self, now: datetime) -> Workload:
        with self._lock:
            self._settle()
            due = [t.due_at for t in self._timers.values() if t.due_at <= now and _ready(t, now)]
            pending = [e for e in self._outbox.values() if e.status == "pending"]
            due_out = [e.next_attempt_at for e in pending if e.next_attempt_at <= now]
            return Workload(
                due_timers=len(due),
                oldest_due_timer=min(due, default=None),
                failed_timers=sum(t.status == "failed" for t in self._timers.values()),
                outbox_pending=len(pending),
                outbox_due=len(due_out),
                oldest_due_delivery=min(due_out, default=None),
                dead_deliveries=sum(e.status == "dead" for e in self._outbox.values()),
                open_dead_letters=sum(d.status == "open" for d in self._dead_letters.values()),
            )

    def timers(self, case_id: str) -> list[Timer]:
        with self._lock:
            ids = self._timers_by_case.get(case_id, ())
            return sorted((self._timers[i] for i in ids), key=lambda t: (t.due_at, t.id))

    def timer_failed(self, timer_id: int, error: str, retry_at: datetime | None) -> Timer | None:
        with self._lock:
            timer = self._timers.get(timer_id)
            if timer is None:
                return None
            self._leases.pop(timer_id, None)
            updated = timer._replace(
                status="failed" if retry_at is None else "retrying",
                attempts=timer.attempts + 1,
                last_error=error,
                retry_at=retry_at,
            )
            self._timers[timer_id] = updated
            return updated

    def failed_timers(self) -> list[Timer]:
        with self._lock:
            failed = (t for t in self._timers.values() if t.status == "failed")
            return sorted(failed, key=lambda t: (t.due_at, t.id))

    def release_timer(self, timer_id: int) -> bool:
        with self._lock:
            timer = self._timers.get(timer_id)
            if timer is None or timer.status != "failed":
                return False
            self._timers[timer_id] = timer._replace(status="pending", attempts=0, retry_at=None)
            return True

    def notifications(
        self, case_id: str | None = None, status: str | None = None
    ) -> list[Notification]:
        with self._lock:
            self._settle()
            return [
                n
                for n in self._notifications.values()
                if (case_id is None or n.case_id == case_id)
                and (status is None or n.status == status)
            ]

    # -- the outbox --

    def claim_deliveries(
        self, now: datetime, limit: int, owner: str, lease_until: datetime
    ) -> list[OutboxEntry]:
        with self._lock:
            self._settle()
            due = sorted(
                (
                    entry
                    for entry in self._outbox.values()
                    if entry.status == "pending"
                    and entry.next_attempt_at <= now
                    and self._lease_free(entry.id, now, owner)
                ),
                key=lambda entry: (entry.next_attempt_at, entry.id),
            )[:limit]
            for entry in due:
                self._outbox_leases[entry.id] = (owner, lease_until)
            return due

    def _lease_free(self, entry_id: int, now: datetime, owner: str) -> bool:
        lease = self._outbox_leases.get(entry_id)
        return lease is None or lease[1] <= now or lease[0] == owner

    def rewrite_delivery(self, entry_id: int, subject: str, body: str, locale: str) -> None:
        with self._lock:
            self._settle()
            entry = self._outbox[entry_id]
            self._outbox[entry_id] = entry._replace(subject=subject, body=body, locale=locale)

    def record_attempts(self, attempts: Sequence[Attempt]) -> None:
        with self._lock:
            for attempt in attempts:
                self.record_attempt(*attempt)

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
        with self._lock:
            self._settle()
            entry = self._outbox[entry_id]
            self._outbox[entry_id] = entry._replace(
                status=status,
                attempts=attempts,
                next_attempt_at=next_attempt_at or entry.next_attempt_at,
                last_error=error,
                reference=reference,
                delivered_at=at if status == "delivered" else None,
            )
            self._outbox_leases.pop(entry_id, None)
            siblings = [
                e.status
                for e in self._outbox.values()
                if e.notification_key == entry.notification_key
            ]
            overall = (
                "pending"
                if "pending" in siblings
                else "dead"
                if "dead" in siblings
                else "delivered"
            )
            notification = self._notifications.get(entry.notification_key)
            if notification is not None:
                self._notifications[entry.notification_key] = notification._replace(status=overall)

    def outbox(self, case_id: str | None = None, status: str | None = None) -> list[OutboxEntry]:
        with self._lock:
            self._settle()
            return [
                entry
                for entry in self._outbox.values()
                if (case_id is None or entry.case_id == case_id)
                and (status is None or entry.status == status)
            ]

    # -- inbound messages --

    def message_case(self, channel: str, message_id: str) -> str | None:
        with self._lock:
            found = self._messages.get((channel, message_id))
            return None if found is None else found[0]

    def thread_case(self, keys: Sequence[str]) -> str | None:
        with self._lock:
            candidates = [item for key in keys for item in self._threads.get(key, ())]
            return max(candidates)[2] if candidates else None

    def thread_cases(self, keys: Sequence[str]) -> list[str]:
        with self._lock:
            candidates = sorted(
                (item for key in keys for item in self._threads.get(key, ())), reverse=True
            )
            return list(dict.fromkeys(case_id for _, _, case_id in candidates))

    def sender_cases(self, sender: str) -> list[str]:
        with self._lock:
            latest: dict[str, datetime] = {}
            for case_id, who, at, _ in self._messages.values():
                if who == sender and (case_id not in latest or at > latest[case_id]):
                    latest[case_id] = at
            return sorted(latest, key=lambda case_id: latest[case_id], reverse=True)

    def case_messages(self, case_id: str) -> list[Mapping[str, Any]]:
        if not self._messages_of.get(case_id):
            return []  # (one look-up, atomic as it is: a case without messages takes no lock)
        with self._lock:
            keys = self._messages_of.get(case_id)
            if not keys:
                return []
            found = sorted((self._messages[key] for key in keys), key=itemgetter(2))
            return [message for _, _, _, message in found]

    # -- customers --

    def save_customer(self, customer: Customer) -> None:
        with self._lock:
            self._customers.save(customer)

    def load_customer(self, customer_id: str) -> Customer | None:
        with self._lock:
            return self._customers.get(customer_id)

    def customer_by_contact(self, channel: str, address: str) -> Customer | None:
        with self._lock:
            return self._customers.by_contact(channel, address)

    def pending_signals(self, limit: int) -> list[PendingSignal]:
        with self._lock:
            waiting = sorted(self._signals.values(), key=lambda s: (s.created_at, s.key))
        return waiting[:limit]

    def signal_done(self, key: str) -> None:
        with self._lock:
            self._signals.pop(key, None)

    def open_scope_case(self, scope: str) -> str | None:
        with self._lock:
            return self._customers.scope_holder(scope)

    def customer_case_counts(self, customer_id: str, since: datetime) -> Mapping[str, int]:
        with self._lock:
            counts: dict[str, int] = defaultdict(int)
            for case_id in self._customers.cases_of(customer_id):
                case = self._cases.get(case_id)
                if case is not None and case.created_at >= since:
                    counts[case.workflow] += 1
            return dict(counts)

    def case_customer(self, case_id: str) -> str | None:
        return self._customers.case_owner(case_id)  # (one look-up, atomic without the lock)

    def add_dead_letter(
        self, channel: str, raw: str, encoding: str, error: str, at: datetime, status: str = "open"
    ) -> int:
        with self._lock:
            letter = DeadLetter(
                id=next(self._ids),
                channel=channel,
                raw=raw,
                encoding=encoding,
                error=error,
                received_at=at,
                status=status,
            )
            self._dead_letters[letter.id] = letter
            return letter.id

    def dead_letters(
        self, status: str | None = None, *, after: int = 0, limit: int | None = None
    ) -> list[DeadLetter]:
        with self._lock:
            found = [
                d
                for d in sorted(self._dead_letters.values())
                if d.id > after and (status is None or d.status == status)
            ]
        return found if limit is None else found[:limit]

    def dead_letter(self, dead_letter_id: int) -> DeadLetter | None:
        with self._lock:
            return self._dead_letters.get(dead_letter_id)

    def purge_dead_letters(self, received_before: datetime) -> int:
        with self._lock:
            old = [i for i, d in self._dead_letters.items() if d.received_at < received_before]
            for dead_letter_id in old:
                del self._dead_letters[dead_letter_id]
            return len(old)

    def close_dead_letter(self, dead_letter_id: int, case_id: str) -> None:
        with self._lock:
            letter = self._dead_letters[dead_letter_id]
            self._dead_letters[dead_letter_id] = letter._replace(status="replayed", case_id=case_id)

    def purge_cases(self, case_ids: Sequence[str]) -> int:
        with self._lock:
            gone = {case_id for case_id in case_ids if case_id in self._cases}
            for case_id in gone:
                del self._cases[case_id]
                self._history.drop(case_id)
                for timer_id in self._timers_by_case.get(case_id, ()):
                    self._drop_timer(timer_id)
                self._customers.forget_case(case_id)
            self._drop_case_rows(gone)
            return len(gone)

    def _drop_case_rows(self, gone: set[str]) -> None:
        """Drop the rows of the cases in ``gone`` that are not keyed by case."""
        self._settle()
        self._due = [(due, i) for due, i in self._due if i in self._timers]
        heapq.heapify(self._due)
        self._notifications = {
            k: n for k, n in self._notifications.items() if n.case_id not in gone
        }
        self._idempotency = {k: r for k, r in self._idempotency.items() if r.case.id not in gone}
        for entry_id in [i for i, e in self._outbox.items() if e.case_id in gone]:
            del self._outbox[entry_id]
            self._outbox_leases.pop(entry_id, None)
        self._forget_messages(gone)
        self._refusals = [r for r in self._refusals if r.case_id not in gone]

    def _forget_messages(self, gone: set[str]) -> None:
        """Drop the inbound messages of the cases in ``gone`` and their thread keys."""
        for case_id in gone:
            for key in self._messages_of.pop(case_id, ()):
                del self._messages[key]
        self._drop_threads(gone)

    def customer_cases(self, customer_id: str) -> list[str]:
        with self._lock:
            return self._customers.cases_of(customer_id)

    def erase_customer(
        self,
        customer_id: str,
        cases: Sequence[Case],
        entries: Sequence[HistoryEntry],
        marker: str,
        dead_letters: Sequence[int] = (),
    ) -> int:
        with self._lock:
            for case in cases:
                current = self._cases.get(case.id)
                if current is None or current.revision != case.revision - 1:
                    raise ConcurrencyConflict(
                        case.id, case.revision - 1, None if current is None else current.revision
                    )
            gone = {case.id for case in cases}
            before = len(self._messages)
            self._forget_messages(gone)
            self._idempotency = {
                k: r for k, r in self._idempotency.items() if r.case.id not in gone
            }
            for case in cases:
                self._cases[case.id] = case
            for entry in entries:
                self._history.write(entry)
            for case_id in dict.fromkeys(entry.case_id for entry in entries):
                self._history.prune(case_id)
            self._erase_deliveries(gone, marker)
            self._customers.forget_contacts(customer_id)
            self._signals = {k: s for k, s in self._signals.items() if s.customer_id != customer_id}
            for letter in dead_letters:
                if letter in self._dead_letters:
                    self._dead_letters[letter] = self._dead_letters[letter]._replace(
                        raw=marker, encoding=ERASED_LETTER, status=ERASED_LETTER
                    )
            return before - len(self._messages)

    def _erase_deliveries(self, gone: set[str], marker: str) -> None:
        self._settle()
        for entry_id, entry in list(self._outbox.items()):
            if entry.case_id in gone:
                pending = entry.status == "pending"
                to_customer = entry.role == "customer"
                self._outbox[entry_id] = entry._replace(
                    address=marker if to_customer else entry.address,
                    name=None if to_customer else entry.name,
                    subject=marker,
                    body=marker,
                    status="dead" if pending else entry.status,
                    last_error=ERASED_DELIVERY if pending else entry.last_error,
                )

    def _drop_threads(self, gone: set[str]) -> None:
        for key, items in list(self._threads.items()):
            kept = [item for item in items if item[2] not in gone]
            if kept:
                self._threads[key] = kept
            else:
                del self._threads[key]

    def add_refusal(self, refusal: Refusal) -> None:
        with self._lock:
            self._refusals.append(refusal)

    def refusals(self, case_id: str | None = None) -> list[Refusal]:
        with self._lock:
            return [r for r in self._refusals if case_id is None or r.case_id == case_id]
