"""The engine's door: how much each client may ask, and how much may wait.

A token bucket per client (kind + id) is checked before a request is queued:
``rate`` requests a second on average, ``burst`` at once.  Past it the client
gets a ``rate_limited`` reply at once and the request is not queued, so one
flooding kiosk cannot push the other clients' requests back.  The queue
itself is bounded; past ``max_queue`` every client gets ``busy``.  Daily caps
stop a kiosk or a phone number taking the day's numbers.
"""

from __future__ import annotations

from pydantic import Field

from .base import Strict


class Bucket(Strict):
    rate: float = Field(gt=0, description="Requests per second a client of this kind may make on average.")
    burst: int = Field(ge=1, description="Requests a client may make at once (the bucket's size).")


class DoorConfig(Strict):
    kiosk: Bucket = Field(default_factory=lambda: Bucket(rate=5, burst=30),
                          description="Each kiosk's bucket (a citizen taps a few times a minute).")
    window: Bucket = Field(default_factory=lambda: Bucket(rate=5, burst=30),
                           description="Each window's bucket (keypad, soft caller, evaluator).")
    other: Bucket = Field(default_factory=lambda: Bucket(rate=50, burst=200),
                          description="Every other client's bucket (admin, SMS sender, booking system).")
    max_queue: int = Field(5000, ge=10, description="Requests waiting for the engine at most; past it "
                                                    "a request is answered `busy` at once.")
    daily_tickets_per_kiosk: int | None = Field(
        3000, ge=1, description="Tickets one kiosk may issue in a day (issue and check-in); "
                                "`null`: no cap. Past it: `daily_cap`.")
    daily_tickets_per_phone: int | None = Field(
        5, ge=1, description="Tickets one phone number may take in a day; `null`: no cap. Past it: `daily_cap`.")

    def bucket(self, kind: str) -> Bucket:
        return self.kiosk if kind == "kiosk" else self.window if kind == "window" else self.other
