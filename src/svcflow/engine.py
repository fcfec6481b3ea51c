"""The :class:`Engine`: the small API a host application embeds.

The engine orchestrates; it holds no case state of its own. Each ``start``, ``fire`` and due
timer is one unit of work: read the case, let the workflow's compiled machine decide (pure), then
commit the case, its history entry, timer changes, queued notifications and the idempotency
record in one store transaction. A retried event with the same idempotency key is answered with
the first result; a stale writer gets ``ConcurrencyConflict``; a disallowed trigger leaves the
case untouched.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import MappingProxyType, TracebackType
from typing import Any

from svcflow.calendar import BusinessCalendar
from svcflow.classify import KeywordClassifier
from svcflow.clock import Clock, SystemClock, as_utc
from svcflow.definitions import load_definitions
from svcflow.directory import Directory, DirectoryEntry
from svcflow.effects import StepResult
from svcflow.errors import (
    CaseDataError,
    CaseNotFound,
    ConcurrencyConflict,
    ExpressionError,
    IdempotencyKeyReused,
    MessageParseError,
    MessageRejected,
    PluginError,
    Problem,
    TransitionNotAllowed,
    UnknownChannel,
    WorkflowDefinitionError,
)
from svcflow.escalation import Chain
from svcflow.intake import (
    Intake,
    StoreLookup,
    dead_letter_text,
    intake_values,
    payload_of,
    restore_raw,
)
from svcflow.machine import CompiledWorkflow
from svcflow.matching import ThreadMatcher
from svcflow.messages import InboundMessage
from svcflow.notifier import Notifier
from svcflow.outbox import Dispatcher, DispatchReport, RetryPolicy
from svcflow.pluginhost import PluginHost
from svcflow.records import (
    NO_DETAILS,
    Case,
    DeadLetter,
    HistoryEntry,
    Notification,
    OutboxEntry,
    Timer,
    plain,
)
from svcflow.registry import WorkflowRegistry
from svcflow.slastatus import SlaStatus, sla_report
from svcflow.spec.extensions import using_extensions
from svcflow.spec.loader import LoadedWorkflow
from svcflow.spec.walk import referenced_templates
from svcflow.spec.yamlsource import format_key_path
from svcflow.store.base import (
    CaseChange,
    DuplicateMessage,
    IdempotencyRecord,
    IdempotentReplay,
    NewDelivery,
    NewMessage,
    NewNotification,
    NewTimer,
    Store,
    TimerGone,
    open_store,
)
from svcflow.templates import TemplateRenderer

__all__ = ["DIRECTORY_PLUGIN", "Engine", "TimerFiring", "build_plugin_host"]

_TIMER_BATCH = 256
_TIMER_RETRIES = 5


@dataclass(frozen=True, slots=True)
class TimerFiring:
    """What ``advance`` did with one due timer: the history entry it wrote."""

    timer: Timer
    entry: HistoryEntry

    @property
    def late_by(self) -> timedelta:
        return timedelta(seconds=float(self.entry.details.get("late_by_seconds", 0.0)))


class Engine:
    """Runs cases of loaded workflows against a store, on an injected clock.

    Build one with :meth:`from_directory`; it is safe to share between threads. Close it (or use
    it as a context manager) to release the store. ``timer_lease`` is how long this engine holds
    the due timers it claims in ``advance``: several engines (or processes) advancing one store
    share the due timers, and the timers of one that dies are claimed by another once its lease
    runs out.
    """

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
        templates: str | Path | Iterable[str | Path] | None = None,
        default_locale: str = "en",
        retry: RetryPolicy | None = None,
    ) -> None:
        self.store: Store = open_store(store) if isinstance(store, str) else store
        self.clock: Clock = clock or SystemClock()
        by_id = (
            dict(calendars)
            if isinstance(calendars, Mapping)
            else {calendar.id: calendar for calendar in calendars}
        )
        self.plugins = plugin_host or build_plugin_host(
            plugins, load_plugins=load_plugins, plugins_dir=plugins_dir, directory=directory
        )
        self._committing: ContextVar[tuple[NewMessage, ...]] = ContextVar(
            "svcflow_committing_messages", default=()
        )
        found = self.plugins.get(DIRECTORY_PLUGIN)
        if isinstance(found, Directory):
            found.attach(self._case_messages, self.plugins.outbound_channels)
        workflows = list(workflows)
        self.registry = WorkflowRegistry(workflows, self.store, by_id, self.plugins.extensions())
        self.store.attach_codec(self.registry)
        folders = [templates] if isinstance(templates, str | Path) else list(templates or ())
        self.templates = TemplateRenderer(folders, default_locale)
        _check_templates(workflows, self.templates)
        self.notifier = Notifier(self.plugins, self.templates)
        self.dispatcher = Dispatcher(self.store, self.plugins, self.clock, retry=retry)
        self._new_id = id_factory or (lambda: uuid.uuid4().hex)
        self.timer_lease = timer_lease
        self.runner_id = f"engine-{uuid.uuid4().hex[:12]}"

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
    ) -> Case:
        """Start a case of the newest version of ``workflow`` with ``data``; return it.

        The data is validated against the workflow's ``data`` (``CaseDataError`` lists every
        problem); the initial state's ``on_enter`` actions run.
        """
        return self._start(workflow, data, actor, idempotency_key)

    def _start(
        self,
        workflow: str,
        data: Mapping[str, Any] | None,
        actor: str,
        idempotency_key: str | None,
        messages: tuple[NewMessage, ...] = (),
    ) -> Case:
        compiled = self.registry.newest(workflow)
        scope = f"start:{workflow}"
        if idempotency_key is not None:
            replayed = self._replayed(idempotency_key, scope)
            if replayed is not None:
                return replayed
        now = self._now()
        case_id = self._new_id()
        result = compiled.start(data, now, case_id)
        case = Case(
            case_id,
            compiled.workflow,
            compiled.version,
            result.target,
            MappingProxyType(result.data),
            1,
            now,
            now,
            MappingProxyType(result.service) if result.service else NO_DETAILS,
        )
        given = {name: plain(result.data[name]) for name in data} if data else None
        entry = self._entry(case, now, actor, "started", None, None, result, given)
        change = self._change(case, None, entry, result, idempotency_key, scope, messages=messages)
        return self._commit(change)

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
        ``UnknownTrigger``/``ConditionNotMet``) naming the triggers allowed now; in every error
        case nothing is written.
        """
        return self._fire(case_id, trigger, payload, actor, idempotency_key, expected_revision)

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
        scope = ""
        if idempotency_key is not None:
            scope = f"fire:{case_id}:{trigger}"
            replayed = self._replayed(idempotency_key, scope)
            if replayed is not None:
                return replayed
        case = self.get(case_id)
        if expected_revision is not None and case.revision != expected_revision:
            raise ConcurrencyConflict(case_id, expected_revision, case.revision)
        compiled = self.registry.get(case.workflow, case.version)
        now = self._now()
        if _service_due(case, now):
            case = self._catch_up(case, now)
        if now < case.updated_at:
            now = case.updated_at
        result = compiled.step(case.id, case.state, case.data, trigger, payload, now, case.sla)
        updated = self._advanced(case, result, now)
        given = plain(result.payload) if payload else None
        entry = self._entry(updated, now, actor, "transition", trigger, case.state, result, given)
        change = self._change(
            updated, case.revision, entry, result, idempotency_key, scope, messages=messages
        )
        return self._commit(change)

    def advance(self, now: datetime | None = None) -> list[TimerFiring]:
        """Fire every timer due at or before ``now`` (default: the clock's now), in due order.

        Due timers are claimed with a lease first (see ``timer_lease``). Each timer fires once, as
        its own unit of work, at its due time (so chains of timers
        replay correctly after downtime); the history entry records ``due_at``, when it actually
        fired (``fired_at``) and ``late_by_seconds``. Timers scheduled by a firing that are
        already due fire in the same call. Returns what was fired, in order.
        """
        horizon = as_utc(now or self.clock.now())
        fired: list[TimerFiring] = []
        while True:
            lease_until = self._now() + self.timer_lease
            batch = self.store.claim_due_timers(horizon, _TIMER_BATCH, self.runner_id, lease_until)
            if not batch:
                return fired
            progressed = False
            for position, timer in enumerate(batch):
                outcome = self._fire_timer(timer)
                if outcome is None:
                    continue
                progressed = True
                firing, scheduled = outcome
                fired.append(firing)
                following = batch[position + 1] if position + 1 < len(batch) else None
                if following is not None and any(due < following.due_at for due in scheduled):
                    break  # a new timer is due before the rest of this batch: re-read in order
            if not progressed:
                return fired  # every timer read was taken by another runner meanwhile

    def _catch_up(self, case: Case, now: datetime) -> Case:
        """Fire the case's overdue timers before an event, so that an SLA warning or breach
        (or escalation) that fell due while no runner was advancing happens before the event
        that follows it, exactly once, at its due time."""
        for _ in range(_TIMER_BATCH):  # a firing may schedule a timer that is overdue too
            due = [timer for timer in self.store.timers(case.id) if timer.due_at <= now]
            if not due or self._fire_timer(due[0]) is None:
                break
        return self.get(case.id)

    def recompute_deadlines(self, workflow: str | None = None) -> int:
        """Recompute the deadlines of running SLA clocks (after a calendar file changed),
        keeping the business time each clock has used; returns how many cases moved. Each case
        is one unit of work with a ``sla_recomputed`` history entry."""
        moved = 0
        now = self._now()
        for case in self.store.find_cases(workflow=workflow):
            for _ in range(_TIMER_RETRIES):
                current = self.store.load_case(case.id)
                if current is None or not current.sla:
                    break
                compiled = self.registry.get(current.workflow, current.version)
                at = max(now, current.updated_at)
                result = compiled.recompute_deadlines(current.state, current.data, current.sla, at)
                if result is None:
                    break
                updated = self._advanced(current, result, at)
                entry = self._entry(
                    updated, at, "system", "sla_recomputed", None, current.state, result
                )
                change = self._change(updated, current.revision, entry, result, None, "")
                try:
                    self.store.commit(change)
                except ConcurrencyConflict:
                    continue
                self._committed(change)
                moved += 1
                break
        return moved

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
        its data is invalid; the payload and the reason are kept as a dead letter first.
        """
        return self._ingest(channel, raw, workflow, actor, keep_dead_letter=True)

    def _ingest(
        self,
        channel: str,
        raw: Any,
        workflow: str | None,
        actor: str | None,
        *,
        keep_dead_letter: bool,
    ) -> Intake:
        now = self._now()

        def reject(reason: str) -> MessageRejected:
            if not keep_dead_letter:
                return MessageRejected(channel, reason, 0)
            text, encoding = dead_letter_text(raw)
            letter = self.store.add_dead_letter(channel, text, encoding, reason, now)
            return MessageRejected(channel, reason, letter)

        try:
            message = self.plugins.parse(channel, raw)
        except (MessageParseError, UnknownChannel) as error:
            raise reject(str(error)) from None
        except Exception as error:
            raise reject(f"the channel plugin failed: {type(error).__name__}: {error}") from error
        earlier = self.store.message_case(channel, message.message_id)
        if earlier is not None:
            return Intake(self.get(earlier), message, "duplicate")
        lookup = StoreLookup(self.store, self.registry)
        try:
            matched = self.plugins.match_case(message, lookup)
            message = self.plugins.classify(message)
        except Exception as error:
            raise reject(f"a plugin failed: {type(error).__name__}: {error}") from error
        record = NewMessage(
            channel,
            message.message_id,
            message.sender,
            tuple(dict.fromkeys((message.message_id, *message.thread_refs))),
            message.received_at or now,
            plain(message.as_variables()),
        )
        who = actor or f"{channel}:{message.sender}"
        try:
            if matched is not None:
                answered = self._answer(matched, message, record, who, now, reject)
                if answered is not None:
                    return answered
            return self._open_case(message, record, workflow, who, reject)
        except DuplicateMessage as duplicate:  # the same message, ingested concurrently
            return Intake(self.get(duplicate.case_id), message, "duplicate")

    def _answer(
        self,
        case_id: str,
        message: InboundMessage,
        record: NewMessage,
        actor: str,
        now: datetime,
        reject: Callable[[str], MessageRejected],
    ) -> Intake | None:
        """A message on an existing case: its reply trigger, or recorded as is; None when the
        case is closed and the workflow cannot take the message there (a new case starts)."""
        case = self.get(case_id)
        compiled = self.registry.get(case.workflow, case.version)
        intake = compiled.loaded.spec.intake
        reason = "the workflow has no intake.reply trigger"
        if intake is not None and intake.reply is not None:
            try:
                payload = payload_of(compiled.loaded, "payload", message, now)
                updated = self._fire(case.id, intake.reply, payload, actor, messages=(record,))
            except TransitionNotAllowed as refused:
                reason = str(refused)
            except (CaseDataError, ExpressionError, PluginError) as error:
                raise reject(f"cannot fire '{intake.reply}' on case {case.id}: {error}") from None
            else:
                return Intake(updated, message, "replied", intake.reply)
        if compiled.spec.states[case.state].final:
            return None
        result = StepResult(None, case.state, case.state, dict(case.data))
        updated = self._advanced(case, result, max(now, case.updated_at))
        entry = self._entry(
            updated,
            updated.updated_at,
            actor,
            "message",
            None,
            case.state,
            result,
            extra={"channel": message.channel, "message_id": message.message_id, "note": reason},
        )
        change = self._change(updated, case.revision, entry, result, None, "", messages=(record,))
        return Intake(self._commit(change), message, "recorded")

    def _open_case(
        self,
        message: InboundMessage,
        record: NewMessage,
        workflow: str | None,
        actor: str,
        reject: Callable[[str], MessageRejected],
    ) -> Intake:
        chosen = workflow or next(
            (
                name
                for name, compiled in sorted(self.registry.current.items())
                if compiled.spec.intake is not None and message.kind in compiled.spec.intake.start
            ),
            None,
        )
        if chosen is None:
            takers = sorted(
                f"{name} ({', '.join(c.spec.intake.start) or 'none'})"
                for name, c in self.registry.current.items()
                if c.spec.intake is not None
            )
            raise reject(
                f"no workflow starts cases from '{message.kind}' messages; workflows and the "
                f"kinds they start from: {', '.join(takers) or '(none declares intake)'}"
            )
        compiled = self.registry.newest(chosen)
        try:
            data = intake_values(compiled, message, self.plugins, record.received_at)
            case = self._start(chosen, data, actor, None, messages=(record,))
        except (CaseDataError, ExpressionError, PluginError) as error:
            raise reject(f"cannot start a '{chosen}' case from the message: {error}") from None
        return Intake(case, message, "started")

    def dead_letters(self, status: str | None = "open") -> list[DeadLetter]:
        """Inbound payloads ``ingest`` could not take (``open``), or all of them (``None``)."""
        return self.store.dead_letters(status)

    def replay_dead_letter(self, dead_letter_id: int, *, workflow: str | None = None) -> Intake:
        """Ingest a dead letter again (after fixing its cause: a plugin, a workflow); on
        success it is marked ``replayed`` with its case. A failure raises ``MessageRejected``
        and leaves it open."""
        letter = next((d for d in self.store.dead_letters() if d.id == dead_letter_id), None)
        if letter is None:
            raise MessageRejected("?", f"there is no dead letter #{dead_letter_id}", 0)
        raw = restore_raw(letter.raw, letter.encoding)
        try:
            taken = self._ingest(letter.channel, raw, workflow, None, keep_dead_letter=False)
        except MessageRejected as again:
            raise MessageRejected(letter.channel, again.reason, letter.id) from None
        self.store.close_dead_letter(letter.id, taken.case.id)
        return taken

    # -- the outbox -------------------------------------------------------------------------------

    def dispatch(self, now: datetime | None = None, limit: int | None = None) -> DispatchReport:
        """Deliver the outbox entries due by ``now`` through the delivery plugins (see
        :class:`~svcflow.outbox.Dispatcher`): delivered, retried with backoff, or dead."""
        return self.dispatcher.dispatch(now, limit)

    def outbox(self, case_id: str | None = None, status: str | None = None) -> list[OutboxEntry]:
        """Rendered notifications per recipient and their delivery state (``pending``,
        ``delivered``, ``dead``), in the order they were queued."""
        return self.store.outbox(case_id=case_id, status=status)

    # -- reads ------------------------------------------------------------------------------------

    def sla(self, case_id: str) -> list[SlaStatus]:
        """Each SLA metric of the case that has started: status (running, paused, met,
        breached, cancelled), target, business time used and remaining, deadline, warnings."""
        case = self.get(case_id)
        compiled = self.registry.get(case.workflow, case.version)
        if compiled.sla is None:
            return []
        return sla_report(compiled.sla, case.sla, self._now())

    def escalations(self, case_id: str) -> dict[str, Chain]:
        """The state of each escalation chain the case has started, by name."""
        case = self.get(case_id)
        return {
            name: Chain.from_json(chain) for name, chain in case.sla.get("escalations", {}).items()
        }

    def get(self, case_id: str) -> Case:
        """The case as last committed; ``CaseNotFound`` if there is none."""
        case = self.store.load_case(case_id)
        if case is None:
            raise CaseNotFound(case_id)
        return case

    def history(self, case_id: str) -> list[HistoryEntry]:
        """Every committed event of the case, oldest first."""
        self.get(case_id)
        return self.store.history(case_id)

    def triggers(self, case_id: str) -> list[str]:
        """The triggers that may fire now: a transition leaves the state and its condition holds."""
        case = self.get(case_id)
        compiled = self.registry.get(case.workflow, case.version)
        return compiled.allowed_triggers(case.state, case.data, self._now())

    def find(self, workflow: str | None = None, state: str | None = None) -> list[Case]:
        """Cases of a workflow and/or in a state, oldest first."""
        return self.store.find_cases(workflow=workflow, state=state)

    def timers(self, case_id: str) -> list[Timer]:
        """The case's pending timers, earliest first."""
        return self.store.timers(case_id)

    def notifications(
        self, case_id: str | None = None, status: str | None = None
    ) -> list[Notification]:
        """Queued notifications (the outbox), optionally of one case or status."""
        return self.store.notifications(case_id=case_id, status=status)

    # -- units of work ----------------------------------------------------------------------------

    def _replayed(self, key: str, scope: str) -> Case | None:
        record = self.store.idempotency(key)
        return None if record is None else _first_result(record, scope)

    def _commit(self, change: CaseChange) -> Case:
        try:
            self.store.commit(change)
        except IdempotentReplay as replay:  # the same key committed meanwhile (a racing retry)
            return _first_result(replay.record, change.idempotency_scope or "")
        self._committed(change)
        return change.case

    def _committed(self, change: CaseChange) -> None:
        """After a commit: tell listener plugins (their failures are logged, never raised)."""
        if self.plugins.has_listeners():
            self.plugins.case_changed(change.case, change.history)

    @staticmethod
    def _advanced(case: Case, result: StepResult, now: datetime) -> Case:
        data = MappingProxyType(result.data) if result.changed else case.data
        service = case.sla if result.service is None else MappingProxyType(result.service)
        return Case(
            case.id,
            case.workflow,
            case.version,
            result.target,
            data,
            case.revision + 1,
            case.created_at,
            now,
            service,
        )

    def _case_messages(self, case_id: str) -> list[Mapping[str, Any]]:
        """A case's inbound messages, including the one being committed with this change (so
        a case started from a message can answer its sender at once)."""
        return [*self.store.case_messages(case_id), *(m.message for m in self._committing.get())]

    def _now(self) -> datetime:
        moment = self.clock.now()
        return moment if moment.tzinfo is UTC else as_utc(moment)

    @staticmethod
    def _entry(
        case: Case,
        at: datetime,
        actor: str,
        kind: str,
        trigger: str | None,
        from_state: str | None,
        result: StepResult,
        payload: Any = None,
        extra: Mapping[str, Any] | None = None,
    ) -> HistoryEntry:
        details: dict[str, Any] = {}
        if result.changed and kind != "started":
            details["set"] = plain(result.changed)
        elif result.changed:
            given = payload if isinstance(payload, Mapping) else {}
            derived = {
                name: value
                for name, value in plain(result.changed).items()
                if value is not None and given.get(name) != value
            }
            if derived:
                details["set"] = derived  # defaults and on_enter values: history alone tells all
        if result.timers:
            details["timers"] = [
                {"trigger": t.trigger, "due_at": t.due_at.isoformat(), "keep": t.keep}
                for t in result.timers
            ]
        if result.left_state is not None:
            details["left"] = result.left_state
        replaced = {t.trigger for t in result.timers}
        cancelled = [t for t in dict.fromkeys(result.cancel_triggers) if t not in replaced]
        if cancelled:
            details["cancelled"] = cancelled
        if result.notifications:
            details["notifications"] = [
                {"template": n.template, "to": list(n.recipients)} for n in result.notifications
            ]
        if result.notes:
            details["notes"] = list(result.notes)
        if result.service_events:
            details["sla"] = list(result.service_events)
        if extra:
            details.update(extra)
        return HistoryEntry(
            case.id,
            case.revision,
            at,
            actor,
            kind,
            trigger,
            from_state,
            case.state,
            payload,
            case.version,
            details or NO_DETAILS,
        )

    def _change(
        self,
        case: Case,
        expected_revision: int | None,
        entry: HistoryEntry,
        result: StepResult,
        idempotency_key: str | None,
        scope: str,
        consume_timer: int | None = None,
        messages: tuple[NewMessage, ...] = (),
    ) -> CaseChange:
        timers = (
            [NewTimer(t.trigger, t.due_at, case.state, t.keep) for t in result.timers]
            if result.timers
            else ()
        )
        notifications = (
            [
                NewNotification(
                    f"{case.id}:{case.revision}:{index}",
                    n.template,
                    n.recipients,
                    n.channel,
                    n.urgent,
                    deliver_after=n.hold_until,
                )
                for index, n in enumerate(result.notifications, start=1)
            ]
            if result.notifications
            else ()
        )
        deliveries: list[NewDelivery] = []
        token = self._committing.set(messages)
        try:
            for notification, request in zip(notifications, result.notifications, strict=True):
                deliveries.extend(
                    self.notifier.deliveries(case, notification.key, request, case.updated_at)
                )
        finally:
            self._committing.reset(token)
        return CaseChange(
            case,
            expected_revision,
            entry,
            timers,
            result.left_state,
            result.cancel_triggers,
            consume_timer,
            notifications,
            idempotency_key,
            scope if idempotency_key else None,
            deliveries,
            messages,
        )

    def _fire_timer(self, timer: Timer) -> tuple[TimerFiring, list[datetime]] | None:
        for _ in range(_TIMER_RETRIES):
            case = self.store.load_case(timer.case_id)
            if case is None:
                return None
            compiled = self.registry.get(case.workflow, case.version)
            at = max(timer.due_at, case.updated_at)
            fired_at = self._now()
            timing = {
                "due_at": timer.due_at.isoformat(),
                "fired_at": fired_at.isoformat(),
                "late_by_seconds": max(0.0, (fired_at - timer.due_at).total_seconds()),
            }
            try:
                if is_service_trigger(timer.trigger):
                    kind = "sla" if timer.trigger.startswith("sla:") else "escalation"
                    service = compiled.service_timer(
                        case.id, case.state, case.data, case.sla, timer.trigger, timer.due_at, at
                    )
                    if service is None:
                        raise StaleServiceTimer(timer.trigger)
                    result = service
                else:
                    result = compiled.step(
                        case.id, case.state, case.data, timer.trigger, None, at, case.sla
                    )
                    kind = "timer"
            except (
                TransitionNotAllowed,
                ExpressionError,
                CaseDataError,
                StaleServiceTimer,
            ) as error:
                result = StepResult(timer.trigger, case.state, case.state, dict(case.data))
                kind = "timer_ignored"
                timing = {**timing, "reason": str(error)}
            updated = self._advanced(case, result, at)
            entry = self._entry(
                updated,
                at,
                "timer",
                kind,
                timer.trigger,
                case.state,
                result,
                extra=timing,
            )
            change = self._change(
                updated, case.revision, entry, result, None, "", consume_timer=timer.id
            )
            try:
                self.store.commit(change)
            except TimerGone:
                return None
            except ConcurrencyConflict:
                continue
            self._committed(change)
            return TimerFiring(timer, entry), [t.due_at for t in result.timers]
        return None


DIRECTORY_PLUGIN = "svcflow.directory"


def build_plugin_host(
    plugins: Iterable[object | tuple[str, object]] = (),
    *,
    load_plugins: bool = True,
    plugins_dir: str | Path | None = None,
    directory: Mapping[str, DirectoryEntry | Iterable[DirectoryEntry]] | None = None,
) -> PluginHost:
    """The plugin host an engine uses: svcflow's built-ins (the six channels, the thread
    matcher, the keyword classifier, the directory of roles), installed plugins (unless
    ``load_plugins`` is false), a plugins directory and the host's own ``plugins``."""
    from svcflow.channels import BUILTIN_CHANNELS

    builtins: list[tuple[str, object]] = [(name, kind()) for name, kind in BUILTIN_CHANNELS]
    builtins += [
        ("svcflow.matcher", ThreadMatcher()),
        ("svcflow.classifier", KeywordClassifier()),
        (DIRECTORY_PLUGIN, Directory(directory or {})),
    ]
    return PluginHost(
        plugins, builtins=builtins, entry_points=load_plugins, plugins_dir=plugins_dir
    )


def _check_templates(workflows: Iterable[LoadedWorkflow], renderer: TemplateRenderer) -> None:
    """Every template a workflow names must exist (in the default locale) when the engine has
    a templates folder; reported with the position of the reference."""
    if not renderer.strict:
        return
    references = [
        (loaded, template, path)
        for loaded in workflows
        for template, path in referenced_templates(loaded.spec)
    ]
    missing = set(renderer.missing(template for _, template, _ in references))
    problems = []
    for loaded, template, path in references:
        if template not in missing:
            continue
        line, column = loaded.source_map.position(path)
        problems.append(
            Problem(
                loaded.file,
                line,
                column,
                format_key_path(path),
                f"no template '{template}' in "
                + ", ".join(str(d / renderer.default_locale) for d in renderer.directories)
                + f"; write {renderer.default_locale}/{template}.j2 there",
            )
        )
    if problems:
        raise WorkflowDefinitionError(problems)


class StaleServiceTimer(Exception):
    """An SLA or escalation timer whose clock moved on (normally cancelled in the same unit of
    work that moved it; kept as a guard)."""

    def __str__(self) -> str:
        return f"the SLA/escalation timer {self.args[0]} no longer applies"


def is_service_trigger(trigger: str) -> bool:
    return trigger.startswith(("sla:", "esc:"))


def _service_due(case: Case, now: datetime) -> bool:
    """Whether an SLA clock or escalation chain of the case has a moment due by ``now``."""
    if not case.sla:
        return False
    for group in case.sla.values():
        for state in group.values():
            due = state.get("next_due")
            if due is not None and datetime.fromisoformat(due) <= now:
                return True
    return False


def _first_result(record: IdempotencyRecord, scope: str) -> Case:
    """The first result of an idempotent event, unless the key was used for another event."""
    if record.scope != scope:
        raise IdempotencyKeyReused(
            record.key, _describe_scope(record.scope), _describe_scope(scope)
        )
    return record.case


def _describe_scope(scope: str) -> str:
    kind, _, rest = scope.partition(":")
    if kind == "start":
        return f"starting a '{rest}' case"
    case_id, _, trigger = rest.partition(":")
    return f"trigger '{trigger}' on case {case_id}"
