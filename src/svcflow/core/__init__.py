"""The pure step: a workflow version compiled once (:mod:`~svcflow.core.machine`) decides what
an event does to a case and returns it as data (:mod:`~svcflow.core.effects`); it performs no
I/O and never touches a store."""
