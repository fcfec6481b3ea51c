"""The ``svcflow`` command as a process owner and an operator use it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from support.workflows import MINIMAL, ROOT, WORKFLOWS
from svcflow.cli import main
from svcflow.spec.schema import workflow_json_schema_text

SCENARIOS = ROOT / "tests" / "scenarios"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def simulate_text(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, scenario_text: str
) -> tuple[int, str, str, Path]:
    """Write a scenario file and simulate it against the shipped complaint workflow."""
    scenario = tmp_path / "s.yaml"
    scenario.write_text(scenario_text)
    code, out, err = run(
        capsys, "simulate", str(WORKFLOWS / "complaint.yaml"), "--scenario", str(scenario)
    )
    return code, out, err, scenario


def test_validate_ok(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "validate", str(WORKFLOWS / "complaint.yaml"))
    assert (code, err) == (0, "")
    assert out == (
        f"ok  {WORKFLOWS / 'complaint.yaml'}: workflow 'complaint' v3, 11 states, "
        "24 transitions, 4 SLA metrics, tables priority_matrix, delegated_authority, queues\n"
    )


def test_validate_prints_every_error_and_exits_1(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "a.yaml").write_text(MINIMAL.replace("to: answered", "to: answerd"))
    (tmp_path / "b.yaml").write_text(MINIMAL.replace("title:", "tilte:"))
    (tmp_path / "c.yaml").write_text(MINIMAL.replace("workflow: ticket", "workflow: other"))
    code, out, err = run(capsys, "validate", str(tmp_path))
    assert code == 1
    assert out == f"ok  {tmp_path / 'c.yaml'}: workflow 'other' v1, 4 states, 6 transitions\n"
    assert err == (
        f"{tmp_path / 'a.yaml'}:25:9: transitions[2].to: unknown state 'answerd'; did you mean "
        "'answered'? states: answered, closed, new, open\n"
        f"{tmp_path / 'b.yaml'}:1:1: missing required key 'title'\n"
        f"{tmp_path / 'b.yaml'}:3:1: tilte: unknown key 'tilte'; did you mean 'title'? valid "
        "keys: data, description, end_on, escalations, intake, kpi, quiet_hours, retention, "
        "roles, schedules, scope, signals, sla, start_on, states, tables, title, transitions, "
        "version, workflow\n"
        f"warning: {tmp_path / 'c.yaml'}:13:9: states.new.on_enter[0].notify: notifies "
        "'customer', but workflow 'other' has no way to reach them: it takes no messages (no "
        "`intake:`) and has no `customer_email` or `customer_phone` field, so on a case started "
        "without `Engine.start(..., customer=...)` these notices are undeliverable; add an "
        "`intake:` section or a `customer_email`/`customer_phone` data field, or have the host "
        "always pass the customer\n"
        "2 of 3 file(s) invalid\n"
    )


def test_graph_prints_mermaid(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "t.yaml").write_text(MINIMAL)
    code, out, _ = run(capsys, "graph", str(tmp_path / "t.yaml"))
    assert code == 0
    lines = out.splitlines()
    assert lines[:4] == ["---", "Ticket (ticket v1)", "---", "stateDiagram-v2"]
    for edge in [
        "  new --> open: take",
        "  new --> new: remind [internal]",
        '  open --> answered: answer [answer != null && answer != ""]',
        "  open --> closed: expire",
        "  [*] --> new",
        "  closed --> [*]",
    ]:
        assert edge in lines
    assert "  answered --> closed: close | expire" in lines or (
        "  answered --> closed: close" in lines
    )


def test_schema_matches_shipped_file(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "schema")
    assert code == 0
    shipped = ROOT / "src" / "svcflow" / "schema" / "workflow.schema.json"
    assert out == shipped.read_text() == workflow_json_schema_text()
    schema = json.loads(out)
    assert schema["additionalProperties"] is False
    assert set(schema["required"]) == {"workflow", "version", "title", "states"}
    assert schema["$defs"]["TransitionSpec"]["properties"]["from"]


def test_simulate_prints_timeline(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys,
        "simulate",
        str(WORKFLOWS / "complaint.yaml"),
        "--scenario",
        str(SCENARIOS / "complaint_overdue.yaml"),
    )
    assert code == 0
    lines = out.splitlines()
    assert lines[1].split() == [
        "+0s",
        "Mon",
        "09:00",
        "start",
        "by",
        "intake",
        "received",
        "notify",
        "complaint_received",
        "->",
        "customer;",
        "timer",
        "sla:first_response:warning:0",
        "at",
        "+10m;",
        "timer",
        "sla:first_response:breach",
        "at",
        "+15m;",
        "timer",
        "sla:resolution:warning:0",
        "at",
        "+18h;",
        "timer",
        "sla:resolution:breach",
        "at",
        "+1d;",
        "timer",
        "esc:unacknowledged",
        "at",
        "+15m",
    ]
    assert lines[2].split() == [
        "+10m",
        "Mon",
        "09:10",
        "sla:first_response:warning:0",
        "by",
        "timer",
        "received",
        "notify",
        "response_due_soon",
        "->",
        "team_lead",
    ]
    assert lines[3].split()[:6] == [
        "+15m",
        "Mon",
        "09:15",
        "sla:first_response:breach",
        "by",
        "timer",
    ]
    assert "set priority=high" in lines[3]
    assert lines[4].split()[3:] == [
        "esc:unacknowledged",
        "by",
        "timer",
        "received",
        "notify",
        "response_overdue",
        "->",
        "team_lead;",
        "timer",
        "esc:unacknowledged",
        "at",
        "+30m",
    ]
    assert lines[-2].startswith("-- case ")
    assert lines[-2].endswith("10 events, 8 notifications queued, expectations passed")


def test_simulate_failed_expectation_exits_1(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, _, _ = simulate_text(
        capsys,
        tmp_path,
        "case: {customer: Ann}\nstart: 2026-03-02T09:00:00Z\n"
        "events:\n  - at: 20m\n    expect: {state: acknowledged}\n",
    )
    assert code == 1
    assert "FAIL  +20m (line 4): expected state 'acknowledged', it is 'received'" in out


def test_simulate_bad_scenario_reports_positions(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, err, scenario = simulate_text(
        capsys,
        tmp_path,
        "case: {customer: Ann}\nevents:\n  - at: 20m\n    fire: acknowlege\n"
        "  - at: 10m\n    expect: {stat: received}\n",
    )
    assert code == 1
    assert err == (
        f"error: 1 problem in {scenario}\n"
        f"{scenario}:6:14: events[1].expect.stat: unknown key 'stat'; did you mean 'state'? "
        "valid keys: data, notifications, sla, state, timers\n"
    )
    code, _, err, scenario = simulate_text(
        capsys,
        tmp_path,
        "case: {customer: Ann}\nevents:\n  - at: 20m\n    fire: acknowlege\n"
        "  - at: 10m\n    expect: {state: recieved}\n",
    )
    assert code == 1
    assert err.splitlines()[1:] == [
        f"{scenario}:4:11: events[0].fire: unknown trigger 'acknowlege'; did you mean "
        "'acknowledge'? triggers: acknowledge, adopt_suggestion, approve, ask_customer, assess, "
        "callback_done, choose, customer_replied, customer_silent, decline_suggestion, "
        "file_exception_report, flag_exception, follow_up_due, forward_suggestion, investigate, "
        "propose, refuse, reopen, resolve",
        f"{scenario}:5:9: events[1].at: events must be in time order; this one is earlier "
        "than the one before it",
        f"{scenario}:6:21: events[1].expect.state: unknown state 'recieved'; did you mean "
        "'received'? states: acknowledged, assessed, awaiting_approval, closed, follow_up, "
        "investigating, received, resolved, solution_proposed, suggestion_review, "
        "waiting_on_customer",
    ]


def test_missing_file_is_an_error_not_a_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "graph", "nope.yaml")
    assert code == 1
    assert err.startswith("error: 1 problem in nope.yaml\nnope.yaml:1:1: cannot read the file")


def test_validate_warns_when_nobody_can_reach_the_customer(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A workflow started only through the API that notifies ``customer`` (the README's
    complaint with no contact field) validates, with a warning that says where and how to fix
    it; a contact field or an ``intake:`` section is a way to reach them, and silences it."""
    file = tmp_path / "ticket.yaml"
    file.write_text(MINIMAL)
    code, out, err = run(capsys, "validate", str(file))
    assert code == 0
    assert out.startswith(f"ok  {file}: workflow 'ticket' v1")
    assert err == (
        f"warning: {file}:13:9: states.new.on_enter[0].notify: notifies 'customer', but "
        "workflow 'ticket' has no way to reach them: it takes no messages (no `intake:`) and "
        "has no `customer_email` or `customer_phone` field, so on a case started without "
        "`Engine.start(..., customer=...)` these notices are undeliverable; add an `intake:` "
        "section or a `customer_email`/`customer_phone` data field, or have the host always "
        "pass the customer\n"
    )
    file.write_text(
        MINIMAL.replace("  answer: string\n", "  answer: string\n  customer_email: string\n")
    )
    assert run(capsys, "validate", str(file))[::2] == (0, "")
    code, _, err = run(capsys, "validate", str(WORKFLOWS / "escalation.yaml"))
    assert code == 0
    assert "escalation.yaml:62:9: states.agent_handling.on_enter[2].notify: notifies " in err
    assert "'customer' (also on lines 78, 83, 89, 146, 153), but workflow 'escalation'" in err
