"""Domain events: what happened in the hall, as the core saw it.

The core appends one to its change set where the thing happens (a ticket
issued, called, finished, settled, rated…), so an event exists exactly when
its command applied: a refused or failed command's change set is discarded
with its events.  Extensions (caller/extension.py) read these, not the
engine's tables or the records it stores: SMS rules react to a call, the case
desk to a visit settled as 受理, follow-ups and satisfaction to a rating.

Events refer to the live ticket record; an extension sees it as it stands
at the end of the batch (a ticket issued and called in one batch is
``called`` in both events), and reads what the event itself carries
(``outcome``, ``recall``, ``rating``) for what was true at the time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union

from hall import messages as m

from .model import Rating, Ticket


@dataclass(frozen=True, slots=True)
class DayStarted:
    """The hall's local midnight passed: yesterday's open tickets were cancelled."""

    day: str
    previous: str


@dataclass(frozen=True, slots=True)
class TicketIssued:
    """A new ticket, from a kiosk's issue or an appointment's check-in."""

    ticket: Ticket


@dataclass(frozen=True, slots=True)
class TicketCalled:
    ticket: Ticket
    window: str
    recall: bool


@dataclass(frozen=True, slots=True)
class VisitFinished:
    """The window finished serving the ticket (``finish``, or ``next`` that implies it)."""

    ticket: Ticket
    window: str


@dataclass(frozen=True, slots=True)
class VisitSettled:
    """The clerk said how the visit ended (办结 / 受理 / 补正 / 不予受理)."""

    ticket: Ticket
    window: str
    outcome: m.VisitOutcome


@dataclass(frozen=True, slots=True)
class TicketNoShow:
    ticket: Ticket
    window: str


@dataclass(frozen=True, slots=True)
class TicketRequeued:
    """A no-show ticket back in line (at the back), from a kiosk."""

    ticket: Ticket


@dataclass(frozen=True, slots=True)
class TicketTransferred:
    """Sent on to another matter or window, keeping its number and place; ``from_line`` is the line it left."""

    ticket: Ticket
    window: str
    from_line: str


@dataclass(frozen=True, slots=True)
class TicketCancelled:
    """Cancelled by its citizen (midnight's cancellations are :class:`DayStarted`)."""

    ticket: Ticket


@dataclass(frozen=True, slots=True)
class Rated:
    """A rating row: a citizen's level, or ``level`` None when the evaluator timed out;
    ``ticket`` is the visit rated."""

    rating: Rating
    ticket: Ticket


@dataclass(frozen=True, slots=True)
class FormFilled:
    """The form a ticket was issued with (personal data: the forms extension
    seals it; it is never kept on the ticket record)."""

    ticket: str
    day: str
    target: str
    values: dict[str, str]


@dataclass(frozen=True, slots=True)
class WindowStatusChanged:
    """A window opened, paused, resumed or closed (its staff logged in or out)."""

    window: str
    status: str


@dataclass(frozen=True, slots=True)
class LinesMoved:
    """The waiting lines whose queue changed in the batch (one per batch, last)."""

    lines: frozenset[str]


@dataclass(frozen=True, slots=True)
class HallReconfigured:
    """A new hall config is in force: windows, skills and expected minutes may differ."""


DomainEvent = Union[DayStarted, TicketIssued, TicketCalled, VisitFinished, VisitSettled, TicketNoShow,
                    TicketRequeued, TicketTransferred, TicketCancelled, Rated, FormFilled,
                    WindowStatusChanged, LinesMoved, HallReconfigured]

# events that are about one ticket (they have ``.ticket`` as a Ticket record)
TICKET_EVENTS = (TicketIssued, TicketCalled, VisitFinished, VisitSettled, TicketNoShow, TicketRequeued,
                 TicketTransferred, TicketCancelled)
