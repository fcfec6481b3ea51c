"""Escalation chains: pure logic for notifying higher levels while a case waits.

A chain starts on its ``start`` conditions and walks its levels, each ``after`` a delay from the
previous one (business time on the chain's calendar, or wall time). Every level notifies its
recipients and may fire a trigger. ``stop`` (the case was acknowledged) halts the chain; if
``reescalate_after`` is set, an acknowledged case that is still not ``cancel``-ed (resolved)
that long after starts the chain again. After the last level the chain repeats ``repeat`` more
times. One timer per chain is pending at any moment (trigger ``esc:<name>``); the chain's state,
kept with the case, says what it stands for, so a stale timer is recognised and ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple, cast

from svcflow.clock import iso_text
from svcflow.rules.expressions import Expression
from svcflow.sla.calendar import BusinessCalendar
from svcflow.sla.clocks import ConditionSet, Kept, Kinds, Move, Reach, SlaOutcome, StepFacts
from svcflow.spec.sla import EscalationLevel, EscalationSpec
from svcflow.spec.yamlsource import KeyPath

__all__ = ["Chain", "EscalationPolicy", "LevelReached"]


class Chain(NamedTuple):
    """A chain's state: ``running`` (``level`` is next, due at ``next_due``), ``acknowledged``
    (``next_due`` is the re-escalation, if any) or ``stopped``; ``round`` counts repeats. (A
    named tuple, as :class:`~svcflow.sla.clocks.Clock`: about half the cost of a frozen
    dataclass to build.)"""

    status: str
    round: int
    level: int
    next_due: datetime | None

    def to_json(self) -> dict[str, Any]:
        status, round_, level, due = self
        encoded = Kept()
        encoded["status"] = status
        encoded["round"] = round_
        encoded["level"] = level
        encoded["next_due"] = None if due is None else iso_text(due)
        encoded.decoded = self if due is None or due.tzinfo is UTC else None
        return encoded

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Chain:
        if type(data) is Kept and data.decoded is not None:
            return cast(Chain, data.decoded)
        due = data["next_due"]
        return cls(
            data["status"],
            data["round"],
            data["level"],
            None if due is None else datetime.fromisoformat(due),
        )


@dataclass(frozen=True, slots=True)
class LevelReached:
    """A due escalation timer: the chain after it, its event, and the level to act on (None for
    a re-escalation, which only restarts the chain)."""

    name: str
    chain: Chain
    event: dict[str, Any]
    level: EscalationLevel | None
    schedule: tuple[str, datetime] | None


class _Chain:
    def __init__(
        self, name: str, spec: EscalationSpec, expressions: Mapping[KeyPath, Expression]
    ) -> None:
        base: KeyPath = ("escalations", name)
        self.name, self.spec, self.trigger = name, spec, f"esc:{name}"
        self.conditions = {
            kind: ConditionSet(getattr(spec, kind), expressions, (*base, kind))
            for kind in ("start", "stop", "cancel")
        }


class EscalationPolicy:
    """The compiled ``escalations`` of one workflow version."""

    def __init__(
        self,
        specs: Mapping[str, EscalationSpec],
        expressions: Mapping[KeyPath, Expression],
        calendars: Mapping[str, BusinessCalendar],
    ) -> None:
        self.chains = {name: _Chain(name, spec, expressions) for name, spec in specs.items()}
        self.calendars = calendars
        self._plans: dict[Move, tuple[tuple[_Chain, Kinds], ...]] = {}

    def _plan(self, move: Move) -> tuple[tuple[_Chain, Kinds], ...]:
        """The chains a move can touch, each with what its conditions match (worked out on
        the first step of each move, then kept)."""
        plan = self._plans.get(move)
        if plan is None:
            found = ((c, Kinds(c.conditions, *move)) for c in self.chains.values())
            plan = self._plans[move] = tuple((c, k) for c, k in found if k.moved or k.dynamic)
        return plan

    def reach(self, move: Move) -> Reach:
        """As :meth:`svcflow.sla.clocks.SlaPolicy.reach`, for the chains."""
        plan = self._plan(move)
        if any(kinds.moved for _, kinds in plan):
            return "always"
        return "data" if plan else "never"

    def apply(
        self, chains: Mapping[str, Chain], facts: StepFacts, outcome: SlaOutcome
    ) -> dict[str, Chain]:
        """What ``facts`` does to each chain; timers and events go into ``outcome``."""
        changed: dict[str, Chain] = {}
        for compiled, kinds in self._plan(facts[:3]):  # the move
            if facts.before is not None and kinds.quiet(facts):
                continue  # nothing this step did can start, stop or cancel this chain
            name = compiled.name
            chain = chains.get(name)
            matches = kinds.matches
            now = facts.now
            if chain is not None and chain.status != "stopped" and matches("cancel", facts):
                updated = Chain("stopped", chain.round, chain.level, None)
                event = "escalation_cancelled"
            elif chain is not None and chain.status == "running" and matches("stop", facts):
                again = compiled.spec.reescalate_after
                due = None if again is None else self._after(compiled, now, again)
                updated = Chain("acknowledged", chain.round, chain.level, due)
                event = "escalation_stopped"
            elif (chain is None or chain.status != "running") and matches("start", facts):
                first = compiled.spec.levels[0].after
                updated = Chain("running", 0, 0, self._after(compiled, now, first))
                event = "escalation_started"
            else:
                continue
            outcome.cancel.append(compiled.trigger)
            if updated.next_due is not None:
                outcome.schedule.append((compiled.trigger, updated.next_due))
            outcome.events.append(_event(name, event, now, updated))
            changed[name] = updated
        return changed

    def on_timer(
        self, chains: Mapping[str, Chain], trigger: str, due_at: datetime
    ) -> LevelReached | None:
        """The level (or re-escalation) a due ``esc:`` timer stands for; None if stale."""
        name = trigger.partition(":")[2]
        compiled = self.chains.get(name)
        chain = chains.get(name)
        if compiled is None or chain is None or chain.next_due != due_at:
            return None
        levels = compiled.spec.levels
        if chain.status == "acknowledged":
            due = self._after(compiled, due_at, levels[0].after)
            restarted = Chain("running", 0, 0, due)  # a fresh chain, repeats included
            event = _event(name, "reescalated", due_at, restarted)
            return LevelReached(name, restarted, event, None, (compiled.trigger, due))
        if chain.status != "running":
            return None
        level = levels[chain.level]
        following, round_ = chain.level + 1, chain.round
        if following == len(levels) and round_ < compiled.spec.repeat:
            following, round_ = 0, round_ + 1
        if following < len(levels):
            due = self._after(compiled, due_at, levels[following].after)
            updated = Chain("running", round_, following, due)
        else:
            updated = Chain("running", round_, following, None)
        event = _event(
            name,
            "escalated",
            due_at,
            updated,
            level=chain.level,
            level_name=level.name or level.notify[0],
            round=chain.round,
        )
        schedule = None if updated.next_due is None else (compiled.trigger, updated.next_due)
        return LevelReached(name, updated, event, level, schedule)

    def _after(self, compiled: _Chain, start: datetime, delay: timedelta) -> datetime:
        calendar = compiled.spec.calendar
        if calendar is None:
            return start + delay
        return self.calendars[calendar].add(start, delay)


def _event(name: str, event: str, at: datetime, chain: Chain, **extra: Any) -> dict[str, Any]:
    record = {"escalation": name, "event": event, "at": iso_text(at), **extra}
    if chain.next_due is not None:
        record["next_due"] = iso_text(chain.next_due)
    return record
