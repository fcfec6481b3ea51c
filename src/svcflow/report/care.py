"""Proactive care in the report: churn-risk (retention) cases opened and saved, and whether
their callbacks were made within target.

The conventions, which the shipped ``care_retention`` workflow follows: every case of the
workflow :data:`RETENTION_WORKFLOW` is a churn-risk case, opened for the ``reason`` in its data;
its ``outcome`` field says ``saved`` or ``lost`` once the customer has been called; its SLA
metric :data:`CALLBACK_METRIC` times the callback (a met cycle is a callback made within
target). :func:`care_figures` is pure.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from svcflow.report.facts import CaseFacts
from svcflow.report.measures import Rate

__all__ = ["CALLBACK_METRIC", "LOST", "RETENTION_WORKFLOW", "SAVED", "Care", "care_figures"]

RETENTION_WORKFLOW = "care_retention"
"""Every case of this workflow is a churn-risk case."""
CALLBACK_METRIC = "callback"
"""The SLA metric of a retention case that times its callback."""
SAVED = "saved"
LOST = "lost"
"""The values of a retention case's ``outcome`` field."""


@dataclass(frozen=True, slots=True)
class Care:
    """Churn-risk cases ``opened`` (by ``reasons``), ``saved``, ``lost`` and still ``open``;
    ``saved_rate`` is saved of saved + lost. ``callbacks_in_time`` is met of met + breached
    callback cycles; ``callbacks_late`` counts breached cycles (made late or never made) and
    ``callbacks_due`` cycles still running within target."""

    opened: int
    saved: int
    lost: int
    open: int
    saved_rate: Rate
    reasons: dict[str, int]
    callbacks_in_time: Rate
    callbacks_late: int
    callbacks_due: int


def care_figures(cases: Sequence[CaseFacts]) -> Care:
    """The churn-risk figures of ``cases`` (cases of other workflows are skipped)."""
    retention = [case for case in cases if case.workflow == RETENTION_WORKFLOW]
    outcomes = Counter(case.data.get("outcome") for case in retention)
    cycles = Counter(
        cycle.outcome
        for case in retention
        for (metric, _), cycle in case.cycles.items()
        if metric == CALLBACK_METRIC
    )
    saved, lost = outcomes[SAVED], outcomes[LOST]
    return Care(
        opened=len(retention),
        saved=saved,
        lost=lost,
        open=len(retention) - saved - lost,
        saved_rate=Rate.of(saved, saved + lost),
        reasons=dict(sorted(Counter(case.group("reason") for case in retention).items())),
        callbacks_in_time=Rate.of(cycles["met"], cycles["met"] + cycles["breached"]),
        callbacks_late=cycles["breached"],
        callbacks_due=cycles["open"],
    )
