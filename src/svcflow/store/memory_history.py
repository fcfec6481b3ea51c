"""The memory store's history: entries packed, their large texts kept once.

An entry is kept with its payload and details serialised, as the SQLite store keeps them as JSON
text: a few hundred bytes per entry instead of a tree of small containers, a fresh copy for every
reader, and the same plain values (lists, strings) back from either store. ``marshal`` (the
standard library's serialiser of plain values) writes about the size of JSON, about four times
faster; what it reads back is turned into what JSON would give (tuples as lists, keys as text).
Its large texts are taken out first (:mod:`svcflow.store.history_texts`) and kept once per
case, a text that extends an earlier one as that text plus the new tail, so a chat of 200
messages of 10 KiB holds each message about once instead of 200 transcripts (and an event
encodes a few hundred bytes, not the whole transcript). Not thread-safe on its own: the memory
store calls it under its lock.
"""

from __future__ import annotations

import json
import marshal
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from svcflow.records import NO_DETAILS, HistoryEntry
from svcflow.store.history_texts import (
    StoredText,
    TextPlace,
    keep,
    needed,
    put_back,
    rebuild,
    take_out,
)

__all__ = ["MemoryHistory", "Packed", "unpack"]

_encode = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode

_NOTHING: Sequence[tuple[TextPlace, str]] = ()

Packed = tuple[Any, ...]
"""An entry's first eight fields, its packed payload, its version, its packed details and the
places of its taken-out texts."""


class MemoryHistory:
    """Every case's entries, in order, and the large texts they hold."""

    def __init__(self) -> None:
        self._entries: dict[str, list[Packed]] = defaultdict(list)
        self._texts: dict[str, dict[str, StoredText]] = defaultdict(dict)

    def append(self, entry: HistoryEntry) -> None:
        self._entries[entry.case_id].append(self._pack(entry))

    def write(self, entry: HistoryEntry) -> None:
        """Add ``entry``, or replace the stored entry of its case and seq (an erasure)."""
        rows = self._entries[entry.case_id]
        if rows and rows[-1][1] < entry.seq:
            rows.append(self._pack(entry))
        else:
            rows[:] = [self._pack(entry) if row[1] == entry.seq else row for row in rows]

    def prune(self, case_id: str) -> None:
        """Forget the case's texts no entry needs any more (after an erasure rewrote them)."""
        stored = self._texts[case_id]
        named = (place.digest for row in self._entries[case_id] for place in row[11])
        for key in set(stored) - needed(stored, named):
            del stored[key]

    def drop(self, case_id: str) -> None:
        self._entries.pop(case_id, None)
        self._texts.pop(case_id, None)

    def case_ids(self) -> list[str]:
        return sorted(self._entries)

    def taken(self, case_id: str) -> tuple[list[Packed], dict[str, StoredText]]:
        """A copy of the case's packed entries and texts, to unpack outside the lock."""
        return list(self._entries.get(case_id, ())), dict(self._texts.get(case_id, {}))

    def _pack(self, entry: HistoryEntry) -> Packed:
        bare, taken = entry, _NOTHING  # (no text to take out: take_out's own first test)
        if entry.payload is not None or "set" in entry.details:
            bare, taken = take_out(entry)
        if taken:
            keep(self._texts[entry.case_id], taken)
        payload = None if bare.payload is None else _dump(bare.payload)
        details = _dump(bare.details) if bare.details else None
        places = tuple(p for p, _ in taken) if taken else ()
        return (*bare[:8], payload, bare.version, details, places)


def _dump(value: Any) -> bytes:
    """``value`` packed; a datetime or another object is refused at commit as by the SQLite
    store (the engine writes only plain values)."""
    try:
        return marshal.dumps(value)
    except ValueError:  # a str or dict subclass (an enum member): as its JSON would read back
        return marshal.dumps(json.loads(_encode(value)))


def _as_json(value: Any) -> Any:
    """``value`` as JSON would give it back (tuples as lists, keys as text)."""
    if isinstance(value, dict):
        return {
            key if type(key) is str else json.dumps(key): _as_json(item)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [_as_json(item) for item in value]
    return value


def unpack(rows: Sequence[Packed], texts: Mapping[str, StoredText]) -> list[HistoryEntry]:
    """The entries as committed, from :meth:`MemoryHistory.taken`."""
    wanted: Iterable[str] = (place.digest for row in rows for place in row[11])
    full = rebuild(texts, wanted) if texts else {}
    return [_unpack(row, full) for row in rows]


def _unpack(packed: Packed, texts: Mapping[str, str]) -> HistoryEntry:
    payload = None if packed[8] is None else _as_json(marshal.loads(packed[8]))
    details = NO_DETAILS if packed[10] is None else _as_json(marshal.loads(packed[10]))
    case_id, seq, at, actor, kind, trigger, from_state, to_state = packed[:8]
    entry = HistoryEntry.__new__(
        HistoryEntry,
        case_id=case_id,
        seq=seq,
        at=at,
        actor=actor,
        kind=kind,
        trigger=trigger,
        from_state=from_state,
        to_state=to_state,
        payload=payload,
        version=packed[9],
        details=details,
    )
    places: tuple[TextPlace, ...] = packed[11]
    return put_back(entry, places, texts) if places else entry
