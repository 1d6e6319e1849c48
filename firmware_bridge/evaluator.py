"""Evaluators (评价器): one rating per visit, by the citizen's own key (pure).

The engine sends ``window/<wid>/evaluate`` after ``finish``; the bridge lights
the evaluator's prompt; the citizen presses one of five keys (5 = 非常满意 …
1 = 非常不满意, GB/T 39734-2020) or the evaluator times out.  Either way the
engine gets exactly one ``window/<wid>/request/rate`` for the ticket; a key
pressed with no prompt lit is ignored — no default rating is ever made up.
If the evaluator itself stays silent (unplugged) the session ends after its
timeout plus a grace period with ``timeout: true``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PromptView:
    ticket: str | None       # None: no prompt (idle)
    number: str = ""
    timeout_s: int = 0


IDLE = PromptView(None)


class EvaluatorSession:
    def __init__(self, grace_s: float):
        self.grace_s = grace_s
        self._ticket: str | None = None
        self._number = ""
        self._timeout_s = 0
        self._deadline = 0.0

    @property
    def view(self) -> PromptView:
        if self._ticket is None:
            return IDLE
        return PromptView(self._ticket, self._number, self._timeout_s)

    @property
    def active(self) -> bool:
        return self._ticket is not None

    def prompt(self, ticket: str, number: str, timeout_s: int, now: float) -> list[dict]:
        """A new prompt; an unanswered earlier one is closed as not rated first."""
        out = []
        if self._ticket is not None and self._ticket != ticket:
            out.append(self._close(None))
        self._ticket, self._number, self._timeout_s = ticket, number, int(timeout_s)
        self._deadline = now + timeout_s + self.grace_s
        return out

    def key(self, level: int | None) -> dict | None:
        """The evaluator's answer (None = its own timeout) → the rate body, once."""
        if self._ticket is None:
            return None
        return self._close(level)

    def tick(self, now: float) -> dict | None:
        if self._ticket is not None and now >= self._deadline:
            return self._close(None)
        return None

    @property
    def deadline(self) -> float | None:
        return self._deadline if self._ticket is not None else None

    def _close(self, level: int | None) -> dict:
        body = {"ticket": self._ticket, "level": level, "timeout": level is None}
        self._ticket = None
        return body
