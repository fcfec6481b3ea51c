"""A :class:`~svcflow.store.query.CaseQuery` as SQL both SQLite and PostgreSQL run.

Every filter is a comparison on a column of ``cases`` that an index serves (schema step 9 in
SQLite, 5 in PostgreSQL); pages continue after their cursor with a row-value comparison on the
order's key, ``(created_at, id)`` or ``(sla_due, id)``, which the same indexes serve.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from svcflow.store.query import CaseQuery
from svcflow.store.sqlite.rows import MomentForm

__all__ = ["count_sql", "page_sql"]

_EQUAL = (
    ("workflow", "workflow"),
    ("state", "state"),
    ("customer", "customer_id"),
    ("assignee", "assignee"),
    ("queue", "queue"),
)


def _where(query: CaseQuery, form: MomentForm) -> tuple[list[str], list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    for name, column in _EQUAL:
        wanted = getattr(query, name)
        if wanted is not None:
            clauses.append(f"{column} = ?")
            params.append(wanted)
    if query.updated_since is not None:
        clauses.append("updated_at >= ?")
        params.append(form(query.updated_since))
    if query.sla in ("running", "at_risk") or query.by_deadline:
        clauses.append("sla_due IS NOT NULL")
    if query.sla == "at_risk" and query.due_by is not None:
        clauses.append("sla_due <= ?")
        params.append(form(query.due_by))
    if query.sla == "breached":
        clauses.append("sla_breached = 1")
    return clauses, params


def count_sql(query: CaseQuery, form: MomentForm) -> tuple[str, list[Any]]:
    """``SELECT count(*)`` of the cases ``query`` finds (moments compared in ``form``, as the
    store keeps them)."""
    clauses, params = _where(query, form)
    where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
    return f"SELECT count(*) FROM cases{where}", params


def page_sql(
    query: CaseQuery,
    columns: str,
    after: tuple[datetime, str] | None,
    limit: int | None,
    form: MomentForm,
) -> tuple[str, list[Any]]:
    """``SELECT columns, <order key>`` of the cases ``query`` finds after ``after``, in its
    order, at most ``limit`` rows (all when None); moments compared in ``form``."""
    clauses, params = _where(query, form)
    key = "sla_due" if query.by_deadline else "created_at"
    if after is not None:
        clauses.append(f"({key}, id) > (?, ?)")
        params.extend((form(after[0]), after[1]))
    where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
    page = ""
    if limit is not None:
        page = " LIMIT ?"
        params.append(limit)
    return f"SELECT {columns}, {key} FROM cases{where} ORDER BY {key}, id{page}", params
