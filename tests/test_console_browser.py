"""The web console in a real browser: Playwright drives Debian's headless Chromium
(``/usr/bin/chromium``, installed by the test when missing and allowed; never a downloaded
browser) against ``svcflow serve``'s application (API tokens in a token file) served by uvicorn
on localhost, on a SQLite store with the shipped workflows and a manual clock, with the console
settings of ``svcflow serve --demo``.

An agent signs in, starts a complaint, acknowledges it from its page, tries to resolve it
without a resolution (and reads why not), advances the demo clock by a day and finds the case
breached on the SLA board; a second browser asking for Chinese gets the board in zh-CN.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from support.apt import terminal_announcer
from support.browser import FLAGS, chromium
from support.serving import running
from svcflow import Engine, ManualClock, shipped_workflows
from svcflow.serve import TokenFile, create_app
from svcflow.serve.console.demo import DEMO_SETTINGS
from svcflow.serve.console.mounted import SETTINGS_STATE


@pytest.fixture(scope="module")
def browser(pytestconfig: pytest.Config) -> Iterator[Browser]:
    binary = chromium(terminal_announcer(pytestconfig, "test_console_browser"))
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(binary), args=list(FLAGS))
        yield launched
        launched.close()


@pytest.fixture
def token(tmp_path: Path) -> str:
    return TokenFile(tmp_path / "tokens.json").create("agent-7", ["read", "write"]).secret


@pytest.fixture
def console_url(tmp_path: Path, clock: ManualClock, token: str) -> Iterator[str]:
    with Engine.from_directory(
        shipped_workflows(), store=f"sqlite:///{tmp_path / 'cases.db'}", clock=clock
    ) as engine:
        app = create_app(engine, tokens=TokenFile(tmp_path / "tokens.json"))
        setattr(app.state, SETTINGS_STATE, DEMO_SETTINGS)
        with running(app) as url:
            yield f"{url}/console/"


def sign_in(page: Page, console_url: str, token: str) -> None:
    page.goto(console_url)
    page.fill("input[name=token]", token)
    page.click("form button[type=submit]")
    expect(page.locator("h1")).to_have_text("SLA board")


def test_start_fire_advance_and_see_the_case_breached(
    browser: Browser, console_url: str, token: str
) -> None:
    page = browser.new_page(locale="en-GB")
    sign_in(page, console_url, token)
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


def test_the_board_in_chinese(browser: Browser, console_url: str, token: str) -> None:
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    page.goto(console_url)
    expect(page.locator("h1")).to_have_text("登录")
    page.fill("input[name=token]", token)
    page.click("form button[type=submit]")
    expect(page.locator("h1")).to_have_text("SLA 看板")
    expect(page.locator("[data-empty]")).to_have_text("没有已违约或有风险的 SLA 计时。")
    page.click("a[hreflang=en]")
    expect(page.locator("h1")).to_have_text("SLA board")
    context.close()


def test_the_workflow_page_draws_its_diagram_without_script(
    browser: Browser, console_url: str, token: str, graphviz_dot: str
) -> None:
    page = browser.new_page(locale="en-GB")
    sign_in(page, console_url, token)
    page.goto(f"{console_url}workflows/crisis")
    picture = page.locator("[data-diagram-svg] svg")
    expect(picture).to_be_visible()
    drawn = picture.locator("g.node text").all_text_contents()
    states = ["declared", "alerted", "responding", "care_plan", "review", "closed"]
    assert set(states) <= set(drawn), drawn
    box = picture.bounding_box()
    assert box is not None and box["width"] > 200 and box["height"] > 100
    assert page.evaluate("document.scripts.length") == 0
    page.close()
