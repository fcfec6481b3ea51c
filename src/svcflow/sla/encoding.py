"""The SLA state's stored form: a compact, versioned text that reads back as the very same record.

``Case.sla`` is plain JSON (``{"metrics": {name: clock}, "escalations": {name: chain}}``, ISO
moments, float seconds, every field named) because hosts, reports and the HTTP API read it.
Stored that way it is about 600 bytes per complaint case, and a store that writes it parses
and formats ISO moments it already had as records. :func:`encode_sla` writes the state as a
JSON array instead::

    [1, base, [clock, ...], [chain, ...]]

``1`` is the form's version; ``base`` an instant in epoch microseconds; every moment is an
integer offset in microseconds from ``base`` and every duration integer microseconds; statuses
are one letter; trailing fields at their defaults are left out (no ``null`` fields). A clock
is ``[name, status, cycle, started_at, target, budget, calendar, used, since, warned,
deadline, next_due, breached_at, label, within]``, a chain ``[name, status, round, level,
next_due]``. The clocks and chains a step wrote carry their records (``Kept``), so encoding
them reads integers off the records and parses nothing.

:func:`decode_sla` reads this form and the plain JSON object text written before (or written
now for a state the compact form cannot say exactly: a moment in a time zone other than UTC,
a key or status it does not know) and gives back a mapping equal to the one encoded, with the
records attached for the next step. A later form gets the next version number; every version
stays readable.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic_core import PydanticSerializationError
from pydantic_core import to_json as _json_bytes

from svcflow.compiled import raised_from
from svcflow.sla.clocks import Clock, Kept
from svcflow.sla.escalation import Chain

__all__ = ["VERSION", "decode_sla", "encode_sla"]

VERSION = 1
"""The compact form :func:`encode_sla` writes."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_CLOCK_STATUS = {"running": "r", "paused": "p", "stopped": "s", "cancelled": "c"}
_CHAIN_STATUS = {"running": "r", "acknowledged": "a", "stopped": "s"}
_CLOCK_NAMES = {code: name for name, code in _CLOCK_STATUS.items()}
_CHAIN_NAMES = {code: name for name, code in _CHAIN_STATUS.items()}
_GROUPS = frozenset({"metrics", "escalations"})
_json_text = json.JSONEncoder(separators=(",", ":")).encode
"""``json.dumps(value, separators=(",", ":"))``, with one encoder for every call (``dumps``
builds a new one whenever an argument is not its default: issue 16)."""


def _rows_text(value: list[Any]) -> str:
    """The compact form's JSON text (integers, texts and lists of them) as :data:`_json_text`
    writes it, by pydantic-core's writer: a quarter of the instructions (issue 16: 45 against
    12 kIr a state). That writer leaves non-ASCII text and DEL unescaped, where ``json``
    writes ``\\u`` escapes: such a text (a metric's label, say) is written by ``json``."""
    try:
        written = _json_bytes(value)
    except PydanticSerializationError:  # (a lone surrogate)
        return _json_text(value)
    if written.isascii() and b"\x7f" not in written:
        return written.decode()
    return _json_text(value)


class _Inexact(Exception):
    """The compact form cannot say this state exactly: it is written as plain JSON."""


def encode_sla(sla: Mapping[str, Any]) -> str:
    """The stored text of ``sla`` (a ``Case.sla``): the compact form, or the plain JSON object
    text when the compact form cannot give back exactly the same mapping."""
    try:
        return _compact(sla)
    except _Inexact:
        return _json_text(_plain(sla))


def decode_sla(text: str | bytes) -> dict[str, Any]:
    """The ``Case.sla`` mapping of a stored text, in either form (see the module's docstring).
    Raises ``ValueError`` for a text that is neither."""
    value = json.loads(text)
    if isinstance(value, dict):
        return value
    if not isinstance(value, list) or not value or value[0] != VERSION:
        raise ValueError(f"not an SLA state: {str(text)[:60]!r}")
    _, base, clocks, chains = value
    decoded: dict[str, Any] = {}
    if clocks:
        decoded["metrics"] = {row[0]: _clock(row, base).to_json() for row in clocks}
    if chains:
        decoded["escalations"] = {row[0]: _chain(row, base).to_json() for row in chains}
    return decoded


# -- writing -------------------------------------------------------------------------------------


def _compact(sla: Mapping[str, Any]) -> str:
    """(Loops rather than comprehensions, each a call of its own; the base read off the first
    clock's kept row when it has one: issue 16.)"""
    if not _GROUPS.issuperset(sla):
        raise _Inexact
    metrics = sla.get("metrics", _NONE)
    escalations = sla.get("escalations", _NONE)
    if ("metrics" in sla and not metrics) or ("escalations" in sla and not escalations):
        raise _Inexact  # an empty group reads back as no group
    clocks = []
    for name, value in metrics.items():
        record = value.decoded if type(value) is Kept else None
        clocks.append((name, record if type(record) is Clock else _record(value, Clock)))
    chains = []
    for name, value in escalations.items():
        record = value.decoded if type(value) is Kept else None
        chains.append((name, record if type(record) is Chain else _record(value, Chain)))
    base = _base(clocks, chains)
    clock_rows = []
    for name, clock in clocks:
        clock_rows.append(_clock_row(name, clock, base))
    chain_rows = []
    for name, chain in chains:
        chain_rows.append(_chain_row(name, chain, base))
    return _rows_text([VERSION, base, clock_rows, chain_rows])


_NONE: Mapping[str, Any] = {}


def _record(value: Any, kind: type[Clock] | type[Chain]) -> Any:
    """The record behind a clock's or chain's JSON, when reading it back gives that JSON."""
    if type(value) is Kept and isinstance(value.decoded, kind):
        return value.decoded
    try:
        record = kind.from_json(value)
    except (KeyError, TypeError, ValueError, AttributeError):
        raise raised_from(_Inexact(), None)  # noqa: B904 (svcflow.compiled)
    if record.to_json() != value or list(record.to_json()) != list(value):
        raise _Inexact
    return record


def _base(clocks: list[tuple[str, Clock]], chains: list[tuple[str, Chain]]) -> int:
    for _, clock in clocks:
        kept = _rows.get(id(clock))
        if kept is not None and kept[0] is clock:  # its row: started_at less the base it had
            started: int = kept[3][3]
            return kept[2] + started
        return _us(clock.started_at)
    for _, chain in chains:
        if chain.next_due is not None:
            return _us(chain.next_due)
    return 0


_ROWS_KEPT = 1024
_rows: dict[int, tuple[Clock, str, int, list[Any]]] = {}
"""The latest clocks' rows by record (``id``; the entry holds the record, so the id is not
reused while it is kept): a step leaves most of a state's clocks as the very records it read,
whose rows need no new working out (issue 16: about 20,000 instructions a clock). Cleared
whole when full; any thread may read or replace an entry (each is one tuple)."""


def _clock_row(name: str, clock: Clock, base: int) -> list[Any]:
    """The clock's row (the rows are only written out, never changed)."""
    kept = _rows.get(id(clock))
    if kept is not None and kept[0] is clock and kept[1] == name and kept[2] == base:
        return kept[3]
    row = _new_clock_row(name, clock, base)
    if len(_rows) >= _ROWS_KEPT:
        _rows.clear()
    _rows[id(clock)] = (clock, name, base, row)
    return row


def _new_clock_row(name: str, clock: Clock, base: int) -> list[Any]:
    status = _CLOCK_STATUS.get(clock.status)
    if status is None or not isinstance(clock.cycle, int) or not isinstance(clock.target, int):
        raise _Inexact
    started_at, since, deadline = clock.started_at, clock.since, clock.deadline
    started = _us(started_at) - base
    due = None if deadline is None else _us(deadline) - base
    row = [
        name,
        status,
        clock.cycle,
        started,
        clock.target,
        _delta(clock.budget),
        clock.calendar,
        _delta(clock.used),
        started if since is started_at else _us(since) - base,  # (the same moment: once)
        list(clock.warned),
        due,
        due if clock.next_due is deadline else _offset(clock.next_due, base),
        _offset(clock.breached_at, base),
        clock.label,
        clock.within,
    ]
    while row[-1] is None:
        row.pop()
    return row


def _chain_row(name: str, chain: Chain, base: int) -> list[Any]:
    status = _CHAIN_STATUS.get(chain.status)
    if status is None:
        raise _Inexact
    row = [name, status, chain.round, chain.level, _offset(chain.next_due, base)]
    return row if row[-1] is not None else row[:-1]


def _us(moment: datetime) -> int:
    if moment.tzinfo is not UTC:
        raise _Inexact  # read back, it would be in UTC
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _offset(moment: datetime | None, base: int) -> int | None:
    return None if moment is None else _us(moment) - base


def _delta(value: timedelta) -> int:
    return (value.days * 86_400 + value.seconds) * 1_000_000 + value.microseconds


def _plain(value: Any) -> Any:
    """``value`` as ``json`` writes a plain dict (a ``Kept`` is one already; a mapping proxy
    is not)."""
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    return value


# -- reading -------------------------------------------------------------------------------------


def _moment(offset: int | None, base: int) -> datetime | None:
    return None if offset is None else _EPOCH + timedelta(microseconds=base + offset)


def _clock(row: list[Any], base: int) -> Clock:
    fields = [*row, *(None,) * (15 - len(row))]
    started = _EPOCH + timedelta(microseconds=base + fields[3])
    since = started if fields[8] == fields[3] else _EPOCH + timedelta(microseconds=base + fields[8])
    deadline = _moment(fields[10], base)
    return Clock(
        status=_CLOCK_NAMES[fields[1]],
        cycle=fields[2],
        started_at=started,
        target=fields[4],
        budget=timedelta(microseconds=fields[5]),
        calendar=fields[6],
        used=timedelta(microseconds=fields[7]),
        since=since,
        warned=tuple(fields[9]),
        breached_at=_moment(fields[12], base),
        deadline=deadline,
        next_due=deadline if fields[11] == fields[10] else _moment(fields[11], base),
        label=fields[13],
        within=fields[14],
    )


def _chain(row: list[Any], base: int) -> Chain:
    due = row[4] if len(row) > 4 else None
    return Chain(_CHAIN_NAMES[row[1]], row[2], row[3], _moment(due, base))
