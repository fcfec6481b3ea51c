"""Authority enforced: ``by:`` roles, ``not_by:`` four eyes, protected fields, the actor-roles
hook, recorded refusals and ``triggers(case_id, actor=...)``, on the shipped complaint and
crisis workflows and on every store."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import pytest

from support.workflows import WORKFLOWS
from svcflow import CaseDataError, Engine, ManualClock, NotAuthorized, hookimpl
from svcflow.definitions.workflow import load_workflow_text
from svcflow.errors import WorkflowDefinitionError

PEOPLE = {
    "agent-7": ["agent"],
    "agent-8": ["agent"],
    "lead-3": ["team_lead"],
    "manager-2": ["service_manager"],
    "director-1": ["director"],
    "legal-counsel": ["legal"],
    "pr-head": ["pr"],
    "pr-deputy": ["pr"],
    "pr-duty": ["pr_duty_officer"],
    "ceo": ["executive"],
}


@pytest.fixture
def shipped(store_url: str, clock: ManualClock) -> Iterator[Engine]:
    with Engine.from_directory(
        WORKFLOWS, store_url, clock, roles=PEOPLE, load_plugins=False
    ) as engine:
        yield engine


def awaiting_approval(engine: Engine, percent: float, *, standard: bool = True) -> str:
    """A complaint whose agent-7 chose ``percent`` compensation, in the state it lands in."""
    case = engine.start("complaint", {"customer": "Chen Jie"})
    engine.fire(case.id, "acknowledge", actor="agent-7")
    engine.fire(case.id, "investigate", actor="agent-7")
    engine.fire(case.id, "propose", {"options": ["Refund", "Repair"]}, actor="agent-7")
    choice = {"chosen_option": "Refund", "compensation_percent": percent}
    engine.fire(case.id, "choose", choice | {"standard_remedy": standard}, actor="agent-7")
    return case.id


# -- the delegated-authority table, level by level ------------------------------------------------

AUTHORITY_LEVELS = [
    # percent, standard remedy, required role, refused, allowed
    (10.0, True, "team_lead", ["agent-8"], ["lead-3", "manager-2", "director-1"]),
    (15.0, False, "team_lead", ["agent-8"], ["lead-3", "director-1"]),
    (30.0, True, "service_manager", ["agent-8", "lead-3"], ["manager-2", "director-1"]),
    (60.0, True, "director", ["agent-8", "lead-3", "manager-2"], ["director-1"]),
]


def test_within_the_front_line_authority_the_agent_resolves_at_once(shipped: Engine) -> None:
    case_id = awaiting_approval(shipped, 5.0)
    case = shipped.get(case_id)
    assert case.state == "resolved"
    assert (case.data["requested_by"], case.data["approved_by"]) == ("agent-7", "agent-7")


@pytest.mark.parametrize(("percent", "standard", "role", "refused", "allowed"), AUTHORITY_LEVELS)
def test_each_level_of_the_authority_table_needs_its_role_or_a_higher_one(
    shipped: Engine,
    percent: float,
    standard: bool,
    role: str,
    refused: list[str],
    allowed: list[str],
) -> None:
    for approver in allowed:
        case_id = awaiting_approval(shipped, percent, standard=standard)
        assert shipped.get(case_id).data["approver"] == role
        for person in refused:
            with pytest.raises(NotAuthorized, match=f"it needs the role '{role}'"):
                shipped.fire(case_id, "approve", actor=person)
            assert "approve" not in shipped.triggers(case_id, actor=person)
        assert "approve" in shipped.triggers(case_id, actor=approver)
        resolved = shipped.fire(case_id, "approve", actor=approver)
        assert resolved.state == "resolved"
        assert resolved.data["approved_by"] == approver


def test_the_refusal_names_the_role_and_the_actors_roles_and_is_recorded(shipped: Engine) -> None:
    case_id = awaiting_approval(shipped, 60.0)
    before = shipped.get(case_id)
    history = shipped.history(case_id)
    with pytest.raises(NotAuthorized) as refused:
        shipped.fire(case_id, "approve", actor="manager-2")
    assert str(refused.value) == (
        f"'manager-2' may not fire 'approve' on case {case_id} in state 'awaiting_approval': "
        "it needs the role 'director' (from `approver`); manager-2 holds agent, "
        "service_manager, team_lead"
    )
    assert shipped.get(case_id) == before
    assert shipped.history(case_id) == history
    [kept] = shipped.refusals(case_id)
    assert (kept.actor, kept.trigger, kept.state) == ("manager-2", "approve", "awaiting_approval")
    assert kept.required == ("director",)
    assert kept.roles == ("agent", "service_manager", "team_lead")
    assert kept.reason.startswith("it needs the role 'director'")
    assert shipped.refusals() == [kept]


def test_four_eyes_the_person_who_chose_may_not_approve_even_holding_the_role(
    shipped: Engine,
) -> None:
    case = shipped.start("complaint", {"customer": "Chen Jie"})
    shipped.fire(case.id, "acknowledge", actor="director-1")
    shipped.fire(case.id, "investigate", actor="director-1")
    shipped.fire(case.id, "propose", {"options": ["Refund", "Repair"]}, actor="director-1")
    choice = {"chosen_option": "Refund", "compensation_percent": 60.0}
    shipped.fire(case.id, "choose", choice, actor="director-1")
    with pytest.raises(NotAuthorized) as refused:
        shipped.fire(case.id, "approve", actor="director-1")
    assert refused.value.reason == (
        "`requested_by` is director-1, who may not also do this (four eyes); another person must"
    )
    assert "approve" not in shipped.triggers(case.id, actor="director-1")
    assert shipped.get(case.id).state == "awaiting_approval"
    assert [r.actor for r in shipped.refusals(case.id)] == ["director-1"]


def test_a_payload_cannot_claim_an_approval(shipped: Engine) -> None:
    case_id = awaiting_approval(shipped, 60.0)
    with pytest.raises(CaseDataError) as refused:
        shipped.fire(case_id, "approve", {"approved_by": "director-1"}, actor="agent-7")
    assert str(refused.value) == (
        "invalid case data for workflow 'complaint' v3: payload: field 'approved_by' is "
        "protected: only the workflow's own actions set it (e.g. from actor.id), never a payload"
    )
    assert shipped.get(case_id).state == "awaiting_approval"


def test_the_issue_reproduction_is_refused(shipped: Engine) -> None:
    """agent-7 chooses a 60% refund and then approves it as the same actor."""
    case_id = awaiting_approval(shipped, 60.0)
    with pytest.raises(NotAuthorized):
        shipped.fire(case_id, "approve", actor="agent-7")
    assert shipped.get(case_id).state == "awaiting_approval"


def test_refuse_also_needs_the_approver_role(shipped: Engine) -> None:
    case_id = awaiting_approval(shipped, 30.0)
    with pytest.raises(NotAuthorized):
        shipped.fire(case_id, "refuse", actor="lead-3")
    assert shipped.fire(case_id, "refuse", actor="manager-2").state == "solution_proposed"


def test_triggers_without_an_actor_lists_what_the_state_allows(shipped: Engine) -> None:
    case_id = awaiting_approval(shipped, 60.0)
    assert {"approve", "refuse"} <= set(shipped.triggers(case_id))
    assert not {"approve", "refuse"} & set(shipped.triggers(case_id, actor="nobody-known"))


# -- the crisis tiers' approval chains -------------------------------------------------------------

CRISIS = {
    1: ({"event": "funds_security"}, ["legal-counsel", "pr-deputy", "ceo"], ["pr-duty"]),
    2: ({"event": "system_outage", "affected": 5000}, ["legal-counsel", "pr-deputy"], ["ceo"]),
    3: ({"event": "service_interruption"}, ["pr-duty"], ["legal-counsel", "ceo"]),
}


def responding_crisis(engine: Engine, data: dict[str, Any]) -> str:
    case = engine.start("crisis", {"customer": "Card holders", **data})
    engine.fire(case.id, "alert", actor="duty-officer")
    engine.fire(case.id, "adopt_plan", {"plan": "Freeze, refund, update hourly"}, actor="duty")
    engine.fire(case.id, "draft_statement", {"statement": "We are sorry."}, actor="pr-head")
    return case.id


@pytest.mark.parametrize("tier", sorted(CRISIS))
def test_each_tier_publishes_only_after_its_chain_of_people_holding_the_roles(
    shipped: Engine, tier: int
) -> None:
    data, chain, outside = CRISIS[tier]
    case_id = responding_crisis(shipped, data)
    assert shipped.get(case_id).data["tier"] == tier
    for person in outside:
        with pytest.raises(NotAuthorized, match="it needs the role"):
            shipped.fire(case_id, "approve_statement", actor=person)
    for person in chain:
        assert "publish_statement" not in shipped.triggers(case_id)
        shipped.fire(case_id, "approve_statement", actor=person)
    case = shipped.get(case_id)
    assert case.data["approved_by"] == chain
    assert sorted(case.data["approvals"]) == sorted(case.data["approvers_needed"])
    published = shipped.fire(case_id, "publish_statement", actor="pr-head")
    assert published.data["statements"] == 1
    assert len(shipped.refusals(case_id)) == len(outside)


def test_the_author_of_a_statement_may_not_approve_it(shipped: Engine) -> None:
    case_id = responding_crisis(shipped, {"event": "funds_security"})
    with pytest.raises(NotAuthorized, match="four eyes"):
        shipped.fire(case_id, "approve_statement", actor="pr-head")
    assert shipped.get(case_id).data["approvals"] == []


# -- the hook and the language --------------------------------------------------------------------


class Sso:
    """An identity system plugin: asked before the built-in directory."""

    def __init__(self, roles: dict[str, list[str]]) -> None:
        self.roles = roles
        self.asked: list[str] = []

    @hookimpl
    def svcflow_actor_roles(self, actor: str) -> Iterable[str] | None:
        self.asked.append(actor)
        return self.roles.get(actor)


TICKET = """\
workflow: ticket
version: 1
title: Ticket with a refund approval
data:
  customer: {type: string, required: true}
  refund: {type: number, default: 0}
  requested_by: {type: string, protected: true}
roles:
  clerk: {}
  supervisor: {includes: [clerk]}
states:
  open: {initial: true}
  pending: {}
  done: {final: true}
transitions:
  - trigger: request
    from: open
    to: pending
    by: clerk
    actions: [{set: {requested_by: {expr: actor.id}}}]
  - trigger: grant
    from: pending
    to: done
    by: [supervisor]
    not_by: {expr: requested_by}
    when: actor.id != requested_by || "supervisor" in actor.roles
"""


def test_a_host_identity_plugin_answers_before_the_directory(
    make_engine: Any,
) -> None:
    sso = Sso({"sam": ["supervisor"], "kim": ["supervisor"]})
    engine = make_engine(TICKET, plugins=[sso], roles={"sam": ["clerk"]})
    case = engine.start("ticket", {"customer": "Ann"})
    engine.fire(case.id, "request", actor="sam")  # a supervisor includes clerk
    assert engine.get(case.id).data["requested_by"] == "sam"
    with pytest.raises(NotAuthorized, match="four eyes"):
        engine.fire(case.id, "grant", actor="sam")
    with pytest.raises(NotAuthorized) as nobody:
        engine.fire(case.id, "grant", actor="stranger")
    assert nobody.value.reason == "it needs the role 'supervisor'; stranger holds no roles"
    assert engine.fire(case.id, "grant", actor="kim").state == "done"
    assert sso.asked.count("kim") == 1


def test_an_actor_whose_roles_changed_is_judged_by_the_new_ones(make_engine: Any) -> None:
    """The engine keeps an actor's record while the identity system's answer stays the same,
    and asks on every event: a role granted or taken away counts at the next event."""
    sso = Sso({"kim": ["clerk"], "sam": ["clerk"]})
    engine = make_engine(TICKET, plugins=[sso])
    case = engine.start("ticket", {"customer": "Ann"})
    engine.fire(case.id, "request", actor="sam")
    with pytest.raises(NotAuthorized, match="kim holds clerk"):
        engine.fire(case.id, "grant", actor="kim")
    sso.roles["kim"] = ["supervisor"]  # promoted: supervisor includes clerk
    assert engine.triggers(case.id, actor="kim") == ["grant"]
    assert engine.fire(case.id, "grant", actor="kim").state == "done"
    sso.roles["sam"] = []
    other = engine.start("ticket", {"customer": "Bo"})
    with pytest.raises(NotAuthorized, match="sam holds no roles"):
        engine.fire(other.id, "request", actor="sam")
    assert sso.asked.count("kim") == 3 and sso.asked.count("sam") == 2


def test_the_default_system_actor_holds_no_roles(make_engine: Any) -> None:
    engine = make_engine(TICKET)
    case = engine.start("ticket", {"customer": "Ann"})
    with pytest.raises(NotAuthorized, match="system holds no roles"):
        engine.fire(case.id, "request")


def test_unknown_roles_are_definition_errors_with_positions() -> None:
    text = TICKET.replace("by: [supervisor]", "by: [supervisr]").replace(
        "includes: [clerk]", "includes: [clerc]"
    )
    with pytest.raises(WorkflowDefinitionError) as error:
        load_workflow_text(text, "ticket.yaml")
    assert str(error.value).splitlines()[1:] == [
        "ticket.yaml:10:27: roles.supervisor.includes[0]: unknown role 'clerc'; did you mean "
        "'clerk'? roles: clerk, supervisor",
        "ticket.yaml:24:10: transitions[1].by[0]: unknown role 'supervisr'; did you mean "
        "'supervisor'? roles: clerk, supervisor",
    ]


def test_a_by_expression_is_checked_like_any_expression() -> None:
    text = TICKET.replace("not_by: {expr: requested_by}", "not_by: {expr: requested_bye}")
    with pytest.raises(WorkflowDefinitionError, match="unknown name 'requested_bye'"):
        load_workflow_text(text, "ticket.yaml")
