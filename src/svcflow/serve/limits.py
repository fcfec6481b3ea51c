"""The request body limits, enforced before a handler sees the body: ``max_bytes`` for the API,
``max_message_bytes`` for ``/channels/`` (the webhooks of messaging platforms).

A request whose ``Content-Length`` is above the limit is answered 413 at once; a body sent
without a length (chunked) is counted as it arrives, and reading it fails with 413 as soon as
it passes the limit. Either way the handler never gets the body, so nothing of it is stored.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from svcflow.serve.problems import TOO_LARGE, problem_response

__all__ = ["CHANNELS", "BodyLimit"]

CHANNELS = "/channels/"
"""The path prefix of the messaging platforms' webhooks, which have a limit of their own."""


class BodyLimit:
    """ASGI middleware refusing request bodies above the limit with a 413 problem."""

    def __init__(self, app: ASGIApp, max_bytes: int, max_message_bytes: int) -> None:
        self.app, self.max_bytes, self.max_message_bytes = app, max_bytes, max_message_bytes

    def _limit(self, scope: Scope) -> tuple[int, str]:
        if str(scope.get("path", "")).startswith(CHANNELS):
            return self.max_message_bytes, "ServeSettings.max_message_bytes, --max-message"
        return self.max_bytes, "ServeSettings.max_body_bytes, svcflow serve --max-body"

    def _refusal(self, scope: Scope) -> str:
        limit, setting = self._limit(scope)
        return (
            f"the request body is larger than {limit} bytes, the most this server takes "
            f"({setting}); nothing was stored"
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit, _ = self._limit(scope)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            refusal = self._refusal(scope)
            refused = problem_response(TOO_LARGE, refusal, headers={"Connection": "close"})
            await refused(scope, receive, send)
            return
        counted = 0

        async def counting() -> Message:
            nonlocal counted
            message = await receive()
            counted += len(message.get("body", b""))
            if counted > limit:
                raise HTTPException(413, self._refusal(scope), headers={"Connection": "close"})
            return message

        await self.app(scope, counting, send)
