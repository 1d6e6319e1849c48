"""How features beside the queue (ratings follow-ups, satisfaction stats, SMS
rules) plug into the engine without growing the core.

An :class:`Extension` gets every batch's domain events (caller/domain.py: a
ticket issued, called, finished, settled, rated…) after the core has applied
them and *before* the commit, so whatever it records is written in the same
transaction as the tickets that caused it (an SMS request exists on disk
exactly when its ticket does), and whatever it publishes goes out only after
that commit.  It may also own request ops of its own.  It reads the events,
not the engine's change set or tables, and writes only through the typed rows
it returns (the store, caller/store.py, holds every table and all the SQL).

Extensions are pure in the same way the core is: they get ``now``, the core
(read-only by convention) and the events, and return what to write and send.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from .domain import DomainEvent
from .engine import Emit, Engine

if TYPE_CHECKING:
    from .store import Store


@dataclass
class ExtOut:
    """What an extension wants done for one batch or tick."""

    events: list[Emit] = field(default_factory=list)  # published after commit
    records: list[Any] = field(default_factory=list)  # typed rows the store writes in the batch's transaction


class Extension(Protocol):
    name: str
    # optional ``unrecorded``: its read-only ops whose replies carry personal data;
    # they are not kept as idempotency records (a retry is simply answered again)

    def restore(self, store: Store, engine: Engine, now: float) -> None:
        """Load its state at start (after the core's restore) through the store's readers."""

    def ops(self) -> dict[str, type]:
        """Request ops it answers ("alert.close" → request struct type)."""

    def handle(self, op: str, ident: str, req: Any, engine: Engine, now: float) -> tuple[Any, ExtOut]:
        """Answer one of its ops; raise caller.engine.Refused to refuse (changing nothing)."""

    def on_events(self, events: list[DomainEvent], engine: Engine, now: float) -> ExtOut:
        """React to a batch's domain events (tickets issued, called, settled, rated…), in order."""

    def tick(self, engine: Engine, now: float) -> ExtOut:
        """Periodic duties (about once a second)."""

    def republish(self, engine: Engine, now: float) -> list[Emit]:
        """Its retained state, for a (re)connect."""


def check_extensions(exts: list[Any]) -> list[Any]:
    """Refuse, at construction, an extension written for the former hook
    (``after_batch``, which read the engine's change set): it would otherwise
    never be called."""
    for x in exts:
        if not callable(getattr(x, "on_events", None)):
            raise TypeError(f"extension {getattr(x, 'name', x)!r} has no on_events(events, engine, now): "
                            "extensions consume the domain events of caller/domain.py "
                            "(the after_batch hook is gone)")
    return exts


def default_extensions(cfg: Any) -> list[Extension]:
    """The extensions a production engine runs, built from the hall config."""
    from .case_desk import CaseDesk
    from .daystats import DayStats
    from .followups import Followups
    from .forms import Forms, engine_cipher
    from .satisfaction import Satisfaction
    from .sms_outbox import SmsOutbox
    from .staff_calls import StaffCalls
    from .supervision import Supervision
    cipher = engine_cipher()
    forms = Forms(cfg, cipher)
    sms = SmsOutbox(cfg)
    return [Followups(cfg), Satisfaction(cfg), sms, forms, CaseDesk(cfg, cipher, sms), StaffCalls(cfg),
            Supervision(cfg, sms), DayStats(cfg)]
