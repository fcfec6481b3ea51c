"""What every console handler shares: the console's context, refusals, sessions, rendering.

A handler is a plain function of the :class:`Console`, the request and its form; it runs in a
worker thread (the engine is shared between threads), so a slow store never holds up the
server's event loop. A :class:`Refused` it raises becomes a page naming the problem; a visitor
without a valid session is sent to the sign-in page.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse

from svcflow.clock import ManualClock
from svcflow.engine import Engine
from svcflow.serve.console.auth import SESSION_COOKIE, Agent, Authenticate, csrf_token, csrf_valid
from svcflow.serve.console.i18n import LANGUAGE_COOKIE, LOCALES, Language, choose_locale, language

__all__ = [
    "ROUTE_PREFIX",
    "Console",
    "ConsoleSettings",
    "Form",
    "Refused",
    "SignIn",
    "agent",
    "checked",
    "go",
    "lang_of",
    "plain_response",
    "problem_page",
    "render",
    "signed_in",
    "url",
]

ROUTE_PREFIX = "console_"
"""Route names are ``console_<page>``, unique inside a larger application."""

Form = Mapping[str, str]
_LANGUAGE_NAMES = {"en": "English", "zh-CN": "简体中文"}
_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
    "frame-src 'self'; form-action 'self'; frame-ancestors 'self'; base-uri 'none'"
)
"""No script at all, styles only inline, forms and frames only to this server."""


def _headers(script: str | None = None) -> dict[str, str]:
    """The headers of every page; ``script`` is the one script source a page may load."""
    source = "'self'" if script is not None and script.startswith("/") else script
    policy = _POLICY if source is None else f"{_POLICY}; script-src {source}"
    return {
        "Cache-Control": "no-store",
        "X-Frame-Options": "SAMEORIGIN",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
        "Content-Security-Policy": policy,
    }


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

    ``at_risk_within``: a running SLA clock whose deadline is at most this far away is on the
    board as at risk. ``board_limit``: the board shows at most this many at-risk cases and as
    many breached ones, those nearest their deadline (it says so when there are more).
    ``page_size``: the cases page lists this many cases a page. ``board_refresh``: the board
    page reloads itself this often (a ``<meta>`` refresh, no script), ``None`` never.
    ``queue_field``: the case data field that names a case's queue.
    ``time_zone``: the IANA zone times are shown in. Workflow pages draw their diagram as SVG
    on the server with Graphviz's ``dot``, which may take ``diagram_timeout`` (when it is
    missing, fails or takes longer, the page says so and shows the Mermaid source).
    ``diagram_script``: instead, the URL of a copy of Mermaid's ``mermaid.min.js`` for workflow
    pages to draw their diagram with in the browser (the only script the console then loads,
    and only there). ``max_form_bytes``: a larger form is
    refused (413) unread. ``clock_advance``: offer "advance the clock" (honoured only when the
    engine runs on a :class:`~svcflow.clock.ManualClock`, as ``svcflow serve --demo`` does).
    """

    at_risk_within: timedelta = timedelta(minutes=30)
    board_limit: int = 200
    board_refresh: timedelta | None = timedelta(minutes=1)
    page_size: int = 50
    queue_field: str = "queue"
    time_zone: str = "UTC"
    diagram_script: str | None = None
    diagram_timeout: timedelta = timedelta(seconds=10)
    max_form_bytes: int = 16 * 1024
    clock_advance: bool = False

    def __post_init__(self) -> None:
        if min(self.board_limit, self.max_form_bytes, self.page_size) <= 0:
            raise ValueError(
                "board_limit, max_form_bytes and page_size must be positive, got "
                f"{self.board_limit}, {self.max_form_bytes} and {self.page_size}"
            )
        if self.diagram_timeout <= timedelta(0):
            raise ValueError(f"diagram_timeout must be positive, got {self.diagram_timeout}")
        if self.at_risk_within < timedelta(0):
            raise ValueError(f"at_risk_within must not be negative, got {self.at_risk_within}")
        try:
            ZoneInfo(self.time_zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {self.time_zone!r}; give an IANA name such as "
                "'UTC' or 'Asia/Shanghai'"
            ) from None


@dataclass(frozen=True, slots=True)
class Console:
    """What every handler needs: the engine, the token check and the settings."""

    engine: Engine
    authenticate: Authenticate
    settings: ConsoleSettings = field(default_factory=ConsoleSettings)

    @property
    def manual_clock(self) -> ManualClock | None:
        """The engine's clock when the console may advance it, else ``None``."""
        clock = self.engine.clock
        if self.settings.clock_advance and isinstance(clock, ManualClock):
            return clock
        return None


class Refused(Exception):
    """A request the console answers with a page naming the problem, and this status."""

    def __init__(self, status: int, title: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.title, self.detail = status, title, detail


class SignIn(Refused):
    """No valid session: the visitor is sent to the sign-in page."""

    def __init__(self) -> None:
        super().__init__(401, "Sign in", "sign in with an API token to use the console")


def url(request: Request, name: str, **params: str) -> str:
    """The path of the console page ``name`` (``board``, ``case``...), wherever it is mounted."""
    return request.url_for(ROUTE_PREFIX + name, **params).path


def go(request: Request, name: str, **params: str) -> RedirectResponse:
    """See the page ``name`` (after a form: reloading it does not submit again)."""
    return RedirectResponse(url(request, name, **params), status_code=303)


def lang_of(request: Request) -> Language:
    """The request's language (the switch's cookie, then ``Accept-Language``)."""
    return language(
        choose_locale(request.cookies.get(LANGUAGE_COOKIE), request.headers.get("accept-language"))
    )


def signed_in(console: Console, request: Request) -> Agent | None:
    """The agent whose token the session cookie holds, if it is still valid."""
    token = request.cookies.get(SESSION_COOKIE)
    return console.authenticate(token) if token else None


def agent(console: Console, request: Request, scope: str = "read") -> Agent:
    """The signed-in agent holding ``scope``; :class:`SignIn` for a visitor."""
    found = signed_in(console, request)
    if found is None:
        raise SignIn()
    if not found.may(scope):
        raise Refused(
            403,
            "Not allowed",
            f"this needs an API token of scope {scope}; {found.name}'s token has "
            f"{', '.join(sorted(found.scopes)) or 'no scope'}",
        )
    return found


def checked(console: Console, request: Request, form: Form, scope: str = "write") -> Agent:
    """The agent (holding ``scope``) of a form whose CSRF token matches the session."""
    found = agent(console, request, scope)
    if not csrf_valid(request.cookies.get(SESSION_COOKIE, ""), form.get("csrf")):
        raise Refused(
            400,
            "Form expired",
            "the form's CSRF token does not belong to this session; reload the page and "
            "submit it again",
        )
    return found


def render(
    console: Console,
    request: Request,
    template: str,
    title: str,
    status: int = 200,
    script: str | None = None,
    **values: Any,
) -> HTMLResponse:
    """The page ``template`` in the request's language, with ``values``; ``script`` is a
    script URL the page loads (and its Content-Security-Policy allows)."""
    lang = lang_of(request)
    who = signed_in(console, request)
    link: Callable[..., str] = lambda name, **params: url(request, name, **params)  # noqa: E731
    context = {
        "_": lang.gettext,
        "lang": lang,
        "zone": ZoneInfo(console.settings.time_zone),
        "now": console.engine.clock.now(),
        "agent": who,
        "csrf": csrf_token(request.cookies.get(SESSION_COOKIE, "")) if who else "",
        "manual_clock": console.manual_clock is not None and who is not None,
        "may_write": who is not None and who.may("write"),
        "languages": [(code, _LANGUAGE_NAMES[code]) for code in LOCALES],
        "url": link,
        "here": request.url.path,
        "title": lang.gettext(title),
        "problem": None,
        "fields": "",
        "script": script,
        "refresh": None,
        **values,
    }
    html = _TEMPLATES.get_template(template).render(context)
    return HTMLResponse(html, status_code=status, headers=_headers(script))


def problem_page(console: Console, request: Request, refused: Refused) -> HTMLResponse:
    """The page shown for a refusal: its heading in the request's language, svcflow's text."""
    problem = {"title": lang_of(request).gettext(refused.title), "detail": refused.detail}
    return render(
        console, request, "problem.html.j2", refused.title, refused.status, problem=problem
    )


def plain_response(text: str) -> HTMLResponse:
    """A page that is not a console template (the KPI report), not cached."""
    return HTMLResponse(text, headers=_headers())
