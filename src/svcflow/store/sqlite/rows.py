"""Values to SQLite text and rows back to records.

The moments of cases, history, timers, notifications and deliveries are stored in SQLite as
microseconds since 1970 UTC in an 8-byte BLOB (:func:`micros`: 8 bytes instead of 32, issue
16; a BLOB, since those columns were declared TEXT, whose affinity would store an integer as
its decimal text), whose byte order is time order: since schema step 17 those no query
compares, since step 19 the rest. Other moments (leases, retries, signals, messages) stay
fixed-width UTC ISO-8601 text, whose text order is time order too; PostgreSQL is given that
text for every moment. :func:`from_ts` reads every form. JSON is compact and keeps non-ASCII
text as is.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic_core import PydanticSerializationError
from pydantic_core import to_json as _json_bytes

from svcflow.records import (
    NO_DETAILS,
    DeadLetter,
    HistoryEntry,
    Notification,
    OutboxEntry,
    Refusal,
    Timer,
)
from svcflow.store.sqlite.packing import unpack
from svcflow.store.sqlite.shared import reason_text

__all__ = [
    "MomentForm",
    "StoredMoment",
    "dead_letter_of",
    "from_ts",
    "history_entry_of",
    "micros",
    "micros_param",
    "notification_of",
    "outbox_entry_of",
    "plain_json",
    "plain_json_utf8",
    "refusal_of",
    "refusal_row",
    "timer_of",
    "to_json",
    "ts",
    "where_clause",
]

to_json = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, default=str).encode


def plain_json(value: Any) -> str:
    """``value``, plain JSON data (:func:`svcflow.records.plain`: what a history entry's
    details and payload hold, whatever the store), as :func:`to_json` writes it, by
    pydantic-core's writer: the same text in a third of the instructions (issue 16: 44 kIr of
    an event's 934), but for numbers below 1e-4, written without an exponent (``0.00001``
    for ``1e-05``), which read back as the same float. What that writer cannot write (a
    mapping that is not a dict, a lone surrogate) goes to :func:`to_json`, as before."""
    try:
        return _json_bytes(value, inf_nan_mode="constants").decode()
    except PydanticSerializationError:
        return to_json(value)


def plain_json_utf8(value: Any) -> bytes:
    """:func:`plain_json`'s text of ``value`` as UTF-8 bytes, as pydantic-core's writer gives
    them (for a packer that takes bytes: no decoding and encoding again, about 1,500
    instructions a history entry, issue 16); what that writer cannot write, as ``plain_json``
    writes it (a lone surrogate raises ``UnicodeEncodeError`` here, as binding it would)."""
    try:
        return _json_bytes(value, inf_nan_mode="constants")
    except PydanticSerializationError:
        return to_json(value).encode()


StoredMoment = str | bytes | bytearray
"""A moment as a store writes it (:data:`MomentForm`)."""
MomentForm = Callable[[datetime], StoredMoment]
"""How a store writes a moment: :func:`micros_param` or :func:`ts`."""


def ts(moment: datetime) -> str:
    """``moment`` as stored text. An event writes the same instant several times (the case's
    ``updated_at``, its history entry, its timers' ``created_at``): the last one is kept."""
    last = _last_ts
    if last[0] is moment:
        return last[1]
    text = moment.astimezone(UTC).isoformat(timespec="microseconds")
    _remember_ts(moment, text)
    return text


_last_ts: tuple[datetime | None, str] = (None, "")


def _remember_ts(moment: datetime, text: str) -> None:
    global _last_ts  # one tuple, swapped whole: safe to read from any thread
    _last_ts = (moment, text)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_OFFSET = 1 << 63
_MICROSECOND = timedelta(microseconds=1)
"""(``from_ts``: a ``timedelta`` times a count, worked out in C, costs half of
``timedelta(microseconds=...)``'s keyword and arithmetic, issue 16; exact for every count)"""


def micros(moment: datetime) -> bytes:
    """``moment`` as an 8-byte BLOB: its microseconds since 1970 UTC plus 2**63, big-endian,
    so that byte order (SQLite compares BLOBs with ``memcmp``) is time order, before 1970
    too."""
    since = moment - _EPOCH
    micro = (since.days * 86_400 + since.seconds) * 1_000_000 + since.microseconds
    return (micro + _OFFSET).to_bytes(8, "big")


def micros_param(moment: datetime) -> bytearray:
    """:func:`micros` as a statement's parameter: the same BLOB, bound as it is. ``sqlite3``
    binds a ``bytes`` parameter only after looking in its adapter registry and calling the
    adapter found (:func:`svcflow.store.sqlite.store._bind_plainly`), a ``bytearray`` at once:
    about 1,000 instructions less a moment, 8 moments an event (issue 16). The microseconds are
    added up from the ``timedelta``'s fields: a quarter cheaper than dividing it by one
    microsecond."""
    since = moment - _EPOCH
    micro = (since.days * 86_400 + since.seconds) * 1_000_000 + since.microseconds
    return bytearray((micro + _OFFSET).to_bytes(8, "big"))


def from_ts(value: str | bytes | datetime) -> datetime:
    """A stored moment: SQLite keeps ISO text (:func:`ts`) or a BLOB of microseconds
    (:func:`micros`), PostgreSQL gives a ``datetime`` already; aware UTC either way."""
    if isinstance(value, bytes):  # (the usual form: tested first)
        return _EPOCH + _MICROSECOND * (int.from_bytes(value, "big") - _OFFSET)
    if isinstance(value, str):
        return datetime.fromisoformat(value)
    return value


def where_clause(**filters: str | None) -> tuple[str, list[str]]:
    """A WHERE clause matching every filter that is not None (column = value)."""
    given = {column: value for column, value in filters.items() if value is not None}
    if not given:
        return "", []
    return " WHERE " + " AND ".join(f"{column} = ?" for column in given), list(given.values())


def timer_of(row: tuple[Any, ...]) -> Timer:
    """A timer from its row (``TIMER_COLUMNS``), built as the named tuple it is without the
    keyword ``__new__`` (a claimed batch reads hundreds)."""
    retry, nominal = row[10], row[11]
    return tuple.__new__(
        Timer,
        (
            row[0],
            row[1],
            row[2],
            from_ts(row[3]),
            row[4],
            bool(row[5]),
            from_ts(row[6]),
            row[7],
            row[8],
            row[9],
            None if retry is None else from_ts(retry),
            None if nominal is None else from_ts(nominal),
        ),
    )


def notification_of(r: tuple[Any, ...]) -> Notification:
    return Notification(
        id=r[0],
        key=r[1],
        case_id=r[2],
        template=r[3],
        recipients=tuple(json.loads(r[4])),
        channel=r[5],
        urgent=bool(r[6]),
        status=r[7],
        created_at=from_ts(r[8]),
        context=json.loads(r[9]),
        deliver_after=None if r[10] is None else from_ts(r[10]),
    )


def history_entry_of(r: tuple[Any, ...]) -> HistoryEntry:
    return HistoryEntry(
        case_id=r[0],
        seq=r[1],
        at=from_ts(r[2]),
        actor=r[3],
        kind=r[4],
        trigger=r[5],
        from_state=r[6],
        to_state=r[7],
        payload=None if r[8] is None else json.loads(r[8]),
        version=r[9],
        details=_details(r[10]),
    )


def _details(stored: str | bytes) -> Mapping[str, Any]:
    """Details as stored (:mod:`.packing`); older files kept an entry without details as the
    JSON text "{}"."""
    found = json.loads(unpack(stored))
    return found if isinstance(found, dict) and found else NO_DETAILS


def dead_letter_of(row: tuple[Any, ...]) -> DeadLetter:
    return DeadLetter(
        id=row[0],
        channel=row[1],
        raw=row[2],
        encoding=row[3],
        error=row[4],
        received_at=from_ts(row[5]),
        status=row[6],
        case_id=row[7],
    )


def outbox_entry_of(row: tuple[Any, ...]) -> OutboxEntry:
    """A delivery read with ``OUTBOX_READ``."""
    return OutboxEntry(
        id=row[0],
        key=row[1],
        notification_key=row[2],
        case_id=row[3],
        template=row[4],
        channel=row[5],
        address=row[6],
        name=row[7],
        role=row[8],
        locale=row[9],
        subject=row[10],
        body=row[11],
        urgent=bool(row[12]),
        status=row[13],
        attempts=row[14],
        next_attempt_at=from_ts(row[15]),
        created_at=from_ts(row[16]),
        last_error=row[17] if row[17] is not None else reason_text(row[20], row[3]),
        reference=row[18],
        delivered_at=None if row[19] is None else from_ts(row[19]),
    )


def refusal_row(refusal: Refusal) -> tuple[Any, ...]:
    return (
        refusal.case_id,
        ts(refusal.at),
        refusal.actor,
        refusal.trigger,
        refusal.state,
        refusal.reason,
        json.dumps(list(refusal.roles)),
        json.dumps(list(refusal.required)),
    )


def refusal_of(row: tuple[Any, ...]) -> Refusal:
    return Refusal(
        case_id=row[0],
        at=from_ts(row[1]),
        actor=row[2],
        trigger=row[3],
        state=row[4],
        reason=row[5],
        roles=tuple(json.loads(row[6])),
        required=tuple(json.loads(row[7])),
    )
