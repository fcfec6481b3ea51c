"""Mermaid state diagrams of workflows, drawn by ``transitions``' own diagram support.

A throw-away ``GraphMachine`` is built from the spec with each ``when`` condition's CEL text as
the edge label (and who may take it: ``by`` and ``not_by``), so the picture shows exactly what
the file says. Final states get the
``state --> [*]`` edge Mermaid uses for an end. An internal transition allowed in every state
(``from: "*"`` without ``to``) would draw a loop on every state; it is listed once, in a note
on the initial state, instead. Recurring ``schedules`` and ``signals`` from other workflows,
which fire triggers without an edge of their own, are listed in a note on the initial state too.
"""

from __future__ import annotations

from transitions import State
from transitions.extensions import GraphMachine

from svcflow.definitions.checks import expand_sources
from svcflow.spec.models import TransitionSpec, WorkflowSpec

__all__ = ["mermaid"]


class _Canvas:
    """The model a diagram is drawn for; it only carries the initial state."""

    state: str


def mermaid(spec: WorkflowSpec) -> str:
    """Return a Mermaid ``stateDiagram-v2`` of the workflow."""
    initial = next(name for name, state in spec.states.items() if state.initial)
    canvas = _Canvas()
    everywhere = [t for t in spec.transitions if t.is_wildcard and t.to is None]
    transitions = [
        {
            "trigger": transition.trigger,
            "source": source,
            "dest": transition.to,
            "conditions": [
                *([transition.when] if transition.when else []),
                *_authority(transition),
            ],
        }
        for transition in spec.transitions
        if transition not in everywhere
        for source in expand_sources(transition, spec)
    ]
    GraphMachine(
        model=canvas,
        states=[State(name, final=state.final) for name, state in spec.states.items()],
        transitions=transitions,
        initial=initial,
        graph_engine="mermaid",
        auto_transitions=False,
        show_conditions=True,
        title=f"{spec.title} ({spec.workflow} v{spec.version})",
    )
    drawing: str = canvas.get_graph().draw(None)  # type: ignore[attr-defined]
    lines = [
        line.replace(" s_active", " s_default") if line.lstrip().startswith("Class ") else line
        for line in drawing.rstrip().splitlines()
    ]
    lines.extend(f"  {name} --> [*]" for name, state in spec.states.items() if state.final)
    if everywhere:
        lines.append(f"  note right of {initial}")
        lines.append("    in every state (internal):")
        lines.extend(f"    {t.trigger}" + (f" [{t.when}]" if t.when else "") for t in everywhere)
        lines.append("  end note")
    care = _care_lines(spec)
    if care:
        lines.append(f"  note left of {initial}")
        lines.extend(f"    {line}" for line in care)
        lines.append("  end note")
    return "\n".join(lines) + "\n"


def _care_lines(spec: WorkflowSpec) -> list[str]:
    """``schedule birthday: yearly customer.birthday -> greet`` and ``on survey.answer: start``
    lines for the note of what fires triggers from outside the transitions."""
    lines = []
    for name, schedule in spec.schedules.items():
        every = schedule.every
        if isinstance(every, str):
            when = f"every {every}" + (f" after {schedule.after}" if schedule.after else "")
        else:
            when = f"{every.kind} {getattr(every, every.kind)}"
        lines.append(f"schedule {name}: {when} -> {schedule.trigger}")
    for signal in spec.signals:
        does = [
            *(["start"] if signal.start is not None else []),
            *([signal.fire] if signal.fire else []),
        ]
        lines.append(f"on {signal.event}: {' or '.join(does)}")
    return lines


def _authority(transition: TransitionSpec) -> list[str]:
    """``by team_lead`` / ``by (approver)`` and ``not by (requested_by)`` for an edge label."""
    by, labels = transition.by, []
    if isinstance(by, str):
        labels.append(f"by {by}")
    elif isinstance(by, list):
        labels.append(f"by {' or '.join(by)}")
    elif by is not None:
        labels.append(f"by ({by.expr})")
    if transition.not_by is not None:
        labels.append(f"not by ({transition.not_by.expr})")
    return labels
