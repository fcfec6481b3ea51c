"""The console's pages and forms as a Starlette application (mounted at ``/console``).

Every page is rendered on the server from a Jinja2 template (autoescaped: case data and history
come from customers); the only interaction is HTML links and forms, so there is no script and no
build step. A form that changes something is a ``POST`` with the session's CSRF token, answered
by a redirect to the page that shows the result (so reloading never fires twice); a refused
form shows the page again with svcflow's message. Engine calls run on the event loop, one at a
time: the console serves a desk of agents, not the API's traffic.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo

import jinja2
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from svcflow.clock import ManualClock
from svcflow.engine import Engine
from svcflow.errors import (
    CaseDataError,
    CaseNotFound,
    ConcurrencyConflict,
    FieldsNotReadable,
    NotAuthorized,
    SvcflowError,
    TransitionNotAllowed,
)
from svcflow.report import build_report, render_html
from svcflow.serve.console.auth import SESSION_COOKIE, Agent, Authenticate, csrf_token, csrf_valid
from svcflow.serve.console.fields import parse_fields
from svcflow.serve.console.i18n import LANGUAGE_COOKIE, LOCALES, Language, choose_locale, language
from svcflow.serve.console.views import build_board, case_view, workflow_view

__all__ = ["ConsoleSettings", "create_console"]

_LANGUAGE_NAMES = {"en": "English", "zh-CN": "简体中文"}
_TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("svcflow.serve.console", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


@dataclass(frozen=True, slots=True)
class ConsoleSettings:
    """The console's limits and choices, each with its default.

    ``at_risk_within``: a running SLA clock with at most this much business time left is on the
    board as at risk. ``queue_field``: the case data field that names a case's queue.
    ``time_zone``: the IANA zone times are shown in. ``max_form_bytes``: a larger form is
    refused (413) unread. ``clock_advance``: offer "advance the clock" (honoured only when the
    engine runs on a :class:`~svcflow.clock.ManualClock`, as ``svcflow serve --demo`` does).
    """

    at_risk_within: timedelta = timedelta(minutes=30)
    queue_field: str = "queue"
    time_zone: str = "UTC"
    max_form_bytes: int = 16 * 1024
    clock_advance: bool = False


class _Refused(Exception):
    """A request the console answers with a page naming the problem, and this status."""

    def __init__(self, status: int, title: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.title, self.detail = status, title, detail


@dataclass
class _Console:
    """What every handler needs: the engine, the token check and the settings."""

    engine: Engine
    authenticate: Authenticate
    settings: ConsoleSettings

    @property
    def manual_clock(self) -> ManualClock | None:
        clock = self.engine.clock
        if self.settings.clock_advance and isinstance(clock, ManualClock):
            return clock
        return None


def create_console(
    engine: Engine, authenticate: Authenticate, settings: ConsoleSettings | None = None
) -> Starlette:
    """The console application over ``engine``; ``authenticate`` checks the API tokens agents
    sign in with. Mount it under a path (``app.mount("/console", console)``); its links follow
    the mount."""
    console = _Console(engine, authenticate, settings or ConsoleSettings())

    def page(handler: Any) -> Any:
        async def endpoint(request: Request) -> Response:
            try:
                response: Response = await handler(console, request)
                return response
            except _SignIn:
                login = request.url_for("login").include_query_params(next=request.url.path)
                return RedirectResponse(str(login.path) + "?" + login.query, status_code=303)
            except _Refused as refused:
                return _problem_page(console, request, refused)

        return endpoint

    routes = [
        Route("/", page(_board), name="board"),
        Route("/login", page(_login_form), name="login", methods=["GET"]),
        Route("/login", page(_login), name="login_post", methods=["POST"]),
        Route("/logout", page(_logout), name="logout", methods=["POST"]),
        Route("/lang/{locale}", page(_switch_language), name="language"),
        Route("/cases/{case_id}", page(_case), name="case"),
        Route("/cases/{case_id}/fire", page(_fire), name="fire", methods=["POST"]),
        Route("/workflows", page(_workflows), name="workflows"),
        Route("/workflows/{workflow}", page(_workflow), name="workflow"),
        Route("/workflows/{workflow}/start", page(_start), name="start", methods=["POST"]),
        Route("/report", page(_report), name="report"),
        Route("/report.html", page(_report_page), name="report_page"),
        Route("/clock/advance", page(_advance_clock), name="advance_clock", methods=["POST"]),
    ]
    return Starlette(routes=routes)


# -- rendering ------------------------------------------------------------------------------------


def _language(request: Request) -> Language:
    return language(
        choose_locale(request.cookies.get(LANGUAGE_COOKIE), request.headers.get("accept-language"))
    )


def _render(
    console: _Console,
    request: Request,
    template: str,
    title: str,
    status: int = 200,
    **values: Any,
) -> HTMLResponse:
    lang = _language(request)
    agent = _signed_in(console, request)
    session = request.cookies.get(SESSION_COOKIE, "")
    context = {
        "_": lang.gettext,
        "lang": lang,
        "zone": ZoneInfo(console.settings.time_zone),
        "now": console.engine.clock.now(),
        "agent": agent,
        "csrf": csrf_token(session) if agent else "",
        "manual_clock": console.manual_clock is not None and agent is not None,
        "may_write": agent is not None and agent.may("write"),
        "languages": [(code, _LANGUAGE_NAMES[code]) for code in LOCALES],
        "url": lambda name, **params: request.url_for(name, **params).path,
        "title": lang.gettext(title),
        "problem": None,
        "fields": "",
        **values,
    }
    html = _TEMPLATES.get_template(template).render(context)
    return HTMLResponse(html, status_code=status, headers=_NO_STORE)


_NO_STORE = {"Cache-Control": "no-store", "X-Frame-Options": "SAMEORIGIN"}


def _problem_page(console: _Console, request: Request, refused: _Refused) -> HTMLResponse:
    lang = _language(request)
    problem = {"title": lang.gettext(refused.title), "detail": refused.detail}
    return _render(
        console, request, "problem.html.j2", refused.title, refused.status, problem=problem
    )


def _go(request: Request, name: str, **params: str) -> RedirectResponse:
    return RedirectResponse(request.url_for(name, **params).path, status_code=303)


# -- sessions -------------------------------------------------------------------------------------


def _signed_in(console: _Console, request: Request) -> Agent | None:
    token = request.cookies.get(SESSION_COOKIE)
    return console.authenticate(token) if token else None


def _agent(console: _Console, request: Request, scope: str = "read") -> Agent:
    """The signed-in agent holding ``scope``; a visitor is sent to the sign-in page."""
    agent = _signed_in(console, request)
    if agent is None:
        raise _SignIn()
    if not agent.may(scope):
        raise _Refused(
            403,
            "Not allowed",
            f"this needs an API token of scope {scope}; {agent.name}'s token has "
            f"{', '.join(sorted(agent.scopes)) or 'no scope'}",
        )
    return agent


class _SignIn(_Refused):
    """No valid session: the handler wrapper turns this into the sign-in page."""

    def __init__(self) -> None:
        super().__init__(401, "Sign in", "sign in with an API token to use the console")


async def _form(console: _Console, request: Request) -> dict[str, str]:
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
        raise _Refused(400, "Bad form", f"the form is not UTF-8: {error}") from None
    return dict(parse_qsl(text, keep_blank_values=True, max_num_fields=50))


def _too_large(limit: int) -> _Refused:
    return _Refused(
        413,
        "Form too large",
        f"the form is larger than {limit:,} bytes (ConsoleSettings.max_form_bytes)",
    )


async def _checked_form(
    console: _Console, request: Request, scope: str = "write"
) -> tuple[Agent, dict[str, str]]:
    """The agent (holding ``scope``) and the form, whose CSRF token must match the session."""
    agent = _agent(console, request, scope)
    form = await _form(console, request)
    if not csrf_valid(request.cookies.get(SESSION_COOKIE, ""), form.get("csrf")):
        raise _Refused(
            400,
            "Form expired",
            "the form's CSRF token does not belong to this session; reload the page and "
            "submit it again",
        )
    return agent, form


async def _login_form(console: _Console, request: Request) -> Response:
    return _render(
        console, request, "login.html.j2", "Sign in", next=request.query_params.get("next", "")
    )


async def _login(console: _Console, request: Request) -> Response:
    form = await _form(console, request)
    token = form.get("token", "").strip()
    agent = console.authenticate(token) if token else None
    if agent is None or not agent.may("read"):
        problem = {
            "title": _language(request).gettext("Sign-in refused"),
            "detail": "the API token is unknown, revoked or lacks scope read",
        }
        return _render(console, request, "login.html.j2", "Sign in", 401, problem=problem, next="")
    response = RedirectResponse(_safe_next(request, form.get("next", "")), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path=_root(request),
    )
    return response


async def _logout(console: _Console, request: Request) -> Response:
    await _checked_form(console, request, "read")
    response = _go(request, "login")
    response.delete_cookie(SESSION_COOKIE, path=_root(request))
    return response


def _root(request: Request) -> str:
    return request.url_for("board").path


def _safe_next(request: Request, wanted: str) -> str:
    """Where to go after signing in: a path inside the console, never another site."""
    root = _root(request)
    if wanted.startswith(root) and not wanted.startswith("//") and "\\" not in wanted:
        return wanted
    return root


async def _switch_language(console: _Console, request: Request) -> Response:
    locale = request.path_params["locale"]
    if locale not in LOCALES:
        raise _Refused(404, "Unknown language", f"no language {locale!r}; choose one of {LOCALES}")
    response = _go(request, "board")
    response.set_cookie(
        LANGUAGE_COOKIE, locale, max_age=365 * 24 * 3600, samesite="lax", path=_root(request)
    )
    return response


# -- pages ----------------------------------------------------------------------------------------


async def _board(console: _Console, request: Request) -> Response:
    _agent(console, request)
    board = build_board(
        console.engine, console.settings.at_risk_within, console.settings.queue_field
    )
    return _render(console, request, "board.html.j2", "SLA board", board=board)


async def _case(
    console: _Console,
    request: Request,
    status: int = 200,
    problem: Mapping[str, str] | None = None,
    fields: str = "",
) -> Response:
    agent = _agent(console, request)
    case_id = request.path_params["case_id"]
    try:
        view = case_view(console.engine, case_id, agent.name)
    except CaseNotFound as error:
        raise _Refused(404, "No such case", str(error)) from None
    return _render(
        console,
        request,
        "case.html.j2",
        "Case",
        status,
        view=view,
        problem=problem,
        fields=fields,
    )


async def _fire(console: _Console, request: Request) -> Response:
    agent, form = await _checked_form(console, request)
    case_id, trigger = request.path_params["case_id"], form.get("trigger", "")
    text = form.get("fields", "")
    revision = form.get("revision", "")
    try:
        console.engine.fire(
            case_id,
            trigger,
            parse_fields(text),
            actor=agent.name,
            expected_revision=int(revision) if revision.isdigit() else None,
        )
    except CaseNotFound as error:
        raise _Refused(404, "No such case", str(error)) from None
    except SvcflowError as error:
        status, title = _refusal(error)
        problem = {"title": _language(request).gettext(title), "detail": str(error)}
        return await _case(console, request, status, problem, text)
    return _go(request, "case", case_id=case_id)


def _refusal(error: Exception) -> tuple[int, str]:
    """The status and heading of a refused action."""
    if isinstance(error, (TransitionNotAllowed, NotAuthorized)):
        return 409, "The action was refused"
    if isinstance(error, ConcurrencyConflict):
        return 409, "The case changed meanwhile"
    if isinstance(error, (CaseDataError, FieldsNotReadable)):
        return 422, "The fields are not valid"
    return 422, "The action was refused"


async def _workflows(console: _Console, request: Request) -> Response:
    _agent(console, request)
    workflows = sorted(
        (compiled.spec for compiled in console.engine.workflows.values()),
        key=lambda spec: spec.workflow,
    )
    return _render(console, request, "workflows.html.j2", "Workflows", workflows=workflows)


async def _workflow(
    console: _Console,
    request: Request,
    status: int = 200,
    problem: Mapping[str, str] | None = None,
    fields: str = "",
) -> Response:
    _agent(console, request)
    name = request.path_params["workflow"]
    if name not in console.engine.workflows:
        known = ", ".join(sorted(console.engine.workflows))
        raise _Refused(404, "No such workflow", f"no workflow {name!r}; loaded: {known}")
    view = workflow_view(console.engine, name)
    return _render(
        console,
        request,
        "workflow.html.j2",
        view.title,
        status,
        view=view,
        problem=problem,
        fields=fields,
    )


async def _start(console: _Console, request: Request) -> Response:
    agent, form = await _checked_form(console, request)
    name, text = request.path_params["workflow"], form.get("fields", "")
    if name not in console.engine.workflows:
        return await _workflow(console, request)
    try:
        case = console.engine.start(name, parse_fields(text), actor=agent.name)
    except SvcflowError as error:
        status, title = _refusal(error)
        problem = {"title": _language(request).gettext(title), "detail": str(error)}
        return await _workflow(console, request, status, problem, text)
    return _go(request, "case", case_id=case.id)


async def _report(console: _Console, request: Request) -> Response:
    _agent(console, request)
    return _render(console, request, "report.html.j2", "KPI report")


async def _report_page(console: _Console, request: Request) -> Response:
    _agent(console, request)
    report = build_report(console.engine.store)
    return HTMLResponse(render_html(report), headers=_NO_STORE)


async def _advance_clock(console: _Console, request: Request) -> Response:
    _, form = await _checked_form(console, request)
    clock = console.manual_clock
    if clock is None:
        raise _Refused(
            404,
            "No manual clock",
            "the clock can be advanced only in demo mode (svcflow serve --demo), where the "
            "engine runs on a manual clock",
        )
    try:
        clock.advance(form.get("by", ""))
    except ValueError as error:
        raise _Refused(422, "Not a duration", str(error)) from None
    console.engine.advance()
    return _go(request, "board")
