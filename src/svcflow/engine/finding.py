"""The filters of ``Engine.find``, ``count`` and ``at_risk`` as a store query.

The engine adds what only it knows: "now" from its clock (a case is at risk when a running SLA
deadline falls within ``within`` of now) and durations written as text (``"30m"``).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from svcflow.clock import as_utc
from svcflow.durations import parse_duration
from svcflow.records import Customer
from svcflow.store.query import CaseQuery

__all__ = ["AT_RISK_WITHIN", "case_query"]

AT_RISK_WITHIN = timedelta(minutes=30)
"""How soon a running SLA deadline must fall to count as at risk, unless the caller says."""


def case_query(
    now: datetime,
    *,
    workflow: str | None = None,
    state: str | None = None,
    customer: str | Customer | None = None,
    assignee: str | None = None,
    queue: str | None = None,
    sla: str | None = None,
    within: timedelta | str = AT_RISK_WITHIN,
    updated_since: datetime | None = None,
    by_deadline: bool = False,
) -> CaseQuery:
    """The checked store query for these filters at ``now`` (``InvalidQuery`` if it cannot
    be answered)."""
    window = parse_duration(within) if isinstance(within, str) else within
    return CaseQuery(
        workflow=workflow,
        state=state,
        customer=customer.id if isinstance(customer, Customer) else customer,
        assignee=assignee,
        queue=queue,
        sla=sla,
        due_by=as_utc(now) + window,
        updated_since=None if updated_since is None else as_utc(updated_since),
        by_deadline=by_deadline,
    ).check()
