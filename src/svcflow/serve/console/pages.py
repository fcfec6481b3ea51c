"""The console's pages and the forms that act on cases, one function each.

Each takes the :class:`~svcflow.serve.console.render.Console`, the request and its form (empty
for a ``GET``) and returns the response; it runs in a worker thread. A form that changes
something answers with a redirect to the page that shows the result; a refused one shows its
page again with svcflow's message and the fields the agent typed.
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

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
from svcflow.serve.console.auth import SESSION_COOKIE
from svcflow.serve.console.fields import parse_fields
from svcflow.serve.console.i18n import LANGUAGE_COOKIE, LOCALES
from svcflow.serve.console.render import (
    Console,
    Form,
    Refused,
    agent,
    checked,
    go,
    lang_of,
    plain_response,
    render,
    url,
)
from svcflow.serve.console.views import build_board, case_list, case_view, workflow_view

__all__ = ["PAGES"]


def login_form(console: Console, request: Request, form: Form) -> Response:
    wanted = request.query_params.get("next", "")
    return render(console, request, "login.html.j2", "Sign in", next=wanted)


def login(console: Console, request: Request, form: Form) -> Response:
    token = form.get("token", "").strip()
    found = console.authenticate(token) if token else None
    if found is None or not found.may("read"):
        problem = {
            "title": lang_of(request).gettext("Sign-in refused"),
            "detail": "the API token is unknown, revoked or lacks scope read",
        }
        return render(console, request, "login.html.j2", "Sign in", 401, problem=problem, next="")
    response = RedirectResponse(_safe_next(request, form.get("next", "")), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path=url(request, "board"),
    )
    return response


def logout(console: Console, request: Request, form: Form) -> Response:
    checked(console, request, form, "read")
    response = go(request, "login")
    response.delete_cookie(SESSION_COOKIE, path=url(request, "board"))
    return response


def _safe_next(request: Request, wanted: str) -> str:
    """Where to go after signing in: a path inside the console, never another site."""
    root = url(request, "board")
    if wanted.startswith(root) and not wanted.startswith("//") and "\\" not in wanted:
        return wanted
    return root


def switch_language(console: Console, request: Request, form: Form) -> Response:
    locale = request.path_params["locale"]
    if locale not in LOCALES:
        raise Refused(404, "Unknown language", f"no language {locale!r}; choose one of {LOCALES}")
    back = _safe_next(request, request.query_params.get("next", ""))
    response = RedirectResponse(back, status_code=303)
    response.set_cookie(
        LANGUAGE_COOKIE,
        locale,
        max_age=365 * 24 * 3600,
        samesite="lax",
        path=url(request, "board"),
    )
    return response


def board(console: Console, request: Request, form: Form) -> Response:
    agent(console, request)
    settings = console.settings
    shown = build_board(
        console.engine, settings.at_risk_within, settings.queue_field, settings.board_limit
    )
    every = settings.board_refresh
    refresh = None if every is None else max(1, int(every.total_seconds()))
    return render(console, request, "board.html.j2", "SLA board", board=shown, refresh=refresh)


def cases(console: Console, request: Request, form: Form) -> Response:
    agent(console, request)
    wanted = request.query_params.get("id", "").strip()
    if wanted:
        return go(request, "case", case_id=wanted)
    try:
        found = case_list(console.engine, request.query_params, console.settings.page_size)
    except SvcflowError as error:
        raise Refused(422, "The search was refused", str(error)) from None
    workflows = sorted(console.engine.workflows)
    return render(console, request, "cases.html.j2", "Cases", found=found, workflows=workflows)


def case(
    console: Console,
    request: Request,
    form: Form,
    status: int = 200,
    problem: Mapping[str, str] | None = None,
) -> Response:
    who = agent(console, request)
    try:
        view = case_view(console.engine, request.path_params["case_id"], who.name)
    except CaseNotFound as error:
        raise Refused(404, "No such case", str(error)) from None
    fields = form.get("fields", "")
    return render(
        console, request, "case.html.j2", "Case", status, view=view, problem=problem, fields=fields
    )


def fire(console: Console, request: Request, form: Form) -> Response:
    who = checked(console, request, form)
    case_id, revision = request.path_params["case_id"], form.get("revision", "")
    try:
        console.engine.fire(
            case_id,
            form.get("trigger", ""),
            parse_fields(form.get("fields", "")),
            actor=who.name,
            expected_revision=int(revision) if revision.isdigit() else None,
        )
    except CaseNotFound as error:
        raise Refused(404, "No such case", str(error)) from None
    except SvcflowError as error:
        return case(console, request, form, *_refusal(request, error))
    return go(request, "case", case_id=case_id)


def _refusal(request: Request, error: SvcflowError) -> tuple[int, dict[str, str]]:
    """The status and the problem shown for a refused action."""
    status, title = 422, "The action was refused"
    if isinstance(error, (TransitionNotAllowed, NotAuthorized)):
        status, title = 409, "The action was refused"
    elif isinstance(error, ConcurrencyConflict):
        status, title = 409, "The case changed meanwhile"
    elif isinstance(error, (CaseDataError, FieldsNotReadable)):
        status, title = 422, "The fields are not valid"
    return status, {"title": lang_of(request).gettext(title), "detail": str(error)}


def workflows(console: Console, request: Request, form: Form) -> Response:
    agent(console, request)
    specs = sorted(
        (compiled.spec for compiled in console.engine.workflows.values()),
        key=lambda spec: spec.workflow,
    )
    return render(console, request, "workflows.html.j2", "Workflows", workflows=specs)


def workflow(
    console: Console,
    request: Request,
    form: Form,
    status: int = 200,
    problem: Mapping[str, str] | None = None,
) -> Response:
    agent(console, request)
    name = request.path_params["workflow"]
    if name not in console.engine.workflows:
        known = ", ".join(sorted(console.engine.workflows))
        raise Refused(404, "No such workflow", f"no workflow {name!r}; loaded: {known}")
    settings = console.settings
    draw = None if settings.diagram_script else settings.diagram_timeout.total_seconds()
    view = workflow_view(console.engine, name, draw)
    fields = form.get("fields", "")
    return render(
        console,
        request,
        "workflow.html.j2",
        view.title,
        status,
        script=settings.diagram_script,
        view=view,
        problem=problem,
        fields=fields,
    )


def start(console: Console, request: Request, form: Form) -> Response:
    who = checked(console, request, form)
    name = request.path_params["workflow"]
    if name not in console.engine.workflows:
        return workflow(console, request, form)
    try:
        started = console.engine.start(name, parse_fields(form.get("fields", "")), actor=who.name)
    except SvcflowError as error:
        return workflow(console, request, form, *_refusal(request, error))
    return go(request, "case", case_id=started.id)


def report(console: Console, request: Request, form: Form) -> Response:
    agent(console, request)
    return render(console, request, "report.html.j2", "KPI report")


def report_page(console: Console, request: Request, form: Form) -> Response:
    agent(console, request)
    lang = lang_of(request).locale
    return plain_response(render_html(build_report(console.engine.store), lang=lang))


def advance_clock(console: Console, request: Request, form: Form) -> Response:
    checked(console, request, form)
    clock = console.manual_clock
    if clock is None:
        raise Refused(
            404,
            "No manual clock",
            "the clock can be advanced only in demo mode (svcflow serve --demo), where the "
            "engine runs on a manual clock",
        )
    try:
        clock.advance(form.get("by", ""))
    except ValueError as error:
        raise Refused(422, "Not a duration", str(error)) from None
    console.engine.advance()
    return go(request, "board")


PAGES = (
    ("/", "board", board, "GET"),
    ("/login", "login", login_form, "GET"),
    ("/login", "login_post", login, "POST"),
    ("/logout", "logout", logout, "POST"),
    ("/lang/{locale}", "language", switch_language, "GET"),
    ("/cases", "cases", cases, "GET"),
    ("/cases/{case_id}", "case", case, "GET"),
    ("/cases/{case_id}/fire", "fire", fire, "POST"),
    ("/workflows", "workflows", workflows, "GET"),
    ("/workflows/{workflow}", "workflow", workflow, "GET"),
    ("/workflows/{workflow}/start", "start", start, "POST"),
    ("/report", "report", report, "GET"),
    ("/report.html", "report_page", report_page, "GET"),
    ("/clock/advance", "advance_clock", advance_clock, "POST"),
)
"""Every console route: path (below the mount), name, handler, method."""
