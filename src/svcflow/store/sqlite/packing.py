"""The JSON texts a SQLite row repeats most, stored packed: history details and SLA state.

Both are JSON objects of a few hundred bytes whose keys and many of whose values (timer
triggers, ISO moments, SLA event and status names, warnings) recur from row to row and case to
case, so they pack well against a preset dictionary of those pieces even when each text is
short (issue 16: 603 B of details become about 140 B, 591 B of SLA state about 120 B).

A packed value is a BLOB: one byte naming how it was packed, then the packed text.
:func:`unpack` gives back the very same text, so the records read back are identical to the
ones written. The bytes:

* ``1``: raw DEFLATE (:mod:`zlib`, a 4 KiB window) against :data:`_FRAGMENTS` as its preset
  dictionary. Written until the tenth pass of issue 16, and by schema steps 12 to 14.
* ``2``: a Zstandard frame without its magic number, content size, checksum or dictionary id,
  against a dictionary of the same fragments and entropy tables for texts of this kind
  (:data:`_ZSTD_TABLES`). Written since: about a third of DEFLATE's instructions (the C
  library's work on these texts: 27,000 against 71,000 a text) and 8% fewer bytes.

Rows written before packing keep their JSON as TEXT and are read as they are; SQLite's own
JSON functions and the ``sqlite3`` shell still read those, but not packed values (``svcflow``
reads every form). What a given first byte means never changes once released: a better
dictionary or method gets a new byte and every byte stays readable.
"""

from __future__ import annotations

import sys
import zlib
from typing import Final

if sys.version_info >= (3, 14):
    from compression import zstd
else:  # the standard library's module, backported (a dependency on these versions)
    from backports import zstd

__all__ = ["SHORTEST", "deflated", "pack", "pack_utf8", "unpack"]

_FRAGMENTS = (
    # the less common pieces first: both packers reach the end of the dictionary most cheaply
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
_DEFLATED, _ZSTANDARD = 1, 2  # the first byte of a packed value (see the module)
_CONTENT = "".join(_FRAGMENTS).encode()
_WINDOW = -12  # byte 1: raw DEFLATE, a 4 KiB window (the texts and the dictionary fit in it)

_ZSTD_TABLES = bytes.fromhex(
    "37a430ecf03d6e2b2e10c092a60d33300333300333043166689b442eaedce467cdda24723792b3b38786ddd4"
    "1a11a12d613ad2e4267417b3000000120b0be783c505000480c78cc8064a090a65b2a134268b484080e22884"
    "82280a54c02004666004060000000004d0a60682784c0e264910842062089b01000000000001000000040000"
    "0008000000"
)
"""Byte 2's dictionary before its content (:data:`_FRAGMENTS`): its header and the entropy
tables Zstandard starts a text's coding from, made once by ``zstd.finalize_dict`` (level 3) from
the history details of a demo week of every shipped workflow (not the benchmark's). Without
them a short text costs more bytes than DEFLATE (it would have to carry its own tables)."""
_ZSTD_DICTIONARY = zstd.ZstdDict(_ZSTD_TABLES + _CONTENT)
_MAGIC = b"\x28\xb5\x2f\xfd"  # a Zstandard frame's first four bytes, implied by byte 2
_OPTIONS: dict[int, int] = {
    zstd.CompressionParameter.compression_level: 3,  # 1 costs the same and packs 3% larger
    zstd.CompressionParameter.content_size_flag: 0,
    zstd.CompressionParameter.checksum_flag: 0,
    zstd.CompressionParameter.dict_id_flag: 0,
}
_PACKER = zstd.ZstdCompressor(options=_OPTIONS, zstd_dict=_ZSTD_DICTIONARY)
"""One packer with the dictionary loaded once, for every text (it ends a frame a call, and
serialises calls from several threads)."""
_FRAME: Final = zstd.ZstdCompressor.FLUSH_FRAME


SHORTEST = 64
"""Shorter texts stay JSON text: packing costs instructions whatever the text's length (the
frame's set-up and end) and would save only a few bytes of them."""


def pack(text: str) -> str | bytes:
    """``text`` as a packed BLOB (see the module's docstring), or itself when shorter than
    :data:`SHORTEST`: :func:`pack_utf8` of its UTF-8 bytes."""
    packed = pack_utf8(text.encode())
    return packed if isinstance(packed, str) else bytes(packed)


def pack_utf8(data: bytes) -> str | bytearray:
    """The text whose UTF-8 bytes are ``data`` as a packed BLOB (see the module's docstring),
    or the text itself when shorter than :data:`SHORTEST` characters; taking bytes, the JSON
    writer's, the text is not decoded and encoded again (issue 16). Packed as a
    ``bytearray``, which ``sqlite3`` binds as the same BLOB without looking for an adapter
    (:func:`svcflow.store.sqlite.rows.micros_param`)."""
    if len(data) < SHORTEST or (not data.isascii() and len(data.decode()) < SHORTEST):
        return data.decode()  # (bytes: never fewer than the text's characters)
    packed = bytearray(_PACKER.compress(data, _FRAME))
    del packed[:3]  # the magic number but its last byte, which becomes the kind
    packed[0] = _ZSTANDARD
    return packed


def unpack(value: str | bytes) -> str:
    """The JSON text of a stored value: packed (BLOB, either byte) or as older rows keep it
    (TEXT)."""
    if isinstance(value, str):
        return value
    if value[0] == _ZSTANDARD:
        return zstd.decompress(_MAGIC + value[1:], zstd_dict=_ZSTD_DICTIONARY).decode()
    if value[0] != _DEFLATED:
        raise ValueError(f"a packed value of an unknown kind ({value[0]}): a later svcflow's?")
    unpacker = zlib.decompressobj(_WINDOW, zdict=_CONTENT)
    return (unpacker.decompress(value[1:]) + unpacker.flush()).decode()


def deflated(text: str) -> bytes:
    """``text`` packed as byte 1 (DEFLATE), as rows written before byte 2 hold it: for tests
    and tools that make such rows."""
    packer = zlib.compressobj(3, zlib.DEFLATED, _WINDOW, 5, zdict=_CONTENT)
    return bytes([_DEFLATED]) + packer.compress(text.encode()) + packer.flush()
