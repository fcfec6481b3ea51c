"""The console inside ``svcflow serve``'s application: :func:`router`, which ``create_app``
includes, serving the console at ``/console/`` over the app's own engine and API tokens.

Each request finds the engine and the token store on the application
(:func:`svcflow.serve.context.served`); the console's settings are
``app.state.console_settings`` when set (``svcflow serve --demo`` sets them), else the
defaults. An API token signs an agent in under the token's name.
"""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request

from svcflow.serve.console.app import console_routes
from svcflow.serve.console.auth import Agent, Authenticate
from svcflow.serve.console.render import Console, ConsoleSettings
from svcflow.serve.context import served
from svcflow.serve.tokens import TokenStore

__all__ = ["PREFIX", "SETTINGS_STATE", "agents_of", "router"]

PREFIX = "/console"
SETTINGS_STATE = "console_settings"
"""The attribute of ``app.state`` that holds the console's :class:`ConsoleSettings`."""


def router() -> APIRouter:
    """The console's routes under :data:`PREFIX`, left out of the OpenAPI document."""
    found = APIRouter(include_in_schema=False)
    found.routes.extend(console_routes(_console, PREFIX))
    return found


def _console(request: Request) -> Console:
    context = served(request)
    settings = getattr(request.app.state, SETTINGS_STATE, None) or ConsoleSettings()
    return Console(context.engine, agents_of(context.tokens), settings)


def agents_of(tokens: TokenStore) -> Authenticate:
    """Sign-in with the server's API tokens: the agent is named after the token."""

    def check(presented: str) -> Agent | None:
        token = tokens.authenticate(presented)
        if token is None or token.revoked_at is not None:
            return None
        return Agent(token.name, frozenset(token.scopes))

    return check
