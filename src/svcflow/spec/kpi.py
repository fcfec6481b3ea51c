"""Pydantic model of a workflow's ``kpi:`` section: how the KPI report reads its cases.

The report rebuilds every figure from history alone; what it cannot know from history is which
SLA metric of a workflow times the *first response* and which one the *resolution* (a crisis
answers with its ``internal_alert``, not a ``first_response`` clock), and what share of SLA
cycles the process owner aims to meet. Shape only; the metric names are checked by
:mod:`svcflow.definitions.checks`.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, Field

from svcflow.spec.actions import Name, Strict

__all__ = ["KpiSpec", "Share"]


def _share(value: Any) -> Any:
    written = value
    if isinstance(value, str):
        try:
            value = float(value.strip().removesuffix("%")) / (100 if "%" in value else 1)
        except ValueError:
            raise ValueError(f"invalid percentage {written!r}, write e.g. 95%") from None
    if isinstance(value, int | float) and not isinstance(value, bool) and not 0 < value <= 1:
        raise ValueError(f"a target share is above 0% and at most 100%, got {written}")
    return value


Share = Annotated[float, BeforeValidator(_share)]
"""A share written ``95%`` (or ``0.95``): above 0, at most 100%."""


def _shares(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _share(share) for key, share in value.items()}
    return _share(value)


class KpiSpec(Strict):
    """``kpi:`` of a workflow (optional)."""

    first_response: Name = Field(
        default="first_response",
        description="The SLA metric whose first stop is the case's first response.",
    )
    resolution: Name = Field(
        default="resolution",
        description="The SLA metric whose first stop is the case's resolution.",
    )
    sla_attainment: Annotated[float | dict[Name, float], BeforeValidator(_shares)] | None = Field(
        default=None,
        description="Share of finished SLA cycles that should meet their target, e.g. 95%: "
        "one share for every metric, or one per metric ({resolution: 95%}). Unset: the "
        "report's default (100%).",
    )

    def attainment_target(self, metric: str) -> float | None:
        """The attainment target of one SLA metric, if the workflow sets one."""
        found = self.sla_attainment
        return found.get(metric) if isinstance(found, dict) else found
