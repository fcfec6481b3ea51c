"""Loading workflow files: every problem at once, each with file:line:col, key path and a fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from support.workflows import MINIMAL
from svcflow import WorkflowDefinitionError, load_directory, load_workflow_file, load_workflow_text


def problems(text: str) -> str:
    with pytest.raises(WorkflowDefinitionError) as caught:
        load_workflow_text(text, "ticket.yaml")
    return str(caught.value)


def test_minimal_workflow_loads_with_compiled_expressions() -> None:
    loaded = load_workflow_text(MINIMAL, "ticket.yaml")
    assert loaded.key == ("ticket", 1)
    assert sorted(loaded.expressions) == [
        ("transitions", 2, "when"),
        ("transitions", 3, "actions", 0, "set", "attempts", "expr"),
    ]
    assert loaded.expressions[("transitions", 2, "when")].names == ("answer",)


def test_misspelled_top_level_key_is_unknown_with_suggestion() -> None:
    text = MINIMAL.replace("title: Ticket", "titel: Ticket")
    assert problems(text) == (
        "2 problems in ticket.yaml\n"
        "ticket.yaml:1:1: missing required key 'title'\n"
        "ticket.yaml:3:1: titel: unknown key 'titel'; did you mean 'title'? valid keys: data, "
        "description, end_on, escalations, intake, kpi, quiet_hours, retention, roles, "
        "schedules, scope, signals, sla, start_on, states, tables, title, transitions, version, "
        "workflow"
    )


def test_unknown_action_kind_suggests_the_real_one() -> None:
    text = MINIMAL.replace("- notify: {template", "- notfy: {template")
    assert problems(text) == (
        "1 problem in ticket.yaml\n"
        "ticket.yaml:13:9: states.new.on_enter[0].notfy: unknown key 'notfy'; did you mean "
        "'notify'? valid keys: call, cancel, fire, note, notify, schedule, set"
    )


def test_unknown_target_state() -> None:
    assert problems(MINIMAL.replace("to: answered", "to: answerd")) == (
        "1 problem in ticket.yaml\n"
        "ticket.yaml:25:9: transitions[2].to: unknown state 'answerd'; did you mean 'answered'? "
        "states: answered, closed, new, open"
    )


def test_unknown_scheduled_trigger() -> None:
    assert problems(MINIMAL.replace("trigger: remind, after", "trigger: remnd, after")) == (
        "1 problem in ticket.yaml\n"
        "ticket.yaml:14:29: states.new.on_enter[1].schedule.trigger: unknown trigger 'remnd'; "
        "did you mean 'remind'? triggers: answer, close, expire, remind, retry, take"
    )


def test_no_initial_state() -> None:
    assert problems(MINIMAL.replace("    initial: true\n", "")) == (
        "1 problem in ticket.yaml\n"
        "ticket.yaml:10:3: states: no initial state; mark the state every case starts in with "
        "'initial: true'"
    )


def test_two_initial_states() -> None:
    text = MINIMAL.replace("  answered: {}", "  answered: {initial: true}")
    assert problems(text) == (
        "1 problem in ticket.yaml\n"
        "ticket.yaml:18:23: states.answered.initial: more than one initial state (new, "
        "answered); exactly one state has 'initial: true'"
    )


def test_unreachable_state() -> None:
    text = MINIMAL.replace("  closed: {final: true}", "  closed: {final: true}\n  limbo: {}")
    assert problems(text) == (
        "1 problem in ticket.yaml\n"
        "ticket.yaml:20:3: states.limbo: state 'limbo' cannot be reached from the initial state "
        "'new'; add a transition to it or remove it"
    )


def test_non_final_state_without_way_out() -> None:
    text = (
        MINIMAL.replace("  - {trigger: close, from: answered, to: closed}\n", "")
        .replace(
            "  - {trigger: retry, from: answered, to: open, actions: [{set: {attempts: "
            "{expr: attempts + 1}}}]}\n",
            "",
        )
        .replace('from: "*"', "from: [new, open]")
    )
    assert problems(text) == (
        "1 problem in ticket.yaml\n"
        "ticket.yaml:18:3: states.answered: state 'answered' is not final but no transition "
        "leaves it, so its cases would be stuck; add a transition out of it or mark it "
        "'final: true'"
    )


def test_two_unguarded_transitions_for_same_trigger_and_source() -> None:
    assert problems(MINIMAL + "  - {trigger: take, from: new, to: closed}\n") == (
        "1 problem in ticket.yaml\n"
        "ticket.yaml:30:5: transitions[6]: trigger 'take' from state 'new' is already handled "
        "by transitions[0] (line 21), which has no 'when' condition, and this transition also "
        "has no 'when', so it can never be taken; add a 'when' condition to the earlier one or "
        "remove this one"
    )


def test_condition_referencing_unknown_field() -> None:
    text = MINIMAL.replace('when: answer != null && answer != ""', 'when: anser != ""')
    assert problems(text) == (
        "1 problem in ticket.yaml\n"
        "ticket.yaml:26:11: transitions[2].when: unknown name 'anser' in expression "
        "`anser != \"\"`; did you mean 'answer'? known names: actor, answer, attempts, customer, "
        "now, priority, state"
    )


def test_syntax_error_in_expression_points_inside_it() -> None:
    text = MINIMAL.replace('when: answer != null && answer != ""', "when: answer != null &&")
    assert problems(text) == (
        "1 problem in ticket.yaml\n"
        "ticket.yaml:26:28: transitions[2].when: invalid expression `answer != null &&`: Syntax "
        "error: mismatched input '<EOF>' expecting {'[', '{', '(', '.', '-', '!', 'true', "
        "'false', 'null', NUM_FLOAT, NUM_INT, NUM_UINT, STRING, BYTES, IDENTIFIER}"
    )


def test_type_mismatch_in_condition_found_at_load() -> None:
    text = MINIMAL.replace('when: answer != null && answer != ""', "when: priority > 3")
    assert problems(text) == (
        "1 problem in ticket.yaml\n"
        "ticket.yaml:26:11: transitions[2].when: type mismatch in `priority > 3`: No such "
        "overload: the operation is not defined for the given operand types; CEL does not "
        "convert between types (write 3.0 for a number, quote strings); it reads: priority (enum)"
    )


def test_condition_that_is_not_boolean() -> None:
    text = MINIMAL.replace('when: answer != null && answer != ""', "when: priority")
    assert problems(text) == (
        "1 problem in ticket.yaml\n"
        "ticket.yaml:26:11: transitions[2].when: a condition must be true or false, but "
        "`priority` gives a string; compare it, e.g. `priority == ...`"
    )


def test_block_scalar_expression_position() -> None:
    text = MINIMAL.replace(
        '    when: answer != null && answer != ""',
        '    when: |\n      answer != null &&\n        anser != ""',
    )
    assert problems(text).splitlines()[1].startswith("ticket.yaml:28:9: transitions[2].when: ")


def test_transition_leaving_a_final_state() -> None:
    assert problems(MINIMAL + "  - {trigger: reopen, from: closed, to: open}\n") == (
        "1 problem in ticket.yaml\n"
        "ticket.yaml:30:29: transitions[6].from: state 'closed' is final, so no transition may "
        "leave it; remove 'final: true' from it or remove this transition"
    )


def test_set_of_unknown_field_and_invalid_literal() -> None:
    text = MINIMAL.replace("{set: {priority: high}}", "{set: {priorty: high, attempts: x}}")
    assert problems(text) == (
        "2 problems in ticket.yaml\n"
        "ticket.yaml:22:51: transitions[1].actions[0].set.priorty: unknown field 'priorty'; "
        "did you mean 'priority'? fields: answer, attempts, customer, priority\n"
        "ticket.yaml:22:76: transitions[1].actions[0].set.attempts: invalid value for field "
        "'attempts': Input should be a valid integer, unable to parse string as an integer "
        "(got 'x')"
    )


def test_invalid_default_and_reserved_field_name() -> None:
    text = MINIMAL.replace("default: normal}", "default: hihg}").replace(
        "  answer: string", "  answer: string\n  now: datetime"
    )
    assert problems(text) == (
        "2 problems in ticket.yaml\n"
        "ticket.yaml:6:64: data.priority.default: invalid default: Input should be 'low', "
        "'normal' or 'high' (got 'hihg')\n"
        "ticket.yaml:8:3: data.now: 'now' is a reserved name in expressions; choose another "
        "field name"
    )


def test_all_problems_reported_at_once() -> None:
    text = (
        MINIMAL.replace("to: answered", "to: answerd")
        .replace("trigger: remind, after", "trigger: remnd, after")
        .replace('when: answer != null && answer != ""', 'when: anser != ""')
    )
    lines = problems(text).splitlines()
    assert lines[0] == "3 problems in ticket.yaml"
    assert [line.split(": ")[0] for line in lines[1:]] == [
        "ticket.yaml:14:29",
        "ticket.yaml:25:9",
        "ticket.yaml:26:11",
    ]


def test_yaml_syntax_error() -> None:
    assert problems(MINIMAL.replace("title: Ticket", "title: [Ticket")) == (
        "1 problem in ticket.yaml\n"
        "ticket.yaml:4:5: YAML syntax error: the list opened with '[' (line 3, column 8) needs a "
        "']' at its end and ',' between items\n"
        "    data:\n"
        "        ^"
    )


def test_object_constructing_tags_are_refused_not_run(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    text = MINIMAL.replace(
        "title: Ticket", f"title: !!python/object/apply:os.system ['touch {marker}']"
    )
    assert problems(text) == (
        "1 problem in ticket.yaml\n"
        "ticket.yaml:3:8: title: the tag 'tag:yaml.org,2002:python/object/apply:os.system' is "
        "not allowed; only plain data is allowed (strings, numbers, true/false, null, lists "
        "and mappings)"
    )
    assert not marker.exists()


def test_duplicate_key() -> None:
    assert problems(MINIMAL.replace("title: Ticket", "title: Ticket\ntitle: Again")) == (
        "1 problem in ticket.yaml\n"
        "ticket.yaml:4:1: title: duplicate key 'title' (first defined at line 3)"
    )


def test_on_off_yes_no_stay_strings() -> None:
    text = (
        MINIMAL.replace("trigger: take", "trigger: on")
        .replace(
            "  - {trigger: expire",
            "  - {trigger: off, from: open, to: closed}\n  - {trigger: expire",
        )
        .replace("  answered: {}", "  answered: {description: yes}")
    )
    loaded = load_workflow_text(text, "ticket.yaml")
    assert [t.trigger for t in loaded.spec.transitions][:1] == ["on"]
    assert "off" in {t.trigger for t in loaded.spec.transitions}
    assert loaded.spec.states["answered"].description == "yes"


def test_invalid_duration_and_name() -> None:
    text = MINIMAL.replace("after: 2h", "after: 2 hours").replace("  answered: {}", "  2nd: {}")
    assert problems(text) == (
        "2 problems in ticket.yaml\n"
        "ticket.yaml:17:44: states.open.on_enter[0].schedule.after: invalid duration "
        "'2 hours': write a number and a unit, e.g. 30s, 15m, 4h, 2d, 1w or 1h30m\n"
        "ticket.yaml:18:3: states.2nd: must be a name of letters, digits and '_', not starting "
        "with a digit (got '2nd')"
    )


def test_enum_without_values() -> None:
    text = MINIMAL.replace(
        "{type: enum, values: [low, normal, high], default: normal}", "{type: enum}"
    )
    assert problems(text) == (
        "1 problem in ticket.yaml\n"
        "ticket.yaml:6:13: data.priority: an enum field needs 'values', the list of allowed "
        "values"
    )


def test_not_a_mapping() -> None:
    assert problems("- just\n- a list\n") == (
        "1 problem in ticket.yaml\n"
        "ticket.yaml:1:1: a workflow file is a mapping with keys workflow, version, title, "
        "data, states and transitions; found list"
    )


def test_digest_ignores_comments_and_formatting() -> None:
    first = load_workflow_text(MINIMAL, "a.yaml")
    reformatted = load_workflow_text(
        "# a comment\n" + MINIMAL.replace("title: Ticket", "title:   'Ticket'")
    )
    changed = load_workflow_text(MINIMAL.replace("after: 2h", "after: 3h"))
    assert first.digest == reformatted.digest
    assert first.digest != changed.digest


def test_directory_reports_problems_of_every_file(tmp_path: Path) -> None:
    (tmp_path / "good.yaml").write_text(MINIMAL)
    (tmp_path / "copy.yml").write_text(MINIMAL)
    (tmp_path / "bad.yaml").write_text(MINIMAL.replace("to: answered", "to: answerd"))
    with pytest.raises(WorkflowDefinitionError) as caught:
        load_directory(tmp_path)
    assert [str(p) for p in caught.value.problems] == [
        f"{tmp_path / 'bad.yaml'}:25:9: transitions[2].to: unknown state 'answerd'; did you "
        "mean 'answered'? states: answered, closed, new, open",
        f"{tmp_path / 'good.yaml'}:1:11: workflow: workflow 'ticket' version 1 is also defined "
        f"in {tmp_path / 'copy.yml'}; give each file its own id or version",
    ]


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(WorkflowDefinitionError) as caught:
        load_workflow_file(tmp_path / "missing.yaml")
    assert str(caught.value).startswith(
        f"1 problem in {tmp_path / 'missing.yaml'}\n{tmp_path / 'missing.yaml'}:1:1: cannot "
        "read the file: [Errno 2] No such file or directory"
    )
