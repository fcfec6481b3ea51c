"""The built-in matcher: which existing case a message belongs to.

Asked after every other ``svcflow_match_case`` plugin. A case id the message names outright
(``[case:ID]`` in an e-mail subject, a form's ``case_id``) wins; then threading: the case of
the most recent earlier message on the same channel whose id or thread reference the new message
refers to (an e-mail's In-Reply-To and References, a chat conversation, a social post's parent,
the SMS sender's number). Either only when the sender may join that case: they are a contact
point of its customer (``CaseLookup.may_join``); a message naming someone else's case joins
nothing.
"""

from __future__ import annotations

from svcflow.hooks.specs import hookimpl
from svcflow.hooks.types import CaseLookup, InboundMessage

__all__ = ["ThreadMatcher"]


class ThreadMatcher:
    """Explicit case reference, then reply threading (see module docs)."""

    @hookimpl(trylast=True)
    def svcflow_match_case(self, message: InboundMessage, lookup: CaseLookup) -> str | None:
        named = message.case_ref
        if named and lookup.get(named) is not None and lookup.may_join(named):
            return named
        if message.thread_refs:
            return lookup.case_of_thread(message.thread_refs)
        return None
