"""Whether a workflow that notifies the customer has a way to reach them.

A notice to ``customer`` is delivered to the case's owning customer (set by the host with
``Engine.start(..., customer=...)`` or by intake from a message), else to a ``customer_email`` /
``customer_phone`` field. A workflow with none of the sources it controls (no ``intake:``, no
such field) depends entirely on every host passing a customer; when one does not, each such
notice becomes an *undeliverable* outbox row. ``svcflow validate`` warns about it (a warning,
not an error: a host that always passes a customer is right to ship such a workflow). A
customer-scoped workflow (``scope: customer``) is never warned about: the engine refuses to
start its cases without a customer.
"""

from __future__ import annotations

from svcflow.definitions.workflow import LoadedWorkflow
from svcflow.errors import Problem
from svcflow.spec.walk import notifications

__all__ = ["CONTACT_FIELDS", "customer_reach_warnings"]

CONTACT_FIELDS = ("customer_email", "customer_phone")
"""The data fields a notice to ``customer`` falls back to when the case has no owner."""


def customer_reach_warnings(loaded: LoadedWorkflow) -> list[Problem]:
    """A warning at the first ``notify`` to ``customer`` in a workflow with no ``intake:`` and
    no contact field, naming the lines of the others; none when the workflow has either or is
    customer-scoped."""
    spec = loaded.spec
    if spec.scope == "customer" or spec.intake is not None:
        return []
    if any(field in spec.data for field in CONTACT_FIELDS):
        return []
    paths = [path for notify, path in notifications(spec) if "customer" in notify.to]
    if not paths:
        return []
    others = [str(loaded.source_map.position(path, prefer_key=True)[0]) for path in paths[1:]]
    also = f" (also on line{'s' if len(others) > 1 else ''} {', '.join(others)})" if others else ""
    return [
        loaded.source_map.problem(
            paths[0],
            f"notifies 'customer'{also}, but workflow '{spec.workflow}' has no way to reach "
            "them: it takes no messages (no `intake:`) and has no `customer_email` or "
            "`customer_phone` field, so on a case started without "
            "`Engine.start(..., customer=...)` these notices are undeliverable; add an "
            "`intake:` section or a `customer_email`/`customer_phone` data field, or have the "
            "host always pass the customer",
            at_key=True,
        )
    ]
