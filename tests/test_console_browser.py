"""The web console in a real browser: Playwright drives Debian's headless Chromium
(``/usr/bin/chromium``, installed by the test when missing and allowed; never a downloaded
browser) against the console served by uvicorn on localhost, on a SQLite store with the
shipped workflows and a manual clock, as ``svcflow serve --demo`` runs it.

An agent signs in, starts a complaint, acknowledges it from its page, tries to resolve it
without a resolution (and reads why not), advances the demo clock by a day and finds the case
breached on the SLA board; a second browser asking for Chinese gets the board in zh-CN.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright
from starlette.applications import Starlette
from starlette.routing import Mount

from support.apt import terminal_announcer
from support.browser import FLAGS, chromium
from support.serving import serving
from svcflow import Engine, ManualClock, shipped_workflows
from svcflow.serve.console import Agent, ConsoleSettings, create_console

TOKEN = "agent-token-0123456789abcdef"


@pytest.fixture(scope="module")
def browser(pytestconfig: pytest.Config) -> Iterator[Browser]:
    binary = chromium(terminal_announcer(pytestconfig, "test_console_browser"))
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(binary), args=list(FLAGS))
        yield launched
        launched.close()


@pytest.fixture
def console_url(tmp_path: Path, clock: ManualClock) -> Iterator[str]:
    agents = {TOKEN: Agent("agent-7", frozenset({"read", "write"}))}
    with Engine.from_directory(
        shipped_workflows(), store=f"sqlite:///{tmp_path / 'cases.db'}", clock=clock
    ) as engine:
        console = create_console(engine, agents.get, ConsoleSettings(clock_advance=True))
        with serving(Starlette(routes=[Mount("/console", app=console)])) as url:
            yield f"{url}/console/"


def sign_in(page: Page, console_url: str) -> None:
    page.goto(console_url)
    page.fill("input[name=token]", TOKEN)
    page.click("form button[type=submit]")
    expect(page.locator("h1")).to_have_text("SLA board")


def test_start_fire_advance_and_see_the_case_breached(browser: Browser, console_url: str) -> None:
    page = browser.new_page(locale="en-GB")
    sign_in(page, console_url)
    page.click("text=Workflows")
    page.click("text=Complaint handling")
    page.fill("form[data-form=start] textarea", "customer: Li Wei\nchannel: app")
    page.click("form[data-form=start] button")
    case_id = page.locator("[data-case-id]").inner_text()
    expect(page.locator("[data-state]")).to_have_text("received")
    page.click("button[data-trigger=acknowledge]")
    expect(page.locator("[data-state]")).to_have_text("acknowledged")
    expect(page.locator("[data-timeline] tr[data-seq='2']")).to_contain_text("agent-7")

    page.click("button[data-trigger=resolve]")
    expect(page.locator("[data-problem]")).to_contain_text(
        'its condition `resolution != null && resolution != ""` is false'
    )
    expect(page.locator("[data-state]")).to_have_text("acknowledged")

    page.fill("form[data-form=advance] input[name=by]", "25h")
    page.click("form[data-form=advance] button")
    expect(page.locator("h1")).to_have_text("SLA board")
    row = page.locator(f"tr[data-case='{case_id}'][data-metric=resolution]")
    expect(row).to_have_attribute("data-status", "breached")
    expect(row).to_contain_text("breached")
    page.close()


def test_the_board_in_chinese(browser: Browser, console_url: str) -> None:
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    page.goto(console_url)
    expect(page.locator("h1")).to_have_text("登录")
    page.fill("input[name=token]", TOKEN)
    page.click("form button[type=submit]")
    expect(page.locator("h1")).to_have_text("SLA 看板")
    expect(page.locator("[data-empty]")).to_have_text("没有已违约或有风险的 SLA 计时。")
    page.click("a[hreflang=en]")
    expect(page.locator("h1")).to_have_text("SLA board")
    context.close()
