"""Large texts of history entries, stored once: history grows with what changed.

A history entry records the values an event gave and set. A transcript field that grows by one
message per event would be recorded whole by every event, so 200 replies of 10 KiB would store
about 200 × 1 MiB. Instead, every string of at least :data:`TEXT_THRESHOLD` characters (and
no NUL) in an entry's payload or in its ``details["set"]`` is taken out of the entry (a
``None`` keeps its place) and stored once per case by its digest, as a :class:`StoredText`.
A text that extends one stored before (the transcript with one more line) is stored as that
earlier text's digest plus the new tail, so the store grows by what was added.

A case's data holds the same texts (the transcript as it is now): its large top-level strings
are taken out the same way (:func:`take_out_data`, an empty string keeps the place) and named by
the case row, so the row stays small and an event rewrites a few hundred bytes, not the whole
transcript; the text itself is usually stored already, by the history entry that set it.

This module is the pure part: splitting an entry or a case's data, choosing a base, rebuilding
texts. The stores keep the texts (:mod:`svcflow.store.sqlite.texts`); readers get entries and
cases with their values back, exactly as they were committed.
"""

from __future__ import annotations

import hashlib
import itertools
import threading
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple

from svcflow.records import NO_DETAILS, HistoryEntry

__all__ = [
    "BASE_CANDIDATES",
    "RECENT_TEXTS",
    "TEXT_THRESHOLD",
    "StoredText",
    "TextPlace",
    "digest",
    "forget_recent",
    "keep",
    "needed",
    "new_text",
    "put_back",
    "rebuild",
    "remember",
    "take_out",
    "take_out_data",
]

TEXT_THRESHOLD = 1024
"""Strings of at least this many characters are stored once, outside their entry."""

BASE_CANDIDATES = 4
"""How many of a case's latest texts are tried as the beginning of a new one."""


class StoredText(NamedTuple):
    """One text of a case: the text with digest ``base`` (None: none), then ``tail``, then the
    text with digest ``suffix`` (None: none). Both are shorter texts of the same case."""

    digest: str
    length: int
    base: str | None
    tail: str
    suffix: str | None = None


class TextPlace(NamedTuple):
    """Where a text was taken from: ``part`` is ``payload``, ``set`` or ``data`` (a case's
    data), ``name`` the key."""

    part: str
    name: str
    digest: str


RECENT_TEXTS = 8
"""How many of the latest large texts digested or rebuilt :func:`digest` and :func:`new_text`
remember (by object and by digest), least recently used out first: an event on a chat digests
its new transcript once, and finds the transcript it extends by comparing, not by hashing it
again. The memory holds references to them, so an object's id is not reused meanwhile."""

_recent: dict[int, tuple[str, str]] = {}  # id(text) -> (text, digest), least recent first
_by_digest: dict[str, str] = {}
_recent_lock = threading.Lock()


def digest(text: str) -> str:
    """The key a text is stored under within its case."""
    with _recent_lock:
        seen = _recent.pop(id(text), None)
        if seen is not None and seen[0] is text:
            _recent[id(text)] = seen  # used again: the most recent now
            return seen[1]
    key = _hash(text)
    if len(text) >= TEXT_THRESHOLD:
        remember(key, text)
    return key


def _hash(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


def remember(key: str, text: str) -> None:
    """Keep ``text`` (whose digest is ``key``) among the :data:`RECENT_TEXTS` latest ones."""
    with _recent_lock:
        _recent.pop(id(text), None)
        _recent[id(text)] = (text, key)
        _by_digest[key] = text
        while len(_recent) > RECENT_TEXTS:
            old_text, old_key = _recent.pop(next(iter(_recent)))
            if _by_digest.get(old_key) is old_text:
                del _by_digest[old_key]


def forget_recent() -> None:
    """Let go of the remembered texts (at most :data:`RECENT_TEXTS`, each as long as a case's
    longest text); nothing but speed depends on them."""
    with _recent_lock:
        _recent.clear()
        _by_digest.clear()


def _begins_with(text: str, key: str, length: int) -> bool:
    """Whether ``text`` begins with the text of digest ``key`` and ``length`` characters."""
    known = _by_digest.get(key)
    if known is not None:
        return text.startswith(known)
    return _hash(text[:length]) == key  # (a slice: not worth remembering)


def _large(values: Mapping[str, Any] | None) -> list[tuple[str, str]]:
    if values is None or (type(values) is not dict and not isinstance(values, Mapping)):
        return []
    return [
        (k, v)
        for k, v in values.items()
        if isinstance(v, str) and len(v) >= TEXT_THRESHOLD and "\x00" not in v
    ]  # (PostgreSQL text holds no NUL; JSON, inline, escapes it)


def take_out(entry: HistoryEntry) -> tuple[HistoryEntry, list[tuple[TextPlace, str]]]:
    """The entry with its large texts replaced by ``None``, and each text with its place."""
    changed = entry.details.get("set")
    if entry.payload is None and changed is None:
        return entry, []
    payload_texts = _large(entry.payload)
    set_texts = _large(changed)
    if not payload_texts and not set_texts:
        return entry, []
    taken = [(TextPlace("payload", k, digest(v)), v) for k, v in payload_texts]
    taken += [(TextPlace("set", k, digest(v)), v) for k, v in set_texts]
    payload = entry.payload
    if payload_texts and payload is not None:
        payload = {**payload, **dict.fromkeys(k for k, _ in payload_texts)}
    details = entry.details
    if set_texts and isinstance(changed, Mapping):
        details = {**details, "set": {**changed, **dict.fromkeys(k for k, _ in set_texts)}}
    return entry._replace(payload=payload, details=details), taken


def take_out_data(
    data: Mapping[str, Any],
) -> tuple[Mapping[str, Any], list[tuple[TextPlace, str]]]:
    """A case's data with its large texts replaced by ``""`` (valid for every string field, so
    the data still encodes and decodes), and each text with its place; the data itself when it
    has none (not copied: the codec copies what it encodes, issue 16)."""
    texts = _large(data)
    if not texts:
        return data, []
    taken = [(TextPlace("data", k, digest(v)), v) for k, v in texts]
    return {**data, **dict.fromkeys((k for k, _ in texts), "")}, taken


def put_back(
    entry: HistoryEntry, places: Sequence[TextPlace], texts: Mapping[str, str]
) -> HistoryEntry:
    """The entry as committed: each place filled with its text from ``texts`` (by digest)."""
    payload = dict(entry.payload or {})
    changed = dict(entry.details.get("set") or {})
    for place in places:
        (payload if place.part == "payload" else changed)[place.name] = texts[place.digest]
    details = dict(entry.details)
    if changed:
        details["set"] = changed
    return entry._replace(
        payload=payload if entry.payload is not None else None,
        details=details or NO_DETAILS,
    )


def new_text(
    text: str, latest: Iterable[tuple[str, int]], beside: Iterable[str] = ()
) -> StoredText:
    """How to store ``text`` given the case's latest texts (digest, length): as the tail after
    one of them that it begins with, else whole; a tail that ends with one of the texts
    ``beside`` it in the same entry (the message appended to a transcript) refers to it."""
    key = digest(text)
    base, tail = None, text
    for candidate, length in latest:
        if TEXT_THRESHOLD <= length < len(text) and _begins_with(text, candidate, length):
            base, tail = candidate, text[length:]
            break
    for other in beside:
        if TEXT_THRESHOLD <= len(other) <= len(tail) and other != text and tail.endswith(other):
            return StoredText(key, len(text), base, tail[: len(tail) - len(other)], digest(other))
    return StoredText(digest=key, length=len(text), base=base, tail=tail)


def keep(stored: dict[str, StoredText], taken: Sequence[tuple[TextPlace, str]]) -> None:
    """Add to ``stored`` (one case's texts, oldest first) each taken-out text it does not have
    yet, built on its latest texts as :func:`new_text` says (the memory store's way of what
    the SQLite store does with its ``history_texts`` table)."""
    for n, (place, text) in enumerate(taken):
        if place.digest not in stored:
            last = itertools.islice(reversed(stored.values()), BASE_CANDIDATES)
            latest = [(t.digest, t.length) for t in last]
            stored[place.digest] = new_text(text, latest, beside=[t for _, t in taken[:n]])


def needed(stored: Mapping[str, StoredText], keys: Iterable[str]) -> set[str]:
    """The digests ``keys`` and every text they are built from."""
    found: set[str] = set()
    todo = [key for key in keys]
    while todo:
        key = todo.pop()
        if key not in found:
            found.add(key)
            part = stored[key]
            todo += [ref for ref in (part.base, part.suffix) if ref is not None]
    return found


def rebuild(stored: Mapping[str, StoredText], wanted: Iterable[str]) -> dict[str, str]:
    """The full texts of the ``wanted`` digests from a case's stored texts (a text is built
    from shorter ones only, so building them shortest first finds each part ready)."""
    texts: dict[str, str] = {}
    for key in sorted(needed(stored, wanted), key=lambda k: stored[k].length):
        part = stored[key]
        head = "" if part.base is None else texts[part.base]
        texts[key] = head + part.tail + ("" if part.suffix is None else texts[part.suffix])
    return texts
