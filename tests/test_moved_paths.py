"""Old module paths keep working after the move into packages by concern, as the same module
objects, without a warning; the project's own code uses the new paths only."""

from __future__ import annotations

import importlib
import re
import subprocess
import sys

import pytest

from support.workflows import ROOT
from svcflow._moved import MOVED


@pytest.mark.parametrize(("old", "new"), sorted(MOVED.items()))
def test_an_old_module_path_is_the_new_module(old: str, new: str) -> None:
    module = importlib.import_module(old)
    assert module is importlib.import_module(new)
    assert sys.modules[old] is sys.modules[new]
    assert module.__name__ == new
    assert module.__spec__ is not None and module.__spec__.name == new


def test_names_plugin_authors_imported_resolve_through_the_old_paths() -> None:
    from svcflow.calendar import TWENTY_FOUR_SEVEN, BusinessCalendar, CalendarSpec
    from svcflow.channels.base import ChannelInfo, PayloadReader, json_payload
    from svcflow.delivery import (
        Delivery,
        DeliveryFailed,
        DeliveryReceipt,
        PermanentDeliveryError,
        Recipient,
    )
    from svcflow.hooks import types
    from svcflow.intake import Assignment, CaseLookup
    from svcflow.messages import MESSAGE_FIELDS, Classification, InboundMessage, MessageParseError
    from svcflow.sla import SlaPolicy
    from svcflow.sla.clocks import SlaPolicy as NewSlaPolicy
    from svcflow.workflowactions import ActionCall

    assert (ChannelInfo, Delivery, DeliveryReceipt, Recipient, Assignment, CaseLookup) == (
        types.ChannelInfo,
        types.Delivery,
        types.DeliveryReceipt,
        types.Recipient,
        types.Assignment,
        types.CaseLookup,
    )
    assert (InboundMessage, Classification, ActionCall, MESSAGE_FIELDS) == (
        types.InboundMessage,
        types.Classification,
        types.ActionCall,
        types.MESSAGE_FIELDS,
    )
    assert (DeliveryFailed, PermanentDeliveryError, MessageParseError) == (
        types.DeliveryFailed,
        types.PermanentDeliveryError,
        types.MessageParseError,
    )
    assert SlaPolicy is NewSlaPolicy
    assert isinstance(TWENTY_FOUR_SEVEN, BusinessCalendar)
    assert CalendarSpec.__module__ == "svcflow.spec.calendar"
    assert callable(json_payload) and PayloadReader.__module__.startswith("svcflow.messaging")


def test_an_old_submodule_imported_first_is_loaded_once_and_quietly() -> None:
    """In a fresh interpreter, the old name of a submodule imported before anything else must
    not load the file a second time (two classes of one name would break isinstance)."""
    script = (
        "import sys\n"
        "from svcflow.channels.base import ChannelInfo\n"
        "from svcflow.channels.email import EmailChannel\n"
        "import svcflow.messaging.channels.email as email\n"
        "import svcflow.hooks.types as types\n"
        "assert ChannelInfo is types.ChannelInfo\n"
        "assert EmailChannel is email.EmailChannel\n"
        "assert sys.modules['svcflow.channels.email'] is email\n"
        "print('ok')\n"
    )
    done = subprocess.run(
        [sys.executable, "-W", "error", "-c", script], capture_output=True, text=True, check=False
    )
    assert (done.returncode, done.stdout.strip(), done.stderr) == (0, "ok", "")


def test_an_unknown_name_of_the_old_sla_module_is_an_attribute_error() -> None:
    import svcflow.sla

    with pytest.raises(AttributeError) as raised:
        _ = svcflow.sla.nothing
    assert str(raised.value) == "module 'svcflow.sla' has no attribute 'nothing'"


_IMPORT = re.compile(r"^\s*(?:from\s+(svcflow[\w.]*)\s+import|import\s+(svcflow[\w.]*))", re.M)


def test_the_project_itself_imports_only_the_new_paths() -> None:
    files = [
        path
        for folder in ("src", "tests", "benches", "plugins", "docs")
        for pattern in ("*.py", "*.md")
        for path in (ROOT / folder).rglob(pattern)
        if ".venv" not in path.parts and path.name != "test_moved_paths.py"
    ]
    files.append(ROOT / "README.md")
    found = sorted(
        f"{path.relative_to(ROOT)}: {module}"
        for path in files
        for match in _IMPORT.finditer(path.read_text(encoding="utf-8"))
        for module in match.groups()
        if module in MOVED
    )
    assert found == []
