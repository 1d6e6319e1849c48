"""The engine's records: tickets and windows, as stored and as held in memory.

msgspec Structs rather than dataclasses: they encode to the SQLite blob in one
call and take about half the memory, which matters at 20,000 tickets a day.
``gc=False``: they hold only strings, numbers and flat dicts of strings, so
they can never be part of a reference cycle; keeping 20,000 of them out of the
cyclic collector's walks removes its 30 ms pauses from the engine's calls.
"""

from __future__ import annotations

from typing import Literal

import msgspec

from hall.messages import VisitOutcome

TicketState = Literal["waiting", "called", "serving", "done", "noshow", "cancelled"]
ACTIVE = ("called", "serving")  # a window's current ticket is in one of these

WindowStatus = Literal["open", "paused", "closed"]


class Ticket(msgspec.Struct, kw_only=True, gc=False):
    id: str  # "<yyyymmdd>-<number>", unique across days: the QR content
    day: str
    number: str
    group: str
    seq: int
    service: str  # matter or bundle id: the queue it waits in
    matter: str | None
    bundle: str | None
    zone: str
    priority: str
    lang: str
    state: TicketState
    issued_at: float
    enqueued_at: float  # its place in line; a transfer keeps it
    kiosk: str | None = None
    phone: str | None = None
    appointment: str | None = None
    form: dict[str, str] | None = None
    answers: dict[str, str] | None = None  # situation question id → option id
    outcome: VisitOutcome | None = None  # how the visit was settled, if the clerk said
    target_window: str | None = None  # set by a transfer to a window
    window: str | None = None
    staff: str | None = None
    called_at: float | None = None
    first_called_at: float | None = None
    served_at: float | None = None
    finished_at: float | None = None
    recalls: int = 0
    calls: int = 0  # every call and recall; names the called event
    noshow_at: float | None = None
    requeue_until: float | None = None
    transfers: int = 0
    printed: bool | None = None
    rated: bool = False
    qseq: int = 0  # tie-break in the queue, unique per day
    secret: str = ""  # random, printed in the QR; "" (tickets of before) matches nothing
    est_min: int | None = None  # what the ticket was told at issue (judged at its first call)
    est_lo_min: int | None = None
    est_hi_min: int | None = None

    @property
    def handle_start(self) -> float | None:
        return self.served_at or self.called_at


class WindowRec(msgspec.Struct, kw_only=True, gc=False):
    id: str
    status: WindowStatus = "closed"
    staff: str | None = None
    current: str | None = None  # ticket id
    last_finished: str | None = None  # for the evaluator's rating
    pause_reason: str | None = None
    since: float = 0.0


class Rating(msgspec.Struct, kw_only=True, gc=False):
    ticket: str
    day: str
    level: int | None  # None: not rated (timeout); never a default level
    source: Literal["evaluator", "kiosk", "timeout"]
    window: str | None
    staff: str | None
    matter: str | None
    at: float
    reasons: list[str] = []
    comment: str | None = None


