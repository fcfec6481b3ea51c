"""Size limits on inbound messages: what a hostile or broken sender can make svcflow parse,
store and thread.

Checked by intake before the channel plugin parses the payload (its size, the header fields of
an e-mail, and the keys and nesting of a structured or JSON payload) and after (how many
earlier messages it refers to).
A payload over a limit is refused with :class:`~svcflow.errors.MessageRejected` and kept as a
dead letter, but only its first ``kept_bytes`` bytes: the reason records its full size and
SHA-256, so the sender can be asked for it again and a copy can be matched.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["IntakeLimits", "LimitExceeded", "check_raw", "raw_bytes"]


@dataclass(frozen=True, slots=True)
class IntakeLimits:
    """Limits on one inbound payload; ``Engine(intake_limits=...)`` replaces the defaults.

    ``max_bytes`` bounds the raw payload (10 MB, as Zammad's default for e-mail);
    ``max_references`` the earlier messages one message may name (``References:`` ids and
    the like; its own id aside); ``max_keys`` the keys of a structured or JSON payload at all
    depths, ``max_fields`` its top-level keys (the fields of a form), ``max_depth`` its
    nesting; ``max_headers`` the header fields of a text payload with a header block (an
    e-mail's, before its first empty line); ``kept_bytes`` how much of a refused oversized
    payload the dead letter keeps.
    """

    max_bytes: int = 10_000_000
    max_references: int = 100
    max_keys: int = 10_000
    max_fields: int = 500
    max_depth: int = 32
    max_headers: int = 1_000
    kept_bytes: int = 64 * 1024

    def __post_init__(self) -> None:
        for name in self.__slots__:
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"IntakeLimits.{name} must be a positive integer, not {value!r}")


class LimitExceeded(Exception):
    """A payload over one of the limits: ``reason`` says which, by how much."""

    def __init__(self, reason: str, oversized: bool) -> None:
        super().__init__(reason)
        self.reason, self.oversized = reason, oversized


def raw_bytes(raw: Any) -> bytes | None:
    """The payload's bytes when it is bytes or text (``None`` for structured data)."""
    if isinstance(raw, bytes | bytearray | memoryview):
        return bytes(raw)
    if isinstance(raw, str):
        return raw.encode("utf-8", "surrogatepass")
    return None


def check_raw(raw: Any, limits: IntakeLimits) -> None:
    """Raise :class:`LimitExceeded` if ``raw`` is too large, or its structure too wide or
    deep; JSON text is looked into only when it is within ``max_bytes``."""
    data = raw_bytes(raw)
    if data is not None and len(data) > limits.max_bytes:
        digest = hashlib.sha256(data).hexdigest()
        raise LimitExceeded(
            f"the payload has {len(data):,} bytes, more than the limit of "
            f"{limits.max_bytes:,} (IntakeLimits.max_bytes); sha256 {digest}, the first "
            f"{min(limits.kept_bytes, len(data)):,} bytes are kept",
            oversized=True,
        )
    if data is not None:
        if data.lstrip()[:1] not in (b"{", b"["):
            _check_headers(data, limits)
            return
        try:
            raw = json.loads(data)
        except RecursionError:
            raise LimitExceeded(
                f"the payload is nested more than {limits.max_depth} levels deep "
                "(IntakeLimits.max_depth)",
                oversized=False,
            ) from None
        except ValueError:
            return
    if isinstance(raw, Mapping | list):
        _check_structure(raw, limits)


_HEADER_FIELD = re.compile(rb"^[!-9;-~]+[ \t]*:", re.MULTILINE)
"""The start of a header field (RFC 5322: printable characters but the colon, then a colon);
folded continuation lines start with a space and are not counted."""
_HEADER_END = re.compile(rb"\r?\n\r?\n")


def _check_headers(data: bytes, limits: IntakeLimits) -> None:
    """Count the header fields of a text payload's header block (up to its first empty line),
    before a parser builds an object for each."""
    end = _HEADER_END.search(data)
    block = data if end is None else data[: end.start()]
    count = sum(1 for _ in _HEADER_FIELD.finditer(block))
    if count > limits.max_headers:
        raise LimitExceeded(
            f"the message has {count:,} header fields, more than the limit of "
            f"{limits.max_headers:,} (IntakeLimits.max_headers)",
            oversized=False,
        )


def _check_structure(document: Mapping[str, Any] | list[Any], limits: IntakeLimits) -> None:
    if isinstance(document, Mapping) and len(document) > limits.max_fields:
        raise LimitExceeded(
            f"the payload has {len(document):,} top-level fields, more than the limit of "
            f"{limits.max_fields:,} (IntakeLimits.max_fields)",
            oversized=False,
        )
    keys = 0
    for depth, width in _walk(document, 1):
        if depth > limits.max_depth:
            raise LimitExceeded(
                f"the payload is nested more than {limits.max_depth} levels deep "
                "(IntakeLimits.max_depth)",
                oversized=False,
            )
        keys += width
        if keys > limits.max_keys:
            raise LimitExceeded(
                f"the payload has more than {limits.max_keys:,} keys (IntakeLimits.max_keys)",
                oversized=False,
            )


def _walk(node: Any, depth: int) -> Iterator[tuple[int, int]]:
    """(depth, number of keys) of every mapping and list under ``node``, depth first, without
    recursion (a hostile payload may be nested deeper than Python's stack)."""
    stack = [(node, depth)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, Mapping):
            yield level, len(item)
            stack.extend((value, level + 1) for value in item.values())
        elif isinstance(item, list):
            yield level, 0
            stack.extend((value, level + 1) for value in item)
