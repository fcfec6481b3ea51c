"""The :class:`Engine` facade: the small API a host application embeds.

The engine orchestrates; it holds no case state of its own. Each ``start``, ``fire`` and due
timer is one unit of work: read the case, let the workflow's compiled machine decide (pure), then
commit the case, its history entry, timer changes, queued notifications and the idempotency
record in one store transaction. A retried event with the same idempotency key is answered with
the first result; a stale writer gets ``ConcurrencyConflict``; a disallowed trigger leaves the
case untouched.

The facade only wires and delegates: units of work are built and committed by
:mod:`svcflow.engine.units`, due timers are fired by :mod:`svcflow.engine.timers`, workflow
versions are kept by :mod:`svcflow.engine.registry` and inbound messages are taken by
:class:`~svcflow.messaging.intake.MessageIntake`.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from types import MappingProxyType, TracebackType
from typing import Any

from svcflow.clock import Clock, SystemClock, as_utc
from svcflow.compiled import mypyc_attr, raised_from
from svcflow.core.authority import Actor
from svcflow.core.effects import StepResult
from svcflow.core.machine import CompiledWorkflow
from svcflow.definitions import load_definitions
from svcflow.definitions.migration import LoadedMigration, MigrationText
from svcflow.definitions.workflow import LoadedWorkflow
from svcflow.engine.batch import BatchFiring, FireRequest, FireResult, fire_scope
from svcflow.engine.care import SIGNAL_GRACE, CaseActions, Journeys
from svcflow.engine.counters import EngineCounters
from svcflow.engine.erasure import ERASED, ErasureReport, erase_customer
from svcflow.engine.finding import AT_RISK_WITHIN, case_query
from svcflow.engine.migrations import CaseMigrator, MigrationReport
from svcflow.engine.plugins import DIRECTORY_PLUGIN, build_plugin_host
from svcflow.engine.registry import WorkflowRegistry
from svcflow.engine.retention import (
    PurgeReport,
    closed_cases_due,
    expired_dead_letters,
    unknown_is_kept,
)
from svcflow.engine.timers import (
    COMMIT_BATCH,
    DEFAULT_TIMER_RETRY,
    AdvanceReport,
    TimerService,
    release_failed,
    release_failed_timers,
    service_due,
)
from svcflow.engine.units import (
    CaseWriter,
    Event,
    advanced,
    fingerprint,
    history_entry,
    transition_entry,
)
from svcflow.errors import (
    CaseAlreadyOpen,
    ConcurrencyConflict,
    CustomerRequired,
    DeliveryNotDead,
    NotAuthorized,
    UnknownCustomer,
    WorkflowDefinitionError,
)
from svcflow.hooks.host import PluginHost
from svcflow.hooks.types import CustomerErasure
from svcflow.messaging.customers import Customers
from svcflow.messaging.directory import Directory, DirectoryEntry
from svcflow.messaging.intake import CaseOperations, Intake, MessageIntake
from svcflow.messaging.limits import IntakeLimits
from svcflow.messaging.notifier import Notifier
from svcflow.messaging.outbox import Dispatcher, DispatchReport, RetryPolicy
from svcflow.messaging.template_limits import DEFAULT_TEMPLATE_LIMITS, TemplateLimits
from svcflow.messaging.templates import TemplateError, TemplateRenderer, template_problems
from svcflow.records import (
    NO_DETAILS,
    Case,
    Customer,
    DeadLetter,
    HistoryEntry,
    Notification,
    OutboxEntry,
    Refusal,
    Timer,
    plain,
)
from svcflow.sla.calendar import BusinessCalendar
from svcflow.sla.clocks import SlaPolicy
from svcflow.sla.escalation import Chain
from svcflow.sla.status import SlaStatus, sla_report
from svcflow.spec.extensions import using_extensions
from svcflow.store.base import CaseChange, NewMessage, ScopeTaken, Store
from svcflow.store.query import CasePage
from svcflow.store.registry import open_store
from svcflow.tracing import recording, span

__all__ = ["DEAD_LETTER_RETENTION", "Engine"]

DEAD_LETTER_RETENTION = timedelta(days=30)
"""How long ``Engine.purge_dead_letters`` keeps a dead letter by default."""


def new_case_id() -> str:
    """A new case's id: ``uuid.uuid4().hex`` (random bits with the version 4 and RFC 4122
    variant bits set), written from the random bytes directly: ``uuid.UUID``'s checks and
    arithmetic cost about 11 kIr a start (issue 16)."""
    value = bytearray(os.urandom(16))
    value[6] = value[6] & 0x0F | 0x40  # version 4
    value[8] = value[8] & 0x3F | 0x80  # variant: RFC 4122
    return value.hex()


@mypyc_attr(allow_interpreted_subclasses=True)  # hosts subclass it
class Engine:
    """Runs cases of loaded workflows against a store, on an injected clock.

    Build one with :meth:`from_directory`; it is safe to share between threads. Close it (or use
    it as a context manager) to release the store. ``timer_lease`` is how long this engine holds
    the due timers it claims in ``advance``: several engines (or processes) advancing one store
    share the due timers, and the timers of one that dies are claimed by another once its lease
    runs out. ``retry`` is the outbox's delivery retry policy; ``timer_retry`` how a timer whose
    firing raised is retried before it is parked as failed (see :meth:`failed_timers`);
    ``template_limits`` bounds what rendering one notification may cost. ``commit_batch``
    (default 64) is how many due timers' firings ``advance`` commits in one transaction, each
    under a savepoint of its own (one failing never fails the others).
    ``delivery_record_batch`` (default 1) is how many delivery outcomes ``dispatch`` records
    in one transaction: more means fewer transactions, and after a crash up to that many
    deliveries sent again (see :class:`~svcflow.messaging.outbox.Dispatcher`).
    ``delivery_timeout`` (seconds, default 30) bounds each notification delivery attempt,
    synchronous and async plugins alike. ``intake_limits`` bounds what ``ingest`` takes
    (:class:`~svcflow.messaging.limits.IntakeLimits`: 10 MB, 100 references, ...).
    ``content_dedupe_window`` is how long a message without an id of its own (a web form without
    ``submission_id``) sent again by the same sender counts as a duplicate.
    """

    _actors: dict[str, Actor]
    """The latest record of each actor (see :meth:`actor`)."""

    def __init__(
        self,
        workflows: Iterable[LoadedWorkflow],
        store: Store | str = "memory://",
        clock: Clock | None = None,
        *,
        id_factory: Callable[[], str] | None = None,
        timer_lease: timedelta = timedelta(minutes=1),
        calendars: Iterable[BusinessCalendar] | Mapping[str, BusinessCalendar] = (),
        plugins: Iterable[object | tuple[str, object]] = (),
        plugin_host: PluginHost | None = None,
        load_plugins: bool = True,
        plugins_dir: str | Path | None = None,
        directory: Mapping[str, DirectoryEntry | Iterable[DirectoryEntry]] | None = None,
        roles: Mapping[str, Iterable[str]] | None = None,
        templates: str | Path | Iterable[str | Path] | None = None,
        default_locale: str = "en",
        retry: RetryPolicy | None = None,
        delivery_timeout: float = 30.0,
        timer_retry: RetryPolicy = DEFAULT_TIMER_RETRY,
        commit_batch: int = COMMIT_BATCH,
        delivery_record_batch: int = 1,
        content_dedupe_window: timedelta = timedelta(minutes=10),
        template_limits: TemplateLimits = DEFAULT_TEMPLATE_LIMITS,
        intake_limits: IntakeLimits | None = None,
    ) -> None:
        self.store: Store = open_store(store) if isinstance(store, str) else store
        self.clock: Clock = clock or SystemClock()
        by_id = _calendars_by_id(calendars)
        self.plugins = plugin_host or build_plugin_host(
            plugins,
            load_plugins=load_plugins,
            plugins_dir=plugins_dir,
            directory=directory,
            roles=roles,
        )
        self._attach_directory()
        workflows = list(workflows)
        self.registry = WorkflowRegistry(workflows, self.store, by_id, self.plugins.extensions())
        self.store.attach_codec(self.registry)
        self.templates = _renderer(workflows, templates, default_locale, template_limits)
        self.notifier = Notifier(self.plugins, self.templates, self._sla_policy)
        self.dispatcher = Dispatcher(
            self.store,
            self.plugins,
            self.clock,
            retry=retry,
            timeout=delivery_timeout,
            record_batch=delivery_record_batch,
        )
        self._new_id, self._actors = id_factory or new_case_id, {}
        self.timer_lease, self.runner_id = timer_lease, f"engine-{uuid.uuid4().hex[:12]}"
        self._writer = CaseWriter(
            self.store, self.clock, self.plugins, self.notifier, self.registry
        )
        self._timers = TimerService(
            self._writer, self.registry, timer_lease, self.runner_id, timer_retry, commit_batch
        )
        self._journeys = self._customer_journeys()
        self._intake = self._message_intake(intake_limits, content_dedupe_window)

    def _customer_journeys(self) -> Journeys:
        """``engine.customers``, and the customer-scoped workflows and signals its events start
        and end, handed the case operations they need."""
        self.customers = Customers(self.store, now=lambda: as_utc(self.clock.now()))
        """The customers of this engine's store: ``add``, ``get``, ``identify``, ``of_case``,
        ``leave``."""
        actions = CaseActions(
            start=lambda workflow, data, actor, customer, key: self._start(
                workflow, data, actor, key, customer_id=customer
            ),
            fire=lambda case_id, trigger, actor, key: self._fire(
                case_id, trigger, None, actor, key
            ),
            reschedule=self._reschedule,
            now=self._writer.now,
        )
        journeys = Journeys(self.registry, self.store, actions)
        self.customers.listen(journeys.customer_changed)
        if journeys.raises_signals:  # (fixed once the workflows are loaded)
            self._writer.raise_signals = journeys.raised_by
            self._writer.after_commit.append(journeys.case_committed)
        return journeys

    def _attach_directory(self) -> None:
        """Let the directory plugin (when loaded) read case messages and the channels."""
        found = self.plugins.get(DIRECTORY_PLUGIN)
        if isinstance(found, Directory):
            found.attach(
                self._case_messages, self.plugins.outbound_channels, self.plugins.reply_channel
            )

    def _message_intake(
        self, limits: IntakeLimits | None, content_window: timedelta
    ) -> MessageIntake:
        """Intake, handed the few case operations it needs (it never sees the engine)."""
        operations = CaseOperations(
            now=self._writer.now,
            get=self.get,
            start=lambda workflow, data, actor, messages, customer: self._start(
                workflow, data, actor, None, messages, customer
            ),
            fire=lambda case_id, trigger, payload, actor, messages: self._fire(
                case_id, trigger, payload, actor, messages=messages
            ),
            record=self._record_message,
        )
        return MessageIntake(
            self.store,
            self.plugins,
            self.registry,
            operations,
            limits,
            customers=self.customers,
            content_window=content_window,
        )

    @classmethod
    def from_directory(
        cls,
        path: str | Path,
        store: Store | str = "sqlite:///cases.db",
        clock: Clock | None = None,
        **options: Any,
    ) -> Engine:
        """Load every workflow and calendar file under ``path`` (all problems reported at once)
        and open ``store`` (``"sqlite:///cases.db"`` by default, or ``"memory://"``).

        Plugins are loaded first (so workflows may use their CEL functions and actions); a
        ``templates`` folder beside the workflows holds the notification templates, and every
        template a workflow names must exist in it (checked now, with the file position).
        """
        host = options.pop("plugin_host", None) or build_plugin_host(
            options.pop("plugins", ()),
            load_plugins=options.pop("load_plugins", True),
            plugins_dir=options.pop("plugins_dir", None),
            directory=options.pop("directory", None),
            roles=options.pop("roles", None),
        )
        with using_extensions(host.extensions()):
            found = load_definitions(path)
        beside = Path(path) / "templates"
        if "templates" not in options and beside.is_dir():
            options["templates"] = beside
        return cls(
            found.workflows, store, clock, calendars=found.calendars, plugin_host=host, **options
        )

    def __enter__(self) -> Engine:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self.plugins.close()
        self.store.close()

    @property
    def workflows(self) -> dict[str, CompiledWorkflow]:
        """The current (newest loaded) version of each workflow, by id."""
        return self.registry.current

    # -- events -----------------------------------------------------------------------------------

    def start(
        self,
        workflow: str,
        data: Mapping[str, Any] | None = None,
        actor: str = "system",
        idempotency_key: str | None = None,
        *,
        customer: str | Customer | None = None,
    ) -> Case:
        """Start a case of the newest version of ``workflow`` with ``data``; return it.

        The data is validated against the workflow's ``data`` (``CaseDataError`` lists every
        problem); the initial state's ``on_enter`` actions run. ``customer`` (a customer or its
        id, see ``engine.customers``) owns the case: notices to ``customer`` reach their
        contact points and only their messages join the case (``UnknownCustomer`` if the store
        has no such customer).
        """
        owner = customer.id if isinstance(customer, Customer) else customer
        if owner is not None:
            self.customers.get(owner)
        if not recording():
            return self._start(workflow, data, actor, idempotency_key, customer_id=owner)
        with span("start", workflow=workflow) as current:
            case = self._start(workflow, data, actor, idempotency_key, customer_id=owner)
            current.set("case", case.id)
            return case

    def _start(
        self,
        workflow: str,
        data: Mapping[str, Any] | None,
        actor: str,
        idempotency_key: str | None,
        messages: tuple[NewMessage, ...] = (),
        customer_id: str | None = None,
    ) -> Case:
        compiled = self.registry.newest(workflow)
        if compiled.spec.scope == "customer" and customer_id is None:
            raise CustomerRequired(workflow)
        scope = f"start:{workflow}"
        request = None
        if idempotency_key is not None:
            request = fingerprint(actor=actor, data=dict(data or {}))
            replayed = self._writer.replayed(idempotency_key, scope, request)
            if replayed is not None:
                return replayed
        now = self._writer.now()
        case_id = self._new_id()
        result = compiled.start(data, now, case_id, self._actor_in(compiled, actor))
        case = Case.__new__(
            Case,
            id=case_id,
            workflow=compiled.workflow,
            version=compiled.version,
            state=result.target,
            data=MappingProxyType(result.data),
            revision=1,
            created_at=now,
            updated_at=now,
            sla=MappingProxyType(result.service) if result.service else NO_DETAILS,
        )
        self._timers.keeper.amend(compiled, None, case, result, customer_id=customer_id)
        given = {name: plain(result.data[name]) for name in data} if data else None
        event = Event.__new__(Event, actor=actor, kind="started", payload=given)
        entry = history_entry(case, now, event, result)
        change = self._writer.change(
            case,
            None,
            entry,
            result,
            idempotency=(idempotency_key, scope),
            messages=messages,
            customer_id=customer_id,
            request=request,
            compiled=compiled,
        )
        try:
            return self._writer.commit(change)
        except ScopeTaken as taken:
            already = CaseAlreadyOpen(workflow, customer_id or "", taken.case_id)
            raise raised_from(already, None)  # noqa: B904 (svcflow.compiled)

    def fire(
        self,
        case_id: str,
        trigger: str,
        payload: Mapping[str, Any] | None = None,
        actor: str = "system",
        idempotency_key: str | None = None,
        *,
        expected_revision: int | None = None,
    ) -> Case:
        """Fire ``trigger`` on a case; return the case after the transition.

        ``payload`` sets data fields (validated). ``expected_revision`` makes the call fail with
        ``ConcurrencyConflict`` unless the case is still at that revision (for a person acting
        on what they last saw). Raises ``TransitionNotAllowed`` (or its subclasses
        ``UnknownTrigger``/``ConditionNotMet``) naming the triggers allowed now, and
        ``NotAuthorized`` when ``actor`` lacks the role the transition requires (``by:``) or
        is excluded by a four-eyes rule (``not_by:``); that refusal is kept
        (:meth:`refusals`). In every error case the case is unchanged.
        """
        if not recording():
            return self._fire(case_id, trigger, payload, actor, idempotency_key, expected_revision)
        with span("fire", case=case_id, trigger=trigger) as current:
            case = self._fire(case_id, trigger, payload, actor, idempotency_key, expected_revision)
            current.set("workflow", case.workflow)
            current.set("state", case.state)
            return case

    def _fire(
        self,
        case_id: str,
        trigger: str,
        payload: Mapping[str, Any] | None,
        actor: str,
        idempotency_key: str | None = None,
        expected_revision: int | None = None,
        messages: tuple[NewMessage, ...] = (),
    ) -> Case:
        keyed = None  # (a request record only for an event with a key: it is kept with it)
        if idempotency_key is not None:
            keyed = FireRequest(case_id, trigger, payload, actor, idempotency_key)
            replayed = self._replayed(keyed)
            if replayed is not None:
                return replayed
        case = self._writer.get(case_id)
        if expected_revision is not None and case.revision != expected_revision:
            raise ConcurrencyConflict(case_id, expected_revision, case.revision)
        change = self._event_change(case, trigger, payload, actor, keyed, messages)
        return self._writer.commit(change)

    def _replayed(self, request: FireRequest) -> Case | None:
        """The first result of an event already committed with the request's idempotency key."""
        if request.idempotency_key is None:
            return None
        scope, fingerprinted = fire_scope(request)
        return self._writer.replayed(request.idempotency_key, scope, fingerprinted or {})

    def _fire_change(
        self,
        case: Case,
        request: FireRequest,
        messages: tuple[NewMessage, ...] = (),
        catch_up: bool = True,
    ) -> CaseChange:
        """The change firing ``request`` on ``case`` makes (nothing committed but the case's
        overdue SLA timers, when ``catch_up``); raises what refuses the event."""
        keyed = None if request.idempotency_key is None else request
        return self._event_change(
            case, request.trigger, request.payload, request.actor, keyed, messages, catch_up
        )

    def _event_change(
        self,
        case: Case,
        trigger: str,
        payload: Mapping[str, Any] | None,
        actor: str,
        keyed: FireRequest | None,
        messages: tuple[NewMessage, ...] = (),
        catch_up: bool = True,
    ) -> CaseChange:
        """:meth:`_fire_change` of the event's parts; ``keyed`` is its request when it carries
        an idempotency key."""
        compiled = self.registry.get(case.workflow, case.version)
        now = self._writer.now()
        if catch_up and case.sla and service_due(case, now):
            case = self._timers.catch_up(case, now)
        now = max(now, case.updated_at)
        try:
            result = compiled.step(
                case.id,
                case.state,
                case.data,
                trigger,
                payload,
                now,
                case.sla,
                self.actor(actor) if compiled.reads_roles else None,  # (_actor_in)
            )
        except NotAuthorized as refused:
            self._refused(refused, now)
            raise
        updated = advanced(case, result, now)
        if compiled.spec.schedules:
            self._timers.keeper.amend(compiled, case.state, updated, result)
        given = plain(result.payload) if payload else None
        entry = transition_entry(updated, now, actor, trigger, case.state, given, result)
        if keyed is None:
            return self._writer.change(
                updated, case.revision, entry, result, messages=messages, compiled=compiled
            )
        scope, fingerprinted = fire_scope(keyed)
        return self._writer.change(
            updated,
            case.revision,
            entry,
            result,
            idempotency=(keyed.idempotency_key, scope),
            messages=messages,
            request=fingerprinted,
            compiled=compiled,
        )

    def fire_many(
        self, events: Iterable[FireRequest], *, batch: int | None = None
    ) -> list[FireResult]:
        """Fire many events (an import, a replay) as units of work committed ``batch`` at a
        time (default: the engine's ``commit_batch``) in one transaction each, every event
        under a savepoint of its own. Returns one :class:`FireResult` per event, in order:
        the case after it, or the svcflow error that refused it (the same error ``fire``
        raises); one refused event never stops the others, and later events of its case see
        the case as if it had not been sent. Idempotency keys are honoured as by ``fire``
        (within the call too). A store fault fails the events of its batch only."""
        firing = BatchFiring(self.get, self._replayed, self._fire_change, self._fire, self._writer)
        return firing.run(list(events), batch or self._timers.commit_batch)

    def actor(self, actor: str) -> Actor:
        """``actor`` with the roles the host's identity system (``svcflow_actor_roles``) gives
        (asked every time; the record is reused while the answer stays the same)."""
        roles = self.plugins.actor_roles(actor)
        known = self._actors.get(actor)
        if known is not None and known.roles == roles:
            return known
        if len(self._actors) >= 1024:
            self._actors.clear()  # a bound, not a policy
        made = self._actors[actor] = Actor(actor, roles)
        return made

    def _actor_in(self, compiled: CompiledWorkflow, actor: str) -> Actor | None:
        """``actor`` for a step of ``compiled``: the identity system is asked for their roles
        only when the workflow reads roles (``by``/``not_by``, role ``includes``, an expression
        or table reading ``actor``); otherwise nothing could tell actors apart, and the step
        gets None (it checks nothing, as for the engine's own timers)."""
        return self.actor(actor) if compiled.reads_roles else None

    def _refused(self, error: NotAuthorized, now: datetime) -> None:
        self.store.add_refusal(
            Refusal(
                case_id=error.case_id,
                at=now,
                actor=error.actor,
                trigger=error.trigger,
                state=error.state,
                reason=error.reason,
                roles=error.roles,
                required=error.required,
            )
        )

    def refusals(self, case_id: str | None = None) -> list[Refusal]:
        """Events refused for lack of authority (who tried what, when, holding which roles),
        of one case or all, oldest first. A refusal never changes the case."""
        return self.store.refusals(case_id)

    def _reschedule(self, case_id: str) -> Case:
        """Replace the timers of the case's running schedules, counted again from now (its
        customer's dates or time zone changed); a ``rescheduled`` history entry."""
        case = self.get(case_id)
        compiled = self.registry.get(case.workflow, case.version)
        now = max(self._writer.now(), case.updated_at)
        result = StepResult(
            trigger=None, source=case.state, target=case.state, data=dict(case.data)
        )
        updated = advanced(case, result, now)
        self._timers.keeper.amend(compiled, case.state, updated, result, rearm=True)
        entry = history_entry(
            updated, now, Event("care", "rescheduled", from_state=case.state), result
        )
        return self._writer.commit(self._writer.change(updated, case.revision, entry, result))

    def _record_message(
        self, case: Case, record: NewMessage, actor: str, now: datetime, details: Mapping[str, Any]
    ) -> Case:
        """Keep an inbound message on a case whose state does not take the reply trigger."""
        result = StepResult(
            trigger=None, source=case.state, target=case.state, data=dict(case.data)
        )
        updated = advanced(case, result, max(now, case.updated_at))
        event = Event(actor, "message", from_state=case.state, extra=details)
        entry = history_entry(updated, updated.updated_at, event, result)
        change = self._writer.change(updated, case.revision, entry, result, messages=(record,))
        return self._writer.commit(change)

    # -- timers -----------------------------------------------------------------------------------

    def advance(self, now: datetime | None = None, limit: int | None = None) -> AdvanceReport:
        """Fire every timer due at or before ``now`` (default: the clock's now), in due order.

        Due timers are claimed with a lease first (see ``timer_lease``). Each timer fires once, as
        its own unit of work (committed ``commit_batch`` at a time, each under a savepoint of
        its own, so a batch's firings become durable together), at its due time (so chains of timers
        replay correctly after downtime); the history entry records ``due_at``, when it actually
        fired (``fired_at``) and ``late_by_seconds``. Timers scheduled by a firing that are
        already due fire in the same call. Returns what was fired, in order (a list), with the
        timers whose firing raised in ``.retrying`` and ``.failed``: such a failure is contained
        to its case (nothing of that firing is written), retried with ``timer_retry``'s backoff
        and then parked as failed; the other cases' timers fire on time. With ``limit``, at
        most that many timers are claimed and tried (a worker's round), and the rest wait for
        the next call.
        """
        with span("advance") as current:
            fired = self._timers.advance(now, limit)
            current.set("timers_fired", len(fired))
            moment = as_utc(now) if now is not None else self._writer.now()
            self._journeys.deliver_pending(moment - SIGNAL_GRACE)
            return fired

    def failed_timers(self) -> list[Timer]:
        """Timers parked as failed, earliest due first, each with ``attempts`` and
        ``last_error`` (what the last firing raised)."""
        return self.store.failed_timers()

    def retry_timer(self, timer_id: int) -> Timer:
        """Release a failed timer (after fixing its cause: a plugin, a workflow, a template):
        it is due at once and fires on the next ``advance``. Returns it as it was parked;
        ``TimerNotFailed`` when no failed timer has this id."""
        return release_failed(self.store, timer_id)

    def retry_timers(self) -> list[Timer]:
        """Release every failed timer (see :meth:`retry_timer`); returns those released."""
        return release_failed_timers(self.store)

    def recompute_deadlines(self, workflow: str | None = None) -> int:
        """Recompute the deadlines of running SLA clocks (after a calendar file changed),
        keeping the business time each clock has used; returns how many cases moved. Each case
        is one unit of work with a ``sla_recomputed`` history entry."""
        return self._timers.recompute_deadlines(workflow)

    # -- versions ---------------------------------------------------------------------------------

    def migrate_cases(
        self,
        plan: str | Path | MigrationText | LoadedMigration,
        *,
        dry_run: bool = False,
        actor: str = "system",
    ) -> MigrationReport:
        """Move the running cases of a workflow version to another version, as a migration
        plan says (see ``docs/migrations.md``).

        The plan is checked against both versions first (``WorkflowDefinitionError`` with
        positions, nothing moved). Each case then moves in its own transaction with a
        ``migrated`` history entry by ``actor``, its timers planned again; a case that cannot
        move is listed in the report with the reason and left untouched. ``dry_run`` plans
        every move (states, SLA deadlines) and writes nothing.
        """
        migrator = CaseMigrator(self._writer, self.registry, self.store)
        return migrator.run(migrator.load(plan), dry_run=dry_run, actor=actor)

    # -- intake -----------------------------------------------------------------------------------

    def ingest(
        self,
        channel: str,
        raw: Any,
        *,
        workflow: str | None = None,
        actor: str | None = None,
    ) -> Intake:
        """Take an inbound message: parse it, find or start its case, fire the workflow's trigger.

        The channel's plugin parses ``raw``; a message seen before (same channel and message
        id) is answered with its case and nothing changes. The matcher plugins find an existing
        case (a case id in the message, then reply threading); the classifiers add kind,
        category and sentiment. On an open case the workflow's ``intake.reply`` trigger fires
        (when the state does not accept it, the message is still recorded on the case, kind
        ``message``); a reply to a case in a final state, or a message matching nothing, starts
        a case of ``workflow`` or of the first workflow whose ``intake.start`` lists the
        message's kind. The message is recorded in the same transaction as the case change.

        Raises ``MessageRejected`` when the payload cannot be parsed, no workflow takes it or
        its data is invalid; the payload and the reason are kept as a dead letter first. A
        conflict with another writer is retried (``INGEST_ATTEMPTS`` times) before the message
        is kept as a dead letter; a store fault (``StoreFull``, ``StoreBusy``, ``StoreFault``)
        reaches the caller only when even the dead letter could not be written.
        """
        with span("ingest", channel=channel, workflow=workflow) as current:
            taken = self._intake.ingest(channel, raw, workflow, actor)
            current.set("case", taken.case.id)
            current.set("outcome", taken.outcome)
            return taken

    def dead_letters(
        self, status: str | None = "open", *, after: int = 0, limit: int | None = 100
    ) -> list[DeadLetter]:
        """Inbound payloads ``ingest`` could not take (``open``), or all of them (``None``),
        one page at a time: at most ``limit`` with an id above ``after`` (pass the last id of
        a page to get the next; ``limit=None`` for all)."""
        return self.store.dead_letters(status, after=after, limit=limit)

    def purge_dead_letters(
        self, older_than: timedelta = DEAD_LETTER_RETENTION, now: datetime | None = None
    ) -> int:
        """Delete dead letters (open or replayed) received more than ``older_than`` (default
        30 days) before ``now`` (default: the clock's now); return how many. Run it on a
        schedule (``svcflow`` keeps no timer for it), e.g. daily from the host's scheduler."""
        return self.store.purge_dead_letters(as_utc(now or self.clock.now()) - older_than)

    def purge(
        self,
        older_than: timedelta | None = None,
        *,
        dead_letters_older_than: timedelta | None = DEAD_LETTER_RETENTION,
        now: datetime | None = None,
        dry_run: bool = False,
    ) -> PurgeReport:
        """Delete the closed cases kept long enough, with their history, timers, outbox rows,
        notifications and messages, and expire old dead letters; return what went.

        A case is closed when its state is final; it is due once its last event is older than
        ``older_than`` or, when that is None, than its workflow's ``retention: {closed_cases:}``
        (a workflow without one keeps its closed cases). Open cases are never deleted. Dead
        letters received more than ``dead_letters_older_than`` ago (default 30 days; None keeps
        them) are deleted too. ``dry_run`` counts and deletes nothing. Run it on a schedule.
        """
        at = as_utc(now or self.clock.now())
        due = closed_cases_due(self.store, self._final_states, self._retention, at, older_than)
        before = None if dead_letters_older_than is None else at - dead_letters_older_than
        if dry_run:
            letters = 0 if before is None else expired_dead_letters(self.store, before)
            return PurgeReport(cases=tuple(due), dead_letters=letters, dry_run=True)
        self.store.purge_cases(due)
        letters = 0 if before is None else self.store.purge_dead_letters(before)
        return PurgeReport(cases=tuple(due), dead_letters=letters, dry_run=False)

    def erase_customer(self, customer_id: str, *, actor: str = "system") -> ErasureReport:
        """Erase one customer's personal data (GDPR article 17, PIPL article 47) and return
        what changed; raise ``UnknownCustomer`` when there is no such customer.

        The customer's cases keep their states, times, SLA clocks and other fields, so the
        KPI report gives the same figures; what goes is listed in ``docs/data-lifecycle.md``
        (their messages, the customer's name and contact points, ``personal: true`` fields in
        case data and history, actors naming the customer's addresses, the payloads of the
        customer's dead letters). Each case moves one revision on, with an ``erased`` history
        entry by ``actor``. One transaction: a case changed meanwhile raises
        ``ConcurrencyConflict`` with nothing written; run it again. After the commit every
        plugin's ``svcflow_customer_erased`` is called; those that raised are named in the
        report's ``plugins_failed``.
        """
        customer = self.store.load_customer(customer_id)
        if customer is None:
            raise UnknownCustomer(customer_id)
        at = as_utc(self.clock.now())
        report = erase_customer(self.store, customer, self._personal_fields, at, actor)
        erasure = CustomerErasure(
            customer_id=customer.id,
            contact_points=tuple(customer.contact_points),
            cases=report.cases,
            at=at,
            marker=ERASED,
        )
        return report._replace(plugins_failed=self.plugins.customer_erased(erasure))

    def _personal_fields(self, workflow: str, version: int) -> frozenset[str]:
        spec = self.registry.get(workflow, version).spec
        return frozenset(name for name, field in spec.data.items() if field.personal)

    def _final_states(self, workflow: str, version: int) -> frozenset[str] | None:
        def lookup() -> frozenset[str]:
            spec = self.registry.get(workflow, version).spec
            return frozenset(name for name, state in spec.states.items() if state.final)

        return unknown_is_kept(lookup)

    def _retention(self, workflow: str) -> timedelta | None:
        current = self.registry.current.get(workflow)
        retention = None if current is None else current.spec.retention
        return None if retention is None else retention.closed_cases

    def replay_dead_letter(self, dead_letter_id: int, *, workflow: str | None = None) -> Intake:
        """Ingest a dead letter again (after fixing its cause: a plugin, a workflow); on
        success it is marked ``replayed`` with its case. A failure raises ``MessageRejected``
        and leaves it open."""
        return self._intake.replay_dead_letter(dead_letter_id, workflow)

    # -- the outbox -------------------------------------------------------------------------------

    def dispatch(self, now: datetime | None = None, limit: int | None = None) -> DispatchReport:
        """Deliver the outbox entries due by ``now`` through the delivery plugins (see
        :class:`~svcflow.messaging.outbox.Dispatcher`): delivered, retried with backoff, or dead."""
        with span("dispatch") as current:
            report = self.dispatcher.dispatch(now, limit)
            current.set("delivered", len(report.delivered))
            current.set("retrying", len(report.retrying))
            current.set("dead", len(report.dead))
            return report

    def retry_delivery(self, entry_id: int) -> OutboxEntry:
        """Give a dead outbox entry another go once its cause is fixed (a template, a
        receiver): an entry whose template failed is rendered again from the case as it is
        now; then it is pending, due now, with its attempts reset, and the next ``dispatch``
        delivers it. If the template still fails the entry stays dead with the new reason.
        Returns the entry as it is now; ``DeliveryNotDead`` when no dead entry has this id."""
        dead = {entry.id: entry for entry in self.store.outbox(status="dead")}
        entry = dead.get(entry_id)
        if entry is None:
            raise DeliveryNotDead(entry_id, sorted(dead))
        now = self._writer.now()
        if (entry.last_error or "").startswith("template failed"):
            try:
                words = self.notifier.render_again(self.get(entry.case_id), entry, now)
            except TemplateError as error:
                reason = f"template failed: {error}"
                self.store.record_attempt(entry.id, "dead", entry.attempts, now, error=reason)
                return self._entry(entry)
            self.store.rewrite_delivery(entry.id, words.subject, words.body, words.locale)
        self.store.record_attempt(entry.id, "pending", 0, now, now, entry.last_error)
        return self._entry(entry)

    def _entry(self, entry: OutboxEntry) -> OutboxEntry:
        return next(e for e in self.store.outbox(case_id=entry.case_id) if e.id == entry.id)

    def outbox(self, case_id: str | None = None, status: str | None = None) -> list[OutboxEntry]:
        """Rendered notifications per recipient and their delivery state (``pending``,
        ``delivered``, ``dead``), in the order they were queued."""
        return self.store.outbox(case_id=case_id, status=status)

    # -- reads ------------------------------------------------------------------------------------

    def _sla_policy(self, case: Case) -> SlaPolicy | None:
        """The SLA section of the case's workflow version (templates read its targets)."""
        return self.registry.get(case.workflow, case.version).sla

    @property
    def counters(self) -> EngineCounters:
        """Events, SLA warnings and breaches this engine committed since it started (what
        :func:`svcflow.engine.metrics.serve_metrics` exposes to Prometheus)."""
        return self._writer.counters

    def sla(self, case_id: str) -> list[SlaStatus]:
        """Each SLA metric of the case that has started: status (running, paused, met,
        breached, cancelled), target, business time used and remaining, deadline, warnings."""
        case = self.get(case_id)
        compiled = self.registry.get(case.workflow, case.version)
        if compiled.sla is None:
            return []
        return sla_report(compiled.sla, case.sla, self._writer.now())

    def escalations(self, case_id: str) -> dict[str, Chain]:
        """The state of each escalation chain the case has started, by name."""
        case = self.get(case_id)
        return {
            name: Chain.from_json(chain) for name, chain in case.sla.get("escalations", {}).items()
        }

    def get(self, case_id: str) -> Case:
        """The case as last committed; ``CaseNotFound`` if there is none."""
        return self._writer.get(case_id)

    def history(self, case_id: str) -> list[HistoryEntry]:
        """Every committed event of the case, oldest first."""
        self.get(case_id)
        return self.store.history(case_id)

    def triggers(self, case_id: str, actor: str | None = None) -> list[str]:
        """The triggers that may fire now: a transition leaves the state and its condition
        holds; given ``actor``, only those this person may fire (``by:``/``not_by:``)."""
        case = self.get(case_id)
        compiled = self.registry.get(case.workflow, case.version)
        who = None if actor is None else self.actor(actor)
        return compiled.allowed_triggers(case.state, case.data, self._writer.now(), who)

    def find(
        self,
        workflow: str | None = None,
        state: str | None = None,
        *,
        customer: str | Customer | None = None,
        assignee: str | None = None,
        queue: str | None = None,
        sla: str | None = None,
        within: timedelta | str = AT_RISK_WITHIN,
        updated_since: datetime | None = None,
        limit: int | None = None,
        after: str | None = None,
    ) -> CasePage:
        """The cases every given filter holds for, oldest first, one page at a time.

        ``customer`` owns the case; ``assignee`` and ``queue`` are the case data fields of
        those names. ``sla``: ``running`` (an SLA clock runs, not breached), ``at_risk`` (a
        running deadline falls within ``within`` of now, 30 minutes by default, or has passed
        with the breach not yet recorded) or ``breached`` (a running or paused clock breached).
        ``updated_since``: last event at or after it. At most ``limit`` cases (None: all)
        after the cursor ``after``; the page (a list) has ``next``, the cursor of the next
        page, or None. Every filter is served by an index: only the page's cases are read.
        ``InvalidQuery`` names a filter that cannot be answered.
        """
        query = case_query(
            self._writer.now(),
            workflow=workflow,
            state=state,
            customer=customer,
            assignee=assignee,
            queue=queue,
            sla=sla,
            within=within,
            updated_since=updated_since,
        )
        return self.store.find(query, after=after, limit=limit)

    def count(
        self,
        workflow: str | None = None,
        state: str | None = None,
        *,
        customer: str | Customer | None = None,
        assignee: str | None = None,
        queue: str | None = None,
        sla: str | None = None,
        within: timedelta | str = AT_RISK_WITHIN,
        updated_since: datetime | None = None,
    ) -> int:
        """How many cases :meth:`find` with the same filters finds (no case is decoded)."""
        query = case_query(
            self._writer.now(),
            workflow=workflow,
            state=state,
            customer=customer,
            assignee=assignee,
            queue=queue,
            sla=sla,
            within=within,
            updated_since=updated_since,
        )
        return self.store.count(query)

    def at_risk(
        self,
        within: timedelta | str = AT_RISK_WITHIN,
        *,
        workflow: str | None = None,
        assignee: str | None = None,
        queue: str | None = None,
        limit: int | None = 100,
        after: str | None = None,
    ) -> CasePage:
        """An SLA board: the cases whose earliest running SLA deadline falls within
        ``within`` of now (or has passed, the breach not yet recorded), soonest deadline
        first, one page (``limit``, cursor ``after``) at a time. :meth:`sla` tells which
        metric and how much time remains."""
        query = case_query(
            self._writer.now(),
            workflow=workflow,
            assignee=assignee,
            queue=queue,
            sla="at_risk",
            within=within,
            by_deadline=True,
        )
        return self.store.find(query, after=after, limit=limit)

    def timers(self, case_id: str) -> list[Timer]:
        """The case's timers, earliest first: pending, ``retrying`` after a failed firing, or
        parked as ``failed`` (see :meth:`failed_timers`)."""
        return self.store.timers(case_id)

    def notifications(
        self, case_id: str | None = None, status: str | None = None
    ) -> list[Notification]:
        """Queued notifications (the outbox), optionally of one case or status."""
        return self.store.notifications(case_id=case_id, status=status)

    def _case_messages(self, case_id: str) -> list[Mapping[str, Any]]:
        """A case's inbound messages, including the one being committed with this change (so
        a case started from a message can answer its sender at once)."""
        pending, new = self._writer.committing()
        if new:  # (nothing stored for it yet: no read)
            return [m.message for m in pending]
        stored = self.store.case_messages(case_id)
        return [*stored, *(m.message for m in pending)] if pending else list(stored)


def _calendars_by_id(
    calendars: Iterable[BusinessCalendar] | Mapping[str, BusinessCalendar],
) -> dict[str, BusinessCalendar]:
    if isinstance(calendars, Mapping):
        return dict(calendars)
    return {calendar.id: calendar for calendar in calendars}


def _renderer(
    workflows: Iterable[LoadedWorkflow],
    templates: str | Path | Iterable[str | Path] | None,
    default_locale: str,
    limits: TemplateLimits,
) -> TemplateRenderer:
    """The templates folders' renderer, once every template the workflows name is found."""
    folders = [templates] if isinstance(templates, str | Path) else list(templates or ())
    renderer = TemplateRenderer(folders, default_locale, limits)
    _check_templates(workflows, renderer)
    return renderer


def _check_templates(workflows: Iterable[LoadedWorkflow], renderer: TemplateRenderer) -> None:
    """Every template a workflow names must exist (see ``template_problems``)."""
    problems = template_problems(workflows, renderer)
    if problems:
        raise WorkflowDefinitionError(problems)
