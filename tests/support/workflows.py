"""Workflow texts and paths the tests share: the repository root, the shipped workflows, and
MINIMAL, a small ticket workflow with timers, a condition and a notification."""

from __future__ import annotations

from pathlib import Path

__all__ = ["MINIMAL", "ROOT", "WORKFLOWS"]

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / "workflows"

MINIMAL = """\
workflow: ticket
version: 1
title: Ticket
data:
  customer: {type: string, required: true}
  priority: {type: enum, values: [low, normal, high], default: normal}
  answer: string
  attempts: {type: integer, default: 0}
states:
  new:
    initial: true
    on_enter:
      - notify: {template: ticket_opened, to: customer}
      - schedule: {trigger: remind, after: 15m}
  open:
    on_enter:
      - schedule: {trigger: expire, after: 2h, keep: true}
  answered: {}
  closed: {final: true}
transitions:
  - {trigger: take, from: new, to: open}
  - {trigger: remind, from: new, actions: [{set: {priority: high}}, {note: reminded}]}
  - trigger: answer
    from: open
    to: answered
    when: answer != null && answer != ""
  - {trigger: retry, from: answered, to: open, actions: [{set: {attempts: {expr: attempts + 1}}}]}
  - {trigger: close, from: answered, to: closed}
  - {trigger: expire, from: "*", to: closed}
"""
