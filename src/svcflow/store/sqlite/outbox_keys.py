"""Finding a case's or a notification's outbox rows by the range of their keys.

The engine keys a notification ``<case id>:<revision>:<n>`` and each of its deliveries
``<notification key>:<recipient>``, so a delivery's key starts with its case's id and ``:``,
and with its notification's key and ``:``. The unique index of ``deliveries.key`` therefore
finds a case's rows (keys from ``<id>:`` up to ``<id>;``, the next character) and a
notification's without an index of their own, which cost about 96 bytes per row each (issue
16). Rows whose keys do not start so (written through the store by other code) stay in two
partial indexes, ``deliveries_by_odd_case`` and ``deliveries_by_odd_notification``, which are
empty for what the engine writes, and the queries read both.

Text order here is SQLite's byte order. PostgreSQL compares ``deliveries.key`` in the
database's collation, so the PostgreSQL store keeps its two indexes and the plain queries
(:data:`PLAIN`).
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["KEYED", "PLAIN", "DeliveryLookup"]


class DeliveryLookup(NamedTuple):
    """WHERE terms that find outbox rows: ``of_case`` takes :meth:`case_params`;
    ``of_notification`` finds the rows of ``notifications.key`` (a correlated subquery)."""

    of_case: str
    of_notification: str
    keyed: bool

    def case_params(self, case_id: str) -> tuple[str, ...]:
        """The parameters of :attr:`of_case` for ``case_id``."""
        if not self.keyed:
            return (case_id,)
        return (case_id, f"{case_id}:", f"{case_id};", case_id)


PLAIN = DeliveryLookup(
    of_case="case_id = ?",
    of_notification="notification_key = notifications.key",
    keyed=False,
)
KEYED = DeliveryLookup(
    of_case="((case_id = ? AND key >= ? AND key < ?) OR "
    "(case_id = ? AND substr(key, 1, length(case_id) + 1) <> case_id || ':'))",
    of_notification="((notification_key = notifications.key AND key >= notifications.key || ':' "
    "AND key < notifications.key || ';') OR (notification_key = notifications.key AND "
    "substr(key, 1, length(notification_key) + 1) <> notification_key || ':'))",
    keyed=True,
)
"""The SQLite store's: key ranges, and the partial indexes of rows keyed otherwise."""
