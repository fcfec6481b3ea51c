"""The SQLite store's customers: the ``customers`` and ``contact_points`` tables.

Functions over a connection the store opened (inside its write transaction for ``save``), so the
store module keeps to wiring. A contact point's primary key is its channel and address, so one
address identifies at most one customer.
"""

from __future__ import annotations

import sqlite3
from datetime import date

from svcflow.errors import ContactPointTaken
from svcflow.records import ContactPoint, Customer
from svcflow.store.sqlite.rows import from_ts, ts

__all__ = ["load_customer", "owner_of_contact", "save_customer"]


def save_customer(db: sqlite3.Connection, customer: Customer) -> None:
    """Create or replace ``customer`` with its contact points; ``ContactPointTaken`` when one
    belongs to another customer (the caller's transaction then writes nothing)."""
    for point in customer.contact_points:
        owner = owner_of_contact(db, point.channel, point.address)
        if owner is not None and owner != customer.id:
            raise ContactPointTaken(point.channel, point.address, owner, customer.id)
    db.execute(
        "INSERT INTO customers (id, name, locale, segment, preferred, timezone, birthday, since, "
        "left_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (id) DO UPDATE SET name = excluded.name, locale = excluded.locale, "
        "segment = excluded.segment, preferred = excluded.preferred, "
        "timezone = excluded.timezone, birthday = excluded.birthday, since = excluded.since, "
        "left_at = excluded.left_at",
        (
            customer.id,
            customer.name,
            customer.locale,
            customer.segment,
            customer.preferred,
            customer.timezone,
            None if customer.birthday is None else customer.birthday.isoformat(),
            None if customer.since is None else customer.since.isoformat(),
            None if customer.left_at is None else ts(customer.left_at),
        ),
    )
    db.execute("DELETE FROM contact_points WHERE customer_id = ?", (customer.id,))
    db.executemany(
        "INSERT INTO contact_points (channel, address, customer_id, verified, position) "
        "VALUES (?, ?, ?, ?, ?)",
        [
            (point.channel, point.address, customer.id, int(point.verified), position)
            for position, point in enumerate(customer.contact_points)
        ],
    )


def load_customer(db: sqlite3.Connection, customer_id: str) -> Customer | None:
    row = db.execute(
        "SELECT name, locale, segment, preferred, timezone, birthday, since, left_at "
        "FROM customers WHERE id = ?",
        (customer_id,),
    ).fetchone()
    if row is None:
        return None
    points = db.execute(
        "SELECT channel, address, verified FROM contact_points WHERE customer_id = ? "
        "ORDER BY position",
        (customer_id,),
    ).fetchall()
    return Customer(
        id=customer_id,
        name=row[0],
        locale=row[1],
        segment=row[2],
        contact_points=tuple(ContactPoint(str(c), str(a), bool(v)) for c, a, v in points),
        preferred=row[3],
        timezone=row[4],
        birthday=None if row[5] is None else date.fromisoformat(row[5]),
        since=None if row[6] is None else date.fromisoformat(row[6]),
        left_at=None if row[7] is None else from_ts(row[7]),
    )


def owner_of_contact(db: sqlite3.Connection, channel: str, address: str) -> str | None:
    row = db.execute(
        "SELECT customer_id FROM contact_points WHERE channel = ? AND address = ?",
        (channel, address),
    ).fetchone()
    return None if row is None else str(row[0])
