"""The built-in matcher: which existing case a message belongs to.

Asked after every other ``svcflow_match_case`` plugin. A case id the message names outright
(``[case:ID]`` in an e-mail subject, a form's ``case_id``) wins; then threading: the case of
the most recent earlier message whose id or thread reference the new message refers to (an
e-mail's In-Reply-To and References, a chat conversation, a social post's parent, the SMS
sender's number).
"""

from __future__ import annotations

from svcflow.hooks.specs import hookimpl
from svcflow.hooks.types import CaseLookup, InboundMessage

__all__ = ["ThreadMatcher"]


class ThreadMatcher:
    """Explicit case reference, then reply threading (see module docs)."""

    @hookimpl(trylast=True)
    def svcflow_match_case(self, message: InboundMessage, lookup: CaseLookup) -> str | None:
        if message.case_ref and lookup.get(message.case_ref) is not None:
            return message.case_ref
        if message.thread_refs:
            return lookup.case_of_thread(message.thread_refs)
        return None
