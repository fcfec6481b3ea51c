"""Errors as RFC 9457 problem details (``application/problem+json``).

Every refusal the API answers is a JSON object with ``type`` (a URN naming the kind of
problem, listed in docs/serve.md), ``title`` (the same for every problem of that type),
``status``, ``detail`` (svcflow's own message: what was wrong, where, what would be valid) and
members of its own where a client can act on them: ``allowed`` triggers for a refused trigger,
``problems`` for invalid data, ``dead_letter_id`` for a rejected message.

An error svcflow did not raise on purpose is logged with its traceback and answered with 500
and an ``incident`` id to find it in the log; its text never reaches the client, since it may
hold a customer's data or the server's internals.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from svcflow import errors
from svcflow.privacy import masked_logger

__all__ = [
    "PROBLEM_RESPONSES",
    "ProblemBody",
    "ProblemKind",
    "declared",
    "install_problem_handlers",
    "problem_response",
]

MEDIA_TYPE = "application/problem+json"
_LOG = masked_logger("svcflow.serve")


class ProblemBody(BaseModel):
    """An RFC 9457 problem details object, as every error response carries it."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str


@dataclass(frozen=True, slots=True)
class ProblemKind:
    """One kind of problem: its HTTP status, the slug of its type URN and its title."""

    status: int
    slug: str
    title: str

    @property
    def type(self) -> str:
        return f"urn:svcflow:problem:{self.slug}"


NOT_FOUND = ProblemKind(404, "not-found", "No such resource")
CASE_NOT_FOUND = ProblemKind(404, "case-not-found", "No such case")
TRIGGER_REFUSED = ProblemKind(409, "trigger-not-allowed", "Trigger not allowed now")
CONFLICT = ProblemKind(409, "conflict", "The case was changed by another writer")
FORBIDDEN_ACTOR = ProblemKind(403, "actor-not-authorized", "The actor may not fire this trigger")
INVALID = ProblemKind(422, "invalid-request", "The request is not valid")
INVALID_DATA = ProblemKind(422, "invalid-data", "Invalid case data")
KEY_REUSED = ProblemKind(422, "idempotency-key-reused", "Idempotency key reused")
MESSAGE_REJECTED = ProblemKind(422, "message-rejected", "Message rejected and kept")
UNAUTHENTICATED = ProblemKind(401, "unauthenticated", "A valid API token is required")
SIGNATURE = ProblemKind(401, "bad-signature", "The message signature is not valid")
FORBIDDEN = ProblemKind(403, "scope-missing", "The API token lacks the scope this needs")
TOO_LARGE = ProblemKind(413, "body-too-large", "The request body is too large")
RATE_LIMITED = ProblemKind(429, "rate-limited", "Too many requests")
STORE_UNAVAILABLE = ProblemKind(503, "store-unavailable", "The store cannot take this now")
NOT_READY = ProblemKind(503, "not-ready", "The server is not ready")
REFUSED = ProblemKind(400, "refused", "The request was refused")
INTERNAL = ProblemKind(500, "internal-error", "Internal error")

# Most specific first: the first class an error is an instance of decides.
_KINDS: tuple[tuple[type[errors.SvcflowError], ProblemKind], ...] = (
    (errors.CaseNotFound, CASE_NOT_FOUND),
    (errors.UnknownChannel, NOT_FOUND),
    (errors.TransitionNotAllowed, TRIGGER_REFUSED),
    (errors.ConcurrencyConflict, CONFLICT),
    (errors.NotAuthorized, FORBIDDEN_ACTOR),
    (errors.IdempotencyKeyReused, KEY_REUSED),
    (errors.CaseDataError, INVALID_DATA),
    (errors.MessageRejected, MESSAGE_REJECTED),
    (errors.UnknownWorkflow, INVALID),
    (errors.InvalidQuery, INVALID),
    (errors.UnknownCustomer, INVALID),
    (errors.StoreFault, STORE_UNAVAILABLE),
    (errors.TokenRequired, UNAUTHENTICATED),
    (errors.ScopeMissing, FORBIDDEN),
)


def declared(status: int, description: str) -> dict[int | str, dict[str, Any]]:
    """A problem response of ``status`` for a route's ``responses=`` (the OpenAPI document)."""
    return {
        status: {
            "model": ProblemBody,
            "content": {MEDIA_TYPE: {}},
            "description": f"{description} (problem details)",
        }
    }


PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    **declared(401, "No valid API token"),
    **declared(403, "The token lacks the scope, or the actor the role"),
    **declared(413, "The request body is larger than the server takes"),
    **declared(422, "Invalid request or data"),
    **declared(429, "Too many requests from this token or address; see Retry-After"),
    **declared(500, "Internal error, with an incident id for the log"),
}
"""Responses every authenticated route declares in the OpenAPI document."""


def problem_response(
    kind: ProblemKind,
    detail: str,
    extra: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """A problem details response of ``kind`` saying ``detail``, with ``extra`` members."""
    body: dict[str, Any] = {
        "type": kind.type,
        "title": kind.title,
        "status": kind.status,
        "detail": detail,
    }
    body.update(extra or {})
    return JSONResponse(body, kind.status, headers=dict(headers or {}), media_type=MEDIA_TYPE)


def install_problem_handlers(app: FastAPI) -> None:
    """Answer every error the app meets as problem details."""
    app.add_exception_handler(errors.SvcflowError, _svcflow_error)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(Exception, _internal_error)


def _svcflow_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, errors.SvcflowError)
    kind = next((k for cls, k in _KINDS if isinstance(error, cls)), REFUSED)
    headers = None
    if isinstance(error, errors.StoreBusy):
        headers = {"Retry-After": "1"}
    elif isinstance(error, errors.TokenRequired):
        headers = {"WWW-Authenticate": 'Bearer realm="svcflow"'}
    return problem_response(kind, str(error), _members(error), headers)


def _members(error: errors.SvcflowError) -> dict[str, Any]:
    """The context a client can act on, as extension members."""
    if isinstance(error, errors.TransitionNotAllowed):
        return {"case_id": error.case_id, "state": error.state, "trigger": error.trigger,
                "allowed": list(error.allowed)}  # fmt: skip
    if isinstance(error, errors.ConcurrencyConflict):
        return {"case_id": error.case_id, "expected_revision": error.expected_revision,
                "actual_revision": error.actual_revision}  # fmt: skip
    if isinstance(error, errors.NotAuthorized):
        return {"case_id": error.case_id, "actor": error.actor, "required": list(error.required)}
    if isinstance(error, errors.CaseDataError):
        return {"problems": list(error.problems)}
    if isinstance(error, errors.MessageRejected):
        return {"dead_letter_id": error.dead_letter_id}
    if isinstance(error, errors.CaseNotFound):
        return {"case_id": error.case_id}
    return {}


def _invalid_request(request: Request, error: Exception) -> Response:
    assert isinstance(error, RequestValidationError)
    found = [
        {"loc": [str(part) for part in item.get("loc", ())], "msg": str(item.get("msg", ""))}
        for item in error.errors()
    ]
    listing = "; ".join(f"{'.'.join(item['loc'])}: {item['msg']}" for item in found)
    return problem_response(INVALID, f"invalid request: {listing}", {"errors": found})


def _http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    if error.status_code == 404:
        kind = NOT_FOUND
        detail = f"no such resource: {request.method} {request.url.path}; see /openapi.json"
    elif error.status_code == TOO_LARGE.status:
        kind, detail = TOO_LARGE, str(error.detail)
    else:
        kind = ProblemKind(error.status_code, f"http-{error.status_code}", str(error.detail))
        detail = f"{error.detail}: {request.method} {request.url.path}"
    return problem_response(kind, detail, headers=error.headers)


def _internal_error(request: Request, error: Exception) -> Response:
    incident = uuid.uuid4().hex[:12]
    _LOG.error(
        "incident %s: %s %s failed", incident, request.method, request.url.path, exc_info=error
    )
    detail = f"the server met an error it did not expect; incident {incident} is in its log"
    return problem_response(INTERNAL, detail, {"incident": incident})
