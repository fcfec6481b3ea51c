"""Finding a notification's outbox rows by the range of their keys.

The engine keys a notification ``<case id>:<revision>:<n>`` and each of its deliveries
``<notification key>:<recipient>``, so a delivery's key starts with its notification's key
and ``:``. The unique index of ``deliveries.key`` therefore finds a notification's rows (keys
from ``<key>:`` up to ``<key>;``, the next character) without an index of their own, which
cost about 96 bytes per row (issue 16). Rows whose keys do not start so (written through the
store by other code) stay in a partial index, ``deliveries_by_odd_notification``, which is
empty for what the engine writes, and the queries read both. (A case's rows were found the
same way from schema step 16 to 17; since step 18 they name their case by a small integer,
and ``deliveries_by_case`` indexes that, :mod:`.case_rows`.)

Text order here is SQLite's byte order. PostgreSQL compares ``deliveries.key`` in the
database's collation, so the PostgreSQL store keeps its two indexes and the plain queries
(:data:`PLAIN`).
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["KEYED", "PLAIN", "DeliveryLookup"]


class DeliveryLookup(NamedTuple):
    """A WHERE term that finds outbox rows: ``of_notification`` finds the rows of
    ``notifications.key`` (a correlated subquery)."""

    of_notification: str


PLAIN = DeliveryLookup(of_notification="notification_key = notifications.key")
KEYED = DeliveryLookup(
    of_notification="((notification_key = notifications.key AND key >= notifications.key || ':' "
    "AND key < notifications.key || ';') OR (notification_key = notifications.key AND "
    "substr(key, 1, length(notification_key) + 1) <> notification_key || ':'))",
)
"""The SQLite store's: key ranges, and the partial index of rows keyed otherwise."""
