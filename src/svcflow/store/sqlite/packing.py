"""The JSON texts a SQLite row repeats most, stored deflated: history details and SLA state.

Both are JSON objects of a few hundred bytes whose keys and many of whose values (timer
triggers, ISO moments, SLA event and status names, warnings) recur from row to row and case to
case, so they deflate well against a preset dictionary of those pieces even when each text is
short (issue 16: 603 B of details become about 150 B, 591 B of SLA state about 120 B).

A packed value is a BLOB: one byte naming the dictionary, then the text as raw DEFLATE
(:mod:`zlib`) against it. :func:`unpack` gives back the very same text, so the records read
back are identical to the ones written. Rows written before packing keep their JSON as TEXT
and are read as they are; SQLite's own JSON functions and the ``sqlite3`` shell still read
those, but not packed values (``svcflow`` reads both). The dictionary of a given first byte
never changes once released: a better dictionary gets a new byte and both stay readable.
"""

from __future__ import annotations

import zlib

__all__ = ["SHORTEST", "pack", "unpack"]

_FRAGMENTS = (
    # the less common pieces first: DEFLATE reaches the end of its dictionary most cheaply
    '"notes":"',
    '"fired_at":"',
    '"late_by_seconds":',
    '"level_name":"',
    '"round":',
    '"level":',
    '"warning":',
    '"escalation_escalated","at":"',
    '"escalation_stopped","at":"',
    '"escalation_started","at":"',
    '"acknowledged"',
    '"escalations":{',
    '"escalation":"',
    '"breached","at":"',
    '"warned","at":"',
    '"resumed","at":"',
    '"paused","at":"',
    '"restarted","at":"',
    '"met","at":"',
    ',"budget":"',
    ',"next_due":null}',
    "no recipient for role 'customer' on case ",
    ": the case has no customer and no customer_email or customer_phone field; start it"
    " with Engine.start(..., customer=...) or from a message",
    '"warnings":["',
    '"to":["customer"]}',
    '"notifications":[{"template":"',
    '"cancelled":["sla:',
    '"left":"',
    '"set":{',
    ',"keep":false}',
    ',"keep":true}',
    '"timers":[{"trigger":"sla:',
    ':warning:0","due_at":"2026-',
    ':breach","due_at":"2026-',
    '"esc:',
    '"sla":[{"metric":"',
    '"event":"started","at":"2026-',
    ',"cycle":1,"target":"',
    ' minutes","calendar":"24x7","used":"0s"',
    ' hours","calendar":"business","used":"',
    '{"metrics":{"first_response":{"status":"',
    '"resolution":{"status":"',
    '"stopped","cycle":1,"started_at":"2026-',
    '"running","cycle":1,"started_at":"2026-',
    '"paused","cycle":1,"started_at":"2026-',
    ',"target":0,"budget":86400.0,"calendar":"24x7","used":0.0,"since":"2026-',
    ',"target":0,"budget":900.0,"calendar":"24x7","used":0.0,"since":"2026-',
    ',"warned":[],"breached_at":null,"deadline":"2026-',
    ',"warned":[],"breached_at":null,"deadline":null,"next_due":null}',
    ',"next_due":"2026-',
    "T09:00:00+00:00",
    ":00.000000+00:00",
    ':00+00:00"',
)
_DICTIONARIES = {1: "".join(_FRAGMENTS).encode()}
_CURRENT = 1
_PREFIX = bytes([_CURRENT])
_LEVEL = 3  # still the fast strategy (1-3): 8% smaller than 1 for the same work; 4+ cost more
_WINDOW = -12  # raw DEFLATE, a 4 KiB window: the texts and the dictionary fit in it
_MEMORY = 5  # zlib's memLevel: the smaller tables cost less to set up per text


_PACKER = zlib.compressobj(_LEVEL, zlib.DEFLATED, _WINDOW, _MEMORY, zdict=_DICTIONARIES[_CURRENT])
"""A packer with the dictionary loaded, copied for each text (a third cheaper than setting the
dictionary up again)."""


SHORTEST = 64
"""Shorter texts stay JSON text: DEFLATE costs about 27,000 instructions a text whatever its
length (zlib's set-up and the end of the stream) and would save only a few bytes of them."""


def pack(text: str) -> str | bytes:
    """``text`` as a packed BLOB (see the module's docstring), or itself when shorter than
    :data:`SHORTEST`."""
    if len(text) < SHORTEST:
        return text
    packer = _PACKER.copy()
    return _PREFIX + packer.compress(text.encode()) + packer.flush()


def unpack(value: str | bytes) -> str:
    """The JSON text of a stored value: packed (BLOB) or as older rows keep it (TEXT)."""
    if isinstance(value, str):
        return value
    dictionary = _DICTIONARIES[value[0]]
    unpacker = zlib.decompressobj(_WINDOW, zdict=dictionary)
    return (unpacker.decompress(value[1:]) + unpacker.flush()).decode()
