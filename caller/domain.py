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


# every event is a frozen, slotted record: cheap (thousands a second) and never changed by a reader
event = dataclass(frozen=True, slots=True)


@event
class DayStarted:
    """The hall's local midnight passed: yesterday's open tickets were cancelled."""

    day: str
    previous: str


@event
class TicketEvent:
    """About one ticket (the live record): the ticket events' common part, and
    what an extension tests for (``isinstance(ev, TICKET_EVENTS)``)."""

    ticket: Ticket


@event
class WindowTicketEvent(TicketEvent):
    """About one ticket at one window (called, finished, settled, no-show, transferred there)."""

    window: str


@event
class TicketIssued(TicketEvent):
    """A new ticket, from a kiosk's issue or an appointment's check-in."""


@event
class TicketCalled(WindowTicketEvent):
    recall: bool


@event
class VisitFinished(WindowTicketEvent):
    """The window finished serving the ticket (``finish``, or ``next`` that implies it)."""


@event
class VisitSettled(WindowTicketEvent):
    """The clerk said how the visit ended (办结 / 受理 / 补正 / 不予受理)."""

    outcome: m.VisitOutcome


@event
class TicketNoShow(WindowTicketEvent):
    """Skipped after its recalls."""


@event
class TicketRequeued(TicketEvent):
    """A no-show ticket back in line (at the back), from a kiosk."""


@event
class TicketTransferred(WindowTicketEvent):
    """Sent on to another matter or window, keeping its number and place; ``from_line`` is the line it left."""

    from_line: str


@event
class TicketCancelled(TicketEvent):
    """Cancelled by its citizen (midnight's cancellations are :class:`DayStarted`)."""


@event
class Rated:
    """A rating row: a citizen's level, or ``level`` None when the evaluator timed out;
    ``ticket`` is the visit rated (not a ticket event: nothing happened to the ticket)."""

    rating: Rating
    ticket: Ticket


@event
class FormFilled:
    """The form a ticket was issued with (personal data: the forms extension
    seals it; it is never kept on the ticket record)."""

    ticket: str
    day: str
    target: str
    values: dict[str, str]


@event
class WindowStatusChanged:
    """A window opened, paused, resumed or closed (its staff logged in or out)."""

    window: str
    status: str


@event
class LinesMoved:
    """The waiting lines whose queue changed in the batch (one per batch, last)."""

    lines: frozenset[str]


@event
class HallReconfigured:
    """A new hall config is in force: windows, skills and expected minutes may differ."""


DomainEvent = Union[DayStarted, TicketIssued, TicketCalled, VisitFinished, VisitSettled, TicketNoShow,
                    TicketRequeued, TicketTransferred, TicketCancelled, Rated, FormFilled,
                    WindowStatusChanged, LinesMoved, HallReconfigured]

# events that are about one ticket (they have ``.ticket`` as a Ticket record): TicketIssued,
# TicketCalled, VisitFinished, VisitSettled, TicketNoShow, TicketRequeued, TicketTransferred,
# TicketCancelled
TICKET_EVENTS = (TicketEvent,)
