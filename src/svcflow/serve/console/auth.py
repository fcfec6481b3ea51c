"""Who is using the console: a login with an API token, kept in an HttpOnly cookie.

The console has no passwords of its own. An agent signs in with an API token (scope ``read``
to look, ``write`` to act; ``admin`` holds both), which is checked by the same function the API
uses. The cookie holds the token itself, so any number of server processes accept it without
sharing session state, and revoking the token ends the session at once; it is ``HttpOnly``
(no script reads it), ``SameSite=Strict`` (no other site's page sends it) and ``Secure``
behind HTTPS. Every form that changes something also carries a CSRF token derived from the
session token with HMAC, which a page of another origin cannot read or compute.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["SESSION_COOKIE", "Agent", "Authenticate", "csrf_token", "csrf_valid"]

SESSION_COOKIE = "svcflow_console"


@dataclass(frozen=True, slots=True)
class Agent:
    """A signed-in person: the name fired triggers record as the actor, and the token's
    scopes."""

    name: str
    scopes: frozenset[str]

    def may(self, scope: str) -> bool:
        """Whether the token grants ``scope`` (``admin`` grants everything)."""
        return scope in self.scopes or "admin" in self.scopes


Authenticate = Callable[[str], Agent | None]
"""Checks an API token: the agent it belongs to, or ``None`` for an unknown or revoked one."""

_CSRF_PURPOSE = b"svcflow console form"


def csrf_token(session: str) -> str:
    """The CSRF token of the forms shown to the holder of the ``session`` token."""
    return hmac.new(session.encode("utf-8"), _CSRF_PURPOSE, hashlib.sha256).hexdigest()


def csrf_valid(session: str, given: str | None) -> bool:
    """Whether a submitted form's ``given`` CSRF token belongs to this session."""
    return given is not None and hmac.compare_digest(csrf_token(session), given)
