"""The web console's pages and forms through an HTTP client (httpx) against the console served
by uvicorn on localhost, on a real SQLite store with the shipped workflows and a manual clock.

Each refused form shows the exact message a person reads, and the case, its history and its
timers are as they were. The same journey in a real browser is in test_console_browser.py.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount

from support.serving import running
from svcflow import Engine, ManualClock, shipped_workflows
from svcflow.errors import ConcurrencyConflict
from svcflow.serve import TokenFile, create_app
from svcflow.serve.console import Agent, ConsoleSettings, create_console
from svcflow.serve.console.auth import SESSION_COOKIE, csrf_token
from svcflow.serve.console.i18n import choose_locale

WRITER = "writer-token-0123456789"
READER = "reader-token-0123456789"
TOKENS = {
    WRITER: Agent("agent-7", frozenset({"read", "write"})),
    READER: Agent("viewer", frozenset({"read"})),
}


@pytest.fixture
def engine(tmp_path: Path, clock: ManualClock) -> Iterator[Engine]:
    with Engine.from_directory(
        shipped_workflows(), store=f"sqlite:///{tmp_path / 'cases.db'}", clock=clock
    ) as engine:
        yield engine


@contextmanager
def mounted(engine: Engine, settings: ConsoleSettings | None = None) -> Iterator[httpx.Client]:
    """The console mounted at /console of an application served on localhost, and a client."""
    console = create_console(engine, TOKENS.get, settings or ConsoleSettings(clock_advance=True))
    with (
        running(Starlette(routes=[Mount("/console", app=console)])) as url,
        httpx.Client(base_url=url) as client,
    ):
        yield client


@pytest.fixture
def client(engine: Engine) -> Iterator[httpx.Client]:
    with mounted(engine) as client:
        yield client


def signed_in(client: httpx.Client, token: str = WRITER) -> httpx.Client:
    answer = client.post("/console/login", data={"token": token}, follow_redirects=False)
    assert answer.status_code == 303
    return client


def text_of(page: str) -> str:
    """The page's text as a person reads it (tags dropped, entities decoded)."""
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


def fire(client: httpx.Client, case_id: str, trigger: str, **form: str) -> httpx.Response:
    return client.post(
        f"/console/cases/{case_id}/fire",
        data={"csrf": csrf_token(WRITER), "trigger": trigger, **form},
        follow_redirects=False,
    )


def test_a_visitor_is_sent_to_sign_in_and_a_bad_token_is_refused(client: httpx.Client) -> None:
    answer = client.get("/console/cases/c-1", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/console/login?next=%2Fconsole%2Fcases%2Fc-1"
    refused = client.post("/console/login", data={"token": "guess"})
    assert refused.status_code == 401
    assert "Sign-in refused the API token is unknown, revoked or lacks scope read" in text_of(
        refused.text
    )
    assert SESSION_COOKIE not in client.cookies


def test_signing_in_sets_an_http_only_strict_cookie_and_follows_next(client: httpx.Client) -> None:
    answer = client.post(
        "/console/login",
        data={"token": WRITER, "next": "/console/workflows"},
        follow_redirects=False,
    )
    assert answer.headers["location"] == "/console/workflows"
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}={WRITER};")
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/console/" in cookie
    client.cookies.clear()
    elsewhere = client.post(
        "/console/login", data={"token": WRITER, "next": "//evil.example/"}, follow_redirects=False
    )
    assert elsewhere.headers["location"] == "/console/"


def test_the_board_shows_a_new_complaint_at_risk_then_breached(
    client: httpx.Client, engine: Engine, clock: ManualClock
) -> None:
    signed_in(client)
    case = engine.start("complaint", {"customer": "Li Wei", "channel": "app"})
    board = client.get("/console/").text
    row = f'data-case="{case.id}" data-metric="first_response" data-status="at_risk"'
    assert row in board
    assert '<meta http-equiv="refresh" content="60">' in board  # a live board, without script
    assert "Queue general · complaint" in text_of(board)  # the routing table's catch-all
    assert "15 min" in text_of(board)  # the first response's time left
    clock.advance("20m")
    engine.advance()
    board = client.get("/console/").text
    assert f'data-case="{case.id}" data-metric="first_response" data-status="breached"' in board
    assert "-5 min" in text_of(board)


def test_a_trigger_fired_from_the_case_page_records_the_agent(
    client: httpx.Client, engine: Engine
) -> None:
    signed_in(client)
    case = engine.start("complaint", {"customer": "Li Wei"})
    page = client.get(f"/console/cases/{case.id}").text
    assert 'data-trigger="acknowledge"' in page and csrf_token(WRITER) in page
    answer = fire(client, case.id, "acknowledge", revision="1")
    assert answer.status_code == 303
    last = engine.history(case.id)[-1]
    assert (last.trigger, last.actor, last.to_state) == ("acknowledge", "agent-7", "acknowledged")
    page = client.get(f"/console/cases/{case.id}").text
    assert "data-state>acknowledged<" in page


def test_a_refused_trigger_shows_the_reason_and_changes_nothing(
    client: httpx.Client, engine: Engine
) -> None:
    signed_in(client)
    case = engine.start("complaint", {"customer": "Li Wei"})
    fire(client, case.id, "acknowledge")
    before = engine.get(case.id), engine.history(case.id), engine.timers(case.id)
    answer = fire(client, case.id, "resolve")
    assert answer.status_code == 409
    shown = text_of(answer.text)
    assert (
        f"The action was refused trigger 'resolve' is not allowed for case {case.id} in state "
        "'acknowledged': its condition `resolution != null && resolution != \"\"` is false. "
        "Allowed now: ask_customer, investigate" in shown
    )
    assert (engine.get(case.id), engine.history(case.id), engine.timers(case.id)) == before


def test_fields_set_with_a_trigger_and_fields_that_cannot_be_read(
    client: httpx.Client, engine: Engine
) -> None:
    signed_in(client)
    case = engine.start("complaint", {"customer": "Li Wei"})
    fire(client, case.id, "acknowledge")
    bad = fire(client, case.id, "resolve", fields="resolution: [Replacement sent")
    assert bad.status_code == 422
    shown = text_of(bad.text)
    assert "The fields are not valid the fields are not 'name: value' lines: fields:1:" in shown
    assert "resolution: [Replacement sent" in shown  # what was typed is kept in the form
    assert engine.get(case.id).state == "acknowledged"
    good = fire(client, case.id, "resolve", fields="resolution: Replacement sent")
    assert good.status_code == 303
    assert engine.get(case.id).data["resolution"] == "Replacement sent"


def test_a_form_without_the_sessions_csrf_token_is_refused(
    client: httpx.Client, engine: Engine
) -> None:
    signed_in(client)
    case = engine.start("complaint", {"customer": "Li Wei"})
    answer = client.post(
        f"/console/cases/{case.id}/fire", data={"trigger": "acknowledge", "csrf": "forged"}
    )
    assert answer.status_code == 400
    assert (
        "Form expired the form's CSRF token does not belong to this session; reload the page "
        "and submit it again" in text_of(answer.text)
    )
    assert engine.get(case.id).revision == 1


def test_a_read_only_token_sees_but_cannot_act(client: httpx.Client, engine: Engine) -> None:
    signed_in(client, READER)
    case = engine.start("complaint", {"customer": "Li Wei"})
    page = text_of(client.get(f"/console/cases/{case.id}").text)
    assert "Your token may only read: actions need scope write." in page
    answer = client.post(
        f"/console/cases/{case.id}/fire",
        data={"trigger": "acknowledge", "csrf": csrf_token(READER)},
    )
    assert answer.status_code == 403
    assert "Not allowed this needs an API token of scope write; viewer's token has read" in (
        text_of(answer.text)
    )
    assert engine.get(case.id).revision == 1


def test_chinese_from_accept_language_and_the_switch(client: httpx.Client) -> None:
    signed_in(client)
    chinese = client.get("/console/", headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"})
    assert '<html lang="zh-CN">' in chinese.text
    assert "SLA 看板" in chinese.text and "没有已违约或有风险的 SLA 计时。" in chinese.text
    assert 'href="/console/lang/en?next=%2Fconsole%2F"' in chinese.text
    switched = client.get("/console/lang/en?next=/console/workflows")
    assert "svcflow_lang=en" in switched.headers["set-cookie"]
    assert switched.headers["location"] == "/console/workflows"  # back where the switch was
    english = client.get("/console/", headers={"Accept-Language": "zh-CN"})
    assert "No SLA clock is breached or at risk." in english.text
    assert client.get("/console/", headers={"Accept-Language": "fr, en;q=0.5"}).text.count(
        "SLA board"
    )


def test_every_console_message_has_a_chinese_translation() -> None:
    folder = Path(__file__).parents[1] / "src/svcflow/serve/console"
    catalogue = (folder / "locales/zh_CN/LC_MESSAGES/console.po").read_text(encoding="utf-8")
    translated = set(re.findall(r'^msgid "(.+)"$', catalogue, re.MULTILINE))
    wanted = set()
    for template in (folder / "templates").glob("*.j2"):
        wanted |= set(re.findall(r"""_\(["']([^"']+)["']\)""", template.read_text("utf-8")))
    app = (folder / "app.py").read_text(encoding="utf-8")
    wanted |= set(re.findall(r'_Refused\(\s*\d+,\s*"([^"]+)"', app))
    wanted |= set(re.findall(r'return \d+, "([^"]+)"', app))
    wanted |= {"running", "paused", "met", "cancelled", "started", "transition", "timer"}
    assert wanted - translated == set()


def test_advancing_the_manual_clock_fires_due_timers(
    client: httpx.Client, engine: Engine, clock: ManualClock
) -> None:
    signed_in(client)
    case = engine.start("complaint", {"customer": "Li Wei"})
    answer = client.post(
        "/console/clock/advance",
        data={"csrf": csrf_token(WRITER), "by": "20m"},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    assert clock.now().isoformat() == "2026-03-02T09:20:00+00:00"
    assert engine.get(case.id).data["priority"] == "high"  # the breach timer fired
    wrong = client.post("/console/clock/advance", data={"csrf": csrf_token(WRITER), "by": "soon"})
    assert wrong.status_code == 422
    assert "Not a duration" in wrong.text


def test_the_clock_cannot_be_advanced_outside_demo_mode(engine: Engine) -> None:
    with mounted(engine, ConsoleSettings()) as client:
        check_no_clock(signed_in(client))


def check_no_clock(client: httpx.Client) -> None:
    assert "Advance the clock" not in client.get("/console/").text
    answer = client.post("/console/clock/advance", data={"csrf": csrf_token(WRITER), "by": "1h"})
    assert answer.status_code == 404
    assert (
        "No manual clock the clock can be advanced only in demo mode (svcflow serve --demo), "
        "where the engine runs on a manual clock" in text_of(answer.text)
    )


def test_the_workflow_page_draws_the_diagram_and_starts_a_case(
    client: httpx.Client, engine: Engine, graphviz_dot: str
) -> None:
    signed_in(client)
    answer = client.get("/console/workflows/complaint")
    page = answer.text
    picture = page[page.index("<svg") : page.index("</svg>")]
    for state in engine.workflows["complaint"].spec.states:
        assert f">{state}</text>" in picture
    assert "stateDiagram-v2" in page and "Required: customer" in text_of(page)  # the source
    assert "<script" not in page and "script-src" not in answer.headers["content-security-policy"]
    missing = client.post(
        "/console/workflows/complaint/start", data={"csrf": csrf_token(WRITER), "fields": ""}
    )
    assert missing.status_code == 422
    assert "customer" in text_of(missing.text) and engine.find() == []
    started = client.post(
        "/console/workflows/complaint/start",
        data={"csrf": csrf_token(WRITER), "fields": "customer: Li Wei\nchannel: app"},
        follow_redirects=False,
    )
    (case,) = engine.find()
    assert started.headers["location"] == f"/console/cases/{case.id}"
    assert engine.history(case.id)[0].actor == "agent-7"


def test_unknown_cases_workflows_and_languages_say_what_exists(client: httpx.Client) -> None:
    signed_in(client)
    case = client.get("/console/cases/nope")
    assert case.status_code == 404 and "No such case" in case.text
    workflow = client.get("/console/workflows/complain")
    assert workflow.status_code == 404
    assert (
        "no workflow 'complain'; loaded: care_greetings, care_retention, care_revisit, "
        "care_vip_review, complaint, crisis, "
        "escalation, im_first_response" in text_of(workflow.text)
    )
    language = client.get("/console/lang/fr")
    assert "no language 'fr'; choose one of ('en', 'zh-CN')" in text_of(language.text)


def test_a_form_above_the_size_limit_is_refused_unread(client: httpx.Client) -> None:
    signed_in(client)
    answer = client.post(
        "/console/workflows/complaint/start",
        data={"csrf": csrf_token(WRITER), "fields": "x" * 20_000},
    )
    assert answer.status_code == 413
    assert "the form is larger than 16,384 bytes (ConsoleSettings.max_form_bytes)" in answer.text


def test_the_report_page_embeds_the_kpi_report(client: httpx.Client, engine: Engine) -> None:
    signed_in(client)
    engine.start("complaint", {"customer": "Li Wei"})
    assert 'src="/console/report.html"' in client.get("/console/report").text
    report = client.get("/console/report.html")
    assert report.text.startswith("<!doctype html>") and "1 case" in report.text


def test_customer_text_is_escaped_and_no_script_may_run(
    client: httpx.Client, engine: Engine
) -> None:
    signed_in(client)
    case = engine.start("complaint", {"customer": "<script>alert(1)</script>"})
    answer = client.get(f"/console/cases/{case.id}")
    assert "<script>" not in answer.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in answer.text
    policy = answer.headers["content-security-policy"]
    assert policy.startswith("default-src 'none';") and "script-src" not in policy
    assert answer.headers["cache-control"] == "no-store"


def test_the_docs_example_mounts_the_console(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    page = (Path(__file__).parents[1] / "docs/console.md").read_text(encoding="utf-8")
    (example,) = re.findall(r"^```python console\n(.*?)^```$", page, re.DOTALL | re.MULTILINE)
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {}
    exec(compile(example, "docs/console.md", "exec"), namespace)
    with running(namespace["app"]) as url, httpx.Client(base_url=url) as client:
        signed = client.post("/console/login", data={"token": "s3cret-token-of-agent-7"})
        assert signed.status_code == 303
        board = client.get("/console/").text
        assert "SLA board" in board and "2026-03-02 17:00" in board  # 09:00 UTC in Shanghai
    namespace["engine"].close()  # type: ignore[attr-defined]


def test_svcflow_serve_includes_the_console_with_its_api_tokens(
    tmp_path: Path, engine: Engine
) -> None:
    tokens = TokenFile(tmp_path / "tokens.json")
    agent = tokens.create("agent-9", ["write", "read"])
    with running(create_app(engine, tokens=tokens)) as url, httpx.Client(base_url=url) as client:
        assert client.get("/console/").headers["location"] == "/console/login?next=%2Fconsole%2F"
        client.post("/console/login", data={"token": agent.secret})
        case = engine.start("complaint", {"customer": "Li Wei"})
        answer = client.post(
            f"/console/cases/{case.id}/fire",
            data={"csrf": csrf_token(agent.secret), "trigger": "acknowledge"},
        )
        assert answer.status_code == 303
        assert engine.history(case.id)[-1].actor == "agent-9"  # the token's name
        assert "/console" not in client.get("/openapi.json").text  # pages are not the API
        tokens.revoke(agent.token.id)
        signed_out = client.get(f"/console/cases/{case.id}")
        assert signed_out.headers["location"].startswith("/console/login?next=")


def test_the_board_shows_at_most_its_limit_nearest_deadline_first(
    engine: Engine, clock: ManualClock
) -> None:
    ids = []
    for name in ("first", "second", "third"):
        ids.append(engine.start("complaint", {"customer": name}).id)
        clock.advance("1m")
    with mounted(engine, ConsoleSettings(board_limit=2)) as client:
        board = signed_in(client).get("/console/").text
    shown = re.findall(r'data-case="(\w+)" data-metric="first_response"', board)
    assert shown == ids[:2]  # the two whose first response is due soonest
    assert (
        "More cases are at risk or breached than the board shows; the ones nearest their "
        "deadline are shown." in board
    )


def test_the_board_on_every_store_kind_and_in_chinese(store_url: str, clock: ManualClock) -> None:
    with Engine.from_directory(shipped_workflows(), store=store_url, clock=clock) as engine:
        case = engine.start("complaint", {"customer": "Li Wei"})
        with mounted(engine) as client:
            signed_in(client)
            chinese = {"Accept-Language": "zh-CN"}
            board = text_of(client.get("/console/", headers=chinese).text)
            assert f"{case.id} received first_response 有风险 15分钟" in board
            clock.advance("16m")
            board = text_of(client.get("/console/", headers=chinese).text)
            assert f"{case.id} received first_response 已违约 -1分钟" in board


def test_signing_out_forgets_the_session(client: httpx.Client) -> None:
    signed_in(client)
    answer = client.post("/console/logout", data={"csrf": csrf_token(WRITER)})
    assert answer.headers["location"] == "/console/login"
    assert SESSION_COOKIE not in client.cookies
    assert client.get("/console/").headers["location"] == "/console/login?next=%2Fconsole%2F"


def test_without_graphviz_the_workflow_page_says_so_and_shows_the_mermaid_source(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no `dot` on it
    with mounted(engine, ConsoleSettings()) as client:
        signed_in(client)
        page = client.get("/console/workflows/escalation", headers={"Accept-Language": "en"})
        assert page.status_code == 200
        assert "<svg" not in page.text and "stateDiagram-v2" in page.text
        version = engine.workflows["escalation"].spec.version
        assert (
            "The diagram could not be drawn here: cannot draw workflow 'escalation' "
            f"v{version} as SVG: Graphviz's `dot` program is not installed (Debian and "
            "Ubuntu: `apt-get install graphviz`; macOS: `brew install graphviz`; others: "
            "https://graphviz.org/download/)" in text_of(page.text)
        )
        chinese = client.get("/console/workflows/escalation", headers={"Accept-Language": "zh"})
        assert "此处无法绘制状态图" in chinese.text


def test_a_configured_diagram_script_is_the_only_script_and_only_on_workflow_pages(
    engine: Engine,
) -> None:
    script = "https://static.example.org/mermaid-11.4.0/mermaid.min.js"
    with mounted(engine, ConsoleSettings(diagram_script=script)) as client:
        signed_in(client)
        page = client.get("/console/workflows/complaint")
        assert f'<script src="{script}"></script>' in page.text
        assert page.headers["content-security-policy"].endswith(f"; script-src {script}")
        board = client.get("/console/")
        assert "<script" not in board.text
        assert "script-src" not in board.headers["content-security-policy"]


def test_a_form_from_a_stale_page_is_refused_as_a_conflict(
    client: httpx.Client, engine: Engine
) -> None:
    signed_in(client)
    case = engine.start("complaint", {"customer": "Li Wei"})
    engine.fire(case.id, "acknowledge", actor="agent-3")  # someone else acted meanwhile
    answer = fire(client, case.id, "investigate", revision="1")
    assert answer.status_code == 409
    assert "The case changed meanwhile" in text_of(answer.text)
    assert str(ConcurrencyConflict(case.id, 1, 2)) in text_of(answer.text)
    assert engine.get(case.id).revision == 2


@pytest.mark.parametrize(
    ("cookie", "header", "chosen"),
    [
        (None, "zh-CN,zh;q=0.9,en;q=0.8", "zh-CN"),
        (None, "en-GB,zh;q=0.5", "en"),
        (None, "fr-FR, zh-Hans;q=0.7, en;q=0.3", "zh-CN"),
        (None, "zh;q=0, en;q=0.1", "en"),
        (None, "zh;q=nonsense, fr", "en"),
        (None, "de, *;q=0.1", "en"),
        (None, None, "en"),
        ("zh-CN", "en", "zh-CN"),
        ("klingon", "zh-TW", "zh-CN"),
    ],
)
def test_the_language_a_request_gets(cookie: str | None, header: str | None, chosen: str) -> None:
    assert choose_locale(cookie, header) == chosen


def test_an_action_beyond_the_agents_authority_is_refused_and_listed(
    client: httpx.Client, engine: Engine
) -> None:
    signed_in(client)
    case = engine.start("complaint", {"customer": "Li Wei"})
    for trigger, payload in (
        ("acknowledge", None),
        ("investigate", None),
        ("propose", {"options": ["replacement", "10% off"]}),
        ("choose", {"chosen_option": "10% off", "compensation_percent": 10}),
    ):
        engine.fire(case.id, trigger, payload, actor="agent-3")
    assert engine.get(case.id).state == "awaiting_approval"  # a team lead must approve
    page = client.get(f"/console/cases/{case.id}").text
    assert 'data-trigger="approve"' not in page  # not offered to agent-7, who holds no role
    answer = fire(client, case.id, "approve")  # a hand-made form is refused all the same
    assert answer.status_code == 409
    (refusal,) = engine.refusals(case.id)
    shown = text_of(answer.text)
    assert "The action was refused" in shown and refusal.reason in shown
    assert f"agent-7 approve {refusal.reason}" in text_of(
        client.get(f"/console/cases/{case.id}").text
    )
    assert engine.get(case.id).state == "awaiting_approval"


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (
            {"board_limit": 0},
            "board_limit, max_form_bytes and page_size must be positive, got 0, 16384 and 50",
        ),
        ({"at_risk_within": timedelta(minutes=-1)}, "at_risk_within must not be negative, got "),
        (
            {"time_zone": "Asia/Shanghia"},
            "unknown time zone 'Asia/Shanghia'; give an IANA name such as 'UTC' or 'Asia/Shanghai'",
        ),
    ],
)
def test_settings_that_cannot_work_are_refused(settings: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match="^" + re.escape(message)):
        ConsoleSettings(**settings)


def test_the_cases_page_searches_pages_and_opens_a_case_by_id(
    engine: Engine, clock: ManualClock
) -> None:
    ids = []
    for number in range(3):
        ids.append(engine.start("complaint", {"customer": f"c{number}"}).id)
        clock.advance("1m")  # oldest first: one a minute apart, so the order is known
    engine.fire(ids[1], "acknowledge")
    engine.start("im_first_response", {"customer": "chat"})
    with mounted(engine, ConsoleSettings(page_size=1)) as client:
        signed_in(client)
        first = client.get("/console/cases", params={"workflow": "complaint", "state": "received"})
        assert re.findall(r'<tr data-case="(\w+)"', first.text) == [ids[0]]
        following = re.search(r'href="([^"]+)" data-next', first.text)
        assert following
        second = client.get(html.unescape(following.group(1)))
        assert re.findall(r'<tr data-case="(\w+)"', second.text) == [ids[2]]
        assert "data-next" not in second.text
        opened = client.get("/console/cases", params={"id": ids[1]})
        assert opened.headers["location"] == f"/console/cases/{ids[1]}"
        refused = client.get("/console/cases", params={"sla": "late"})
        assert refused.status_code == 422 and "The search was refused" in refused.text
