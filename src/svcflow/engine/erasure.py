"""Erasure of one customer's personal data, as the GDPR (article 17) and China's PIPL (article 47)
require, keeping what the KPI report needs.

What goes: the inbound messages of the customer's cases (and their thread keys), the customer's
name and contact points, the values of the data fields a workflow marks ``personal: true`` (in
the case and in every history entry's payload and ``set``, replaced by :data:`ERASED`), actors
naming one of the customer's addresses (``email:li@example.com`` becomes ``email:[erased]``),
the idempotency records of the cases (they hold a copy of the case), the words of the
cases' outbox rows, with the address of those to the customer (pending ones are made dead),
and the payloads of the customer's dead letters (those replayed into one of its cases or
naming one of its addresses; the rows stay with their reason). After the commit, plugins that
keep copies hear of it (``svcflow_customer_erased``).
What stays: the cases, their states, times, SLA clocks and the other fields, so the KPI report
gives the same figures.

The erasure is a new revision of each case, with an ``erased`` history entry saying what went:
a store handle anywhere that cached the case's decoded data at the old revision reads the
redacted data afresh, and a writer that read the case before the erasure gets
``ConcurrencyConflict`` instead of writing the personal values back.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, NamedTuple

from svcflow.engine.retention import DEAD_LETTER_PAGE
from svcflow.messaging.intake import restore_raw
from svcflow.records import NO_DETAILS, Case, Customer, DeadLetter, HistoryEntry
from svcflow.store.base import ERASED_LETTER, Store

__all__ = [
    "ERASED",
    "ErasureReport",
    "customer_dead_letters",
    "erase_customer",
    "erased_entry",
    "redact_data",
    "redact_entry",
]

ERASED = "[erased]"
"""What an erased value reads as, in case data, history and outbox rows."""


class ErasureReport(NamedTuple):
    """What ``Engine.erase_customer`` changed: the cases redacted, the history entries
    redacted, the inbound messages deleted, the dead letters erased, and the plugins whose
    ``svcflow_customer_erased`` raised (their copies may remain: have them erased again)."""

    customer_id: str
    cases: tuple[str, ...]
    history_entries: int
    messages: int
    dead_letters: int = 0
    plugins_failed: tuple[str, ...] = ()


def redact_data(data: Mapping[str, Any], personal: frozenset[str]) -> dict[str, Any]:
    """``data`` with the values of ``personal`` fields (those set, not None) erased."""
    return {
        name: ERASED if name in personal and value is not None else value
        for name, value in data.items()
    }


def redact_entry(
    entry: HistoryEntry, personal: frozenset[str], addresses: frozenset[str]
) -> HistoryEntry | None:
    """The entry with personal values and the customer's addresses erased; None if it had none."""
    details = dict(entry.details)
    changed = details.get("set")
    if isinstance(changed, Mapping):
        details["set"] = redact_data(changed, personal)
    redacted = entry._replace(
        actor=_redact_actor(entry.actor, addresses),
        payload=None if entry.payload is None else redact_data(entry.payload, personal),
        details=details or NO_DETAILS,
    )
    return None if redacted == entry else redacted


def _redact_actor(actor: str, addresses: frozenset[str]) -> str:
    channel, _, who = actor.rpartition(":")
    if who.casefold() in addresses:
        return f"{channel}:{ERASED}" if channel else ERASED
    return actor


def erased_entry(case: Case, at: datetime, actor: str, redacted: int) -> HistoryEntry:
    """The history entry of the erasure itself (``seq`` is the case's new revision): it changes
    neither state nor data a report reads, so reports skip it."""
    return HistoryEntry(
        case_id=case.id,
        seq=case.revision,
        at=at,
        actor=actor,
        kind="erased",
        trigger=None,
        from_state=case.state,
        to_state=case.state,
        payload=None,
        version=case.version,
        details={"erased": {"customer": True, "history_entries": redacted}},
    )


def erase_customer(
    store: Store,
    customer: Customer,
    personal_of: Callable[[str, int], frozenset[str]],
    at: datetime,
    actor: str,
) -> ErasureReport:
    """Erase ``customer``'s personal data in ``store`` (one transaction for the writes): each
    case one revision on (``updated_at`` kept, so retention still counts from its last event),
    its history redacted and an ``erased`` entry added. ``personal_of(workflow, version)``
    names a version's personal fields."""
    addresses = frozenset(point.address.casefold() for point in customer.contact_points)
    cases: list[Case] = []
    entries: list[HistoryEntry] = []
    for case_id in store.customer_cases(customer.id):
        case = store.load_case(case_id)
        if case is None:
            continue
        personal = personal_of(case.workflow, case.version)
        redacted = [
            entry
            for entry in (redact_entry(e, personal, addresses) for e in store.history(case_id))
            if entry is not None
        ]
        erased = case._replace(data=redact_data(case.data, personal), revision=case.revision + 1)
        cases.append(erased)
        entries += [*redacted, erased_entry(erased, max(at, case.updated_at), actor, len(redacted))]
    letters = customer_dead_letters(store, frozenset(c.id for c in cases), addresses)
    messages = store.erase_customer(customer.id, cases, entries, ERASED, dead_letters=letters)
    return ErasureReport(
        customer_id=customer.id,
        cases=tuple(case.id for case in cases),
        history_entries=len(entries) - len(cases),
        messages=messages,
        dead_letters=len(letters),
    )


def customer_dead_letters(
    store: Store, case_ids: frozenset[str], addresses: frozenset[str]
) -> list[int]:
    """Ids of the dead letters that belong to a customer: replayed into one of its cases, or
    whose payload names one of its addresses (ignoring case). Read page by page, so a large
    backlog is never loaded at once; letters erased before are skipped."""
    found: list[int] = []
    after = 0
    while page := store.dead_letters(None, after=after, limit=DEAD_LETTER_PAGE):
        found += [letter.id for letter in page if _belongs(letter, case_ids, addresses)]
        after = page[-1].id
    return found


def _belongs(letter: DeadLetter, case_ids: frozenset[str], addresses: frozenset[str]) -> bool:
    if letter.status == ERASED_LETTER:
        return False
    if letter.case_id is not None and letter.case_id in case_ids:
        return True
    text = _readable(letter).casefold()
    return any(address and address in text for address in addresses)


def _readable(letter: DeadLetter) -> str:
    """A dead letter's payload as text to look for addresses in (base64 decoded)."""
    if not letter.encoding.endswith("base64"):
        return letter.raw
    try:
        raw = restore_raw(letter.raw, "base64")
    except ValueError:  # a truncated payload may end inside a base64 group
        return letter.raw
    return bytes(raw).decode("utf-8", "replace")
