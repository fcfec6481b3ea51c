"""The KPI report in English and Simplified Chinese: every sentence of the report (and of the
console) has a translation in its catalogue, a Chinese report reads in Chinese with numbers and
dates as Babel writes them, the CLI's ``--lang`` and the console's language choose it, and an
English report is the report it always was."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po

from support.report_scenario import run_scenario, scenario_engine
from support.serving import running
from svcflow import Engine, ManualClock, shipped_workflows
from svcflow.cli import main
from svcflow.errors import ReportLanguageError
from svcflow.report import Report, build_report, render_html, render_text
from svcflow.report.figures import CRISIS_MARKS
from svcflow.report.language import report_language
from svcflow.serve import TokenFile, create_app

SOURCE = Path(__file__).parents[1] / "src" / "svcflow"
KEYWORDS = {"_": None, "N_": None, "gettext": None, "ngettext": (1, 2)}


def marked_messages(folder: Path) -> set[str]:
    """Every message marked for translation in ``folder``'s Python files and templates, as
    gettext's tools (Babel's extractors) find them."""
    found: set[str] = set()
    for path in folder.glob("*.py"):
        for _line, message, _comments, _context in extract_from_file(
            "python", str(path), keywords=KEYWORDS
        ):
            found.add(message[0] if isinstance(message, tuple) else message)
    for path in (folder / "templates").glob("*.j2"):
        for _line, message, _comments, _context in extract_from_file(
            "jinja2.ext:babel_extract", str(path), keywords=KEYWORDS
        ):
            found.add(message[0] if isinstance(message, tuple) else message)
    return found


def translated(catalogue: Path) -> set[str]:
    with catalogue.open("rb") as text:
        read = read_po(text)
    return {
        message.id[0] if isinstance(message.id, tuple) else message.id
        for message in read
        if message.id
        and all(message.string if isinstance(message.string, tuple) else [message.string])
    }


@pytest.mark.parametrize(
    ("folder", "catalogue"),
    [("report", "report.po"), ("serve/console", "console.po")],
)
def test_every_marked_message_has_a_chinese_translation(folder: str, catalogue: str) -> None:
    where = SOURCE / folder
    wanted = marked_messages(where)
    if folder == "report":
        wanted |= set(CRISIS_MARKS)  # the crisis marks' names, translated where shown
    assert wanted, f"no marked message found in {where}"
    missing = wanted - translated(where / "locales/zh_CN/LC_MESSAGES" / catalogue)
    assert missing == set(), f"messages without a Chinese translation: {sorted(missing)}"


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Report:
    url = f"sqlite:///{tmp_path_factory.mktemp('report-i18n') / 'week.db'}"
    engine = scenario_engine(url)
    run_scenario(engine)
    engine.close()
    return build_report(url)


def test_the_text_report_in_chinese(report: Report) -> None:
    text = render_text(report, lang="zh-CN")
    first = text.splitlines()[0]
    assert first == (
        "svcflow KPI 报告：6 个工单，历史记录自 2026年3月2日 09:00 UTC 至 "
        + first.rsplit("至 ", 1)[1]
    )
    assert "按渠道" in text and "SLA 达成率" in text and "危机 " in text
    assert "节点：内部预警 +30分钟, 响应方案 +1小时" in text
    assert not re.search(r"\b(cases|breached|target|overall|history)\b", text), text


def test_the_html_report_in_chinese(report: Report) -> None:
    page = render_html(report, lang="zh-CN")
    assert '<html lang="zh-CN">' in page
    assert "<h1>客户服务 KPI 报告</h1>" in page
    assert "首次联络解决率" in page and "危机时间线" in page
    words = re.sub(r"<[^>]+>", " ", page.split("</style>", 1)[1])
    english = {"cases", "target", "breached", "overall", "Escalations", "median", "resolved"}
    assert english.isdisjoint(set(re.findall(r"[A-Za-z]+", words)))


def test_english_is_the_default_and_unchanged(report: Report) -> None:
    assert render_text(report) == render_text(report, lang="en")
    assert render_html(report, lang="en") == render_html(report)
    assert '<html lang="en">' in render_html(report)


def test_an_unknown_language_is_refused() -> None:
    with pytest.raises(ReportLanguageError) as refused:
        report_language("fr")
    assert str(refused.value) == (
        "cannot write the KPI report in 'fr': the report is written in en, zh-CN"
    )


def test_svcflow_report_lang(
    report: Report, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'week.db'}"
    engine = scenario_engine(url)
    run_scenario(engine)
    engine.close()
    assert main(["report", "--store", url, "--lang", "zh-CN"]) == 0
    assert capsys.readouterr().out == render_text(build_report(url), lang="zh-CN")
    assert main(["report", "--store", url, "--format", "html", "--lang", "zh-CN"]) == 0
    assert '<html lang="zh-CN">' in capsys.readouterr().out


def test_the_console_shows_the_report_in_its_language(tmp_path: Path, clock: ManualClock) -> None:
    tokens = TokenFile(tmp_path / "tokens.json")
    secret = tokens.create("agent-7", ["read"]).secret
    with (
        Engine.from_directory(
            shipped_workflows(), store=f"sqlite:///{tmp_path / 'cases.db'}", clock=clock
        ) as engine,
        running(create_app(engine, tokens=tokens)) as url,
        httpx.Client(base_url=url) as client,
    ):
        engine.start("complaint", {"customer": "Li Wei", "channel": "app"})
        client.post("/console/login", data={"token": secret})
        chinese = client.get("/console/report.html", headers={"Accept-Language": "zh-CN"})
        assert '<html lang="zh-CN">' in chinese.text and "客户服务 KPI 报告" in chinese.text
        english = client.get("/console/report.html", headers={"Accept-Language": "en"})
        assert "<h1>Customer service KPI report</h1>" in english.text
        frame = client.get("/console/report", headers={"Accept-Language": "zh-CN"}).text
        assert 'data-report-lang="zh-CN"' in frame
