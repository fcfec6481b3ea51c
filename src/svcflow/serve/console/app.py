"""The console as routes: a Starlette application to mount anywhere (:func:`create_console`).

Every page is rendered on the server from a Jinja2 template (autoescaped: case data and history
come from customers); the only interaction is HTML links and forms, so there is no script and
no build step. Each route reads its form on the event loop (up to
``ConsoleSettings.max_form_bytes``, refused unread beyond it) and then runs its handler from
:mod:`svcflow.serve.console.pages` in a worker thread.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from urllib.parse import parse_qsl, urlencode

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from svcflow.engine import Engine
from svcflow.serve.console.auth import Authenticate
from svcflow.serve.console.pages import PAGES
from svcflow.serve.console.render import (
    ROUTE_PREFIX,
    Console,
    ConsoleSettings,
    Form,
    Refused,
    SignIn,
    problem_page,
    url,
)

__all__ = ["Endpoint", "Handler", "console_routes", "create_console", "endpoint"]

Handler = Callable[[Console, Request, Form], Response]
Endpoint = Callable[[Request], Awaitable[Response]]


def create_console(
    engine: Engine, authenticate: Authenticate, settings: ConsoleSettings | None = None
) -> Starlette:
    """The console application over ``engine``; ``authenticate`` checks the API tokens agents
    sign in with. Mount it under a path (``Mount("/console", app=console)``); its links follow
    the mount."""
    console = Console(engine, authenticate, settings or ConsoleSettings())
    return Starlette(routes=console_routes(lambda request: console))


def console_routes(find: Callable[[Request], Console], prefix: str = "") -> list[Route]:
    """Every console route below ``prefix``, each finding its :class:`Console` with ``find``
    (fixed, or taken from the application the routes are part of)."""
    return [
        Route(
            prefix + path,
            endpoint(find, handler),
            methods=[method],
            name=ROUTE_PREFIX + name,
        )
        for path, name, handler, method in PAGES
    ]


def endpoint(find: Callable[[Request], Console], handler: Handler) -> Endpoint:
    """The ASGI endpoint running ``handler``: refusals become pages, visitors sign in."""

    async def run(request: Request) -> Response:
        console = find(request)
        try:
            form = await _form(console, request) if request.method == "POST" else {}
            response: Response = await run_in_threadpool(handler, console, request, form)
            return response
        except SignIn:
            target = url(request, "login") + "?" + urlencode({"next": request.url.path})
            return RedirectResponse(target, status_code=303)
        except Refused as refused:
            return await run_in_threadpool(problem_page, console, request, refused)

    return run


async def _form(console: Console, request: Request) -> dict[str, str]:
    """The URL-encoded form of a POST, read up to the size limit."""
    limit = console.settings.max_form_bytes
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise _too_large(limit)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise Refused(400, "Bad form", f"the form is not UTF-8: {error}") from None
    try:
        return dict(parse_qsl(text, keep_blank_values=True, max_num_fields=_MOST_FIELDS))
    except ValueError:
        raise Refused(400, "Bad form", f"the form has more than {_MOST_FIELDS} fields") from None


_MOST_FIELDS = 50


def _too_large(limit: int) -> Refused:
    return Refused(
        413,
        "Form too large",
        f"the form is larger than {limit:,} bytes (ConsoleSettings.max_form_bytes)",
    )
