"""Walks over a workflow spec that several checks need: every notification it queues and every
template it names."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from svcflow.spec.actions import NotifySpec
from svcflow.spec.models import Action, WorkflowSpec
from svcflow.spec.yamlsource import KeyPath

__all__ = ["notifications", "referenced_templates"]


def notifications(spec: WorkflowSpec) -> Iterator[tuple[NotifySpec, KeyPath]]:
    """Each ``notify`` action of the workflow (states, transitions, SLA warnings and breaches),
    with the key path of its ``notify`` key."""
    for name, state in spec.states.items():
        yield from _in_actions(("states", name, "on_enter"), state.on_enter)
        yield from _in_actions(("states", name, "on_exit"), state.on_exit)
    for index, transition in enumerate(spec.transitions):
        yield from _in_actions(("transitions", index, "actions"), transition.actions)
    if spec.sla is not None:
        for name, metric in spec.sla.metrics.items():
            base: KeyPath = ("sla", "metrics", name)
            for position, warning in enumerate(metric.warnings):
                yield from _in_actions((*base, "warnings", position, "actions"), warning.actions)
            yield from _in_actions((*base, "on_breach"), metric.on_breach)


def referenced_templates(spec: WorkflowSpec) -> Iterator[tuple[str, KeyPath]]:
    """Each notification template the workflow names, with the key path of the name."""
    for notify, path in notifications(spec):
        yield notify.template, (*path, "template")
    for name, chain in spec.escalations.items():
        for position, level in enumerate(chain.levels):
            yield level.template, ("escalations", name, "levels", position, "template")


def _in_actions(base: KeyPath, actions: Iterable[Action]) -> Iterator[tuple[NotifySpec, KeyPath]]:
    for index, action in enumerate(actions):
        if action.notify is not None:
            yield action.notify, (*base, index, "notify")
