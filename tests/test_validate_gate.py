"""``svcflow validate`` as the gate: what the engine would refuse is found first, in words a
process owner can act on, each root cause once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from support.workflows import MINIMAL, ROOT
from svcflow.cli import main

CALLBACK = """\
workflow: callback
version: 1
title: Callback
states:
  waiting: {initial: true}
  done: {final: true}
transitions:
  - {trigger: call, from: waiting, to: done}
sla:
  calendar: office
  metrics:
    answer:
      start: {enter: waiting}
      stop: {leave: waiting}
      targets: [{within: 4h}]
"""

OFFICE = """\
calendar: office
timezone: Europe/London
hours:
  mon: ["09:00-18:00"]
holidays:
  - HOLIDAY
"""


def validate(capsys: pytest.CaptureFixture[str], *paths: Path) -> tuple[int, str, str]:
    code = main(["validate", *map(str, paths)])
    out, err = capsys.readouterr()
    return code, out, err


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_a_tab_is_named_with_its_line_and_a_caret(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = write(tmp_path, "x.yaml", "workflow: x\nversion: 1\nstates:\n  a:\n\tinitial: true\n")
    assert validate(capsys, file) == (
        1,
        "",
        f"{file}:5:1: YAML syntax error: tabs are not allowed; indent with spaces\n"
        "    \tinitial: true\n"
        "    ^\n"
        "1 of 1 file(s) invalid\n",
    )


def test_a_key_out_of_line_says_where_its_mapping_starts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = "workflow: x\nversion: 1\nstates:\n  a:\n    initial: true\n   b: {}\n"
    file = write(tmp_path, "x.yaml", text)
    assert validate(capsys, file)[2] == (
        f"{file}:6:4: YAML syntax error: this line is not lined up with the keys above it; the "
        "keys of one mapping start in the same column, as the first one does (line 4, column 3)\n"
        "       b: {}\n"
        "       ^\n"
        "1 of 1 file(s) invalid\n"
    )


@pytest.mark.parametrize("holiday", ["2026-13-01", '"2026-13-01"'])
def test_a_bad_holiday_date_says_how_to_write_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], holiday: str
) -> None:
    file = write(tmp_path, "office.yaml", OFFICE.replace("HOLIDAY", holiday))
    assert validate(capsys, file) == (
        1,
        "",
        f"{file}:6:5: holidays[0]: '2026-13-01' is not a date; write YYYY-MM-DD\n"
        "1 of 1 file(s) invalid\n",
    )


def test_a_broken_calendar_is_reported_once_not_as_unknown_in_every_workflow(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path, "callback.yaml", CALLBACK)
    write(tmp_path, "other.yaml", CALLBACK.replace("workflow: callback", "workflow: other"))
    calendar = write(tmp_path, "office.yaml", OFFICE.replace("HOLIDAY", "2026-13-01"))
    code, out, err = validate(capsys, tmp_path)
    assert code == 1
    assert out == (
        f"--  {tmp_path / 'callback.yaml'}: not checked until its calendar 'office' loads "
        "(see above)\n"
        f"--  {tmp_path / 'other.yaml'}: not checked until its calendar 'office' loads "
        "(see above)\n"
    )
    assert err == (
        f"{calendar}:6:5: holidays[0]: '2026-13-01' is not a date; write YYYY-MM-DD\n"
        "1 of 3 file(s) invalid\n"
    )


def test_one_workflow_file_finds_the_calendar_beside_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    workflow = write(tmp_path, "callback.yaml", CALLBACK)
    write(tmp_path, "calendars/office.yaml", OFFICE.replace("HOLIDAY", "2026-12-25"))
    assert validate(capsys, workflow) == (
        0,
        f"ok  {workflow}: workflow 'callback' v1, 2 states, 1 transitions, 1 SLA metrics\n",
        "",
    )


def test_one_workflow_file_beside_a_broken_calendar_gets_the_calendars_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    workflow = write(tmp_path, "callback.yaml", CALLBACK)
    calendar = write(tmp_path, "office.yaml", OFFICE.replace("HOLIDAY", "2026-13-01"))
    code, out, err = validate(capsys, workflow)
    assert (code, err) == (
        1,
        f"{calendar}:6:5: holidays[0]: '2026-13-01' is not a date; write YYYY-MM-DD\n"
        "1 of 2 file(s) invalid\n",
    )
    assert "not checked until its calendar 'office' loads" in out


def test_a_template_the_workflow_names_must_exist(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    workflow = write(tmp_path, "ticket.yaml", MINIMAL)
    write(tmp_path, "templates/en/other.j2", "Hello\n")
    assert validate(capsys, workflow) == (
        1,
        "",
        f"{workflow}:13:28: states.new.on_enter[0].notify.template: no template "
        f"'ticket_opened' in {tmp_path / 'templates' / 'en'}; write en/ticket_opened.j2 there\n"
        "1 of 1 file(s) invalid\n",
    )
    write(tmp_path, "templates/en/ticket_opened.j2", "Hello {{ case.data.customer }}\n")
    assert validate(capsys, workflow)[0] == 0


@pytest.mark.parametrize("kind", ["workflow", "calendar", "rules"])
def test_every_file_language_has_its_json_schema_shipped(
    capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    assert main(["schema", "--kind", kind]) == 0
    out = capsys.readouterr().out
    shipped = ROOT / "src" / "svcflow" / "schema" / f"{kind}.schema.json"
    assert out == shipped.read_text(encoding="utf-8")
    schema = json.loads(out)
    assert schema["$id"] == f"https://svcflow.dev/schema/{kind}-v1.json"
    assert schema["additionalProperties"] is False


def test_the_shipped_calendar_names_its_schema_for_editors() -> None:
    first = (ROOT / "workflows" / "calendars" / "office.yaml").read_text().splitlines()[0]
    assert first == "# yaml-language-server: $schema=https://svcflow.dev/schema/calendar-v1.json"


def test_the_reference_shows_the_texts_these_tests_pin() -> None:
    page = (ROOT / "docs" / "workflow-reference.md").read_text(encoding="utf-8")
    for text in (
        "holidays[0]: '2026-13-01' is not a date; write YYYY-MM-DD",
        "not checked until its calendar 'office' loads (see above)",
        "YAML syntax error: tabs are not allowed; indent with spaces",
        "YAML syntax error: this line is not lined up with the keys above it; the keys of one "
        "mapping start in the same column, as the first one does (line 4, column 3)",
    ):
        assert text in page
