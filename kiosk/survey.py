"""One shopper's survey in progress: which questions follow, and what has been answered.

    survey = Survey(config.kiosk, language="vi")
    survey.answer_score(9)            # survey.group == "promoter"; survey.steps == [...]
    survey.answer_reasons(["staff"], comment=None)
    survey.answer("csat", 5)
    survey.answer_first_visit(False)  # "no, I have been before" ([kiosk] first_visit)
    response = survey.response(complete=True)

After a low score the shopper may report a problem (`complain`): an explicit act, stored as
a complaint with the detractor's case, whatever they typed (all of it optional).

Plain Python (no Qt), so the rules are easy to read and test. An abandoned survey keeps only
what the shopper confirmed; nothing is filled in for them.
"""
from __future__ import annotations

import time

from station.store import Complaint, Response


def nps_group(score: int) -> str:
    return "promoter" if score >= 9 else "passive" if score >= 7 else "detractor"


class Survey:
    def __init__(self, kiosk, language: str):
        self.kiosk = kiosk
        self.language = language
        self.started = time.time()
        self.score: int | None = None
        self.score_ts: float | None = None
        self.reasons: list[str] = []
        self.comment: str | None = None
        self.answers: dict[str, int] = {}
        self.first_visit: bool | None = None
        self.complaint: Complaint | None = None

    @property
    def steps(self) -> list[str]:
        """The questions of this survey, in order: score, follow-up, then CSAT, CES and the
        first-visit question if enabled."""
        steps = ["score", "followup"]
        if self.kiosk.csat:
            steps.append("csat")
        if self.kiosk.ces:
            steps.append("ces")
        if self.kiosk.first_visit:
            steps.append("first_visit")
        return steps

    @property
    def complaint_offered(self) -> bool:
        """Whether the follow-up offers 'report a problem': after a low score only."""
        return self.kiosk.complaints and self.group == "detractor"

    @property
    def group(self) -> str | None:
        return None if self.score is None else nps_group(self.score)

    def next_step(self, after: str) -> str | None:
        steps = self.steps
        i = steps.index(after) + 1
        return steps[i] if i < len(steps) else None

    def answer_score(self, score: int) -> None:
        if not 0 <= score <= 10:
            raise ValueError(f"an NPS score is 0..10, got {score}")
        self.score = score
        self.score_ts = time.time()

    def answer_reasons(self, reasons: list[str], comment: str | None) -> None:
        self.reasons = list(reasons)
        comment = (comment or "").strip()
        self.comment = comment or None

    def answer(self, question: str, value: int | None) -> None:
        if value is None:
            self.answers.pop(question, None)
        else:
            self.answers[question] = value

    def answer_first_visit(self, first: bool | None) -> None:
        self.first_visit = first

    def complain(self, problem: str, contact_name: str, contact: str) -> None:
        """The shopper sent the complaint screen (its fields may all be empty)."""
        if not self.complaint_offered:
            raise ValueError("a complaint is offered after a low score only")
        self.complaint = Complaint(problem=problem.strip() or None,
                                   contact_name=contact_name.strip() or None,
                                   contact=contact.strip() or None)

    def response(self, complete: bool) -> Response:
        if self.score is None:
            raise ValueError("no score yet: nothing to save")
        return Response(nps=self.score, csat=self.answers.get("csat"),
                        ces=self.answers.get("ces"), reasons=self.reasons,
                        comment=self.comment, language=self.language, complete=complete,
                        ts=self.score_ts, first_visit=self.first_visit,
                        complaint=self.complaint)
