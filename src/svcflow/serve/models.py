"""The API's request and response bodies, as pydantic models (the OpenAPI document's schemas).

Responses are built from svcflow's records with ``from_record``; case data and history details
are JSON as :func:`svcflow.records.plain` writes them (datetimes as ISO 8601, durations as
``1h30m``), the same shape the history holds whatever the store.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from svcflow.durations import format_duration
from svcflow.records import Case, HistoryEntry, plain
from svcflow.sla.status import SlaStatus

__all__ = [
    "CaseCount",
    "CaseOut",
    "CasePage",
    "FireRequest",
    "HistoryOut",
    "IngestOut",
    "SlaOut",
    "StartRequest",
    "TriggersOut",
]

_STRICT = ConfigDict(extra="forbid")


class StartRequest(BaseModel):
    """Start a case of the newest version of ``workflow``."""

    model_config = _STRICT

    workflow: str = Field(description="the workflow's id, e.g. complaint")
    data: dict[str, Any] = Field(default_factory=dict, description="the case's data fields")
    actor: str | None = Field(
        default=None, description="who starts it, for the history (default: api:<token name>)"
    )
    customer: str | None = Field(default=None, description="the id of the customer who owns it")


class FireRequest(BaseModel):
    """Fire a trigger on a case."""

    model_config = _STRICT

    data: dict[str, Any] = Field(default_factory=dict, description="fields the event sets")
    actor: str | None = Field(
        default=None,
        description="the person firing it, checked against the transition's by:/not_by: "
        "(default: api:<token name>)",
    )
    expected_revision: int | None = Field(
        default=None, description="refuse with 409 unless the case is still at this revision"
    )


class CaseOut(BaseModel):
    """A case as last committed."""

    id: str
    workflow: str
    version: int = Field(description="the workflow version the case runs on")
    state: str
    data: dict[str, Any]
    revision: int = Field(description="counts committed changes (optimistic locking)")
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_record(cls, case: Case) -> CaseOut:
        return cls(
            id=case.id,
            workflow=case.workflow,
            version=case.version,
            state=case.state,
            data=plain(case.data),
            revision=case.revision,
            created_at=case.created_at,
            updated_at=case.updated_at,
        )


class CasePage(BaseModel):
    """One page of a search, oldest first; ``next`` is the ``after`` of the next page."""

    cases: list[CaseOut]
    next: str | None = Field(description="pass as 'after' for the next page; null on the last")


class CaseCount(BaseModel):
    """How many cases a search finds (no case is read)."""

    count: int


class HistoryOut(BaseModel):
    """One committed event of a case."""

    seq: int
    at: datetime
    actor: str
    kind: str
    trigger: str | None
    from_state: str | None
    to_state: str
    payload: dict[str, Any] | None
    version: int
    details: dict[str, Any]

    @classmethod
    def from_record(cls, entry: HistoryEntry) -> HistoryOut:
        return cls(
            seq=entry.seq,
            at=entry.at,
            actor=entry.actor,
            kind=entry.kind,
            trigger=entry.trigger,
            from_state=entry.from_state,
            to_state=entry.to_state,
            payload=None if entry.payload is None else plain(entry.payload),
            version=entry.version,
            details=plain(entry.details),
        )


class SlaOut(BaseModel):
    """One SLA metric of a case now; durations are business time as ``1h30m`` text."""

    metric: str
    status: str = Field(description="running, paused, met, breached or cancelled")
    cycle: int
    target: str
    calendar: str
    budget: str
    elapsed: str
    remaining: str = Field(description="negative once breached")
    started_at: datetime
    deadline: datetime | None
    breached_at: datetime | None
    warnings_fired: list[int]

    @classmethod
    def from_record(cls, status: SlaStatus) -> SlaOut:
        return cls(
            metric=status.metric,
            status=status.status,
            cycle=status.cycle,
            target=status.target,
            calendar=status.calendar,
            budget=format_duration(status.budget),
            elapsed=format_duration(status.elapsed),
            remaining=format_duration(status.remaining),
            started_at=status.started_at,
            deadline=status.deadline,
            breached_at=status.breached_at,
            warnings_fired=list(status.warnings_fired),
        )


class TriggersOut(BaseModel):
    """The triggers that may fire on the case now (for ``actor``, when given)."""

    case_id: str
    state: str
    revision: int
    triggers: list[str]


class IngestOut(BaseModel):
    """What became of an inbound message."""

    outcome: str = Field(description="started, replied, recorded, duplicate or held")
    case: CaseOut | None = Field(description="the case after the message; null when held")
    dead_letter_id: int | None = Field(
        default=None, description="where a held message is kept for an agent"
    )
