"""Who is calling: the ``Authorization: Bearer <token>`` header, checked against the tokens.

Every route but ``/health`` depends on :func:`require` with the scope it needs. A missing or
unknown token is answered 401 with a ``WWW-Authenticate: Bearer`` header
(:class:`~svcflow.errors.TokenRequired`); a token without the scope 403, naming the scope
(:class:`~svcflow.errors.ScopeMissing`). Both are problem details.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends
from starlette.requests import HTTPConnection

from svcflow.errors import ScopeMissing, TokenRequired
from svcflow.serve.context import Served, served
from svcflow.serve.tokens import SCOPES, Token

__all__ = ["require"]


def require(scope: str) -> Callable[[HTTPConnection, Served], Token]:
    """A FastAPI dependency: the caller's token, when it holds ``scope``."""
    if scope not in SCOPES:
        raise ValueError(f"unknown scope {scope!r}; scopes: {', '.join(SCOPES)}")

    def check(connection: HTTPConnection, context: Annotated[Served, Depends(served)]) -> Token:
        header = connection.headers.get("authorization", "")
        kind, _, presented = header.partition(" ")
        if not header:
            raise TokenRequired("no API token in the request")
        if kind.lower() != "bearer" or not presented.strip():
            raise TokenRequired("the Authorization header is not 'Bearer <token>'")
        token = context.tokens.authenticate(presented.strip())
        if token is None:
            raise TokenRequired("the API token is not known to this server, or was revoked")
        if not token.allows(scope):
            raise ScopeMissing(token.id, token.scopes, scope, SCOPES)
        return token

    return check
