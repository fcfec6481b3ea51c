"""The request body limit, enforced before a handler sees the body.

A request whose ``Content-Length`` is above the limit is answered 413 at once; a body sent
without a length (chunked) is counted as it arrives, and reading it fails with 413 as soon as
it passes the limit. Either way the handler never gets the body, so nothing of it is stored.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from svcflow.serve.problems import TOO_LARGE, problem_response

__all__ = ["BodyLimit"]


class BodyLimit:
    """ASGI middleware refusing request bodies above ``max_bytes`` with a 413 problem."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    @property
    def refusal(self) -> str:
        return (
            f"the request body is larger than {self.max_bytes} bytes, the most this server "
            "takes (ServeSettings.max_body_bytes, svcflow serve --max-body); nothing was stored"
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            refused = problem_response(TOO_LARGE, self.refusal, headers={"Connection": "close"})
            await refused(scope, receive, send)
            return
        counted = 0

        async def counting() -> Message:
            nonlocal counted
            message = await receive()
            counted += len(message.get("body", b""))
            if counted > self.max_bytes:
                raise HTTPException(413, self.refusal, headers={"Connection": "close"})
            return message

        await self.app(scope, counting, send)
