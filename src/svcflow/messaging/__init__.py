"""Inbound and outbound messaging: channels, intake, threading, classification, the directory of
recipients, templates, the notifier and the outbox dispatcher.

Inbound, a channel parses a raw payload into an ``InboundMessage`` and
:class:`~svcflow.messaging.intake.MessageIntake` finds or starts its case; outbound, the
:class:`~svcflow.messaging.notifier.Notifier` renders notifications into outbox rows and the
:class:`~svcflow.messaging.outbox.Dispatcher` delivers them through plugins after the commit.
None of it imports the engine: the engine hands intake the few operations it needs.
"""
