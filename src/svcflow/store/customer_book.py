"""Customers and their contact points in memory: the memory store's customer table.

A contact point (channel and address) belongs to at most one customer; saving a customer whose
contact point another customer holds is refused before anything changes. The book also keeps
which open case holds each customer-scoped key (``CaseChange.open_scope``). The caller (the memory
store) holds its own lock around every call.
"""

from __future__ import annotations

from svcflow.errors import ContactPointTaken
from svcflow.records import Customer

__all__ = ["CustomerBook"]


class CustomerBook:
    """Customers by id, and the index of contact points to the customer who owns each."""

    def __init__(self) -> None:
        self._customers: dict[str, Customer] = {}
        self._owners: dict[tuple[str, str], str] = {}
        self._cases: dict[str, str] = {}
        self._scopes: dict[str, str] = {}
        self._scope_of_case: dict[str, str] = {}

    def save(self, customer: Customer) -> None:
        for point in customer.contact_points:
            owner = self._owners.get((point.channel, point.address))
            if owner is not None and owner != customer.id:
                raise ContactPointTaken(point.channel, point.address, owner, customer.id)
        earlier = self._customers.get(customer.id)
        for point in earlier.contact_points if earlier else ():
            self._owners.pop((point.channel, point.address), None)
        self._customers[customer.id] = customer
        for point in customer.contact_points:
            self._owners[(point.channel, point.address)] = customer.id

    def get(self, customer_id: str) -> Customer | None:
        return self._customers.get(customer_id)

    def by_contact(self, channel: str, address: str) -> Customer | None:
        owner = self._owners.get((channel, address))
        return None if owner is None else self._customers.get(owner)

    def own_case(self, case_id: str, customer_id: str | None) -> None:
        if customer_id is not None:
            self._cases[case_id] = customer_id

    def cases_of(self, customer_id: str) -> list[str]:
        """Ids of the cases the customer owns, in id order."""
        return sorted(case for case, owner in self._cases.items() if owner == customer_id)

    def forget_contacts(self, customer_id: str) -> None:
        """Erasure: the customer keeps its id, locale and segment; name, birthday and contact
        points go."""
        customer = self._customers.get(customer_id)
        if customer is not None:
            erased = customer._replace(name=None, contact_points=(), preferred=None, birthday=None)
            self.save(erased)

    def forget_case(self, case_id: str) -> None:
        """The case was purged: it has no owner any more."""
        self._cases.pop(case_id, None)
        self.release_scope(case_id)

    def scope_holder(self, scope: str) -> str | None:
        """The open case holding a customer-scoped key."""
        return self._scopes.get(scope)

    def hold_scope(self, case_id: str, scope: str) -> None:
        self._scopes[scope] = case_id
        self._scope_of_case[case_id] = scope

    def release_scope(self, case_id: str) -> None:
        scope = self._scope_of_case.pop(case_id, None)
        if scope is not None:
            self._scopes.pop(scope, None)

    def case_owner(self, case_id: str) -> str | None:
        return self._cases.get(case_id)
