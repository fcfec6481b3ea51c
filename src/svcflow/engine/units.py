"""Units of work: the one :class:`~svcflow.store.base.CaseChange` each event commits.

Every event (start, fire, a due timer, a recorded message, a deadline recomputation) ends the
same way: the case after the step, its history entry, the timers, notifications and outbox rows
the step asked for, the inbound messages it consumed and the idempotency record, committed in
one store transaction. :class:`CaseWriter` builds that change from a
:class:`~svcflow.core.effects.StepResult` and commits it; after a commit it tells the listener
plugins. A retried event with the same idempotency key is answered with the first result.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from contextvars import ContextVar
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, NamedTuple

from svcflow.clock import Clock, as_utc, iso_text
from svcflow.core.effects import NotificationRequest, StepResult
from svcflow.core.machine import CompiledWorkflow
from svcflow.engine.counters import EngineCounters
from svcflow.engine.registry import WorkflowRegistry
from svcflow.errors import CaseNotFound, IdempotencyKeyReused
from svcflow.hooks.host import PluginHost
from svcflow.hooks.types import InboundMessage
from svcflow.messaging.notifier import NO_AUDIENCE, Audience, Notifier
from svcflow.records import NO_DETAILS, Case, HistoryEntry, PendingSignal, plain
from svcflow.store.base import (
    CaseChange,
    IdempotencyRecord,
    IdempotentReplay,
    NewDelivery,
    NewMessage,
    NewNotification,
    NewTimer,
    Store,
)

__all__ = [
    "CaseWriter",
    "Event",
    "advanced",
    "fingerprint",
    "history_entry",
    "scope_key",
    "transition_entry",
]


def scope_key(workflow: str, customer_id: str) -> str:
    """The key the open case of a customer-scoped workflow holds for its customer."""
    return f"{workflow}|{customer_id}"


class Event(NamedTuple):
    """Who did what to a case, for its history entry: ``kind`` is ``started``, ``transition``,
    ``timer``, ``message``...; ``payload`` what the caller gave; ``extra`` more details."""

    actor: str
    kind: str
    trigger: str | None = None
    from_state: str | None = None
    payload: Any = None
    extra: Mapping[str, Any] | None = None


def advanced(case: Case, result: StepResult, now: datetime) -> Case:
    """The case after a step: new state, data and SLA state, one revision on, updated ``now``.
    Built with ``tuple.__new__``, every event (the keyword ``__new__`` costs about 1.2 kIr
    more); the fields in ``Case``'s order."""
    fields = (
        case.id,
        case.workflow,
        case.version,
        result.target,  # state
        MappingProxyType(result.data) if result.changed else case.data,
        case.revision + 1,
        case.created_at,
        now,  # updated_at
        case.sla if result.service is None else MappingProxyType(result.service),
    )
    return tuple.__new__(Case, fields)


def history_entry(case: Case, at: datetime, event: Event, result: StepResult) -> HistoryEntry:
    """The history entry of a step: what it set, scheduled, cancelled, notified and noted, so
    that the history alone tells everything that happened to the case."""
    details = _step_details(event.kind, event.payload, result)
    if event.extra:
        details.update(event.extra)
    return _entry(
        case, at, event.actor, event.kind, event.trigger, event.from_state, event.payload, details
    )


def transition_entry(
    case: Case,
    at: datetime,
    actor: str,
    trigger: str,
    from_state: str,
    payload: Any,
    result: StepResult,
) -> HistoryEntry:
    """:func:`history_entry` of a fired trigger (``Event(actor, "transition", trigger,
    from_state, payload)``), without the ``Event`` record: the entry every ``fire`` writes."""
    details = _step_details("transition", payload, result)
    return _entry(case, at, actor, "transition", trigger, from_state, payload, details)


def _entry(
    case: Case,
    at: datetime,
    actor: str,
    kind: str,
    trigger: str | None,
    from_state: str | None,
    payload: Any,
    details: dict[str, Any],
) -> HistoryEntry:
    """The entry of ``case`` as a step left it (its new state, revision and version). Built
    with ``tuple.__new__``, every event (the keyword ``__new__`` costs about 1.4 kIr more)."""
    fields = (
        case.id,  # case_id
        case.revision,  # seq
        at,
        actor,
        kind,
        trigger,
        from_state,
        case.state,  # to_state
        payload,
        case.version,
        details or NO_DETAILS,
    )
    return tuple.__new__(HistoryEntry, fields)


def _with_warnings(entry: HistoryEntry, deliveries: Sequence[NewDelivery]) -> HistoryEntry:
    """``entry`` with the errors of the rows that reach nobody as its ``warnings``, after its
    other details. A fresh entry's details (the dict :func:`history_entry` made for it) take
    them in place: no second record."""
    warnings = []
    for row in deliveries:
        if row.status == "undeliverable" and row.error:
            warnings.append(row.error)
    if not warnings:
        return entry
    if type(entry.details) is dict:
        entry.details["warnings"] = warnings
        return entry
    return _with_details(entry, {**entry.details, "warnings": warnings})


def _with_details(entry: HistoryEntry, details: Mapping[str, Any]) -> HistoryEntry:
    """``entry`` with other ``details`` (``_replace`` maps over every field in Python: about
    twice the cost of building the record again)."""
    return HistoryEntry.__new__(
        HistoryEntry,
        case_id=entry.case_id,
        seq=entry.seq,
        at=entry.at,
        actor=entry.actor,
        kind=entry.kind,
        trigger=entry.trigger,
        from_state=entry.from_state,
        to_state=entry.to_state,
        payload=entry.payload,
        version=entry.version,
        details=details,
    )


def _step_details(kind: str, payload: Any, result: StepResult) -> dict[str, Any]:
    """The details of a step's entry of ``kind``: what it set, then its effects."""
    details: dict[str, Any] = {}
    if result.changed:
        _add_data_details(details, kind, payload, result)
    _add_effect_details(details, result)
    return details


def _add_data_details(details: dict[str, Any], kind: str, payload: Any, result: StepResult) -> None:
    """``set``: the fields the step set; when a case starts, only those its starter did not
    give (defaults and ``on_enter`` values)."""
    if kind != "started":
        details["set"] = plain(result.changed)
        return
    given = payload if isinstance(payload, Mapping) else {}
    derived = {}
    for name, value in result.changed.items():  # (unset fields, most of them, not made plain)
        if value is not None:
            value = plain(value)
            if given.get(name) != value:
                derived[name] = value
    if derived:
        details["set"] = derived


def _add_effect_details(details: dict[str, Any], result: StepResult) -> None:
    """The effects, in this order: ``timers``, ``left``, ``cancelled``, ``notifications``,
    ``notes``, ``sla`` (each only when there is one). (Loops, not comprehensions: an event
    has one or two of each, and a comprehension is a function call of its own.)"""
    replaced: set[str] | tuple[()] = ()
    if result.timers:
        replaced = set()
        scheduled = []
        for t in result.timers:
            scheduled.append({"trigger": t.trigger, "due_at": iso_text(t.due_at), "keep": t.keep})
            replaced.add(t.trigger)
        details["timers"] = scheduled
    if result.left_state is not None:
        details["left"] = result.left_state
    if result.cancel_triggers:
        cancelled: list[str] = []
        for trigger in result.cancel_triggers:
            if trigger not in replaced and trigger not in cancelled:
                cancelled.append(trigger)
        if cancelled:
            details["cancelled"] = cancelled
    if result.notifications:
        notified = []
        for n in result.notifications:
            notified.append({"template": n.template, "to": list(n.recipients)})
        details["notifications"] = notified
    if result.notes:
        details["notes"] = list(result.notes)
    if result.service_events:
        details["sla"] = list(result.service_events)


class CaseWriter:
    """Builds and commits the change of each event; shared by every part of the engine.

    ``pending_messages`` lets the directory plugin see the inbound messages being committed
    with a change while its notifications are rendered (a case started from a message can
    answer its sender at once).
    """

    def __init__(
        self,
        store: Store,
        clock: Clock,
        plugins: PluginHost,
        notifier: Notifier,
        registry: WorkflowRegistry | None = None,
    ):
        self.store, self.clock, self.plugins, self.notifier = store, clock, plugins, notifier
        self.registry = registry
        self.after_commit: list[Callable[[CaseChange], None]] = []
        """Called after each commit with the change (signals between workflows)."""
        self.raise_signals: Callable[[CaseChange], Sequence[PendingSignal]] | None = None
        """The signals an event raises, written with it (``CaseChange.signals``)."""
        self.counters = EngineCounters()
        self._listening = plugins.has_listeners()  # (plugins are fixed once the host starts)
        self._committing: ContextVar[tuple[tuple[NewMessage, ...], bool]] = ContextVar(
            "svcflow_committing_messages", default=((), False)
        )

    def now(self) -> datetime:
        moment = self.clock.now()
        return moment if moment.tzinfo is UTC else as_utc(moment)

    def get(self, case_id: str) -> Case:
        case = self.store.load_case(case_id)
        if case is None:
            raise CaseNotFound(case_id)
        return case

    def pending_messages(self) -> tuple[NewMessage, ...]:
        return self._committing.get()[0]

    def committing(self) -> tuple[tuple[NewMessage, ...], bool]:
        """:meth:`pending_messages` and :meth:`committing_new_case` in one look-up."""
        return self._committing.get()

    def committing_new_case(self) -> bool:
        """Whether the change being committed starts its case (whose stored messages, customer
        and history are none yet)."""
        return self._committing.get()[1]

    def replayed(self, key: str, scope: str, request: Mapping[str, str]) -> Case | None:
        """The first result of an event already committed with this idempotency key
        (``IdempotencyKeyReused`` unless it was the same request: see ``fingerprint``)."""
        record = self.store.idempotency(key)
        return None if record is None else first_result(record, scope, request)

    def change(
        self,
        case: Case,
        expected_revision: int | None,
        entry: HistoryEntry,
        result: StepResult,
        *,
        idempotency: tuple[str | None, str] = (None, ""),
        consume_timer: int | None = None,
        messages: tuple[NewMessage, ...] = (),
        customer_id: str | None = None,
        request: Mapping[str, str] | None = None,
        compiled: CompiledWorkflow | None = None,
    ) -> CaseChange:
        """The change a step makes; ``idempotency`` is the event's key and scope, ``request``
        the fingerprint of what was asked (kept with the key); ``customer_id`` the owner of a
        new case; ``compiled`` the case's workflow version when the caller has it at hand. A
        notice that reaches nobody leaves a warning in the history entry."""
        key, scope = idempotency
        notifications: list[NewNotification] = []
        deliveries: list[NewDelivery] = []
        if result.notifications:
            new = expected_revision is None
            notifications, deliveries = self._outbox(case, result, messages, customer_id, new)
            entry = _with_warnings(entry, deliveries)
        open_scope, release = (
            (None, False)
            if compiled is not None and compiled.spec.scope != "customer"
            else self._scope(case, expected_revision, customer_id, compiled)
        )
        change = CaseChange.__new__(
            CaseChange,
            case=case,
            expected_revision=expected_revision,
            history=entry,
            timers=_new_timers(result, case.state) if result.timers else (),
            cancel_owned_by=result.left_state,
            cancel_triggers=result.cancel_triggers,
            consume_timer=consume_timer,
            notifications=notifications,
            deliveries=deliveries,
        )
        if key is not None or messages or customer_id is not None or open_scope or release:
            # (set only when an event has them: each keyword costs about 0.6 kIr)
            change = change._replace(
                idempotency_key=key,
                idempotency_scope=scope if key else None,
                idempotency_fingerprint=request if key else None,
                messages=messages,
                customer_id=customer_id,
                open_scope=open_scope,
                release_scope=release,
            )
        signals = self.raise_signals(change) if self.raise_signals is not None else ()
        return change._replace(signals=tuple(signals)) if signals else change

    def _scope(
        self,
        case: Case,
        expected_revision: int | None,
        customer_id: str | None,
        compiled: CompiledWorkflow | None,
    ) -> tuple[str | None, bool]:
        """The customer-scoped key a new open case holds, and whether the case releases it
        (it reached a final state); nothing for a workflow that is not customer-scoped."""
        if compiled is None:
            if self.registry is None:
                return None, False
            compiled = self.registry.get(case.workflow, case.version)
        spec = compiled.spec
        if spec.scope != "customer":
            return None, False
        final = spec.states[case.state].final
        if expected_revision is None:
            owner = None if customer_id is None else scope_key(case.workflow, customer_id)
            return (None if final else owner), False
        return None, final

    def commit(self, change: CaseChange) -> Case:
        """Commit an event's change and tell the listeners; a racing retry with the same
        idempotency key is answered with its first result."""
        try:
            self.store.commit(change)
        except IdempotentReplay as replay:
            request = change.idempotency_fingerprint
            return first_result(replay.record, change.idempotency_scope or "", request)
        self.committed(change)
        return change.case

    def committed(self, change: CaseChange) -> None:
        """After a commit: count it, tell listener plugins (their failures are logged, never
        raised)."""
        self.counters.committed(change.case, change.history)
        if self._listening:
            self.plugins.case_changed(change.case, change.history)
        for listener in self.after_commit:
            listener(change)

    def _outbox(
        self,
        case: Case,
        result: StepResult,
        messages: tuple[NewMessage, ...],
        customer_id: str | None,
        new: bool,
    ) -> tuple[list[NewNotification], list[NewDelivery]]:
        """The step's notifications and their rows per recipient; ``new``: the change starts
        the case (the store knows nothing of it yet: its owner is ``customer_id``)."""
        owner = customer_id if new else customer_id or self.store.case_customer(case.id)
        audience = (
            NO_AUDIENCE
            if owner is None and not messages
            else Audience(
                customer=None if owner is None else self.store.load_customer(owner),
                message=InboundMessage.from_variables(messages[-1].message) if messages else None,
            )
        )
        notifications: list[NewNotification] = []
        deliveries: list[NewDelivery] = []
        # (what the directory sees: set only when it differs from the default)
        token = self._committing.set((messages, new)) if messages or new else None
        try:
            for index, request in enumerate(result.notifications, start=1):
                key = f"{case.id}:{case.revision}:{index}"
                rows = self.notifier.deliveries(case, key, request, case.updated_at, audience)
                notifications.append(_notification(key, request, rows))
                deliveries.extend(rows)
        finally:
            if token is not None:
                self._committing.reset(token)
        return notifications, deliveries


def _new_timers(result: StepResult, state: str) -> list[NewTimer]:
    """The timers a step schedules, owned by the state it leaves the case in."""
    timers = []
    for trigger, due_at, keep, nominal in result.timers:  # (a loop: a comprehension is a call)
        # (without the named tuple's ``__new__``: about 1.4 kIr a timer)
        timers.append(tuple.__new__(NewTimer, (trigger, due_at, state, keep, nominal)))
    return timers


def _notification(
    key: str, request: NotificationRequest, rows: Sequence[NewDelivery]
) -> NewNotification:
    """A notification of the step; one whose every row failed already (nobody to reach, a
    template error) is ``undeliverable`` or ``dead`` from the start, not pending for ever."""
    status = "undeliverable"
    for number, row in enumerate(rows):  # (a loop: a set comprehension is a call of its own)
        if row.status == "pending":
            status = "pending"
            break
        if number == 0 or row.status < status:
            status = row.status
    return NewNotification.__new__(
        NewNotification,
        key=key,
        template=request.template,
        recipients=request.recipients,
        channel=request.channel,
        urgent=request.urgent,
        deliver_after=request.hold_until,
        status=status,
    )


def first_result(
    record: IdempotencyRecord, scope: str, request: Mapping[str, str] | None = None
) -> Case:
    """The first result of an idempotent event, unless the key was used for another event
    or for the same event with another request (Stripe's rule)."""
    if record.scope != scope:
        raise IdempotencyKeyReused(
            record.key, _describe_scope(record.scope), _describe_scope(scope)
        )
    if record.fingerprint and request:
        first = record.fingerprint
        differs = [part for part, digest in request.items() if first.get(part) != digest]
        if differs:
            described = _describe_scope(scope)
            raise IdempotencyKeyReused(record.key, described, described, differs)
    return record.case


def fingerprint(**parts: Any) -> dict[str, str]:
    """A digest of each part of a request (actor, payload, data): what an idempotency key
    promises will be the same when the request is retried."""
    return {
        name: hashlib.sha256(
            json.dumps(plain(value), sort_keys=True, default=str, ensure_ascii=False).encode()
        ).hexdigest()[:32]
        for name, value in parts.items()
    }


def _describe_scope(scope: str) -> str:
    kind, _, rest = scope.partition(":")
    if kind == "start":
        return f"starting a '{rest}' case"
    case_id, _, trigger = rest.partition(":")
    return f"trigger '{trigger}' on case {case_id}"
