"""Intake: an inbound payload in, a case started, answered or recorded out.

:class:`MessageIntake` does what ``Engine.ingest`` promises: the channel plugin parses the raw
payload, a message seen before is answered with its case, matcher plugins find an existing case
(a case id in the message, then reply threading), classifiers add kind, category and sentiment,
and then the workflow's ``intake.reply`` trigger fires on the case, the message is recorded on
it, or a new case starts. A payload nothing can take is kept as a dead letter with the reason.

It does not import the engine: the engine hands it :class:`CaseOperations` (start a case with
these messages, fire a trigger with them, record a message on a case) and the read-only
:class:`Workflows` registry, so every case change still goes through the engine's one unit of
work. The helpers below are pure or read-only: the values a workflow's ``intake`` section
computes from a message, the store-backed ``CaseLookup`` matchers get, and how a raw payload is
kept as text in the dead-letter table and restored for a replay.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from svcflow.core.machine import CompiledWorkflow
from svcflow.definitions.workflow import LoadedWorkflow
from svcflow.errors import (
    CaseDataError,
    ConcurrencyConflict,
    DeadLetterErased,
    ExpressionError,
    MessageHeld,
    MessageParseError,
    MessageRejected,
    PluginError,
    StoreBusy,
    StoreFault,
    TransitionNotAllowed,
    UnknownChannel,
)
from svcflow.hooks.host import PluginHost
from svcflow.hooks.types import Assignment, CaseLookup, InboundMessage
from svcflow.messaging.customers import Customers, customer_variables, sender_customer
from svcflow.messaging.limits import IntakeLimits, LimitExceeded, check_raw, raw_bytes
from svcflow.records import Case, ContactPoint, Customer, plain
from svcflow.store.base import (
    ERASED_LETTER,
    DuplicateMessage,
    NewMessage,
    Store,
    dedupe_key,
    thread_key,
)

__all__ = [
    "Assignment",
    "CaseLookup",
    "CaseOperations",
    "Intake",
    "MessageIntake",
    "StoreLookup",
    "Workflows",
    "dead_letter_text",
    "intake_values",
    "payload_of",
    "restore_raw",
]


class Workflows(Protocol):
    """The workflow versions intake reads: the newest of each, and any version by number."""

    @property
    def current(self) -> Mapping[str, CompiledWorkflow]: ...

    def newest(self, workflow: str) -> CompiledWorkflow: ...

    def get(self, workflow: str, version: int) -> CompiledWorkflow: ...


@dataclass(frozen=True, slots=True)
class CaseOperations:
    """What intake asks of the engine; each change is one unit of work that also records
    ``messages`` (the inbound message that caused it)."""

    now: Callable[[], datetime]
    get: Callable[[str], Case]
    start: Callable[[str, Mapping[str, Any], str, tuple[NewMessage, ...], str | None], Case]
    """(workflow, data, actor, messages, customer id) -> the new case."""
    fire: Callable[[str, str, Mapping[str, Any], str, tuple[NewMessage, ...]], Case]
    """(case id, trigger, payload, actor, messages) -> the case after the transition."""
    record: Callable[[Case, NewMessage, str, datetime, Mapping[str, Any]], Case]
    """(case, message, actor, now, history details) -> the case with the message recorded."""


@dataclass(frozen=True, slots=True)
class Intake:
    """What ``Engine.ingest`` did with a message.

    ``outcome`` is ``started`` (a new case), ``replied`` (the workflow's reply ``trigger`` fired
    on an existing case), ``recorded`` (kept on an existing case whose state does not take the
    reply trigger) or ``duplicate`` (seen before; nothing changed). ``case`` is the case after.
    """

    case: Case
    message: InboundMessage
    outcome: str
    trigger: str | None = None


class StoreLookup:
    """The ``CaseLookup`` the engine gives matcher plugins for one message: answers from the
    store, limited to what the message's sender (``customer``, when known) may reach."""

    def __init__(
        self,
        store: Store,
        workflows: Workflows,
        message: InboundMessage,
        customer: Customer | None,
        family: str | None = None,
    ) -> None:
        self._store, self._workflows = store, workflows
        self._message, self._customer = message, customer
        self._family = family or message.channel

    def case_of_message(self, channel: str, message_id: str) -> str | None:
        return self._store.message_case(channel, dedupe_key(self._message.sender, message_id))

    def case_of_thread(self, refs: Iterable[str]) -> str | None:
        return next(filter(self.may_join, self.threaded_cases(refs)), None)

    def threaded_cases(self, refs: Iterable[str]) -> list[str]:
        """Every case an earlier message of this channel family with one of ``refs`` went to."""
        family = self._family
        return self._store.thread_cases([thread_key(family, ref) for ref in refs])

    def may_join(self, case_id: str) -> bool:
        owner = self._store.case_customer(case_id)
        if owner is not None:
            return self._customer is not None and self._customer.id == owner
        message = self._message
        return any(
            earlier.get("sender") == message.sender and earlier.get("channel") == message.channel
            for earlier in self._store.case_messages(case_id)
        )

    def claimed_case(self) -> str | None:
        """A case the message names (``case_ref``) or threads into but may not join."""
        named = self._message.case_ref
        if named is not None and self._store.load_case(named) is not None:
            return named
        return next(iter(self.threaded_cases(self._message.thread_refs)), None)

    def open_cases_of(self, sender: str) -> list[Case]:
        found = []
        for case_id in self._store.sender_cases(sender):
            case = self._store.load_case(case_id)
            if case is None:
                continue
            spec = self._workflows.get(case.workflow, case.version).spec
            if not spec.states[case.state].final:
                found.append(case)
        return found

    def get(self, case_id: str) -> Case | None:
        return self._store.load_case(case_id)


def payload_of(
    loaded: LoadedWorkflow,
    section: str,
    message: InboundMessage,
    now: datetime,
    customer: Customer | None = None,
) -> dict[str, Any]:
    """The values of ``intake.<section>`` (``data`` or ``payload``) for ``message`` from the
    case's ``customer``."""
    intake = loaded.spec.intake
    if intake is None:
        return {}
    variables = {
        "message": message.as_variables(),
        "now": now,
        "customer": customer_variables(customer),
    }
    return {
        name: loaded.expressions[("intake", section, name)].evaluate(variables)
        for name in getattr(intake, section)
    }


def intake_values(
    compiled: CompiledWorkflow,
    message: InboundMessage,
    plugins: PluginHost,
    now: datetime,
    customer: Customer | None = None,
) -> dict[str, Any]:
    """The data a case starts with from ``message``: ``intake.data``, then the assignment
    plugin's queue and assignee for declared fields the mapping left unset."""
    data = payload_of(compiled.loaded, "data", message, now, customer)
    declared = compiled.spec.data
    if ("queue" in declared and "queue" not in data) or (
        "assignee" in declared and "assignee" not in data
    ):
        chosen = plugins.choose_assignee(message, compiled.workflow)
        if chosen is not None:
            for name in ("queue", "assignee"):
                value = getattr(chosen, name)
                if value is not None and name in declared and name not in data:
                    data[name] = value
    return data


def dead_letter_text(raw: Any) -> tuple[str, str]:
    """A raw payload as text for the dead-letter table, and how it was encoded: UTF-8 text as
    is, other bytes as base64, JSON-able data as JSON, anything else as its ``repr``."""
    if isinstance(raw, bytes | bytearray):
        try:
            return bytes(raw).decode("utf-8"), "bytes-utf8"
        except UnicodeDecodeError:
            return base64.b64encode(bytes(raw)).decode("ascii"), "base64"
    if isinstance(raw, str):
        return raw, "text"
    try:
        return json.dumps(raw, ensure_ascii=False, default=str), "json"
    except (TypeError, ValueError):
        return repr(raw), "repr"


def restore_raw(text: str, encoding: str) -> Any:
    """The payload a dead letter was made from (see ``dead_letter_text``)."""
    if encoding == "bytes-utf8":
        return text.encode("utf-8")
    if encoding == "base64":
        return base64.b64decode(text)
    if encoding == "json":
        return json.loads(text)
    return text


Reject = Callable[..., MessageRejected]
TRUNCATED = "truncated-"
"""Prefix of a dead letter's encoding when it keeps only the start of an oversized payload."""

INGEST_ATTEMPTS = 5
"""How often ``ingest`` tries a message whose case another writer changed meanwhile (or while
the store was busy) before it keeps it as a dead letter."""


@dataclass(frozen=True, slots=True)
class _Refusal:
    """Refuses one payload: kept as a dead letter (``open``, or ``held`` for an agent) first,
    unless a dead letter is being replayed."""

    store: Store
    channel: str
    raw: Any
    now: datetime
    keep: bool

    kept_bytes: int

    def __call__(self, reason: str, oversized: bool = False) -> MessageRejected:
        return MessageRejected(self.channel, reason, self._keep(reason, "open", oversized))

    def hold(self, reason: str) -> MessageHeld:
        return MessageHeld(self.channel, reason, self._keep(reason, "held", False))

    def _keep(self, reason: str, status: str, oversized: bool) -> int:
        if not self.keep:
            return 0
        if oversized:
            text, encoding = dead_letter_text((raw_bytes(self.raw) or b"")[: self.kept_bytes])
            encoding = TRUNCATED + encoding
        else:
            text, encoding = dead_letter_text(self.raw)
        return self.store.add_dead_letter(self.channel, text, encoding, reason, self.now, status)


@dataclass(frozen=True, slots=True)
class _Sender:
    """Who sent a message: as a contact point, and the customer it is (``None``: unknown)."""

    point: ContactPoint
    customer: Customer | None


def _record(message: InboundMessage, key: str, now: datetime, family: str) -> NewMessage:
    """The message as recorded with its case: under its dedupe key, its id and thread
    references as thread keys of its channel ``family`` (its sender's contact channel)."""
    refs = dict.fromkeys((message.message_id, *message.thread_refs))
    return NewMessage(
        channel=message.channel,
        message_id=key,
        sender=message.sender,
        thread_keys=tuple(thread_key(family, ref) for ref in refs),
        received_at=message.received_at or now,
        message=plain(message.as_variables()),
    )


class MessageIntake:
    """Takes inbound payloads for an engine (see ``Engine.ingest`` for the rules)."""

    def __init__(
        self,
        store: Store,
        plugins: PluginHost,
        workflows: Workflows,
        cases: CaseOperations,
        limits: IntakeLimits | None = None,
        *,
        customers: Customers | None = None,
        content_window: timedelta = timedelta(minutes=10),
    ) -> None:
        self.store, self.plugins, self.workflows, self.cases = store, plugins, workflows, cases
        self.limits = limits or IntakeLimits()
        self.customers = customers or Customers(store)
        self.content_window = content_window

    def ingest(
        self,
        channel: str,
        raw: Any,
        workflow: str | None,
        actor: str | None,
        *,
        keep_dead_letter: bool = True,
    ) -> Intake:
        """Take one message, retrying a conflict with another writer (or a busy store) up to
        ``INGEST_ATTEMPTS`` times; a message that still cannot be taken, or meets a store
        fault, is kept as a dead letter (``MessageRejected``). Only when even the dead letter
        cannot be written does the store's error (``StoreFull``...) reach the caller, which
        must then offer the message again: it is never silently dropped."""
        failure: StoreFault | ConcurrencyConflict | None = None
        for _ in range(INGEST_ATTEMPTS):
            try:
                return self._ingest_once(channel, raw, workflow, actor, keep_dead_letter)
            except (ConcurrencyConflict, StoreBusy) as error:
                failure = error
            except StoreFault as error:
                raise self._kept(channel, raw, keep_dead_letter, str(error), error) from error
        reason = f"gave up after {INGEST_ATTEMPTS} attempts: {failure}"
        raise self._kept(channel, raw, keep_dead_letter, reason, failure) from failure

    def _kept(
        self, channel: str, raw: Any, keep: bool, reason: str, error: Exception | None
    ) -> Exception:
        """The error for a message the store could not take: rejected and kept as a dead
        letter, or the store's own error when even that cannot be written."""
        try:
            return self._rejecter(channel, raw, self.cases.now(), keep)(reason)
        except StoreFault:
            return error or StoreFault("?", reason)

    def _ingest_once(
        self, channel: str, raw: Any, workflow: str | None, actor: str | None, keep: bool
    ) -> Intake:
        now = self.cases.now()
        reject = self._rejecter(channel, raw, now, keep)
        try:
            check_raw(raw, self.limits)
        except LimitExceeded as error:
            raise reject(error.reason, error.oversized) from None
        message = self._parse(channel, raw, reject)
        if len(message.thread_refs) > self.limits.max_references:
            raise reject(
                f"the message refers to {len(message.thread_refs):,} earlier messages, more "
                f"than the limit of {self.limits.max_references:,} "
                "(IntakeLimits.max_references)"
            )
        keys = self._dedupe_keys(message, now)
        earlier = next(filter(None, (self.store.message_case(channel, k) for k in keys)), None)
        if earlier is not None:
            return Intake(self.cases.get(earlier), message, "duplicate")
        try:
            point, customer = sender_customer(self.plugins, self.store, message)
            lookup = StoreLookup(self.store, self.workflows, message, customer, point.channel)
            matched = self.plugins.match_case(message, lookup)
            message = self.plugins.classify(message)
        except Exception as error:
            raise reject(f"a plugin failed: {type(error).__name__}: {error}") from error
        if matched is not None and not lookup.may_join(matched):
            matched = None
        record = _record(message, keys[0], now, point.channel)
        who = actor or f"{channel}:{message.sender}"
        try:
            if matched is not None:
                answered = self._answer(matched, message, record, who, now, reject, customer)
                if answered is not None:
                    return answered
            else:
                self._check_claim(lookup.claimed_case(), message, reject)
            sender = _Sender(point, customer)
            return self._open_case(message, record, workflow, who, reject, sender)
        except DuplicateMessage as duplicate:  # the same message, ingested concurrently
            return Intake(self.cases.get(duplicate.case_id), message, "duplicate")

    def _dedupe_keys(self, message: InboundMessage, now: datetime) -> list[str]:
        """The keys this message is a duplicate under, the one to record it with first: its id
        as this sender's; for an id made from the content (a form without a submission id),
        also within ``content_window`` of now, so the same text sent days later is new."""
        if not message.message_id.startswith("sha256:"):
            return [dedupe_key(message.sender, message.message_id)]
        window = int(self.content_window.total_seconds()) or 1
        slot = int(now.timestamp()) // window
        return [dedupe_key(message.sender, f"{message.message_id}@{at}") for at in (slot, slot - 1)]

    def _check_claim(self, claimed: str | None, message: InboundMessage, reject: _Refusal) -> None:
        """A message naming a case its sender may not join: held for an agent when that case's
        workflow says ``intake.unverified: hold``; otherwise it starts a case of its own."""
        if claimed is None:
            return
        case = self.cases.get(claimed)
        intake = self.workflows.get(case.workflow, case.version).spec.intake
        if intake is None or intake.unverified != "hold":
            return
        reason = (
            f"it refers to case {claimed}, and its sender {message.channel} "
            f"'{message.sender}' is not a contact point of that case's customer"
        )
        raise reject.hold(reason)

    def replay_dead_letter(self, dead_letter_id: int, workflow: str | None) -> Intake:
        letter = self.store.dead_letter(dead_letter_id)
        if letter is None:
            raise MessageRejected("?", f"there is no dead letter #{dead_letter_id}", 0)
        if letter.status == ERASED_LETTER:
            raise DeadLetterErased(letter.channel, letter.id)
        if letter.encoding.startswith(TRUNCATED):
            raise MessageRejected(
                letter.channel,
                f"dead letter #{letter.id} keeps only the first part of an oversized payload "
                "and cannot be replayed; ask the sender for a smaller message",
                letter.id,
            )
        raw = restore_raw(letter.raw, letter.encoding)
        try:
            taken = self.ingest(letter.channel, raw, workflow, None, keep_dead_letter=False)
        except MessageRejected as again:
            raise MessageRejected(letter.channel, again.reason, letter.id) from None
        self.store.close_dead_letter(letter.id, taken.case.id)
        return taken

    def _rejecter(self, channel: str, raw: Any, now: datetime, keep: bool) -> _Refusal:
        """How this payload is refused: kept as a dead letter first (unless replaying one)."""
        return _Refusal(
            store=self.store,
            channel=channel,
            raw=raw,
            now=now,
            keep=keep,
            kept_bytes=self.limits.kept_bytes,
        )

    def _parse(self, channel: str, raw: Any, reject: Reject) -> InboundMessage:
        try:
            return self.plugins.parse(channel, raw)
        except (MessageParseError, UnknownChannel) as error:
            raise reject(str(error)) from None
        except Exception as error:
            raise reject(f"the channel plugin failed: {type(error).__name__}: {error}") from error

    def _answer(
        self,
        case_id: str,
        message: InboundMessage,
        record: NewMessage,
        actor: str,
        now: datetime,
        reject: Reject,
        customer: Customer | None,
    ) -> Intake | None:
        """A message on an existing case: its reply trigger, or recorded as is; None when the
        case is closed and the workflow cannot take the message there (a new case starts)."""
        case = self.cases.get(case_id)
        compiled = self.workflows.get(case.workflow, case.version)
        intake = compiled.loaded.spec.intake
        reason = "the workflow has no intake.reply trigger"
        if intake is not None and intake.reply is not None:
            try:
                payload = payload_of(compiled.loaded, "payload", message, now, customer)
                updated = self.cases.fire(case.id, intake.reply, payload, actor, (record,))
            except TransitionNotAllowed as refused:
                reason = str(refused)
            except (CaseDataError, ExpressionError, PluginError) as error:
                raise reject(f"cannot fire '{intake.reply}' on case {case.id}: {error}") from None
            else:
                return Intake(updated, message, "replied", intake.reply)
        if compiled.spec.states[case.state].final:
            return None
        details = {"channel": message.channel, "message_id": message.message_id, "note": reason}
        recorded = self.cases.record(case, record, actor, now, details)
        return Intake(recorded, message, "recorded")

    def _open_case(
        self,
        message: InboundMessage,
        record: NewMessage,
        workflow: str | None,
        actor: str,
        reject: Reject,
        sender: _Sender,
    ) -> Intake:
        chosen = workflow or self._starting_workflow(message, sender.customer, reject)
        compiled = self.workflows.newest(chosen)
        customer = sender.customer or self.customers.new_for(sender.point, message)
        try:
            data = intake_values(compiled, message, self.plugins, record.received_at, customer)
            case = self.cases.start(chosen, data, actor, (record,), customer.id)
        except (CaseDataError, ExpressionError, PluginError) as error:
            raise reject(f"cannot start a '{chosen}' case from the message: {error}") from None
        return Intake(case, message, "started")

    def _starting_workflow(
        self, message: InboundMessage, customer: Customer | None, reject: Reject
    ) -> str:
        """The workflow whose ``intake.start`` lists the message's kind and whose
        ``intake.when`` holds for it; of several, the highest ``precedence``, then by id."""
        current = self.workflows.current
        variables = {
            "message": message.as_variables(),
            "now": self.cases.now(),
            "customer": customer_variables(customer),
        }
        takers = []
        for name, compiled in current.items():
            intake = compiled.spec.intake
            if intake is None or message.kind not in intake.start:
                continue
            try:
                if _holds(compiled.loaded, variables):
                    takers.append((-intake.precedence, name))
            except ExpressionError as error:
                raise reject(f"intake.when of workflow '{name}' failed: {error}") from None
        if takers:
            return min(takers)[1]
        declared = sorted(
            f"{name} ({', '.join(c.spec.intake.start) or 'none'}"
            + (f"; when {c.spec.intake.when}" if c.spec.intake.when else "")
            + ")"
            for name, c in current.items()
            if c.spec.intake is not None
        )
        raise reject(
            f"no workflow starts cases from '{message.kind}' messages on channel "
            f"'{message.channel}'; workflows and the kinds they start from: "
            f"{', '.join(declared) or '(none declares intake)'}"
        )


def _holds(loaded: LoadedWorkflow, variables: Mapping[str, Any]) -> bool:
    """Whether the workflow's ``intake.when`` holds (true without one)."""
    if loaded.spec.intake is None or loaded.spec.intake.when is None:
        return True
    return bool(loaded.expressions[("intake", "when")].evaluate(dict(variables)))
