"""The two kinds of share the report gives: a :class:`Rate` (count of total) and a
:class:`Nps` (promoters minus detractors). Both keep their sample size, so a reader can tell a
score of 40 from 5 answers from one of 40 from 500."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["DETRACTOR_UP_TO", "PROMOTER_FROM", "Nps", "Rate", "nps_answer"]

PROMOTER_FROM = 9
"""An NPS answer of 9 or 10 is a promoter."""
DETRACTOR_UP_TO = 6
"""An NPS answer of 0 to 6 is a detractor (7 and 8 are passives)."""


@dataclass(frozen=True, slots=True)
class Rate:
    """``count`` of ``total`` (``rate`` = count / total, rounded to 4 places; ``None`` when
    ``total`` is 0)."""

    count: int
    total: int
    rate: float | None

    @classmethod
    def of(cls, count: int, total: int) -> Rate:
        return cls(count, total, round(count / total, 4) if total else None)


@dataclass(frozen=True, slots=True)
class Nps:
    """Net Promoter Score of ``answered`` answers (the sample size): the percentage of
    promoters (9-10) minus the percentage of detractors (0-6), from -100 to 100, rounded to
    one decimal; ``None`` when nobody answered."""

    answered: int
    promoters: int
    passives: int
    detractors: int
    score: float | None

    @classmethod
    def of(cls, answers: Iterable[int]) -> Nps:
        found = list(answers)
        promoters = sum(1 for answer in found if answer >= PROMOTER_FROM)
        detractors = sum(1 for answer in found if answer <= DETRACTOR_UP_TO)
        score = round((promoters - detractors) * 100 / len(found), 1) if found else None
        return cls(
            answered=len(found),
            promoters=promoters,
            passives=len(found) - promoters - detractors,
            detractors=detractors,
            score=score,
        )


def nps_answer(value: object) -> int | None:
    """``value`` as an NPS answer: a whole number from 0 to 10 (``True``/``False`` and
    anything else are no answer)."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10:
        return None
    return value
