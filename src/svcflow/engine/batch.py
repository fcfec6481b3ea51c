"""``Engine.fire_many``: many events as units of work committed a batch at a time.

A host importing or replaying events (a migration from another helpdesk, a day of a channel's
backlog) pays one transaction per batch instead of one per event. Each event is still its own
unit of work: it is worked out on the case as the events before it in the batch left it, then
the batch is committed in one transaction with a savepoint per event (``Store.commit_many``),
so a refused event writes nothing and the others are kept. An event refused at commit by
another writer (a stale revision) is fired again on its own, as ``fire`` would be retried.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

from svcflow.engine.units import CaseWriter, fingerprint, first_result
from svcflow.errors import ConcurrencyConflict, StoreFault
from svcflow.records import Case
from svcflow.store.base import CaseChange, IdempotentReplay, NewMessage

__all__ = ["BatchFiring", "FireRequest", "FireResult", "fire_scope"]


class FireRequest(NamedTuple):
    """One event for ``Engine.fire_many``: the arguments ``Engine.fire`` takes."""

    case_id: str
    trigger: str
    payload: Mapping[str, Any] | None = None
    actor: str = "system"
    idempotency_key: str | None = None


class FireResult(NamedTuple):
    """What one event of ``fire_many`` did: ``case`` after it, or the ``error`` that refused it
    (exactly one of the two is set): a svcflow error as ``fire`` raises it, or whatever else a
    plugin action raised."""

    request: FireRequest
    case: Case | None = None
    error: Exception | None = None


def fire_scope(request: FireRequest) -> tuple[str, dict[str, str] | None]:
    """The idempotency scope of a fired event and the fingerprint of what it asks (both only
    when it carries a key)."""
    if request.idempotency_key is None:
        return "", None
    scope = f"fire:{request.case_id}:{request.trigger}"
    return scope, fingerprint(actor=request.actor, payload=dict(request.payload or {}))


class _Pending(NamedTuple):
    position: int
    change: CaseChange


class BatchFiring:
    """Runs one ``fire_many`` call with the engine's operations (it never sees the engine)."""

    def __init__(
        self,
        get: Callable[[str], Case],
        replayed: Callable[[FireRequest], Case | None],
        change: Callable[[Case, FireRequest, tuple[NewMessage, ...], bool], CaseChange],
        fire_alone: Callable[[str, str, Mapping[str, Any] | None, str, str | None], Case],
        writer: CaseWriter,
    ) -> None:
        self._get, self._replayed, self._change = get, replayed, change
        self._fire_alone, self._writer = fire_alone, writer

    def run(self, requests: Sequence[FireRequest], batch: int) -> list[FireResult]:
        results: list[FireResult] = [FireResult(request) for request in requests]
        for start in range(0, len(requests), batch):
            chunk = range(start, min(start + batch, len(requests)))
            pending, deferred = self._prepare(requests, chunk, results)
            self._commit(requests, pending, results)
            for position in deferred:
                results[position] = self._alone(requests[position])
        return results

    def _prepare(
        self, requests: Sequence[FireRequest], chunk: range, results: list[FireResult]
    ) -> tuple[list[_Pending], list[int]]:
        """Work out each event of the chunk on its case as the chunk left it so far. An event
        whose idempotency key an earlier event of the chunk carries is deferred until that
        one is committed (it is then answered with its result, or refused)."""
        latest: dict[str, Case] = {}
        pending: list[_Pending] = []
        keys: set[str] = set()
        deferred: list[int] = []
        for position in chunk:
            request = requests[position]
            if request.idempotency_key in keys:
                deferred.append(position)
                continue
            try:
                replayed = self._replayed(request)
                if replayed is not None:
                    results[position] = FireResult(request, case=replayed)
                    continue
                known = latest.get(request.case_id)
                case = known or self._get(request.case_id)
                change = self._change(case, request, (), known is None)
            except Exception as refused:  # one event's fault never stops the others
                results[position] = FireResult(request, error=refused)
                continue
            latest[request.case_id] = change.case
            pending.append(_Pending(position, change))
            if request.idempotency_key is not None:
                keys.add(request.idempotency_key)
        return pending, deferred

    def _alone(self, request: FireRequest) -> FireResult:
        """The event fired on its own, as ``Engine.fire`` would."""
        try:
            return FireResult(request, case=self._fire_alone(*request))
        except Exception as refused:  # one event's fault never stops the others
            return FireResult(request, error=refused)

    def _commit(
        self, requests: Sequence[FireRequest], pending: list[_Pending], results: list[FireResult]
    ) -> None:
        if not pending:
            return
        try:
            outcomes = self._writer.store.commit_many([p.change for p in pending])
        except StoreFault as fault:
            for position, _ in pending:
                results[position] = FireResult(requests[position], error=fault)
            return
        for (position, change), outcome in zip(pending, outcomes, strict=True):
            results[position] = self._result(requests[position], change, outcome)

    def _result(
        self, request: FireRequest, change: CaseChange, outcome: Exception | None
    ) -> FireResult:
        """One event's result from what its savepoint did."""
        try:
            if outcome is None:
                self._writer.committed(change)
                return FireResult(request, case=change.case)
            if isinstance(outcome, IdempotentReplay):  # the key came twice in the batch
                scope = change.idempotency_scope or ""
                first = first_result(outcome.record, scope, change.idempotency_fingerprint)
                return FireResult(request, case=first)
            if isinstance(outcome, ConcurrencyConflict):  # another writer, or an event before
                return self._alone(request)  # it in the batch was refused: on its own
        except Exception as refused:  # one event's fault never stops the others
            return FireResult(request, error=refused)
        return FireResult(request, error=outcome)
