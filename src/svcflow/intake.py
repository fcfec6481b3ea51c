"""Intake: what ``Engine.ingest`` returns, what matchers may ask, how intake data is computed.

The orchestration (parse, dedupe, match, classify, start or reply) is the engine's; the pieces
here are pure or read-only: the values a workflow's ``intake`` section computes from a message,
the store-backed ``CaseLookup`` matcher plugins get, and how a raw payload is kept as text in
the dead-letter table and restored for a replay.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from svcflow.messages import InboundMessage
from svcflow.records import Case

if TYPE_CHECKING:
    from svcflow.machine import CompiledWorkflow
    from svcflow.pluginhost import PluginHost
    from svcflow.registry import WorkflowRegistry
    from svcflow.spec.loader import LoadedWorkflow
    from svcflow.store.base import Store

__all__ = [
    "Assignment",
    "CaseLookup",
    "Intake",
    "StoreLookup",
    "dead_letter_text",
    "intake_values",
    "payload_of",
    "restore_raw",
]


@dataclass(frozen=True, slots=True)
class Assignment:
    """Where a new case goes: a queue (team) and/or a person; ``None`` parts stay unset."""

    queue: str | None = None
    assignee: str | None = None


class CaseLookup(Protocol):
    """Read-only questions a ``svcflow_match_case`` implementation may ask the store."""

    def case_of_message(self, channel: str, message_id: str) -> str | None:
        """The case an earlier message of ``channel`` with this id went to."""

    def case_of_thread(self, refs: Iterable[str]) -> str | None:
        """The case of the most recent earlier message whose id (on any channel) is in
        ``refs``: how a reply finds its case through In-Reply-To / References."""

    def open_cases_of(self, sender: str) -> list[Case]:
        """Cases not in a final state whose messages came from ``sender``, newest first."""

    def get(self, case_id: str) -> Case | None:
        """The case with this id, if it exists."""


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

    def __init__(self, store: Store, registry: WorkflowRegistry) -> None:
        self._store, self._registry = store, registry

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
            spec = self._registry.get(case.workflow, case.version).spec
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
