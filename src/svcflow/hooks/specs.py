"""Every hook svcflow calls, in one place. Plugins implement them with ``@svcflow.hookimpl``.

Each hook's docstring says when in a case's life it fires, what each parameter is, what it
returns and when it was added. Hooks marked *first result* stop at the first implementation
that returns something other than ``None`` (the most recently registered plugin is asked
first). Only ``svcflow_deliver`` and the listener hooks may be ``async def``: svcflow runs
their coroutines to completion on its own event-loop thread (see ``docs/plugins.md``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from svcflow.hooks.types import (
        Assignment,
        CaseLookup,
        ChannelInfo,
        Classification,
        Customer,
        CustomerErasure,
        Delivery,
        DeliveryReceipt,
        InboundMessage,
        Recipient,
    )
    from svcflow.records import Case, HistoryEntry
    from svcflow.spec.extensions import ActionCall

PROJECT = "svcflow"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)

ASYNC_HOOKS = frozenset(
    {
        "svcflow_deliver",
        "svcflow_case_transition",
        "svcflow_sla_warning",
        "svcflow_sla_breach",
        "svcflow_customer_erased",
    }
)
"""The hooks whose implementations may be coroutines (they do I/O after a commit)."""


# -- set-up: what a plugin provides ----------------------------------------------------------------


@hookspec
def svcflow_register_channels() -> Iterable[ChannelInfo]:
    """Declare the channels this plugin reads (inbound) or delivers to (outbound).

    Called once when the plugin host starts. Returns ``ChannelInfo`` records; a channel name
    may be owned inbound by one plugin and outbound by one plugin (a second owner is a start-up
    error naming both). Messages and notifications are routed to the owning plugin only.

    Added in 0.1.0.
    """
    raise NotImplementedError


@hookspec
def svcflow_cel_functions() -> Mapping[str, Callable[..., Any]]:
    """Extra functions for workflow CEL expressions, by name.

    Called once when the plugin host starts. Returns a mapping of function name to callable;
    the names are known when workflows load, so an expression calling an unknown function is a
    load error. Functions must be pure and quick
    (they run inside a step, which may be retried); arguments and results are CEL values
    (``bool``, ``int``, ``float``, ``str``, ``list``, ``dict``, ``datetime``). A name defined
    twice is a start-up error.

    Added in 0.1.0.
    """
    raise NotImplementedError


@hookspec
def svcflow_workflow_actions() -> Mapping[str, Callable[[ActionCall], Mapping[str, Any] | None]]:
    """Extra workflow actions, by name, used in YAML as ``- call: {action: NAME, with: {...}}``.

    Called once when the plugin host starts. The function receives an ``ActionCall`` (the
    case's state, data, the evaluated ``with`` arguments and the time) and returns fields to
    set on the case (validated like any ``set``) or ``None``. It runs inside the step, before
    the commit, and may run again when the step is retried: it must not have outside effects
    (queue a ``notify`` for those). An exception fails the event with ``PluginError``; nothing
    is written.

    Added in 0.1.0.
    """
    raise NotImplementedError


# -- intake: a message arrives ---------------------------------------------------------------------


@hookspec(firstresult=True)
def svcflow_verify_request(
    channel: str, body: bytes, headers: Mapping[str, str], url: str
) -> bool | None:
    """Check that an HTTP request to ``POST /channels/{channel}`` comes from the platform.

    Called by ``svcflow serve`` on the plugin that registered ``channel`` as inbound, and only
    on it, before anything of the request is parsed or stored. ``body`` is the raw request body
    (the bytes the platform signed), ``headers`` the request headers with lower-case names,
    ``url`` the full URL the request was sent to (some platforms sign it too). Returns ``True``
    when the signature is valid, ``False`` when it is not: the request is answered 401 and
    nothing is stored (not even a dead letter: an unsigned request is not a customer's
    message). ``None`` (or no implementation) means the channel is not signed and the request
    is taken. Compare signatures with ``hmac.compare_digest``. First result, but the owner is
    the only plugin asked.

    Added in 0.1.0.
    """
    raise NotImplementedError


@hookspec(firstresult=True)
def svcflow_parse_message(channel: str, raw: Any) -> InboundMessage | None:
    """Turn a raw inbound payload of ``channel`` into an ``InboundMessage``.

    Called by ``Engine.ingest`` on the plugin that registered ``channel`` as inbound. ``raw`` is
    what the host received (``bytes`` or ``str`` for e-mail, a ``dict`` or JSON text for the
    others). Returns the ``InboundMessage``. Raise ``MessageParseError`` saying what is wrong;
    the payload and the error are kept in the dead-letter table. First result.

    Added in 0.1.0.
    """
    raise NotImplementedError


@hookspec(firstresult=True)
def svcflow_identify_customer(
    channel: str, address: str, message: InboundMessage
) -> Customer | None:
    """Say which customer sent a message: the host's CRM knows its customers better than svcflow.

    Called by ``Engine.ingest`` after parsing, before matching. ``channel`` and ``address`` are
    the sender as a contact point (``email`` and the address for an e-mail or a web form giving
    one, ``sms`` and the number for an SMS, a call or a form giving a phone, ``chat`` and the
    user id...); ``message`` is the parsed message. Return the ``Customer`` (its ``segment``
    and name are trusted; svcflow keeps it in its store, e-mail addresses in lower case and each
    contact point once, and adds the contact point as verified when missing), or ``None`` when
    unknown. First result: the built-in lookup of the store's contact points is asked last; an
    unknown sender who starts a case becomes a new customer with that one, unverified, contact
    point.

    Added in 0.1.0.
    """
    raise NotImplementedError


@hookspec(firstresult=True)
def svcflow_match_case(message: InboundMessage, lookup: CaseLookup) -> str | None:
    """Find the existing case a message belongs to (threading, dedupe); return its id.

    Called by ``Engine.ingest`` after parsing. ``lookup`` answers questions about earlier
    messages and open cases (by message id, by thread reference, by sender). Return ``None``
    when the message starts something new. First result: the built-in matcher (explicit case
    reference, then reply threading) is asked last.

    Added in 0.1.0.
    """
    raise NotImplementedError


@hookspec
def svcflow_classify_message(message: InboundMessage) -> Classification | None:
    """Say what a message is: its kind, category, sentiment, tags.

    Called by ``Engine.ingest`` for every ``message``, after matching. Returns a
    ``Classification`` (or ``None`` to say nothing). Every implementation is asked; for each
    part (kind, category, sentiment) the first plugin that sets it wins, tags
    are combined. Negative sentiment (below zero) can drive a workflow's escalation through
    ``message.sentiment`` in intake expressions.

    Added in 0.1.0.
    """
    raise NotImplementedError


@hookspec(firstresult=True)
def svcflow_choose_assignee(message: InboundMessage, workflow: str) -> Assignment | None:
    """Choose the queue and/or person a new case goes to.

    Called by ``Engine.ingest`` before a case of ``workflow`` starts from ``message``. Returns an
    ``Assignment`` (or ``None``), which fills the case's ``queue`` and ``assignee`` fields when
    the workflow declares them (and the intake mapping did not set them). First result.

    Added in 0.1.0.
    """
    raise NotImplementedError


# -- authority: a person fires a trigger -----------------------------------------------------------


@hookspec(firstresult=True)
def svcflow_actor_roles(actor: str) -> Iterable[str] | None:
    """Say which roles a person holds, from the host's identity system.

    Called by ``Engine.fire`` (and ``Engine.triggers(case_id, actor=...)``) before a transition
    that requires a role (``by:``) or excludes someone (``not_by:``) is checked. ``actor`` is
    the id the host passed as ``actor=``. Returns the roles (the workflow's ``roles:`` section
    adds the roles they include), or ``None`` to leave the actor to other plugins. First result;
    the built-in directory (``Engine(roles={"agent-7": ["agent"]})``) is asked last, and an
    actor nobody knows holds no roles. An exception refuses the event (nothing is written).

    Added in 0.1.0.
    """
    raise NotImplementedError


# -- notifications: after a step queues one ------------------------------------------------------


@hookspec(firstresult=True)
def svcflow_resolve_recipients(
    role: str, case: Case, customer: Customer | None, message: InboundMessage | None
) -> list[Recipient] | None:
    """Turn a role a workflow notifies (``customer``, ``team_lead``, ``on_call``...) into people.

    Called while a step's notifications are written to the outbox (the on-call rota at that
    moment counts). ``customer`` is the customer who owns the case (``None`` when it has none)
    and ``message`` the inbound message that caused this step (``None`` for an API call or a
    timer): answer the customer on ``message.channel`` when you deliver there. Return the
    recipients, an empty list for "nobody" (an ``undeliverable`` outbox row says so), or
    ``None`` to leave the role to other plugins. First result; the built-in directory (the
    customer's contact points, ``assignee`` and roles from ``Engine(directory=...)``) is asked
    last. An exception dead-letters that notification with the error; the case change still
    commits.

    Added in 0.1.0.
    """
    raise NotImplementedError


@hookspec(firstresult=True)
def svcflow_deliver(delivery: Delivery) -> DeliveryReceipt | None:
    """Send one rendered notification to one recipient.

    Called by the outbox dispatcher, after the case change committed, on the plugin that
    registered ``delivery.channel`` as outbound. Return a ``DeliveryReceipt`` (or any non-None
    value) on success. Raise ``DeliveryFailed`` or any exception to be retried with exponential
    backoff, ``PermanentDeliveryError`` to dead-letter at once. Delivery is at least once:
    receivers dedupe on ``delivery.key``. May be ``async def``. First result.

    Added in 0.1.0.
    """
    raise NotImplementedError


# -- listeners: after a commit ---------------------------------------------------------------------


@hookspec
def svcflow_case_transition(case: Case, entry: HistoryEntry) -> None:
    """A case changed: it started, a trigger fired or a timer fired.

    Called after the change committed, with the case as committed and its history entry. Every
    implementation is called; an exception is logged and never undoes or blocks the case. May
    be ``async def``.

    Added in 0.1.0.
    """


@hookspec
def svcflow_sla_warning(case: Case, event: Mapping[str, Any]) -> None:
    """An SLA warning fired (a share of the budget used, or a lead time before the deadline).

    Called after the commit, with the ``case`` as committed. ``event`` is the history detail:
    ``metric``, ``event`` (``warned``), ``at``, ``cycle``, ``target``, ``calendar``, ``used``
    and ``warning`` (the warning's position). Exceptions are logged. May be ``async def``.

    Added in 0.1.0.
    """


@hookspec
def svcflow_sla_breach(case: Case, event: Mapping[str, Any]) -> None:
    """An SLA deadline passed with the clock still running (once per breach).

    Called after the commit of the breach, with the ``case`` as committed. ``event`` is the
    history detail: ``metric``, ``event`` (``breached``), ``at``, ``cycle``, ``target``,
    ``calendar``, ``used``. Exceptions are logged. May be ``async def``.

    Added in 0.1.0.
    """


# -- erasure: a customer's personal data went -----------------------------------------------------


@hookspec
def svcflow_customer_erased(erasure: CustomerErasure) -> None:
    """A customer's personal data was erased (``Engine.erase_customer`` committed): erase the
    copies this plugin keeps (a channel's message archive, a notifier's sent log, a CRM sync).

    Called once per erasure, after its commit, in the thread that ran it. ``erasure`` names the
    customer, the contact points it had (the store no longer knows them), its cases and the
    marker erased values read as. Every implementation is called; one that raises is logged (by
    plugin name, without the customer's data) and named in ``ErasureReport.plugins_failed``, so
    the host can have it done again; the erasure itself stays committed. May be ``async def``.

    Added in 0.1.0.
    """
