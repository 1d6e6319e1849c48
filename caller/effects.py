"""What the engine core gives back: refusals, events to publish, changes to store."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hall import messages as m
from hall.errors import ErrorCode

from .domain import DomainEvent
from .model import Rating, Ticket, WindowRec


class Refused(Exception):
    """A request the engine will not carry out: ``code`` and a human message.

    ``code`` must be an :class:`~hall.errors.ErrorCode`: a bare string would be
    a code docs/protocol.md does not list, so it is a bug, raised here (and
    answered ``internal``) rather than sent."""

    def __init__(self, code: ErrorCode, message: str):
        if not isinstance(code, ErrorCode):
            raise TypeError(f"Refused({code!r}): use hall.errors.ErrorCode, the documented codes")
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class Emit:
    """An event to publish after commit: registry name, id, payload."""

    spec: str
    ident: str
    payload: Any


@dataclass
class Changes:
    """What a command (or a batch of them) changed: the shell stores these,
    then publishes views."""

    tickets: list[Ticket] = field(default_factory=list)
    windows: list[WindowRec] = field(default_factory=list)
    counters: list[tuple[str, str, int]] = field(default_factory=list)
    ratings: list[Rating] = field(default_factory=list)
    estimates: dict[str, float] = field(default_factory=dict)
    appointments: list[tuple[m.Appointment, str | None]] = field(default_factory=list)
    window_views: set[str] = field(default_factory=set)  # status/ticket changed: publish now
    waiting_lines: set[str] = field(default_factory=set)  # counts changed: publish soon
    waiting_zones: set[str] = field(default_factory=set)  # zones of tickets enqueued or dequeued
    zone_views: set[str] = field(default_factory=set)  # calls changed: publish now
    alerts: list[m.UnattendedAlert] = field(default_factory=list)
    estimate_stat: bool = False  # a ticket's wait was judged against its estimate
    balance: bool = False  # the balancer's loans or suggestions changed
    # what happened, for the extensions (caller/domain.py), in the order it happened
    domain: list[DomainEvent] = field(default_factory=list)

    def absorb(self, cmd: "Changes") -> None:
        """Add one applied command's changes to the batch's (records excepted:
        the engine keeps those by id, so a ticket touched twice is written once)."""
        # most of a command's fields are empty (an issue fills four): tested, not merged
        if cmd.counters:
            self.counters.extend(cmd.counters)
        if cmd.ratings:
            self.ratings.extend(cmd.ratings)
        if cmd.estimates:
            self.estimates.update(cmd.estimates)
        if cmd.appointments:
            self.appointments.extend(cmd.appointments)
        if cmd.window_views:
            self.window_views |= cmd.window_views
        if cmd.waiting_lines:
            self.waiting_lines |= cmd.waiting_lines
        if cmd.waiting_zones:
            self.waiting_zones |= cmd.waiting_zones
        if cmd.zone_views:
            self.zone_views |= cmd.zone_views
        if cmd.alerts:
            self.alerts.extend(cmd.alerts)
        self.estimate_stat |= cmd.estimate_stat
        self.balance |= cmd.balance
        if cmd.domain:
            self.domain.extend(cmd.domain)


@dataclass
class Outcome:
    """A command's reply data or refusal, its events, and its change set."""

    data: Any = None
    error: tuple[str, str] | None = None
    events: list[Emit] = field(default_factory=list)
    changes: Changes | None = None
