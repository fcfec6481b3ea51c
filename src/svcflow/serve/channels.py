"""``POST /channels/{channel}``: a messaging platform's webhook, handed raw to ``ingest``.

The body is read whole (within the body limit), its signature checked by the channel's plugin
(``svcflow_verify_request``), and only then given, unchanged, to ``Engine.ingest``: the
plugin parses it, intake matches, classifies and starts or fires. A refused signature is
answered 401 and nothing is stored (an unsigned request is not a customer's message, and
keeping what anyone sends would let anyone fill the store); the refusal is logged with the
channel, never the body. A message ``ingest`` rejects is kept as a dead letter, as in every
other use of ``ingest``, and answered 422 with its ``dead_letter_id``; a message held for an
agent (``intake.unverified: hold``) is answered 202 with its dead letter.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse

from svcflow.errors import MessageHeld
from svcflow.privacy import masked_logger
from svcflow.serve.auth import require
from svcflow.serve.context import Served, served
from svcflow.serve.models import CaseOut, IngestOut
from svcflow.serve.problems import PROBLEM_RESPONSES, SIGNATURE, declared, problem_response
from svcflow.serve.tokens import Token

__all__ = ["router"]

router = APIRouter(prefix="/channels", tags=["channels"])
_LOG = masked_logger("svcflow.serve")


@router.post(
    "/{channel}",
    summary="Take an inbound message of a channel (the raw body, as the platform sent it)",
    responses={
        **PROBLEM_RESPONSES,
        **declared(401, "No valid API token, or the platform's signature is not valid"),
        **declared(404, "No plugin reads this channel"),
        **declared(422, "The message was rejected and kept as a dead letter"),
        202: {"model": IngestOut, "description": "Held for an agent, kept as a dead letter"},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": "the platform's payload, unchanged (JSON, an e-mail, a form...)",
            "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}},
        }
    },
)
async def ingest_message(
    channel: str,
    request: Request,
    context: Annotated[Served, Depends(served)],
    token: Annotated[Token, Depends(require("ingest"))],
) -> Any:
    body = await request.body()
    headers = {name.lower(): value for name, value in request.headers.items()}
    return await run_in_threadpool(_take, context, channel, body, headers, str(request.url))


def _take(context: Served, channel: str, body: bytes, headers: dict[str, str], url: str) -> Any:
    """Verify, then ingest (in a worker thread: plugins and the store may block)."""
    if not context.engine.plugins.verify_request(channel, body, headers, url):
        _LOG.warning("svcflow serve refused a %s request: the signature is not valid", channel)
        detail = (
            f"the request's signature is not valid for channel '{channel}' (checked by its "
            "plugin); nothing was stored"
        )
        return problem_response(SIGNATURE, detail)
    try:
        taken = context.engine.ingest(channel, body)
    except MessageHeld as held:
        answer = IngestOut(outcome="held", case=None, dead_letter_id=held.dead_letter_id)
        return JSONResponse(answer.model_dump(mode="json"), status_code=202)
    return IngestOut(outcome=taken.outcome, case=CaseOut.from_record(taken.case))
