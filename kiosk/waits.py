"""How many wait for a matter or bundle, and about how long (pure).

The one place that reads waiting counts for the kiosk: the per-group counts
of each zone's retained ``zone/<z>/waiting``, which is all a kiosk may read.

The estimate is a range, not a promise: the people ahead share the windows
that serve the matter, each taking about the matter's configured minutes;
the range is that figure ±40 % (rounded to 5 minutes), since what the
others ahead came for is not known here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from hall.config import HallConfig

SPREAD = 0.4


@dataclass(frozen=True)
class Wait:
    people: int
    low_min: int
    high_min: int


def waiting_for(cfg: HallConfig, counts: dict[str, dict[str, int]], target: str) -> Wait | None:
    """The wait for ``target`` (matter or bundle id); None while its zone's counts have not arrived."""
    obj = cfg.matter(target) or cfg.bundle(target)
    if obj is None or obj.zone not in counts:
        return None
    people = counts[obj.zone].get(obj.group, 0)
    minutes = obj.minutes if cfg.matter(target) else sum(cfg.matter(x).minutes for x in obj.matters)
    windows = max(1, sum(1 for w in cfg.windows if target in w.serves))
    mid = people * minutes / windows
    low = 5 * math.floor(mid * (1 - SPREAD) / 5)
    high = max(5, 5 * math.ceil(mid * (1 + SPREAD) / 5))
    return Wait(people, low, high)
