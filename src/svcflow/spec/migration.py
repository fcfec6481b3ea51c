"""Pydantic model of a migration plan: how running cases move from one workflow version to
another (``svcflow migrate-cases PLAN``).

Like the workflow models, it checks shape only; the names it uses (states of both versions,
fields and SLA metrics of the new one, expressions over the old one's data) are checked by
:mod:`svcflow.definitions.migration`, which knows positions in the file and both versions.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, StringConstraints, model_validator

from svcflow.spec.actions import WORKFLOW_ID_PATTERN, Name, Strict

__all__ = ["CLOCK_MODES", "ClockMode", "MigrationSpec", "StateRule"]

ClockMode = Literal["keep", "restart", "retarget"]
CLOCK_MODES: tuple[ClockMode, ...] = ("keep", "restart", "retarget")


class StateRule(Strict):
    """Cases in the old state go ``to`` this state of the new version when ``when`` holds (a CEL
    condition over the case's data as it is on the old version); rules are tried in order."""

    to: Name
    when: str | None = None


def _rules(value: Any) -> Any:
    """``investigating: diagnosing`` is short for ``[{to: diagnosing}]``; one rule may be
    written without a list."""
    if isinstance(value, str):
        return [{"to": value}]
    if isinstance(value, dict):
        return [value]
    return value


def _empty_mapping(value: Any) -> Any:
    return {} if value is None else value


class MigrationSpec(Strict):
    """A whole migration plan file."""

    migration: Annotated[str, StringConstraints(pattern=WORKFLOW_ID_PATTERN)] = Field(
        description="The id of the workflow whose running cases move."
    )
    source: int = Field(alias="from", ge=1, description="The version the cases run on now.")
    target: int = Field(alias="to", ge=1, description="The version they move to.")
    description: str = ""
    states: Annotated[
        dict[Name, Annotated[list[StateRule], BeforeValidator(_rules)]],
        BeforeValidator(_empty_mapping),
    ] = Field(
        default_factory=dict,
        description="Old state: new state, or rules [{when, to}]. A state left out keeps its "
        "name if the new version has it.",
    )
    data: Annotated[dict[Name, Any], BeforeValidator(_empty_mapping)] = Field(
        default_factory=dict,
        description="Values for fields of the new version: literals or {expr: ...} over the "
        "old data. Fields the new version dropped are dropped (listed in the history).",
    )
    clocks: Annotated[dict[Name, ClockMode], BeforeValidator(_empty_mapping)] = Field(
        default_factory=dict,
        description="Per running SLA metric: keep (the time used and the target), restart "
        "(a new cycle now) or retarget (keep the time used, target chosen by the new version).",
    )
    default_clock: ClockMode = Field(
        default="keep", description="What happens to running clocks not named in 'clocks'."
    )

    @model_validator(mode="after")
    def _different(self) -> MigrationSpec:
        if self.source == self.target:
            raise ValueError(f"'from' and 'to' are both {self.source}; name two versions")
        return self
