"""The cases API: start, fire, get, history, SLA clocks, allowed triggers, search.

Each route is one call on the engine (``Engine.start``, ``fire``, ``get``, ``history``,
``sla``, ``triggers``, ``find``), so it keeps every guarantee the embedding guide gives: one
transaction per event, a retried ``Idempotency-Key`` answered with the first result, a stale
``expected_revision`` refused, a refused trigger leaving the case unchanged. The ``actor`` a
request names is who the history records and whose roles ``by:``/``not_by:`` check: the token
authenticates the calling system, which vouches for its people, as an embedding host does.
Without one, the actor is ``api:<token name>``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Query, Response

from svcflow.serve.auth import require
from svcflow.serve.context import Served, served
from svcflow.serve.models import (
    CaseCount,
    CaseOut,
    CasePage,
    FireRequest,
    HistoryOut,
    SlaOut,
    StartRequest,
    TriggersOut,
)
from svcflow.serve.problems import PROBLEM_RESPONSES, declared
from svcflow.serve.tokens import Token

__all__ = ["router"]

router = APIRouter(prefix="/cases", tags=["cases"])

Context = Annotated[Served, Depends(served)]
Reader = Annotated[Token, Depends(require("read"))]
Writer = Annotated[Token, Depends(require("write"))]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=200,
        description="a key of the client's choosing: a retry with the same key and request "
        "is answered with the first result and does nothing again",
    ),
]


_NOT_FOUND = declared(404, "No case with this id")
_REFUSED = declared(
    409,
    "The trigger is not allowed now (with the allowed ones), or the case was changed by another "
    "writer",
)


class Filters:
    """The search filters of ``GET /cases`` and ``GET /cases/count``, as ``Engine.find`` takes
    them (each served by an index of the store)."""

    def __init__(
        self,
        workflow: Annotated[str | None, Query(description="only cases of this workflow")] = None,
        state: Annotated[str | None, Query(description="only cases in this state")] = None,
        customer: Annotated[str | None, Query(description="only this customer's cases")] = None,
        assignee: Annotated[str | None, Query(description="the case's assignee field")] = None,
        queue: Annotated[str | None, Query(description="the case's queue field")] = None,
        sla: Annotated[
            Literal["running", "at_risk", "breached"] | None,
            Query(description="running; at_risk (a deadline within 'within'); breached"),
        ] = None,
        within: Annotated[
            str | None, Query(description="for sla=at_risk, e.g. 1h (default 30m)")
        ] = None,
        updated_since: Annotated[
            datetime | None, Query(description="only cases whose last event is at or after it")
        ] = None,
    ) -> None:
        self.given: dict[str, Any] = {
            "workflow": workflow,
            "state": state,
            "customer": customer,
            "assignee": assignee,
            "queue": queue,
            "sla": sla,
            "updated_since": updated_since,
        }
        if within is not None:
            self.given["within"] = within


@router.get("", summary="Search cases, oldest first, a page at a time", responses=PROBLEM_RESPONSES)
def search_cases(
    context: Context,
    token: Reader,
    filters: Annotated[Filters, Depends()],
    after: Annotated[str | None, Query(description="the 'next' of the previous page")] = None,
    limit: Annotated[int | None, Query(ge=1, description="cases per page")] = None,
) -> CasePage:
    settings = context.settings
    size = min(limit or settings.default_page, settings.max_page)
    page = context.engine.find(**filters.given, limit=size, after=after)
    return CasePage(cases=[CaseOut.from_record(case) for case in page], next=page.next)


@router.get("/count", summary="How many cases a search finds", responses=PROBLEM_RESPONSES)
def count_cases(
    context: Context, token: Reader, filters: Annotated[Filters, Depends()]
) -> CaseCount:
    return CaseCount(count=context.engine.count(**filters.given))


@router.post(
    "",
    status_code=201,
    summary="Start a case",
    responses={**PROBLEM_RESPONSES, 201: {"description": "The case, as started"}},
)
def start_case(
    request: StartRequest,
    response: Response,
    context: Context,
    token: Writer,
    idempotency_key: IdempotencyKey = None,
) -> CaseOut:
    case = context.engine.start(
        request.workflow,
        request.data,
        request.actor or _actor(token),
        idempotency_key,
        customer=request.customer,
    )
    response.headers["Location"] = f"/cases/{case.id}"
    return CaseOut.from_record(case)


@router.post(
    "/{case_id}/triggers/{trigger}",
    summary="Fire a trigger on a case",
    responses={**PROBLEM_RESPONSES, **_NOT_FOUND, **_REFUSED},
)
def fire_trigger(
    case_id: str,
    trigger: str,
    request: FireRequest,
    context: Context,
    token: Writer,
    idempotency_key: IdempotencyKey = None,
) -> CaseOut:
    case = context.engine.fire(
        case_id,
        trigger,
        request.data,
        request.actor or _actor(token),
        idempotency_key,
        expected_revision=request.expected_revision,
    )
    return CaseOut.from_record(case)


@router.get(
    "/{case_id}", summary="A case as last committed", responses={**PROBLEM_RESPONSES, **_NOT_FOUND}
)
def get_case(case_id: str, context: Context, token: Reader) -> CaseOut:
    return CaseOut.from_record(context.engine.get(case_id))


@router.get(
    "/{case_id}/history",
    summary="Every committed event of a case, oldest first",
    responses={**PROBLEM_RESPONSES, **_NOT_FOUND},
)
def case_history(case_id: str, context: Context, token: Reader) -> list[HistoryOut]:
    return [HistoryOut.from_record(entry) for entry in context.engine.history(case_id)]


@router.get(
    "/{case_id}/sla",
    summary="The case's SLA clocks now: status, business time used and left, deadline",
    responses={**PROBLEM_RESPONSES, **_NOT_FOUND},
)
def case_sla(case_id: str, context: Context, token: Reader) -> list[SlaOut]:
    return [SlaOut.from_record(status) for status in context.engine.sla(case_id)]


@router.get(
    "/{case_id}/triggers",
    summary="The triggers that may fire now (for an actor, when given)",
    responses={**PROBLEM_RESPONSES, **_NOT_FOUND},
)
def allowed_triggers(
    case_id: str,
    context: Context,
    token: Reader,
    actor: Annotated[str | None, Query(description="only what this person may fire")] = None,
) -> TriggersOut:
    case = context.engine.get(case_id)
    allowed = context.engine.triggers(case_id, actor)
    return TriggersOut(case_id=case.id, state=case.state, revision=case.revision, triggers=allowed)


def _actor(token: Token) -> str:
    return f"api:{token.name}"
