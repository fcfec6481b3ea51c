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
from datetime import datetime
from typing import Any, Protocol

from svcflow.core.machine import CompiledWorkflow
from svcflow.definitions.workflow import LoadedWorkflow
from svcflow.errors import (
    CaseDataError,
    ExpressionError,
    MessageParseError,
    MessageRejected,
    PluginError,
    TransitionNotAllowed,
    UnknownChannel,
)
from svcflow.hooks.host import PluginHost
from svcflow.hooks.types import Assignment, CaseLookup, InboundMessage
from svcflow.messaging.limits import IntakeLimits, LimitExceeded, check_raw, raw_bytes
from svcflow.records import Case, plain
from svcflow.store.base import DuplicateMessage, NewMessage, Store

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
    start: Callable[[str, Mapping[str, Any], str, tuple[NewMessage, ...]], Case]
    """(workflow, data, actor, messages) -> the new case."""
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
    """The ``CaseLookup`` the engine gives matcher plugins: answers from the store."""

    def __init__(self, store: Store, workflows: Workflows) -> None:
        self._store, self._workflows = store, workflows

    def case_of_message(self, channel: str, message_id: str) -> str | None:
        return self._store.message_case(channel, message_id)

    def case_of_thread(self, refs: Iterable[str]) -> str | None:
        return self._store.thread_case(list(refs))

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
    loaded: LoadedWorkflow, section: str, message: InboundMessage, now: datetime
) -> dict[str, Any]:
    """The values of ``intake.<section>`` (``data`` or ``payload``) for ``message``."""
    intake = loaded.spec.intake
    if intake is None:
        return {}
    variables = {"message": message.as_variables(), "now": now}
    return {
        name: loaded.expressions[("intake", section, name)].evaluate(variables)
        for name in getattr(intake, section)
    }


def intake_values(
    compiled: CompiledWorkflow, message: InboundMessage, plugins: PluginHost, now: datetime
) -> dict[str, Any]:
    """The data a case starts with from ``message``: ``intake.data``, then the assignment
    plugin's queue and assignee for declared fields the mapping left unset."""
    data = payload_of(compiled.loaded, "data", message, now)
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


class MessageIntake:
    """Takes inbound payloads for an engine (see ``Engine.ingest`` for the rules)."""

    def __init__(
        self,
        store: Store,
        plugins: PluginHost,
        workflows: Workflows,
        cases: CaseOperations,
        limits: IntakeLimits | None = None,
    ) -> None:
        self.store, self.plugins, self.workflows, self.cases = store, plugins, workflows, cases
        self.limits = limits or IntakeLimits()

    def ingest(
        self,
        channel: str,
        raw: Any,
        workflow: str | None,
        actor: str | None,
        *,
        keep_dead_letter: bool = True,
    ) -> Intake:
        now = self.cases.now()
        reject = self._rejecter(channel, raw, now, keep_dead_letter)
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
        earlier = self.store.message_case(channel, message.message_id)
        if earlier is not None:
            return Intake(self.cases.get(earlier), message, "duplicate")
        lookup = StoreLookup(self.store, self.workflows)
        try:
            matched = self.plugins.match_case(message, lookup)
            message = self.plugins.classify(message)
        except Exception as error:
            raise reject(f"a plugin failed: {type(error).__name__}: {error}") from error
        record = NewMessage(
            channel=channel,
            message_id=message.message_id,
            sender=message.sender,
            thread_keys=tuple(dict.fromkeys((message.message_id, *message.thread_refs))),
            received_at=message.received_at or now,
            message=plain(message.as_variables()),
        )
        who = actor or f"{channel}:{message.sender}"
        try:
            if matched is not None:
                answered = self._answer(matched, message, record, who, now, reject)
                if answered is not None:
                    return answered
            return self._open_case(message, record, workflow, who, reject)
        except DuplicateMessage as duplicate:  # the same message, ingested concurrently
            return Intake(self.cases.get(duplicate.case_id), message, "duplicate")

    def replay_dead_letter(self, dead_letter_id: int, workflow: str | None) -> Intake:
        letter = next((d for d in self.store.dead_letters() if d.id == dead_letter_id), None)
        if letter is None:
            raise MessageRejected("?", f"there is no dead letter #{dead_letter_id}", 0)
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

    def _rejecter(self, channel: str, raw: Any, now: datetime, keep: bool) -> Reject:
        """How this payload is refused: kept as a dead letter first (unless replaying one)."""

        def reject(reason: str, oversized: bool = False) -> MessageRejected:
            if not keep:
                return MessageRejected(channel, reason, 0)
            if oversized:
                kept = (raw_bytes(raw) or b"")[: self.limits.kept_bytes]
                text, encoding = dead_letter_text(kept)
                encoding = TRUNCATED + encoding
            else:
                text, encoding = dead_letter_text(raw)
            letter = self.store.add_dead_letter(channel, text, encoding, reason, now)
            return MessageRejected(channel, reason, letter)

        return reject

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
    ) -> Intake | None:
        """A message on an existing case: its reply trigger, or recorded as is; None when the
        case is closed and the workflow cannot take the message there (a new case starts)."""
        case = self.cases.get(case_id)
        compiled = self.workflows.get(case.workflow, case.version)
        intake = compiled.loaded.spec.intake
        reason = "the workflow has no intake.reply trigger"
        if intake is not None and intake.reply is not None:
            try:
                payload = payload_of(compiled.loaded, "payload", message, now)
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
    ) -> Intake:
        chosen = workflow or self._starting_workflow(message, reject)
        compiled = self.workflows.newest(chosen)
        try:
            data = intake_values(compiled, message, self.plugins, record.received_at)
            case = self.cases.start(chosen, data, actor, (record,))
        except (CaseDataError, ExpressionError, PluginError) as error:
            raise reject(f"cannot start a '{chosen}' case from the message: {error}") from None
        return Intake(case, message, "started")

    def _starting_workflow(self, message: InboundMessage, reject: Reject) -> str:
        """The first workflow (by id) whose ``intake.start`` lists the message's kind."""
        current = self.workflows.current
        for name, compiled in sorted(current.items()):
            if compiled.spec.intake is not None and message.kind in compiled.spec.intake.start:
                return name
        takers = sorted(
            f"{name} ({', '.join(c.spec.intake.start) or 'none'})"
            for name, c in current.items()
            if c.spec.intake is not None
        )
        raise reject(
            f"no workflow starts cases from '{message.kind}' messages; workflows and the "
            f"kinds they start from: {', '.join(takers) or '(none declares intake)'}"
        )
