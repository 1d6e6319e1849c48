"""`ahead` counts every ticket before this one, also those issued at the same instant.

Tickets committed in one batch share their ``enqueued_at`` (one ``now`` per
batch); the place in line must still tell them apart.
"""

from __future__ import annotations

from tests.test_engine_core import T0, Hall


def test_tickets_issued_at_the_same_instant_each_have_their_own_place():
    h = Hall()
    aheads = [h.issue(T0, matter="M1").ahead for _ in range(5)]
    assert aheads == [0, 1, 2, 3, 4]
