"""Tables inside workflows (``set``, ``when``, SLA targets) and on the command line
(``svcflow validate``, ``decide``, ``graph``)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from support.workflows import WORKFLOWS
from svcflow import Engine, ManualClock, WorkflowDefinitionError, load_workflow_text
from svcflow.cli import main
from svcflow.definitions.decide import table_warnings
from svcflow.rules.tables.binding import TableExpression

TRIAGE = """\
workflow: triage
version: 1
title: Triage with a priority table
data:
  impact: {type: enum, values: [high, medium, low], default: medium}
  urgency: {type: enum, values: [high, medium, low], default: medium}
  segment: {type: enum, values: [vip, standard], default: standard}
  priority: {type: enum, values: [urgent, high, normal, low]}
states:
  new: {initial: true}
  escalated: {}
  queued: {}
  done: {final: true}
transitions:
  - trigger: triage
    from: new
    to: escalated
    when: priority_matrix.priority == "urgent"
    actions:
      - set: {priority: {expr: priority_matrix.priority}}
  - trigger: triage
    from: new
    to: queued
    actions:
      - set: {priority: {expr: priority_matrix.priority}}
  - {trigger: close, from: [escalated, queued], to: done}
sla:
  metrics:
    response:
      start: {enter: new}
      stop: {enter: done}
      targets:
        - {when: 'priority_matrix.priority == "urgent"', within: 15m, name: urgent}
        - {when: 'priority_matrix.priority == "high"', within: 1h, name: high}
        - {within: 4h, name: normal}
tables:
  priority_matrix:
    hit: first
    inputs:
      vip: segment == "vip"
      impact: impact
      urgency: urgency
    outputs:
      priority: {type: enum, values: [urgent, high, normal, low]}
    rules:
      - {vip: true, impact: high, priority: urgent}
      - {impact: high, urgency: high, priority: urgent}
      - {impact: high, priority: high}
      - {impact: medium, urgency: high, priority: high}
      - {impact: medium, priority: normal}
      - {priority: low}
"""


@pytest.fixture
def triage(store_url: str, clock: ManualClock) -> Engine:
    return Engine([load_workflow_text(TRIAGE, "triage.yaml")], store_url, clock)


@pytest.mark.parametrize(
    ("case", "state", "priority", "target", "within"),
    [
        (
            {"impact": "high", "urgency": "low", "segment": "vip"},
            "escalated",
            "urgent",
            "urgent",
            timedelta(minutes=15),
        ),
        ({"impact": "high", "urgency": "low"}, "queued", "high", "high", timedelta(hours=1)),
        ({"impact": "low", "urgency": "high"}, "queued", "low", "normal", timedelta(hours=4)),
    ],
)
def test_a_table_decides_the_transition_the_value_set_and_the_sla_target(
    triage: Engine,
    case: dict[str, str],
    state: str,
    priority: str,
    target: str,
    within: timedelta,
) -> None:
    started = triage.start("triage", case)
    [clock] = triage.sla(started.id)
    assert (clock.target, clock.budget) == (target, within)
    fired = triage.fire(started.id, "triage")
    assert (fired.state, fired.data["priority"]) == (state, priority)


def test_the_sla_target_follows_the_table_when_the_data_changes(triage: Engine) -> None:
    started = triage.start("triage", {"impact": "low"})
    assert triage.sla(started.id)[0].target == "normal"
    triage.fire(started.id, "triage", {"impact": "high", "segment": "vip"})
    assert triage.sla(started.id)[0].target == "urgent"


def test_expressions_that_name_a_table_decide_it_only_when_evaluated() -> None:
    loaded = load_workflow_text(TRIAGE, "triage.yaml")
    when = loaded.expressions[("transitions", 0, "when")]
    assert isinstance(when, TableExpression)
    assert list(when.tables) == ["priority_matrix"]
    variables = {"impact": "high", "urgency": "high", "segment": "standard"}
    assert when.evaluate(variables) is True
    assert when.evaluate(variables | {"impact": "low"}) is False


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            ('when: priority_matrix.priority == "urgent"', "when: priority_matrix.prio == 1"),
            "triage.yaml:18:27: transitions[0].when: table 'priority_matrix' has no output "
            "'prio'; did you mean 'priority'? outputs: priority",
        ),
        (
            ('when: priority_matrix.priority == "urgent"', "when: priority_matrix.priority > 3"),
            "triage.yaml:18:11: transitions[0].when: type mismatch in `priority_matrix.priority "
            "> 3`: No such overload: the operation is not defined for the given operand types; "
            "CEL does not convert between types (write 3.0 for a number, quote strings); it "
            "reads: priority_matrix",
        ),
        (
            ("  priority_matrix:\n    hit: first", "  priority:\n    hit: first"),
            "triage.yaml:37:3: tables.priority: 'priority' is a field; a table's name is a "
            "variable in expressions, so give the table another name",
        ),
        (
            ("{impact: medium, priority: normal}", "{impact: medum, priority: normal}"),
            'triage.yaml:50:18: tables.priority_matrix.rules[4].impact: "medum" is not a value '
            "of input 'impact'; did you mean 'medium'? values: high, low, medium",
        ),
    ],
)
def test_workflow_tables_are_checked_with_positions(change: tuple[str, str], expected: str) -> None:
    text = TRIAGE.replace(*change)
    with pytest.raises(WorkflowDefinitionError) as caught:
        load_workflow_text(text, "triage.yaml")
    assert expected in str(caught.value).splitlines()


def test_unknown_table_name_is_an_unknown_name() -> None:
    text = TRIAGE.replace('when: priority_matrix.priority == "urgent"', "when: prority_matrix")
    with pytest.raises(WorkflowDefinitionError) as caught:
        load_workflow_text(text, "triage.yaml")
    assert (
        "triage.yaml:18:11: transitions[0].when: unknown name 'prority_matrix' in expression "
        "`prority_matrix`; did you mean 'priority_matrix'? known names: actor, impact, now, "
        "priority, priority_matrix, segment, state, urgency"
    ) in str(caught.value).splitlines()


# -- the command line ---------------------------------------------------------------------------


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_validate_reads_rules_files_and_prints_warnings(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "triage.yaml").write_text(TRIAGE.replace("      - {priority: low}\n", ""))
    (tmp_path / "rules.yaml").write_text(
        "data: {amount: {type: number, required: true}}\n"
        "tables:\n"
        "  fee:\n"
        "    inputs: {amount: amount}\n"
        "    outputs: {fee: number}\n"
        "    rules:\n"
        "      - {amount: '< 10', fee: 1}\n"
    )
    code, out, err = run(capsys, "validate", str(tmp_path))
    assert code == 0
    assert out == (
        f"ok  {tmp_path / 'rules.yaml'}: rules, tables fee\n"
        f"ok  {tmp_path / 'triage.yaml'}: workflow 'triage' v1, 4 states, 3 transitions, "
        "1 SLA metrics, tables priority_matrix\n"
    )
    assert err == (
        f"warning: {tmp_path / 'rules.yaml'}:6:5: tables.fee.rules: no rule matches amount = "
        "10.0; such a case gets the outputs' defaults (fee = null); add a rule for it\n"
        f"warning: {tmp_path / 'triage.yaml'}:45:5: tables.priority_matrix.rules: no rule "
        'matches vip = false, impact = "low", urgency = "high" (and 3 other uncovered '
        "combinations); such a case gets the outputs' defaults (priority = null); add a rule "
        "for it, or end the table with a catch-all rule that leaves every input out\n"
    )


def test_validate_shipped_directory_is_clean(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "validate", str(WORKFLOWS))
    assert code == 0
    # Escalation and crisis cases are started by the host, which passes the customer; retention
    # and revisit cases by their signals, for the complaint's customer: their only warnings.
    assert [line.split(": ")[1] for line in err.splitlines()] == [
        f"{WORKFLOWS / 'care_retention.yaml'}:72:9",
        f"{WORKFLOWS / 'care_revisit.yaml'}:76:9",
        f"{WORKFLOWS / 'crisis.yaml'}:191:9",
        f"{WORKFLOWS / 'escalation.yaml'}:62:9",
    ]
    assert (
        f"ok  {WORKFLOWS / 'rules' / 'routing.yaml'}: rules, tables routing, contact_channel\n"
        in out
    )


def test_decide_shows_the_matched_rules_and_why(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(
        capsys,
        "decide",
        "delegated_authority",
        "--rules",
        str(WORKFLOWS),
        "--input",
        "compensation_percent=20",
    )
    assert (code, err) == (0, "")
    lines = (WORKFLOWS / "complaint.yaml").read_text(encoding="utf-8").splitlines()
    table = lines.index("  delegated_authority:") + 1
    rule = next(n for n, line in enumerate(lines, 1) if '{percent: "(5..20]"' in line)
    assert out == (
        f"table delegated_authority ({WORKFLOWS / 'complaint.yaml'}:{table}:3), hit policy "
        "unique\n"
        "  input percent = 20.0  (compensation_percent)\n"
        "  input standard = true  (standard_remedy)\n"
        f"rules[1] (line {rule}) chosen: percent = 20.0 matches (5..20]; standard = true matches "
        "true\n"
        "  note: e.g. the 20% compensation alternative\n"
        'result: approver = "team_lead", needs_approval = true, case_report_within = null\n'
    )


def test_decide_a_workflow_table(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "triage.yaml").write_text(TRIAGE)
    code, out, _ = run(
        capsys,
        "decide",
        "priority_matrix",
        "--rules",
        str(tmp_path),
        "--input",
        "impact=high",
        "--input",
        "segment=vip",
    )
    assert code == 0
    assert out.splitlines()[-1] == 'result: priority = "urgent"'


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["priority_matrx"],
            "error: no table 'priority_matrx'; did you mean 'priority_matrix'? "
            "tables: complaint_category, contact_channel, crisis_approvers, crisis_repair, "
            "crisis_response, crisis_team, crisis_tier, delegated_authority, knowledge_base, "
            "priority_matrix, queues, routing\n",
        ),
        (
            ["priority_matrix", "--input", "impct=high"],
            "error: unknown input 'impct'; did you "
            "mean 'impact'? fields: impact, segment, urgency\n",
        ),
        (
            ["priority_matrix", "--input", "impact=huge"],
            "error: impact=huge: Input should be 'high', 'medium' or 'low'\n",
        ),
        (["priority_matrix", "--input", "impact"], "error: 'impact' is not name=value\n"),
    ],
)
def test_decide_errors(capsys: pytest.CaptureFixture[str], argv: list[str], message: str) -> None:
    code, out, err = run(capsys, "decide", *argv, "--rules", str(WORKFLOWS))
    assert (code, out, err) == (1, "", message)


def test_graph_renders_a_rules_file_and_a_workflow_table_as_markdown(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, _ = run(capsys, "graph", str(WORKFLOWS / "rules" / "routing.yaml"))
    assert code == 0
    assert out.splitlines()[:10] == [
        "### `routing`",
        "",
        "**Queue and owner by segment, channel and category.**",
        "",
        f"From `{(WORKFLOWS / 'rules' / 'routing.yaml').as_posix()}`.",
        "",
        "Hit policy **first**: the first matching rule, from the top, wins.",
        "",
        "| rule | segment | channel | category | → queue | → owner | note |",
        "|---:|---|---|---|---|---|---|",
    ]
    (tmp_path / "triage.yaml").write_text(TRIAGE)
    code, out, _ = run(capsys, "graph", str(tmp_path / "triage.yaml"), "--table", "priority_matrix")
    assert code == 0
    assert "| 0 | true | high | - | urgent |" in out.splitlines()
    code, out, _ = run(capsys, "graph", str(tmp_path / "triage.yaml"))
    assert out.startswith("---\nTriage with a priority table (triage v1)\n")


def test_engine_from_directory_skips_rules_files(
    make_engine: Callable[..., Engine], tmp_path: Path, store_url: str, clock: ManualClock
) -> None:
    with Engine.from_directory(WORKFLOWS, store_url, clock) as engine:
        assert engine.start("complaint", {"customer": "Ann"}).state == "received"


SHIFTS = """\
workflow: shifts
version: 1
title: A queue chosen by the case's state and the time of day, and a count of red flags
data:
  late_reply: {type: boolean, default: false}
  angry: {type: boolean, default: false}
  queue: {type: string, default: ""}
  escalate: {type: boolean, default: false}
states:
  open: {initial: true}
  waiting: {}
  closed: {final: true}
transitions:
  - trigger: route
    from: [open, waiting]
    actions:
      - set: {queue: {expr: route.queue}}
  - trigger: check
    from: [open, waiting]
    when: flags.flag > 1
    actions:
      - set: {escalate: true}
  - {trigger: check, from: [open, waiting]}
  - {trigger: wait, from: open, to: waiting}
  - {trigger: close, from: [open, waiting], to: closed}
tables:
  route:
    hit: first
    inputs:
      step: state
      at: now
    outputs:
      queue: string
    rules:
      - {step: open, at: '< 2026-03-02T12:00:00+00:00', queue: morning}
      - {step: open, at: '>= 2026-03-02T12:00:00+00:00', queue: afternoon}
      - {step: [waiting, closed], queue: follow-up}
  flags:
    hit: collect
    aggregate: count
    inputs:
      late: late_reply
      angry: angry
    outputs:
      flag: string
    rules:
      - {late: true, flag: late reply}
      - {angry: true, flag: angry customer}
"""


def test_tables_read_the_cases_state_and_the_time_and_a_count_is_a_number(
    clock: ManualClock,
) -> None:
    """A table's inputs may read ``state`` and ``now``, which always have a value (no rule
    for null needed); a ``collect`` table's ``count`` is a number wherever expressions use it."""
    loaded = load_workflow_text(SHIFTS, "shifts.yaml")
    assert table_warnings(loaded) == []
    with Engine([loaded], "memory://", clock) as engine:
        case = engine.start("shifts", {})
        engine.fire(case.id, "route")
        assert engine.get(case.id).data["queue"] == "morning"
        clock.set("2026-03-02T12:00:00+00:00")
        engine.fire(case.id, "route")
        assert engine.get(case.id).data["queue"] == "afternoon"
        engine.fire(case.id, "wait")
        engine.fire(case.id, "route")
        assert engine.get(case.id).data["queue"] == "follow-up"
        engine.fire(case.id, "check", {"late_reply": True})
        assert engine.get(case.id).data["escalate"] is False
        engine.fire(case.id, "check", {"angry": True})
        assert engine.get(case.id).data["escalate"] is True


@pytest.mark.parametrize("name", ["now", "state"])
def test_a_table_may_not_take_a_reserved_name(name: str) -> None:
    text = SHIFTS.replace("  route:\n    hit: first", f"  {name}:\n    hit: first")
    with pytest.raises(WorkflowDefinitionError) as caught:
        load_workflow_text(text, "shifts.yaml")
    assert str(caught.value).splitlines() == [
        "2 problems in shifts.yaml",
        "shifts.yaml:17:29: transitions[0].actions[0].set.queue.expr: unknown name 'route' in "
        "expression `route.queue`; known names: actor, angry, escalate, flags, late_reply, now, "
        "queue, state",
        f"shifts.yaml:27:3: tables.{name}: '{name}' is a reserved name; a table's name is a "
        "variable in expressions, so give the table another name",
    ]
