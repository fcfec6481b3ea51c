"""What a plugin's workflow action receives (``- call: {action: NAME, with: {...}}``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

__all__ = ["ActionCall"]


@dataclass(frozen=True, slots=True)
class ActionCall:
    """One call of a plugin action inside a step: the case as the step sees it so far, the
    action's evaluated ``with`` arguments, and the step's time."""

    action: str
    case_id: str
    state: str
    data: Mapping[str, Any]
    arguments: Mapping[str, Any]
    now: datetime
