"""Templates read SLA targets from the workflow: an edited target changes every message.

A process owner who changes the complaint resolution target from 24 hours to 12 business hours
must not leave "Not resolved within 24 hours" in a manager's inbox. Templates say
``{{ sla.resolution.target_words }}`` instead, and a meta-test refuses a shipped template (or
an SLA note) that writes out a duration its workflow defines as an SLA target.
"""

from __future__ import annotations

import re
import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from support.workflows import ROOT
from svcflow.clock import ManualClock
from svcflow.definitions import load_definitions
from svcflow.sla.words import duration_words, target_words
from svcflow.spec.sla import Within
from svcflow.spec.walk import referenced_templates
from svcflow.testing import EngineFactory

WORKFLOWS = ROOT / "workflows"
TEMPLATES = WORKFLOWS / "templates"
OFFICE = """\
calendar: desk-hours
timezone: UTC
hours: {mon: "09:00-18:00", tue: "09:00-18:00", wed: "09:00-18:00", thu: "09:00-18:00",
        fri: "09:00-18:00"}
"""
DIRECTORY = {
    "customer": {"address": "li@example.com", "channel": "email"},
    "team_lead": {"address": "lead@example.com", "channel": "email"},
    "service_manager": {"address": "manager@example.com", "channel": "email"},
}
_EN = re.compile(r"(\d+)[ -](second|minute|hour|day)s?(?![\w-]* VIP)")
_ZH = re.compile(r"(\d+) ?(秒|分钟|小时|天)(?! ?VIP)")
_SECONDS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
_SECONDS |= {"秒": 1, "分钟": 60, "小时": 3600, "天": 86400}
NOT_SLA_TARGETS = {
    # The 24-hour window to continue a closed chat is the reopen_expired timer, not an SLA
    # target; templates read SLA targets only (see docs/workflow-reference.md).
    ("im_first_response", "im_chat_closed"): {timedelta(hours=24)},
}


@pytest.mark.parametrize(
    ("within", "calendar", "locale", "words"),
    [
        ("24h", "24x7", "en", "24 hours"),
        ("12h", "office", "en", "12 business hours"),
        ("1h", "24x7", "en", "1 hour"),
        ("15m", "24x7", "zh-CN", "15 分钟"),
        ("12h", "office", "zh-CN", "12 个工作小时"),
        ("1h30m", "office", "en", "1 hour 30 minutes of business time"),
        ("30s", "24x7", "en", "30 seconds"),
        ("48h", "24x7", "en", "48 hours"),
        ("14d", "24x7", "en", "14 days"),
        ("3 business days", "office", "en", "3 business days"),
        ("3 business days", "office", "zh-CN", "3 个工作日"),
        ("2 weeks", "24x7", "en", "14 days"),
    ],
)
def test_a_target_in_words(within: str, calendar: str, locale: str, words: str) -> None:
    assert target_words(Within.model_validate(within), calendar, locale) == words


def test_duration_words_of_nothing_is_zero_minutes() -> None:
    assert duration_words(timedelta(0)) == "0 minutes"


def _edited_complaint(folder: Path) -> Path:
    """The shipped workflows with the complaint resolution target cut to 12 business hours."""
    shutil.copytree(WORKFLOWS, folder, ignore=shutil.ignore_patterns("crisis.yaml"))
    complaint = folder / "complaint.yaml"
    text = complaint.read_text(encoding="utf-8")
    edited = text.replace(
        "targets: [{within: 24h, name: 24 hours}]\n      warnings:",
        "targets: [{within: 12h, calendar: desk-hours}]\n      warnings:",
    )
    assert edited != text
    complaint.write_text(edited, encoding="utf-8")
    (folder / "desk-hours.yaml").write_text(OFFICE, encoding="utf-8")
    return folder


def _messages_of_a_late_complaint(
    svcflow_engine: EngineFactory, svcflow_clock: ManualClock, folder: Path
) -> str:
    engine = svcflow_engine(folder, directory=DIRECTORY)
    case = engine.start(
        "complaint",
        {"customer": "Li Wei", "channel": "app", "category": "logistics"},
        actor="intake",
    )
    engine.fire(case.id, "acknowledge", actor="agent-7")
    svcflow_clock.advance("5d")
    engine.advance()
    rows = engine.outbox(case.id)
    assert [row.template for row in rows if row.status == "dead"] == []
    templates = [row.template for row in rows]
    for expected in ("complaint_received", "overtime_warning", "resolution_overdue"):
        assert expected in templates
    return "\n".join(row.subject + "\n" + row.body for row in rows)


def test_an_edited_resolution_target_changes_every_message(
    svcflow_engine: EngineFactory, svcflow_clock: ManualClock, tmp_path: Path
) -> None:
    text = _messages_of_a_late_complaint(
        svcflow_engine, svcflow_clock, _edited_complaint(tmp_path / "wf")
    )
    assert "within 12 business hours" in text  # complaint_received
    assert "used 75% of its 12 business hours" in text  # overtime_warning
    assert "Not resolved within 12 business hours" in text  # resolution_overdue
    assert "24 hours" not in text and "24-hour" not in text


def test_an_edited_target_reads_in_the_customers_language(
    svcflow_engine: EngineFactory, tmp_path: Path
) -> None:
    directory = DIRECTORY | {
        "customer": {"address": "wang@example.cn", "channel": "email", "locale": "zh-CN"}
    }
    engine = svcflow_engine(_edited_complaint(tmp_path / "wf"), directory=directory)
    case = engine.start("complaint", {"customer": "王芳", "channel": "app"}, actor="intake")
    [row] = engine.outbox(case.id)
    assert "力争在 12 个工作小时内为您解决" in row.body
    assert "在 15 分钟内与您联系" in row.body


def test_the_shipped_texts_are_unchanged_where_the_target_is(
    svcflow_engine: EngineFactory,
) -> None:
    engine = svcflow_engine(WORKFLOWS, directory=DIRECTORY)
    case = engine.start("complaint", {"customer": "Li Wei", "channel": "app"}, actor="intake")
    [row] = engine.outbox(case.id)
    assert "contact you within 15 minutes. We aim to resolve it within 24 hours." in row.body


def _durations(text: str) -> set[timedelta]:
    found = {(int(n), unit) for pattern in (_EN, _ZH) for n, unit in pattern.findall(text)}
    return {timedelta(seconds=n * _SECONDS[unit]) for n, unit in found}


def _sla_targets(workflow_spec: Any) -> set[timedelta]:
    sla = getattr(workflow_spec, "sla", None)
    if sla is None:
        return set()
    return {
        target.within.amount
        for metric in sla.metrics.values()
        for target in metric.targets
        if isinstance(target.within.amount, timedelta)
    }


def _written_out(source: str) -> str:
    """The words of a template, without its ``{{ ... }}`` and ``{% ... %}`` code."""
    return re.sub(r"\{[{%].*?[%}]\}", " ", source, flags=re.S)


def test_no_shipped_template_writes_out_a_duration_its_workflow_defines() -> None:
    offenders = []
    for loaded in load_definitions(WORKFLOWS).workflows:
        targets = _sla_targets(loaded.spec)
        for template in {name for name, _ in referenced_templates(loaded.spec)}:
            allowed = NOT_SLA_TARGETS.get((loaded.spec.workflow, template), set())
            for path in sorted(TEMPLATES.glob(f"*/{template}*.j2")):
                hard = _durations(_written_out(path.read_text(encoding="utf-8"))) & targets
                if hard - allowed:
                    offenders.append(f"{path.relative_to(TEMPLATES)}: {sorted(map(str, hard))}")
    assert offenders == []


def test_no_shipped_sla_note_writes_out_a_target() -> None:
    offenders = []
    for loaded in load_definitions(WORKFLOWS).workflows:
        targets = _sla_targets(loaded.spec)
        for metric in loaded.spec.sla.metrics.values() if loaded.spec.sla else ():
            actions = [*metric.on_breach, *(a for w in metric.warnings for a in w.actions)]
            notes = [action.note for action in actions if action.note]
            offenders += [f"{loaded.spec.workflow}: {n}" for n in notes if _durations(n) & targets]
    assert offenders == []


def test_the_meta_test_catches_a_hard_coded_target() -> None:
    source = "Not resolved within 24 hours. 超过 15 分钟未响应. The 24-hour VIP line."
    assert _durations(_written_out(source)) == {timedelta(hours=24), timedelta(minutes=15)}
    assert _durations(_written_out("within {{ sla.resolution.target_words }}")) == set()
