"""The svcflow error hierarchy.

Every error a caller can see derives from :class:`SvcflowError`, so an embedding application can
catch one type. Each error keeps its context as attributes (the case, the state, the trigger, the
problems) so callers never have to parse a message; ``str(error)`` is the text a person reads and
says what was wrong, where, and what would be valid.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = [
    "CaseAlreadyOpen",
    "CaseDataError",
    "CaseNotFound",
    "ConcurrencyConflict",
    "ConditionNotMet",
    "ContactPointTaken",
    "CustomerRequired",
    "DeadLetterErased",
    "DeliveryFailed",
    "DeliveryNotDead",
    "DiagramUnavailable",
    "ExpressionError",
    "FieldsNotReadable",
    "IdempotencyKeyReused",
    "InvalidCursor",
    "InvalidCustomer",
    "InvalidQuery",
    "MessageHeld",
    "MessageParseError",
    "MessageRejected",
    "NoRecipient",
    "NotAuthorized",
    "PermanentDeliveryError",
    "PluginError",
    "Problem",
    "ReportLanguageError",
    "ScenarioError",
    "ScopeMissing",
    "StoreBusy",
    "StoreError",
    "StoreFault",
    "StoreFull",
    "SvcflowError",
    "TimerNotFailed",
    "TokenRequired",
    "TransitionNotAllowed",
    "UnknownChannel",
    "UnknownCustomer",
    "UnknownScope",
    "UnknownToken",
    "UnknownTrigger",
    "UnknownWorkflow",
    "WorkflowDefinitionError",
    "WorkflowVersionConflict",
    "did_you_mean",
]


def did_you_mean(name: str, choices: Iterable[str], *, noun: str) -> str:
    """Return ``"; did you mean 'x'? <noun>s: a, b, c"`` for a misspelled ``name``.

    The list of valid choices is always given, so a reader learns what would be valid even when
    nothing is close enough to suggest.
    """
    options = sorted(set(choices))
    close = difflib.get_close_matches(name, options, n=1, cutoff=0.6)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    listing = ", ".join(options) if options else "(none)"
    return f"{hint} {noun}s: {listing}" if hint else f"; {noun}s: {listing}"


class SvcflowError(Exception):
    """Root of every error svcflow raises on purpose."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong in a definition file, with its position (1-based line and column)."""

    file: str
    line: int
    column: int
    key_path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.key_path}: " if self.key_path else ""
        return f"{self.file}:{self.line}:{self.column}: {where}{self.message}"


class WorkflowDefinitionError(SvcflowError):
    """A workflow, scenario or rules file is invalid. Holds *all* problems found in it."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems: tuple[Problem, ...] = tuple(
            sorted(problems, key=lambda p: (p.file, p.line, p.column, p.message))
        )
        count = len(self.problems)
        files = sorted({p.file for p in self.problems})
        header = f"{count} problem{'s' if count != 1 else ''} in {', '.join(files)}"
        super().__init__(header + "\n" + "\n".join(str(p) for p in self.problems))


class ScenarioError(WorkflowDefinitionError):
    """A simulation scenario file is invalid."""


class WorkflowVersionConflict(SvcflowError):
    """A workflow file changed without a new ``version`` while cases of that version exist."""

    def __init__(self, workflow: str, version: int, source: str, case_count: int) -> None:
        self.workflow, self.version, self.source, self.case_count = (
            workflow,
            version,
            source,
            case_count,
        )
        super().__init__(
            f"{source}: workflow '{workflow}' version {version} changed, but {case_count} "
            f"case(s) already run on version {version}; running cases must keep the definition "
            f"they started with. Raise 'version' to {version + 1} to publish the change "
            f"(existing cases stay on {version}, new cases start on {version + 1})."
        )


class UnknownWorkflow(SvcflowError):
    """No loaded workflow has this id (or this version)."""

    def __init__(self, workflow: str, known: Iterable[str], version: int | None = None) -> None:
        self.workflow, self.version = workflow, version
        what = f"'{workflow}' version {version}" if version is not None else f"'{workflow}'"
        super().__init__(f"unknown workflow {what}{did_you_mean(workflow, known, noun='workflow')}")


class CaseNotFound(SvcflowError):
    """No case with this id exists in the store."""

    def __init__(self, case_id: str) -> None:
        self.case_id = case_id
        super().__init__(f"no case with id '{case_id}' in the store")


class CaseDataError(SvcflowError):
    """Case data or an event payload does not match the workflow's ``data`` declaration."""

    def __init__(self, workflow: str, version: int, problems: Sequence[str]) -> None:
        self.workflow, self.version, self.problems = workflow, version, tuple(problems)
        super().__init__(
            f"invalid case data for workflow '{workflow}' v{version}: " + "; ".join(problems)
        )


class TransitionNotAllowed(SvcflowError):
    """A trigger was fired that the case's current state does not accept.

    ``allowed`` lists the triggers that would be accepted now; the case is unchanged.
    """

    def __init__(
        self, case_id: str, state: str, trigger: str, allowed: Sequence[str], reason: str = ""
    ) -> None:
        self.case_id, self.state, self.trigger, self.allowed = (
            case_id,
            state,
            trigger,
            tuple(allowed),
        )
        listing = ", ".join(allowed) if allowed else "(none)"
        why = reason or f"state '{state}' has no transition for it"
        super().__init__(
            f"trigger '{trigger}' is not allowed for case {case_id} in state '{state}': {why}. "
            f"Allowed now: {listing}"
        )


class UnknownTrigger(TransitionNotAllowed):
    """The trigger is not defined anywhere in the case's workflow."""


class ConditionNotMet(TransitionNotAllowed):
    """The trigger exists from this state, but every ``when`` condition was false."""


class NotAuthorized(SvcflowError):
    """The actor may not fire this trigger: they lack the role it requires, or a four-eyes rule
    (``not_by``) excludes them. The case is unchanged; the engine records the refusal.

    ``required`` are the roles any one of which would do; ``roles`` those the actor holds.
    """

    def __init__(
        self,
        case_id: str,
        state: str,
        trigger: str,
        actor: str,
        roles: Sequence[str],
        required: Sequence[str],
        reason: str,
    ) -> None:
        self.case_id, self.state, self.trigger, self.actor = case_id, state, trigger, actor
        self.roles, self.required, self.reason = tuple(roles), tuple(required), reason
        super().__init__(
            f"'{actor}' may not fire '{trigger}' on case {case_id} in state '{state}': {reason}"
        )


class ExpressionError(SvcflowError):
    """A CEL expression failed while being evaluated (a type mismatch, a missing key...)."""

    def __init__(self, source: str, where: str, cause: str) -> None:
        self.source, self.where, self.cause = source, where, cause
        super().__init__(f"{where}: expression `{source}` failed: {cause}")


class ConcurrencyConflict(SvcflowError):
    """Another writer changed the case after this one read it; nothing was written.

    Re-read the case and decide again (or simply retry the ``fire``).
    """

    def __init__(self, case_id: str, expected_revision: int, actual_revision: int | None) -> None:
        self.case_id = case_id
        self.expected_revision, self.actual_revision = expected_revision, actual_revision
        now = "deleted" if actual_revision is None else f"at revision {actual_revision}"
        super().__init__(
            f"case {case_id} was changed by another writer: expected revision "
            f"{expected_revision}, store is {now}; nothing was written, re-read the case and retry"
        )


class IdempotencyKeyReused(SvcflowError):
    """An idempotency key was sent again for a different case or trigger, or for the same
    one with a different request (``differs`` names the parts: actor, payload, data)."""

    def __init__(self, key: str, first: str, now: str, differs: Sequence[str] = ()) -> None:
        self.key, self.differs = key, tuple(differs)
        if self.differs:
            super().__init__(
                f"idempotency key '{key}' was first used for {first}, and this request's "
                f"{' and '.join(self.differs)} {'differ' if len(self.differs) > 1 else 'differs'} "
                "from the first one's; a retry must repeat the request exactly, so nothing was "
                "done: use a new key for a new event"
            )
            return
        super().__init__(
            f"idempotency key '{key}' was first used for {first} and cannot be reused for {now}; "
            "use a new key for a new event"
        )


class DeliveryNotDead(SvcflowError):
    """``retry_delivery`` was given an id that is not a dead outbox entry."""

    def __init__(self, entry_id: int, dead: Sequence[int]) -> None:
        self.entry_id, self.dead = entry_id, tuple(dead)
        listing = ", ".join(str(i) for i in self.dead[:20]) if self.dead else "(none)"
        more = f" and {len(self.dead) - 20} more" if len(self.dead) > 20 else ""
        super().__init__(f"outbox entry {entry_id} is not dead; dead entries: {listing}{more}")


class TimerNotFailed(SvcflowError):
    """``retry_timer`` was given an id that is not a timer parked as failed."""

    def __init__(self, timer_id: int, failed: Sequence[int]) -> None:
        self.timer_id, self.failed = timer_id, tuple(failed)
        listing = ", ".join(str(i) for i in self.failed) if self.failed else "(none)"
        super().__init__(f"timer {timer_id} is not parked as failed; failed timers: {listing}")


class InvalidQuery(SvcflowError):
    """A query for cases that cannot be answered (an unknown SLA status, a missing bound)."""


class InvalidCursor(InvalidQuery):
    """A page cursor that is not one a page of this query order returned."""

    def __init__(self, cursor: str, order: str) -> None:
        self.cursor, self.order = cursor, order
        shown = cursor if len(cursor) <= 40 else cursor[:37] + "..."
        super().__init__(
            f"invalid page cursor {shown!r}: pass the 'next' of a page found in the same "
            f"order (by {order}), or no cursor for the first page"
        )


class StoreError(SvcflowError):
    """The store URL is invalid or the store cannot be opened or migrated."""


class StoreFault(StoreError):
    """The store could not do a write (an I/O error, a damaged file...); nothing of it was
    written. ``cause`` is the database's own message. With ``reading``, a read could not be
    done (the message says so, and nothing about writing)."""

    def __init__(self, store: str, cause: str, advice: str = "", *, reading: bool = False) -> None:
        self.store, self.cause = store, cause
        what = (
            f"the store {store} could not read: {cause}"
            if reading
            else f"the store {store} could not write: {cause}; nothing was written"
        )
        super().__init__(what + (f"; {advice}" if advice else ""))


class StoreFull(StoreFault):
    """The store's disk (or its size limit) is full; nothing of the write was written."""

    def __init__(self, store: str, cause: str) -> None:
        super().__init__(store, cause, "free disk space (or raise its size limit) and retry")


class StoreBusy(StoreFault):
    """Other writers held the store longer than the wait allowed; nothing was written. With
    ``reading``: a read found no free connection within the wait (PostgreSQL's pool)."""

    def __init__(self, store: str, cause: str, *, reading: bool = False) -> None:
        advice = "other readers and writers held every connection; retry"
        if not reading:
            advice = "other writers held it too long; retry"
        super().__init__(store, cause, advice, reading=reading)


class PluginError(SvcflowError):
    """A plugin could not be loaded or is invalid (a misspelled hook, a wrong signature, two
    plugins owning one channel), or a plugin's workflow action failed inside a step."""


class UnknownChannel(SvcflowError):
    """No loaded plugin reads (inbound) or delivers to (outbound) this channel."""

    def __init__(self, channel: str, known: Iterable[str], direction: str) -> None:
        self.channel, self.direction = channel, direction
        super().__init__(
            f"no plugin {'reads' if direction == 'inbound' else 'delivers to'} channel "
            f"'{channel}'" + did_you_mean(channel, known, noun=f"{direction} channel")
        )


class MessageParseError(SvcflowError):
    """A channel could not read a raw payload. Channel plugins raise it with ``reason`` saying
    what was wrong and what a valid payload looks like."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class MessageRejected(SvcflowError):
    """``Engine.ingest`` could not take a message; the raw payload and the reason are kept in
    the dead-letter table (``dead_letter_id``), so nothing is lost and it can be replayed."""

    def __init__(self, channel: str, reason: str, dead_letter_id: int) -> None:
        self.channel, self.reason, self.dead_letter_id = channel, reason, dead_letter_id
        super().__init__(
            f"{channel} message rejected: {reason} (kept as dead letter #{dead_letter_id}; "
            "fix the cause and replay it with Engine.replay_dead_letter)"
        )


class DeadLetterErased(MessageRejected):
    """A dead letter's payload went with its customer's erasure (``Engine.erase_customer``):
    the row keeps its channel, reason and time, and there is nothing left to replay."""

    def __init__(self, channel: str, dead_letter_id: int) -> None:
        self.channel, self.dead_letter_id = channel, dead_letter_id
        self.reason = "its payload was erased with its customer's personal data"
        SvcflowError.__init__(
            self,
            f"dead letter #{dead_letter_id} ({channel}) cannot be replayed: its payload was "
            "erased with its customer's personal data (Engine.erase_customer); only its "
            "channel, reason and time are kept",
        )


class MessageHeld(MessageRejected):
    """A message refers to a case whose customer did not send it (another address, another
    channel), and that case's workflow holds such messages for an agent (``intake.unverified:
    hold``). The message is kept as a dead letter with status ``held``; the case is untouched."""

    def __init__(self, channel: str, reason: str, dead_letter_id: int) -> None:
        self.channel, self.reason, self.dead_letter_id = channel, reason, dead_letter_id
        SvcflowError.__init__(
            self,
            f"{channel} message held for an agent: {reason} (kept as dead letter "
            f"#{dead_letter_id} with status 'held'; an agent decides where it belongs)",
        )


class ContactPointTaken(SvcflowError):
    """A contact point given to one customer already belongs to another: one address can
    identify only one customer."""

    def __init__(self, channel: str, address: str, owner: str, customer: str) -> None:
        self.channel, self.address, self.owner = channel, address, owner
        super().__init__(
            f"contact point {channel} '{address}' already belongs to customer '{owner}'; "
            f"remove it there before giving it to customer '{customer}'"
        )


class UnknownCustomer(SvcflowError):
    """There is no customer with this id in the store."""

    def __init__(self, customer_id: str) -> None:
        self.customer_id = customer_id
        super().__init__(
            f"no customer '{customer_id}'; add one with engine.customers.add(...) first"
        )


class CustomerRequired(SvcflowError):
    """A case of a customer-scoped workflow was started without a customer."""

    def __init__(self, workflow: str) -> None:
        self.workflow = workflow
        super().__init__(
            f"workflow '{workflow}' is customer-scoped (scope: customer): start its cases with "
            "Engine.start(..., customer=...)"
        )


class CaseAlreadyOpen(SvcflowError):
    """The customer already has an open case of this customer-scoped workflow; ``case_id`` is
    that case. Nothing was started."""

    def __init__(self, workflow: str, customer_id: str, case_id: str) -> None:
        self.workflow, self.customer_id, self.case_id = workflow, customer_id, case_id
        super().__init__(
            f"customer '{customer_id}' already has an open '{workflow}' case ({case_id}); a "
            "customer-scoped workflow keeps one open case per customer: fire a trigger on it "
            "instead"
        )


class InvalidCustomer(SvcflowError):
    """A customer record the host gave cannot be kept as it is (an unknown time zone)."""

    def __init__(self, customer_id: str, why: str) -> None:
        self.customer_id, self.why = customer_id, why
        super().__init__(f"customer '{customer_id}': {why}")


class NoRecipient(SvcflowError):
    """A notification's role resolved to nobody: the outbox keeps an ``undeliverable`` row
    with this text and the case history a warning, instead of a notice waiting for ever."""

    def __init__(self, role: str, case_id: str, why: str) -> None:
        self.role, self.case_id, self.why = role, case_id, why
        super().__init__(self.text(role, case_id, why))

    @staticmethod
    def text(role: str, case_id: str, why: str) -> str:
        """The error's text, for the outbox row and the history warning that keep it (built
        without raising: a notice reaching nobody is no exception)."""
        return f"no recipient for role '{role}' on case {case_id}: {why}"


class DeliveryFailed(SvcflowError):
    """A delivery failed but may succeed later (a timeout, a 5xx, a refused connection)."""


class PermanentDeliveryError(DeliveryFailed):
    """A delivery can never succeed as it is (a rejected address, a 4xx): dead-letter it now."""


class FieldsNotReadable(SvcflowError):
    """Case fields typed as ``name: value`` lines (the web console's forms) are not a mapping
    of field names to values. Holds every problem, each with its line and column."""

    def __init__(self, source: str, problems: Sequence[Problem] | Sequence[str]) -> None:
        self.source = source
        self.problems = tuple(str(problem) for problem in problems)
        super().__init__(f"the {source} are not 'name: value' lines: " + "; ".join(self.problems))


class UnknownToken(SvcflowError):
    """``svcflow tokens revoke`` (or :meth:`TokenFile.revoke
    <svcflow.serve.tokens.TokenFile.revoke>`) was given an id that names no API token."""

    def __init__(self, token_id: str, known: Iterable[str]) -> None:
        self.token_id = token_id
        super().__init__(f"no API token '{token_id}'" + did_you_mean(token_id, known, noun="token"))


class UnknownScope(SvcflowError):
    """An API token was asked for a scope that does not exist."""

    def __init__(self, scope: str, valid: Iterable[str]) -> None:
        self.scope = scope
        super().__init__(f"unknown scope '{scope}'" + did_you_mean(scope, valid, noun="scope"))


class TokenRequired(SvcflowError):
    """An HTTP request carries no API token, or one the server does not know or has revoked."""

    def __init__(self, why: str) -> None:
        self.why = why
        super().__init__(
            f"{why}; send 'Authorization: Bearer <token>' with a token from 'svcflow tokens create'"
        )


class ScopeMissing(SvcflowError):
    """An HTTP request's API token does not hold the scope the route needs."""

    def __init__(
        self, token_id: str, held: Sequence[str], scope: str, scopes: Sequence[str]
    ) -> None:
        self.token_id, self.held, self.scope = token_id, tuple(held), scope
        super().__init__(
            f"API token '{token_id}' holds {', '.join(held) or '(no scope)'}; this needs "
            f"'{scope}' (or 'admin'); scopes: {', '.join(scopes)}"
        )


class DiagramUnavailable(SvcflowError):
    """A workflow could not be drawn as SVG: Graphviz is missing, failed or took too long."""

    def __init__(self, workflow: str, version: int, why: str) -> None:
        self.workflow, self.version, self.why = workflow, version, why
        super().__init__(f"cannot draw workflow '{workflow}' v{version} as SVG: {why}")


class ReportLanguageError(SvcflowError):
    """The KPI report was asked for in a language it cannot be written in here."""

    def __init__(self, locale: str, why: str) -> None:
        self.locale, self.why = locale, why
        super().__init__(f"cannot write the KPI report in {locale!r}: {why}")
