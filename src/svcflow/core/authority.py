"""Who may fire a transition: the roles ``by`` requires and the actors ``not_by`` excludes.

Pure: the engine asks the host (the ``svcflow_actor_roles`` hook) which roles an actor holds and
hands them in as an :class:`Actor`; here those roles are widened by the workflow's ``roles:``
section (a director who ``includes`` service_manager holds both) and checked against the
transition the step would take. ``by`` may name a role, a list of roles (any one will do) or
compute them (``{expr: delegated_authority.approver}``); ``not_by`` computes the actor id (or
ids) who may not fire it, for four-eyes rules (``{expr: requested_by}``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from svcflow.definitions.workflow import LoadedWorkflow
from svcflow.rules.expressions import Expression, Variables

__all__ = ["SYSTEM_ACTOR", "Actor", "Authority", "Refusal"]


@dataclass(frozen=True, slots=True)
class Actor:
    """Who fires an event and the roles they hold (as the host's identity system says).

    In expressions it is the map ``actor`` with ``actor.id`` and ``actor.roles`` (sorted).
    """

    id: str
    roles: frozenset[str] = frozenset()

    def variable(self) -> dict[str, Any]:
        return {"id": self.id, "roles": sorted(self.roles)}


SYSTEM_ACTOR = Actor("system")
"""What ``actor`` reads in steps nobody fired (timers, SLA actions): no roles at all."""


@dataclass(frozen=True, slots=True)
class _Guard:
    roles: tuple[str, ...] = ()
    computed: Expression | None = None
    excluded: Expression | None = None


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why an actor may not fire a transition: the roles that would do, and the reason."""

    required: tuple[str, ...]
    reason: str


class Authority:
    """The ``by``/``not_by`` rules of one workflow version, by transition index."""

    def __init__(self, loaded: LoadedWorkflow) -> None:
        spec = loaded.spec
        self.includes: Mapping[str, tuple[str, ...]] = {
            name: tuple(role.includes) for name, role in spec.roles.items()
        }
        self.guards: dict[int, _Guard] = {}
        for index, transition in enumerate(spec.transitions):
            by, path = transition.by, ("transitions", index)
            if by is None and transition.not_by is None:
                continue
            self.guards[index] = _Guard(
                roles=(by,) if isinstance(by, str) else tuple(by) if isinstance(by, list) else (),
                computed=loaded.expressions.get((*path, "by", "expr")),
                excluded=loaded.expressions.get((*path, "not_by", "expr")),
            )

    def holds(self, roles: frozenset[str]) -> frozenset[str]:
        """``roles`` and every role they include, transitively."""
        held, queue = set(roles), list(roles)
        while queue:
            for included in self.includes.get(queue.pop(), ()):
                if included not in held:
                    held.add(included)
                    queue.append(included)
        return frozenset(held)

    def refusal(self, index: int, actor: Actor, variables: Variables) -> Refusal | None:
        """Why ``actor`` may not take transition ``index`` (None: they may)."""
        guard = self.guards.get(index)
        if guard is None:
            return None
        required = guard.roles
        if guard.computed is not None:
            required = _names(guard.computed.evaluate(variables))
            if not required:
                return Refusal((), f"`{guard.computed.source}` names no role, so nobody may")
        held = self.holds(actor.roles)
        if required and not held.intersection(required):
            wanted = " or ".join(f"'{role}'" for role in required)
            where = f" (from `{guard.computed.source}`)" if guard.computed is not None else ""
            having = ", ".join(sorted(held)) or "no roles"
            reason = f"it needs the role {wanted}{where}; {actor.id} holds {having}"
            return Refusal(required, reason)
        if guard.excluded is not None and actor.id in _names(guard.excluded.evaluate(variables)):
            return Refusal(
                required,
                f"`{guard.excluded.source}` is {actor.id}, who may not also do this (four eyes); "
                "another person must",
            )
        return None


def _names(value: Any) -> tuple[str, ...]:
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(str(item) for item in value)
