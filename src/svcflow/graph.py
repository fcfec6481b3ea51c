"""Mermaid state diagrams of workflows, drawn by ``transitions``' own diagram support.

A throw-away ``GraphMachine`` is built from the spec with each ``when`` condition's CEL text as
the edge label (and who may take it: ``by`` and ``not_by``), so the picture shows exactly what
the file says. Final states get the
``state --> [*]`` edge Mermaid uses for an end. An internal transition allowed in every state
(``from: "*"`` without ``to``) would draw a loop on every state; it is listed once, in a note
on the initial state, instead. Recurring ``schedules`` and ``signals`` from other workflows,
which fire triggers without an edge of their own, are listed in a note on the initial state too.

:func:`svg` draws the same machine as an SVG picture on the server (the console's workflow
pages show it, no script needed): ``transitions`` writes the graph in Graphviz's DOT language
(through the ``graphviz`` package of the ``serve`` extra) and Graphviz's ``dot`` program lays it
out. When either is missing, ``dot`` fails or takes longer than ``timeout`` seconds,
:class:`~svcflow.errors.DiagramUnavailable` says which, so a caller can show the Mermaid source
instead. Pictures are cached by their DOT text, so a page drawn once is not laid out again.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
from functools import lru_cache
from typing import Any, Literal, cast

from transitions import State
from transitions.extensions import GraphMachine

from svcflow.definitions.checks import expand_sources
from svcflow.errors import DiagramUnavailable
from svcflow.spec.models import TransitionSpec, WorkflowSpec

__all__ = ["DOT_TIMEOUT", "dot_source", "mermaid", "svg"]

DOT_TIMEOUT = 10.0
"""Seconds Graphviz's ``dot`` may take to lay out one workflow before :func:`svg` gives up."""

_INSTALL_DOT = (
    "Graphviz's `dot` program is not installed (Debian and Ubuntu: `apt-get install graphviz`; "
    "macOS: `brew install graphviz`; others: https://graphviz.org/download/)"
)


class _Canvas:
    """The model a diagram is drawn for; it only carries the initial state."""

    state: str


def _everywhere(spec: WorkflowSpec) -> list[TransitionSpec]:
    """Internal transitions allowed in every state, listed in a note rather than drawn."""
    return [t for t in spec.transitions if t.is_wildcard and t.to is None]


def _initial(spec: WorkflowSpec) -> str:
    return next(name for name, state in spec.states.items() if state.initial)


def _graph(spec: WorkflowSpec, engine: Literal["mermaid", "graphviz"]) -> Any:
    """The spec's ``GraphMachine`` graph drawn by ``engine`` (``mermaid`` or ``graphviz``)."""
    canvas = _Canvas()
    everywhere = _everywhere(spec)
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
    machine = GraphMachine(
        model=canvas,
        states=[State(name, final=state.final) for name, state in spec.states.items()],
        transitions=transitions,
        initial=_initial(spec),
        graph_engine=engine,
        auto_transitions=False,
        show_conditions=True,
        title=f"{spec.title} ({spec.workflow} v{spec.version})",
    )
    if engine == "graphviz":  # no state is "current" in a picture of the definition
        styles = machine.style_attributes
        nodes = cast(dict[str, Any], styles["node"])
        machine.style_attributes = {**styles, "node": {**nodes, "active": {}}}
    return canvas.get_graph()  # type: ignore[attr-defined]


def mermaid(spec: WorkflowSpec) -> str:
    """Return a Mermaid ``stateDiagram-v2`` of the workflow."""
    initial = _initial(spec)
    everywhere = _everywhere(spec)
    drawing: str = _graph(spec, "mermaid").draw(None)
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


def dot_source(spec: WorkflowSpec) -> str:
    """The workflow as a Graphviz DOT graph: the states (final ones with a double border), the
    transitions labelled as in :func:`mermaid`, and its notes as note-shaped boxes beside the
    initial state. :class:`~svcflow.errors.DiagramUnavailable` when the ``graphviz`` package
    (the ``serve`` extra) is not installed."""
    if importlib.util.find_spec("graphviz") is None:
        why = "the graphviz package is not installed (pip install 'svcflow[serve]')"
        raise DiagramUnavailable(spec.workflow, spec.version, why)
    graph = _graph(spec, "graphviz")
    graph.graph_attr.update(rankdir="TB")
    for name, state in spec.states.items():
        if state.final:
            graph.node(name, peripheries="2")
    initial = _initial(spec)
    everywhere = [f"{t.trigger}" + (f" [{t.when}]" if t.when else "") for t in _everywhere(spec)]
    notes = [
        ("everywhere", ["in every state (internal):", *everywhere] if everywhere else []),
        ("outside", _care_lines(spec)),
    ]
    for key, lines in notes:
        if lines:
            label = "".join(f"{line}\\l" for line in lines)
            graph.node(
                f"note_{key}", label=label, shape="note", style="filled", fillcolor="lightyellow"
            )
            graph.edge(f"note_{key}", initial, style="dashed", arrowhead="none")
    return str(graph.source)


def svg(spec: WorkflowSpec, *, timeout: float = DOT_TIMEOUT) -> str:
    """The workflow drawn as an ``<svg>`` element (no XML prolog, ready to put in a page).

    :class:`~svcflow.errors.DiagramUnavailable` when the ``graphviz`` package or the ``dot``
    program is missing, ``dot`` fails, or it takes longer than ``timeout`` seconds."""
    source = dot_source(spec)
    program = shutil.which("dot")
    if program is None:
        raise DiagramUnavailable(spec.workflow, spec.version, _INSTALL_DOT)
    try:
        return _laid_out(source, program, timeout)
    except _DotFailed as failed:
        raise DiagramUnavailable(spec.workflow, spec.version, str(failed)) from None


class _DotFailed(Exception):
    """``dot`` could not draw a graph (not cached, so a later call tries again)."""


@lru_cache(maxsize=64)
def _laid_out(source: str, program: str, timeout: float) -> str:
    try:
        done = subprocess.run(
            [program, "-Tsvg"],
            input=source,
            capture_output=True,
            text=True,
            encoding="utf-8",
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise _DotFailed(f"Graphviz's `dot` took longer than {timeout:g} s") from None
    if done.returncode != 0:
        why = done.stderr.strip().splitlines()[-1:] or [f"exit status {done.returncode}"]
        raise _DotFailed(f"Graphviz's `dot` failed: {why[0]}")
    return done.stdout[done.stdout.index("<svg") :]


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
