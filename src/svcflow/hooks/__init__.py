"""The plugin contract: every hook (:mod:`~svcflow.hooks.specs`), every type a hook names
(:mod:`~svcflow.hooks.types`) and the typed host that calls them (:mod:`~svcflow.hooks.host`).

A plugin needs only ``svcflow.hookimpl`` and the types; nothing here imports the engine.
"""
