"""``Engine.fire_many``: many events committed a batch at a time, each its own unit of work, on
every store: per-event results, refusals contained, idempotency keys honoured."""

from __future__ import annotations

from svcflow import ConditionNotMet, Engine, ManualClock, UnknownTrigger
from svcflow.engine import FireRequest
from svcflow.errors import CaseNotFound, IdempotencyKeyReused


def test_every_event_gets_its_result_and_a_refused_one_changes_nothing(
    engine: Engine, clock: ManualClock
) -> None:
    first = engine.start("ticket", {"customer": "Ann"}).id
    second = engine.start("ticket", {"customer": "Bo"}).id
    clock.advance("1m")
    results = engine.fire_many(
        [
            FireRequest(first, "take", actor="agent-7"),
            FireRequest(first, "answer", {"answer": ""}),  # the condition does not hold
            FireRequest(first, "answer", {"answer": "Replaced"}),  # on "open": nothing refused
            FireRequest(second, "fly"),
            FireRequest("nobody", "take"),
            FireRequest(second, "take"),
            FireRequest(first, "close"),
        ],
        batch=4,
    )
    assert [r.case.state if r.case else type(r.error).__name__ for r in results] == [
        "open",
        "ConditionNotMet",
        "answered",
        "UnknownTrigger",
        "CaseNotFound",
        "open",
        "closed",
    ]
    assert isinstance(results[1].error, ConditionNotMet)
    assert isinstance(results[3].error, UnknownTrigger) and isinstance(
        results[4].error, CaseNotFound
    )
    assert str(results[4].error) == str(_raised(lambda: engine.fire("nobody", "take")))
    history = [(e.seq, e.trigger, e.to_state, e.actor) for e in engine.history(first)]
    assert history == [
        (1, None, "new", "system"),
        (2, "take", "open", "agent-7"),
        (3, "answer", "answered", "system"),
        (4, "close", "closed", "system"),
    ]
    assert engine.get(first).data["answer"] == "Replaced"
    assert [e.trigger for e in engine.history(second)] == [None, "take"]


def test_idempotency_keys_are_honoured_within_a_call_and_across_calls(engine: Engine) -> None:
    case = engine.start("ticket", {"customer": "Ann"}).id
    take = FireRequest(case, "take", idempotency_key="take-1")
    reused = FireRequest(case, "answer", {"answer": "x"}, idempotency_key="take-1")
    results = engine.fire_many([take, take, reused])
    assert results[0].case == engine.get(case) and engine.get(case).revision == 2
    assert results[1].case == results[0].case  # the first result, nothing written twice
    assert str(results[2].error) == str(_raised(lambda: engine.fire(*reused)))
    assert isinstance(results[2].error, IdempotencyKeyReused)
    again = engine.fire_many([take])
    assert again[0].case == results[0].case
    assert [e.seq for e in engine.history(case)] == [1, 2]
    assert engine.fire(case, "take", idempotency_key="take-1") == results[0].case


def _raised(action: object) -> Exception:
    try:
        action()  # type: ignore[operator]
    except Exception as error:
        return error
    raise AssertionError("nothing was raised")
