"""What a step does to a clock, as compiled once per move: the order of the changes.

``clock_changes`` is the table every step of every metric runs (the engine asks it once per
workflow version, move and clock status). These are the rules ``docs/sla.md`` states, one row
each; ``tests/test_sla_lifecycle.py`` shows them end to end on real stores.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import cast

import pytest

from svcflow import load_workflow_file
from svcflow.core.machine import CompiledWorkflow
from svcflow.sla.clocks import Clock, Kept, clock_changes

ROWS = [
    # status, kinds matched, reopen, retargets -> changes, in order
    ("running", {"cancel", "stop"}, "new_cycle", False, ("cancel",)),  # cancel wins over stop
    ("paused", {"stop", "pause", "reset"}, "new_cycle", True, ("stop",)),  # a stop ends it
    ("running", {"reset", "pause"}, "new_cycle", True, ("reset", "pause")),  # no re-target
    ("paused", {"resume", "pause"}, "new_cycle", False, ("resume", "pause")),  # stays paused
    ("paused", {"pause"}, "new_cycle", False, ()),  # already paused
    ("running", {"resume"}, "new_cycle", False, ()),  # already running
    ("running", {"start"}, "new_cycle", False, ()),  # a running clock is not started again
    ("running", set(), "new_cycle", True, ("retarget",)),  # its target is asked again
    ("paused", {"pause"}, "new_cycle", True, ("retarget",)),
    (None, {"start"}, "continue", True, ("start",)),  # a fresh clock is not re-targeted
    (None, {"start", "cancel"}, "new_cycle", False, ()),  # started and cancelled at once
    (None, {"start", "pause", "resume"}, "new_cycle", False, ("start", "pause")),
    (None, {"pause", "stop", "reset", "resume"}, "new_cycle", True, ()),  # nothing to change
    ("stopped", {"start"}, "continue", False, ("continue",)),  # reopened: the same cycle
    ("stopped", {"start"}, "new_cycle", False, ("start",)),
    ("cancelled", {"start"}, "continue", False, ("start",)),  # only a stop continues
    ("stopped", {"pause", "cancel", "stop"}, "continue", True, ()),
]


@pytest.mark.parametrize(("status", "matched", "reopen", "retargets", "expected"), ROWS)
def test_a_step_changes_a_clock_in_the_documented_order(
    status: str | None,
    matched: set[str],
    reopen: str,
    retargets: bool,
    expected: tuple[str, ...],
) -> None:
    assert clock_changes(frozenset(matched), status, reopen, retargets) == expected


def test_a_clock_with_a_moment_outside_utc_is_read_back_from_its_text() -> None:
    """A clock's JSON remembers the record it was written from only when reading the text back
    gives the same record: a moment in another zone reads back as a different ``datetime``."""
    started = datetime(2026, 3, 2, 9, tzinfo=UTC)
    clock = Clock("running", 1, started, 0, timedelta(hours=8), "office", timedelta(0), started)
    elsewhere = datetime(2026, 3, 2, 18, tzinfo=timezone(timedelta(hours=1)))
    armed = clock.armed(started + timedelta(hours=8), started)
    assert cast(Kept, armed.to_json()).decoded is armed
    for moment in ("deadline", "next_due", "breached_at"):
        shifted = clock._replace(**{moment: elsewhere})
        encoded = cast(Kept, shifted.to_json())
        assert encoded.decoded is None, moment
        assert encoded[moment] == "2026-03-02T18:00:00+01:00"


COMPLAINT = Path(__file__).resolve().parents[1] / "workflows" / "complaint.yaml"


def test_a_move_reaches_only_the_clocks_and_chains_its_conditions_can_change() -> None:
    """The step skips the SLA state (nothing decoded) for a move that reaches nothing, and for
    one that reaches only a ``when`` when the step left the data as it was."""
    compiled = CompiledWorkflow(load_workflow_file(COMPLAINT))
    sla, chains = compiled.sla, compiled.escalations
    assert sla is not None and chains is not None
    acknowledge = ("acknowledge", "received", "acknowledged")  # stops first_response and the chain
    investigate = ("investigate", "acknowledged", "investigating")  # exception_report's `when`
    assert (sla.reach(acknowledge), chains.reach(acknowledge)) == ("always", "always")
    assert (sla.reach(investigate), chains.reach(investigate)) == ("data", "never")
    assert chains.reach(("resolve", "investigating", "resolved")) == "never"
    assert chains.reach(("callback_done", "follow_up", "closed")) == "always"  # cancelled
    assert sla.reach(("follow_up_due", "resolved", "follow_up")) == "data"
