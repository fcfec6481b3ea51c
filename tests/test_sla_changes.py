"""What a step does to a clock, as compiled once per move: the order of the changes.

``clock_changes`` is the table every step of every metric runs (the engine asks it once per
workflow version, move and clock status). These are the rules ``docs/sla.md`` states, one row
each; ``tests/test_sla_lifecycle.py`` shows them end to end on real stores.
"""

from __future__ import annotations

import pytest

from svcflow.sla.clocks import clock_changes

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
