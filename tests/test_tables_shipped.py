"""The shipped decision tables (in ``workflows/rules/`` and in the workflows' own ``tables:``)
decide as the domain brief says."""

from __future__ import annotations

from datetime import timedelta
from functools import cache
from typing import Any

import pytest

from support.workflows import WORKFLOWS
from svcflow.definitions import load_definitions
from svcflow.definitions.decide import table_warnings
from svcflow.rules.tables.compiler import workflow_tables
from svcflow.rules.tables.table import CompiledTable


@cache
def shipped_tables() -> dict[str, CompiledTable]:
    """Every table under ``workflows/`` by name: rules files' and each workflow's own."""
    found = load_definitions(WORKFLOWS)
    tables = {name: table for rules in found.rules for name, table in rules.tables.items()}
    for workflow in found.workflows:
        if workflow.spec.tables:
            tables.update(workflow_tables(workflow.spec, workflow.source_map).tables)
    return tables


def shipped(name: str) -> CompiledTable:
    return shipped_tables()[name]


def test_every_shipped_table_loads_without_warnings_next_to_the_workflows() -> None:
    found = load_definitions(WORKFLOWS)
    assert {w.spec.workflow for w in found.workflows} >= {"complaint", "escalation", "crisis"}
    assert set(shipped_tables()) >= {
        "complaint_category",
        "priority_matrix",
        "crisis_tier",
        "crisis_response",
        "crisis_team",
        "crisis_approvers",
        "crisis_repair",
        "routing",
        "contact_channel",
        "delegated_authority",
    }
    warnings = [w for rules in found.rules for w in rules.warnings]
    warnings += [w for workflow in found.workflows for w in table_warnings(workflow)]
    assert [str(w) for w in warnings] == []


def test_the_crisis_tables_belong_to_the_crisis_workflow() -> None:
    crisis = next(w for w in load_definitions(WORKFLOWS).workflows if w.spec.workflow == "crisis")
    assert {"crisis_tier", "crisis_response", "crisis_team"} <= set(crisis.spec.tables)
    assert not (WORKFLOWS / "rules" / "crisis.yaml").exists()


CATEGORY = [
    # the five categories of the complaint report, from the form's topic or the text
    ({"topic": "defect"}, "product_quality"),
    ({"topic": "wrong_item"}, "product_quality"),
    ({"topic": "rude_staff"}, "service_attitude"),
    ({"topic": "no_response"}, "service_attitude"),
    ({"topic": "late_delivery"}, "logistics"),
    ({"topic": "damaged_in_transit"}, "logistics"),
    ({"topic": "repair"}, "after_sales"),
    ({"topic": "return_refund"}, "after_sales"),
    ({"topic": "billing"}, "other"),
    ({"topic": "other", "text": "The agent was rude to me on the phone"}, "service_attitude"),
    ({"topic": "other", "text": "The courier left my parcel in the rain"}, "logistics"),
    ({"topic": "other", "text": "I want to talk to someone"}, "other"),
]


@pytest.mark.parametrize(("case", "category"), CATEGORY)
def test_complaint_category(case: dict[str, Any], category: str) -> None:
    assert shipped("complaint_category").evaluate({"text": ""} | case) == {"category": category}


ITIL = {  # impact -> urgency -> priority, the ITIL matrix on the complaint workflow's levels
    "high": {"high": "urgent", "medium": "high", "low": "normal"},
    "medium": {"high": "high", "medium": "normal", "low": "low"},
    "low": {"high": "normal", "medium": "low", "low": "low"},
}
RAISED = {"urgent": "urgent", "high": "urgent", "normal": "high", "low": "normal"}


@pytest.mark.parametrize("impact", ["high", "medium", "low"])
@pytest.mark.parametrize("urgency", ["high", "medium", "low"])
@pytest.mark.parametrize("segment", ["vip", "standard", "potential", "churn_risk"])
def test_priority_matrix_raised_one_level_for_vip(impact: str, urgency: str, segment: str) -> None:
    expected = ITIL[impact][urgency]
    if segment == "vip":
        expected = RAISED[expected]
    decided = shipped("priority_matrix").evaluate(
        {"impact": impact, "urgency": urgency, "segment": segment}
    )
    assert decided == {"priority": expected}


CRISIS = [
    # (event, customers affected, media exposure, tier)
    ("funds_security", 3, "none", 1),  # any funds-security incident is tier 1
    ("system_outage", 50_000, "none", 1),
    ("system_outage", 5_000, "none", 2),
    ("system_outage", 200, "social", 2),
    ("system_outage", 200, "none", 3),
    ("service_interruption", 20_000, "none", 2),
    ("service_interruption", 20, "social", 2),
    ("service_interruption", 20, "mainstream", 1),  # in the press: tier 1 whatever the scale
    ("service_interruption", 20, "none", 3),
]


@pytest.mark.parametrize(("event", "affected", "media", "tier"), CRISIS)
def test_crisis_tier(event: str, affected: int, media: str, tier: int) -> None:
    case = {"event": event, "affected": affected, "media": media}
    assert shipped("crisis_tier").evaluate(case) == {"tier": tier}


def test_each_crisis_tier_fixes_authority_approval_and_response_times() -> None:
    response = shipped("crisis_response")
    first = response.evaluate({"tier": 1})
    assert first == {
        "decision_authority": "executive crisis committee",
        "statement_approval": "CEO after legal and PR review",
        "alert_within": timedelta(minutes=30),  # internal alert within 30 minutes
        "plan_within": timedelta(hours=1),  # initial response plan within 1 hour
    }
    assert response.evaluate({"tier": 2})["statement_approval"] == "PR head after legal review"
    assert response.evaluate({"tier": 3})["decision_authority"] == "duty manager"


def test_crisis_team_collects_every_team_called_in() -> None:
    team = shipped("crisis_team")
    case = {"tier": 1, "event": "funds_security", "media": "social"}
    assert team.evaluate(case) == {
        "team": ["customer service", "PR", "legal", "risk and security", "executive sponsor"]
    }
    quiet = {"tier": 3, "event": "service_interruption", "media": "none"}
    assert team.evaluate(quiet) == {"team": ["customer service"]}


APPROVERS = [
    # external statements: tier 1 legal + PR + executive, tier 2 legal + PR, tier 3 PR duty officer
    (1, ["legal", "pr", "executive"]),
    (2, ["legal", "pr"]),
    (3, ["pr_duty_officer"]),
]


@pytest.mark.parametrize(("tier", "approvers"), APPROVERS)
def test_each_tier_fixes_the_approval_chain_of_statements(tier: int, approvers: list[str]) -> None:
    assert shipped("crisis_approvers").evaluate({"tier": tier}) == {"approver": approvers}


REPAIR = [
    # tiered compensation (cash, rate discounts, added services); a 6-12 month care plan
    (1, "cash", 12),
    (2, "rate_discount", 9),
    (3, "added_services", 6),
]


@pytest.mark.parametrize(("tier", "compensation", "months"), REPAIR)
def test_relationship_repair_by_tier(tier: int, compensation: str, months: int) -> None:
    decided = shipped("crisis_repair").evaluate({"tier": tier})
    assert (decided["compensation"], decided["care_months"]) == (compensation, months)
    assert 6 <= decided["care_months"] <= 12


ROUTING = [
    ({"segment": "vip", "channel": "social"}, ("vip_desk", "account_manager")),
    ({"channel": "social", "category": "logistics"}, ("social_care", "agent")),
    ({"segment": "churn_risk", "category": "logistics"}, ("retention", "agent")),
    ({"category": "product_quality"}, ("quality", "agent")),
    ({"category": "logistics"}, ("logistics", "agent")),
    ({"category": "after_sales"}, ("after_sales", "agent")),
    ({"category": "service_attitude"}, ("service_quality", "team_lead")),
    ({"category": "other"}, ("general", "agent")),
]


@pytest.mark.parametrize(("case", "expected"), ROUTING)
def test_routing(case: dict[str, str], expected: tuple[str, str]) -> None:
    base = {"segment": "standard", "channel": "phone", "category": "other"}
    decided = shipped("routing").evaluate(base | case)
    assert (decided["queue"], decided["owner"]) == expected


CONTACT = [
    ({"age": 72, "channel": "chat"}, "voice"),  # elderly customers to voice
    ({"age": 24, "channel": "phone"}, "chat"),  # younger customers to online chat
    ({"age": 72, "channel": "chat", "preferred": "email"}, "email"),  # their own choice first
    ({"age": None, "channel": "branch"}, "voice"),
    ({"age": 45, "channel": "app"}, "chat"),
    ({"age": None, "channel": "web"}, "email"),
]


@pytest.mark.parametrize(("case", "channel"), CONTACT)
def test_contact_channel_by_preference(case: dict[str, Any], channel: str) -> None:
    decided = shipped("contact_channel").evaluate({"preferred": None} | case)
    assert decided == {"reply_channel": channel}


AUTHORITY = [
    # (price adjustment %, standard remedy, approver, needs approval, case report within)
    (0.0, True, "agent", False, None),
    (5.0, True, "agent", False, None),  # front-line staff may grant up to 5%
    (5.5, True, "team_lead", True, None),  # beyond that an approval is needed
    (20.0, True, "team_lead", True, None),  # e.g. the 20% compensation alternative
    (35.0, True, "service_manager", True, timedelta(hours=24)),
    (80.0, False, "director", True, timedelta(hours=24)),
    (3.0, False, "team_lead", True, timedelta(hours=24)),  # outside the standard flow
]


@pytest.mark.parametrize(("percent", "standard", "approver", "needs", "report"), AUTHORITY)
def test_delegated_authority(
    percent: float, standard: bool, approver: str, needs: bool, report: timedelta | None
) -> None:
    case = {"compensation_percent": percent, "standard_remedy": standard}
    assert shipped("delegated_authority").evaluate(case) == {
        "approver": approver,
        "needs_approval": needs,
        "case_report_within": report,
    }
