"""The PostgreSQL store: many worker processes on many machines share one database.

Needs the ``postgres`` extra (``pip install 'svcflow[postgres]'``: psycopg 3 and its pool).
Opened by URL, ``postgresql://user@host:port/database``, through the ``svcflow.stores``
entry-point group. :mod:`.schema` holds the tables and migrations, :mod:`.connection` the
adapter that runs the shared queries, :mod:`.store` connections, transactions and claims.
"""

from __future__ import annotations

from svcflow.store.postgres.schema import SCHEMA_VERSION
from svcflow.store.postgres.store import PostgresStore, open_postgres

__all__ = ["SCHEMA_VERSION", "PostgresStore", "open_postgres"]
